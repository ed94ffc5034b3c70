//! The GitHub Actions backend: one workflow run looked at through GitHub's
//! REST API — the run, its jobs, the environments waiting for review and
//! the reviews given — and turned into release events by the
//! [`Translator`]; the console's commands sent as reviews, re-runs,
//! cancels and a rollback workflow.
//!
//! GitHub has no watch, so the task asks, kindly: every request is
//! conditional (an unchanged answer is a 304, which GitHub does not count
//! against the rate limit), the pause between looks grows while nothing
//! changes and shrinks while a job runs, and a rate limit or a secondary
//! limit holds every request until it lifts (said in the header).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::client::{Api, ApiError, JobLog, Repo};
use super::commands::{self, Order};
use super::token::TokenKind;
use super::translate::{Observed, Said, Translator};
use crate::backend::metrics::Reading;
use crate::backend::{Connection, Gone, Handle, ReleaseClock, Update};
use crate::engine::Verdict;
use crate::engine::policy::Refusal;
use crate::model::{Command, EventKind, Level, Person};
use crate::settings::RollbackWorkflow;

/// Which run to follow, and what `R` may dispatch.
#[derive(Debug, Clone)]
pub struct Target {
    pub repo: Repo,
    pub run: u64,
    pub rollback: Option<RollbackWorkflow>,
    pub token: TokenKind,
    /// When no deployment is approved (the config's `freezes:`).
    pub freezes: Vec<crate::model::Freeze>,
}

/// The pause between looks while a job runs.
pub const BUSY: Duration = Duration::from_secs(5);
/// The first pause between looks while nothing runs; it doubles while
/// nothing changes, up to [`IDLE_MOST`].
pub const IDLE_LEAST: Duration = Duration::from_secs(10);
pub const IDLE_MOST: Duration = Duration::from_secs(30);
/// How often a running job's log is asked for (GitHub gives it once the
/// job has finished; until then the answer is 404).
const LOG_EVERY: Duration = Duration::from_secs(30);
/// Job logs read in one look at most.
const LOGS_A_LOOK: usize = 2;
/// How long a command may take before it is answered "no answer".
const COMMAND_PATIENCE: Duration = Duration::from_secs(30);

/// Starts following `target`. Call within a tokio runtime.
pub fn spawn(
    api: Api,
    target: Target,
    label: String,
    log_capacity: usize,
    readings: Option<mpsc::Receiver<Reading>>,
) -> Handle {
    let (handle, end) = Handle::new(label, ReleaseClock::wall(), false);
    let mut translator = Translator::new(log_capacity);
    translator.set_freezes(target.freezes.clone());
    let task = Follower {
        api,
        target,
        tx: end.updates,
        translator,
        seen: None,
        quiet: 0,
        logs: BTreeMap::new(),
        readings,
        slowed: None,
        failing: None,
        picture: Vec::new(),
    };
    tokio::spawn(task.run(end.commands));
    handle
}

/// What has been fetched of a job's log.
#[derive(Debug, Default)]
struct LogState {
    /// The whole log has been read (the job had finished).
    done: bool,
    last_try: Option<Instant>,
    /// "Not yet" has been said once.
    said_not_yet: bool,
}

struct Follower {
    api: Api,
    target: Target,
    tx: mpsc::Sender<Update>,
    translator: Translator,
    /// The last look, whole.
    seen: Option<Observed>,
    /// Looks in a row that changed nothing.
    quiet: u32,
    logs: BTreeMap<u64, LogState>,
    readings: Option<mpsc::Receiver<Reading>>,
    slowed: Option<String>,
    /// Why the last look failed (said once per cause).
    failing: Option<String>,
    picture: Vec<crate::backend::Detail>,
}

async fn next_reading(readings: &mut Option<mpsc::Receiver<Reading>>) -> Option<Reading> {
    match readings {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Follower {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let _ = self.serve(&mut commands).await;
    }

    async fn serve(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) -> Result<(), Gone> {
        self.say(Update::Connection(Connection::Connecting)).await?;
        let mut who = self.identify().await;
        let mut next_look = tokio::time::Instant::now();
        // The release's clock, told each second while it is in flight.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if tokio::time::Instant::now() >= next_look {
                let changed = self.look().await?;
                // Said once the plan is there, so the console can say whose
                // word it is.
                if let Some(person) = who.take() {
                    self.say(Update::Identity(person)).await?;
                }
                self.tell_limits().await?;
                next_look = tokio::time::Instant::now() + self.pause(changed);
            }
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => {
                        self.command(command).await?;
                        next_look = tokio::time::Instant::now() + self.pause(true);
                    }
                    None => return Err(Gone),
                },
                reading = next_reading(&mut self.readings) => match reading {
                    Some(reading) => self.reading(reading).await?,
                    None => self.readings = None,
                },
                _ = tick.tick(), if self.translator.release().status().in_flight() => {
                    self.say(Update::Clock(Timestamp::now())).await?;
                    // The side pane's wait timers count down by the second.
                    self.draw().await?;
                }
                () = tokio::time::sleep_until(next_look) => {}
            }
        }
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.tx.send(update).await.map_err(|_| Gone)
    }

    /// Who the token belongs to: the console's operator is that login, so
    /// what it signs is what GitHub records.
    async fn identify(&mut self) -> Option<Person> {
        match self.api.user().await {
            Ok(user) => match Person::new(&user.login) {
                Ok(person) => {
                    self.translator.set_operator(person.clone());
                    Some(person)
                }
                Err(why) => {
                    tracing::warn!(%why, "GitHub's login is no operator's name");
                    None
                }
            },
            // Said by the first look, which fails the same way.
            Err(err) => {
                tracing::warn!(error = %err, "GitHub did not say who the token is");
                None
            }
        }
    }

    /// One look at the run; whether anything changed.
    async fn look(&mut self) -> Result<bool, Gone> {
        match self.fetch().await {
            Ok((seen, changed)) => {
                if self.failing.take().is_some() || self.seen.is_none() {
                    self.say(Update::Connection(Connection::Live)).await?;
                }
                if changed || self.seen.is_none() {
                    let now = Timestamp::now();
                    for said in self.translator.observe(&seen, now) {
                        match said {
                            Said::NewWindow => {
                                self.logs.clear();
                                self.say(Update::Reset).await?;
                            }
                            Said::Events(events) if events.is_empty() => {}
                            Said::Events(events) => self.say(Update::Events(events)).await?,
                        }
                    }
                }
                self.seen = Some(seen);
                self.draw().await?;
                let logged = self.read_logs().await?;
                Ok(changed || logged)
            }
            Err(err) => {
                self.failed(&err).await?;
                Ok(false)
            }
        }
    }

    /// The run, its jobs, and (while it waits) its pending deployments and
    /// its reviews; whether any answer was new.
    async fn fetch(&self) -> Result<(Observed, bool), ApiError> {
        let repo = &self.target.repo;
        let id = self.target.run;
        let run = self.api.run(repo, id).await?;
        let attempt = run.value.attempt();
        let jobs = self.api.jobs(repo, id, attempt).await?;
        let waits = run.value.waiting() || jobs.value.iter().any(|j| j.status() == "waiting");
        let was_waiting = self.seen.as_ref().is_some_and(|s| !s.pending.is_empty());
        // Pending deployments only matter while something waits (or just
        // did: the review that let it go is then in the approvals).
        let (pending, pending_changed) = if waits || was_waiting {
            let got = self.api.pending(repo, id).await?;
            (got.value, got.changed)
        } else {
            (Vec::new(), false)
        };
        let approvals = self.api.approvals(repo, id).await?;
        let changed = run.changed || jobs.changed || pending_changed || approvals.changed;
        let seen = Observed {
            run: run.value,
            jobs: jobs.value,
            pending,
            approvals: approvals.value,
        };
        Ok((seen, changed))
    }

    /// The pause before the next look: short while a job runs, growing
    /// while nothing changes, and as long as a rate limit holds.
    fn pause(&mut self, changed: bool) -> Duration {
        if changed {
            self.quiet = 0;
        } else {
            self.quiet = self.quiet.saturating_add(1);
        }
        let running = self
            .seen
            .as_ref()
            .is_some_and(|s| s.jobs.iter().any(|j| j.running()));
        let mut pause = match running {
            true => BUSY,
            false => IDLE_LEAST
                .saturating_mul(2u32.saturating_pow(self.quiet.min(6)))
                .min(IDLE_MOST),
        };
        // While GitHub fails, it is asked again at the idle pace's
        // shortest, so the header is live again soon after it answers.
        if self.failing.is_some() {
            pause = IDLE_LEAST;
        }
        if let Some(until) = self.api.limits().hold_until {
            let left = until.duration_since(Timestamp::now());
            if let Ok(left) = Duration::try_from(left) {
                pause = pause.max(left + Duration::from_secs(1));
            }
        }
        pause
    }

    /// The header says when the limits slow shipdeck down, and when they
    /// no longer do.
    async fn tell_limits(&mut self) -> Result<(), Gone> {
        let slowing = self.api.limits().slowing(Timestamp::now());
        if slowing == self.slowed {
            return Ok(());
        }
        // The log says when it starts and ends; the header keeps count.
        match (&slowing, &self.slowed) {
            (Some(why), None) => {
                self.note(Level::Warn, format!("GitHub's rate limit: {why}"))
                    .await?
            }
            (None, Some(_)) => {
                let back = "GitHub's rate limit no longer holds shipdeck back".to_string();
                self.note(Level::Info, back).await?
            }
            _ => {}
        }
        self.slowed = slowing.clone();
        self.say(Update::Slowed(slowing)).await
    }

    /// A look that failed: the header says why (once per cause), and so
    /// does the log, so consoles on `serve` see it too.
    async fn failed(&mut self, err: &ApiError) -> Result<(), Gone> {
        let asked = super::refusal::Asked::Read("the run");
        let reason = super::refusal::of(&self.api, err, &asked, &self.target.repo);
        if self.failing.as_deref() == Some(reason.as_str()) {
            return Ok(());
        }
        // A rate limit is a slowing, not a lost link: what is shown stays
        // true, only late.
        let limited = matches!(
            err,
            ApiError::RateLimited { .. } | ApiError::SecondaryLimit { .. }
        );
        if !limited {
            self.say(Update::Connection(Connection::Lost(reason.clone())))
                .await?;
        }
        self.note(Level::Warn, reason.clone()).await?;
        self.failing = Some(reason);
        Ok(())
    }

    async fn note(&mut self, level: Level, message: String) -> Result<(), Gone> {
        match self.translator.note(level, message, Timestamp::now()) {
            Some(event) => self.say(Update::Events(vec![event])).await,
            None => Ok(()),
        }
    }

    /// The side pane: the run, its jobs and steps, what waits for review.
    async fn draw(&mut self) -> Result<(), Gone> {
        let Some(seen) = &self.seen else {
            return Ok(());
        };
        let picture = super::picture::picture(seen, Timestamp::now());
        if picture != self.picture {
            self.picture = picture.clone();
            self.say(Update::Picture(picture)).await?;
        }
        Ok(())
    }

    /// Job logs: each finished job's once, a running job's tried now and
    /// then (GitHub answers 404 until it has finished: said once, plainly).
    async fn read_logs(&mut self) -> Result<bool, Gone> {
        let Some(seen) = &self.seen else {
            return Ok(false);
        };
        let due: Vec<crate::github::types::Job> = seen
            .jobs
            .iter()
            .filter(|job| {
                let state = self.logs.get(&job.id);
                let done = state.is_some_and(|s| s.done);
                let recent = state
                    .and_then(|s| s.last_try)
                    .is_some_and(|t| t.elapsed() < LOG_EVERY);
                // A finished job's log at once, unless its last try failed
                // lately; a running job's now and then.
                !done && !recent && (job.completed() || job.running())
            })
            .cloned()
            .collect();
        let mut any = false;
        // A few a look, so a command never waits behind many downloads.
        for job in due.into_iter().take(LOGS_A_LOOK) {
            let answer = self.api.job_log(&self.target.repo, job.id).await;
            let state = self.logs.entry(job.id).or_default();
            state.last_try = Some(Instant::now());
            match answer {
                Ok(JobLog::Text(text)) => {
                    state.done = job.completed();
                    let events = self.translator.job_log(&job, &text, Timestamp::now());
                    if !events.is_empty() {
                        any = true;
                        self.say(Update::Events(events)).await?;
                    }
                }
                Ok(JobLog::NotYet) if job.completed() => state.done = true,
                Ok(JobLog::NotYet) => {
                    if !std::mem::replace(&mut state.said_not_yet, true) {
                        let message = format!(
                            "{}: its log is not ready while it runs (GitHub gives a job's log once it has finished)",
                            crate::model::text::clip(&job.name, 100)
                        );
                        self.note(Level::Info, message).await?;
                    }
                }
                // A log that cannot be read does not stop the run's look;
                // it is asked for again later.
                Err(err) => {
                    tracing::warn!(job = job.id, error = %err, "a job's log could not be read");
                }
            }
        }
        Ok(any)
    }

    async fn reading(&mut self, reading: Reading) -> Result<(), Gone> {
        let now = Timestamp::now();
        let events =
            crate::backend::metrics::reading_events(reading, |kind| self.translator.say(kind, now));
        if events.is_empty() {
            return Ok(());
        }
        self.say(Update::Events(events)).await
    }

    /// A console command: checked against the run as last seen and the
    /// engine's policy, sent, answered, and looked at again at once.
    async fn command(&mut self, command: Command) -> Result<(), Gone> {
        let id = command.id.clone();
        let verdict = match self.decide(&command).await {
            Ok((sent, order)) => {
                let now = Timestamp::now();
                let accepted = EventKind::CommandAccepted {
                    command: command.clone(),
                    note: Some(sent.clone()),
                };
                let mut events: Vec<_> = self.translator.say(accepted, now).into_iter().collect();
                // A dispatched rollback workflow cannot be seen in this
                // run: the rollback is the operator's, from now.
                if let Order::Dispatch { workflow, .. } = &order {
                    events.extend(self.translator.rollback_dispatched(&command, workflow, now));
                    let line = format!(
                        "{sent}: that is a run of its own, which this window does not follow (shipdeck runs {} lists it)",
                        self.target.repo
                    );
                    events.extend(self.translator.note(Level::Info, line, now));
                }
                self.say(Update::Events(events)).await?;
                Verdict::Accepted { note: Some(sent) }
            }
            Err(refusal) => {
                self.translator.refused(&id);
                let event = self.translator.say(
                    EventKind::CommandRejected {
                        command: command.clone(),
                        reason: refusal.reason.clone(),
                    },
                    Timestamp::now(),
                );
                self.say(Update::Events(event.into_iter().collect()))
                    .await?;
                Verdict::Refused(refusal)
            }
        };
        self.say(Update::Verdict { id, verdict }).await?;
        self.quiet = 0;
        // What the command changed is seen now, not at the next look.
        self.look().await.map(|_| ())
    }

    /// Sends what the command asks, or says why not.
    async fn decide(&mut self, command: &Command) -> Result<(String, Order), Refusal> {
        let Some(seen) = &self.seen else {
            return Err(Refusal::when(
                "the run has not been read yet: try again in a moment",
            ));
        };
        // The engine's policy first: who may sign which gate, as GitHub
        // said when last asked.
        if matches!(
            command.action,
            crate::model::Action::Approve { .. } | crate::model::Action::Reject { .. }
        ) {
            crate::engine::policy::check(self.translator.release(), command, Timestamp::now())?;
        }
        let order = commands::order(
            &command.action,
            seen,
            self.translator.release().deployed(),
            self.target.rollback.as_ref(),
            self.target.token,
            false,
            (&self.target.freezes, Timestamp::now()),
        )?;
        self.translator.asked(command, Timestamp::now());
        let sent = tokio::time::timeout(
            COMMAND_PATIENCE,
            commands::send(&self.api, &self.target.repo, self.target.run, &order),
        )
        .await
        .map_err(|_| {
            Refusal::when(format!(
                "GitHub gave no answer in {} s; it may or may not have landed",
                COMMAND_PATIENCE.as_secs()
            ))
        })??;
        Ok((sent.note, order))
    }
}

/// Starts following `target`, joined with the Rollout that carries its
/// canary when one is configured. Call within a tokio runtime.
pub fn spawn_joined(
    api: Api,
    target: Target,
    canary: Option<crate::settings::Canary>,
    label: String,
    log_capacity: usize,
    readings: Option<mpsc::Receiver<Reading>>,
) -> Handle {
    let Some(canary) = canary else {
        return spawn(api, target, label, log_capacity, readings);
    };
    let freezes = target.freezes.clone();
    let github = spawn(api, target, label.clone(), log_capacity, readings);
    let rollout = crate::argo::backend::Target {
        name: canary.rollout.clone(),
        namespace: canary.namespace.clone(),
        context: canary.context.clone(),
        gate: None,
        freezes,
    };
    let argo = crate::argo::backend::spawn(rollout, label.clone(), log_capacity, None);
    super::join::spawn(github, argo, canary, label, log_capacity)
}
