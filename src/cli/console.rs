//! The console: the release on one screen, driven by single keys.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Mutex;

use clap::Args;
use color_eyre::eyre::{Result, WrapErr};
use shipdeck::backend;
use shipdeck::sim::Simulator;
use shipdeck::tui::app::App;
use shipdeck::tui::keymap::KeyMap;
use shipdeck::tui::runtime::{self, Ending};
use shipdeck::tui::terminal;
use shipdeck::tui::theme::Theme;

use super::{SimArgs, Speed, Start};

/// Options of the console (shipdeck with no command).
#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub sim: SimArgs,

    /// A bundled theme (default, light, high-contrast, production) or a theme
    /// file. Without it, production releases get the production skin.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,

    /// Who you are: what approvals are checked against [default:
    /// $SHIPDECK_OPERATOR, else your login name].
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,

    /// The most frames per second drawn when data arrives; keys are answered
    /// at once whatever this says.
    #[arg(long, value_name = "FPS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=240))]
    pub frame_cap: u32,
}

/// The operator's name: the flag, else `SHIPDECK_OPERATOR`, else the login name.
fn operator(flag: Option<&str>) -> String {
    let named = |n: String| Some(n.trim().to_string()).filter(|n| !n.is_empty());
    flag.map(str::to_string)
        .and_then(named)
        .or_else(|| std::env::var("SHIPDECK_OPERATOR").ok().and_then(named))
        .or_else(|| std::env::var("USER").ok().and_then(named))
        .or_else(|| std::env::var("LOGNAME").ok().and_then(named))
        .or_else(account_name)
        .unwrap_or_else(|| "operator".to_string())
}

/// The name of the account this process runs as, from the password file.
fn account_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|fields| fields.get(2) == Some(&uid.as_str()))
        .and_then(|fields| fields.first().map(|n| n.to_string()))
}

/// shipdeck's own diagnostics go to a file, never to the screen it draws on.
fn log_to_file() {
    let Some(dirs) = directories::ProjectDirs::from("", "", "shipdeck") else {
        return;
    };
    let dir = dirs
        .state_dir()
        .unwrap_or_else(|| dirs.data_local_dir())
        .to_path_buf();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("shipdeck.log"))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init();
}

pub fn run(args: &ConsoleArgs) -> ExitCode {
    let scenario = match super::load_scenario(&args.sim.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = match (&args.theme, scenario.plan.environment.as_str()) {
        (Some(name), _) => Theme::load(name, no_color),
        (None, "production") => Theme::load("production", no_color),
        (None, _) => Ok(Theme::default_theme(no_color)),
    };
    let theme = match theme {
        Ok(theme) => theme,
        Err(message) => {
            eprintln!("shipdeck: {message}");
            return ExitCode::from(super::EXIT_BAD_INPUT);
        }
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "shipdeck: the console needs a terminal. To follow a release as a stream instead, run\n  shipdeck events --scenario {}",
            args.sim.scenario
        );
        return ExitCode::from(super::EXIT_BAD_INPUT);
    }
    log_to_file();
    let speed = match args.sim.speed.unwrap_or(Speed::Factor(10.0)) {
        Speed::Factor(f) => Some(f),
        Speed::Max => None,
    };
    let sim = Simulator::new(scenario, args.sim.options(Start::Now));
    let label = match speed {
        Some(f) => format!("sim:{} ×{f}", args.sim.scenario),
        None => format!("sim:{} ×max", args.sim.scenario),
    };
    let operator = operator(args.operator.as_deref());
    tracing::info!(scenario = %args.sim.scenario, ?speed, %operator, "console starting");
    match console(args, sim, speed, label, operator, theme) {
        Ok(Ending::Quit) => ExitCode::SUCCESS,
        Ok(Ending::Signal(name, status)) => {
            tracing::info!("stopped by {name}");
            eprintln!("shipdeck: stopped by {name}; the terminal is restored");
            ExitCode::from(status)
        }
        Err(err) => {
            eprintln!("shipdeck: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn console(
    args: &ConsoleArgs,
    sim: Simulator,
    speed: Option<f64>,
    label: String,
    operator: String,
    theme: Theme,
) -> Result<Ending> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")?;
    runtime.block_on(async {
        let handle = backend::sim::spawn(sim, speed, label.clone());
        let mut app = App::new(
            operator,
            label,
            KeyMap::default(),
            theme,
            shipdeck::model::DEFAULT_LOG_CAPACITY,
            format!("console-{}", std::process::id()),
        );
        let mut guard = terminal::enter().wrap_err("cannot take over the terminal")?;
        let ending = runtime::run(&mut guard.terminal, &mut app, handle, args.frame_cap).await;
        drop(guard);
        ending.wrap_err("the console stopped on an error")
    })
}
