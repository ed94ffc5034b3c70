//! The simulator as a backend: a task that moves virtual time at a speed
//! factor against the wall clock and applies commands as they come.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Connection, Handle, Update};
use crate::sim::Simulator;

/// How often the virtual clock is reported while nothing else happens.
const CLOCK_EVERY: Duration = Duration::from_secs(1);
/// Updates buffered before the simulator waits for the console.
const CHANNEL: usize = 1024;

/// Starts `sim` on the current tokio runtime. `speed` is virtual seconds per
/// real second; `None` runs without waiting.
pub fn spawn(mut sim: Simulator, speed: Option<f64>, label: String) -> Handle {
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
        if !first.is_empty() && update_tx.send(Update::Events(first)).await.is_err() {
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
            tokio::select! {
                command = command_rx.recv() => {
                    let Some(command) = command else { return };
                    // The command happens now: first let virtual time catch up.
                    let mut events = match speed {
                        Some(_) => sim.advance_to(virtual_now(Instant::now()).max(sim.now())),
                        None => Vec::new(),
                    };
                    let id = command.id.clone();
                    let (verdict, more) = sim.submit(command);
                    events.extend(more);
                    if update_tx.send(Update::Events(events)).await.is_err()
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
                        if !events.is_empty() && update_tx.send(Update::Events(events)).await.is_err() {
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
