//! The embedded simulator: plays a scenario on a virtual clock.
//!
//! The simulator is a discrete-event machine. It keeps a queue of scheduled
//! work (stage work finishing, log lines, metric samples, scripted actors,
//! the autopilot) and an [`Engine`] that owns the release. It never sleeps
//! and never reads the wall clock: a driver asks when the next thing is due
//! ([`Simulator::next_due`]) and moves virtual time there
//! ([`Simulator::advance_to`]), pacing itself by a speed factor if it likes.
//! Same scenario, same seed, same events.

mod autopilot;
pub mod bundled;
mod logs;
pub mod scenario;
mod traffic;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use jiff::{SignedDuration, Timestamp};

use crate::engine::{Engine, Verdict};
use crate::model::time::{self, Saturating, scaled};
use crate::model::{
    Action, Cohort, Command, Event, EventKind, Level, MetricPoint, Person, Release, Series,
    StageKind, StageState, StepKind, Strategy,
};

pub use scenario::{Problem, Scenario};

pub use crate::model::names::{AUTOMATION, AUTOPILOT};

/// The autopilot's n-th virtual reviewer (from 0): `autopilot`,
/// `autopilot-2`, … — for gates that need more distinct sign-offs than the
/// scenario's people give. Names no person can take.
pub fn autopilot_name(n: usize) -> Person {
    if n == 0 {
        Person::own(AUTOPILOT)
    } else {
        Person::own(&format!("{AUTOPILOT}-{}", n + 1))
    }
}

/// Where a scripted actor is in its story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActorState {
    /// Its trigger has not fired.
    Waiting,
    /// It will act at a known time.
    Scheduled,
    Done,
}

/// How to play a scenario.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    /// Add a virtual operator that signs gates, advances pauses and ticks
    /// manual checklist items.
    pub autopilot: bool,
    /// Where virtual time starts; the scenario's window start by default.
    pub origin: Option<Timestamp>,
    pub log_capacity: usize,
    /// The release's metrics come from elsewhere (a Prometheus): the
    /// simulator still runs the service's traffic, but its rules judge only
    /// what [`Simulator::observe`] is given.
    pub external_metrics: bool,
    /// Keep the service's traffic for [`Simulator::take_traffic`] (what
    /// `shipdeck serve` exports at `/metrics`).
    pub keep_traffic: bool,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            seed: 1,
            autopilot: false,
            origin: None,
            log_capacity: crate::model::DEFAULT_LOG_CAPACITY,
            external_metrics: false,
            keep_traffic: false,
        }
    }
}

/// The most jobs and events the simulator does at one moment of virtual
/// time: far more than any scenario asks for at once, far less than would
/// hurt. More stops it ([`Simulator::halted`]).
pub const MAX_AT_ONE_MOMENT: usize = 100_000;

/// The source of the simulator's own word in the release's log.
const SIMULATOR: &str = "simulator";

/// Why the simulator stops at the end of the time it can keep.
fn past_the_latest() -> String {
    format!(
        "its clock would pass {}, the latest time shipdeck keeps",
        time::LATEST
    )
}

/// `d` times `k / n`, exactly where it can be.
fn share(d: SignedDuration, k: usize, n: usize) -> SignedDuration {
    let (Ok(k32), Ok(n32)) = (i32::try_from(k), i32::try_from(n.max(1))) else {
        return scaled(d, k as f64 / n.max(1) as f64);
    };
    d.checked_mul(k32)
        .map_or_else(|| scaled(d, k as f64 / n.max(1) as f64), |dk| dk / n32)
}

/// A time used when a scenario has no window and no origin was given.
const DEFAULT_ORIGIN: &str = "2026-01-01T09:00:00Z";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Job {
    WorkDone {
        stage: String,
        attempt: u32,
    },
    WorkFailed {
        stage: String,
        attempt: u32,
        reason: String,
    },
    Log {
        level: Level,
        source: String,
        stage: Option<String>,
        message: String,
    },
    MetricTick,
    AutoCheck {
        list: String,
        item: String,
    },
    Actor {
        index: usize,
    },
    Autopilot {
        action: ActionKey,
    },
    RollbackDone,
    WindowWarning {
        closed: bool,
    },
}

impl Job {
    /// Whether this job can change where the release stands (rather than
    /// only add metrics and logs).
    fn moves_the_release(&self) -> bool {
        !matches!(
            self,
            Job::Log { .. } | Job::MetricTick | Job::WindowWarning { .. }
        )
    }
}

/// An action the autopilot plans, kept orderable for the queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum ActionKey {
    Approve { gate: String, signer: Person },
    Advance,
    Check { list: String, item: String },
    Retry { stage: String },
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: Timestamp,
    order: u64,
    job: Job,
}

/// A running incident: a series of a cohort moving towards a value.
#[derive(Debug, Clone)]
struct ActiveIncident {
    index: usize,
    since: Timestamp,
}

/// Plays one scenario.
pub struct Simulator {
    scenario: Scenario,
    engine: Engine,
    rng: fastrand::Rng,
    now: Timestamp,
    origin: Timestamp,
    queue: BinaryHeap<Reverse<Scheduled>>,
    order: u64,
    attempts: std::collections::BTreeMap<String, u32>,
    /// Stages and steps whose triggers have fired (first start only).
    triggered: BTreeSet<String>,
    incidents: Vec<ActiveIncident>,
    actors: Vec<ActorState>,
    autopilot: Option<autopilot::Autopilot>,
    commands: u64,
    started: bool,
    external_metrics: bool,
    /// A live reading came: history is no longer taken (a window taken up
    /// again has its history already, and the source reads it again).
    observed: bool,
    /// The service's traffic since it was last taken (when kept).
    traffic: Option<Vec<MetricPoint>>,
    /// The moment of virtual time work was last done at, and how much.
    moment: (Timestamp, usize),
    /// Why the simulator stopped, if it did.
    halted: Option<String>,
}

impl Simulator {
    pub fn new(mut scenario: Scenario, options: SimOptions) -> Simulator {
        let origin = options
            .origin
            .or(scenario.plan.window.map(|w| w.start))
            .unwrap_or_else(|| DEFAULT_ORIGIN.parse().expect("valid default origin"));
        if options.autopilot {
            // The autopilot stands in for operators, so it must be allowed to
            // sign; saying so in the plan keeps the record honest.
            for gate in &mut scenario.plan.gates {
                if let crate::model::Approvers::Named(names) = &mut gate.approvers {
                    for n in 0..gate.required as usize {
                        let name = autopilot_name(n);
                        if !names.contains(&name) {
                            names.push(name);
                        }
                    }
                }
            }
        }
        if let (Some(start), Some(window)) = (options.origin, scenario.plan.window.as_mut()) {
            // An explicit start moves the whole window: it opens when the run does.
            window.start = start;
        }
        let engine = Engine::new(scenario.plan.clone(), options.log_capacity);
        let actors = scenario.script.actors.len();
        Simulator {
            scenario,
            engine,
            rng: fastrand::Rng::with_seed(options.seed),
            now: origin,
            origin,
            queue: BinaryHeap::new(),
            order: 0,
            attempts: Default::default(),
            triggered: BTreeSet::new(),
            incidents: Vec::new(),
            actors: vec![ActorState::Waiting; actors],
            autopilot: options.autopilot.then(autopilot::Autopilot::default),
            commands: 0,
            started: false,
            external_metrics: options.external_metrics,
            observed: false,
            traffic: options.keep_traffic.then(Vec::new),
            moment: (origin, 0),
            halted: None,
        }
    }

    /// The release as the simulator's events describe it.
    pub fn release(&self) -> &Release {
        self.engine.release()
    }

    /// Virtual time now.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Where virtual time started.
    pub fn origin(&self) -> Timestamp {
        self.origin
    }

    pub fn is_finished(&self) -> bool {
        self.release().status.is_final()
    }

    /// Starts the release; returns its first events.
    pub fn start(&mut self) -> Vec<Event> {
        if self.started {
            return Vec::new();
        }
        self.started = true;
        self.engine.start(self.now);
        self.schedule(SignedDuration::ZERO, Job::MetricTick);
        let timed: Vec<(usize, SignedDuration)> = self
            .scenario
            .script
            .actors
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a.when {
                scenario::Trigger::Elapsed(after) => Some((i, after)),
                _ => None,
            })
            .collect();
        for (index, after) in timed {
            self.schedule(after, Job::Actor { index });
        }
        let origin = self.origin;
        self.trigger_incidents(|t| matches!(t, scenario::Trigger::Elapsed(_)), origin);
        if let Some(window) = self.scenario.plan.window {
            let warn = window.end().minus(SignedDuration::from_mins(15));
            if warn > self.now {
                self.schedule_at(warn, Job::WindowWarning { closed: false });
            }
            if window.end() > self.now {
                self.schedule_at(window.end(), Job::WindowWarning { closed: true });
            }
        }
        self.collect()
    }

    /// When something is next due, or `None` once the release has finished.
    pub fn next_due(&self) -> Option<Timestamp> {
        if self.is_finished() || !self.started || self.halted.is_some() {
            return None;
        }
        let queued = self.queue.peek().map(|Reverse(s)| s.at);
        match (queued, self.engine.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the release can only go on if a person acts: it is in
    /// flight, no work is scheduled, and no timer runs — only metrics and
    /// logs would keep coming.
    pub fn stalled(&self) -> bool {
        self.started
            && self.halted.is_none()
            && self.release().status.in_flight()
            && self.engine.next_deadline().is_none()
            && !self
                .queue
                .iter()
                .any(|Reverse(s)| s.job.moves_the_release())
    }

    /// Moves virtual time to `until`, doing everything due on the way.
    /// Work that would take the clock past [`time::LATEST`], or more than
    /// [`MAX_AT_ONE_MOMENT`] jobs and events at one moment, stops the
    /// simulator instead (see [`Simulator::halted`]).
    pub fn advance_to(&mut self, until: Timestamp) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(due) = self.next_due() {
            if due > until {
                break;
            } else if due > time::LATEST {
                self.halt(past_the_latest());
            } else {
                self.now = self.now.max(due);
                self.engine.tick(self.now);
                self.run_due(&mut events);
            }
            let more = self.collect();
            self.count_at_this_moment(1 + more.len());
            events.extend(more);
        }
        self.now = self.now.max(until.min(time::LATEST));
        events
    }

    /// Runs every job due by now.
    fn run_due(&mut self, events: &mut Vec<Event>) {
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at > self.now || self.is_finished() {
                break;
            }
            let Some(Reverse(next)) = self.queue.pop() else {
                break;
            };
            self.run(next.job);
            let more = self.collect();
            self.count_at_this_moment(1 + more.len());
            events.extend(more);
        }
    }

    /// Counts work done at this moment of virtual time; too much of it
    /// stops the simulator, so that no scenario can make it work without
    /// end while its clock stands.
    fn count_at_this_moment(&mut self, work: usize) {
        if self.moment.0 != self.now {
            self.moment = (self.now, 0);
        }
        self.moment.1 = self.moment.1.saturating_add(work);
        if self.moment.1 > MAX_AT_ONE_MOMENT {
            let at = self.now.strftime("%Y-%m-%d %H:%M:%S");
            self.halt(format!(
                "more than {MAX_AT_ONE_MOMENT} jobs and events fell due at {at} while its clock stood"
            ));
        }
    }

    /// Stops the simulator for good, saying why in the release's log.
    fn halt(&mut self, why: String) {
        if self.halted.is_some() {
            return;
        }
        self.queue.clear();
        let message = format!("the simulator stopped: {why}");
        self.engine
            .log(Level::Error, SIMULATOR, None, message, self.now);
        self.halted = Some(why);
    }

    /// Why the simulator stopped before the release finished, if it did:
    /// nothing more is due, and the release stays where it stands.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// A sample of the release's metrics from outside (a Prometheus), taken
    /// now: the rules watching it judge it. Only with
    /// [`SimOptions::external_metrics`]; ignored otherwise.
    pub fn observe(&mut self, series: Series, cohort: Cohort, value: f64) -> Vec<Event> {
        if !self.external_metrics || !self.started || self.is_finished() {
            return Vec::new();
        }
        self.observed = true;
        self.engine.observe(series, cohort, value, self.now);
        self.collect()
    }

    /// Samples from before the window opened (a Prometheus's history) of the
    /// stable version and the whole service: they are shown, stamped with
    /// their own time, and no rule judges them.
    /// Samples from the window's own time are left to [`Simulator::observe`],
    /// and once it has been given one, history is not taken any more.
    pub fn backfill(&mut self, samples: &[MetricPoint]) -> Vec<Event> {
        if !self.external_metrics || !self.started || self.observed {
            return Vec::new();
        }
        // Taken once: a source asked again (after a restart) is not.
        self.observed = true;
        // A canary from before this window is another release's: only the
        // stable version's history is this one's baseline.
        for sample in samples
            .iter()
            .filter(|s| s.at < self.origin && s.cohort != Cohort::Canary)
        {
            self.engine
                .backfill(sample.series, sample.cohort, sample.value, sample.at);
        }
        self.collect()
    }

    /// What the metrics source says about itself, in the release's log,
    /// stamped now. An error (nothing answers) pauses a rollout in progress,
    /// in the source's name: nothing judges the canary, so it does not go
    /// on (as Flagger halts). When the source answers again (`Info`), a
    /// rollout it paused resumes; one an operator paused stays paused.
    pub fn metrics_said(&mut self, level: Level, source: &str, message: String) -> Vec<Event> {
        if !self.started || self.is_finished() {
            return Vec::new();
        }
        let stage = self.release().current_stage().map(|s| s.plan.id.clone());
        self.engine
            .log(level, source, stage.as_deref(), message, self.now);
        let release = self.engine.release();
        let rolling = release
            .rollout_stage()
            .is_some_and(|s| s.state == StageState::Running);
        let paused_by = release.paused_by.clone();
        let action = match level {
            Level::Error if rolling && paused_by.is_none() => Some(Action::Pause {
                reason: Some(format!(
                    "{source} gives no metrics: nothing judges the new version; resumed when {source} answers again"
                )),
            }),
            Level::Info if paused_by.is_some_and(|by| by == source) => Some(Action::Resume),
            _ => None,
        };
        if let Some(action) = action {
            let id = self.next_command_id(source);
            let source = Person::own(source);
            self.engine.act(Command::new(id, source, action), self.now);
        }
        self.collect()
    }

    /// The service's traffic since the last call (empty unless kept).
    pub fn take_traffic(&mut self) -> Vec<MetricPoint> {
        self.traffic
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Whether the release's metrics come from elsewhere.
    pub fn external_metrics(&self) -> bool {
        self.external_metrics
    }

    /// An operator's command, given now.
    /// A command in one of shipdeck's own names (`rule:…`, `autopilot`)
    /// is refused: no person acts as shipdeck.
    pub fn submit(&mut self, command: Command) -> (Verdict, Vec<Event>) {
        let verdict = self.engine.handle(command, self.now);
        (verdict, self.collect())
    }

    /// Schedules `job` to run `after` from now.
    fn schedule(&mut self, after: SignedDuration, job: Job) {
        match self.now.checked_add(after) {
            Ok(at) => self.schedule_at(at, job),
            Err(_) => self.halt(past_the_latest()),
        }
    }

    fn schedule_at(&mut self, at: Timestamp, job: Job) {
        if self.halted.is_some() {
            return;
        }
        if let Job::Actor { index } = job {
            self.actors[index] = ActorState::Scheduled;
        }
        // Whole seconds: what a person reads, and what a log would stamp.
        let at = at.round(jiff::Unit::Second).unwrap_or(at).max(self.now);
        self.order += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            order: self.order,
            job,
        }));
    }

    fn next_command_id(&mut self, who: &str) -> String {
        self.commands += 1;
        format!("sim-{who}-{}", self.commands)
    }

    /// Takes the engine's new events and reacts to them.
    fn collect(&mut self) -> Vec<Event> {
        let mut all = Vec::new();
        loop {
            let events = self.engine.take_events();
            if events.is_empty() {
                break;
            }
            for event in &events {
                self.react(event);
            }
            all.extend(events);
            if let Some(mut pilot) = self.autopilot.take() {
                let planned = pilot.plan(self.engine.release(), &self.scenario, &self.actors);
                self.autopilot = Some(pilot);
                for (delay, action) in planned {
                    self.schedule(delay, Job::Autopilot { action });
                }
            }
        }
        if self.is_finished() {
            self.queue.clear();
        }
        all
    }

    fn context_lines(&mut self, kind: StageKind) -> Vec<logs::Scripted> {
        let plan = &self.scenario.plan;
        let ctx = logs::Context {
            service: &plan.service,
            version: &plan.version_to,
            previous: &plan.version_from,
            environment: if kind == StageKind::Deploy {
                "staging"
            } else {
                &plan.environment
            },
        };
        logs::stage_lines(kind, &ctx, &mut self.rng)
    }

    fn react(&mut self, event: &Event) {
        match &event.kind {
            EventKind::StageChanged {
                stage,
                state: StageState::Running,
                ..
            } => self.stage_started(stage),
            EventKind::CanaryStep { step, weight, .. }
                if self.triggered.insert(format!("step:{step}")) =>
            {
                self.step_started(*step, *weight);
            }
            EventKind::RollbackStarted { .. } => self.rollback_started(),
            _ => {}
        }
    }

    fn stage_started(&mut self, id: &str) {
        let Some(stage) = self.release().stage(id).cloned() else {
            return;
        };
        let attempt = {
            let n = self.attempts.entry(id.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let script = self.scenario.script.stages.get(id).cloned();
        let kind = stage.plan.kind;
        // Automatic checklist items run while the stage works.
        let duration = match &script {
            Some(s) if kind.has_backend_work() => self.jitter(s.duration),
            _ => SignedDuration::ZERO,
        };
        if let Some(list) = stage.plan.checklist.as_deref() {
            self.schedule_auto_checks(list, duration);
        }
        if kind.has_backend_work() {
            let fails = script
                .as_ref()
                .and_then(|s| s.fails.clone())
                .filter(|_| attempt == 1);
            self.schedule_work(id, kind, attempt, duration, fails);
        }
        if self.triggered.insert(format!("stage:{id}")) {
            self.wake(|t| matches!(t, scenario::Trigger::Stage { stage, .. } if stage == id));
        }
    }

    /// The automatic items of a checklist, ticked one after another over
    /// the stage's work (every few seconds when it has none).
    fn schedule_auto_checks(&mut self, list: &str, duration: SignedDuration) {
        let Some(list) = self.release().checklist(list) else {
            return;
        };
        let automatic: Vec<String> = list
            .items
            .iter()
            .filter(|i| i.plan.automatic && i.ticked.is_none())
            .map(|i| i.plan.id.clone())
            .collect();
        let list = list.id.clone();
        let n = automatic.len();
        for (k, item) in automatic.into_iter().enumerate() {
            let at = if duration.is_zero() {
                SignedDuration::from_secs(4)
                    .saturating_mul(i32::try_from(k + 1).unwrap_or(i32::MAX))
            } else {
                share(duration, k + 1, n + 1)
            };
            let list = list.clone();
            self.schedule(at, Job::AutoCheck { list, item });
        }
    }

    /// A stage's work: its lines spread over `duration`, then done, or
    /// failed with `fails` most of the way through (its lines stop there).
    fn schedule_work(
        &mut self,
        id: &str,
        kind: StageKind,
        attempt: u32,
        duration: SignedDuration,
        fails: Option<String>,
    ) {
        let lines = self.context_lines(kind);
        let cut = if fails.is_some() { 0.7 } else { 1.0 };
        for line in lines.into_iter().filter(|l| l.at <= cut) {
            let log = Job::Log {
                level: line.level,
                source: line.source,
                stage: Some(id.to_string()),
                message: line.message,
            };
            self.schedule(scaled(duration, line.at), log);
        }
        let stage = id.to_string();
        let Some(reason) = fails else {
            self.schedule(duration, Job::WorkDone { stage, attempt });
            return;
        };
        let at = scaled(duration, 0.72);
        let log = Job::Log {
            level: Level::Error,
            source: stage_source(kind).into(),
            stage: Some(stage.clone()),
            message: reason.clone(),
        };
        self.schedule(at, log);
        let failed = Job::WorkFailed {
            stage,
            attempt,
            reason,
        };
        self.schedule(at, failed);
    }

    /// Schedules the scripted actors and starts the incidents whose trigger
    /// this moment is.
    fn wake(&mut self, matches: impl Fn(&scenario::Trigger) -> bool) {
        let due: Vec<(usize, SignedDuration)> = self
            .scenario
            .script
            .actors
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match &a.when {
                scenario::Trigger::Stage { after, .. } | scenario::Trigger::Step { after, .. }
                    if matches(&a.when) =>
                {
                    Some((i, *after))
                }
                _ => None,
            })
            .collect();
        for (index, after) in due {
            self.schedule(after, Job::Actor { index });
        }
        let now = self.now;
        self.trigger_incidents(matches, now);
    }

    fn step_started(&mut self, step: usize, weight: u8) {
        let Some(plan_step) = self.scenario.plan.steps.get(step).cloned() else {
            return;
        };
        self.step_logs(step, weight, &plan_step);
        self.wake(|t| matches!(t, scenario::Trigger::Step { step: s, .. } if *s == step));
    }

    /// What the rollout prints when a step starts: the step, the pods it
    /// scales, where traffic goes.
    fn step_logs(&mut self, step: usize, weight: u8, plan_step: &crate::model::Step) {
        let service = self.scenario.plan.service.clone();
        let version = self.scenario.plan.version_to.clone();
        let label = plan_step.describe();
        let say = |sim: &mut Simulator, after: i64, source: &str, message: String| {
            sim.schedule(
                SignedDuration::from_secs(after),
                Job::Log {
                    level: Level::Info,
                    source: source.into(),
                    stage: sim.release().rollout_stage().map(|s| s.plan.id.clone()),
                    message,
                },
            );
        };
        let n = step + 1;
        match plan_step.kind {
            StepKind::SetWeight { .. } | StepKind::Preview => {
                let replicas = ((weight as f64 / 100.0) * 10.0).ceil().max(1.0) as u32;
                let pod = logs::pod_name(&mut self.rng, &service);
                say(self, 0, "rollout", format!("step {n}: {label}"));
                let scaled = format!("{service}:{version} scaled to {replicas} pod(s)");
                say(self, 1, "rollout", scaled);
                let ready = "Readiness probe GET /healthz: 200 OK".into();
                say(self, 6, &format!("pod/{pod}"), ready);
                let split = match self.scenario.plan.strategy {
                    Strategy::BlueGreen { active, .. } if weight == 100 => {
                        format!(
                            "service selector now {}: all traffic on {version}",
                            active.other().name()
                        )
                    }
                    Strategy::BlueGreen { .. } => {
                        "preview service up; production traffic unchanged".into()
                    }
                    Strategy::Rolling { .. } => format!("{weight}% of instances on {version}"),
                    _ => format!("traffic split: new {weight}% / stable {}%", 100 - weight),
                };
                say(self, 8, "traffic", split);
            }
            StepKind::Pause { duration: None } => {
                let paused = format!("step {n}: paused until an operator advances");
                say(self, 0, "rollout", paused);
            }
            StepKind::Pause { .. } | StepKind::Analysis { .. } | StepKind::External { .. } => {
                say(self, 0, "rollout", format!("step {n}: {label}"));
            }
        }
    }

    /// Starts the incidents whose trigger matches, `after` their delay from `base`.
    fn trigger_incidents(&mut self, matches: impl Fn(&scenario::Trigger) -> bool, base: Timestamp) {
        for (index, incident) in self.scenario.script.incidents.iter().enumerate() {
            if matches(&incident.when) {
                let after = match incident.when {
                    scenario::Trigger::Stage { after, .. }
                    | scenario::Trigger::Step { after, .. } => after,
                    scenario::Trigger::Elapsed(after) => after,
                };
                self.incidents.push(ActiveIncident {
                    index,
                    since: base.plus(after),
                });
            }
        }
    }

    fn rollback_started(&mut self) {
        let duration = self.scenario.script.rollback_duration;
        let plan = &self.scenario.plan;
        let (service, from) = (plan.service.clone(), plan.version_from.clone());
        let rollback_list = plan.rollback_checklist.clone();
        let lines = match plan.strategy {
            Strategy::BlueGreen { active, .. } => vec![
                (
                    0.0,
                    format!("switching service selector back to {}", active.name()),
                ),
                (0.5, format!("all traffic on {from} ({})", active.name())),
            ],
            _ => vec![
                (
                    0.0,
                    format!("aborting rollout of {service}: traffic to {from} 100%"),
                ),
                (0.3, "scaling new replicaset to 0".to_string()),
                (0.8, format!("all pods on {from}; new version drained")),
            ],
        };
        for (at, message) in lines {
            self.schedule(
                scaled(duration, at),
                Job::Log {
                    level: Level::Warn,
                    source: "rollback".into(),
                    stage: None,
                    message,
                },
            );
        }
        if let Some(list) = rollback_list
            .as_deref()
            .and_then(|l| self.engine.release().checklist(l))
        {
            let automatic: Vec<String> = list
                .items
                .iter()
                .filter(|i| i.plan.automatic)
                .map(|i| i.plan.id.clone())
                .collect();
            let list = list.id.clone();
            let n = automatic.len();
            for (k, item) in automatic.into_iter().enumerate() {
                let at = share(duration, k + 1, n + 1);
                self.schedule(
                    at,
                    Job::AutoCheck {
                        list: list.clone(),
                        item,
                    },
                );
            }
        }
        self.schedule(duration, Job::RollbackDone);
    }

    /// ±15 % so two stages of the same kind do not take the same time.
    fn jitter(&mut self, d: SignedDuration) -> SignedDuration {
        let factor = 0.85 + self.rng.f64() * 0.3;
        SignedDuration::from_secs(scaled(d, factor).as_secs().max(1))
    }

    fn run(&mut self, job: Job) {
        let now = self.now;
        match job {
            Job::WorkDone { stage, attempt } => {
                if self.attempts.get(&stage) == Some(&attempt) {
                    self.engine.finish_work(&stage, now);
                }
            }
            Job::WorkFailed {
                stage,
                attempt,
                reason,
            } => {
                if self.attempts.get(&stage) == Some(&attempt) {
                    self.engine.fail_work(&stage, &reason, now);
                }
            }
            Job::Log {
                level,
                source,
                stage,
                message,
            } => {
                // A stage cancelled (by a rollback or a stop) says no more.
                let cancelled = stage
                    .as_deref()
                    .and_then(|s| self.release().stage(s))
                    .is_some_and(|s| {
                        matches!(s.state, StageState::Cancelled | StageState::Skipped)
                    });
                if self.release().status.in_flight() && !cancelled {
                    self.engine
                        .log(level, &source, stage.as_deref(), message, now);
                }
            }
            Job::MetricTick => self.metric_tick(),
            Job::AutoCheck { list, item } => {
                let by = Person::own(AUTOMATION);
                self.engine.auto_check(&list, &item, &by, now)
            }
            Job::Actor { index } => {
                let actor = self.scenario.script.actors[index].clone();
                self.actors[index] = ActorState::Done;
                let id = self.next_command_id(actor.name.as_str());
                let command = Command::new(id, actor.name, actor.action);
                // A scripted person whose moment has passed (the gate someone
                // else approved) does not act: nobody sent what would be
                // refused. A refusal for who they are is part of the story.
                let moment_passed = matches!(
                    crate::engine::policy::check(self.release(), &command, now),
                    Err(crate::engine::Refusal {
                        grounds: crate::engine::Grounds::When,
                        ..
                    })
                );
                if !moment_passed {
                    self.engine.handle(command, now);
                }
            }
            Job::Autopilot { action } => {
                let (signer, action) = match action {
                    ActionKey::Approve { gate, signer } => (
                        signer,
                        Action::Approve {
                            gate: Some(gate),
                            comment: Some("signed by autopilot: checks green".into()),
                        },
                    ),
                    ActionKey::Advance => (autopilot_name(0), Action::Advance),
                    ActionKey::Check { list, item } => {
                        (autopilot_name(0), Action::Check { list, item })
                    }
                    ActionKey::Retry { stage } => {
                        (autopilot_name(0), Action::Retry { stage: Some(stage) })
                    }
                };
                let id = self.next_command_id(signer.as_str());
                self.engine.act(Command::new(id, signer, action), now);
            }
            Job::RollbackDone => self.engine.finish_rollback(now),
            Job::WindowWarning { closed } => {
                let message = if closed {
                    "the deployment window has closed and the release is still in flight"
                        .to_string()
                } else {
                    "the deployment window closes in 15m".to_string()
                };
                self.engine.log(Level::Warn, "window", None, message, now);
            }
        }
    }
}

fn stage_source(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Build => "build",
        StageKind::Test => "test",
        StageKind::Deploy => "deploy",
        StageKind::Validation | StageKind::Verification => "smoke",
        StageKind::Monitoring => "monitor",
        StageKind::Approval | StageKind::Rollout => "rollout",
    }
}

/// Runs a scenario to its end as fast as possible (for tests and tools):
/// returns every event, or stops after `limit` of virtual time.
pub fn run_to_end(sim: &mut Simulator, limit: SignedDuration) -> Vec<Event> {
    let mut events = sim.start();
    let deadline = sim.origin().plus(limit);
    while let Some(due) = sim.next_due() {
        if due > deadline {
            break;
        }
        events.extend(sim.advance_to(due));
    }
    events
}

#[cfg(test)]
mod tests;
