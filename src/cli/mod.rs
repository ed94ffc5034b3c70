//! Subcommands of the `shipdeck` binary.

pub mod argo;
mod args;
pub mod check;
pub mod complete;
pub mod config;
pub mod console;
pub mod events;
pub mod gh;
pub mod github;
pub mod inbox;
pub mod kubectl;
mod man;
pub mod record;
pub mod remote;
pub mod serve;
pub mod stats;
pub mod windows;

pub use args::main;

use std::process::ExitCode;
use std::str::FromStr;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use jiff::Timestamp;
use std::path::PathBuf;

use crate::model::text::Clean;
use crate::settings::{self, Flags, Settings};
use crate::sim::{Scenario, SimOptions, bundled, scenario};

/// Exit status for bad input: a malformed file, an unknown scenario, bad usage.
pub const EXIT_BAD_INPUT: u8 = 2;

/// The console's diagnostics log, in shipdeck's state folder.
pub const CONSOLE_LOG: &str = "shipdeck.log";

/// `serve`'s diagnostics log, beside the console's.
pub const SERVE_LOG: &str = "serve.log";

/// Sends shipdeck's own diagnostics (`tracing`) to the file `name` in its
/// state folder (`$XDG_STATE_HOME/shipdeck`), appended to; the file's path,
/// or why there is none.
pub fn log_to_file(name: &str) -> Result<PathBuf, String> {
    let dirs =
        directories::ProjectDirs::from("", "", "shipdeck").ok_or("no home folder to keep it in")?;
    let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    std::fs::create_dir_all(dir).map_err(|err| format!("cannot make {}: {err}", dir.display()))?;
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init()
        .map_err(|err| format!("cannot log to {}: {err}", path.display()))?;
    Ok(path)
}

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
                "`{}` is not a speed: give a number from {MIN_SPEED} to {MAX_SPEED} (60 plays an hour in a minute) or `max`",
                Clean(s)
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
                    "`{}` is not `scenario`, `now` or an RFC 3339 time like 2026-11-24T14:00:00Z",
                    Clean(other)
                )),
            },
        }
    }
}

/// How to run the simulator: shared by the console and `events`.
#[derive(Debug, Clone, Default, Args)]
pub struct SimArgs {
    /// A bundled scenario's name (see `shipdeck scenarios`) or a scenario file
    /// [default: happy-canary, or the config's].
    #[arg(long, value_name = "NAME|PATH", add = ArgValueCompleter::new(complete::scenarios))]
    pub scenario: Option<String>,

    /// Virtual seconds per real second (60 plays an hour in a minute), or
    /// `max` to run without waiting [default: 10 in the console, 1 for events].
    #[arg(long, value_name = "X")]
    pub speed: Option<Speed>,

    /// Seed for the simulator's randomness: the same seed gives the same
    /// events [default: 1].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

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

/// Where settings and the record of the window come from: shared by the
/// console and `events`.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The config file [default: $SHIPDECK_CONFIG, else
    /// $XDG_CONFIG_HOME/shipdeck/config.yaml if it exists].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Who you are: what approvals are checked against and the journal
    /// records [default: $SHIPDECK_OPERATOR, the config's, else your login].
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,

    /// Where journals are written [default: $SHIPDECK_JOURNAL_DIR, the
    /// config's, else $XDG_DATA_HOME/shipdeck/journal].
    #[arg(long, value_name = "DIR")]
    pub journal_dir: Option<PathBuf>,
}

/// Whether the person called shipdeck as `kubectl shipdeck`: the commands
/// its messages suggest are then the plugin's.
static AS_KUBECTL_PLUGIN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The command that lists every Rollout, as the person calls shipdeck.
pub fn list_rollouts_command() -> &'static str {
    match AS_KUBECTL_PLUGIN.load(std::sync::atomic::Ordering::Relaxed) {
        true => "kubectl shipdeck list -A",
        false => "shipdeck rollouts -A",
    }
}

/// Appends `flag value` to a command line being said, when there is a
/// value (`kubectl shipdeck` and `gh shipdeck` say theirs as shipdeck's).
fn opt(
    words: &mut Vec<std::ffi::OsString>,
    flag: &str,
    value: Option<impl Into<std::ffi::OsString>>,
) {
    if let Some(value) = value {
        words.push(flag.into());
        words.push(value.into());
    }
}

/// Appends `name` when `on`.
fn flag(words: &mut Vec<std::ffi::OsString>, on: bool, name: &str) {
    if on {
        words.push(name.into());
    }
}

/// A value's name on the command line (`table`, `json`).
fn format_name(value: impl clap::ValueEnum) -> Option<String> {
    value.to_possible_value().map(|v| v.get_name().to_string())
}

/// The settings for a run: flags over environment over config over
/// defaults. On a problem, says what is wrong and returns the exit code.
pub fn settings(
    record: &RecordArgs,
    sim: Option<&SimArgs>,
    more: impl FnOnce(&mut Flags),
) -> Result<Settings, ExitCode> {
    let mut flags = Flags {
        config: record.config.clone(),
        operator: record.operator.clone(),
        journal_dir: record.journal_dir.clone(),
        ..Flags::default()
    };
    if let Some(sim) = sim {
        flags.scenario = sim.scenario.clone();
        flags.seed = sim.seed;
        flags.autopilot = sim.autopilot;
    }
    more(&mut flags);
    settings::resolve(&flags, &|var| std::env::var(var).ok()).map_err(|err| {
        crate::errln!("shipdeck: {err}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// A simulator ready to run: the scenario as configured, its options and
/// its speed.
pub struct Prepared {
    pub scenario: Scenario,
    pub options: SimOptions,
    pub speed: Speed,
    /// What the backend calls itself: `sim:happy-canary`.
    pub label: String,
    /// Where the release's metrics are read, when not the simulator.
    pub metrics: Option<crate::backend::metrics::Source>,
    /// The scenario's scripted people who stood aside for the person at the
    /// keys (who has their name).
    pub stood_aside: Vec<crate::model::Person>,
}

/// Loads the scenario the settings name and applies the settings to it.
pub fn prepare(
    settings: &Settings,
    sim: &SimArgs,
    default_speed: Speed,
    default_start: Start,
) -> Result<Prepared, ExitCode> {
    let name = &settings.sim.scenario.value;
    let mut scenario = load_scenario(name)?;
    let stood_aside = scenario.seat(&settings.operator.value);
    if let (false, Some(rules)) = (scenario.own_rules, &settings.rules) {
        scenario.plan.rules = rules.value.clone();
    }
    // The config's freezes travel in the plan: every reader of the release
    // (a console, a server's, a replay) judges a promote by the same ones.
    scenario.plan.freezes = settings.freezes.value.clone();
    let metrics = metrics_source(settings)?;
    let speed = match (sim.speed, &settings.sim.speed) {
        (Some(speed), _) => speed,
        (None, Some(configured)) => configured.value.parse().map_err(|err| {
            crate::errln!(
                "shipdeck: sim.speed from {}: {}",
                Clean(&configured.source),
                Clean(&err)
            );
            ExitCode::from(EXIT_BAD_INPUT)
        })?,
        // Metrics read from a Prometheus come at the wall clock's pace.
        (None, None) if metrics.is_some() => Speed::Factor(1.0),
        (None, None) => default_speed,
    };
    let mut start = sim.start.unwrap_or(default_start);
    if metrics.is_some() {
        // Prometheus's samples are of the present: the window must be
        // too, and its clock must run.
        if speed == Speed::Max {
            crate::errln!(
                "shipdeck: with a prometheus metrics source the simulator needs a speed (1 follows the wall clock); --speed max has no present to read"
            );
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        if !matches!(start, Start::Now) && sim.start.is_some() {
            crate::errln!(
                "shipdeck: with a prometheus metrics source the window starts now (--start now)"
            );
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        start = Start::Now;
    }
    let options = SimOptions {
        seed: settings.sim.seed.value,
        autopilot: settings.sim.autopilot.value,
        origin: match start {
            Start::Scenario => None,
            Start::Now => Some(Timestamp::now()),
            Start::At(t) => Some(t),
        },
        log_capacity: settings.log_ring.value,
        external_metrics: metrics.is_some(),
        keep_traffic: false,
    };
    Ok(Prepared {
        scenario,
        options,
        speed,
        label: format!("sim:{name}"),
        metrics,
        stood_aside,
    })
}

/// The configured metrics source, its token read.
pub(crate) fn metrics_source(
    settings: &Settings,
) -> Result<Option<crate::backend::metrics::Source>, ExitCode> {
    use crate::config::TokenFrom;
    let Some(configured) = &settings.metrics else {
        return Ok(None);
    };
    let bad = |message: String| {
        crate::errln!(
            "shipdeck: metrics from {}: {}",
            Clean(&configured.source),
            Clean(&message)
        );
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let token = match &configured.value.token {
        None => None,
        Some(TokenFrom::File(path)) => Some(remote::read_token_file(&settings::expand_home(path))?),
        Some(TokenFrom::Env(var)) => match std::env::var(var) {
            Ok(token) if !token.trim().is_empty() => Some(token.trim().to_string()),
            _ => return Err(bad(format!("token_env names {var}, which is not set"))),
        },
    };
    crate::backend::metrics::Source::new(&configured.value, token.as_deref())
        .map(Some)
        .map_err(bad)
}

/// A new journal for this window in the configured folder; says what to do
/// when it cannot be written.
/// `operator` is who the window is recorded as: the configured name, or a
/// server's word on who this is.
pub fn create_journal(
    settings: &Settings,
    operator: &crate::model::Person,
    label: &str,
    mode: &str,
) -> Result<crate::journal::Writer, ExitCode> {
    settings
        .journal_folder()
        .and_then(|dir| crate::journal::Writer::create(dir, operator, label, mode))
        .map_err(|err| {
            crate::errln!(
                "shipdeck: cannot write the journal in {}: {}\n  (set --journal-dir, $SHIPDECK_JOURNAL_DIR or journal_dir: in the config)",
                Clean(settings.journal_dir.value.display()),
                Clean(&err)
            );
            ExitCode::FAILURE
        })
}

/// Loads a bundled scenario by name, or a scenario file by path. On failure
/// prints what is wrong (`path:line:col: ...`) and returns the exit code.
pub fn load_scenario(name_or_path: &str) -> Result<Scenario, ExitCode> {
    let (label, text) = match bundled::get(name_or_path) {
        Some(text) => (format!("{name_or_path} (bundled)"), text.to_string()),
        None => match crate::files::read_text(std::path::Path::new(name_or_path)) {
            Ok(text) => (name_or_path.to_string(), text),
            Err(err) => {
                let names: Vec<&str> = bundled::names().collect();
                if std::path::Path::new(name_or_path).exists() {
                    crate::errln!(
                        "shipdeck: cannot read {}: {}",
                        Clean(name_or_path),
                        Clean(&err)
                    );
                } else {
                    crate::errln!(
                        "shipdeck: no scenario named \"{}\" and no such file\n  bundled scenarios: {}",
                        Clean(name_or_path),
                        names.join(", ")
                    );
                }
                return Err(ExitCode::from(EXIT_BAD_INPUT));
            }
        },
    };
    scenario::parse(&text).map_err(|problems| {
        for p in problems {
            crate::errln!(
                "{}:{}:{}: {}",
                Clean(&label),
                p.line,
                p.column,
                Clean(&p.message)
            );
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
        crate::outln!("{name:<20} {story}");
    }
    ExitCode::SUCCESS
}
