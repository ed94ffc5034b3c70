//! A recorded window played back: the journal's events, at their own pace
//! times a speed factor, with pause and seek. Nothing can be changed: the
//! console refuses commands in a replay, and this backend answers any that
//! reach it with a refusal.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Connection, Gone, Handle, ReleaseClock, ReplayControl, Update};
use crate::engine::{Refusal, Verdict};
use crate::model::time::{self, Saturating};
use crate::model::{Command, Event};

/// Plays `events` (in `seq` order) at `speed` times their own pace.
pub fn spawn(events: Vec<Event>, speed: f64, label: String) -> Handle {
    let (update_tx, updates) = mpsc::channel(1024);
    let (commands, command_rx) = mpsc::unbounded_channel::<Command>();
    let (controls, control_rx) = mpsc::unbounded_channel::<ReplayControl>();
    let clock = ReleaseClock::default();
    let kept = clock.clone();
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
            clock: kept,
        };
        player.keep_clock();
        player.run(command_rx, control_rx).await;
    });
    Handle {
        label,
        commands,
        updates,
        controls: Some(controls),
        logs: None,
        clock,
        keeps_revisions: false,
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
    /// The release's clock: the recording's time where the replay stands.
    clock: ReleaseClock,
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
                let wait = e.at.duration_since(self.position).as_secs_f64() / self.speed;
                self.anchor + super::clock::real_wait(wait)
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
                    Some(ReplayControl::Seek(secs)) => {
                        let target = self.now().plus(SignedDuration::from_secs(secs));
                        self.go_to(target).await
                    }
                    Some(ReplayControl::Step(at)) => {
                        self.paused = true;
                        self.go_to(at).await
                    }
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
        (self.position.plus(time::seconds(elapsed))).min(self.last)
    }

    fn toggle(&mut self) {
        self.position = self.now();
        self.anchor = Instant::now();
        self.paused = !self.paused;
        self.keep_clock();
    }

    /// Sets the release's clock to where the replay stands: moving at the
    /// replay's speed, or standing while paused, and never past the end.
    fn keep_clock(&self) {
        let rate = if self.paused { 0.0 } else { self.speed };
        self.clock
            .pace(self.position, self.anchor.into_std(), rate, Some(self.last));
    }

    /// How the replay stands with its backend: playing, or at the end of
    /// the recording.
    fn connection(&self) -> Connection {
        if self.next == self.events.len() {
            Connection::Ended
        } else {
            Connection::Live
        }
    }

    /// Moves to `target` in the window's time: back in time starts the
    /// release again from its first event.
    async fn go_to(&mut self, target: Timestamp) -> Result<(), Gone> {
        let target = target.clamp(self.first, self.last);
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
        self.keep_clock();
        self.say(Update::Events(batch)).await?;
        self.say(Update::Clock(target)).await?;
        self.say(Update::Connection(self.connection())).await
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
                self.say(Update::Connection(Connection::Ended)).await?;
            }
        }
        self.say(Update::Clock(current)).await
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.tx.send(update).await.map_err(|_| Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventKind, Outcome};

    fn event(seq: u64, secs: i64, kind: EventKind) -> Event {
        Event {
            seq,
            at: Timestamp::from_second(1_800_000_000 + secs).unwrap(),
            release: "r".into(),
            kind,
        }
    }

    async fn next(handle: &mut Handle) -> Update {
        tokio::time::timeout(Duration::from_secs(5), handle.updates.recv())
            .await
            .expect("an update in time")
            .expect("the replay is running")
    }

    /// A step goes to its moment and holds there: the events up to it, the
    /// clock at it, standing still; the last moment is the recording's
    /// end, said as such.
    #[tokio::test]
    async fn a_step_holds_the_replay_at_its_moment_and_the_end_is_the_end_of_the_recording() {
        let paused = || EventKind::ReleasePaused {
            by: crate::person("dave"),
            reason: None,
        };
        let finished = EventKind::ReleaseFinished {
            outcome: Outcome::Aborted,
        };
        let events = vec![
            event(1, 0, paused()),
            event(2, 600, paused()),
            event(3, 1200, finished),
        ];
        let (middle, end) = (events[1].at, events[2].at);
        let mut handle = spawn(events, 1.0, "t".into());
        assert_eq!(
            next(&mut handle).await,
            Update::Connection(Connection::Live)
        );
        let controls = handle.controls.clone().unwrap();
        controls.send(ReplayControl::Step(middle)).unwrap();
        let mut seqs = Vec::new();
        loop {
            match next(&mut handle).await {
                Update::Events(batch) => seqs.extend(batch.iter().map(|e| e.seq)),
                Update::Clock(at) if at == middle => break,
                _ => {}
            }
        }
        assert_eq!(seqs, [1, 2]);
        assert_eq!(
            next(&mut handle).await,
            Update::Connection(Connection::Live)
        );
        // Held: a second later the clock still says the moment.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(handle.clock.now(), Some(middle));
        while let Ok(update) = handle.updates.try_recv() {
            if let Update::Clock(at) = update {
                assert_eq!(at, middle, "the clock stands while paused");
            }
        }
        controls.send(ReplayControl::Step(end)).unwrap();
        loop {
            if next(&mut handle).await == Update::Connection(Connection::Ended) {
                break;
            }
        }
        assert_eq!(handle.clock.now(), Some(end));
    }
}
