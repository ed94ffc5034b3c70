//! The simulator as a backend: a task that moves virtual time at a speed
//! factor against the wall clock and applies commands as they come.

use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::metrics::{self, Reading};
use super::{Connection, Gone, Handle, ReleaseClock, Update};
use crate::model::time::{self, Saturating};
use crate::model::{Command, Event};
use crate::sim::Simulator;

/// How often the virtual clock is reported while nothing else happens.
const CLOCK_EVERY: Duration = Duration::from_secs(1);
/// Updates buffered before the simulator waits for the console.
const CHANNEL: usize = 1024;

/// Starts `sim` on the current tokio runtime. `speed` is virtual seconds per
/// real second; `None` runs without waiting.
pub fn spawn(sim: Simulator, speed: Option<f64>, label: String) -> Handle {
    spawn_fed(sim, speed, label, None)
}

/// [`spawn`], with the release's metrics read from a metrics source: each
/// reading is taken at the moment it arrives, as a command is.
pub fn spawn_fed(
    sim: Simulator,
    speed: Option<f64>,
    label: String,
    readings: Option<mpsc::Receiver<Reading>>,
) -> Handle {
    let (update_tx, updates) = mpsc::channel(CHANNEL);
    let (commands, command_rx) = mpsc::unbounded_channel::<Command>();
    let clock = ReleaseClock::default();
    let driver = Driver {
        // Virtual time goes on from where the simulator stands: its origin
        // when fresh, later when it was rebuilt from a journal.
        origin: sim.now(),
        sim,
        speed,
        started: Instant::now(),
        tx: update_tx,
        clock: clock.clone(),
        halted: false,
    };
    driver.keep_clock();
    tokio::spawn(driver.run(command_rx, readings));
    Handle {
        label,
        commands,
        updates,
        controls: None,
        logs: None,
        clock,
        keeps_revisions: false,
    }
}

/// The simulator's task: virtual time paced against the wall clock.
struct Driver {
    sim: Simulator,
    /// Virtual seconds per real second; `None` runs without waiting.
    speed: Option<f64>,
    started: Instant,
    origin: Timestamp,
    tx: mpsc::Sender<Update>,
    /// The release's clock, as this task keeps it.
    clock: ReleaseClock,
    /// The simulator has stopped, and the console was told.
    halted: bool,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut readings: Option<mpsc::Receiver<Reading>>,
    ) {
        if self
            .say(Update::Connection(Connection::Live))
            .await
            .is_err()
        {
            return;
        }
        let first = self.sim.start();
        if self.deliver(first).await.is_err() {
            return;
        }
        let mut next_clock = Instant::now();
        loop {
            // Without a speed, a release that waits for people would race
            // through virtual time making metrics: it waits for them instead.
            let waiting = self.speed.is_none() && self.sim.stalled();
            let due = match waiting {
                true => None,
                false => self.sim.next_due().map(|at| self.real_at(at)),
            };
            let wake = due.map_or(next_clock, |d| d.min(next_clock));
            let reading = async {
                match readings.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let done = tokio::select! {
                reading = reading => match reading {
                    Some(reading) => self.take_reading(reading).await,
                    None => {
                        readings = None;
                        Ok(())
                    }
                },
                command = commands.recv() => match command {
                    Some(command) => self.take_command(command).await,
                    None => Err(Gone),
                },
                _ = sleep_until(wake) => self.tick(waiting, &mut next_clock).await,
            };
            if done.is_err() {
                return;
            }
        }
    }

    /// The virtual time at a real instant.
    fn virtual_now(&self, real: Instant) -> Timestamp {
        let elapsed = real.duration_since(self.started).as_secs_f64() * self.speed.unwrap_or(0.0);
        self.origin.plus(time::seconds(elapsed))
    }

    /// The real instant a virtual time comes.
    fn real_at(&self, at: Timestamp) -> Instant {
        match self.speed {
            Some(speed) => {
                let secs = at.duration_since(self.origin).as_secs_f64() / speed;
                self.started + super::clock::real_wait(secs)
            }
            // Without a speed everything is due at once.
            None => self.started,
        }
    }

    /// Now, in virtual time, for something that happens now: never before
    /// what the simulator has done.
    fn now(&self) -> Timestamp {
        match self.speed {
            Some(_) => self.virtual_now(Instant::now()).max(self.sim.now()),
            None => self.sim.now(),
        }
    }

    /// A metrics source's reading, taken now, after whatever was due by
    /// now, as a command is: a window rebuilt from its journal does the same.
    async fn take_reading(&mut self, reading: Reading) -> Result<(), Gone> {
        let now = self.now();
        let mut events = self.sim.advance_to(now);
        match reading {
            Reading::History(points) => events.extend(self.sim.backfill(&points)),
            // One at a time, each after what is due, as the rebuild replays
            // them (a rule that fires schedules work due at once).
            Reading::Now(values) => {
                for (series, cohort, value) in values {
                    events.extend(self.sim.advance_to(now));
                    events.extend(self.sim.observe(series, cohort, value));
                }
            }
            Reading::Health { level, message } => {
                events.extend(self.sim.metrics_said(level, metrics::SOURCE, message));
            }
        }
        self.deliver(events).await
    }

    /// A command happens now: first virtual time catches up. Whatever is
    /// due by now is done first, at any speed: a served window rebuilt from
    /// its journal replays each command after what was due at its moment,
    /// so the live order must be the same.
    async fn take_command(&mut self, command: Command) -> Result<(), Gone> {
        let now = self.now();
        let mut events = self.sim.advance_to(now);
        let id = command.id.clone();
        let (verdict, more) = self.sim.submit(command);
        events.extend(more);
        self.deliver(events).await?;
        self.say(Update::Verdict { id, verdict }).await
    }

    /// Does what is due by now, and tells the clock once a second.
    async fn tick(&mut self, waiting: bool, next_clock: &mut Instant) -> Result<(), Gone> {
        let real = Instant::now();
        if let Some(due) = self.sim.next_due()
            && !waiting
            && self.real_at(due) <= real
        {
            let events = self.sim.advance_to(due);
            self.deliver(events).await?;
        }
        if real >= *next_clock {
            let now = match self.standing() {
                true => self.sim.now(),
                false => self.virtual_now(real).max(self.sim.now()),
            };
            self.say(Update::Clock(now)).await?;
            *next_clock = real + CLOCK_EVERY;
        }
        Ok(())
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.tx.send(update).await.map_err(|_| Gone)
    }

    /// Sets the release's clock: virtual time at the speed factor, or,
    /// without a speed or once the release has finished, the simulator's
    /// own time, standing.
    fn keep_clock(&self) {
        match self.speed {
            Some(speed) if !self.standing() => {
                self.clock
                    .pace(self.origin, self.started.into_std(), speed, None)
            }
            _ => self
                .clock
                .pace(self.sim.now(), std::time::Instant::now(), 0.0, None),
        }
    }

    /// Sends what the simulator did: its events, and the service's traffic.
    async fn deliver(&mut self, events: Vec<Event>) -> Result<(), Gone> {
        if self.speed.is_none() || self.standing() {
            self.keep_clock();
        }
        let traffic = self.sim.take_traffic();
        if !events.is_empty() {
            self.say(Update::Events(events)).await?;
        }
        if !traffic.is_empty() {
            self.say(Update::Traffic(traffic)).await?;
        }
        if let Some(why) = self.sim.halted().filter(|_| !self.halted) {
            // Nothing more comes: the console shows the backend as gone.
            let why = format!("the simulator stopped: {why}");
            self.halted = true;
            self.keep_clock();
            self.say(Update::Connection(Connection::Lost(why))).await?;
        }
        Ok(())
    }

    /// Whether virtual time stands: the release has finished, or the
    /// simulator has stopped.
    fn standing(&self) -> bool {
        self.sim.is_finished() || self.sim.halted().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::model::{Action, Command};
    use crate::sim::{SimOptions, bundled, scenario};

    /// A command given at the very moment the release starts, before the
    /// first metric sample due then: a window rebuilt from the record must
    /// come out the same.
    #[tokio::test]
    async fn what_the_backend_did_can_be_replayed_exactly() {
        for speed in [None, Some(10.0)] {
            let story = scenario::parse(bundled::get("two-person").unwrap()).unwrap();
            let options = SimOptions::default();
            let mut handle = spawn(
                Simulator::new(story.clone(), options.clone()),
                speed,
                "t".into(),
            );
            let command = Command::new("early", crate::person("frank"), Action::Advance);
            handle.commands.send(command.clone()).unwrap();
            let mut events = Vec::new();
            loop {
                match handle.updates.recv().await.unwrap() {
                    Update::Events(more) => events.extend(more),
                    Update::Verdict { .. } => break,
                    _ => {}
                }
            }
            let journal = Journal {
                events,
                commands: vec![(jiff::Timestamp::UNIX_EPOCH, command)],
                ..Journal::default()
            };
            let rebuilt = crate::server::resume::rebuild(story, options, &journal);
            assert!(rebuilt.is_ok(), "speed {speed:?}: {:?}", rebuilt.err());
        }
    }

    /// What a Prometheus said, as the backend took it (history, readings
    /// that fire a rule, the source going away and coming back), can be
    /// replayed from the record to the same events.
    #[tokio::test]
    async fn readings_the_backend_took_can_be_replayed_exactly() {
        use crate::model::{Cohort, EventKind, Level, MetricPoint, Series};
        let story = scenario::parse(bundled::get("canary-regression").unwrap()).unwrap();
        let options = SimOptions {
            autopilot: true,
            external_metrics: true,
            origin: Some(jiff::Timestamp::now()),
            ..SimOptions::default()
        };
        let sim = Simulator::new(story.clone(), options.clone());
        let origin = sim.origin();
        let (tx, readings) = mpsc::channel(16);
        let mut handle = spawn_fed(sim, Some(600.0), "t".into(), Some(readings));
        let history = (1..=5)
            .map(|m| MetricPoint {
                at: origin - jiff::SignedDuration::from_mins(m),
                series: Series::ErrorRate,
                cohort: Cohort::Stable,
                value: 0.003,
            })
            .collect();
        tx.send(Reading::History(history)).await.unwrap();
        let mut events: Vec<crate::model::Event> = Vec::new();
        let mut said_down = false;
        let mut said_up = false;
        while !events
            .iter()
            .any(|e| matches!(e.kind, EventKind::RollbackStarted { .. }))
        {
            let began = events
                .iter()
                .any(|e| matches!(e.kind, EventKind::CanaryStep { .. }));
            if began && !said_down {
                said_down = true;
                let message = "metrics: cannot reach Prometheus".to_string();
                tx.send(Reading::Health {
                    level: Level::Error,
                    message,
                })
                .await
                .unwrap();
            } else if said_down && !said_up {
                said_up = true;
                let message = "metrics: Prometheus answers again".to_string();
                tx.send(Reading::Health {
                    level: Level::Info,
                    message,
                })
                .await
                .unwrap();
            } else {
                let canary = if began { 0.3 } else { 0.003 };
                let values = vec![
                    (Series::ErrorRate, Cohort::Canary, canary),
                    (Series::ErrorRate, Cohort::Stable, 0.003),
                ];
                tx.send(Reading::Now(values)).await.unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            while let Ok(update) = handle.updates.try_recv() {
                if let Update::Events(more) = update {
                    events.extend(more);
                }
            }
            assert!(events.len() < 100_000, "no rollback");
        }
        assert!(events.iter().any(|e| e.at < origin), "history was taken");
        assert!(
            events.iter().any(
                |e| matches!(&e.kind, EventKind::ReleasePaused { by, .. } if by == "prometheus")
            ),
            "the outage held the rollout"
        );
        let journal = Journal {
            events,
            ..Journal::default()
        };
        let rebuilt = crate::server::resume::rebuild(story, options, &journal);
        assert!(rebuilt.is_ok(), "{:?}", rebuilt.err());
    }
}
