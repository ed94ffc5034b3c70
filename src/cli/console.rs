//! The console: the release on one screen, driven by single keys.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::backend::{self, Handle};
use crate::journal::Writer;
use crate::model::text::Clean;
use crate::settings::Settings;
use crate::sim::Simulator;
use crate::tui::app::{App, Leave};
use crate::tui::keymap::KeyMap;
use crate::tui::runtime::{self, Ending};
use crate::tui::terminal;
use crate::tui::theme::Theme;
use clap::Args;
use clap_complete::engine::ArgValueCompleter;

use super::remote::RemoteArgs;
use super::{EXIT_BAD_INPUT, RecordArgs, SimArgs, Speed, Start};
use crate::backend::http::RemoteError;
use crate::backend::tail::LogSource;
use crate::settings::ConfiguredLogs;

/// Options of the console (shipdeck with no command).
#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub sim: SimArgs,

    #[command(flatten)]
    pub record: RecordArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub argo: super::argo::RolloutArgs,

    #[command(flatten)]
    pub github: super::github::GithubArgs,

    /// A bundled theme (default, light, high-contrast, production) or a theme
    /// file. Without one, production releases get the production skin.
    #[arg(long, value_name = "NAME|PATH", add = ArgValueCompleter::new(super::complete::themes))]
    pub theme: Option<String>,

    /// The most frames per second drawn when data arrives; keys are answered
    /// at once whatever this says [default: 30].
    #[arg(long, value_name = "FPS", value_parser = clap::value_parser!(u32).range(1..=240))]
    pub frame_cap: Option<u32>,

    /// Do not ring the terminal's bell when something starts to wait on
    /// you (the config's `bell: false`).
    #[arg(long)]
    pub no_bell: bool,

    /// Follow a log file too, like `tail -F` (appends, truncation,
    /// rotation); `-` reads standard input. Its lines join the log pane under
    /// the file's name. May be given more than once.
    #[arg(long, value_name = "FILE|-")]
    pub logs: Vec<String>,

    /// Follow a command's output too, e.g. 'kubectl logs -f deploy/checkout-api'.
    /// Split into words like a shell would, but run without one.
    #[arg(long, value_name = "COMMAND")]
    pub logs_cmd: Vec<String>,

    /// Log lines kept in memory for each source: the release's own lines,
    /// and each --logs or --logs-cmd [default: 100000].
    #[arg(long, value_name = "LINES", value_parser = clap::value_parser!(u64).range(1..=crate::model::MAX_LOG_CAPACITY as u64))]
    pub log_ring: Option<u64>,

    /// With a server as the backend: how long a command may wait undelivered
    /// while the server is out of reach before it expires and is not sent
    /// (from 1s to 1h). A rollback never expires: it is sent when the
    /// server is back [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = crate::config::command_expiry)]
    pub command_expiry: Option<std::time::Duration>,
}

/// The theme the settings ask for; production releases get the danger skin
/// unless a theme was chosen.
pub fn theme(settings: &Settings, environment: &str) -> Result<Theme, ExitCode> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = match (&settings.theme.value, environment) {
        (Some(name), _) => Theme::load(name, no_color),
        (None, "production") => Theme::load("production", no_color),
        (None, _) => Ok(Theme::default_theme(no_color)),
    };
    theme.map_err(|message| {
        crate::errln!(
            "shipdeck: theme from {}: {}",
            Clean(&settings.theme.source),
            Clean(&message)
        );
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// The key map: defaults, with the config's rebindings.
pub fn keymap(settings: &Settings) -> Result<KeyMap, ExitCode> {
    KeyMap::default()
        .with_overrides(
            settings
                .keys
                .iter()
                .map(|(a, k)| (a.as_str(), k.value.as_str())),
        )
        .map_err(|message| {
            crate::errln!("shipdeck: keys: {}", Clean(&message));
            ExitCode::from(EXIT_BAD_INPUT)
        })
}

/// The console needs a terminal on both ends.
pub fn need_terminal(instead: &str) -> Result<(), ExitCode> {
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        return Ok(());
    }
    crate::errln!(
        "shipdeck: the console needs a terminal. Instead, run\n  {}",
        Clean(instead)
    );
    Err(ExitCode::from(EXIT_BAD_INPUT))
}

/// The console with `--logs -`: standard input carries the log, so keys
/// are read from the controlling terminal.
fn need_terminal_for_keys(instead: &str) -> Result<(), ExitCode> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok();
    if std::io::stdout().is_terminal() && tty {
        return Ok(());
    }
    crate::errln!(
        "shipdeck: the console needs a terminal. Instead, run\n  {}",
        Clean(instead)
    );
    Err(ExitCode::from(EXIT_BAD_INPUT))
}

pub fn run(args: &ConsoleArgs) -> ExitCode {
    match start(args) {
        Ok(code) | Err(code) => code,
    }
}

/// The log sources asked for: the flags', else the config's.
fn log_sources(args: &ConsoleArgs, settings: &Settings) -> Result<Vec<LogSource>, ExitCode> {
    let mut sources: Vec<LogSource> = args
        .logs
        .iter()
        .map(|f| LogSource::file_or_stdin(f))
        .collect();
    for line in &args.logs_cmd {
        sources.push(LogSource::command(line).map_err(|why| {
            crate::errln!("shipdeck: {}", Clean(&why));
            ExitCode::from(EXIT_BAD_INPUT)
        })?);
    }
    if sources.iter().filter(|s| **s == LogSource::Stdin).count() > 1 {
        crate::errln!("shipdeck: --logs - (standard input) can be given once");
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    if sources.is_empty()
        && let Some(configured) = &settings.logs
    {
        sources.push(match &configured.value {
            ConfiguredLogs::Command(argv) if !argv.is_empty() => LogSource::Command(argv.clone()),
            ConfiguredLogs::Command(_) => {
                crate::errln!(
                    "shipdeck: logs from {}: the command is empty",
                    Clean(&configured.source)
                );
                return Err(ExitCode::from(EXIT_BAD_INPUT));
            }
            ConfiguredLogs::File(path) => LogSource::File(path.clone()),
        });
    }
    Ok(sources)
}

/// Checks the terminal the console will draw on and read keys from.
fn terminal_for(sources: &[LogSource], instead: &str) -> Result<(), ExitCode> {
    if sources.contains(&LogSource::Stdin) {
        need_terminal_for_keys(instead)
    } else {
        need_terminal(instead)
    }
}

fn start(args: &ConsoleArgs) -> Result<ExitCode, ExitCode> {
    args.argo.stray()?;
    args.github.stray()?;
    let settings = super::settings(&args.record, Some(&args.sim), |flags| {
        flags.theme = args.theme.clone();
        flags.frame_cap = args.frame_cap;
        flags.bell = args.no_bell.then_some(false);
        flags.log_ring = args.log_ring.map(|n| n as usize);
        flags.command_expiry = args.command_expiry;
        args.remote.apply(flags);
        args.argo.apply(flags);
        args.github.apply(flags);
    })?;
    let keymap = keymap(&settings)?;
    let sources = log_sources(args, &settings)?;
    let visit = Visit::first(&settings)?;
    let next = window(&settings, keymap.clone(), sources, &args.sim, &visit)?;
    super::windows::follow(next, &settings, keymap, visit.inbox)
}

/// How a window is visited: the inbox's sources, when the console has
/// them, and whether it was opened from `shipdeck inbox` (Esc goes back).
#[derive(Debug, Clone, Default)]
pub struct Visit {
    pub inbox: Option<crate::inbox::Sources>,
    pub from_inbox: bool,
}

impl Visit {
    /// The first window's: the config's inbox, if it names one.
    fn first(settings: &Settings) -> Result<Visit, ExitCode> {
        Ok(Visit {
            inbox: crate::inbox::Sources::configured(settings).map_err(|why| {
                crate::errln!("shipdeck: {}", Clean(&why));
                ExitCode::from(EXIT_BAD_INPUT)
            })?,
            from_inbox: false,
        })
    }
}

/// What comes after a window: shipdeck ends with a status, or goes on to
/// another window or the inbox.
#[derive(Debug)]
pub enum Next {
    Done(ExitCode),
    Leave(crate::tui::app::Leave),
}

/// Opens the window the settings name: a Rollout, a run, a server's
/// release, or the simulator.
pub fn window(
    settings: &Settings,
    keymap: KeyMap,
    sources: Vec<LogSource>,
    sim: &SimArgs,
    visit: &Visit,
) -> Result<Next, ExitCode> {
    if let Some(rollout) = settings.rollout.clone() {
        super::remote::one_backend(settings)?;
        super::remote::no_sim_flags(sim, settings)?;
        return on_rollout(settings, &rollout, keymap, sources, visit);
    }
    if let Some(github) = settings.github.clone() {
        super::remote::one_backend(settings)?;
        super::remote::no_sim_flags(sim, settings)?;
        return on_github(settings, &github, keymap, sources, visit);
    }
    if let Some((remote, configured)) = super::remote::connect(settings)? {
        super::remote::no_sim_flags(sim, settings)?;
        super::remote::no_metrics_source(settings);
        let wanted = configured.release.as_ref().map(|r| r.value.clone());
        let runtime = super::remote::runtime()?;
        let picked = runtime.block_on(remote.pick_release(wanted.as_deref()));
        // Who the server says this is: the journal and the screen take its
        // word (its hello says so again, and a change is journaled).
        let operator = match &picked {
            Ok(_) => runtime.block_on(remote.identity()).ok().flatten(),
            Err(_) => None,
        };
        let operator = operator.unwrap_or_else(|| settings.operator.value.clone());
        drop(runtime);
        let (release, environment) = match (picked, wanted) {
            (Ok(summary), _) => (summary.id, summary.environment),
            // Down now, but named: the console waits for it, saying so.
            (Err(RemoteError::Unreachable(why)), Some(id)) => {
                crate::errln!("shipdeck: {}; the console keeps trying", Clean(&why));
                (id, String::new())
            }
            (Err(err), _) => return Err(super::remote::failed(&err)),
        };
        let theme = theme(settings, &environment)?;
        let here = crate::inbox::Place::Server {
            url: configured.url.value.clone(),
            release: release.clone(),
        };
        terminal_for(
            &sources,
            &format!("shipdeck events --backend {}", configured.url.value),
        )?;
        let label = format!("{} {release}", remote.address());
        let journal_label = format!("http:{label}");
        let expiry = settings.command_expiry.value;
        // The server's word, as the console's operator.
        let notes: Vec<String> = (operator != settings.operator.value)
            .then(|| format!("the server knows you as {operator}; your commands are theirs"))
            .into_iter()
            .collect();
        let settings = Settings {
            operator: crate::settings::Setting {
                value: operator,
                source: settings.operator.source.clone(),
            },
            ..settings.clone()
        };
        let window = Window {
            theme,
            keymap,
            label: label.clone(),
            journal_label,
            notes,
            here: Some(here),
        };
        return open(&settings, window, visit, move || {
            backend::http::spawn(remote, release, label, expiry).with_logs(sources)
        });
    }
    let prepared = super::prepare(settings, sim, Speed::Factor(10.0), Start::Now)?;
    let theme = theme(settings, &prepared.scenario.plan.environment)?;
    terminal_for(
        &sources,
        &format!("shipdeck events --scenario {}", settings.sim.scenario.value),
    )?;
    let speed = match prepared.speed {
        Speed::Factor(f) => Some(f),
        Speed::Max => None,
    };
    let mut label = match speed {
        Some(f) => format!("{} ×{f}", prepared.label),
        None => format!("{} ×max", prepared.label),
    };
    if prepared.metrics.is_some() {
        label.push_str(" + prometheus");
    }
    let sim = Simulator::new(prepared.scenario, prepared.options);
    let header = label.clone();
    let metrics = prepared.metrics;
    let notes: Vec<String> = prepared
        .stood_aside
        .iter()
        .map(|name| format!("you are {name}: the scenario's scripted {name} stands aside"))
        .collect();
    let window = Window {
        theme,
        keymap,
        label: header,
        journal_label: prepared.label.clone(),
        notes,
        here: None,
    };
    open(settings, window, visit, move || {
        let readings = metrics.map(backend::metrics::spawn);
        backend::sim::spawn_fed(sim, speed, label, readings).with_logs(sources)
    })
}

/// The console on an Argo Rollout: the cluster is looked at once first, so
/// a wrong name, context or permission is said before the screen is taken.
fn on_rollout(
    settings: &Settings,
    rollout: &crate::settings::RolloutSettings,
    keymap: KeyMap,
    sources: Vec<LogSource>,
    visit: &Visit,
) -> Result<Next, ExitCode> {
    let target = super::argo::target(rollout, &settings.freezes.value);
    let found = super::argo::find(&target)?;
    let theme = theme(settings, &found.namespace)?;
    terminal_for(
        &sources,
        &format!("shipdeck events --rollout {}", target.name),
    )?;
    let label = super::argo::label(&target, &found);
    let notes = vec![format!(
        "following the Rollout on {}{}",
        found.server,
        found
            .context
            .as_deref()
            .map(|c| format!(" (context {c})"))
            .unwrap_or_default()
    )];
    let here = crate::inbox::Place::Rollout {
        context: found.context.clone(),
        namespace: found.namespace.clone(),
        name: target.name.clone(),
    };
    let on = Adapter {
        settings,
        theme,
        keymap,
        notes,
        sources,
        visit,
        here,
    };
    on.open(label, move |label, capacity, readings| {
        crate::argo::backend::spawn(target, label, capacity, readings)
    })
}

/// The console on a GitHub Actions run: GitHub is looked at once first,
/// so a wrong repository, run or token is said before the screen is taken.
fn on_github(
    settings: &Settings,
    github: &crate::settings::GithubSettings,
    keymap: KeyMap,
    sources: Vec<LogSource>,
    visit: &Visit,
) -> Result<Next, ExitCode> {
    let (api, kind, repo, run) = super::github::find(github)?;
    let theme = theme(settings, "")?;
    terminal_for(
        &sources,
        &format!("shipdeck events --github {repo} --run {}", run.id),
    )?;
    let label = super::github::label(&repo, &run);
    let notes = vec![format!(
        "following run {} of {repo}: {}",
        run.id,
        crate::model::text::clip(&run.title(), 80)
    )];
    let here = crate::inbox::Place::Github {
        repo: repo.to_string(),
        run: run.id,
        api_url: (github.api_url.value != crate::github::client::GITHUB_API)
            .then(|| github.api_url.value.clone()),
    };
    let target = super::github::target(github, repo, &run, kind, &settings.freezes.value);
    let canary = github.canary.as_ref().map(|c| c.value.clone());
    let on = Adapter {
        settings,
        theme,
        keymap,
        notes,
        sources,
        visit,
        here,
    };
    on.open(label, move |label, capacity, readings| {
        crate::github::backend::spawn_joined(api, target, canary, label, capacity, readings)
    })
}

/// The console on a real system (a Rollout, a workflow run): its metrics
/// from the configured source, and the operator's log sources beside it.
struct Adapter<'a> {
    settings: &'a Settings,
    theme: Theme,
    keymap: KeyMap,
    notes: Vec<String>,
    sources: Vec<LogSource>,
    visit: &'a Visit,
    /// Where the release is, for the inbox.
    here: crate::inbox::Place,
}

impl Adapter<'_> {
    /// Opens it: the window journaled under `label`, the header saying
    /// `+ prometheus` when Prometheus gives the metrics; `spawn` starts the
    /// backend with the header's label, the log ring and the readings.
    fn open(
        self,
        label: String,
        spawn: impl FnOnce(
            String,
            usize,
            Option<tokio::sync::mpsc::Receiver<backend::metrics::Reading>>,
        ) -> Handle,
    ) -> Result<Next, ExitCode> {
        let metrics = super::metrics_source(self.settings)?;
        let header = match metrics {
            Some(_) => format!("{label} + prometheus"),
            None => label.clone(),
        };
        let capacity = self.settings.log_ring.value;
        let sources = self.sources;
        let shown = header.clone();
        let window = Window {
            theme: self.theme,
            keymap: self.keymap,
            label: header,
            journal_label: label,
            notes: self.notes,
            here: Some(self.here),
        };
        open(self.settings, window, self.visit, move || {
            let readings = metrics.map(backend::metrics::spawn);
            spawn(shown, capacity, readings).with_logs(sources)
        })
    }
}

/// A window about to open: how it looks, what its header and journal call
/// it, what it says first, and where its release is (none: it lives only
/// here, as the simulator's does).
struct Window {
    theme: Theme,
    keymap: KeyMap,
    label: String,
    journal_label: String,
    notes: Vec<String>,
    here: Option<crate::inbox::Place>,
}

/// Opens the console on a backend, journaling the window under its
/// journal label.
fn open(
    settings: &Settings,
    window: Window,
    visit: &Visit,
    backend: impl FnOnce() -> Handle,
) -> Result<Next, ExitCode> {
    let Window {
        theme,
        keymap,
        label,
        journal_label,
        notes,
        here,
    } = window;
    let journal_label = journal_label.as_str();
    // Its own diagnostics go to a file, never to the screen it draws on.
    let _ = super::log_to_file(super::CONSOLE_LOG);
    let operator = settings.operator.value.clone();
    let mut journal = super::create_journal(settings, &operator, journal_label, "console")?;
    tracing::info!(
        backend = %Clean(&label),
        operator = %Clean(&operator),
        journal = %Clean(journal.path().display()),
        "console starting"
    );
    // Command ids must not meet another console's, on this machine or any.
    let client = format!("console-{}-{:08x}", std::process::id(), fastrand::u32(..));
    let mut app = App::new(
        operator,
        label,
        keymap,
        theme,
        settings.log_ring.value,
        client,
    );
    app.bell = settings.bell.value;
    app.notify = settings.notify.value;
    for note in &notes {
        app.note(note);
    }
    app.from_inbox = visit.from_inbox;
    if visit.inbox.is_some() {
        app.inbox = Some(crate::tui::inbox::InboxList::over(here.clone()));
    }
    let watch = visit
        .inbox
        .clone()
        .map(|sources| (sources, app.operator.clone()));
    let ending = tui(
        &mut app,
        backend,
        Some(&mut journal),
        settings.frame_cap.value,
        move || watch.map(|(sources, operator)| crate::inbox::watch(sources, operator)),
    );
    let path = journal.path().display().to_string();
    let closed = journal.close(&match &ending {
        Ok(Ending::Quit) => "quit".to_string(),
        Ok(Ending::Leave(Leave::Open(_))) => "left for another window".to_string(),
        Ok(Ending::Leave(Leave::Inbox)) => "left for the inbox".to_string(),
        Ok(Ending::Signal(name, _)) => format!("stopped by {name}"),
        Err(err) => format!("error: {err}"),
    });
    if let Err(err) = closed {
        crate::errln!(
            "shipdeck: the journal {} could not be closed: {err}",
            Clean(&path)
        );
    }
    if let Ok(Ending::Leave(to)) = ending {
        crate::errln!("shipdeck: the window is recorded in {}", Clean(&path));
        return Ok(Next::Leave(to));
    }
    Ok(Next::Done(finish(ending, Some(&path))))
}

/// Why the console could not run: what it was doing, and the error that
/// stopped it.
#[derive(Debug)]
pub struct ConsoleError {
    doing: &'static str,
    cause: std::io::Error,
}

impl ConsoleError {
    fn new(doing: &'static str, cause: std::io::Error) -> ConsoleError {
        ConsoleError { doing, cause }
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.doing)
    }
}

impl std::error::Error for ConsoleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// An error and each of its causes, `what: why: why`.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(why) = cause {
        text.push_str(&format!(": {why}"));
        cause = why.source();
    }
    text
}

/// Runs the console's loop on a fresh runtime, with the terminal taken over
/// for as long as it runs.
pub fn tui(
    app: &mut App,
    backend: impl FnOnce() -> Handle,
    journal: Option<&mut Writer>,
    frame_cap: u32,
    inbox: impl FnOnce() -> Option<tokio::sync::mpsc::Receiver<crate::inbox::Feed>>,
) -> Result<Ending, ConsoleError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|cause| ConsoleError::new("cannot start the async runtime", cause))?;
    let ending = runtime.block_on(async {
        let handle = backend();
        let feeds = inbox();
        let mut guard = terminal::enter()
            .map_err(|cause| ConsoleError::new("cannot take over the terminal", cause))?;
        let ending =
            runtime::run(&mut guard.terminal, app, handle, journal, frame_cap, feeds).await;
        drop(guard);
        ending.map_err(|cause| ConsoleError::new("the console stopped on an error", cause))
    });
    // A log on standard input (`--logs -`) is read by a blocking thread
    // that only a new line or the pipe's end lets go: the console ends
    // without waiting for it.
    runtime.shutdown_background();
    ending
}

/// Says how the console ended, and returns the exit status for it.
pub fn finish(ending: Result<Ending, ConsoleError>, journal: Option<&str>) -> ExitCode {
    if let Some(path) = journal {
        crate::errln!("shipdeck: the window is recorded in {}", Clean(path));
    }
    match ending {
        Ok(Ending::Quit | Ending::Leave(_)) => ExitCode::SUCCESS,
        Ok(Ending::Signal(name, status)) => {
            tracing::info!("stopped by {name}");
            crate::errln!("shipdeck: stopped by {name}; the terminal is restored");
            ExitCode::from(status)
        }
        Err(err) => {
            crate::errln!("shipdeck: {}", Clean(with_causes(&err)));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_error_says_what_failed_and_why() {
        let err = ConsoleError::new(
            "the console stopped on an error",
            std::io::Error::other("No space left on device"),
        );
        // The journal's `closed` record says what; standard error says why.
        assert_eq!(err.to_string(), "the console stopped on an error");
        assert_eq!(
            with_causes(&err),
            "the console stopped on an error: No space left on device"
        );
    }
}
