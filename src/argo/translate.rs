//! A Rollout as a shipdeck release. The cluster is the authority: what the
//! controller writes in the Rollout's status becomes the release's events
//! (`release_started` with a plan made from the spec, steps started and
//! completed, pauses, the abort as a rollback, the end), folded into a
//! [`Release`] here as any reader folds them, so the console, the journal,
//! the report and a replay read a Rollout as they read a simulated window.
//!
//! A window is one attempt at one revision: a new pod template (a new
//! revision, or an undo) or a retry after an abort starts a new window.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;

use super::info::{self, Phase};
use super::types::{AnalysisRun, CanaryStep, Rollout};
use crate::engine::policy::{self, Refusal, Target};
use crate::model::names::{CONTROLLER, SOMEONE};
use crate::model::text::clip;
use crate::model::{Action, Command, GatePlan, GateState, Rejection, SignOff};
use crate::model::{
    Cohort, Event, EventKind, Level, Outcome, Person, Release, ReleasePlan, Series, StageKind,
    StagePlan, StageState, Step, StepKind, StepState, Strategy,
};

/// The id of the only stage of a Rollout's release: its update.
pub const STAGE: &str = "rollout";

/// What the cluster holds for one Rollout at one moment.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub rollout: Rollout,
    /// The namespace's ReplicaSets, Pods and AnalysisRuns (the Rollout's
    /// own are picked by owner).
    pub replicasets: Vec<ReplicaSet>,
    pub pods: Vec<Pod>,
    pub runs: Vec<AnalysisRun>,
}

/// What the translator says: start a new window, then these events.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    /// The old window is over (a new revision, a retry): forget it.
    NewWindow,
    Events(Vec<Event>),
}

/// The Rollout's state as the release cares for it.
#[derive(Debug, Clone, PartialEq, Default)]
struct Standing {
    /// The step the controller is on; the step count when all are done.
    step: usize,
    weight: u8,
    manual_pause: bool,
    /// The controller holds the Rollout for a person's decision (an
    /// inconclusive analysis or experiment): why.
    decision: Option<String>,
    aborted: bool,
    /// Degraded without an abort (a progress deadline, an invalid spec).
    failed: Option<String>,
    done: bool,
    phase: Option<(Phase, String)>,
    /// It waits on a person (a pause for a promote, a decision).
    waits: bool,
}

/// Who asked for the change the cluster is about to show (the console's
/// command just sent), so the release says who paused, resumed or aborted.
#[derive(Debug, Clone)]
struct Asked {
    /// The command's id: a refused command is forgotten by it.
    id: String,
    by: Person,
    what: crate::model::CommandKind,
    reason: Option<String>,
    /// When it was asked: a change seen long after is somebody else's.
    at: Timestamp,
}

/// How long after a command the change it asked for is credited to it.
const CREDIT_FOR: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Turns what the cluster says of one Rollout into release events.
#[derive(Debug)]
pub struct Translator {
    release: Release,
    capacity: usize,
    /// uid, pod-template hash and abort count: which window this is.
    window: Option<(String, String, u32)>,
    aborts: u32,
    standing: Standing,
    asked: Vec<Asked>,
    /// What has been said of pods, ReplicaSets and measurements already.
    heard: BTreeMap<String, String>,
    measured: BTreeSet<String>,
    /// Sign-offs a promote needs, when a config asks for them.
    gate: Option<GatePlan>,
    freezes: Vec<crate::model::Freeze>,
    /// The gate's sign-offs went with a promote (or the Rollout moved on):
    /// they stay on the record, but the next promote needs its own.
    spent: bool,
}

impl Translator {
    pub fn new(log_capacity: usize) -> Translator {
        Translator {
            release: Release::new("", log_capacity),
            capacity: log_capacity,
            window: None,
            aborts: 0,
            standing: Standing::default(),
            asked: Vec::new(),
            heard: BTreeMap::new(),
            measured: BTreeSet::new(),
            gate: None,
            freezes: Vec::new(),
            spent: false,
        }
    }

    /// A promote needs these sign-offs first: the gate opens each time the
    /// Rollout waits on a person, and is signed afresh for each promote.
    pub fn with_gate(mut self, gate: Option<GatePlan>) -> Translator {
        self.gate = gate;
        self
    }

    /// The freezes the plan carries (the config's `freezes:`).
    pub fn with_freezes(mut self, freezes: Vec<crate::model::Freeze>) -> Translator {
        self.freezes = freezes;
        self
    }

    /// Whether a promote may be sent now; if not, why.
    pub fn may_promote(&self) -> Result<(), String> {
        let Some(plan) = &self.gate else {
            return Ok(());
        };
        match self.release.gate(&plan.id) {
            Some(gate) if gate.state == GateState::Approved && !self.spent => Ok(()),
            Some(_) if self.spent => Err(format!(
                "the sign-offs on {} went with the last promote; this one needs {} of its own (sign it: s)",
                plan.name, plan.required
            )),
            Some(gate) => Err(format!(
                "a promote needs {} sign-offs on {} first ({} so far): sign it (s)",
                plan.required,
                plan.name,
                gate.signoffs.len()
            )),
            None => Err(format!("a promote needs {} sign-offs first", plan.required)),
        }
    }

    /// A sign-off or rejection of the promote gate, judged by the engine's
    /// own policy on the release as it stands: the events it makes.
    pub fn sign(&mut self, command: &Command, now: Timestamp) -> Result<Vec<Event>, Refusal> {
        let permit = policy::check(&self.release, command, now)?;
        let Target::Gate(id) = permit.target else {
            return Err(Refusal::when("nothing here to sign"));
        };
        let Some(gate) = self.release.gate(&id).cloned() else {
            return Err(Refusal::when("nothing here to sign"));
        };
        let mut signoffs = gate.signoffs.clone();
        let (state, rejection) = match &command.action {
            Action::Approve { comment, .. } => {
                signoffs.push(SignOff {
                    operator: command.operator.clone(),
                    at: now,
                    comment: comment.clone(),
                });
                let done = signoffs.len() as u32 >= gate.plan.required;
                (
                    if done {
                        GateState::Approved
                    } else {
                        GateState::Open
                    },
                    None,
                )
            }
            Action::Reject { reason, .. } => (
                GateState::Rejected,
                Some(Rejection {
                    operator: command.operator.clone(),
                    at: now,
                    reason: reason.clone(),
                }),
            ),
            _ => return Err(Refusal::when("nothing here to sign")),
        };
        let kind = EventKind::GateChanged {
            gate: id,
            state,
            signoffs,
            rejection,
        };
        Ok(vec![self.emit(kind, now)])
    }

    /// A promote has been sent: the gate's sign-offs are spent, so no
    /// second promote rides on them.
    /// They stay on the record (the report names who signed).
    pub fn spend_gate(&mut self) {
        self.spent = self.gate.is_some();
    }

    /// The abort a rejection asked for was refused: the gate opens again,
    /// so the Rollout can still be signed or rejected.
    pub fn reopen_gate(&mut self, now: Timestamp) -> Option<Event> {
        let plan = self.gate.as_ref()?;
        if self.release.gate(&plan.id)?.state != GateState::Rejected {
            return None;
        }
        let kind = EventKind::GateChanged {
            gate: plan.id.clone(),
            state: GateState::Open,
            signoffs: Vec::new(),
            rejection: None,
        };
        Some(self.emit(kind, now))
    }

    /// The promote gate opens while the Rollout waits on a person, and is
    /// put back (its sign-offs spent) once it has moved on.
    fn gate_follows(&mut self, waits: bool, now: Timestamp, out: &mut Vec<Event>) {
        let Some(plan) = &self.gate else {
            return;
        };
        let Some(gate) = self.release.gate(&plan.id) else {
            return;
        };
        let fresh = match (waits, gate.state) {
            (true, GateState::Pending) => true,
            // Waiting again after a promote: signed afresh.
            (true, GateState::Approved | GateState::Open) => self.spent,
            (true, GateState::Rejected) => false,
            // Moved on: whatever was signed was for that wait.
            (false, GateState::Pending) => false,
            (false, _) => {
                self.spent = true;
                false
            }
        };
        if !fresh {
            return;
        }
        self.spent = false;
        let kind = EventKind::GateChanged {
            gate: plan.id.clone(),
            state: GateState::Open,
            signoffs: Vec::new(),
            rejection: None,
        };
        out.push(self.emit(kind, now));
    }

    /// The release as its events so far make it.
    pub fn release(&self) -> &Release {
        &self.release
    }

    /// An operator's command is on its way to the cluster: the change it
    /// makes is theirs.
    pub fn asked(&mut self, command: &Command, reason: Option<String>, now: Timestamp) {
        self.asked.push(Asked {
            id: command.id.clone(),
            by: command.operator.clone(),
            what: command.action.kind(),
            reason,
            at: now,
        });
        if self.asked.len() > 16 {
            self.asked.remove(0);
        }
    }

    /// A command the cluster refused changed nothing: no change is its.
    pub fn refused(&mut self, id: &str) {
        self.asked.retain(|a| a.id != id);
    }

    /// Who made a change of this kind: the operator who asked for it in the
    /// last minute, or someone elsewhere (kubectl, the dashboard).
    fn who(
        &mut self,
        kinds: &[crate::model::CommandKind],
        now: Timestamp,
    ) -> (Person, Option<String>) {
        self.asked
            .retain(|a| now.duration_since(a.at) <= CREDIT_FOR);
        match self.asked.iter().rposition(|a| kinds.contains(&a.what)) {
            Some(i) => {
                let asked = self.asked.remove(i);
                (asked.by, asked.reason)
            }
            None => (Person::own(SOMEONE), None),
        }
    }

    /// An event of the release's own (a command's verdict, a word from the
    /// source), stamped now.
    pub fn say(&mut self, kind: EventKind, now: Timestamp) -> Option<Event> {
        self.window.as_ref()?;
        Some(self.emit(kind, now))
    }

    /// A log line from the source itself.
    pub fn note(&mut self, level: Level, message: String, now: Timestamp) -> Option<Event> {
        self.say(
            EventKind::Log {
                level,
                source: "argo-rollouts".into(),
                stage: Some(STAGE.into()),
                message,
            },
            now,
        )
    }

    fn emit(&mut self, kind: EventKind, at: Timestamp) -> Event {
        let at = at.max(self.release.last_at().unwrap_or(at));
        // The release is named by its plan from its first event on.
        let release = match &kind {
            EventKind::ReleaseStarted { plan } => plan.id.clone(),
            _ => self.release.id().to_string(),
        };
        let event = Event {
            seq: self.release.last_seq().saturating_add(1),
            at,
            release,
            kind,
        };
        self.release.apply(&event);
        event
    }

    /// What the Rollout's state now says, since the last look.
    pub fn observe(&mut self, seen: &Observed, now: Timestamp) -> Vec<Said> {
        let r = &seen.rollout;
        let mut said = Vec::new();
        let key = window_key(r, self.aborts);
        let restarted = self.standing.aborted && !r.status.abort;
        if restarted {
            self.aborts = self.aborts.saturating_add(1);
        }
        let key = if restarted {
            window_key(r, self.aborts)
        } else {
            key
        };
        let mut out = Vec::new();
        if self.window.as_ref() != Some(&key) {
            if self.window.is_some() {
                said.push(Said::NewWindow);
            }
            self.start(seen, key, now, &mut out);
        }
        let standing = standing(r);
        self.moved(seen, &standing, now, &mut out);
        self.cluster_lines(seen, now, &mut out);
        self.standing = standing;
        if !out.is_empty() {
            said.push(Said::Events(out));
        }
        said
    }

    fn start(
        &mut self,
        seen: &Observed,
        key: (String, String, u32),
        now: Timestamp,
        out: &mut Vec<Event>,
    ) {
        self.release = Release::new("", self.capacity);
        self.window = Some(key);
        self.heard.clear();
        self.measured.clear();
        self.standing = Standing {
            phase: None,
            ..Standing::default()
        };
        let mut plan = plan(seen);
        plan.freezes = self.freezes.clone();
        if let Some(gate) = &self.gate {
            plan.gates.push(gate.clone());
            if let Some(stage) = plan.stages.first_mut() {
                stage.gate = Some(gate.id.clone());
            }
        }
        out.push(self.emit(
            EventKind::ReleaseStarted {
                plan: Box::new(plan),
            },
            now,
        ));
        out.push(self.emit(
            EventKind::StageChanged {
                stage: STAGE.into(),
                state: StageState::Running,
                note: None,
            },
            now,
        ));
    }

    /// The events that take the release from where it stood to `to`.
    fn moved(&mut self, seen: &Observed, to: &Standing, now: Timestamp, out: &mut Vec<Event>) {
        if to.phase != self.standing.phase
            && let Some((phase, message)) = &to.phase
        {
            let level = match phase {
                Phase::Degraded => Level::Error,
                Phase::Paused => Level::Warn,
                _ => Level::Info,
            };
            let text = if message.is_empty() {
                format!("{phase}")
            } else {
                format!("{phase}: {}", clip(message, 400))
            };
            out.extend(self.note(level, text, now));
        }
        if self.release.status().is_final() {
            return;
        }
        if to.aborted {
            self.abort(seen, now, out);
            return;
        }
        self.pauses(seen, to, now, out);
        self.failure(to, now, out);
        self.steps(seen, to, now, out);
        self.gate_follows(to.waits && !to.done, now, out);
        if to.done {
            let stage = EventKind::StageChanged {
                stage: STAGE.into(),
                state: StageState::Succeeded,
                note: None,
            };
            out.push(self.emit(stage, now));
            let end = EventKind::ReleaseFinished {
                outcome: Outcome::Succeeded,
            };
            out.push(self.emit(end, now));
        }
    }

    fn pauses(&mut self, seen: &Observed, to: &Standing, now: Timestamp, out: &mut Vec<Event>) {
        use crate::model::CommandKind as K;
        let paused = self.release.paused_by().cloned();
        let wants = if to.manual_pause {
            Some(None)
        } else {
            to.decision.clone().map(Some)
        };
        match (paused, wants) {
            (None, Some(decision)) => {
                let (by, reason) = match &decision {
                    Some(why) => (Person::own(CONTROLLER), Some(why.clone())),
                    None => self.who(&[K::Pause], now),
                };
                out.push(self.emit(EventKind::ReleasePaused { by, reason }, now));
            }
            (Some(by), Some(None)) if by.canonical() == CONTROLLER => {
                // The operator's own pause on top of the controller's: the
                // controller's gives way, so the release says whose it is.
                let resumed = EventKind::ReleaseResumed {
                    by: by.clone(),
                    until: None,
                };
                out.push(self.emit(resumed, now));
                let (by, reason) = self.who(&[K::Pause], now);
                out.push(self.emit(EventKind::ReleasePaused { by, reason }, now));
            }
            (Some(_), None) => {
                let (by, _) = self.who(&[K::Resume, K::Advance, K::PromoteFull], now);
                let until = self.timed_until(seen, now);
                out.push(self.emit(EventKind::ReleaseResumed { by, until }, now));
            }
            _ => {}
        }
    }

    /// When the step the rollout stands on ends by itself, if it is timed:
    /// from when the controller paused, as Argo counts it.
    fn timed_until(&self, seen: &Observed, now: Timestamp) -> Option<Timestamp> {
        let (i, _) = self.release.current_step()?;
        self.step_until(seen, i, now)
    }

    fn failure(&mut self, to: &Standing, now: Timestamp, out: &mut Vec<Event>) {
        let state = self
            .release
            .stages()
            .iter()
            .find(|s| s.plan.id == STAGE)
            .map(|s| s.state);
        let change = match (&to.failed, state) {
            (Some(why), Some(StageState::Running)) => {
                Some((StageState::Failed, Some(clip(why, 400))))
            }
            (None, Some(StageState::Failed)) => {
                Some((StageState::Running, Some("progressing again".to_string())))
            }
            _ => None,
        };
        if let Some((state, note)) = change {
            let kind = EventKind::StageChanged {
                stage: STAGE.into(),
                state,
                note,
            };
            out.push(self.emit(kind, now));
        }
    }

    /// Steps started and completed up to where the controller stands.
    fn steps(&mut self, seen: &Observed, to: &Standing, now: Timestamp, out: &mut Vec<Event>) {
        let total = self.release.steps().len();
        let target = to.step.min(total);
        loop {
            let rollout = self.release.rollout();
            let (at, completed) = match rollout.step {
                Some(i) => (i, rollout.step_completed),
                None => (0, true),
            };
            let next = if rollout.step.is_none() { 0 } else { at + 1 };
            if rollout.step.is_some() && !completed {
                if at >= target {
                    break;
                }
                let weight = self.step_weight(at, to);
                let done = EventKind::CanaryStep {
                    step: at,
                    state: StepState::Completed,
                    weight,
                    until: None,
                };
                out.push(self.emit(done, now));
                continue;
            }
            if next > target || next >= total {
                break;
            }
            let weight = self.step_weight(next, to);
            let until = self.step_until(seen, next, now);
            let start = EventKind::CanaryStep {
                step: next,
                state: StepState::Started,
                weight,
                until,
            };
            out.push(self.emit(start, now));
        }
    }

    /// The new version's weight once step `i` is under way: its own for a
    /// setWeight step, the controller's for the one it is on.
    fn step_weight(&self, i: usize, to: &Standing) -> u8 {
        let total = self.release.steps().len();
        match self.release.steps().get(i).map(|s| &s.kind) {
            // The last step done, the update whole: all traffic is the new
            // version's, whatever the last setWeight said.
            _ if to.done && i + 1 >= total => 100,
            Some(StepKind::SetWeight { weight }) => *weight,
            _ if i == to.step => to.weight,
            _ => self.release.rollout().weight,
        }
    }

    /// When a timed pause step ends: from when the controller paused.
    fn step_until(&self, seen: &Observed, i: usize, now: Timestamp) -> Option<Timestamp> {
        let step = self.release.steps().get(i)?;
        let StepKind::Pause {
            duration: Some(duration),
        } = step.kind
        else {
            return None;
        };
        let since = seen
            .rollout
            .status
            .pause_conditions
            .iter()
            .find(|p| p.reason == super::types::pause_reason::CANARY_PAUSE_STEP)
            .and_then(|p| p.start_time)
            .unwrap_or(now);
        since.checked_add(duration).ok()
    }

    /// The Rollout was aborted: the stable version takes all traffic back.
    fn abort(&mut self, seen: &Observed, now: Timestamp, out: &mut Vec<Event>) {
        use crate::model::CommandKind as K;
        if self.release.rollback().is_none() {
            let reason = abort_reason(&seen.rollout);
            let by = match analysis_that_aborted(&reason) {
                Some(metric) => Person::rule(&clip(&metric, 60)),
                None => self.who(&[K::Rollback], now).0,
            };
            out.push(self.emit(EventKind::RollbackStarted { by, reason }, now));
        }
        // The controller sends the stable version every request as it
        // marks the abort: nothing is left to wait for.
        out.push(self.emit(EventKind::RollbackFinished {}, now));
        let end = EventKind::ReleaseFinished {
            outcome: Outcome::RolledBack,
        };
        out.push(self.emit(end, now));
    }

    /// What the cluster says of the Rollout's pods, ReplicaSets and
    /// analysis, as log lines and metrics, once each.
    fn cluster_lines(&mut self, seen: &Observed, now: Timestamp, out: &mut Vec<Event>) {
        let uid = seen.rollout.metadata.uid.clone().unwrap_or_default();
        for rs in &seen.replicasets {
            if !super::types::controlled_by(&rs.metadata, &uid) {
                continue;
            }
            let name = rs.metadata.name.clone().unwrap_or_default();
            let status = rs.status.as_ref();
            let line = format!(
                "replicaset {} (revision {}): {} desired, {} ready, {} available",
                clip(&name, 120),
                super::types::revision(&rs.metadata)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "?".into()),
                rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                status.and_then(|s| s.ready_replicas).unwrap_or(0),
                status.and_then(|s| s.available_replicas).unwrap_or(0),
            );
            self.once(
                format!("rs/{name}"),
                line,
                "replicasets",
                Level::Info,
                now,
                out,
            );
        }
        for pod in &seen.pods {
            if !owned_pod(pod, &seen.replicasets, &uid) {
                continue;
            }
            let name = pod.metadata.name.clone().unwrap_or_default();
            let (ready, total, restarts) = pod_counts(pod);
            let phase = pod
                .status
                .as_ref()
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Unknown".into());
            let line = format!(
                "pod {}: {} · {ready}/{total} ready · {restarts} restarts",
                clip(&name, 120),
                clip(&phase, 40)
            );
            let level = if restarts > 0 {
                Level::Warn
            } else {
                Level::Info
            };
            self.once(format!("pod/{name}"), line, "pods", level, now, out);
        }
        for run in &seen.runs {
            if super::types::controlled_by(&run.metadata, &uid) {
                self.analysis(run, now, out);
            }
        }
    }

    fn once(
        &mut self,
        key: String,
        line: String,
        source: &str,
        level: Level,
        now: Timestamp,
        out: &mut Vec<Event>,
    ) {
        if self.heard.get(&key) == Some(&line) {
            return;
        }
        self.heard.insert(key, line.clone());
        out.push(self.emit(
            EventKind::Log {
                level,
                source: source.into(),
                stage: Some(STAGE.into()),
                message: line,
            },
            now,
        ));
    }

    /// An AnalysisRun's metrics: each new measurement as a line, and as a
    /// sample of the series its name says it measures.
    fn analysis(&mut self, run: &AnalysisRun, now: Timestamp, out: &mut Vec<Event>) {
        let run_name = run.metadata.name.clone().unwrap_or_default();
        for result in &run.status.metric_results {
            let limits = run.spec.metrics.iter().find(|m| m.name == result.name);
            let failure_limit = limits
                .and_then(|m| super::types::int_value(&m.failure_limit))
                .unwrap_or(0);
            let summary = format!(
                "analysis {} · {}: {} (✔ {} ✖ {} of limit {} · ? {} · ⚠ {})",
                clip(&run_name, 80),
                clip(&result.name, 60),
                clip(&result.phase, 20),
                result.successful,
                result.failed,
                failure_limit,
                result.inconclusive,
                result.error,
            );
            let level = match result.phase.as_str() {
                "Failed" | "Error" => Level::Error,
                "Inconclusive" => Level::Warn,
                _ => Level::Info,
            };
            let key = format!("ar/{run_name}/{}", result.name);
            self.once(key, summary, "analysis", level, now, out);
            let series = series_for(&result.name);
            // The newest measurements only: a long run keeps thousands.
            let skip = result.measurements.len().saturating_sub(200);
            for m in result.measurements.iter().skip(skip) {
                let Some(at) = m.finished_at.or(m.started_at) else {
                    continue;
                };
                let key = format!("{run_name}/{}/{at}", result.name);
                if !self.measured.insert(key) {
                    continue;
                }
                let value = m.value.as_deref().unwrap_or("");
                if let (Some(series), Some(v)) = (series, number(value)) {
                    let value = scaled(series, v);
                    if value.is_finite() && value >= 0.0 {
                        let kind = EventKind::Metric {
                            series,
                            cohort: Cohort::Canary,
                            value,
                        };
                        out.push(self.emit(kind, at.min(now)));
                    }
                }
            }
        }
    }
}

/// Which window a Rollout's state belongs to.
fn window_key(r: &Rollout, aborts: u32) -> (String, String, u32) {
    (
        r.metadata.uid.clone().unwrap_or_default(),
        r.status
            .current_pod_hash
            .clone()
            .unwrap_or_else(|| "?".into()),
        aborts,
    )
}

fn standing(r: &Rollout) -> Standing {
    let state = info::phase(r);
    let total = step_count(r);
    let step = match &r.spec.strategy.blue_green {
        Some(_) => blue_green_step(r),
        None => info::current_step(r).unwrap_or(total),
    };
    let decision = r
        .status
        .pause_conditions
        .iter()
        .find(|p| {
            p.reason == super::types::pause_reason::INCONCLUSIVE_ANALYSIS
                || p.reason == super::types::pause_reason::INCONCLUSIVE_EXPERIMENT
        })
        .map(|p| {
            let run = r
                .status
                .canary
                .current_step_analysis_run_status
                .as_ref()
                .or(r
                    .status
                    .canary
                    .current_background_analysis_run_status
                    .as_ref())
                .map(|s| s.message.clone())
                .filter(|m| !m.is_empty());
            match run {
                Some(m) => format!("{}: {} — promote or roll back", p.reason, clip(&m, 300)),
                None => format!("{}: promote or roll back", p.reason),
            }
        });
    let stable_is_current =
        r.status.stable_rs.is_some() && r.status.stable_rs == r.status.current_pod_hash;
    let failed = (state.phase == Phase::Degraded && !r.status.abort)
        .then(|| state.message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| (state.phase == Phase::Degraded && !r.status.abort).then(|| "Degraded".into()));
    // A blue-green Rollout sends all traffic one way: to the new version
    // once the active service has switched, to the old one until then.
    let weight = match &r.spec.strategy.blue_green {
        Some(_) if step >= 3 => 100,
        Some(_) => 0,
        None => percent(r, info::set_weight(r)),
    };
    Standing {
        step,
        weight,
        manual_pause: r.spec.paused,
        decision,
        aborted: r.status.abort,
        failed,
        done: state.phase == Phase::Healthy && stable_is_current,
        phase: Some((state.phase, state.message)),
        waits: info::waiting_on_person(r).is_some(),
    }
}

fn step_count(r: &Rollout) -> usize {
    plan_steps(r).len()
}

/// Where a blue-green update stands in its three steps: the preview comes
/// up, the switch waits (for a person, or a time), the active service
/// takes the new version.
fn blue_green_step(r: &Rollout) -> usize {
    let s = &r.status;
    let active = s.blue_green.active_selector.is_some()
        && s.blue_green.active_selector == s.current_pod_hash;
    if active {
        return 3;
    }
    let paused = s
        .pause_conditions
        .iter()
        .any(|p| p.reason == super::types::pause_reason::BLUE_GREEN_PAUSE);
    if paused { 1 } else { 0 }
}

/// The release id of a Rollout's windows: `payments/checkout`.
pub fn release_id(namespace: &str, name: &str) -> String {
    clip(&format!("{namespace}/{name}"), 200)
}

/// The plan of a Rollout's update, from its spec.
pub fn plan(seen: &Observed) -> ReleasePlan {
    let r = &seen.rollout;
    let name = r.metadata.name.clone().unwrap_or_default();
    let namespace = r
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let revision = super::types::revision(&r.metadata);
    let steps = plan_steps(r);
    let strategy = if r.spec.strategy.blue_green.is_some() {
        Strategy::BlueGreen {
            active: crate::model::Colour::Blue,
            preview_analysis: SignedDuration::ZERO,
            keep_previous: SignedDuration::from_secs(i64::from(
                r.spec
                    .strategy
                    .blue_green
                    .as_ref()
                    .and_then(|b| b.scale_down_delay_seconds)
                    .unwrap_or(30)
                    .max(0),
            )),
        }
    } else {
        Strategy::Canary {
            steps: steps.clone(),
        }
    };
    // The same id for every window of the Rollout (a server routes by
    // it); the revision is part of the version rolled out.
    let id = release_id(&namespace, &name);
    let image = template_image(r);
    let version_to = match revision {
        Some(rev) => format!("{image} (revision {rev})"),
        None => image,
    };
    ReleasePlan {
        id: clip(&id, 200),
        service: clip(&name, 100),
        version_from: clip(&image_of(seen, r.status.stable_rs.as_deref()), 120),
        version_to: clip(&version_to, 140),
        environment: clip(&namespace, 63),
        deployer: Person::own(SOMEONE),
        strategy,
        steps,
        stages: vec![StagePlan {
            id: STAGE.into(),
            name: match r.spec.strategy.blue_green {
                Some(_) => "blue-green".into(),
                None => "canary".into(),
            },
            kind: StageKind::Rollout,
            expected: None,
            gate: None,
            checklist: None,
        }],
        gates: Vec::new(),
        checklists: Vec::new(),
        rules: Vec::new(),
        rollback_checklist: None,
        window: None,
        decided_by: Some(crate::model::names::CONTROLLER.into()),
        freezes: Vec::new(),
    }
}

/// The spec's steps as shipdeck's: weights, pauses, and the steps Argo
/// carries out itself.
fn plan_steps(r: &Rollout) -> Vec<Step> {
    if let Some(bg) = &r.spec.strategy.blue_green {
        let auto = bg.auto_promotion_enabled.unwrap_or(true);
        let wait = match (auto, bg.auto_promotion_seconds) {
            (false, _) => None,
            (true, Some(secs)) => Some(SignedDuration::from_secs(i64::from(secs.max(0)))),
            (true, None) => Some(SignedDuration::ZERO),
        };
        let preview = bg
            .preview_service
            .as_deref()
            .map(|s| format!("preview on {}", clip(s, 60)))
            .unwrap_or_else(|| "preview".into());
        return vec![
            Step::labelled(StepKind::Preview, preview),
            Step::labelled(
                StepKind::Pause { duration: wait },
                "promote to active".into(),
            ),
            Step::labelled(
                StepKind::SetWeight { weight: 100 },
                format!("switch {}", clip(&bg.active_service, 60)),
            ),
        ];
    }
    let Some(canary) = &r.spec.strategy.canary else {
        return vec![Step::plain(StepKind::SetWeight { weight: 100 })];
    };
    if canary.steps.is_empty() {
        return vec![Step::labelled(
            StepKind::SetWeight { weight: 100 },
            "full promotion (no steps)".into(),
        )];
    }
    canary
        .steps
        .iter()
        .take(500)
        .map(|s| canary_step(r, s))
        .collect()
}

/// A weight in the Rollout's own units (`maxTrafficWeight`, 100 unless a
/// router says otherwise) as a percentage of traffic.
fn percent(r: &Rollout, weight: i32) -> u8 {
    let max = i64::from(info::max_weight(r).max(1));
    (i64::from(weight.max(0)) * 100 / max).clamp(0, 100) as u8
}

fn canary_step(r: &Rollout, step: &CanaryStep) -> Step {
    let label = clip(&info::step_label(step), 80);
    let kind = if let Some(w) = step.set_weight {
        StepKind::SetWeight {
            weight: percent(r, w),
        }
    } else if let Some(pause) = &step.pause {
        match info::pause_seconds(pause) {
            None | Some(Err(_)) => StepKind::Pause { duration: None },
            Some(Ok(secs)) => StepKind::Pause {
                duration: Some(SignedDuration::from_secs(secs.max(0))),
            },
        }
    } else {
        let what = if step.analysis.is_some() {
            "analysis"
        } else if step.experiment.is_some() {
            "experiment"
        } else if step.set_canary_scale.is_some() {
            "scale"
        } else if step.set_header_route.is_some() || step.set_mirror_route.is_some() {
            "route"
        } else if step.plugin.is_some() {
            "plugin"
        } else {
            "?"
        };
        StepKind::External { what: what.into() }
    };
    Step::labelled(kind, label)
}

/// The first container image of the Rollout's pod template.
fn template_image(r: &Rollout) -> String {
    r.spec
        .template
        .as_ref()
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_else(|| r.status.current_pod_hash.clone().unwrap_or_default())
}

/// The image of the ReplicaSet with this pod-template hash.
fn image_of(seen: &Observed, hash: Option<&str>) -> String {
    let Some(hash) = hash else {
        return "(none yet)".into();
    };
    seen.replicasets
        .iter()
        .find(|rs| super::types::pod_template_hash(&rs.metadata) == Some(hash))
        .and_then(|rs| rs.spec.as_ref())
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_else(|| hash.to_string())
}

/// Why the controller aborted: its RolloutAborted condition's message.
fn abort_reason(r: &Rollout) -> String {
    let message = r
        .status
        .conditions
        .iter()
        .find(|c| c.reason == "RolloutAborted")
        .map(|c| c.message.clone())
        .or_else(|| r.status.message.clone())
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| "the Rollout was aborted".into());
    clip(&message, 1000)
}

/// The metric an analysis abort names: `metric "web" assessed Failed …`.
fn analysis_that_aborted(reason: &str) -> Option<String> {
    let rest = reason.split("metric \"").nth(1)?;
    let (name, after) = rest.split_once('"')?;
    (after.trim_start().starts_with("assessed") && !name.is_empty()).then(|| name.to_string())
}

fn owned_pod(pod: &Pod, rss: &[ReplicaSet], rollout_uid: &str) -> bool {
    let owners = pod.metadata.owner_references.iter().flatten();
    owners.into_iter().any(|o| {
        rss.iter().any(|rs| {
            rs.metadata.uid.as_deref() == Some(o.uid.as_str())
                && super::types::controlled_by(&rs.metadata, rollout_uid)
        })
    })
}

fn pod_counts(pod: &Pod) -> (usize, usize, i32) {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    let total = pod.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
    let ready = statuses
        .map(|s| s.iter().filter(|c| c.ready).count())
        .unwrap_or(0);
    let restarts = statuses
        .map(|s| s.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0);
    (ready, total, restarts)
}

/// The series an analysis metric's name says it measures, if any.
fn series_for(metric: &str) -> Option<Series> {
    let name = metric.to_ascii_lowercase();
    if name.contains("error") || name.contains("fail") {
        Some(Series::ErrorRate)
    } else if name.contains("success") || name.contains("availab") {
        Some(Series::Availability)
    } else if name.contains("p50") {
        Some(Series::LatencyP50)
    } else if name.contains("p95") {
        Some(Series::LatencyP95)
    } else if name.contains("latency") || name.contains("p99") || name.contains("duration") {
        Some(Series::LatencyP99)
    } else if name.contains("throughput") || name.contains("rps") || name.contains("requests") {
        Some(Series::Throughput)
    } else {
        None
    }
}

/// A measurement's value as one number: a scalar, or a vector's first.
fn number(value: &str) -> Option<f64> {
    let v = value.trim().trim_start_matches('[');
    let first = v.split([',', ']']).next()?.trim();
    first.parse::<f64>().ok()
}

/// Fractions as shipdeck keeps them: a rate above 1 is a percentage, a
/// latency above 10 is in milliseconds.
fn scaled(series: Series, v: f64) -> f64 {
    match series {
        Series::ErrorRate | Series::Availability if v > 1.0 => v / 100.0,
        Series::LatencyP50 | Series::LatencyP95 | Series::LatencyP99 if v > 10.0 => v / 1000.0,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use serde_json::json;

    fn rollout(status: serde_json::Value) -> Observed {
        let r = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
            "metadata": {"name": "checkout", "namespace": "payments", "uid": "u-1",
                         "annotations": {"rollout.argoproj.io/revision": "7"}},
            "spec": {"replicas": 4, "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 50},
                {"pause": {"duration": "30s"}}, {"analysis": {"templates": [{"templateName": "web"}]}}
            ]}}},
            "status": status,
        });
        Observed {
            rollout: serde_json::from_value(r).unwrap(),
            ..Observed::default()
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn events(said: &[Said]) -> Vec<Event> {
        said.iter()
            .flat_map(|s| match s {
                Said::Events(e) => e.clone(),
                Said::NewWindow => Vec::new(),
            })
            .collect()
    }

    fn kinds(said: &[Said]) -> Vec<String> {
        events(said)
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::Log { .. }))
            .map(|e| match &e.kind {
                EventKind::CanaryStep {
                    step,
                    state,
                    weight,
                    ..
                } => {
                    format!("step {step} {state} {weight}")
                }
                EventKind::StageChanged { state, .. } => format!("stage {state}"),
                k => format!("{:?}", crate::model::EventType::from(k)),
            })
            .collect()
    }

    #[test]
    fn a_canary_at_its_pause_step_is_held_there_and_a_promote_moves_it_on() {
        let mut t = Translator::new(1000);
        let paused = rollout(json!({
            "phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
            "currentPodHash": "new", "stableRS": "old", "controllerPause": true,
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2027-01-15T08:00:00Z"}]
        }));
        let said = t.observe(&paused, at(0));
        assert_eq!(
            kinds(&said),
            [
                "ReleaseStarted",
                "stage running",
                "step 0 started 20",
                "step 0 completed 20",
                "step 1 started 20"
            ]
        );
        let release = t.release();
        assert_eq!(release.id(), "payments/checkout");
        assert!(release.plan().unwrap().version_to.ends_with("(revision 7)"));
        assert_eq!(release.rollout().step, Some(1));
        assert!(!release.rollout().step_completed);
        assert_eq!(
            release.status(),
            Status::Running,
            "a pause step is the plan's, not an operator's"
        );
        // Nothing changed: nothing said.
        assert!(events(&t.observe(&paused, at(1))).is_empty());
        let promoted = rollout(json!({
            "phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 3,
            "currentPodHash": "new", "stableRS": "old",
            "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2027-01-15T08:05:00Z"}]
        }));
        let said = t.observe(&promoted, at(2));
        assert_eq!(
            kinds(&said),
            [
                "step 1 completed 20",
                "step 2 started 50",
                "step 2 completed 50",
                "step 3 started 50"
            ]
        );
        let until = "2027-01-15T08:05:30Z".parse::<Timestamp>().unwrap();
        assert_eq!(
            t.release().rollout().until,
            Some(until),
            "a timed pause ends 30s after the controller paused"
        );
    }

    #[test]
    fn an_abort_by_a_failed_analysis_names_the_metric_as_the_rule_that_rolled_back() {
        let mut t = Translator::new(1000);
        t.observe(&rollout(json!({"currentStepIndex": 4, "currentPodHash": "new", "stableRS": "old", "phase": "Progressing"})), at(0));
        let reason = "metric \"error-rate\" assessed Failed due to failed (1) > failureLimit (0)";
        let aborted = rollout(json!({
            "abort": true, "phase": "Degraded", "message": format!("RolloutAborted: {reason}"),
            "currentStepIndex": 0, "currentPodHash": "new", "stableRS": "old",
            "conditions": [{"type": "Progressing", "status": "False", "reason": "RolloutAborted", "message": reason}]
        }));
        let said = t.observe(&aborted, at(5));
        let started = events(&said)
            .into_iter()
            .find_map(|e| match e.kind {
                EventKind::RollbackStarted { by, reason } => Some((by, reason)),
                _ => None,
            })
            .expect("a rollback");
        assert_eq!(started.0.rule_name(), Some("error-rate"));
        assert_eq!(started.1, reason);
        assert_eq!(t.release().status(), Status::Finished(Outcome::RolledBack));
        // Retried: a new window for the same revision.
        let retried = rollout(
            json!({"currentStepIndex": 0, "currentPodHash": "new", "stableRS": "old", "phase": "Progressing"}),
        );
        let said = t.observe(&retried, at(9));
        assert_eq!(said.first(), Some(&Said::NewWindow));
        assert_eq!(t.release().status(), Status::Running);
        assert_eq!(t.release().rollout().step, Some(0));
    }

    #[test]
    fn an_abort_given_here_is_the_operators_and_a_pause_too() {
        let mut t = Translator::new(1000);
        t.observe(
            &rollout(json!({"currentStepIndex": 2, "currentPodHash": "new", "stableRS": "old"})),
            at(0),
        );
        let dave = Person::new("dave").unwrap();
        let pause = Command::new("c1", dave.clone(), Action::Pause { reason: None });
        t.asked(&pause, Some("looking at p99".into()), at(1));
        let mut paused =
            rollout(json!({"currentStepIndex": 2, "currentPodHash": "new", "stableRS": "old"}));
        paused.rollout.spec.paused = true;
        let said = t.observe(&paused, at(1));
        assert!(events(&said).iter().any(|e| matches!(&e.kind,
            EventKind::ReleasePaused { by, reason } if *by == dave && reason.as_deref() == Some("looking at p99"))));
        assert_eq!(t.release().status(), Status::Paused);
        // A refused command is nobody's change.
        let refused = Command::new("c2", dave.clone(), Action::Rollback { reason: None });
        t.asked(&refused, None, at(2));
        t.refused("c2");
        let abort = Command::new("c3", dave.clone(), Action::Rollback { reason: None });
        t.asked(&abort, None, at(2));
        let aborted = rollout(
            json!({"abort": true, "phase": "Degraded", "currentPodHash": "new", "stableRS": "old"}),
        );
        let said = t.observe(&aborted, at(2));
        assert!(events(&said).iter().any(|e| matches!(&e.kind,
            EventKind::RollbackStarted { by, .. } if *by == dave)));
    }

    #[test]
    fn an_inconclusive_analysis_is_a_decision_waiting_on_a_person() {
        let mut t = Translator::new(1000);
        let held = rollout(json!({
            "phase": "Paused", "message": "InconclusiveAnalysisRun", "currentStepIndex": 4,
            "currentPodHash": "new", "stableRS": "old", "controllerPause": true,
            "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2027-01-15T08:00:00Z"}],
            "canary": {"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive", "message": "metric \"p99\" assessed Inconclusive"}}
        }));
        t.observe(&held, at(0));
        let by = t.release().paused_by().cloned().expect("paused");
        assert_eq!(by.canonical(), CONTROLLER);
        let promoted = rollout(
            json!({"phase": "Healthy", "currentPodHash": "new", "stableRS": "new", "currentStepIndex": 5}),
        );
        let said = t.observe(&promoted, at(3));
        let kinds = kinds(&said);
        assert!(kinds.contains(&"ReleaseResumed".to_string()), "{kinds:?}");
        assert_eq!(t.release().status(), Status::Finished(Outcome::Succeeded));
    }

    #[test]
    fn a_healthy_rollout_seen_first_is_a_finished_window() {
        let mut t = Translator::new(1000);
        let done = rollout(
            json!({"phase": "Healthy", "currentPodHash": "h", "stableRS": "h", "currentStepIndex": 5}),
        );
        let said = t.observe(&done, at(0));
        assert_eq!(t.release().status(), Status::Finished(Outcome::Succeeded));
        assert_eq!(
            events(&said)
                .iter()
                .filter(|e| matches!(
                    e.kind,
                    EventKind::CanaryStep {
                        state: StepState::Completed,
                        ..
                    }
                ))
                .count(),
            5
        );
        // A new revision begins a new window.
        let next = rollout(
            json!({"phase": "Progressing", "currentPodHash": "i", "stableRS": "h", "currentStepIndex": 0}),
        );
        assert_eq!(t.observe(&next, at(5)).first(), Some(&Said::NewWindow));
    }

    #[test]
    fn a_progress_deadline_fails_the_stage_with_the_controllers_words() {
        let mut t = Translator::new(1000);
        let stuck = rollout(json!({
            "currentStepIndex": 0, "currentPodHash": "new", "stableRS": "old",
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"checkout-5d\" has timed out progressing."}],
            "phase": "Degraded", "message": "ProgressDeadlineExceeded: ReplicaSet \"checkout-5d\" has timed out progressing."
        }));
        t.observe(&stuck, at(0));
        let stage = &t.release().stages()[0];
        assert_eq!(stage.state, StageState::Failed);
        assert!(
            stage
                .note
                .as_deref()
                .unwrap_or("")
                .contains("timed out progressing"),
            "{:?}",
            stage.note
        );
    }

    #[test]
    fn a_hostile_name_reaches_the_plan_cleaned() {
        let mut seen = rollout(json!({"currentStepIndex": 0}));
        seen.rollout.metadata.name = Some("x\u{1b}]0;pwned\u{7}y".into());
        let plan = plan(&seen);
        assert!(!plan.service.contains('\u{1b}'), "{:?}", plan.service);
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;
    use crate::model::Approvers;
    use serde_json::json;

    fn paused() -> Observed {
        let r = json!({
            "metadata": {"name": "checkout", "namespace": "payments", "uid": "u-1"},
            "spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}]}}},
            "status": {"phase": "Paused", "currentStepIndex": 1, "currentPodHash": "n", "stableRS": "o",
                       "controllerPause": true, "pauseConditions": [{"reason": "CanaryPauseStep"}]},
        });
        Observed {
            rollout: serde_json::from_value(r).unwrap(),
            ..Observed::default()
        }
    }

    fn gate() -> GatePlan {
        GatePlan {
            id: "promote".into(),
            name: "Promote".into(),
            required: 2,
            approvers: Approvers::Named(vec![
                Person::new("dave").unwrap(),
                Person::new("erin").unwrap(),
            ]),
            self_approval: true,
        }
    }

    fn approve(who: &str) -> Command {
        Command::new(
            format!("c-{who}"),
            Person::new(who).unwrap(),
            Action::Approve {
                gate: None,
                comment: None,
            },
        )
    }

    #[test]
    fn a_promote_waits_for_two_distinct_sign_offs_and_each_promote_needs_its_own() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut t = Translator::new(100).with_gate(Some(gate()));
        t.observe(&paused(), now);
        assert_eq!(t.release().gate("promote").unwrap().state, GateState::Open);
        assert!(t.may_promote().unwrap_err().contains("2 sign-offs"));
        t.sign(&approve("dave"), now).unwrap();
        let twice = t.sign(&approve("dave"), now).unwrap_err();
        assert!(twice.reason.contains("counts once"), "{}", twice.reason);
        let stranger = t.sign(&approve("mallory"), now).unwrap_err();
        assert!(
            stranger.reason.contains("may not approve"),
            "{}",
            stranger.reason
        );
        assert!(t.may_promote().is_err());
        t.sign(&approve("erin"), now).unwrap();
        assert_eq!(t.may_promote(), Ok(()));
        // The Rollout moves on, then waits again: the gate starts over.
        let mut moved = paused();
        moved.rollout.status.current_step_index = Some(2);
        moved.rollout.status.pause_conditions.clear();
        moved.rollout.status.controller_pause = false;
        moved.rollout.status.phase = Some("Progressing".into());
        t.observe(&moved, now);
        // The record keeps who signed; the next promote needs its own.
        let g = t.release().gate("promote").unwrap();
        assert_eq!((g.state, g.signoffs.len()), (GateState::Approved, 2));
        assert!(
            t.may_promote()
                .unwrap_err()
                .contains("went with the last promote")
        );
        let mut again = paused();
        again.rollout.status.current_step_index = Some(1);
        t.observe(&again, now);
        let g = t.release().gate("promote").unwrap();
        assert_eq!((g.state, g.signoffs.len()), (GateState::Open, 0));
    }
}
