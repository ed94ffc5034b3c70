//! One window from two pipelines: a GitHub Actions run for the stage board
//! and its gates, and an Argo Rollout for the canary once a job of the run
//! hands over to it (`canary: { rollout, after: deploy-production }`).
//!
//! Both backends run as they would alone; this task folds their events
//! into one release. The run's plan is the window's, with a canary stage
//! (the Rollout's strategy and steps) after the job that hands over. The
//! Rollout's events join the window from when that job starts: its step
//! board, pauses, promotes and aborts fill the canary row; an abort is the
//! window's rollback. Before then, what the Rollout did (its last revision)
//! is not this window's. Commands go where they belong: sign-offs,
//! rejections, re-runs and a rollback before the canary to GitHub;
//! promote, pause, resume, undo and a rollback during the canary to the
//! cluster.

use std::time::Duration;

use jiff::Timestamp;

use crate::model::time::Saturating;
use tokio::sync::mpsc;

use crate::backend::{Connection, Detail, Gone, Handle, Update};
use crate::model::{
    Action, Command, Event, EventKind, Outcome, Release, ReleasePlan, StageKind, StagePlan,
    StageState, StepState,
};
use crate::settings::Canary;

/// How long the window waits for the Rollout's plan before it opens with
/// an empty canary row.
const PLAN_PATIENCE: Duration = Duration::from_secs(15);

/// Joins `github` and `argo` into one window. Call within a tokio runtime.
pub fn spawn(
    github: Handle,
    argo: Handle,
    canary: Canary,
    label: String,
    capacity: usize,
) -> Handle {
    let (handle, end) = Handle::new(label, github.clock.clone(), true);
    let joiner = Joiner {
        canary,
        tx: end.updates,
        release: Release::new("", capacity),
        capacity,
        argo_plan: None,
        argo_release: Release::new("", capacity),
        held: Vec::new(),
        live_canary: false,
        handed: false,
        stale_version: None,
        opened_at: Timestamp::now(),
        stage_id: "canary".into(),
        pictures: (Vec::new(), Vec::new()),
        links: (Connection::Connecting, Connection::Connecting),
    };
    tokio::spawn(joiner.run(github, argo, end.commands));
    handle
}

struct Joiner {
    canary: Canary,
    tx: mpsc::Sender<Update>,
    /// The window as this task has told it.
    release: Release,
    capacity: usize,
    /// The Rollout's latest plan: its strategy and steps.
    argo_plan: Option<ReleasePlan>,
    /// The Rollout's current window, folded.
    argo_release: Release,
    /// The run's events held until the Rollout's plan is known.
    held: Vec<Event>,
    /// The Rollout's events are this window's (the job handed over).
    live_canary: bool,
    /// The job has handed over in this window (once).
    handed: bool,
    /// The Rollout's revision when the job handed over: its window is not
    /// the canary's (the job sets the next one).
    stale_version: Option<String>,
    /// When this window was opened (a job that began before may already
    /// have set the Rollout's revision).
    opened_at: Timestamp,
    stage_id: String,
    /// The side pane: the run's, then the Rollout's.
    pictures: (Vec<Detail>, Vec<Detail>),
    /// GitHub's link, then the cluster's.
    links: (Connection, Connection),
}

impl Joiner {
    async fn run(
        mut self,
        mut github: Handle,
        mut argo: Handle,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        let deadline = tokio::time::Instant::now() + PLAN_PATIENCE;
        loop {
            let waiting = self.argo_plan.is_none() && !self.held.is_empty();
            let step = tokio::select! {
                update = github.updates.recv() => match update {
                    Some(update) => self.heard_github(update).await,
                    None => Err(Gone),
                },
                update = argo.updates.recv() => match update {
                    Some(update) => self.heard_argo(update).await,
                    None => Err(Gone),
                },
                command = commands.recv() => match command {
                    Some(command) => self.route(command, &github, &argo).await,
                    None => Err(Gone),
                },
                () = tokio::time::sleep_until(deadline), if waiting => self.release_held().await,
            };
            if step.is_err() {
                return;
            }
        }
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.tx.send(update).await.map_err(|_| Gone)
    }

    /// A command to the backend it belongs to; the canary's commands are
    /// refused until the canary is this window's.
    async fn route(&self, command: Command, github: &Handle, argo: &Handle) -> Result<(), Gone> {
        let canary_only = matches!(
            command.action,
            Action::Advance
                | Action::PromoteFull
                | Action::Pause { .. }
                | Action::Resume
                | Action::Undo { .. }
        );
        if canary_only && !self.live_canary {
            let why = format!(
                "the canary has not begun: the Rollout {} takes over when {} starts",
                self.canary.rollout, self.canary.after
            );
            let verdict =
                crate::engine::Verdict::Refused(crate::engine::policy::Refusal::when(why));
            return self
                .say(Update::Verdict {
                    id: command.id,
                    verdict,
                })
                .await;
        }
        let to_argo =
            canary_only || matches!(command.action, Action::Rollback { .. }) && self.live_canary;
        let to = if to_argo { argo } else { github };
        let _ = to.commands.send(command);
        Ok(())
    }

    async fn heard_github(&mut self, update: Update) -> Result<(), Gone> {
        match update {
            Update::Events(events) => {
                if self.argo_plan.is_none() && self.release.plan().is_none() {
                    self.held.extend(events);
                    return Ok(());
                }
                let joined = self.join_github(events);
                self.tell(joined).await
            }
            Update::Reset => {
                self.release = Release::new("", self.capacity);
                self.live_canary = false;
                self.handed = false;
                self.stale_version = None;
                self.say(Update::Reset).await
            }
            Update::Picture(lines) => {
                self.pictures.0 = lines;
                self.draw().await
            }
            Update::Connection(link) => {
                self.links.0 = link;
                self.tell_link().await
            }
            other => self.say(other).await,
        }
    }

    async fn heard_argo(&mut self, update: Update) -> Result<(), Gone> {
        match update {
            Update::Events(events) => {
                let joined = self.join_argo(events);
                self.tell(joined).await?;
                if self.argo_plan.is_some() && !self.held.is_empty() {
                    self.release_held().await?;
                }
                Ok(())
            }
            Update::Reset => {
                self.argo_release = Release::new("", self.capacity);
                Ok(())
            }
            Update::Picture(lines) => {
                self.pictures.1 = lines;
                self.draw().await
            }
            Update::Connection(link) => {
                self.links.1 = link;
                self.tell_link().await
            }
            // Verdicts on the commands routed there; who this operator is
            // comes from GitHub.
            Update::Verdict { .. } | Update::Undelivered { .. } => self.say(update).await,
            _ => Ok(()),
        }
    }

    /// The run's events held for the Rollout's plan, let go.
    async fn release_held(&mut self) -> Result<(), Gone> {
        let held = std::mem::take(&mut self.held);
        let late = self.argo_plan.is_none();
        let mut joined = self.join_github(held);
        if late && self.release.plan().is_some() {
            let message = format!(
                "the Rollout {} did not answer within {} s: the canary row has no steps in this window",
                self.canary.rollout,
                PLAN_PATIENCE.as_secs()
            );
            let log = EventKind::Log {
                level: crate::model::Level::Warn,
                source: crate::model::names::CONTROLLER.into(),
                stage: None,
                message,
            };
            joined.push(self.emit(log, Timestamp::now()));
        }
        self.tell(joined).await
    }

    async fn tell(&mut self, events: Vec<Event>) -> Result<(), Gone> {
        if events.is_empty() {
            return Ok(());
        }
        self.say(Update::Events(events)).await
    }

    async fn draw(&self) -> Result<(), Gone> {
        let mut lines = self.pictures.0.clone();
        lines.extend(self.pictures.1.iter().cloned());
        self.say(Update::Picture(lines)).await
    }

    /// Live when both are; else the first that is not, saying which.
    async fn tell_link(&self) -> Result<(), Gone> {
        let link = match &self.links {
            (Connection::Lost(why), _) => Connection::Lost(format!("GitHub: {why}")),
            (_, Connection::Lost(why)) => Connection::Lost(format!("the cluster: {why}")),
            (Connection::Live, Connection::Live) => Connection::Live,
            (Connection::Ended, _) => Connection::Ended,
            _ => Connection::Connecting,
        };
        self.say(Update::Connection(link)).await
    }

    /// One event of the window: numbered after the last, never earlier.
    fn emit(&mut self, kind: EventKind, at: Timestamp) -> Event {
        let at = self.release.last_at().map_or(at, |last| last.max(at));
        let event = Event {
            seq: self.release.last_seq() + 1,
            at,
            release: self.release.id().to_string(),
            kind,
        };
        self.release.apply(&event);
        event
    }

    /// The run's events as the window's: its plan with the canary row.
    fn join_github(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        for event in events {
            let kind = match event.kind {
                EventKind::ReleaseStarted { plan } => EventKind::ReleaseStarted {
                    plan: Box::new(self.joined_plan(*plan)),
                },
                // A canary that rolled back is how the window ended.
                EventKind::ReleaseFinished { .. } if self.release.rollback().is_some() => {
                    EventKind::ReleaseFinished {
                        outcome: Outcome::RolledBack,
                    }
                }
                kind => kind,
            };
            let at = event.at;
            // The window's id is the plan's, given by its first event.
            if let EventKind::ReleaseStarted { plan } = &kind {
                self.release = Release::new(&plan.id, self.capacity);
            }
            let joined = self.emit(kind, at);
            // The job that hands over has started (or, seen late, already
            // finished).
            let handed_over = !self.handed
                && matches!(
                    &joined.kind,
                    EventKind::StageChanged { stage, state, .. }
                        if self.is_handover(stage)
                            && matches!(state, StageState::Running | StageState::Succeeded)
                );
            out.push(joined);
            if handed_over {
                out.extend(self.hand_over(at));
            }
        }
        out
    }

    fn is_handover(&self, stage: &str) -> bool {
        self.release.stage(stage).is_some_and(|s| {
            s.plan.id == self.canary.after || s.plan.name.eq_ignore_ascii_case(&self.canary.after)
        })
    }

    /// The run's plan with the Rollout's canary after the job that hands
    /// over (at the end when no job has that name).
    fn joined_plan(&mut self, mut plan: ReleasePlan) -> ReleasePlan {
        let mut id = "canary".to_string();
        while plan.stages.iter().any(|s| s.id == id) {
            id.push_str("-rollout");
        }
        self.stage_id = id.clone();
        let name = format!(
            "canary ({}{})",
            self.canary
                .namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            self.canary.rollout
        );
        let stage = StagePlan {
            id,
            name: crate::model::text::clip(&name, 100),
            kind: StageKind::Rollout,
            expected: None,
            gate: None,
            checklist: None,
        };
        let at = plan
            .stages
            .iter()
            .position(|s| {
                s.id == self.canary.after || s.name.eq_ignore_ascii_case(&self.canary.after)
            })
            .map_or(plan.stages.len(), |i| i + 1);
        plan.stages.insert(at, stage);
        if let Some(argo) = &self.argo_plan {
            plan.strategy = argo.strategy.clone();
            plan.steps = argo.steps.clone();
        }
        // The cluster decides the canary's promotes, as on a Rollout alone:
        // the console knows it from the handle (it keeps revisions).
        plan
    }

    /// The job that hands over has started: the Rollout's window is this
    /// one's from now, and where it stands already is told.
    ///
    /// The job is what sets the Rollout's new revision, so the canary is
    /// the Rollout's next window, not the one it is in — unless the job
    /// began before this window was opened (it may have set it already):
    /// then the window in flight is taken.
    fn hand_over(&mut self, at: Timestamp) -> Vec<Event> {
        self.handed = true;
        // GitHub's times are whole seconds: a job that started as the
        // window opened is not one from before it.
        let before_us = at.plus(jiff::SignedDuration::from_secs(2)) < self.opened_at;
        if before_us && self.argo_release.status().in_flight() {
            self.live_canary = true;
            return self.catch_up(at);
        }
        self.stale_version = self.argo_release.plan().map(|p| p.version_to.clone());
        Vec::new()
    }

    /// Where the Rollout's window stands, as the canary row's events.
    fn catch_up(&mut self, at: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        let stage = self.stage_id.clone();
        out.push(self.emit(
            EventKind::StageChanged {
                stage,
                state: StageState::Running,
                note: None,
            },
            at,
        ));
        if let Some((step, _)) = self.argo_release.current_step() {
            let weight = self.argo_release.rollout().weight;
            if step < self.release.steps().len() {
                out.push(self.emit(
                    EventKind::CanaryStep {
                        step,
                        state: StepState::Started,
                        weight,
                        until: None,
                    },
                    at,
                ));
            }
        }
        out
    }

    /// The Rollout's events: its plan kept; while the canary is this
    /// window's, its row, pauses, rollback, logs and metrics.
    fn join_argo(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut out = Vec::new();
        for event in events {
            self.argo_release.apply(&event);
            if let EventKind::ReleaseStarted { plan } = &event.kind {
                self.argo_plan = Some((**plan).clone());
                // A new revision after the handover is the canary.
                let new_revision = self.stale_version.as_deref() != Some(plan.version_to.as_str());
                if self.handed
                    && (self.live_canary || new_revision)
                    && self.release.plan().is_some()
                {
                    self.live_canary = true;
                    out.extend(self.catch_up(event.at));
                }
                continue;
            }
            // Not the canary's window yet, or the window has ended.
            let ended = self.release.status().is_final();
            if !self.live_canary || self.release.plan().is_none() || ended {
                continue;
            }
            let kind = match event.kind {
                // Said already (when the canary was taken up).
                EventKind::StageChanged { state, .. }
                    if self
                        .release
                        .stage(&self.stage_id)
                        .is_some_and(|s| s.state == state) =>
                {
                    continue;
                }
                EventKind::StageChanged { state, note, .. } => EventKind::StageChanged {
                    stage: self.stage_id.clone(),
                    state,
                    note,
                },
                EventKind::CanaryStep { step, .. } if step >= self.release.steps().len() => {
                    continue;
                }
                EventKind::ReleaseFinished { outcome } => {
                    self.live_canary = false;
                    let state = match outcome {
                        Outcome::Succeeded => StageState::Succeeded,
                        Outcome::Aborted => StageState::Cancelled,
                        Outcome::RolledBack | Outcome::Failed => StageState::Failed,
                    };
                    if self
                        .release
                        .stage(&self.stage_id)
                        .is_some_and(|s| s.state == state)
                    {
                        continue;
                    }
                    EventKind::StageChanged {
                        stage: self.stage_id.clone(),
                        state,
                        note: None,
                    }
                }
                // The Rollout's own gate and plan are not the window's.
                EventKind::GateChanged { .. }
                | EventKind::PlanExtended { .. }
                | EventKind::ReleaseStopped { .. }
                | EventKind::ChecklistChanged { .. } => continue,
                kind => kind,
            };
            out.push(self.emit(kind, event.at));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{ReleaseClock, TaskEnd};
    use crate::engine::Verdict;
    use crate::model::{Person, StepState};

    /// The happy canary's plan: its steps are the Rollout's here.
    fn canary_plan() -> ReleasePlan {
        let text = crate::sim::bundled::get("happy-canary").unwrap();
        crate::sim::scenario::parse(text).unwrap().plan
    }

    /// A run's plan: build, then deploy-production, no rollout.
    fn run_plan() -> ReleasePlan {
        let mut plan = canary_plan();
        let stage = |id: &str, kind| StagePlan {
            id: id.into(),
            name: id.into(),
            kind,
            expected: None,
            gate: None,
            checklist: None,
        };
        plan.id = "octo-org/octo-repo/actions/runs/1".into();
        plan.stages = vec![
            stage("build", StageKind::Build),
            stage("deploy-production", StageKind::Deploy),
        ];
        plan.steps = Vec::new();
        plan.gates = Vec::new();
        plan.checklists = Vec::new();
        plan.rollback_checklist = None;
        plan
    }

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            at: Timestamp::now(),
            release: String::new(),
            kind,
        }
    }

    fn started(plan: ReleasePlan) -> EventKind {
        EventKind::ReleaseStarted {
            plan: Box::new(plan),
        }
    }

    fn stage(id: &str, state: StageState) -> EventKind {
        EventKind::StageChanged {
            stage: id.into(),
            state,
            note: None,
        }
    }

    fn fake(keeps: bool) -> (Handle, TaskEnd) {
        Handle::new("fake".into(), ReleaseClock::wall(), keeps)
    }

    struct Joined {
        handle: Handle,
        github: TaskEnd,
        argo: TaskEnd,
        events: Vec<Event>,
    }

    impl Joined {
        fn start() -> Joined {
            let (github_handle, github) = fake(false);
            let (argo_handle, argo) = fake(true);
            let canary = Canary {
                rollout: "checkout".into(),
                namespace: Some("payments".into()),
                context: None,
                after: "deploy-production".into(),
            };
            let handle = spawn(github_handle, argo_handle, canary, "gh".into(), 1000);
            Joined {
                handle,
                github,
                argo,
                events: Vec::new(),
            }
        }

        /// Updates until one says yes.
        async fn until(&mut self, what: &str, done: impl Fn(&Update) -> bool) -> Update {
            loop {
                let next = tokio::time::timeout(Duration::from_secs(5), self.handle.updates.recv());
                let update = next
                    .await
                    .unwrap_or_else(|_| panic!("waited for {what}"))
                    .unwrap();
                if let Update::Events(events) = &update {
                    self.events.extend(events.iter().cloned());
                }
                if done(&update) {
                    return update;
                }
            }
        }

        async fn events(&mut self, what: &str, done: impl Fn(&Event) -> bool) {
            let seen = |u: &Update| matches!(u, Update::Events(e) if e.iter().any(&done));
            self.until(what, seen).await;
        }
    }

    fn command(action: Action) -> Command {
        Command::new("c1", Person::new("dave").unwrap(), action)
    }

    #[tokio::test]
    async fn the_canary_row_is_the_rollouts_next_revision_and_its_keys_wait_for_it() {
        let mut j = Joined::start();
        let mut old = canary_plan();
        old.version_to = "checkout:v1 (revision 4)".into();
        j.argo
            .updates
            .send(Update::Events(vec![event(1, started(old))]))
            .await
            .unwrap();
        j.github
            .updates
            .send(Update::Events(vec![event(1, started(run_plan()))]))
            .await
            .unwrap();
        j.events("the joined plan", |e| {
            matches!(e.kind, EventKind::ReleaseStarted { .. })
        })
        .await;
        let EventKind::ReleaseStarted { plan } = &j.events[0].kind else {
            unreachable!()
        };
        let ids: Vec<&str> = plan.stages.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["build", "deploy-production", "canary"]);
        assert_eq!(plan.steps, canary_plan().steps, "the Rollout's steps");

        // Before the canary: a promote is refused here, and nothing reaches
        // the cluster.
        j.handle.commands.send(command(Action::Advance)).unwrap();
        let verdict = j
            .until("the promote's verdict", |u| {
                matches!(u, Update::Verdict { .. })
            })
            .await;
        let Update::Verdict {
            verdict: Verdict::Refused(refusal),
            ..
        } = verdict
        else {
            panic!("{verdict:?}")
        };
        assert!(
            refusal.reason.contains("the canary has not begun"),
            "{refusal:?}"
        );
        assert!(j.argo.commands.try_recv().is_err());

        // The job starts; the Rollout's revision in flight is not the canary.
        let running = stage("deploy-production", StageState::Running);
        j.github
            .updates
            .send(Update::Events(vec![event(2, running)]))
            .await
            .unwrap();
        let step = EventKind::CanaryStep {
            step: 0,
            state: StepState::Started,
            weight: 5,
            until: None,
        };
        j.argo
            .updates
            .send(Update::Events(vec![event(2, step.clone())]))
            .await
            .unwrap();
        // Its next revision is.
        let mut new = canary_plan();
        new.version_to = "checkout:v2 (revision 5)".into();
        j.argo.updates.send(Update::Reset).await.unwrap();
        let new_step = EventKind::CanaryStep {
            step: 0,
            state: StepState::Started,
            weight: 10,
            until: None,
        };
        let events = vec![event(1, started(new)), event(2, new_step)];
        j.argo.updates.send(Update::Events(events)).await.unwrap();
        let at_10 = |e: &Event| matches!(e.kind, EventKind::CanaryStep { weight: 10, .. });
        j.events("the new revision's step", at_10).await;
        let steps = j
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::CanaryStep { .. }));
        assert_eq!(steps.count(), 1, "the old revision's step did not join");
        let canary_running = j.events.iter().any(|e| {
            matches!(&e.kind, EventKind::StageChanged { stage, state: StageState::Running, .. } if stage == "canary")
        });
        assert!(canary_running);

        // Now a promote goes to the cluster, and a rollback too.
        j.handle.commands.send(command(Action::Advance)).unwrap();
        let routed = tokio::time::timeout(Duration::from_secs(5), j.argo.commands.recv()).await;
        assert_eq!(routed.unwrap().unwrap().action, Action::Advance);
        j.handle
            .commands
            .send(command(Action::Rollback { reason: None }))
            .unwrap();
        let routed = tokio::time::timeout(Duration::from_secs(5), j.argo.commands.recv()).await;
        assert!(matches!(
            routed.unwrap().unwrap().action,
            Action::Rollback { .. }
        ));
        assert!(
            j.github.commands.try_recv().is_err(),
            "GitHub was sent nothing"
        );

        // The canary aborted: however the run ends, the window rolled back.
        let abort = EventKind::RollbackStarted {
            by: Person::new("dave").unwrap(),
            reason: "p99".into(),
        };
        j.argo
            .updates
            .send(Update::Events(vec![event(3, abort)]))
            .await
            .unwrap();
        j.events("the rollback", |e| {
            matches!(e.kind, EventKind::RollbackStarted { .. })
        })
        .await;
        let end = EventKind::ReleaseFinished {
            outcome: Outcome::Succeeded,
        };
        j.github
            .updates
            .send(Update::Events(vec![event(3, end)]))
            .await
            .unwrap();
        j.events("the end", |e| {
            matches!(e.kind, EventKind::ReleaseFinished { .. })
        })
        .await;
        let last = j.events.last().unwrap();
        assert!(matches!(
            last.kind,
            EventKind::ReleaseFinished {
                outcome: Outcome::RolledBack
            }
        ));
        // One window: seqs rise by one, each event possible in the plan.
        let mut plan = None;
        for (i, e) in j.events.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1);
            assert_eq!(e.impossible(plan.as_ref()), None, "{e:?}");
            ReleasePlan::follow(&mut plan, e);
        }
    }
}
