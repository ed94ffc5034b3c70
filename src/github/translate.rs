//! A GitHub Actions workflow run as a shipdeck release. GitHub is the
//! authority: what it says of the run, its jobs, the environments waiting
//! for a review and the reviews given becomes the release's events
//! (`release_started` with a plan made from the jobs, the plan extended as
//! jobs appear and environments ask for review, jobs started and finished,
//! gates opened and signed, the end), folded into a [`Release`] here as any
//! reader folds them, so the console, the journal, the report and a replay
//! read a run as they read a simulated window.
//!
//! Events carry GitHub's own times (a job's `started_at`, a step's
//! `completed_at`), so the board's durations are GitHub's; a time is never
//! later than now, nor earlier than the release's last event.
//!
//! A window is one attempt of one run: a re-run (a new `run_attempt`) or
//! another run starts a new window.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};

use super::types::{Approval, Job, JobStep, PendingDeployment, Run};
use crate::model::names::{GITHUB, MAX_NAME, SOMEONE};
use crate::model::text::clip;
use crate::model::units::format_duration;
use crate::model::{
    Action, Approvers, Command, CommandKind, Event, EventKind, GateOf, GatePlan, GateState, Level,
    Outcome, Person, Rejection, Release, ReleasePlan, SignOff, StageKind, StagePlan, StageState,
    Status, Strategy,
};

/// The source of the translator's own log lines.
pub const SOURCE: &str = "github-actions";

/// Jobs a run's plan holds at most (GitHub allows 256 per workflow run).
const MOST_JOBS: usize = 256;

/// New lines of a job's log said at most per call; the rest are counted.
const MOST_LINES: usize = 300;

/// Characters of one log line kept.
const LINE: usize = 1000;

/// How long after a command the change it asked for is credited to it:
/// GitHub shows a cancel only once its runners have stopped.
const CREDIT_FOR: SignedDuration = SignedDuration::from_mins(5);

/// What GitHub holds for one run at one moment.
#[derive(Debug, Clone)]
pub struct Observed {
    pub run: Run,
    /// The run's jobs, in the order GitHub lists them.
    pub jobs: Vec<Job>,
    /// The environments the run waits on for a review.
    pub pending: Vec<PendingDeployment>,
    /// The reviews given on the run.
    pub approvals: Vec<Approval>,
}

/// What the translator says: start a new window, then these events.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    /// The old window is over (a re-run, another run): forget it.
    NewWindow,
    Events(Vec<Event>),
}

/// A command on its way to GitHub: the change it makes is its operator's.
#[derive(Debug, Clone)]
struct Asked {
    id: String,
    by: Person,
    what: CommandKind,
    reason: Option<String>,
    at: Timestamp,
}

/// Turns what GitHub says of one workflow run into release events.
#[derive(Debug)]
pub struct Translator {
    release: Release,
    capacity: usize,
    /// Run id and attempt: which window this is.
    window: Option<(u64, u32)>,
    /// Whoever runs the console (the token's user): on a gate's approvers
    /// exactly when GitHub says they may review it.
    operator: Option<Person>,
    /// Job id → stage id, in the order the jobs were first seen.
    stages: Vec<(u64, String)>,
    /// What was last said of each job.
    said: BTreeMap<u64, StageState>,
    /// Steps said: job, step number, and whether it was its end.
    steps: BTreeSet<(u64, u32, bool)>,
    /// Environment (gate id) → GitHub's id for it.
    environments: BTreeMap<String, u64>,
    /// Each gate's review as said: the login of its record, or `None` when
    /// it was credited to someone before its record was listed.
    reviewed: BTreeMap<String, Option<String>>,
    /// The reviews on record for each environment while it waited in this
    /// window: a run's reviews cover all its attempts, so these are an
    /// earlier attempt's, not this one's.
    stale: BTreeMap<String, Vec<Approval>>,
    /// Environments that waited with no reviewer (only a wait timer).
    timer_only: BTreeSet<String>,
    /// Lines of each job's log said already.
    logged: BTreeMap<u64, usize>,
    asked: Vec<Asked>,
    /// Jobs in progress at the last look.
    running: Vec<u64>,
    action_required: bool,
    /// The config's freezes, carried in the plan.
    freezes: Vec<crate::model::Freeze>,
}

impl Translator {
    pub fn new(log_capacity: usize) -> Translator {
        Translator {
            release: Release::new("", log_capacity),
            capacity: log_capacity,
            window: None,
            operator: None,
            stages: Vec::new(),
            said: BTreeMap::new(),
            steps: BTreeSet::new(),
            environments: BTreeMap::new(),
            reviewed: BTreeMap::new(),
            stale: BTreeMap::new(),
            timer_only: BTreeSet::new(),
            logged: BTreeMap::new(),
            asked: Vec::new(),
            running: Vec::new(),
            action_required: false,
            freezes: Vec::new(),
        }
    }

    /// The freezes the plan carries: no deployment is approved in one.
    pub fn set_freezes(&mut self, freezes: Vec<crate::model::Freeze>) {
        self.freezes = freezes;
    }

    /// Who runs the console: the user GitHub's `current_user_can_approve`
    /// speaks of. Gates opened after this name them as an approver exactly
    /// when GitHub lets them review, so the engine's policy refuses a
    /// sign-off GitHub would refuse, and says who may give it. Set it
    /// before the first look.
    pub fn set_operator(&mut self, operator: Person) {
        self.operator = Some(operator);
    }

    /// The release as its events so far make it.
    pub fn release(&self) -> &Release {
        &self.release
    }

    /// GitHub's id of the environment a gate stands for (a review names it).
    pub fn environment_id(&self, gate: &str) -> Option<u64> {
        self.environments.get(gate).copied()
    }

    /// The stage a job is on the board as.
    pub fn stage_of(&self, job: u64) -> Option<&str> {
        self.stages
            .iter()
            .find(|(id, _)| *id == job)
            .map(|(_, stage)| stage.as_str())
    }

    /// The job a stage stands for.
    pub fn job_of(&self, stage: &str) -> Option<u64> {
        self.stages
            .iter()
            .find(|(_, s)| s == stage)
            .map(|(id, _)| *id)
    }

    /// The jobs in progress at the last look: whose logs are worth reading.
    pub fn running_jobs(&self) -> Vec<u64> {
        self.running.clone()
    }

    /// An operator's command is on its way to GitHub: the change it makes
    /// (a cancelled run) is theirs.
    pub fn asked(&mut self, command: &Command, now: Timestamp) {
        let reason = match &command.action {
            Action::Rollback { reason } | Action::Pause { reason } => reason.clone(),
            Action::Reject { reason, .. } => Some(reason.clone()),
            _ => None,
        };
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

    /// A command GitHub refused changed nothing: no change is its.
    pub fn refused(&mut self, id: &str) {
        self.asked.retain(|a| a.id != id);
    }

    /// GitHub accepted the dispatch of the rollback workflow `workflow` the
    /// operator's command asked for: the rollback is theirs, started now.
    /// The rollback workflow's own run is not this window's; this run's
    /// end then ends the release rolled back. Nothing when the release has
    /// ended (there is nothing in flight to roll back).
    pub fn rollback_dispatched(
        &mut self,
        command: &Command,
        workflow: &str,
        now: Timestamp,
    ) -> Option<Event> {
        self.window.as_ref()?;
        if !self.release.status().in_flight() || self.release.rollback().is_some() {
            return None;
        }
        let reason = match &command.action {
            Action::Rollback {
                reason: Some(reason),
            } if !reason.trim().is_empty() => {
                format!(
                    "rollback workflow {} dispatched: {}",
                    clip(workflow, 100),
                    clip(reason, 400)
                )
            }
            _ => format!("rollback workflow {} dispatched", clip(workflow, 100)),
        };
        let by = command.operator.clone();
        Some(self.emit(EventKind::RollbackStarted { by, reason }, now))
    }

    /// Who made a change of this kind: the operator who asked for it
    /// lately, if one did.
    fn who(&mut self, kinds: &[CommandKind], now: Timestamp) -> Option<(Person, Option<String>)> {
        self.asked
            .retain(|a| now.duration_since(a.at) <= CREDIT_FOR);
        let i = self.asked.iter().rposition(|a| kinds.contains(&a.what))?;
        let asked = self.asked.remove(i);
        Some((asked.by, asked.reason))
    }

    /// An event of the release's own (a command's verdict, a word from the
    /// source), stamped now.
    pub fn say(&mut self, kind: EventKind, now: Timestamp) -> Option<Event> {
        self.window.as_ref()?;
        Some(self.emit(kind, now))
    }

    /// A log line from the source itself.
    pub fn note(&mut self, level: Level, message: String, now: Timestamp) -> Option<Event> {
        self.say(log(level, SOURCE.into(), None, message), now)
    }

    fn emit(&mut self, kind: EventKind, at: Timestamp) -> Event {
        let at = at.max(self.release.last_at().unwrap_or(at));
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

    /// What GitHub now says of the run, since the last look.
    pub fn observe(&mut self, seen: &Observed, now: Timestamp) -> Vec<Said> {
        let mut said = Vec::new();
        let key = (seen.run.id, seen.run.attempt());
        let mut out = Vec::new();
        if self.window != Some(key) {
            if self.window.is_some() {
                said.push(Said::NewWindow);
            }
            self.start(seen, key, now, &mut out);
        }
        let mut timed = Vec::new();
        self.grow(seen, &mut timed);
        self.jobs(seen, now, &mut timed);
        self.gates(seen, now, &mut timed);
        // GitHub's times, in their order; the plan's growth first of all.
        timed.sort_by_key(|(at, kind)| (!matches!(kind, EventKind::PlanExtended { .. }), *at));
        for (at, kind) in timed {
            out.push(self.emit(kind, at.min(now)));
        }
        self.run_end(seen, now, &mut out);
        self.running = seen
            .jobs
            .iter()
            .filter(|j| j.running())
            .map(|j| j.id)
            .collect();
        if !out.is_empty() {
            said.push(Said::Events(out));
        }
        said
    }

    fn start(&mut self, seen: &Observed, key: (u64, u32), now: Timestamp, out: &mut Vec<Event>) {
        *self = Translator {
            operator: self.operator.take(),
            asked: std::mem::take(&mut self.asked),
            ..Translator::new(self.capacity)
        };
        self.window = Some(key);
        let plan = self.planned(seen);
        let at = seen
            .run
            .run_started_at
            .unwrap_or(seen.run.created_at)
            .min(now);
        out.push(self.emit(
            EventKind::ReleaseStarted {
                plan: Box::new(plan),
            },
            at,
        ));
    }

    /// The first look's plan, with the jobs and gates it names kept.
    fn planned(&mut self, seen: &Observed) -> ReleasePlan {
        let mut plan = base_plan(seen);
        plan.freezes = self.freezes.clone();
        let stages = new_stages(&seen.jobs, &[]);
        self.stages = stages.iter().map(|(job, s)| (*job, s.id.clone())).collect();
        plan.stages = stages.into_iter().map(|(_, s)| s).collect();
        plan.gates = new_gates(seen, &[], self.operator.as_ref());
        for GateOf { stage, gate } in bindings(seen, &self.stages, &plan.stages, &plan.gates) {
            if let Some(s) = plan.stages.iter_mut().find(|s| s.id == stage) {
                s.gate = Some(gate);
            }
        }
        self.remember_environments(seen);
        plan
    }

    fn remember_environments(&mut self, seen: &Observed) {
        let named = seen
            .pending
            .iter()
            .map(|p| &p.environment)
            .chain(seen.approvals.iter().flat_map(|a| &a.environments));
        for env in named {
            self.environments.insert(gate_id(&env.name), env.id);
        }
    }

    /// Jobs that appeared and environments that ask for a review since the
    /// plan was made, and the jobs that now wait on one.
    fn grow(&mut self, seen: &Observed, timed: &mut Vec<(Timestamp, EventKind)>) {
        let Some(plan) = self.release.plan() else {
            return;
        };
        let room = MOST_JOBS.saturating_sub(self.stages.len());
        let fresh: Vec<(u64, StagePlan)> = new_stages(&seen.jobs, &self.stages)
            .into_iter()
            .take(room)
            .collect();
        let gates = new_gates(seen, &plan.gates, self.operator.as_ref());
        self.stages
            .extend(fresh.iter().map(|(job, s)| (*job, s.id.clone())));
        let stages: Vec<StagePlan> = fresh.into_iter().map(|(_, s)| s).collect();
        let all_stages: Vec<StagePlan> = plan.stages.iter().chain(&stages).cloned().collect();
        let all_gates: Vec<GatePlan> = plan.gates.iter().chain(&gates).cloned().collect();
        let gated = bindings(seen, &self.stages, &all_stages, &all_gates);
        self.remember_environments(seen);
        if stages.is_empty() && gates.is_empty() && gated.is_empty() {
            return;
        }
        let at = self.release.last_at().unwrap_or(seen.run.created_at);
        let kind = EventKind::PlanExtended {
            stages,
            gates,
            gated,
        };
        timed.push((at, kind));
    }

    /// Each job's state and steps, where they changed.
    fn jobs(&mut self, seen: &Observed, now: Timestamp, timed: &mut Vec<(Timestamp, EventKind)>) {
        for job in &seen.jobs {
            let Some(stage) = self.stage_of(job.id).map(str::to_string) else {
                continue;
            };
            let last = self.said.get(&job.id).copied();
            let target = self.job_state(job, &stage, timed);
            let started = job.started_at.unwrap_or(now);
            if let Some((state, _)) = &target
                && last != Some(*state)
                && state.is_done()
                && *state != StageState::Skipped
                && last != Some(StageState::Running)
                && job.started_at.is_some()
            {
                timed.push((started, stage_changed(&stage, StageState::Running, None)));
            }
            self.step_lines(job, &stage, now, timed);
            let Some((state, note)) = target else {
                continue;
            };
            if last == Some(state) {
                continue;
            }
            self.said.insert(job.id, state);
            let at = match state {
                StageState::Running => started,
                StageState::Waiting => job.created_at.unwrap_or(now),
                _ => job.completed_at.unwrap_or(now),
            };
            timed.push((at, stage_changed(&stage, state, note)));
        }
    }

    /// Where a job stands as a stage, when GitHub says more than queued.
    /// (`timed` holds this look's growth, not folded yet.)
    fn job_state(
        &self,
        job: &Job,
        stage: &str,
        timed: &[(Timestamp, EventKind)],
    ) -> Option<(StageState, Option<String>)> {
        match job.status() {
            "waiting" => {
                let growing = timed.iter().find_map(|(_, kind)| match kind {
                    EventKind::PlanExtended { gated, .. } => gated
                        .iter()
                        .find(|g| g.stage == stage)
                        .map(|g| g.gate.clone()),
                    _ => None,
                });
                let gate = self
                    .release
                    .plan()
                    .and_then(|p| p.stages.iter().find(|s| s.id == stage))
                    .and_then(|s| s.gate.clone())
                    .or(growing);
                let note = match gate {
                    Some(gate) => format!("waiting for review: {gate}"),
                    None => "waiting for review".into(),
                };
                Some((StageState::Waiting, Some(note)))
            }
            "in_progress" => Some((StageState::Running, None)),
            // Completed without a conclusion yet: GitHub writes it next.
            "completed" if job.conclusion().is_some() => Some(finished(job)),
            _ => None,
        }
    }

    /// A line for each step that started or finished since the last look.
    fn step_lines(
        &mut self,
        job: &Job,
        stage: &str,
        now: Timestamp,
        timed: &mut Vec<(Timestamp, EventKind)>,
    ) {
        let name = clip(&job.name, 60);
        for step in job.steps.iter().take(500) {
            let done = step.status.as_deref() == Some("completed");
            let running = step.status.as_deref() == Some("in_progress");
            if done && self.steps.insert((job.id, step.number, true)) {
                self.steps.insert((job.id, step.number, false));
                let failed = super::types::failed(step.conclusion.as_deref());
                let level = if failed { Level::Error } else { Level::Info };
                let at = step.completed_at.or(step.started_at).unwrap_or(now);
                let kind = log(
                    level,
                    name.clone(),
                    Some(stage.into()),
                    step_done(&name, step),
                );
                timed.push((at, kind));
            } else if running && self.steps.insert((job.id, step.number, false)) {
                let message = format!(
                    "{name}: step {} {} started",
                    step.number,
                    clip(&step.name, 120)
                );
                let at = step.started_at.unwrap_or(now);
                timed.push((
                    at,
                    log(Level::Info, name.clone(), Some(stage.into()), message),
                ));
            }
        }
    }

    /// Each gate opened while its environment waits, and signed or
    /// rejected as the run's review record says.
    ///
    /// GitHub gives no time for a review: a sign-off or rejection is dated
    /// when shipdeck first saw its record. An environment that leaves the
    /// pending list before its record is listed is left as it stands until
    /// the record comes, unless the job that waited on it has started: then
    /// it was approved elsewhere, and is signed by `someone` until the
    /// record names who (a record seen later replaces that sign-off).
    fn gates(&mut self, seen: &Observed, now: Timestamp, timed: &mut Vec<(Timestamp, EventKind)>) {
        let Some(plan) = self.release.plan() else {
            return;
        };
        let mut ids: Vec<String> = plan.gates.iter().map(|g| g.id.clone()).collect();
        // Gates added by this look's growth are not folded yet.
        for (_, kind) in timed.iter() {
            if let EventKind::PlanExtended { gates, .. } = kind {
                ids.extend(gates.iter().map(|g| g.id.clone()));
            }
        }
        for id in ids {
            let state = self.release.gate(&id).map(|g| g.state);
            let waiting = seen
                .pending
                .iter()
                .find(|p| gate_id(&p.environment.name) == id);
            if let Some(p) = waiting
                && matches!(state, None | Some(GateState::Pending))
            {
                let at = p.wait_timer_started_at.unwrap_or(now);
                timed.push((at, gate_changed(&id, GateState::Open, Vec::new(), None)));
            }
            let records: Vec<&Approval> = seen
                .approvals
                .iter()
                .filter(|a| a.environments.iter().any(|e| gate_id(&e.name) == id))
                .collect();
            if let Some(p) = waiting {
                // Waiting now: whatever is on record came before.
                self.stale
                    .insert(id.clone(), records.into_iter().cloned().collect());
                if p.reviewers.is_empty() {
                    self.timer_only.insert(id.clone());
                }
                continue;
            }
            let record = fresh(&records, self.stale.get(&id));
            // GitHub gives a review no time: it came before the job it let
            // go started, if that has started.
            // (Never before what was last said: the gate was open then.)
            let at = self
                .gated_job_start(seen, &id)
                .map_or(now, |t| t.min(now))
                .max(self.release.last_at().unwrap_or(now).min(now));
            match record {
                Some(a) => self.reviewed_by(&id, a, at, timed),
                None if waiting.is_none() && state == Some(GateState::Open) => {
                    self.approved_elsewhere(seen, &id, now, timed)
                }
                None => {}
            }
        }
    }

    fn reviewed_by(
        &mut self,
        id: &str,
        a: &Approval,
        now: Timestamp,
        timed: &mut Vec<(Timestamp, EventKind)>,
    ) {
        let login = clip(&a.user.login, MAX_NAME);
        if self.reviewed.get(id) == Some(&Some(login.clone())) {
            return;
        }
        self.reviewed.insert(id.to_string(), Some(login.clone()));
        let operator = person_or_someone(&login);
        let comment = a
            .comment
            .as_deref()
            .map(|c| clip(c.trim(), 400))
            .filter(|c| !c.is_empty());
        let kind = if a.approved() {
            let signoff = SignOff {
                operator,
                at: now,
                comment,
            };
            gate_changed(id, GateState::Approved, vec![signoff], None)
        } else {
            let rejection = Rejection {
                operator,
                at: now,
                reason: comment.unwrap_or_else(|| "rejected on GitHub".into()),
            };
            gate_changed(id, GateState::Rejected, Vec::new(), Some(rejection))
        };
        timed.push((now, kind));
    }

    /// When the job waiting on gate `id` started, if it has.
    fn gated_job_start(&self, seen: &Observed, id: &str) -> Option<Timestamp> {
        let stage = self
            .release
            .stages()
            .iter()
            .find(|s| s.plan.gate.as_deref() == Some(id))?;
        let job = self.job_of(&stage.plan.id)?;
        seen.jobs.iter().find(|j| j.id == job)?.started_at
    }

    fn approved_elsewhere(
        &mut self,
        seen: &Observed,
        id: &str,
        now: Timestamp,
        timed: &mut Vec<(Timestamp, EventKind)>,
    ) {
        if self.reviewed.contains_key(id) {
            return;
        }
        let stage = self
            .release
            .stages()
            .iter()
            .find(|s| s.plan.gate.as_deref() == Some(id))
            .map(|s| s.plan.id.clone());
        let job = stage.and_then(|s| self.job_of(&s));
        let went_on = seen.jobs.iter().any(|j| {
            Some(j.id) == job
                && (j.running() || (j.completed() && j.conclusion() == Some("success")))
        });
        if !went_on {
            return;
        }
        self.reviewed.insert(id.to_string(), None);
        // An environment with no reviewer is let through by its wait timer:
        // GitHub's doing, and no review record will come.
        let signoff = match self.timer_only.contains(id) {
            true => SignOff {
                operator: Person::own(GITHUB),
                at: now,
                comment: Some("its wait timer ran out".into()),
            },
            false => SignOff {
                operator: Person::own(SOMEONE),
                at: now,
                comment: Some("approved on GitHub (no review record yet)".into()),
            },
        };
        timed.push((
            now,
            gate_changed(id, GateState::Approved, vec![signoff], None),
        ));
    }

    /// The run's end, once GitHub says it has completed.
    fn run_end(&mut self, seen: &Observed, now: Timestamp, out: &mut Vec<Event>) {
        if self.release.status().is_final() {
            return;
        }
        let run = &seen.run;
        if run.conclusion() == Some("action_required") {
            if !self.action_required {
                self.action_required = true;
                let line = format!(
                    "run #{} needs a maintainer's approval on GitHub before it runs (action_required)",
                    run.run_number
                );
                out.extend(self.note(Level::Warn, line, now));
            }
            return;
        }
        if !run.completed() {
            return;
        }
        let at = run.updated_at.min(now);
        let conclusion = clip(run.conclusion().unwrap_or("unknown"), 40);
        let outcome = match conclusion.as_str() {
            "success" | "neutral" => Outcome::Succeeded,
            c if super::types::failed(Some(c)) => Outcome::Failed,
            _ => Outcome::Aborted,
        };
        let level = match outcome {
            Outcome::Succeeded => Level::Info,
            _ => Level::Error,
        };
        let line = format!("run #{} completed: {conclusion}", run.run_number);
        out.extend(self.note(level, line, at));
        let outcome = if self.release.status() == Status::RollingBack {
            out.push(self.emit(EventKind::RollbackFinished {}, at));
            Outcome::RolledBack
        } else {
            outcome
        };
        if conclusion == "cancelled"
            && outcome == Outcome::Aborted
            && let Some((by, reason)) = self.who(&[CommandKind::Rollback], now)
        {
            let reason = reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "cancelled the run".into());
            out.push(self.emit(EventKind::ReleaseStopped { by, reason }, at));
        }
        out.push(self.emit(EventKind::ReleaseFinished { outcome }, at));
    }

    /// The new lines of a job's log. GitHub sends the whole log each time
    /// (`2020-01-20T17:42:40.1234567Z message` a line): the lines past
    /// those said before are said, each at its own time, at most
    /// [`MOST_LINES`] a call (the earlier of more are counted in one line).
    pub fn job_log(&mut self, job: &Job, text: &str, now: Timestamp) -> Vec<Event> {
        if self.window.is_none() {
            return Vec::new();
        }
        let lines: Vec<&str> = text.lines().collect();
        let done = self.logged.get(&job.id).copied().unwrap_or(0);
        self.logged.insert(job.id, lines.len());
        let Some(fresh) = lines.get(done..).filter(|f| !f.is_empty()) else {
            return Vec::new();
        };
        let source = clip(&job.name, 60);
        let stage = self.stage_of(job.id).map(str::to_string);
        let skip = fresh.len().saturating_sub(MOST_LINES);
        let mut out = Vec::new();
        if skip > 0 {
            let message = format!("{skip} earlier lines of this log skipped (GitHub has them all)");
            let kind = log(Level::Warn, source.clone(), stage.clone(), message);
            out.push(self.emit(kind, now));
        }
        for line in &fresh[skip..] {
            let Some((at, level, message)) = log_line(line) else {
                continue;
            };
            let kind = log(level, source.clone(), stage.clone(), message);
            out.push(self.emit(kind, at.unwrap_or(now).min(now)));
        }
        out
    }
}

/// One line of a job's log: its time, level and message, or nothing for a
/// line that says nothing (`##[endgroup]`, blank).
fn log_line(line: &str) -> Option<(Option<Timestamp>, Level, String)> {
    let line = line.trim_start_matches('\u{feff}').trim_end();
    let (at, rest) = match line.split_once(' ') {
        Some((stamp, rest)) => match stamp.parse::<Timestamp>() {
            Ok(at) => (Some(at), rest),
            Err(_) => (None, line),
        },
        None => match line.parse::<Timestamp>() {
            Ok(at) => (Some(at), ""),
            Err(_) => (None, line),
        },
    };
    let (level, message) = if let Some(m) = rest.strip_prefix("##[error]") {
        (Level::Error, m.to_string())
    } else if let Some(m) = rest.strip_prefix("##[warning]") {
        (Level::Warn, m.to_string())
    } else if let Some(m) = rest.strip_prefix("##[group]") {
        (Level::Info, format!("▸ {m}"))
    } else if rest.starts_with("##[endgroup]") {
        return None;
    } else if let Some(m) = rest.strip_prefix("##[debug]") {
        (Level::Debug, m.to_string())
    } else if let Some(m) = rest.strip_prefix("##[notice]") {
        (Level::Info, m.to_string())
    } else {
        (Level::Info, rest.to_string())
    };
    let message = clip(&message, LINE);
    (!message.trim().is_empty()).then_some((at, level, message))
}

/// A finished step's line: `build: step 3 Run tests ✓ 12s`.
fn step_done(job: &str, step: &JobStep) -> String {
    let icon = step_icon(step.conclusion.as_deref());
    let took = match (step.started_at, step.completed_at) {
        (Some(from), Some(to)) => format!(" {}", format_duration(to.duration_since(from))),
        _ => String::new(),
    };
    format!(
        "{job}: step {} {} {icon}{took}",
        step.number,
        clip(&step.name, 120)
    )
}

/// The icon of a step's or job's conclusion.
pub fn step_icon(conclusion: Option<&str>) -> &'static str {
    match conclusion {
        Some("success") => "✓",
        c if super::types::failed(c) => "✗",
        Some("cancelled" | "skipped" | "neutral") => "⊘",
        _ => "●",
    }
}

/// A completed job as a stage's end, with the step it failed at.
fn finished(job: &Job) -> (StageState, Option<String>) {
    match job.conclusion().unwrap_or("") {
        "success" => (StageState::Succeeded, None),
        c if super::types::failed(Some(c)) => {
            let step = job
                .steps
                .iter()
                .find(|s| super::types::failed(s.conclusion.as_deref()));
            let note = match step {
                Some(s) => format!("step {} {} failed", s.number, clip(&s.name, 120)),
                None => format!("the job ended: {}", clip(c, 40)),
            };
            (StageState::Failed, Some(note))
        }
        "cancelled" => (StageState::Cancelled, Some("cancelled".into())),
        "skipped" | "neutral" => (StageState::Skipped, None),
        other => (
            StageState::Failed,
            Some(format!("the job ended: {}", clip(other, 40))),
        ),
    }
}

fn stage_changed(stage: &str, state: StageState, note: Option<String>) -> EventKind {
    EventKind::StageChanged {
        stage: stage.into(),
        state,
        note,
    }
}

fn gate_changed(
    gate: &str,
    state: GateState,
    signoffs: Vec<SignOff>,
    rejection: Option<Rejection>,
) -> EventKind {
    EventKind::GateChanged {
        gate: gate.into(),
        state,
        signoffs,
        rejection,
    }
}

fn log(level: Level, source: String, stage: Option<String>, message: String) -> EventKind {
    EventKind::Log {
        level,
        source,
        stage,
        message,
    }
}

/// The latest of an environment's reviews that is not among those on
/// record while it waited (an earlier attempt's).
fn fresh<'a>(records: &[&'a Approval], stale: Option<&Vec<Approval>>) -> Option<&'a Approval> {
    let mut stale: Vec<&Approval> = stale.map(|s| s.iter().collect()).unwrap_or_default();
    let mut found = None;
    for record in records {
        match stale.iter().position(|s| *s == *record) {
            Some(i) => {
                stale.remove(i);
            }
            None => found = Some(*record),
        }
    }
    found
}

/// The release id of a run: `octo-org/octo-repo/actions/runs/30433642`, as
/// the run's address on GitHub reads. One id for every attempt of the run
/// (a server routes by it); the attempt is part of the version.
pub fn release_id(repo: &str, run_id: u64) -> String {
    clip(&format!("{repo}/actions/runs/{run_id}"), 200)
}

/// The run's repository, `owner/repo`: its `repository`, else read from
/// its address.
pub fn repo_of(run: &Run) -> String {
    if let Some(repo) = &run.repository
        && !repo.full_name.is_empty()
    {
        return repo.full_name.clone();
    }
    let path = run
        .html_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, path)| path);
    let mut parts = path.unwrap_or("").split('/');
    match (parts.next(), parts.next()) {
        (Some(owner), Some(repo)) if !owner.is_empty() && !repo.is_empty() => {
            format!("{owner}/{repo}")
        }
        _ => "owner/repo".into(),
    }
}

/// A person of a GitHub login, or `someone` for a login no person can have
/// in shipdeck (one of its own names, an invisible character).
pub fn person_or_someone(login: &str) -> Person {
    Person::new(&clip(login, MAX_NAME)).unwrap_or_else(|_| Person::own(SOMEONE))
}

/// The gate id of an environment: its name, cleaned.
pub fn gate_id(environment: &str) -> String {
    clip(environment, 100)
}

/// The plan of a run as first seen: its jobs as stages, in GitHub's order,
/// and the environments waiting for (or given) a review as gates.
pub fn plan(seen: &Observed) -> ReleasePlan {
    let mut t = Translator::new(0);
    t.planned(seen)
}

/// The plan without stages and gates: who, what, where.
fn base_plan(seen: &Observed) -> ReleasePlan {
    let run = &seen.run;
    let repo = repo_of(run);
    let service = run
        .repository
        .as_ref()
        .map(|r| r.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or("repo").to_string());
    let branch = run.head_branch.as_deref().unwrap_or("detached");
    let version_to = format!(
        "{} ({}, run #{} attempt {})",
        run.short_sha(),
        branch,
        run.run_number,
        run.attempt()
    );
    let mut environments: Vec<String> = Vec::new();
    let named = seen
        .pending
        .iter()
        .map(|p| &p.environment)
        .chain(seen.approvals.iter().flat_map(|a| &a.environments));
    for env in named {
        if !environments.contains(&env.name) {
            environments.push(env.name.clone());
        }
    }
    let environment = if environments.is_empty() {
        run.name.clone().unwrap_or_else(|| "workflow".into())
    } else {
        environments.join(", ")
    };
    let deployer = run
        .triggering_actor
        .as_ref()
        .or(run.actor.as_ref())
        .map(|u| person_or_someone(&u.login))
        .unwrap_or_else(|| Person::own(SOMEONE));
    ReleasePlan {
        id: release_id(&repo, run.id),
        service: clip(&service, 100),
        version_from: String::new(),
        version_to: clip(&version_to, 140),
        environment: clip(&environment, 63),
        deployer,
        strategy: Strategy::Canary { steps: Vec::new() },
        steps: Vec::new(),
        stages: Vec::new(),
        gates: Vec::new(),
        checklists: Vec::new(),
        rules: Vec::new(),
        rollback_checklist: None,
        window: None,
        decided_by: Some(GITHUB.into()),
        freezes: Vec::new(),
    }
}

/// Stages for the jobs not known yet, each with an id of its own.
fn new_stages(jobs: &[Job], known: &[(u64, String)]) -> Vec<(u64, StagePlan)> {
    let mut taken: BTreeSet<String> = known.iter().map(|(_, id)| id.clone()).collect();
    let mut out: Vec<(u64, StagePlan)> = Vec::new();
    for job in jobs {
        if out.len() + known.len() >= MOST_JOBS {
            break;
        }
        if known.iter().any(|(j, _)| *j == job.id) || out.iter().any(|(j, _)| *j == job.id) {
            continue;
        }
        let id = unique(slug(&job.name), &mut taken);
        let stage = StagePlan {
            id,
            name: clip(&job.name, 60),
            kind: kind_of(&job.name),
            expected: None,
            gate: None,
            checklist: None,
        };
        out.push((job.id, stage));
    }
    out
}

/// `Deploy to production` as `deploy-to-production`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "job".into() } else { out }
}

/// `id`, or `id-2`, `id-3`, … when it is taken.
fn unique(id: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{id}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// What a job's name says it does.
fn kind_of(name: &str) -> StageKind {
    let name = name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["build", "compile"]) {
        StageKind::Build
    } else if has(&["test", "lint", "check"]) {
        StageKind::Test
    } else if has(&["deploy", "release", "publish"]) {
        StageKind::Deploy
    } else if has(&["verify", "smoke"]) {
        StageKind::Verification
    } else {
        StageKind::Build
    }
}

/// Gates for the environments waiting for a review, or reviewed, that the
/// plan does not have yet.
fn new_gates(seen: &Observed, known: &[GatePlan], operator: Option<&Person>) -> Vec<GatePlan> {
    let mut out: Vec<GatePlan> = Vec::new();
    let has = |out: &[GatePlan], id: &str| known.iter().chain(out).any(|g| g.id == id);
    for p in &seen.pending {
        let id = gate_id(&p.environment.name);
        if !has(&out, &id) {
            out.push(gate_plan(p, operator));
        }
    }
    for a in &seen.approvals {
        for env in &a.environments {
            let id = gate_id(&env.name);
            if has(&out, &id) {
                continue;
            }
            out.push(GatePlan {
                name: id.clone(),
                id,
                required: 1,
                approvers: Approvers::Named(vec![person_or_someone(&a.user.login)]),
                self_approval: true,
            });
        }
    }
    out
}

/// An environment's gate: one review from any of its reviewers (users and
/// teams, `@org/slug`), with the operator on the list exactly when GitHub
/// says they may review it. GitHub decides self-review itself.
fn gate_plan(p: &PendingDeployment, operator: Option<&Person>) -> GatePlan {
    let mut approvers: Vec<Person> = Vec::new();
    for reviewer in p.reviewers.iter().take(50) {
        if let Ok(person) = Person::new(&clip(&reviewer.handle(), MAX_NAME))
            && !approvers.contains(&person)
        {
            approvers.push(person);
        }
    }
    if let Some(me) = operator {
        if p.current_user_can_approve {
            if !approvers.contains(me) {
                approvers.push(me.clone());
            }
        } else {
            approvers.retain(|a| a != me);
        }
    }
    let id = gate_id(&p.environment.name);
    GatePlan {
        name: id.clone(),
        id,
        required: 1,
        approvers: Approvers::Named(approvers),
        self_approval: true,
    }
}

/// The jobs that wait on the gates not bound yet: the waiting job whose
/// name mentions the environment, else the first waiting job without one.
fn bindings(
    seen: &Observed,
    jobs: &[(u64, String)],
    stages: &[StagePlan],
    gates: &[GatePlan],
) -> Vec<GateOf> {
    let mut out: Vec<GateOf> = Vec::new();
    let gate_bound = |out: &[GateOf], gate: &str| {
        stages.iter().any(|s| s.gate.as_deref() == Some(gate)) || out.iter().any(|g| g.gate == gate)
    };
    let stage_gated = |out: &[GateOf], stage: &str| {
        stages.iter().any(|s| s.id == stage && s.gate.is_some())
            || out.iter().any(|g| g.stage == stage)
    };
    for p in &seen.pending {
        let gate = gate_id(&p.environment.name);
        if !gates.iter().any(|g| g.id == gate) || gate_bound(&out, &gate) {
            continue;
        }
        let free: Vec<(&Job, &String)> = seen
            .jobs
            .iter()
            .filter(|j| j.status() == "waiting")
            .filter_map(|j| jobs.iter().find(|(id, _)| *id == j.id).map(|(_, s)| (j, s)))
            .filter(|(_, s)| !stage_gated(&out, s))
            .collect();
        let name = p.environment.name.to_lowercase();
        let pick = free
            .iter()
            .find(|(j, _)| j.name.to_lowercase().contains(&name))
            .or(free.first());
        if let Some((_, stage)) = pick {
            out.push(GateOf {
                stage: stage.to_string(),
                gate,
            });
        }
    }
    out
}
