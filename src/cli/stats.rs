//! `shipdeck stats`: the team's delivery figures from the journal folder.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use jiff::{SignedDuration, Timestamp};

use crate::journal::stats::{self, Figures, Recorded, Stats, Took};
use crate::model::text::Clean;

use super::{EXIT_BAD_INPUT, RecordArgs};

/// How each figure is defined; `shipdeck stats --help` and docs/stats.md
/// say the same.
pub const DEFINITIONS: &str = "Figures, per service and for all (docs/stats.md):\n\n  \
    deployment frequency: releases that finished succeeded in the period,\n    \
    divided by its length in days (--since to --until).\n  \
    change failure rate: releases that finished rolled back or aborted,\n    \
    over all that finished in the period (a fraction in JSON).\n  \
    time to restore: from the end of each release that finished rolled back,\n    \
    aborted or failed in the period to the end of the next release of the\n    \
    same service that succeeded; median and max.\n  \
    approval wait: from a gate's opening to the sign-off that approved it;\n    \
    median, p90 (nearest rank) and max.\n\n\
    A release recorded in several journals (a console's and a server's of\n\
    one window, a replay) counts once, by its id and start. A damaged\n\
    journal counts with what it holds.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Options of `shipdeck stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The period: this long before --until (`30d`, `2w`, `36h`), or from a
    /// time (RFC 3339).
    #[arg(long, value_name = "DURATION|TIME", default_value = "30d")]
    pub since: String,

    /// The period's end (RFC 3339) [default: now].
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only this service's releases.
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,

    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `30d`, `2w`, `36h`, `90m`, or what is wrong with it.
fn lookback(text: &str) -> Result<SignedDuration, String> {
    let text = text.trim();
    let bad = || format!("`{text}` is neither a duration (30d, 2w, 36h) nor a time (RFC 3339)");
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let hours = match unit {
        "w" => n.checked_mul(24 * 7),
        "d" => n.checked_mul(24),
        "h" => Some(n),
        "m" => return Ok(SignedDuration::from_mins(n.min(10_000_000))),
        _ => None,
    }
    .filter(|h| (1..=24 * 365 * 100).contains(h))
    .ok_or_else(bad)?;
    Ok(SignedDuration::from_hours(hours))
}

/// The period the arguments name.
fn period(args: &StatsArgs) -> Result<(Timestamp, Timestamp), String> {
    let until = match &args.until {
        Some(text) => crate::model::time::parse(text).map_err(|why| format!("--until: {why}"))?,
        None => Timestamp::now(),
    };
    let since = match crate::model::time::parse(&args.since) {
        Ok(at) => at,
        Err(_) => {
            let back = lookback(&args.since).map_err(|why| format!("--since: {why}"))?;
            until
                .checked_sub(back)
                .unwrap_or(crate::model::time::EARLIEST)
        }
    };
    if since >= until {
        return Err("--since must come before --until".into());
    }
    Ok((since, until))
}

/// Every release the folder's journals hold; a damaged one is said on
/// standard error and counted with what it holds.
fn releases(dir: &Path) -> Result<(Vec<Recorded>, usize), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            crate::errln!(
                "shipdeck: no journal folder at {}: nothing is recorded there yet",
                crate::model::text::Clean(dir.display())
            );
            return Ok((Vec::new(), 0));
        }
        Err(err) => return Err(format!("cannot read {}: {err}", dir.display())),
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("jsonl"))
        .collect();
    paths.sort();
    let mut found = Vec::new();
    for path in &paths {
        let journal = match crate::journal::read(path) {
            Ok(journal) => journal,
            Err(err) => {
                crate::errln!(
                    "shipdeck: {}: not counted: {}",
                    Clean(path.display()),
                    Clean(&err)
                );
                continue;
            }
        };
        if !journal.damaged.is_empty() {
            crate::errln!(
                "shipdeck: {}: {} damaged line(s); counted with what it holds",
                Clean(path.display()),
                journal.damaged.len()
            );
        }
        found.extend(Recorded::of(&journal));
    }
    Ok((found, paths.len()))
}

/// `shipdeck stats`.
pub fn run(args: &StatsArgs, record: &RecordArgs) -> ExitCode {
    let settings = match super::settings(record, None, |_| {}) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let (since, until) = match period(args) {
        Ok(period) => period,
        Err(why) => {
            crate::errln!("shipdeck: {}", Clean(&why));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let dir = &settings.journal_dir.value;
    let (found, journals) = match releases(dir) {
        Ok(found) => found,
        Err(why) => {
            crate::errln!("shipdeck: {}", Clean(&why));
            return ExitCode::FAILURE;
        }
    };
    let stats = stats::figures(found, since, until, args.service.as_deref());
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&stats) {
            Ok(json) => crate::outln!("{}", crate::model::text::json_safe(&json)),
            Err(err) => {
                crate::errln!("shipdeck: {err}");
                return ExitCode::FAILURE;
            }
        },
        Format::Table => crate::out!("{}", table(&stats, journals, dir)),
    }
    ExitCode::SUCCESS
}

fn took(t: &Option<Took>) -> String {
    t.as_ref().map_or("—".into(), |t| t.text.clone())
}

/// The figures as a table: a row a service, then all.
pub fn table(stats: &Stats, journals: usize, dir: &Path) -> String {
    let days = stats.total.deployment_frequency.days;
    let mut out = format!(
        "Delivery from {} to {} ({days:.1} days), {journals} journal(s) in {}\n\n",
        stats.since.strftime("%Y-%m-%d %H:%M UTC"),
        stats.until.strftime("%Y-%m-%d %H:%M UTC"),
        Clean(dir.display())
    );
    let head = [
        "SERVICE",
        "FINISHED",
        "SUCCEEDED",
        "PER DAY",
        "CHANGE FAILURE",
        "RESTORE MEDIAN",
        "RESTORE MAX",
        "APPROVAL MEDIAN",
        "P90",
        "MAX",
    ];
    let row = |f: &Figures, name: String| -> Vec<String> {
        let restore = &f.time_to_restore;
        let not_restored = match restore.not_restored {
            0 => String::new(),
            n => format!(" (+{n} not restored)"),
        };
        vec![
            name,
            f.releases.finished.to_string(),
            f.releases.succeeded.to_string(),
            format!("{:.2}", f.deployment_frequency.per_day),
            f.change_failure_rate
                .map_or("—".into(), |r| format!("{:.0}%", r * 100.0)),
            format!("{}{not_restored}", took(&restore.median)),
            took(&restore.max),
            took(&f.approval_wait.median),
            took(&f.approval_wait.p90),
            took(&f.approval_wait.max),
        ]
    };
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|h| h.to_string()).collect()];
    for f in &stats.services {
        rows.push(row(
            f,
            Clean(f.service.as_deref().unwrap_or("")).to_string(),
        ));
    }
    rows.push(row(&stats.total, "all".into()));
    let widths: Vec<usize> = (0..head.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookback_is_weeks_days_hours_or_minutes() {
        assert_eq!(lookback("30d"), Ok(SignedDuration::from_hours(720)));
        assert_eq!(lookback("2w"), Ok(SignedDuration::from_hours(336)));
        assert_eq!(lookback("36h"), Ok(SignedDuration::from_hours(36)));
        assert!(
            lookback("soon")
                .unwrap_err()
                .contains("is neither a duration")
        );
        assert!(lookback("0d").is_err());
    }
}
