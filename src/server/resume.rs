//! Taking up a served window after the server stopped: the simulator is
//! rebuilt from its journal by replaying each recorded command at the moment
//! it was applied, and must reproduce every recorded event exactly before it
//! goes on. Clients then resume from their last seq as if nothing happened.

use std::path::{Path, PathBuf};

use crate::backend::metrics;

use crate::journal::{self, Journal, Record};
use crate::model::{Event, EventKind, MetricPoint};
use crate::sim::{Scenario, SimOptions, Simulator};

use super::hub::{Answer, Answered};

/// The journal mode of a served window.
pub const MODE: &str = "serve";

/// The newest served window of `backend` in `dir` whose release has not
/// finished, if any.
pub fn find(dir: &Path, backend: &str) -> Option<(PathBuf, Journal)> {
    let (summaries, _) = journal::list(dir).ok()?;
    summaries
        .into_iter()
        // A window another server is serving now is not taken up.
        .filter(|s| s.in_flight && !journal::in_use(&s.path))
        .find_map(|summary| {
            let journal = journal::read(&summary.path).ok()?;
            match &journal.window {
                Some(Record::Window {
                    mode, backend: b, ..
                }) if mode == MODE && b == backend => Some((summary.path, journal)),
                _ => None,
            }
        })
}

/// What a rebuilt window starts from.
pub struct Rebuilt {
    pub sim: Simulator,
    pub answered: Answered,
    /// Events due at the journal's last moment that it had not recorded yet
    /// (the server stopped mid-way through them): record them, then serve.
    pub unrecorded: Vec<Event>,
}

/// A simulator brought to where the journal ends, and the commands it had
/// answered. Fails, saying where, when the journal does not match the
/// scenario and seed given now.
pub fn rebuild(
    scenario: Scenario,
    mut options: SimOptions,
    journal: &Journal,
) -> Result<Rebuilt, String> {
    let Some(first) = journal.events.first() else {
        return Err("the journal holds no events".into());
    };
    options.origin = Some(first.at);
    let mut sim = Simulator::new(scenario, options);
    let mut events = sim.start();
    let answered = replay(&mut sim, journal, &mut events);
    if let Some(last) = journal.events.last() {
        events.extend(sim.advance_to(last.at));
    }
    same_as_recorded(&journal.events, &events)?;
    let unrecorded = events.split_off(journal.events.len());
    Ok(Rebuilt {
        sim,
        answered,
        unrecorded,
    })
}

/// Gives the simulator again what the window was given, each where it came
/// in the record: the commands in the order they were applied, each at its
/// answering event's time, and, with metrics read from a Prometheus, what it
/// said. A command recorded but never applied (the server stopped first)
/// has no answer; its client sends it again. The answers, by command id.
fn replay(sim: &mut Simulator, journal: &Journal, events: &mut Vec<Event>) -> Answered {
    let mut answered = Answered::new();
    let recorded: std::collections::HashSet<&str> = journal
        .commands
        .iter()
        .map(|(_, c)| c.id.as_str())
        .collect();
    let external = sim.external_metrics();
    let origin = sim_origin(journal);
    let history = |e: &Event| match e.kind {
        EventKind::Metric {
            series,
            cohort,
            value,
        } if e.at < origin => Some(MetricPoint {
            at: e.at,
            series,
            cohort,
            value,
        }),
        _ => None,
    };
    let mut n = 0;
    while n < journal.events.len() {
        let event = &journal.events[n];
        let previous = n.checked_sub(1).map(|p| journal.events[p].at);
        n += 1;
        match &event.kind {
            EventKind::CommandAccepted { command, .. }
            | EventKind::CommandRejected { command, .. } => {
                if !recorded.contains(command.id.as_str()) || answered.contains_key(&command.id) {
                    continue; // the simulator's own people, or an id answered before
                }
                events.extend(sim.advance_to(event.at));
                let (verdict, more) = sim.submit(command.clone());
                events.extend(more);
                answered.insert(command.id.clone(), (command.clone(), Answer::Done(verdict)));
            }
            &EventKind::Metric {
                series,
                cohort,
                value,
            } if external => {
                if let Some(first) = history(event) {
                    // History: one batch, as it came, taken after whatever
                    // came before it.
                    let mut batch = vec![first];
                    while let Some(more) = journal.events.get(n).and_then(history) {
                        batch.push(more);
                        n += 1;
                    }
                    if let Some(previous) = previous {
                        events.extend(sim.advance_to(previous));
                    }
                    events.extend(sim.backfill(&batch));
                } else {
                    events.extend(sim.advance_to(event.at));
                    events.extend(sim.observe(series, cohort, value));
                }
            }
            EventKind::Log {
                level,
                source,
                message,
                ..
            } if external && source == metrics::SOURCE => {
                events.extend(sim.advance_to(event.at));
                events.extend(sim.metrics_said(*level, metrics::SOURCE, message.clone()));
            }
            _ => {}
        }
    }
    answered
}

/// Every recorded event must come out again, the same.
fn same_as_recorded(recorded: &[Event], again: &[Event]) -> Result<(), String> {
    for (n, event) in recorded.iter().enumerate() {
        match again.get(n) {
            Some(again) if again == event => {}
            Some(again) => {
                return Err(format!(
                    "the journal differs from this scenario and seed at seq {} (recorded {}, now {})",
                    event.seq,
                    event.kind.name(),
                    again.kind.name()
                ));
            }
            None => {
                // Where each ends: the rebuild's last event, the journal's.
                let end = again.last().map_or(0, |e| e.seq);
                let last = recorded.last().map_or(0, |e| e.seq);
                let more = recorded.len() - n;
                let s = if more == 1 { "" } else { "s" };
                return Err(format!(
                    "this scenario and seed end at seq {end} but the journal goes on to seq {last} ({more} more event{s})"
                ));
            }
        }
    }
    Ok(())
}

/// Where a journal's window started: its first event.
fn sim_origin(journal: &Journal) -> jiff::Timestamp {
    journal
        .events
        .first()
        .map_or(jiff::Timestamp::UNIX_EPOCH, |e| e.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Command};
    use crate::sim::{bundled, scenario};
    use jiff::SignedDuration;

    fn two_person() -> Scenario {
        scenario::parse(bundled::get("two-person").unwrap()).unwrap()
    }

    #[test]
    fn commands_are_replayed_in_the_order_they_were_applied() {
        let options = SimOptions::default();
        let mut sim = Simulator::new(two_person(), options.clone());
        let origin = sim.origin();
        let mut events = sim.start();
        // `late` is recorded first but applied after `early` (it was sent
        // again after a restart).
        let late = Command::new("late", crate::person("frank"), Action::Resume);
        let early = Command::new("early", crate::person("frank"), Action::Advance);
        events.extend(sim.advance_to(origin + SignedDuration::from_mins(1)));
        events.extend(sim.submit(early.clone()).1);
        events.extend(sim.advance_to(origin + SignedDuration::from_mins(3)));
        events.extend(sim.submit(late.clone()).1);
        events.extend(sim.advance_to(origin + SignedDuration::from_mins(4)));
        let journal = Journal {
            commands: vec![
                (origin, late),
                (origin, early),
                (
                    origin,
                    Command::new("never", crate::person("frank"), Action::Advance),
                ),
            ],
            events: events.clone(),
            ..Journal::default()
        };
        let rebuilt = rebuild(two_person(), options, &journal).expect("the journal matches");
        assert_eq!(rebuilt.sim.now(), events.last().unwrap().at);
        assert!(rebuilt.answered.contains_key("late") && rebuilt.answered.contains_key("early"));
        assert!(
            !rebuilt.answered.contains_key("never"),
            "never applied, so not answered"
        );
        assert!(
            rebuilt
                .unrecorded
                .iter()
                .all(|e| e.seq > events.last().unwrap().seq)
        );
    }

    /// A window whose metrics came from a Prometheus is rebuilt from what
    /// the journal says Prometheus reported: history, samples that fired a
    /// rule, and the source going away, in the order they came.
    #[test]
    fn a_window_fed_by_prometheus_is_rebuilt_from_its_readings() {
        use crate::model::{Cohort, Level, Series, Status};
        let options = SimOptions {
            autopilot: true,
            external_metrics: true,
            ..SimOptions::default()
        };
        let story = || scenario::parse(bundled::get("canary-regression").unwrap()).unwrap();
        let mut sim = Simulator::new(story(), options.clone());
        let origin = sim.origin();
        let mut events = sim.start();
        let mut at = origin + SignedDuration::from_secs(3);
        events.extend(sim.advance_to(at));
        events.extend(sim.backfill(&[MetricPoint {
            at: origin - SignedDuration::from_mins(1),
            series: Series::ErrorRate,
            cohort: Cohort::Stable,
            value: 0.004,
        }]));
        let mut n = 0;
        while matches!(sim.release().status(), Status::Running | Status::Paused) {
            at += SignedDuration::from_secs(7);
            events.extend(sim.advance_to(at));
            n += 1;
            if n == 10 {
                events.extend(sim.metrics_said(
                    Level::Error,
                    metrics::SOURCE,
                    "metrics: cannot reach Prometheus".into(),
                ));
            }
            // As the backend takes a reading: each value after what is due.
            if sim.release().rollout().began {
                events.extend(sim.observe(Series::ErrorRate, Cohort::Canary, 0.3));
            }
            events.extend(sim.advance_to(at));
            events.extend(sim.observe(Series::ErrorRate, Cohort::Stable, 0.003));
        }
        events.extend(sim.advance_to(at + SignedDuration::from_secs(20)));
        assert!(
            events
                .iter()
                .any(|e| matches!(e.kind, EventKind::RollbackStarted { .. }))
        );
        let journal = Journal {
            events: events.clone(),
            ..Journal::default()
        };
        let rebuilt = rebuild(story(), options.clone(), &journal).expect("the journal matches");
        assert_eq!(rebuilt.sim.release().status(), sim.release().status());
        // Without the readings, the same journal cannot be reproduced.
        let own = SimOptions {
            external_metrics: false,
            ..options
        };
        assert!(rebuild(story(), own, &journal).is_err());
    }

    #[test]
    fn a_journal_of_another_seed_is_refused_with_the_seq() {
        let mut sim = Simulator::new(two_person(), SimOptions::default());
        let origin = sim.origin();
        let mut events = sim.start();
        events.extend(sim.advance_to(origin + SignedDuration::from_mins(5)));
        let journal = Journal {
            events,
            ..Journal::default()
        };
        let other = SimOptions {
            seed: 99,
            ..SimOptions::default()
        };
        let why = rebuild(two_person(), other, &journal)
            .err()
            .expect("refused");
        assert!(why.contains("differs") && why.contains("seq"), "{why}");
    }

    #[test]
    fn a_journal_longer_than_the_rebuild_says_where_each_ends() {
        let mut sim = Simulator::new(two_person(), SimOptions::default());
        let events = sim.start();
        let recorded: Vec<Event> = (1..=5u64)
            .map(|seq| Event {
                seq,
                ..events[0].clone()
            })
            .collect();
        let why = same_as_recorded(&recorded, &recorded[..2]).unwrap_err();
        assert_eq!(
            why,
            "this scenario and seed end at seq 2 but the journal goes on to seq 5 (3 more events)"
        );
        let why = same_as_recorded(&recorded, &recorded[..4]).unwrap_err();
        assert!(why.ends_with("goes on to seq 5 (1 more event)"), "{why}");
    }
}
