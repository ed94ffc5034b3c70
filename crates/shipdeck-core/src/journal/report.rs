//! The deployment report the runbook asks for, from a journal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::Journal;
use crate::engine::Verdict;
use crate::model::units::format_duration;
use crate::model::{
    Action, AlertState, Cohort, CommandKind, EventKind, GateState, Outcome, Series, Severity,
    StageState, StepState,
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
    pub operator: String,
    pub at: Timestamp,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub gate: String,
    pub operator: String,
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackRecord {
    /// An operator, or `rule:NAME`.
    pub by: String,
    pub automatic: bool,
    pub reason: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemRecord {
    pub text: String,
    pub automatic: bool,
    pub ticked_by: Option<String>,
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
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    pub at: Timestamp,
    pub operator: String,
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
    /// Time the whole service's availability was below 95%.
    pub downtime: String,
    pub approvals: Vec<Approval>,
    pub rejections: Vec<Rejection>,
    pub rollback: Option<RollbackRecord>,
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
    let plan = release.plan.clone();
    let began = journal
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::CanaryStep { .. }))
        .map(|e| e.at);

    // When the window opened: samples before it are a metrics source's
    // history.
    let opened = journal.events.first().map(|e| e.at);
    // Metric samples, in order, per series and cohort.
    let mut samples: BTreeMap<(Series, Cohort), Vec<(Timestamp, f64)>> = BTreeMap::new();
    for e in &journal.events {
        if let EventKind::Metric {
            series,
            cohort,
            value,
        } = e.kind
        {
            samples
                .entry((series, cohort))
                .or_default()
                .push((e.at, value));
        }
    }
    let last_metric_at = samples
        .values()
        .filter_map(|v| v.last())
        .map(|(at, _)| *at)
        .max();
    let traffic_moved = journal
        .events
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::CanaryStep { .. } | EventKind::RollbackStarted { .. }
            )
        })
        .map(|e| e.at);
    let mut metrics = Vec::new();
    for series in [Series::ErrorRate, Series::LatencyP95] {
        for cohort in [Cohort::Canary, Cohort::Stable, Cohort::All] {
            let Some(values) = samples.get(&(series, cohort)) else {
                continue;
            };
            let mean = |vs: &[(Timestamp, f64)]| {
                (!vs.is_empty()).then(|| vs.iter().map(|(_, v)| v).sum::<f64>() / vs.len() as f64)
            };
            let before: Vec<_> = values
                .iter()
                .copied()
                .filter(|(at, _)| began.is_none_or(|b| *at < b))
                .collect();
            // At the end: the samples since traffic last moved (a step or a
            // rollback), at most the last four, and none for a cohort that
            // no longer had traffic when the window ended.
            let (last_at, _) = values[values.len() - 1];
            let still_served =
                last_metric_at.is_none_or(|end| end.duration_since(last_at) <= STALE);
            let settled: Vec<_> = values
                .iter()
                .copied()
                .filter(|(at, _)| traffic_moved.is_none_or(|moved| *at > moved))
                .collect();
            let last = &settled[settled.len().saturating_sub(4)..];
            metrics.push(MetricRow {
                series,
                cohort,
                before: if began.is_some() { mean(&before) } else { None },
                // History read from before the window (a metrics source's)
                // is a baseline, never this window's worst.
                worst: values
                    .iter()
                    .filter(|(at, _)| opened.is_none_or(|o| *at >= o))
                    .map(|(_, v)| *v)
                    .reduce(f64::max),
                after: if still_served { mean(last) } else { None },
            });
        }
    }

    // Downtime: how long the whole service's availability stayed below 95%.
    let mut downtime = SignedDuration::ZERO;
    if let Some(availability) = samples.get(&(Series::Availability, Cohort::All)) {
        for pair in availability.windows(2) {
            if pair[0].1 < DOWN_BELOW && opened.is_none_or(|o| pair[0].0 >= o) {
                downtime += pair[1].0.duration_since(pair[0].0);
            }
        }
    }

    let approvals = release
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
        .collect();
    let rejections = release
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
        .collect();
    let rollback = release.rollback.as_ref().map(|r| RollbackRecord {
        by: r.by.clone(),
        automatic: r.by.starts_with("rule:"),
        reason: r.reason.clone(),
        started_at: r.started_at,
        finished_at: r.finished_at,
    });
    let checklists = release
        .checklists
        .iter()
        .map(|c| ChecklistRecord {
            rollback: plan.as_ref().and_then(|p| p.rollback_checklist.as_deref())
                == Some(c.id.as_str()),
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
        .collect();

    let mut alerts = Vec::new();
    let mut commands = Vec::new();
    let mut timeline = Vec::new();
    let stage_name = |id: &str| {
        release
            .stage(id)
            .map(|s| s.plan.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let gate_name = |id: &str| {
        release
            .gate(id)
            .map(|g| g.plan.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut signed: BTreeMap<String, usize> = BTreeMap::new();
    let mut weight = 0;
    for e in &journal.events {
        let mut say = |what: String| timeline.push(Moment { at: e.at, what });
        match &e.kind {
            EventKind::ReleaseStarted { plan } => say(format!(
                "Release started: {} {} → {} ({}), deployed by {}",
                plan.service,
                plan.version_from,
                plan.version_to,
                plan.strategy.name(),
                plan.deployer
            )),
            EventKind::StageChanged { stage, state, note } => {
                let name = stage_name(stage);
                let note = note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                match state {
                    StageState::Running => say(format!("{name} started{note}")),
                    StageState::Succeeded => say(format!("{name} succeeded")),
                    StageState::Failed => say(format!("{name} failed{note}")),
                    StageState::Cancelled => say(format!("{name} cancelled")),
                    _ => {}
                }
            }
            EventKind::GateChanged {
                gate,
                state,
                signoffs,
                rejection,
            } => {
                let before = signed.insert(gate.clone(), signoffs.len()).unwrap_or(0);
                for s in signoffs.iter().skip(before) {
                    let comment = s
                        .comment
                        .as_deref()
                        .map(|c| format!(": “{c}”"))
                        .unwrap_or_default();
                    say(format!(
                        "{} signed off {}{comment}",
                        s.operator,
                        gate_name(gate)
                    ));
                }
                match state {
                    GateState::Approved => say(format!("{} approved", gate_name(gate))),
                    GateState::Rejected => {
                        if let Some(r) = rejection {
                            say(format!(
                                "{} rejected by {}: {}",
                                gate_name(gate),
                                r.operator,
                                r.reason
                            ));
                        }
                    }
                    _ => {}
                }
            }
            EventKind::CanaryStep {
                weight: w, state, ..
            } => {
                if *w != weight && *state != StepState::Started {
                    say(format!(
                        "Traffic to {}: {w}%",
                        plan.as_ref()
                            .map_or("the new version", |p| p.version_to.as_str())
                    ));
                }
                weight = *w;
            }
            EventKind::Alert {
                rule,
                severity,
                state,
                message,
                ..
            } => {
                alerts.push(AlertRecord {
                    at: e.at,
                    rule: rule.clone(),
                    severity: *severity,
                    state: *state,
                    message: message.clone(),
                });
                say(format!("Alert {rule} {}: {message}", state.verb()));
            }
            EventKind::CommandAccepted { command, note } => {
                commands.push(CommandRecord {
                    at: e.at,
                    operator: command.operator.clone(),
                    command: command.action.kind(),
                    accepted: true,
                    message: note.clone(),
                });
                // A rollback accepted with a note changed nothing new (it was
                // already under way, or only added its reason).
                let repeated = matches!(command.action, Action::Rollback { .. }) && note.is_some();
                if !repeated
                    && matches!(
                        command.action,
                        Action::Advance
                            | Action::PromoteFull
                            | Action::Pause { .. }
                            | Action::Resume
                            | Action::Retry { .. }
                            | Action::Rollback { .. }
                    )
                {
                    let note = note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default();
                    say(format!(
                        "{} asked to {}{note}",
                        command.operator,
                        command.action.words()
                    ));
                }
            }
            EventKind::CommandRejected { command, reason } => {
                commands.push(CommandRecord {
                    at: e.at,
                    operator: command.operator.clone(),
                    command: command.action.kind(),
                    accepted: false,
                    message: Some(reason.clone()),
                });
                say(format!(
                    "{}'s {} refused: {reason}",
                    command.operator,
                    command.action.words()
                ));
            }
            EventKind::ReleasePaused { by, .. } => say(format!("Paused by {by}")),
            EventKind::ReleaseResumed { by, .. } => say(format!("Resumed by {by}")),
            EventKind::RollbackStarted { by, reason } if by.starts_with("rule:") => {
                say(format!("Automatic rollback: {reason}"))
            }
            EventKind::RollbackStarted { by, reason } => {
                say(format!("Rollback started by {by}: {reason}"))
            }
            EventKind::RollbackReason { by, reason } => {
                say(format!("{by} gave the rollback's reason: {reason}"))
            }
            EventKind::RollbackFinished {} => say("Rollback finished".to_string()),
            EventKind::ReleaseFinished { outcome } => {
                say(format!("Release finished: {}", outcome.words()))
            }
            EventKind::Log { .. }
            | EventKind::Metric { .. }
            | EventKind::ChecklistChanged { .. } => {}
        }
    }

    // Commands on the record that no event answers: the window ended (a
    // crash, a kill) between recording a command and hearing back.
    let answered: std::collections::BTreeSet<&str> = journal
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommandAccepted { command, .. }
            | EventKind::CommandRejected { command, .. } => Some(command.id.as_str()),
            _ => None,
        })
        .collect();
    for (at, command) in journal
        .commands
        .iter()
        .filter(|(_, c)| !answered.contains(c.id.as_str()))
    {
        let verdict = journal
            .verdicts
            .iter()
            .find(|v| v.id == command.id)
            .map(|v| &v.verdict);
        commands.push(CommandRecord {
            at: *at,
            operator: command.operator.clone(),
            command: command.action.kind(),
            accepted: verdict.is_some_and(Verdict::is_accepted),
            message: match verdict {
                Some(Verdict::Accepted { note }) => note.clone(),
                Some(Verdict::Refused(refusal)) => Some(refusal.reason.clone()),
                None => Some("no answer is on the record: the window ended first".to_string()),
            },
        });
        timeline.push(Moment {
            at: *at,
            what: format!(
                "{} asked to {}; no answer is on the record (the window ended first)",
                command.operator,
                command.action.words()
            ),
        });
    }
    timeline.sort_by_key(|m| m.at);
    let recorded_by = match &journal.window {
        Some(super::Record::Window { operator, mode, .. }) => format!("{operator} ({mode})"),
        _ => "unknown".to_string(),
    };
    let duration = release
        .started_at
        .zip(release.finished_at.or(release.last_at))
        .map(|(a, b)| format_duration(b.duration_since(a)));
    let outcome = match release.outcome() {
        Some(o) => o.name().to_string(),
        None => "unfinished".to_string(),
    };
    Report {
        release: release.id.clone(),
        service: plan.as_ref().map(|p| p.service.clone()).unwrap_or_default(),
        version_from: plan
            .as_ref()
            .map(|p| p.version_from.clone())
            .unwrap_or_default(),
        version_to: plan
            .as_ref()
            .map(|p| p.version_to.clone())
            .unwrap_or_default(),
        environment: plan
            .as_ref()
            .map(|p| p.environment.clone())
            .unwrap_or_default(),
        strategy: plan
            .as_ref()
            .map(|p| p.strategy.name().to_string())
            .unwrap_or_default(),
        deployer: plan
            .as_ref()
            .map(|p| p.deployer.clone())
            .unwrap_or_default(),
        recorded_by,
        started_at: release.started_at,
        finished_at: release.finished_at,
        duration,
        outcome,
        downtime: format_duration(downtime),
        approvals,
        rejections,
        rollback,
        checklists,
        metrics,
        alerts,
        commands,
        timeline,
        journal_warnings: warnings,
    }
}

fn time(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// Free text (comments, reasons, messages) as one line of plain Markdown:
/// nothing an operator typed can become a heading, a table or markup.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
    {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn cell(text: &str) -> String {
    prose(text)
}

impl Report {
    /// The report as Markdown that renders cleanly on GitHub.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let date = self
            .started_at
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".into());
        let outcome = match self.outcome.as_str() {
            "succeeded" => "Succeeded".to_string(),
            "rolled_back" => "Rolled back".to_string(),
            "failed" => "Failed".to_string(),
            "aborted" => "Aborted".to_string(),
            _ => "Unfinished: the journal ends before the release did".to_string(),
        };
        let _ = writeln!(
            md,
            "# Deployment Report: {} {}\n",
            self.service, self.version_to
        );
        let _ = writeln!(md, "**Date**: {date}  ");
        let _ = writeln!(md, "**Service**: {}  ", self.service);
        let _ = writeln!(
            md,
            "**Version**: {} → {}  ",
            self.version_from, self.version_to
        );
        let _ = writeln!(md, "**Environment**: {}  ", self.environment);
        let _ = writeln!(md, "**Strategy**: {}  ", self.strategy);
        let _ = writeln!(md, "**Deployed by**: {}  ", self.deployer);
        let _ = writeln!(md, "**Recorded by**: {}  ", self.recorded_by);
        let _ = writeln!(
            md,
            "**Duration**: {}{}\n",
            self.duration.as_deref().unwrap_or("unknown"),
            match (self.started_at, self.finished_at) {
                (Some(a), Some(b)) => format!(" ({}–{} UTC)", time(a), time(b)),
                (Some(a), None) => format!(" (from {} UTC)", time(a)),
                _ => String::new(),
            }
        );
        if !self.journal_warnings.is_empty() {
            let _ = writeln!(
                md,
                "> **Note:** the journal is damaged; this report covers what could be read."
            );
            for w in &self.journal_warnings {
                let _ = writeln!(md, "> - {w}");
            }
            md.push('\n');
        }

        let _ = writeln!(md, "## Results\n");
        let _ = writeln!(md, "- Status: {outcome}");
        let _ = writeln!(
            md,
            "- Downtime: {} (time the whole service's availability was below 95%)",
            self.downtime
        );
        let issues = self
            .alerts
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .count();
        let _ = writeln!(
            md,
            "- Alerts fired: {}",
            if issues == 0 {
                "none".to_string()
            } else {
                issues.to_string()
            }
        );
        md.push('\n');

        let _ = writeln!(md, "## Approvals\n");
        if self.approvals.is_empty() && self.rejections.is_empty() {
            let _ = writeln!(md, "No sign-offs were given.\n");
        } else {
            let _ = writeln!(md, "| Gate | Who | When (UTC) | Decision | Comment |");
            let _ = writeln!(md, "|---|---|---|---|---|");
            for a in &self.approvals {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | approved | {} |",
                    cell(&a.gate),
                    cell(&a.operator),
                    time(a.at),
                    cell(a.comment.as_deref().unwrap_or(""))
                );
            }
            for r in &self.rejections {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | **rejected** | {} |",
                    cell(&r.gate),
                    cell(&r.operator),
                    time(r.at),
                    cell(&r.reason)
                );
            }
            md.push('\n');
        }

        let _ = writeln!(md, "## Rollbacks\n");
        match &self.rollback {
            None => {
                let _ = writeln!(md, "None.\n");
            }
            Some(r) => {
                let who = if r.automatic {
                    format!("automatically by rule {}", r.by.trim_start_matches("rule:"))
                } else {
                    format!("by {}", r.by)
                };
                let _ = writeln!(
                    md,
                    "- Rolled back {who} at {} UTC{}.",
                    time(r.started_at),
                    r.finished_at
                        .map(|f| format!(", done at {} UTC", time(f)))
                        .unwrap_or_default()
                );
                let why = if r.reason == format!("rolled back by {}", r.by) {
                    "no reason given".to_string()
                } else {
                    prose(&r.reason)
                };
                let _ = writeln!(md, "- Why: {why}\n");
            }
        }

        let _ = writeln!(md, "## Metrics\n");
        if self.metrics.is_empty() {
            let _ = writeln!(md, "No metrics were recorded.\n");
        } else {
            let _ = writeln!(
                md,
                "| Metric | Cohort | Before the rollout | Worst | At the end |"
            );
            let _ = writeln!(md, "|---|---|---|---|---|");
            for m in &self.metrics {
                let show =
                    |v: Option<f64>| v.map(|v| m.series.format(v)).unwrap_or_else(|| "—".into());
                let name = match m.series {
                    Series::ErrorRate => "Error rate",
                    Series::LatencyP95 => "Latency p95",
                    other => other.name(),
                };
                let cohort = match m.cohort {
                    Cohort::Canary => "new version",
                    Cohort::Stable => "stable",
                    Cohort::All => "all traffic",
                };
                let _ = writeln!(
                    md,
                    "| {name} | {cohort} | {} | {} | {} |",
                    show(m.before),
                    show(m.worst),
                    show(m.after)
                );
            }
            md.push('\n');
        }

        let _ = writeln!(md, "## Alerts\n");
        if self.alerts.is_empty() {
            let _ = writeln!(md, "None fired.\n");
        } else {
            let _ = writeln!(md, "| When (UTC) | Rule | Severity | State | What |");
            let _ = writeln!(md, "|---|---|---|---|---|");
            for a in &self.alerts {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    time(a.at),
                    cell(&a.rule),
                    a.severity,
                    a.state.verb(),
                    cell(&a.message)
                );
            }
            md.push('\n');
        }

        let _ = writeln!(md, "## Checklists\n");
        for list in &self.checklists {
            // The rollback checklist belongs in the report only with a rollback.
            if self.rollback.is_none() && list.rollback {
                continue;
            }
            let done = list.items.iter().filter(|i| i.ticked_by.is_some()).count();
            let _ = writeln!(md, "### {} ({done}/{})\n", list.name, list.items.len());
            for item in &list.items {
                let by = match (&item.ticked_by, item.at) {
                    (Some(by), Some(at)) => format!(" — {by}, {} UTC", time(at)),
                    _ if item.automatic => " — (automatic check, not run)".to_string(),
                    _ => String::new(),
                };
                let mark = if item.ticked_by.is_some() { "x" } else { " " };
                let _ = writeln!(md, "- [{mark}] {}{by}", prose(&item.text));
            }
            md.push('\n');
        }

        let refused: Vec<_> = self.commands.iter().filter(|c| !c.accepted).collect();
        if !refused.is_empty() {
            let _ = writeln!(md, "## Refused or unanswered commands\n");
            let _ = writeln!(md, "| When (UTC) | Who | Command | Why |");
            let _ = writeln!(md, "|---|---|---|---|");
            for c in refused {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    time(c.at),
                    cell(&c.operator),
                    c.command.words(),
                    cell(c.message.as_deref().unwrap_or(""))
                );
            }
            md.push('\n');
        }

        let _ = writeln!(md, "## Timeline\n");
        let _ = writeln!(md, "| Time (UTC) | What happened |");
        let _ = writeln!(md, "|---|---|");
        for m in &self.timeline {
            let _ = writeln!(md, "| {} | {} |", time(m.at), cell(&m.what));
        }
        md.push('\n');

        let _ = writeln!(md, "## Issues Encountered\n\n_To be filled in._\n");
        let _ = writeln!(md, "## Lessons Learned\n\n_To be filled in._");
        md
    }
}

/// The outcome word for a summary line.
pub fn outcome_word(outcome: Option<Outcome>, in_flight: bool) -> &'static str {
    match outcome {
        Some(o) => o.name(),
        None if in_flight => "unfinished",
        None => "not started",
    }
}
