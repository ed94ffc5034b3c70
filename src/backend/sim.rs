//! The simulator as a backend: a task that moves virtual time at a speed
//! factor against the wall clock and applies commands as they come.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::metrics::{self, Reading};
use super::{Connection, Handle, Update};
use crate::model::Event;
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

/// Sends what the simulator did: its events, and the service's traffic.
async fn deliver(tx: &mpsc::Sender<Update>, sim: &mut Simulator, events: Vec<Event>) -> bool {
    let traffic = sim.take_traffic();
    (events.is_empty() || tx.send(Update::Events(events)).await.is_ok())
        && (traffic.is_empty() || tx.send(Update::Traffic(traffic)).await.is_ok())
}

/// [`spawn`], with the release's metrics read from a metrics source: each
/// reading is taken at the moment it arrives, as a command is.
pub fn spawn_fed(
    mut sim: Simulator,
    speed: Option<f64>,
    label: String,
    mut readings: Option<mpsc::Receiver<Reading>>,
) -> Handle {
    let (update_tx, updates) = mpsc::channel(CHANNEL);
    let (commands, mut command_rx) = mpsc::unbounded_channel::<crate::model::Command>();
    tokio::spawn(async move {
        let started = Instant::now();
        // Virtual time goes on from where the simulator stands: its origin
        // when fresh, later when it was rebuilt from a journal.
        let origin = sim.now();
        let virtual_now = |real: Instant| -> Timestamp {
            let elapsed = real.duration_since(started).as_secs_f64() * speed.unwrap_or(0.0);
            origin + SignedDuration::from_secs_f64(elapsed)
        };
        let real_at = |at: Timestamp| -> Instant {
            match speed {
                Some(speed) => {
                    let secs = at.duration_since(origin).as_secs_f64().max(0.0) / speed;
                    started + Duration::from_secs_f64(secs)
                }
                // Without a speed everything is due at once.
                None => started,
            }
        };
        if update_tx
            .send(Update::Connection(Connection::Live))
            .await
            .is_err()
        {
            return;
        }
        let first = sim.start();
        if !deliver(&update_tx, &mut sim, first).await {
            return;
        }
        let mut next_clock = Instant::now();
        loop {
            // Without a speed, a release that waits for people would race
            // through virtual time making metrics: it waits for them instead.
            let waiting = speed.is_none() && sim.stalled();
            let due = if waiting {
                None
            } else {
                sim.next_due().map(real_at)
            };
            let wake = due.map_or(next_clock, |d| d.min(next_clock));
            let reading = async {
                match readings.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                reading = reading => {
                    let Some(reading) = reading else {
                        readings = None;
                        continue;
                    };
                    // Taken now, after whatever was due by now, as a command
                    // is: a window rebuilt from its journal does the same.
                    let now = match speed {
                        Some(_) => virtual_now(Instant::now()).max(sim.now()),
                        None => sim.now(),
                    };
                    let mut events = sim.advance_to(now);
                    match reading {
                        Reading::History(points) => events.extend(sim.backfill(&points)),
                        // One at a time, each after what is due, as the
                        // rebuild replays them (a rule that fires schedules
                        // work due at once).
                        Reading::Now(values) => {
                            for (series, cohort, value) in values {
                                events.extend(sim.advance_to(now));
                                events.extend(sim.observe(series, cohort, value));
                            }
                        }
                        Reading::Health { level, message } => {
                            events.extend(sim.metrics_said(level, metrics::SOURCE, message));
                        }
                    }
                    if !deliver(&update_tx, &mut sim, events).await {
                        return;
                    }
                }
                command = command_rx.recv() => {
                    let Some(command) = command else { return };
                    // The command happens now: first let virtual time catch up.
                    // Whatever is due by now is done first, at any speed: a
                    // served window rebuilt from its journal replays each
                    // command after what was due at its moment, so the live
                    // order must be the same.
                    let now = match speed {
                        Some(_) => virtual_now(Instant::now()).max(sim.now()),
                        None => sim.now(),
                    };
                    let mut events = sim.advance_to(now);
                    let id = command.id.clone();
                    let (verdict, more) = sim.submit(command);
                    events.extend(more);
                    if !deliver(&update_tx, &mut sim, events).await
                        || update_tx.send(Update::Verdict { id, verdict }).await.is_err()
                    {
                        return;
                    }
                }
                _ = sleep_until(wake) => {
                    let real = Instant::now();
                    if let Some(due) = sim.next_due()
                        && !waiting
                        && real_at(due) <= real
                    {
                        let events = sim.advance_to(due);
                        if !deliver(&update_tx, &mut sim, events).await {
                            return;
                        }
                    }
                    if real >= next_clock {
                        let now = if sim.is_finished() { sim.now() } else { virtual_now(real).max(sim.now()) };
                        if update_tx.send(Update::Clock(now)).await.is_err() {
                            return;
                        }
                        next_clock = real + CLOCK_EVERY;
                    }
                }
            }
        }
    });
    Handle {
        label,
        commands,
        updates,
        controls: None,
        logs: None,
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
            let command = Command::new("early", "frank", Action::Advance);
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
