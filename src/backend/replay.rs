//! A recorded window played back: the journal's events, at their own pace
//! times a speed factor, with pause and seek. Nothing can be changed: the
//! console refuses commands in a replay, and this backend answers any that
//! reach it with a refusal.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Connection, Handle, ReplayControl, Update};
use crate::engine::{Refusal, Verdict};
use crate::model::Event;

/// Plays `events` (in `seq` order) at `speed` times their own pace.
pub fn spawn(events: Vec<Event>, speed: f64, label: String) -> Handle {
    let (update_tx, updates) = mpsc::channel(1024);
    let (commands, mut command_rx) = mpsc::unbounded_channel::<crate::model::Command>();
    let (controls, mut control_rx) = mpsc::unbounded_channel::<ReplayControl>();
    tokio::spawn(async move {
        let Some(first) = events.first().map(|e| e.at) else {
            let _ = update_tx
                .send(Update::Connection(Connection::Lost(
                    "the journal holds no events".into(),
                )))
                .await;
            return;
        };
        let last = events.last().map_or(first, |e| e.at);
        // Where the replay stands in the window's own time, and when (in real
        // time) it stood there.
        let mut position = first;
        let mut anchor = Instant::now();
        let mut paused = false;
        let mut next = 0;
        if update_tx
            .send(Update::Connection(Connection::Live))
            .await
            .is_err()
        {
            return;
        }
        let now_at = |anchor: Instant, position: Timestamp, paused: bool| -> Timestamp {
            if paused {
                return position;
            }
            let elapsed = anchor.elapsed().as_secs_f64() * speed;
            (position + SignedDuration::from_secs_f64(elapsed)).min(last)
        };
        loop {
            let due = events.get(next).map(|e| {
                let wait = e.at.duration_since(position).as_secs_f64().max(0.0) / speed;
                anchor + Duration::from_secs_f64(wait)
            });
            let tick = Instant::now() + Duration::from_secs(1);
            let wake = match due {
                Some(d) if !paused => d.min(tick),
                _ => tick,
            };
            tokio::select! {
                control = control_rx.recv() => {
                    let Some(control) = control else { return };
                    let current = now_at(anchor, position, paused);
                    match control {
                        ReplayControl::Toggle => {
                            position = current;
                            anchor = Instant::now();
                            paused = !paused;
                        }
                        ReplayControl::Seek(secs) => {
                            let target = (current + SignedDuration::from_secs(secs)).clamp(first, last);
                            let upto = events.partition_point(|e| e.at <= target);
                            let batch = if upto < next {
                                // Back in time: start the release again.
                                if update_tx.send(Update::Reset).await.is_err() {
                                    return;
                                }
                                events[..upto].to_vec()
                            } else {
                                events[next..upto].to_vec()
                            };
                            next = upto;
                            position = target;
                            anchor = Instant::now();
                            let connection = if next == events.len() {
                                Connection::Lost("the recording ends here".into())
                            } else {
                                Connection::Live
                            };
                            if update_tx.send(Update::Events(batch)).await.is_err()
                                || update_tx.send(Update::Clock(target)).await.is_err()
                                || update_tx.send(Update::Connection(connection)).await.is_err()
                            {
                                return;
                            }
                        }
                    }
                }
                command = command_rx.recv() => {
                    let Some(command) = command else { return };
                    let verdict = Verdict::Refused(Refusal::when(
                        "this is a replay of a recorded window; nothing can be changed",
                    ));
                    if update_tx.send(Update::Verdict { id: command.id, verdict }).await.is_err() {
                        return;
                    }
                }
                _ = sleep_until(wake) => {
                    let current = now_at(anchor, position, paused);
                    let upto = events.partition_point(|e| e.at <= current);
                    if upto > next {
                        let batch = events[next..upto].to_vec();
                        next = upto;
                        if update_tx.send(Update::Events(batch)).await.is_err() {
                            return;
                        }
                        if next == events.len() {
                            let end = Connection::Lost("the recording ends here".into());
                            if update_tx.send(Update::Connection(end)).await.is_err() {
                                return;
                            }
                        }
                    }
                    if update_tx.send(Update::Clock(current)).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Handle {
        label,
        commands,
        updates,
        controls: Some(controls),
        logs: None,
    }
}
