//! The record of windows: `journal list`, `report` and `replay`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::backend;
use crate::journal::{self, Journal, report};
use crate::model::text::{Clean, json_safe};
use crate::model::units::format_duration;
use crate::tui::app::{App, Replay};
use crate::tui::keymap::UiAction;
use clap::{Args, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use super::{EXIT_BAD_INPUT, RecordArgs, Speed};

#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Recorded windows, newest first: when, service, versions, outcome,
    /// duration and the file.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

/// Options of `shipdeck report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A journal file (see `shipdeck journal list`), or `latest`.
    #[arg(value_name = "JOURNAL", add = ArgValueCompleter::new(super::complete::journals))]
    pub journal: String,

    /// Write the report here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
}

/// Options of `shipdeck replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A journal file (see `shipdeck journal list`), or `latest`.
    #[arg(value_name = "JOURNAL", add = ArgValueCompleter::new(super::complete::journals))]
    pub journal: String,

    /// The window's seconds per real second [default: 10].
    #[arg(long, value_name = "X")]
    pub speed: Option<Speed>,

    /// A bundled theme or a theme file.
    #[arg(long, value_name = "NAME|PATH", add = ArgValueCompleter::new(super::complete::themes))]
    pub theme: Option<String>,
}

/// `shipdeck journal list`.
pub fn list(record: &RecordArgs) -> ExitCode {
    let settings = match super::settings(record, None, |_| {}) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let dir = &settings.journal_dir.value;
    let (windows, problems) = match journal::list(dir) {
        Ok(found) => found,
        Err(err) => {
            crate::errln!(
                "shipdeck: cannot read {}: {}",
                Clean(dir.display()),
                Clean(&err)
            );
            return ExitCode::FAILURE;
        }
    };
    if windows.is_empty() {
        crate::outln!("No recorded windows in {}.", Clean(dir.display()));
    } else {
        crate::outln!(
            "{:<17}  {:<20}  {:<20}  {:<12}  {:>8}  JOURNAL",
            "OPENED (UTC)",
            "SERVICE",
            "VERSION",
            "OUTCOME",
            "DURATION"
        );
    }
    for w in &windows {
        let duration = w
            .started
            .zip(w.ended)
            .map(|(a, b)| format_duration(b.duration_since(a)))
            .unwrap_or_else(|| "—".into());
        let outcome = report::outcome_word(w.outcome, w.in_flight);
        let outcome = if w.damaged {
            format!("{outcome}*")
        } else {
            outcome.to_string()
        };
        crate::outln!(
            "{:<17}  {:<20}  {:<20}  {:<12}  {:>8}  {}",
            w.opened_at
                .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "?".into()),
            Clean(&w.service),
            Clean(&w.versions),
            outcome,
            duration,
            Clean(w.path.display())
        );
    }
    if windows.iter().any(|w| w.damaged) {
        crate::outln!(
            "* the journal is damaged (a line cut off by an abrupt end, or unreadable); `shipdeck report` says which and uses the rest"
        );
    }
    for p in &problems {
        crate::errln!("shipdeck: skipped {}", Clean(p));
    }
    ExitCode::SUCCESS
}

/// Resolves `latest` to the newest journal; otherwise a path.
fn journal_path(record: &RecordArgs, name: &str) -> Result<PathBuf, ExitCode> {
    if name != "latest" {
        return Ok(PathBuf::from(name));
    }
    let settings = super::settings(record, None, |_| {})?;
    let dir = &settings.journal_dir.value;
    match journal::list(dir) {
        Ok((windows, _)) if !windows.is_empty() => Ok(windows[0].path.clone()),
        _ => {
            crate::errln!("shipdeck: no recorded windows in {}", Clean(dir.display()));
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}

fn read(path: &Path) -> Result<Journal, ExitCode> {
    let journal = journal::read(path).map_err(|err| {
        crate::errln!(
            "shipdeck: cannot read the journal {}: {}",
            Clean(path.display()),
            Clean(&err)
        );
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    for warning in journal.warnings(path) {
        crate::errln!("shipdeck: warning: {}", Clean(&warning));
    }
    Ok(journal)
}

/// A journal with events to report or replay; one without is refused.
fn with_events(journal: Journal, path: &Path) -> Result<Journal, ExitCode> {
    if journal.events.is_empty() {
        crate::errln!(
            "shipdeck: {} holds no events to use: the window ended before the release started, or none could be read",
            Clean(path.display())
        );
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    Ok(journal)
}

/// `shipdeck report`.
pub fn report(record: &RecordArgs, args: &ReportArgs) -> ExitCode {
    let result = (|| {
        let path = journal_path(record, &args.journal)?;
        let journal = with_events(read(&path)?, &path)?;
        let report = report::build(&journal, journal.warnings(&path));
        let text = match args.format {
            Format::Markdown => report.markdown(),
            // The report's data as the journal holds it, every character
            // a terminal would act on written as an escape.
            Format::Json => {
                let json = serde_json::to_string_pretty(&report).map_err(|err| {
                    crate::errln!("shipdeck: {err}");
                    ExitCode::FAILURE
                })?;
                json_safe(&json).into_owned() + "\n"
            }
        };
        match &args.output {
            None => crate::out!("{text}"),
            Some(out) => {
                std::fs::write(out, text).map_err(|err| {
                    crate::errln!(
                        "shipdeck: cannot write {}: {}",
                        Clean(out.display()),
                        Clean(&err)
                    );
                    ExitCode::FAILURE
                })?;
                crate::errln!("shipdeck: report written to {}", Clean(out.display()));
            }
        }
        Ok(ExitCode::SUCCESS)
    })();
    match result {
        Ok(code) | Err(code) => code,
    }
}

/// `shipdeck replay`.
pub fn replay(record: &RecordArgs, args: &ReplayArgs) -> ExitCode {
    let result = (|| {
        let path = journal_path(record, &args.journal)?;
        let journal = with_events(read(&path)?, &path)?;
        let settings = super::settings(record, None, |flags| flags.theme = args.theme.clone())?;
        let release = journal.release();
        let environment = release.plan().map_or("", |p| p.environment.as_str());
        let theme = super::console::theme(&settings, environment)?;
        let keymap = super::console::keymap(&settings)?;
        super::console::need_terminal(&format!("shipdeck report {}", path.display()))?;
        let speed = match args.speed.unwrap_or(Speed::Factor(10.0)) {
            Speed::Factor(f) => f,
            Speed::Max => 1_000_000.0,
        };
        let who = journal
            .operator()
            .cloned()
            .unwrap_or_else(|| crate::model::Person::own(crate::model::names::SOMEONE));
        let label = format!("journal ×{speed}");
        // The window's operator, as the live console showed it.
        let mut app = App::new(
            who.clone(),
            label.clone(),
            keymap,
            theme,
            settings.log_ring.value,
            "replay",
        );
        // The report's timeline: the moments `[` and `]` step between.
        let moments = report::build(&journal, Vec::new())
            .timeline
            .into_iter()
            .map(|m| (m.at, m.what))
            .collect();
        app.replay = Some(Replay::new(moments));
        let steps = format!(
            "{} and {}",
            app.keymap.hint(UiAction::PrevMoment),
            app.keymap.hint(UiAction::NextMoment)
        );
        app.note(&format!(
            "REPLAY: Space pauses, ← and → move a minute, {steps} step between moments; nothing can be changed"
        ));
        let events = journal.events.clone();
        let ending = super::console::tui(
            &mut app,
            move || backend::replay::spawn(events, speed, label),
            None,
            settings.frame_cap.value,
            || None,
        );
        Ok(super::console::finish(ending, None))
    })();
    match result {
        Ok(code) | Err(code) => code,
    }
}
