//! Subcommands of the `shipdeck` binary.

pub mod check;
pub mod console;
pub mod events;

use std::process::ExitCode;
use std::str::FromStr;

use clap::Args;
use jiff::Timestamp;
use shipdeck::sim::{Scenario, SimOptions, bundled, scenario};

/// Exit status for bad input: a malformed file, an unknown scenario, bad usage.
pub const EXIT_BAD_INPUT: u8 = 2;

const MIN_SPEED: f64 = 0.01;
const MAX_SPEED: f64 = 1_000_000.0;

/// How fast virtual time runs against the wall clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// So many virtual seconds per real second.
    Factor(f64),
    /// No waiting at all.
    Max,
}

impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Speed, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.trim_end_matches('x').parse::<f64>() {
            Ok(v) if (MIN_SPEED..=MAX_SPEED).contains(&v) => Ok(Speed::Factor(v)),
            _ => Err(format!(
                "`{s}` is not a speed: give a number from {MIN_SPEED} to {MAX_SPEED} (60 plays an hour in a minute) or `max`"
            )),
        }
    }
}

/// Where virtual time starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// The scenario's window start (reproducible).
    Scenario,
    /// The wall clock now.
    Now,
    At(Timestamp),
}

impl FromStr for Start {
    type Err = String;

    fn from_str(s: &str) -> Result<Start, String> {
        match s {
            "scenario" => Ok(Start::Scenario),
            "now" => Ok(Start::Now),
            other => match other.parse::<Timestamp>() {
                Ok(t) if (1970..=2200).contains(&t.to_zoned(jiff::tz::TimeZone::UTC).year()) => {
                    Ok(Start::At(t))
                }
                Ok(_) => Err(format!(
                    "`{other}` is too far off: give a time between 1970 and 2200"
                )),
                Err(_) => Err(format!(
                    "`{other}` is not `scenario`, `now` or an RFC 3339 time like 2026-11-24T14:00:00Z"
                )),
            },
        }
    }
}

/// How to run the simulator: shared by the console and `events`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// A bundled scenario's name (see `shipdeck scenarios`) or a scenario file.
    #[arg(long, value_name = "NAME|PATH", default_value = "happy-canary")]
    pub scenario: String,

    /// Virtual seconds per real second (60 plays an hour in a minute), or
    /// `max` to run without waiting [default: 10 in the console, 1 for events].
    #[arg(long, value_name = "X")]
    pub speed: Option<Speed>,

    /// Seed for the simulator's randomness: the same seed gives the same events.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,

    /// Add a virtual operator that signs gates, advances pauses and ticks
    /// manual checklist items (as `autopilot`), so the release runs unattended.
    #[arg(long)]
    pub autopilot: bool,

    /// When the deployment window starts: `scenario` (as the file says; the
    /// same seed then gives the same events), `now`, or an RFC 3339 time
    /// [default: now in the console, scenario for events].
    #[arg(long, value_name = "WHEN")]
    pub start: Option<Start>,
}

impl SimArgs {
    pub fn options(&self, default_start: Start) -> SimOptions {
        SimOptions {
            seed: self.seed,
            autopilot: self.autopilot,
            origin: match self.start.unwrap_or(default_start) {
                Start::Scenario => None,
                Start::Now => Some(Timestamp::now()),
                Start::At(t) => Some(t),
            },
            ..SimOptions::default()
        }
    }
}

/// Loads a bundled scenario by name, or a scenario file by path. On failure
/// prints what is wrong (`path:line:col: ...`) and returns the exit code.
pub fn load_scenario(name_or_path: &str) -> Result<Scenario, ExitCode> {
    let (label, text) = match bundled::get(name_or_path) {
        Some(text) => (format!("{name_or_path} (bundled)"), text.to_string()),
        None => match std::fs::read_to_string(name_or_path) {
            Ok(text) => (name_or_path.to_string(), text),
            Err(err) => {
                let names: Vec<&str> = bundled::names().collect();
                if std::path::Path::new(name_or_path).exists() {
                    eprintln!("shipdeck: cannot read {name_or_path}: {err}");
                } else {
                    eprintln!(
                        "shipdeck: no scenario named \"{name_or_path}\" and no such file\n  bundled scenarios: {}",
                        names.join(", ")
                    );
                }
                return Err(ExitCode::from(EXIT_BAD_INPUT));
            }
        },
    };
    scenario::parse(&text).map_err(|problems| {
        for p in problems {
            eprintln!("{label}:{}:{}: {}", p.line, p.column, p.message);
        }
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// `shipdeck scenarios`: the bundled scenarios and the story each tells.
pub fn scenarios() -> ExitCode {
    for (name, text) in bundled::SCENARIOS {
        let story = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# "))
            .and_then(|l| l.split_once(": ").map(|(_, s)| s))
            .unwrap_or("");
        println!("{name:<20} {story}");
    }
    ExitCode::SUCCESS
}
