//! The release's clock: one time base for everything a window stamps.
//!
//! The time is the backend's — virtual under the simulator, the
//! recording's under a replay, the server's under `--backend` — and whoever
//! stamps something in the window reads it here: the journal's commands,
//! verdicts and closing line, and the lines of the operator's own log
//! sources as they arrive. So nothing in one window is on the wall clock
//! beside the release's.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use jiff::Timestamp;

use crate::model::time::{self, Saturating};

use super::Update;

/// The longest real wait a backend schedules: a year is as good as never,
/// and any clock can add it.
const LONGEST_WAIT: f64 = 365.0 * 24.0 * 3600.0;

/// A real wait of `secs` seconds (a stretch of virtual time over a speed):
/// at most a year, and none for what is no wait (negative, not a number).
pub fn real_wait(secs: f64) -> std::time::Duration {
    if secs.is_nan() || secs <= 0.0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::from_secs_f64(secs.min(LONGEST_WAIT))
}

/// A shared handle on the release's clock; clones read the same clock.
#[derive(Debug, Clone, Default)]
pub struct ReleaseClock(Arc<Mutex<Reading>>);

/// What the clock last learned.
#[derive(Debug, Default)]
struct Reading {
    /// The release's time at `since`.
    at: Option<Timestamp>,
    since: Option<Instant>,
    /// Release seconds per real second (0: stopped).
    rate: f64,
    /// It never reads later than this (a recording's end).
    until: Option<Timestamp>,
    /// The backend keeps the time itself; what it says in updates adds
    /// nothing.
    paced: bool,
}

impl ReleaseClock {
    /// A clock that keeps the wall's time: a real system's release (a
    /// Rollout, a workflow run) runs on it.
    pub fn wall() -> ReleaseClock {
        let clock = ReleaseClock::default();
        clock.pace(Timestamp::now(), Instant::now(), 1.0, None);
        clock
    }

    fn reading(&self) -> MutexGuard<'_, Reading> {
        // A reading is plain data: one left by a panicking thread is whole.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The release's time now; `None` before the backend has said any.
    pub fn now(&self) -> Option<Timestamp> {
        let reading = self.reading();
        let at = reading.at?;
        let elapsed = reading
            .since
            .map_or(0.0, |since| since.elapsed().as_secs_f64() * reading.rate);
        let now = at.plus(time::seconds(elapsed));
        Some(reading.until.map_or(now, |until| now.min(until)))
    }

    /// The release's time now, or the wall clock's while the backend has
    /// said nothing yet (a command typed before the first event).
    pub fn now_or_wall(&self) -> Timestamp {
        self.now().unwrap_or_else(Timestamp::now)
    }

    /// For a backend that keeps the time: the release's time was `at` at
    /// the real instant `since`, and goes on at `rate` release seconds a
    /// real second (0 stops it), never past `until`.
    pub fn pace(&self, at: Timestamp, since: Instant, rate: f64, until: Option<Timestamp>) {
        *self.reading() = Reading {
            at: Some(at),
            since: Some(since),
            rate: if rate.is_finite() { rate.max(0.0) } else { 0.0 },
            until,
            paced: true,
        };
    }

    /// What the console heard from a backend that does not keep the clock
    /// here (a server): its clock and its events move the time on; a
    /// release started afresh starts it again. A paced clock ignores it.
    pub fn hear(&self, update: &Update) {
        match update {
            Update::Clock(at) => self.heard(*at),
            Update::Events(events) => {
                if let Some(last) = events.last() {
                    self.heard(last.at);
                }
            }
            Update::Reset => {
                let mut reading = self.reading();
                if !reading.paced {
                    *reading = Reading::default();
                }
            }
            _ => {}
        }
    }

    /// The backend said it is `at` (its clock, or an event's time): the
    /// time moves on to it. A paced clock knows better and ignores it.
    pub fn heard(&self, at: Timestamp) {
        let mut reading = self.reading();
        if !reading.paced && reading.at.is_none_or(|known| known < at) {
            reading.at = Some(at);
            reading.since = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, EventKind, Outcome};

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_paced_clock_runs_at_its_rate_stops_at_its_end_and_ignores_what_it_hears() {
        let clock = ReleaseClock::default();
        assert_eq!(clock.now(), None);
        let ten_seconds_ago = Instant::now() - std::time::Duration::from_secs(10);
        clock.pace(at(0), ten_seconds_ago, 6.0, None);
        let now = clock.now().unwrap();
        assert!(now >= at(60) && now < at(70), "{now}");
        clock.hear(&Update::Clock(at(5000)));
        assert!(clock.now().unwrap() < at(70), "a paced clock is not told");
        clock.pace(at(0), ten_seconds_ago, 6.0, Some(at(30)));
        assert_eq!(clock.now(), Some(at(30)));
        clock.pace(at(100), ten_seconds_ago, 0.0, None);
        assert_eq!(clock.now(), Some(at(100)), "stopped");
    }

    #[test]
    fn a_heard_clock_follows_the_backends_clock_and_events_and_starts_again_on_a_reset() {
        let clock = ReleaseClock::default();
        clock.hear(&Update::Clock(at(10)));
        assert_eq!(clock.now(), Some(at(10)));
        let finished = Event {
            seq: 1,
            at: at(25),
            release: "r".into(),
            kind: EventKind::ReleaseFinished {
                outcome: Outcome::Succeeded,
            },
        };
        clock.hear(&Update::Events(vec![finished]));
        assert_eq!(clock.now(), Some(at(25)));
        clock.hear(&Update::Reset);
        assert_eq!(clock.now(), None);
    }
}
