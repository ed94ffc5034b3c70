//! The deployment report the runbook asks for, from a journal.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

mod markdown;
mod timeline;

use super::Journal;
use crate::engine::Verdict;
use crate::model::units::format_duration;
use crate::model::{
    AlertState, Cohort, CommandKind, EventKind, Outcome, Person, Release, ReleasePlan, Series,
    Severity,
};

/// A metric per cohort: before the rollout, at its worst, and at the end.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    pub series: Series,
    pub cohort: Cohort,
    pub before: Option<f64>,
    pub worst: Option<f64>,
    pub after: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub gate: String,
    pub operator: Person,
    pub at: Timestamp,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub gate: String,
    pub operator: Person,
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackRecord {
    /// An operator, or `rule:NAME`.
    pub by: Person,
    pub automatic: bool,
    pub reason: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemRecord {
    pub text: String,
    pub automatic: bool,
    pub ticked_by: Option<Person>,
    pub at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistRecord {
    pub name: String,
    /// The checklist worked through after a rollback.
    pub rollback: bool,
    pub items: Vec<ItemRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRecord {
    pub at: Timestamp,
    pub rule: String,
    pub severity: Severity,
    pub state: AlertState,
    pub message: String,
    /// Who acknowledged it, for an acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Person>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    pub at: Timestamp,
    pub operator: Person,
    pub command: CommandKind,
    pub accepted: bool,
    /// The note of an accepted command, or why it was refused.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Moment {
    pub at: Timestamp,
    pub what: String,
}

/// Everything a release manager asks of a window.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub release: String,
    pub service: String,
    pub version_from: String,
    pub version_to: String,
    pub environment: String,
    pub strategy: String,
    pub deployer: String,
    /// Who ran the window that recorded this, and how (`console`, `events`).
    pub recorded_by: String,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub duration: Option<String>,
    /// `succeeded`, `rolled_back`, `failed`, `aborted`, or `unfinished`.
    pub outcome: String,
    /// Why the window closed while the release was unfinished, as its
    /// journal says (`the simulator stopped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    /// Time the whole service's availability was below 95%.
    pub downtime: String,
    pub approvals: Vec<Approval>,
    pub rejections: Vec<Rejection>,
    pub rollback: Option<RollbackRecord>,
    /// Who stopped the release before it reached production, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<crate::model::Stopped>,
    pub checklists: Vec<ChecklistRecord>,
    pub metrics: Vec<MetricRow>,
    pub alerts: Vec<AlertRecord>,
    pub commands: Vec<CommandRecord>,
    pub timeline: Vec<Moment>,
    /// Damage found in the journal file (a torn last line, unreadable lines).
    pub journal_warnings: Vec<String>,
}

const DOWN_BELOW: f64 = 0.95;
/// A cohort whose last sample is older than this at the end had no traffic.
const STALE: SignedDuration = SignedDuration::from_secs(60);

/// Builds the report of a journal.
pub fn build(journal: &Journal, warnings: Vec<String>) -> Report {
    let release = journal.release();
    let plan = release.plan.as_ref();
    let of_plan = |field: fn(&ReleasePlan) -> String| plan.map(field).unwrap_or_default();
    let samples = Samples::of(journal);
    let mut commands = answered_commands(journal);
    let mut timeline = timeline::told(journal, &release);
    timeline.extend(timeline::link(journal));
    timeline.extend(timeline::webhooks(journal));
    for (command, moment) in unanswered_commands(journal) {
        commands.push(command);
        timeline.push(moment);
    }
    timeline.sort_by_key(|m| m.at);
    Report {
        release: release.id.clone(),
        service: of_plan(|p| p.service.clone()),
        version_from: of_plan(|p| p.version_from.clone()),
        version_to: of_plan(|p| p.version_to.clone()),
        environment: of_plan(|p| p.environment.clone()),
        strategy: of_plan(|p| p.strategy_words().to_string()),
        deployer: of_plan(|p| p.deployer.to_string()),
        recorded_by: recorded_by(journal),
        started_at: release.started_at,
        finished_at: release.finished_at,
        duration: release
            .started_at
            .zip(release.finished_at.or(release.last_at))
            .map(|(a, b)| format_duration(b.duration_since(a))),
        outcome: match release.outcome() {
            Some(o) => o.name().to_string(),
            None => "unfinished".to_string(),
        },
        closed: journal
            .closed
            .as_ref()
            .filter(|_| release.outcome().is_none())
            .map(|(_, why)| why.clone()),
        downtime: format_duration(samples.downtime()),
        approvals: approvals(&release),
        rejections: rejections(&release),
        rollback: rollback(&release),
        stopped: release.stopped.clone(),
        checklists: checklists(&release),
        metrics: samples.rows(journal),
        alerts: alerts(journal),
        commands,
        timeline,
        journal_warnings: warnings,
    }
}

fn recorded_by(journal: &Journal) -> String {
    match (&journal.window, journal.operator()) {
        (Some(super::Record::Window { mode, .. }), Some(operator)) => {
            format!("{operator} ({mode})")
        }
        _ => "unknown".to_string(),
    }
}

/// A journal's metric samples, in order, per series and cohort.
struct Samples {
    by_series: BTreeMap<(Series, Cohort), Vec<(Timestamp, f64)>>,
    /// When the window opened: samples before it are a metrics source's
    /// history.
    opened: Option<Timestamp>,
}

impl Samples {
    fn of(journal: &Journal) -> Samples {
        let mut by_series: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for e in &journal.events {
            if let EventKind::Metric {
                series,
                cohort,
                value,
            } = e.kind
            {
                by_series
                    .entry((series, cohort))
                    .or_default()
                    .push((e.at, value));
            }
        }
        Samples {
            by_series,
            opened: journal.events.first().map(|e| e.at),
        }
    }

    /// How long the whole service's availability stayed below 95%.
    fn downtime(&self) -> SignedDuration {
        let mut downtime = SignedDuration::ZERO;
        if let Some(availability) = self.by_series.get(&(Series::Availability, Cohort::All)) {
            for pair in availability.windows(2) {
                if pair[0].1 < DOWN_BELOW && self.opened.is_none_or(|o| pair[0].0 >= o) {
                    downtime = downtime.saturating_add(pair[1].0.duration_since(pair[0].0));
                }
            }
        }
        downtime
    }

    /// The error rate and p95 latency of each cohort that has samples.
    fn rows(&self, journal: &Journal) -> Vec<MetricRow> {
        let marks = Marks {
            began: journal
                .events
                .iter()
                .find(|e| matches!(e.kind, EventKind::CanaryStep { .. }))
                .map(|e| e.at),
            opened: self.opened,
            last_sample: self
                .by_series
                .values()
                .filter_map(|v| v.last())
                .map(|(at, _)| *at)
                .max(),
            traffic_moved: journal
                .events
                .iter()
                .rev()
                .find(|e| {
                    matches!(
                        e.kind,
                        EventKind::CanaryStep { .. } | EventKind::RollbackStarted { .. }
                    )
                })
                .map(|e| e.at),
        };
        let mut rows = Vec::new();
        for series in [Series::ErrorRate, Series::LatencyP95] {
            for cohort in [Cohort::Canary, Cohort::Stable, Cohort::All] {
                if let Some(values) = self.by_series.get(&(series, cohort)) {
                    rows.push(marks.row(series, cohort, values));
                }
            }
        }
        rows
    }
}

/// The moments a metric row is measured against.
struct Marks {
    /// The rollout's first step.
    began: Option<Timestamp>,
    opened: Option<Timestamp>,
    /// The last sample of any series.
    last_sample: Option<Timestamp>,
    /// The last step or rollback: when traffic last moved.
    traffic_moved: Option<Timestamp>,
}

impl Marks {
    /// One series of one cohort: its samples, in order, never empty.
    fn row(&self, series: Series, cohort: Cohort, values: &[(Timestamp, f64)]) -> MetricRow {
        let mean = |vs: &[(Timestamp, f64)]| {
            (!vs.is_empty()).then(|| vs.iter().map(|(_, v)| v).sum::<f64>() / vs.len() as f64)
        };
        let before: Vec<_> = values
            .iter()
            .copied()
            .filter(|(at, _)| self.began.is_none_or(|b| *at < b))
            .collect();
        // At the end: the samples since traffic last moved (a step or a
        // rollback), at most the last four, and none for a cohort that
        // no longer had traffic when the window ended.
        let (last_at, _) = values[values.len() - 1];
        let still_served = self
            .last_sample
            .is_none_or(|end| end.duration_since(last_at) <= STALE);
        let settled: Vec<_> = values
            .iter()
            .copied()
            .filter(|(at, _)| self.traffic_moved.is_none_or(|moved| *at > moved))
            .collect();
        let last = &settled[settled.len().saturating_sub(4)..];
        MetricRow {
            series,
            cohort,
            before: if self.began.is_some() {
                mean(&before)
            } else {
                None
            },
            // History read from before the window (a metrics source's) is a
            // baseline, never this window's worst.
            worst: values
                .iter()
                .filter(|(at, _)| self.opened.is_none_or(|o| *at >= o))
                .map(|(_, v)| *v)
                .reduce(f64::max),
            after: if still_served { mean(last) } else { None },
        }
    }
}

fn approvals(release: &Release) -> Vec<Approval> {
    release
        .gates
        .iter()
        .flat_map(|g| {
            g.signoffs.iter().map(|s| Approval {
                gate: g.plan.name.clone(),
                operator: s.operator.clone(),
                at: s.at,
                comment: s.comment.clone(),
            })
        })
        .collect()
}

fn rejections(release: &Release) -> Vec<Rejection> {
    release
        .gates
        .iter()
        .filter_map(|g| {
            g.rejection.as_ref().map(|r| Rejection {
                gate: g.plan.name.clone(),
                operator: r.operator.clone(),
                at: r.at,
                reason: r.reason.clone(),
            })
        })
        .collect()
}

fn rollback(release: &Release) -> Option<RollbackRecord> {
    release.rollback.as_ref().map(|r| RollbackRecord {
        by: r.by.clone(),
        automatic: r.by.rule_name().is_some(),
        reason: r.reason.clone(),
        started_at: r.started_at,
        finished_at: r.finished_at,
    })
}

fn checklists(release: &Release) -> Vec<ChecklistRecord> {
    let rollback_list = release
        .plan
        .as_ref()
        .and_then(|p| p.rollback_checklist.as_deref());
    release
        .checklists
        .iter()
        .map(|c| ChecklistRecord {
            rollback: rollback_list == Some(c.id.as_str()),
            name: c.name.clone(),
            items: c
                .items
                .iter()
                .map(|i| ItemRecord {
                    text: i.plan.text.clone(),
                    automatic: i.plan.automatic,
                    ticked_by: i.ticked.as_ref().map(|t| t.by.clone()),
                    at: i.ticked.as_ref().map(|t| t.at),
                })
                .collect(),
        })
        .collect()
}

fn alerts(journal: &Journal) -> Vec<AlertRecord> {
    journal
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Alert {
                rule,
                severity,
                state,
                message,
                by,
                ..
            } => Some(AlertRecord {
                at: e.at,
                rule: rule.clone(),
                severity: *severity,
                state: *state,
                message: message.clone(),
                by: by.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The commands the events answer, accepted or refused, in order.
fn answered_commands(journal: &Journal) -> Vec<CommandRecord> {
    journal
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommandAccepted { command, note } => Some(CommandRecord {
                at: e.at,
                operator: command.operator.clone(),
                command: command.action.kind(),
                accepted: true,
                message: note.clone(),
            }),
            EventKind::CommandRejected { command, reason } => Some(CommandRecord {
                at: e.at,
                operator: command.operator.clone(),
                command: command.action.kind(),
                accepted: false,
                message: Some(reason.clone()),
            }),
            _ => None,
        })
        .collect()
}

/// Commands on the record that no event answers: the window ended (a
/// crash, a kill) between recording a command and hearing back. Each with
/// its moment on the timeline.
fn unanswered_commands(journal: &Journal) -> Vec<(CommandRecord, Moment)> {
    let answered: BTreeSet<&str> = journal
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommandAccepted { command, .. }
            | EventKind::CommandRejected { command, .. } => Some(command.id.as_str()),
            _ => None,
        })
        .collect();
    journal
        .commands
        .iter()
        .filter(|(_, c)| !answered.contains(c.id.as_str()))
        .map(|(at, command)| {
            let verdict = journal
                .verdicts
                .iter()
                .find(|v| v.id == command.id)
                .map(|v| &v.verdict);
            let expired = journal
                .delivery(&command.id)
                .and_then(|d| match &d.delivery {
                    super::Delivery::Expired { waited, .. } => Some(format_duration(*waited)),
                    super::Delivery::Late(_) => None,
                });
            let record = CommandRecord {
                at: *at,
                operator: command.operator.clone(),
                command: command.action.kind(),
                accepted: verdict.is_some_and(Verdict::is_accepted),
                message: match (verdict, &expired) {
                    (Some(Verdict::Accepted { note }), _) => note.clone(),
                    (Some(Verdict::Refused(refusal)), _) => Some(refusal.reason.clone()),
                    (None, Some(waited)) => Some(format!(
                        "not sent: it waited {waited} undelivered and expired"
                    )),
                    (None, None) => {
                        Some("no answer is on the record: the window ended first".to_string())
                    }
                },
            };
            let fate = match (verdict, &expired) {
                (Some(Verdict::Accepted { .. }), _) => {
                    "accepted (its events are not on the record)".to_string()
                }
                (Some(Verdict::Refused(refusal)), _) => format!("refused: {}", refusal.reason),
                (None, Some(waited)) => {
                    format!("not sent: it waited {waited} undelivered and expired")
                }
                (None, None) => "no answer is on the record (the window ended first)".to_string(),
            };
            let moment = Moment {
                at: *at,
                what: format!(
                    "{} asked to {}; {fate}",
                    command.operator,
                    command.action.words()
                ),
            };
            (record, moment)
        })
        .collect()
}

/// The outcome word for a summary line.
pub fn outcome_word(outcome: Option<Outcome>, in_flight: bool) -> &'static str {
    match outcome {
        Some(o) => o.name(),
        None if in_flight => "unfinished",
        None => "not started",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn samples(values: &[(i64, f64)]) -> Vec<(Timestamp, f64)> {
        values.iter().map(|&(s, v)| (at(s), v)).collect()
    }

    /// A console's journal of a server that went away for 72 seconds: a
    /// sign-off given meanwhile expired unsent, a rollback waited and was
    /// sent late; then the server went away again for good.
    fn journal_of_an_outage() -> super::super::Journal {
        use super::super::Record;
        // The wall clock, days from the release's.
        let wall = |secs: i64| at(secs) + SignedDuration::from_hours(24 * 9);
        use crate::model::{Action, Command};
        let secs = SignedDuration::from_secs;
        let sign = Command::new(
            "c-1",
            crate::model::names::person("frank"),
            Action::Approve {
                gate: Some("production".into()),
                comment: None,
            },
        );
        let rollback = Command::new(
            "c-2",
            crate::model::names::person("frank"),
            Action::Rollback { reason: None },
        );
        let records = [
            Record::Window {
                version: 1,
                opened_at: at(0),
                operator: crate::model::names::person("frank"),
                backend: "http:127.0.0.1:7878 r".into(),
                mode: "console".into(),
            },
            // The release's clock is not heard while the link is down: it
            // stands at 10s; the wall clock measures the outage.
            Record::LinkLost {
                at: at(10),
                wall: Some(wall(10)),
                reason: "connection refused".into(),
            },
            Record::Command {
                at: at(12),
                wall: None,
                command: sign,
            },
            Record::Command {
                at: at(20),
                wall: None,
                command: rollback,
            },
            Record::Expired {
                at: at(42),
                id: "c-1".into(),
                waited: secs(30),
                reason: "not sent: no delivery within 30s (connection refused)".into(),
            },
            Record::LinkBack {
                at: at(82),
                wall: Some(wall(82)),
                queued: vec!["c-1".into(), "c-2".into()],
            },
            Record::SentLate {
                at: at(82),
                id: "c-2".into(),
                late: secs(62),
            },
            Record::Verdict {
                at: at(82),
                wall: None,
                id: "c-2".into(),
                verdict: Verdict::Accepted { note: None },
            },
            Record::LinkLost {
                at: at(100),
                wall: Some(wall(100)),
                reason: "connection refused".into(),
            },
            // A server going down says hello once more: back for a moment
            // is no return, and one outage.
            Record::LinkBack {
                at: at(100),
                wall: Some(wall(101)),
                queued: Vec::new(),
            },
            Record::LinkLost {
                at: at(100),
                wall: Some(wall(102)),
                reason: "connection refused".into(),
            },
        ];
        let text: String = records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap() + "\n")
            .collect();
        super::super::Journal::from_reader(text.as_bytes()).unwrap()
    }

    #[test]
    fn an_outage_is_in_the_timeline_from_when_to_when_with_what_was_queued() {
        let journal = journal_of_an_outage();
        assert_eq!(journal.outages.len(), 2);
        assert_eq!(journal.outages[0].back, Some(at(82)));
        assert_eq!(journal.outages[1].back, None);
        let report = build(&journal, Vec::new());
        let told: Vec<(Timestamp, &str)> = report
            .timeline
            .iter()
            .map(|m| (m.at, m.what.as_str()))
            .collect();
        assert_eq!(
            told,
            [
                (at(10), "Connection to the server lost: connection refused"),
                (
                    at(12),
                    "frank asked to approve; not sent: it waited 30s undelivered and expired"
                ),
                (
                    at(20),
                    "frank asked to rollback; accepted (its events are not on the record)"
                ),
                (
                    at(82),
                    "Connection back after 1m 12s; queued meanwhile: approve by frank, rollback by frank"
                ),
                (
                    at(82),
                    "The rollback by frank was sent 1m 2s late: it waited for the connection"
                ),
                (
                    at(100),
                    "Connection to the server lost: connection refused; it was not back when the record ends"
                ),
            ]
        );
        let expired = report.commands.iter().find(|c| !c.accepted).unwrap();
        assert_eq!(
            expired.message.as_deref(),
            Some("not sent: it waited 30s undelivered and expired")
        );
        let markdown = report.markdown();
        assert!(
            markdown.contains("Connection back after 1m 12s; queued meanwhile"),
            "{markdown}"
        );
    }

    #[test]
    fn a_metric_row_ends_on_the_last_four_samples_since_traffic_last_moved() {
        let marks = Marks {
            began: Some(at(30)),
            opened: Some(at(0)),
            last_sample: Some(at(120)),
            traffic_moved: Some(at(45)),
        };
        let values = samples(&[
            (-15, 9.0), // history from before the window: never the worst
            (0, 1.0),
            (15, 3.0),
            (30, 5.0),
            (45, 8.0),
            (60, 2.0),
            (75, 2.0),
            (90, 4.0),
            (105, 4.0),
            (120, 6.0),
        ]);
        let row = marks.row(Series::ErrorRate, Cohort::Canary, &values);
        assert_eq!(row.before, Some((9.0 + 1.0 + 3.0) / 3.0));
        assert_eq!(row.worst, Some(8.0));
        assert_eq!(row.after, Some((2.0 + 4.0 + 4.0 + 6.0) / 4.0));
    }

    #[test]
    fn a_cohort_that_went_quiet_has_no_value_at_the_end_and_no_rollout_no_before() {
        let marks = Marks {
            began: None,
            opened: None,
            last_sample: Some(at(600)),
            traffic_moved: None,
        };
        let row = marks.row(
            Series::LatencyP95,
            Cohort::Canary,
            &samples(&[(0, 0.2), (15, 0.3)]),
        );
        assert_eq!(row.before, None);
        assert_eq!(row.worst, Some(0.3));
        assert_eq!(row.after, None);
    }

    #[test]
    fn a_webhook_never_sent_is_in_the_timeline_and_one_sent_is_not() {
        let lines = [
            r#"{"record":"window","version":1,"opened_at":"2026-11-24T14:00:00Z","operator":"frank","backend":"sim","mode":"serve"}"#,
            r#"{"record":"delivery","at":"2026-11-24T14:00:05Z","id":"d-1","hook":"https://hooks.example/a","type":"waiting","state":"failed","status":500,"attempt":1,"why":"the receiver answered 500"}"#,
            r#"{"record":"delivery","at":"2026-11-24T14:00:06Z","id":"d-1","hook":"https://hooks.example/a","type":"waiting","state":"sent","status":200,"attempt":2}"#,
            r#"{"record":"delivery","at":"2026-11-24T14:00:07Z","id":"d-2","hook":"https://hooks.example/b","type":"done","state":"given_up","status":404,"attempt":1,"why":"the receiver refused it (404)"}"#,
            r#"{"record":"delivery","at":"2026-11-24T14:00:08Z","id":"d-3","hook":"https://hooks.example/b","type":"finished","state":"dropped","attempt":0}"#,
        ];
        let text = lines.join("\n") + "\n";
        let journal = super::super::Journal::from_reader(text.as_bytes()).unwrap();
        assert_eq!(journal.damaged, Vec::new());
        assert_eq!(journal.webhooks.len(), 4);
        assert_eq!(journal.webhooks[1].1.state, crate::journal::HookState::Sent);
        let report = build(&journal, Vec::new());
        let told: Vec<&str> = report.timeline.iter().map(|m| m.what.as_str()).collect();
        assert_eq!(
            told,
            [
                "The webhook https://hooks.example/b was not sent the done notice d-2 (given up after 1 try: the receiver refused it (404))",
                "The webhook https://hooks.example/b was not sent the finished notice d-3: its queue was full",
            ]
        );
    }
}
