//! The deployment report as Markdown that renders cleanly on GitHub: a
//! section at a time, each a function of the report.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::Report;
use crate::model::{AlertState, Cohort, Series};

impl Report {
    /// The report as Markdown that renders cleanly on GitHub.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        for section in [
            summary, damage, results, approvals, rollbacks, metrics, alerts, checklists, refusals,
            timeline,
        ] {
            section(self, &mut md);
        }
        let _ = writeln!(md, "## Issues Encountered\n\n_To be filled in._\n");
        let _ = writeln!(md, "## Lessons Learned\n\n_To be filled in._");
        md
    }
}

fn time(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// Text from the journal (names, ids, comments, reasons, messages) as one
/// line of plain Markdown: cleaned of control sequences, bidirectional
/// controls and invisible characters, its line breaks made spaces, and
/// every character Markdown or HTML would read as markup escaped, so that
/// nothing in it can become a heading, a table cell, a link, an image, an
/// entity, math or a tag.
fn prose(text: &str) -> String {
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(words.len());
    for c in crate::model::text::clean(&words).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '&' | '$'
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

/// A table of `rows` under `header`, and the blank line after it. Cells
/// are written as given: free text goes through `cell` first.
fn table<const N: usize>(
    md: &mut String,
    header: [&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
) {
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(N));
    for row in rows {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    md.push('\n');
}

/// The title and what was released, where, by whom, and when.
fn summary(r: &Report, md: &mut String) {
    let date = r
        .started_at
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "unknown".into());
    let _ = writeln!(
        md,
        "# Deployment Report: {} {}\n",
        prose(&r.service),
        prose(&r.version_to)
    );
    let _ = writeln!(md, "**Date**: {date}  ");
    let _ = writeln!(md, "**Service**: {}  ", prose(&r.service));
    let _ = match r.version_from.is_empty() {
        true => writeln!(md, "**Version**: {}  ", prose(&r.version_to)),
        false => writeln!(
            md,
            "**Version**: {} → {}  ",
            prose(&r.version_from),
            prose(&r.version_to)
        ),
    };
    let _ = writeln!(md, "**Environment**: {}  ", prose(&r.environment));
    let _ = writeln!(md, "**Strategy**: {}  ", prose(&r.strategy));
    let _ = writeln!(md, "**Deployed by**: {}  ", prose(&r.deployer));
    let _ = writeln!(md, "**Recorded by**: {}  ", prose(&r.recorded_by));
    let _ = writeln!(
        md,
        "**Duration**: {}{}\n",
        r.duration.as_deref().unwrap_or("unknown"),
        match (r.started_at, r.finished_at) {
            (Some(a), Some(b)) => format!(" ({}–{} UTC)", time(a), time(b)),
            (Some(a), None) => format!(" (from {} UTC)", time(a)),
            _ => String::new(),
        }
    );
}

/// A note on damage found in the journal, if any.
fn damage(r: &Report, md: &mut String) {
    if r.journal_warnings.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "> **Note:** the journal is damaged; this report covers what could be read."
    );
    for w in &r.journal_warnings {
        let _ = writeln!(md, "> - {}", prose(w));
    }
    md.push('\n');
}

fn results(r: &Report, md: &mut String) {
    let outcome = match r.outcome.as_str() {
        "succeeded" => "Succeeded",
        "rolled_back" => "Rolled back",
        "failed" => "Failed",
        "aborted" => "Aborted",
        _ => "Unfinished: the journal ends before the release did",
    };
    let fired = r
        .alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    let _ = writeln!(md, "## Results\n");
    match &r.stopped {
        Some(stop) if stop.reason == crate::model::Stopped::default_reason(&stop.by) => {
            let _ = writeln!(md, "- Status: {outcome}, {}", prose(&stop.reason));
        }
        Some(stop) => {
            let _ = writeln!(
                md,
                "- Status: {outcome}, stopped before production by {}: {}",
                prose(stop.by.as_str()),
                prose(&stop.reason)
            );
        }
        None => match &r.closed {
            Some(why) => {
                let _ = writeln!(
                    md,
                    "- Status: Unfinished: the window closed before the release did ({})",
                    prose(why)
                );
            }
            None => {
                let _ = writeln!(md, "- Status: {outcome}");
            }
        },
    }
    let _ = writeln!(
        md,
        "- Downtime: {} (time the whole service's availability was below 95%)",
        r.downtime
    );
    let _ = writeln!(
        md,
        "- Alerts fired: {}",
        if fired == 0 {
            "none".to_string()
        } else {
            fired.to_string()
        }
    );
    md.push('\n');
}

/// Every sign-off, then every rejection.
fn approvals(r: &Report, md: &mut String) {
    let _ = writeln!(md, "## Approvals\n");
    if r.approvals.is_empty() && r.rejections.is_empty() {
        let _ = writeln!(md, "No sign-offs were given.\n");
        return;
    }
    let approved = r.approvals.iter().map(|a| {
        [
            cell(&a.gate),
            cell(a.operator.as_str()),
            time(a.at),
            "approved".to_string(),
            cell(a.comment.as_deref().unwrap_or("")),
        ]
    });
    let rejected = r.rejections.iter().map(|j| {
        [
            cell(&j.gate),
            cell(j.operator.as_str()),
            time(j.at),
            "**rejected**".to_string(),
            cell(&j.reason),
        ]
    });
    table(
        md,
        ["Gate", "Who", "When (UTC)", "Decision", "Comment"],
        approved.chain(rejected),
    );
}

fn rollbacks(r: &Report, md: &mut String) {
    let _ = writeln!(md, "## Rollbacks\n");
    let Some(rb) = &r.rollback else {
        let _ = writeln!(md, "None.\n");
        return;
    };
    let who = if rb.automatic {
        format!(
            "automatically by rule {}",
            prose(rb.by.rule_name().unwrap_or(rb.by.as_str()))
        )
    } else {
        format!("by {}", prose(rb.by.as_str()))
    };
    let _ = writeln!(
        md,
        "- Rolled back {who} at {} UTC{}.",
        time(rb.started_at),
        rb.finished_at
            .map(|f| format!(", done at {} UTC", time(f)))
            .unwrap_or_default()
    );
    // The engine's words when the operator gave none.
    let why = if rb.reason == crate::model::Rollback::default_reason(&rb.by) {
        "no reason given".to_string()
    } else {
        prose(&rb.reason)
    };
    let _ = writeln!(md, "- Why: {why}\n");
}

fn metrics(r: &Report, md: &mut String) {
    let _ = writeln!(md, "## Metrics\n");
    if r.metrics.is_empty() {
        let _ = writeln!(md, "No metrics were recorded.\n");
        return;
    }
    let rows = r.metrics.iter().map(|m| {
        let show = |v: Option<f64>| v.map(|v| m.series.format(v)).unwrap_or_else(|| "—".into());
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
        [
            name.to_string(),
            cohort.to_string(),
            show(m.before),
            show(m.worst),
            show(m.after),
        ]
    });
    table(
        md,
        [
            "Metric",
            "Cohort",
            "Before the rollout",
            "Worst",
            "At the end",
        ],
        rows,
    );
}

fn alerts(r: &Report, md: &mut String) {
    let _ = writeln!(md, "## Alerts\n");
    if r.alerts.is_empty() {
        let _ = writeln!(md, "None fired.\n");
        return;
    }
    let rows = r.alerts.iter().map(|a| {
        [
            time(a.at),
            cell(&a.rule),
            a.severity.to_string(),
            match &a.by {
                Some(by) => format!("{} by {}", a.state.verb(), cell(by.as_str())),
                None => a.state.verb().to_string(),
            },
            cell(&a.message),
        ]
    });
    table(
        md,
        ["When (UTC)", "Rule", "Severity", "State", "What"],
        rows,
    );
}

fn checklists(r: &Report, md: &mut String) {
    let _ = writeln!(md, "## Checklists\n");
    for list in &r.checklists {
        // The rollback checklist belongs in the report only with a rollback.
        if r.rollback.is_none() && list.rollback {
            continue;
        }
        let done = list.items.iter().filter(|i| i.ticked_by.is_some()).count();
        let _ = writeln!(
            md,
            "### {} ({done}/{})\n",
            prose(&list.name),
            list.items.len()
        );
        for item in &list.items {
            let by = match (&item.ticked_by, item.at) {
                (Some(by), Some(at)) => format!(" — {}, {} UTC", prose(by.as_str()), time(at)),
                _ if item.automatic => " — (automatic check, not run)".to_string(),
                _ => String::new(),
            };
            let mark = if item.ticked_by.is_some() { "x" } else { " " };
            let _ = writeln!(md, "- [{mark}] {}{by}", prose(&item.text));
        }
        md.push('\n');
    }
}

/// Commands refused or never answered; no section when there are none.
fn refusals(r: &Report, md: &mut String) {
    let refused: Vec<_> = r.commands.iter().filter(|c| !c.accepted).collect();
    if refused.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Refused or unanswered commands\n");
    let rows = refused.into_iter().map(|c| {
        [
            time(c.at),
            cell(c.operator.as_str()),
            c.command.words().to_string(),
            cell(c.message.as_deref().unwrap_or("")),
        ]
    });
    table(md, ["When (UTC)", "Who", "Command", "Why"], rows);
}

fn timeline(r: &Report, md: &mut String) {
    let _ = writeln!(md, "## Timeline\n");
    let rows = r.timeline.iter().map(|m| [time(m.at), cell(&m.what)]);
    table(md, ["Time (UTC)", "What happened"], rows);
}

#[cfg(test)]
mod tests {
    use super::super::build;
    use crate::journal::{Journal, Record};
    use crate::sim::{SimOptions, Simulator, bundled, run_to_end, scenario};

    /// Retitles the window, writes the clipboard, clears the screen (C1
    /// CSI), turns right to left, and tries Markdown: a heading on a line
    /// of its own, a table cell, a link, code, HTML, an entity and math.
    const HOSTILE: &str = "svc\u{1b}]0;pwned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}2J\u{202e}evil\
        \n## Approved by all | x | [click](http://x.example) `rm` <b>&#x202E;</b> $\\alpha$";

    /// [`HOSTILE`] as a person's name can be: a name with control or
    /// invisible characters does not read at all, so people's names try
    /// only the Markdown (and look, cleaned, as [`HOSTILE`] does).
    const HOSTILE_PERSON: &str =
        "svcevil ## Approved by all | x | [click](http://x.example) `rm` <b>&#x202E;</b> $\\alpha$";

    /// A played release whose names (service, a checklist and its items)
    /// are all [`HOSTILE`], and whose people are [`HOSTILE_PERSON`].
    fn hostile_journal() -> Journal {
        let text = bundled::get("canary-regression").unwrap();
        let options = SimOptions {
            autopilot: true,
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(scenario::parse(text).unwrap(), options);
        let events = run_to_end(&mut sim, jiff::SignedDuration::from_hours(24));
        let window = Record::Window {
            version: 1,
            opened_at: events[0].at,
            operator: crate::model::Person::recorded(HOSTILE_PERSON).unwrap(),
            backend: "sim:canary-regression".into(),
            mode: "console".into(),
        };
        let hostile = serde_json::to_string(HOSTILE).unwrap();
        let person = serde_json::to_string(HOSTILE_PERSON).unwrap();
        let mut lines = serde_json::to_string(&window).unwrap() + "\n";
        for event in events {
            let mut line = serde_json::to_string(&Record::Event { event }).unwrap();
            for name in ["checkout-api", "Staging validation"] {
                line = line.replace(&format!("\"{name}\""), &hostile);
            }
            for name in ["erin", "autopilot", "carol"] {
                line = line.replace(&format!("\"{name}\""), &person);
            }
            lines.push_str(&line);
            lines.push('\n');
        }
        Journal::from_reader(lines.as_bytes()).unwrap()
    }

    #[test]
    fn nothing_from_the_journal_becomes_markup_or_reaches_a_terminal() {
        let report = build(&hostile_journal(), Vec::new());
        assert!(
            report.service.contains('\u{1b}'),
            "the report's data is the journal's"
        );
        let md = report.markdown();
        let unsafe_chars: Vec<char> = md
            .chars()
            .filter(|&c| c != '\n' && crate::model::text::is_unsafe(c))
            .collect();
        assert!(unsafe_chars.is_empty(), "{unsafe_chars:?} in\n{md}");
        for line in md.lines() {
            assert!(
                !line.starts_with("## Approved"),
                "a heading was injected: {line}"
            );
            for markup in ["[click]", "`rm`", "<b>", "&#x", "$\\alpha"] {
                assert!(!line.contains(markup), "{markup} unescaped: {line}");
            }
            // A table row has as many cells as its table's header.
            if line.starts_with('|') {
                let cells = line.replace("\\|", "").matches('|').count();
                assert!([3, 5, 6].contains(&cells), "cells broken: {line}");
            }
        }
        // Still readable, where each name was: the title, "Recorded by", a
        // sign-off's row, a checklist's heading.
        let shown = "svcevil \\#\\# Approved by all \\| x \\| \\[click\\](http://x.example)";
        let places = [
            "# Deployment Report: ",
            "**Recorded by**: ",
            "| Production deploy approval | ",
            "### ",
        ];
        for place in places {
            assert!(
                md.contains(&format!("{place}{shown}")),
                "{place}… not readable in\n{md}"
            );
        }
    }
}
