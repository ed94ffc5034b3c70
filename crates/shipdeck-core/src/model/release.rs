//! The release: its plan, its state, and `Release::apply`, the one reducer.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::checklist::{Checklist, ChecklistPlan};
use super::event::{AlertState, Event, EventKind, GateOf, Outcome, RuleState, StepState};
use super::gate::{Gate, GatePlan};
use super::logs::{LogLine, Logs};
use super::metrics::{Metrics, Sample};
use super::names::Person;
use super::rule::{Rule, Severity};
use super::stage::{Stage, StageKind, StagePlan, StageState};
use super::strategy::{Step, Strategy};
use super::time::Saturating;
use super::units::duration_serde;

pub use super::logs::{DEFAULT_LOG_CAPACITY, MAX_LOG_CAPACITY};

/// The deployment window the release is scheduled in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start: Timestamp,
    #[serde(with = "duration_serde")]
    pub length: SignedDuration,
}

impl Window {
    pub fn end(&self) -> Timestamp {
        self.start.plus(self.length)
    }
}

/// Everything decided before the release starts; `release_started` carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasePlan {
    pub id: String,
    pub service: String,
    pub version_from: String,
    pub version_to: String,
    pub environment: String,
    /// Who deployed the release (and so may not approve it where a gate forbids).
    pub deployer: Person,
    pub strategy: Strategy,
    /// The strategy's steps, expanded.
    pub steps: Vec<Step>,
    pub stages: Vec<StagePlan>,
    pub gates: Vec<GatePlan>,
    pub checklists: Vec<ChecklistPlan>,
    pub rules: Vec<Rule>,
    /// The checklist worked through after a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_checklist: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// When no promote goes out (the config's `freezes:`, put in the plan
    /// where the release starts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes: Vec<super::freeze::Freeze>,
    /// The system that decides this release's commands, when it is not
    /// shipdeck's engine: `argo-rollouts` (a Rollout's cluster, whose
    /// promote also unpauses and which keeps earlier revisions to undo to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

impl ReleasePlan {
    /// The strategy's name, or `none` when no stage rolls out (a
    /// workflow's jobs): there is no traffic to shift.
    pub fn strategy_words(&self) -> &'static str {
        match self.stages.iter().any(|s| s.kind == StageKind::Rollout) {
            true => self.strategy.name(),
            false => "none",
        }
    }

    /// A reader's copy of the plan after `event`: the plan a release starts
    /// with, grown by each `plan_extended`.
    pub fn follow(plan: &mut Option<ReleasePlan>, event: &Event) {
        match (&event.kind, plan.as_mut()) {
            (EventKind::ReleaseStarted { plan: started }, _) => *plan = Some((**started).clone()),
            (
                EventKind::PlanExtended {
                    stages,
                    gates,
                    gated,
                },
                Some(plan),
            ) => plan.extend(stages, gates, gated),
            _ => {}
        }
    }

    /// The plan grown: new stages and gates join it (an id it has already
    /// is left as it was), and stages take the gates they now wait on.
    pub fn extend(&mut self, stages: &[StagePlan], gates: &[GatePlan], gated: &[GateOf]) {
        for stage in stages {
            if !self.stages.iter().any(|s| s.id == stage.id) {
                self.stages.push(stage.clone());
            }
        }
        for gate in gates {
            if !self.gates.iter().any(|g| g.id == gate.id) {
                self.gates.push(gate.clone());
            }
        }
        for GateOf { stage, gate } in gated {
            if let Some(s) = self.stages.iter_mut().find(|s| &s.id == stage) {
                s.gate = Some(gate.clone());
            }
        }
    }

    /// `v1 → v2`, or `v2` when what it replaces is not known.
    pub fn versions(&self) -> String {
        match self.version_from.is_empty() {
            true => self.version_to.clone(),
            false => format!("{} → {}", self.version_from, self.version_to),
        }
    }
}

/// The life of a release as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No `release_started` yet.
    NotStarted,
    Running,
    /// An operator paused the rollout.
    Paused,
    RollingBack,
    Finished(Outcome),
}

impl Status {
    pub fn is_final(self) -> bool {
        matches!(self, Status::Finished(_))
    }

    pub fn in_flight(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::RollingBack)
    }
}

/// Where the rollout stands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rollout {
    /// The step the rollout is on (0-based); `None` before the first.
    pub step: Option<usize>,
    /// Whether that step has completed (the next has not started yet).
    pub step_completed: bool,
    /// When the current timed step ends by itself, while it counts.
    pub until: Option<Timestamp>,
    /// Time left on the current timed step while the release is paused.
    #[serde(with = "duration_serde::option", default)]
    pub remaining: Option<SignedDuration>,
    /// The new version's share of traffic, in percent.
    pub weight: u8,
    /// Set once any step has started: production has seen the new version.
    pub began: bool,
    /// The seq of the last `canary_step` event (0: none yet).
    #[serde(default)]
    pub step_seq: u64,
    /// When the step the rollout is on last changed (started or completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_at: Option<Timestamp>,
}

/// A rollback: who or which rule, why, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollback {
    pub by: Person,
    pub reason: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// A release an operator stopped before anything reached production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stopped {
    pub by: Person,
    pub reason: String,
    pub at: Timestamp,
}

impl Stopped {
    /// The reason a stop has until its operator gives one.
    pub fn default_reason(by: &Person) -> String {
        format!("stopped before production by {by}")
    }
}

impl Rollback {
    /// The reason a rollback has until its operator gives one.
    pub fn default_reason(by: &Person) -> String {
        format!("rolled back by {by}")
    }
}

/// The most a recorded reason grows to by reasons added to it; what comes
/// after is not taken (the first words stand, and nobody fills the screen).
pub const MAX_REASON: usize = 16_000;

/// A reason recorded, with another given after it: the engine's own words
/// for a reason nobody gave make way for the first one given; a reason
/// given is never replaced, only added to, once, up to [`MAX_REASON`]
/// characters.
fn add_reason(recorded: &mut String, placeholder: &str, given: &str) {
    let given = given.trim();
    if given.is_empty() {
        return;
    }
    if recorded == placeholder || recorded.trim().is_empty() {
        *recorded = given.to_string();
        return;
    }
    let already = recorded.split("; ").any(|part| part == given);
    let room = MAX_REASON.saturating_sub(recorded.chars().count());
    if !already && given.chars().count().saturating_add(2) <= room {
        recorded.push_str("; ");
        recorded.push_str(given);
    }
}

/// An alert a rule raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub rule: String,
    pub severity: Severity,
    pub state: AlertState,
    pub value: f64,
    pub message: String,
    pub since: Timestamp,
    pub acknowledged_by: Option<Person>,
}

/// Where a rule stands, as the release's events tell it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing<'r> {
    /// Its condition does not hold.
    Quiet,
    /// Its condition has held since `since`: the rule fires with the first
    /// sample at or after `due` if it still holds then.
    Breaching { since: Timestamp, due: Timestamp },
    /// It fired and has not resolved: its alert, acknowledged or not.
    Fired(&'r Alert),
}

/// What changes a [`Release`].
#[derive(Debug, Clone)]
pub enum Change<'a> {
    /// One of its events.
    Event(&'a Event),
    /// A line from a log source of the reader's own (the console's `--logs`):
    /// shown among the release's lines, but no event of the release, so it
    /// has no `seq` and moves nothing else. It joins its source's own ring,
    /// so a flood of them never drops the release's lines.
    Line(LogLine),
}

impl<'a> From<&'a Event> for Change<'a> {
    fn from(event: &'a Event) -> Change<'a> {
        Change::Event(event)
    }
}

impl From<LogLine> for Change<'_> {
    fn from(line: LogLine) -> Self {
        Change::Line(line)
    }
}

/// A release, folded from its events. It serializes for the HTTP snapshot
/// (its logs as their newest lines only).
///
/// Its fields are read through methods of the same names (inlined across
/// the crate boundary): outside this crate, [`Release::apply`] is the only
/// way to change a release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Release {
    pub(crate) id: String,
    pub(crate) plan: Option<ReleasePlan>,
    pub(crate) status: Status,
    pub(crate) stages: Vec<Stage>,
    pub(crate) gates: Vec<Gate>,
    pub(crate) checklists: Vec<Checklist>,
    pub(crate) rollout: Rollout,
    pub(crate) metrics: Metrics,
    pub(crate) logs: Logs,
    /// Alerts in the order they first fired; one entry per rule.
    pub(crate) alerts: Vec<Alert>,
    /// Since when each rule's condition has held, while it holds.
    pub(crate) breaching: BTreeMap<String, Timestamp>,
    pub(crate) rollback: Option<Rollback>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stopped: Option<Stopped>,
    pub(crate) paused_by: Option<Person>,
    /// Since when, while paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) paused_at: Option<Timestamp>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) finished_at: Option<Timestamp>,
    /// The `seq` of the last event applied.
    pub(crate) last_seq: u64,
    /// The time of the last event applied.
    pub(crate) last_at: Option<Timestamp>,
    /// What a metrics source (Prometheus) last said about itself, when the
    /// release's metrics come from one.
    pub(crate) metrics_source: Option<LogLine>,
}

impl Release {
    /// An empty release waiting for its `release_started`.
    pub fn new(id: impl Into<String>, log_capacity: usize) -> Release {
        Release {
            id: id.into(),
            plan: None,
            status: Status::NotStarted,
            stages: Vec::new(),
            gates: Vec::new(),
            checklists: Vec::new(),
            rollout: Rollout::default(),
            metrics: Metrics::default(),
            logs: Logs::with_capacity(log_capacity),
            alerts: Vec::new(),
            breaching: BTreeMap::new(),
            rollback: None,
            stopped: None,
            paused_by: None,
            paused_at: None,
            started_at: None,
            finished_at: None,
            last_seq: 0,
            last_at: None,
            metrics_source: None,
        }
    }

    #[inline]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The plan, once `release_started` has been applied.
    #[inline]
    pub fn plan(&self) -> Option<&ReleasePlan> {
        self.plan.as_ref()
    }

    #[inline]
    pub fn status(&self) -> Status {
        self.status
    }

    #[inline]
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    #[inline]
    pub fn gates(&self) -> &[Gate] {
        &self.gates
    }

    #[inline]
    pub fn checklists(&self) -> &[Checklist] {
        &self.checklists
    }

    #[inline]
    pub fn rollout(&self) -> &Rollout {
        &self.rollout
    }

    #[inline]
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The release's log lines, and those of the reader's own log sources
    /// it was given (see [`Change::Line`]), each in a ring of its own.
    #[inline]
    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    /// Alerts in the order they first fired; one entry per rule.
    #[inline]
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// Where a rule of the plan stands: quiet, breaching since when and
    /// until when, or fired.
    pub fn standing(&self, rule: &Rule) -> Standing<'_> {
        let alert = self.alerts.iter().find(|a| a.rule == rule.name);
        if let Some(alert) = alert.filter(|a| a.state != AlertState::Resolved) {
            return Standing::Fired(alert);
        }
        match self.breaching.get(&rule.name) {
            Some(&since) => Standing::Breaching {
                since,
                due: since.plus(rule.hold),
            },
            None => Standing::Quiet,
        }
    }

    /// Whether a rollback rule that fires now rolls the release back: the
    /// new version has had traffic and the release runs or is paused.
    /// Otherwise its alert is the whole of its effect.
    pub fn rules_roll_back(&self) -> bool {
        self.rollout.began && matches!(self.status, Status::Running | Status::Paused)
    }

    #[inline]
    pub fn rollback(&self) -> Option<&Rollback> {
        self.rollback.as_ref()
    }

    /// Who stopped the release before production, and why.
    #[inline]
    pub fn stopped(&self) -> Option<&Stopped> {
        self.stopped.as_ref()
    }

    /// Who paused the rollout, while it is paused.
    #[inline]
    pub fn paused_by(&self) -> Option<&Person> {
        self.paused_by.as_ref()
    }

    /// Since when the release has been paused, while it is.
    #[inline]
    pub fn paused_at(&self) -> Option<Timestamp> {
        self.paused_by.as_ref().and(self.paused_at)
    }

    #[inline]
    pub fn started_at(&self) -> Option<Timestamp> {
        self.started_at
    }

    #[inline]
    pub fn finished_at(&self) -> Option<Timestamp> {
        self.finished_at
    }

    /// The `seq` of the last event applied.
    #[inline]
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The time of the last event applied.
    #[inline]
    pub fn last_at(&self) -> Option<Timestamp> {
        self.last_at
    }

    /// What a metrics source (Prometheus) last said about itself, when the
    /// release's metrics come from one.
    #[inline]
    pub fn metrics_source(&self) -> Option<&LogLine> {
        self.metrics_source.as_ref()
    }

    pub fn outcome(&self) -> Option<Outcome> {
        match self.status {
            Status::Finished(outcome) => Some(outcome),
            _ => None,
        }
    }

    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.plan.id == id)
    }

    /// The stage the release is on: running or waiting.
    pub fn current_stage(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.state.is_active())
    }

    pub fn rollout_stage(&self) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| s.plan.kind == StageKind::Rollout)
    }

    pub fn gate(&self, id: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.plan.id == id)
    }

    pub fn checklist(&self, id: &str) -> Option<&Checklist> {
        self.checklists.iter().find(|c| c.id == id)
    }

    pub fn steps(&self) -> &[Step] {
        self.plan
            .as_ref()
            .map(|p| p.steps.as_slice())
            .unwrap_or(&[])
    }

    /// The step the rollout is on, if it is on one.
    pub fn current_step(&self) -> Option<(usize, &Step)> {
        let i = self.rollout.step?;
        self.steps().get(i).map(|s| (i, s))
    }

    /// Whether something of it has gone out: its rollout began, or, with no
    /// rollout (a workflow's jobs), a gate let it through or a deploy stage
    /// started.
    pub fn deployed(&self) -> bool {
        match self.rollout_stage() {
            Some(_) => self.rollout.began,
            None => {
                self.gates
                    .iter()
                    .any(|g| g.state == super::GateState::Approved)
                    || self
                        .stages
                        .iter()
                        .any(|s| s.plan.kind == StageKind::Deploy && s.started_at.is_some())
            }
        }
    }

    /// Who deployed it, once the plan is known.
    pub fn deployer(&self) -> Option<&Person> {
        self.plan.as_ref().map(|p| &p.deployer)
    }

    /// What only a person can do next, in words — when the release is held
    /// up by people rather than by time.
    pub fn waiting_for(&self) -> Option<String> {
        use super::units::plural;
        if !self.status.in_flight() || self.status == Status::RollingBack {
            return None;
        }
        if let Some(failed) = self.stages.iter().find(|s| s.state == StageState::Failed) {
            return Some(format!(
                "\"{}\" failed; retry it or roll back",
                failed.plan.name
            ));
        }
        if let Some(by) = &self.paused_by {
            return Some(format!("the rollout is paused by {by}; resume it"));
        }
        // Stages may run side by side (a workflow's jobs): one that waits on
        // people says so before one that is still at work.
        let stage = self
            .stages
            .iter()
            .find(|s| s.state == StageState::Waiting)
            .or_else(|| self.current_stage())?;
        if stage.plan.kind == StageKind::Rollout {
            let (i, step) = self.current_step()?;
            return match step.kind {
                super::strategy::StepKind::Pause { duration: None }
                    if !self.rollout.step_completed =>
                {
                    Some(format!(
                        "the rollout holds at step {}/{} until someone advances it",
                        i + 1,
                        self.steps().len()
                    ))
                }
                _ => None,
            };
        }
        if stage.state != StageState::Waiting {
            return None;
        }
        let mut needs = Vec::new();
        if let Some(gate) = stage.plan.gate.as_deref().and_then(|g| self.gate(g))
            && gate.outstanding() > 0
        {
            needs.push(format!(
                "{} needs {}",
                gate.plan.name,
                plural(gate.outstanding(), "more sign-off")
            ));
        }
        if let Some(list) = stage
            .plan
            .checklist
            .as_deref()
            .and_then(|c| self.checklist(c))
        {
            let open = list.unticked().count() as u64;
            if open > 0 {
                needs.push(format!(
                    "{} on {} unticked",
                    plural(open, "item"),
                    list.name
                ));
            }
        }
        (!needs.is_empty()).then(|| format!("\"{}\" waits: {}", stage.plan.name, needs.join("; ")))
    }

    /// Folds one change into the state: an event, or a line of the reader's
    /// own. Events must arrive in `seq` order; one already applied (an old
    /// or repeated `seq`) is ignored, so a resumed stream can never count
    /// anything twice.
    ///
    /// One arm per event kind, so the reducer reads as a table of what each
    /// event does; an arm longer than a few lines is a step of its own.
    pub fn apply<'a>(&mut self, change: impl Into<Change<'a>>) {
        let event = match change.into() {
            Change::Event(event) => event,
            Change::Line(line) => return self.logs.push_source(line),
        };
        if event.seq <= self.last_seq {
            return;
        }
        self.last_seq = event.seq;
        // A metric from before the window (history) does not turn the
        // clock back.
        self.last_at = Some(self.last_at.map_or(event.at, |last| last.max(event.at)));
        let at = event.at;
        match &event.kind {
            EventKind::ReleaseStarted { plan } => self.started(plan, at),
            EventKind::StageChanged { stage, state, note } => {
                if let Some(s) = self.stages.iter_mut().find(|s| &s.plan.id == stage) {
                    s.change(*state, note.clone(), at);
                }
            }
            EventKind::CanaryStep {
                step,
                state,
                weight,
                until,
            } => {
                self.rollout.step_changed(*step, *state, *weight, *until);
                self.rollout.step_seq = event.seq;
                self.rollout.step_at = Some(at);
            }
            EventKind::GateChanged {
                gate,
                state,
                signoffs,
                rejection,
            } => {
                if let Some(g) = self.gates.iter_mut().find(|g| &g.plan.id == gate) {
                    if *state == super::GateState::Open && g.state != super::GateState::Open {
                        g.opened_at = Some(at);
                    }
                    g.state = *state;
                    g.signoffs = signoffs.clone();
                    g.rejection = rejection.clone();
                    g.changed_seq = event.seq;
                }
            }
            EventKind::ChecklistChanged { list, item, ticked } => {
                if let Some(item) = self
                    .checklists
                    .iter_mut()
                    .find(|c| &c.id == list)
                    .and_then(|c| c.items.iter_mut().find(|i| &i.plan.id == item))
                {
                    item.ticked = ticked.clone();
                    item.changed_seq = event.seq;
                }
            }
            EventKind::Log {
                level,
                source,
                stage,
                message,
            } => {
                let line = LogLine {
                    at,
                    level: *level,
                    source: source.as_str().into(),
                    stage: stage.as_deref().map(Into::into),
                    message: message.clone(),
                };
                if source == super::METRICS_SOURCE {
                    self.metrics_source = Some(line.clone());
                }
                self.logs.push_own(line);
            }
            EventKind::Metric {
                series,
                cohort,
                value,
            } => self
                .metrics
                .record(*series, *cohort, Sample { at, value: *value }),
            EventKind::Alert { .. } => self.alert(&event.kind, at),
            EventKind::RuleChanged { rule, state, .. } => self.rule_changed(rule, *state, at),
            EventKind::ReleasePaused { by, .. } => self.paused(by, at),
            EventKind::ReleaseResumed { until, .. } => {
                if self.status == Status::Paused {
                    self.status = Status::Running;
                    self.paused_by = None;
                    self.rollout.remaining = None;
                    self.rollout.until = *until;
                }
            }
            EventKind::CommandAccepted { .. } | EventKind::CommandRejected { .. } => {}
            EventKind::RollbackStarted { by, reason } => self.rollback_started(by, reason, at),
            EventKind::RollbackReason { reason, .. } => {
                if let Some(rollback) = &mut self.rollback {
                    let placeholder = Rollback::default_reason(&rollback.by);
                    add_reason(&mut rollback.reason, &placeholder, reason);
                } else if let Some(stopped) = &mut self.stopped {
                    let placeholder = Stopped::default_reason(&stopped.by);
                    add_reason(&mut stopped.reason, &placeholder, reason);
                }
            }
            EventKind::ReleaseStopped { by, reason } => {
                let (by, reason) = (by.clone(), reason.clone());
                self.stopped = Some(Stopped { by, reason, at });
            }
            EventKind::RollbackFinished {} => {
                if let Some(rollback) = &mut self.rollback {
                    rollback.finished_at = Some(at);
                }
            }
            EventKind::ReleaseFinished { outcome } => {
                self.status = Status::Finished(*outcome);
                self.finished_at = Some(at);
                self.rollout.until = None;
            }
            EventKind::PlanExtended {
                stages,
                gates,
                gated,
            } => self.extended(stages, gates, gated),
        }
    }

    /// The plan grows: new stages and gates join it (an id it has already
    /// is left as it was), and stages take the gates they now wait on.
    fn extended(&mut self, stages: &[StagePlan], gates: &[GatePlan], gated: &[GateOf]) {
        let Some(plan) = self.plan.as_mut() else {
            return;
        };
        plan.extend(stages, gates, gated);
        for stage in &plan.stages {
            match self.stages.iter_mut().find(|s| s.plan.id == stage.id) {
                Some(s) => s.plan.gate.clone_from(&stage.gate),
                None => self.stages.push(Stage::new(stage.clone())),
            }
        }
        for gate in &plan.gates {
            if !self.gates.iter().any(|g| g.plan.id == gate.id) {
                self.gates.push(Gate::new(gate.clone()));
            }
        }
    }

    fn started(&mut self, plan: &ReleasePlan, at: Timestamp) {
        self.id = plan.id.clone();
        self.stages = plan.stages.iter().cloned().map(Stage::new).collect();
        self.gates = plan.gates.iter().cloned().map(Gate::new).collect();
        self.checklists = plan
            .checklists
            .iter()
            .cloned()
            .map(Checklist::new)
            .collect();
        self.plan = Some(plan.clone());
        self.status = Status::Running;
        self.started_at = Some(at);
    }

    /// An alert firing, acknowledged or resolved: one entry per rule, in
    /// the order they first fired.
    fn alert(&mut self, kind: &EventKind, at: Timestamp) {
        let EventKind::Alert {
            rule,
            severity,
            state,
            value,
            message,
            by,
        } = kind
        else {
            return;
        };
        // A rule fires while its condition holds, and resolves when it no
        // longer does.
        match state {
            AlertState::Firing => {
                self.breaching.entry(rule.clone()).or_insert(at);
            }
            AlertState::Resolved => {
                self.breaching.remove(rule);
            }
            AlertState::Acknowledged => {}
        }
        let Some(alert) = self.alerts.iter_mut().find(|a| &a.rule == rule) else {
            self.alerts.push(Alert {
                rule: rule.clone(),
                severity: *severity,
                state: *state,
                value: *value,
                message: message.clone(),
                since: at,
                acknowledged_by: by.clone(),
            });
            return;
        };
        if *state == AlertState::Acknowledged {
            alert.state = AlertState::Acknowledged;
            alert.acknowledged_by = by.clone();
            return;
        }
        if *state == AlertState::Firing {
            alert.since = at;
            alert.acknowledged_by = None;
        }
        alert.state = *state;
        alert.value = *value;
        alert.message = message.clone();
    }

    /// A rule's condition started or stopped holding before it fired.
    fn rule_changed(&mut self, rule: &str, state: RuleState, at: Timestamp) {
        match state {
            RuleState::Breaching => {
                self.breaching.insert(rule.to_string(), at);
            }
            RuleState::Quiet => {
                self.breaching.remove(rule);
            }
        }
    }

    /// A pause holds a timed step's time left until the release resumes.
    fn paused(&mut self, by: &Person, at: Timestamp) {
        if self.status != Status::Running {
            return;
        }
        self.status = Status::Paused;
        self.paused_by = Some(by.clone());
        self.paused_at = Some(at);
        if let Some(until) = self.rollout.until.take() {
            self.rollout.remaining = Some(until.duration_since(at).max(SignedDuration::ZERO));
        }
    }

    fn rollback_started(&mut self, by: &Person, reason: &str, at: Timestamp) {
        self.status = Status::RollingBack;
        self.paused_by = None;
        self.rollout.weight = 0;
        self.rollout.until = None;
        self.rollout.remaining = None;
        self.rollback = Some(Rollback {
            by: by.clone(),
            reason: reason.to_string(),
            started_at: at,
            finished_at: None,
        });
    }
}

impl Rollout {
    fn step_changed(
        &mut self,
        step: usize,
        state: StepState,
        weight: u8,
        until: Option<Timestamp>,
    ) {
        self.weight = weight;
        self.began = true;
        self.step = Some(step);
        self.remaining = None;
        match state {
            StepState::Started => {
                self.step_completed = false;
                self.until = until;
            }
            StepState::Completed | StepState::Skipped => {
                self.step_completed = true;
                self.until = None;
            }
        }
    }
}

impl Stage {
    fn change(&mut self, state: StageState, note: Option<String>, at: Timestamp) {
        if state == StageState::Running && self.started_at.is_none() {
            self.started_at = Some(at);
        }
        if state == StageState::Running {
            self.finished_at = None;
        }
        if state.is_done() && self.started_at.is_some() {
            self.finished_at = Some(at);
        }
        if state != self.state {
            self.since = Some(at);
        }
        self.state = state;
        self.note = note;
    }
}
