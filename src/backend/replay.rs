//! A recorded window played back: the journal's events, at their own pace
//! times a speed factor, with pause and seek. Nothing can be changed: the
//! console refuses commands in a replay, and this backend answers any that
//! reach it with a refusal.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Connection, Gone, Handle, ReplayControl, Update};
use crate::engine::{Refusal, Verdict};
use crate::model::{Command, Event};

/// Plays `events` (in `seq` order) at `speed` times their own pace.
pub fn spawn(events: Vec<Event>, speed: f64, label: String) -> Handle {
    let (update_tx, updates) = mpsc::channel(1024);
    let (commands, command_rx) = mpsc::unbounded_channel::<Command>();
    let (controls, control_rx) = mpsc::unbounded_channel::<ReplayControl>();
    tokio::spawn(async move {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            let empty = Connection::Lost("the journal holds no events".into());
            let _ = update_tx.send(Update::Connection(empty)).await;
            return;
        };
        let player = Player {
            first: first.at,
            last: last.at,
            position: first.at,
            anchor: Instant::now(),
            paused: false,
            next: 0,
            events,
            speed,
            tx: update_tx,
        };
        player.run(command_rx, control_rx).await;
    });
    Handle {
        label,
        commands,
        updates,
        controls: Some(controls),
        logs: None,
    }
}

/// The replay's task.
struct Player {
    events: Vec<Event>,
    speed: f64,
    first: Timestamp,
    last: Timestamp,
    /// Where the replay stands in the window's own time, and when (in real
    /// time) it stood there.
    position: Timestamp,
    anchor: Instant,
    paused: bool,
    /// The first event not yet played.
    next: usize,
    tx: mpsc::Sender<Update>,
}

impl Player {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut controls: mpsc::UnboundedReceiver<ReplayControl>,
    ) {
        if self
            .say(Update::Connection(Connection::Live))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let due = self.events.get(self.next).map(|e| {
                let wait = e.at.duration_since(self.position).as_secs_f64().max(0.0) / self.speed;
                self.anchor + Duration::from_secs_f64(wait)
            });
            let tick = Instant::now() + Duration::from_secs(1);
            let wake = match due {
                Some(d) if !self.paused => d.min(tick),
                _ => tick,
            };
            let done = tokio::select! {
                control = controls.recv() => match control {
                    Some(ReplayControl::Toggle) => {
                        self.toggle();
                        Ok(())
                    }
                    Some(ReplayControl::Seek(secs)) => self.seek(secs).await,
                    None => Err(Gone),
                },
                command = commands.recv() => match command {
                    Some(command) => {
                        let verdict = Verdict::Refused(Refusal::when(
                            "this is a replay of a recorded window; nothing can be changed",
                        ));
                        self.say(Update::Verdict { id: command.id, verdict }).await
                    }
                    None => Err(Gone),
                },
                _ = sleep_until(wake) => self.play().await,
            };
            if done.is_err() {
                return;
            }
        }
    }

    /// Where the replay stands now, in the window's own time.
    fn now(&self) -> Timestamp {
        if self.paused {
            return self.position;
        }
        let elapsed = self.anchor.elapsed().as_secs_f64() * self.speed;
        (self.position + SignedDuration::from_secs_f64(elapsed)).min(self.last)
    }

    fn toggle(&mut self) {
        self.position = self.now();
        self.anchor = Instant::now();
        self.paused = !self.paused;
    }

    /// Moves `secs` on (back when negative): back in time starts the
    /// release again from its first event.
    async fn seek(&mut self, secs: i64) -> Result<(), Gone> {
        let target = (self.now() + SignedDuration::from_secs(secs)).clamp(self.first, self.last);
        let upto = self.events.partition_point(|e| e.at <= target);
        let from = if upto < self.next {
            self.say(Update::Reset).await?;
            0
        } else {
            self.next
        };
        let batch = self.events[from..upto].to_vec();
        self.next = upto;
        self.position = target;
        self.anchor = Instant::now();
        let connection = if self.next == self.events.len() {
            Connection::Lost("the recording ends here".into())
        } else {
            Connection::Live
        };
        self.say(Update::Events(batch)).await?;
        self.say(Update::Clock(target)).await?;
        self.say(Update::Connection(connection)).await
    }

    /// Plays what is due by now, and tells the clock.
    async fn play(&mut self) -> Result<(), Gone> {
        let current = self.now();
        let upto = self.events.partition_point(|e| e.at <= current);
        if upto > self.next {
            let batch = self.events[self.next..upto].to_vec();
            self.next = upto;
            self.say(Update::Events(batch)).await?;
            if self.next == self.events.len() {
                let end = Connection::Lost("the recording ends here".into());
                self.say(Update::Connection(end)).await?;
            }
        }
        self.say(Update::Clock(current)).await
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.tx.send(update).await.map_err(|_| Gone)
    }
}
