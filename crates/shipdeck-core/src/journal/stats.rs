//! The team's delivery figures from recorded windows (`shipdeck stats`):
//! deployment frequency, change-failure rate, time to restore and the wait
//! for approvals, per service and in total. Each is defined in
//! `docs/stats.md`; the definitions here are the same.
//!
//! A release recorded twice (a console's journal and a server's of the same
//! window, or a replay's) counts once: releases are told apart by their id
//! and the time they started.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::Journal;
use crate::model::units::format_duration;
use crate::model::{EventKind, GateState, Outcome};

/// One release as its journal recorded it: what the figures need.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub id: String,
    pub service: String,
    pub started: Timestamp,
    /// When and how it ended; `None`: still in flight when the record ends.
    pub finished: Option<(Timestamp, Outcome)>,
    /// Each gate approved: when it opened, and when the sign-off that
    /// approved it came.
    pub approvals: Vec<(Timestamp, Timestamp)>,
    /// How many events it holds (of two records, the fuller is kept).
    pub events: usize,
}

impl Recorded {
    /// The release a journal holds, if it started in it.
    pub fn of(journal: &Journal) -> Option<Recorded> {
        let mut recorded: Option<Recorded> = None;
        let mut opened: BTreeMap<String, Timestamp> = BTreeMap::new();
        for event in &journal.events {
            match &event.kind {
                EventKind::ReleaseStarted { plan } => {
                    recorded = Some(Recorded {
                        id: event.release.clone(),
                        service: plan.service.clone(),
                        started: event.at,
                        finished: None,
                        approvals: Vec::new(),
                        events: 0,
                    });
                    opened.clear();
                }
                EventKind::GateChanged { gate, state, .. } => match state {
                    GateState::Open => {
                        opened.entry(gate.clone()).or_insert(event.at);
                    }
                    GateState::Approved => {
                        if let (Some(from), Some(r)) = (opened.remove(gate), recorded.as_mut()) {
                            r.approvals.push((from, event.at));
                        }
                    }
                    _ => {
                        opened.remove(gate);
                    }
                },
                EventKind::ReleaseFinished { outcome } => {
                    if let Some(r) = recorded.as_mut() {
                        r.finished = Some((event.at, *outcome));
                    }
                }
                _ => {}
            }
            if let Some(r) = recorded.as_mut() {
                r.events += 1;
            }
        }
        recorded
    }

    fn failed(&self) -> Option<Timestamp> {
        match self.finished {
            Some((at, Outcome::RolledBack | Outcome::Aborted | Outcome::Failed)) => Some(at),
            _ => None,
        }
    }

    fn succeeded(&self) -> Option<Timestamp> {
        match self.finished {
            Some((at, Outcome::Succeeded)) => Some(at),
            _ => None,
        }
    }
}

/// The releases, each once: by id and start, the record with the most
/// events kept (a console that joined late holds fewer).
pub fn dedupe(releases: Vec<Recorded>) -> Vec<Recorded> {
    let mut kept: BTreeMap<(String, Timestamp), Recorded> = BTreeMap::new();
    for release in releases {
        let key = (release.id.clone(), release.started);
        match kept.get(&key) {
            Some(had) if had.events >= release.events => {}
            _ => {
                kept.insert(key, release);
            }
        }
    }
    kept.into_values().collect()
}

/// A duration for the JSON: whole seconds, and as people read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Took {
    pub seconds: i64,
    pub text: String,
}

impl From<SignedDuration> for Took {
    fn from(d: SignedDuration) -> Took {
        Took {
            seconds: d.as_secs(),
            text: format_duration(d),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frequency {
    /// Releases that succeeded in the period.
    pub succeeded: usize,
    /// The period's length in days.
    pub days: f64,
    /// `succeeded / days`.
    pub per_day: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restore {
    /// Failed releases (in the period) a later success restored.
    pub restored: usize,
    /// Failed releases with no success of their service after them yet.
    pub not_restored: usize,
    pub median: Option<Took>,
    pub max: Option<Took>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wait {
    /// Gates approved in the period.
    pub approved: usize,
    pub median: Option<Took>,
    pub p90: Option<Took>,
    pub max: Option<Took>,
}

/// How the releases that finished in the period ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ended {
    pub finished: usize,
    pub succeeded: usize,
    pub rolled_back: usize,
    pub aborted: usize,
    pub failed: usize,
}

/// The figures for one service, or for all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// `None`: every service.
    pub service: Option<String>,
    pub releases: Ended,
    pub deployment_frequency: Frequency,
    /// Rolled back or aborted over all that finished; `None` when none did.
    pub change_failure_rate: Option<f64>,
    pub time_to_restore: Restore,
    pub approval_wait: Wait,
}

/// Every figure: in total (flattened at the top) and per service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub since: Timestamp,
    pub until: Timestamp,
    #[serde(flatten)]
    pub total: Figures,
    pub services: Vec<Figures>,
}

/// The figures over `since..=until` for the releases given (deduplicated
/// first), for one service when `service` names it.
pub fn figures(
    releases: Vec<Recorded>,
    since: Timestamp,
    until: Timestamp,
    service: Option<&str>,
) -> Stats {
    let releases: Vec<Recorded> = dedupe(releases)
        .into_iter()
        .filter(|r| service.is_none_or(|s| r.service == s))
        .collect();
    let mut services: Vec<String> = releases.iter().map(|r| r.service.clone()).collect();
    services.sort();
    services.dedup();
    let period = (since, until);
    let per_service = services
        .iter()
        .map(|s| {
            let of: Vec<&Recorded> = releases.iter().filter(|r| &r.service == s).collect();
            figures_of(Some(s.clone()), &of, period)
        })
        .collect();
    let all: Vec<&Recorded> = releases.iter().collect();
    Stats {
        since,
        until,
        total: figures_of(service.map(String::from), &all, period),
        services: per_service,
    }
}

fn within((since, until): (Timestamp, Timestamp), at: Timestamp) -> bool {
    since <= at && at <= until
}

fn figures_of(
    service: Option<String>,
    releases: &[&Recorded],
    period: (Timestamp, Timestamp),
) -> Figures {
    let mut ended = Ended::default();
    for (_, outcome) in releases
        .iter()
        .filter_map(|r| r.finished)
        .filter(|(at, _)| within(period, *at))
    {
        ended.finished += 1;
        match outcome {
            Outcome::Succeeded => ended.succeeded += 1,
            Outcome::RolledBack => ended.rolled_back += 1,
            Outcome::Aborted => ended.aborted += 1,
            Outcome::Failed => ended.failed += 1,
        }
    }
    let days = period.1.duration_since(period.0).as_secs_f64() / 86_400.0;
    let change_failure_rate = (ended.finished > 0)
        .then(|| (ended.rolled_back + ended.aborted) as f64 / ended.finished as f64);
    // A release still in flight when its record ends counts in no figure.
    let waits: Vec<SignedDuration> = releases
        .iter()
        .filter(|r| r.finished.is_some())
        .flat_map(|r| r.approvals.iter())
        .filter(|(_, approved)| within(period, *approved))
        .map(|(opened, approved)| approved.duration_since(*opened))
        .collect();
    Figures {
        service,
        deployment_frequency: Frequency {
            succeeded: ended.succeeded,
            days,
            per_day: if days > 0.0 {
                ended.succeeded as f64 / days
            } else {
                0.0
            },
        },
        releases: ended,
        change_failure_rate,
        time_to_restore: restore(releases, period),
        approval_wait: wait(waits),
    }
}

/// From each failed end in the period to the end of the next release of
/// the same service that succeeded (up to the period's end).
fn restore(releases: &[&Recorded], period: (Timestamp, Timestamp)) -> Restore {
    let (mut took, mut not_restored) = (Vec::new(), 0);
    for failed in releases
        .iter()
        .filter_map(|r| r.failed().map(|at| (r, at)))
        .filter(|(_, at)| within(period, *at))
    {
        let (release, at) = failed;
        let next = releases
            .iter()
            .filter(|r| r.service == release.service)
            .filter_map(|r| r.succeeded())
            .filter(|end| *end > at && *end <= period.1)
            .min();
        match next {
            Some(end) => took.push(end.duration_since(at)),
            None => not_restored += 1,
        }
    }
    took.sort();
    Restore {
        restored: took.len(),
        not_restored,
        median: median(&took).map(Took::from),
        max: took.last().copied().map(Took::from),
    }
}

fn wait(mut waits: Vec<SignedDuration>) -> Wait {
    waits.sort();
    Wait {
        approved: waits.len(),
        median: median(&waits).map(Took::from),
        p90: rank(&waits, 0.9).map(Took::from),
        max: waits.last().copied().map(Took::from),
    }
}

/// The middle of sorted durations; of an even number, the mean of the two
/// in the middle (to the second).
pub fn median(sorted: &[SignedDuration]) -> Option<SignedDuration> {
    let n = sorted.len();
    match n {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => {
            let sum = sorted[n / 2 - 1].as_secs() + sorted[n / 2].as_secs();
            Some(SignedDuration::from_secs(sum / 2))
        }
    }
}

/// The nearest-rank percentile of sorted durations: the smallest value at
/// least `fraction` of them are at or below.
pub fn rank(sorted: &[SignedDuration], fraction: f64) -> Option<SignedDuration> {
    if sorted.is_empty() {
        return None;
    }
    let at = (fraction * sorted.len() as f64).ceil() as usize;
    sorted.get(at.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(list: &[i64]) -> Vec<SignedDuration> {
        list.iter().map(|s| SignedDuration::from_secs(*s)).collect()
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two_and_p90_is_nearest_rank() {
        assert_eq!(
            median(&secs(&[10, 20, 40])),
            Some(SignedDuration::from_secs(20))
        );
        assert_eq!(
            median(&secs(&[10, 20, 40, 100])),
            Some(SignedDuration::from_secs(30))
        );
        let ten = secs(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(rank(&ten, 0.9), Some(SignedDuration::from_secs(9)));
        assert_eq!(rank(&secs(&[5]), 0.9), Some(SignedDuration::from_secs(5)));
        assert_eq!(median(&[]), None);
    }
}
