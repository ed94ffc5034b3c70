//! `shipdeck inbox`: what waits on this operator across the configured
//! servers, Rollout namespaces and GitHub repositories — the screen, or
//! `--json` for scripts.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{EXIT_BAD_INPUT, RecordArgs};
use crate::inbox::{self, Sources};
use crate::model::text::Clean;

/// Exit status of `--json` when something waits on me.
pub const EXIT_WAITING: u8 = 3;

/// How long `--json` waits for a source's first answer.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Options of `shipdeck inbox`.
#[derive(Debug, Clone, Args)]
pub struct InboxArgs {
    /// Print what waits as JSON (each item, and each source that could
    /// not be read) and exit: 3 when something waits on you, 0 when nothing
    /// does, 1 when nothing does in what could be read but a source could
    /// not be.
    #[arg(long)]
    pub json: bool,

    /// A `shipdeck serve` to read (repeatable), instead of the config's
    /// inbox servers. Its token comes from $SHIPDECK_TOKEN.
    #[arg(long = "server", value_name = "URL")]
    pub servers: Vec<String>,

    /// A namespace whose Argo Rollouts to read (repeatable), instead of
    /// the config's.
    #[arg(long = "rollouts", value_name = "NS")]
    pub rollouts: Vec<String>,

    /// With --rollouts: the kubeconfig context [default: its current one].
    #[arg(long, value_name = "NAME", requires = "rollouts")]
    pub context: Option<String>,

    /// A GitHub repository whose waiting runs to read (repeatable),
    /// instead of the config's.
    #[arg(long = "github", value_name = "OWNER/REPO")]
    pub github: Vec<String>,

    #[command(flatten)]
    pub record: RecordArgs,
}

/// `shipdeck inbox`.
pub fn run(args: &InboxArgs) -> ExitCode {
    match inbox(args) {
        Ok(code) | Err(code) => code,
    }
}

fn inbox(args: &InboxArgs) -> Result<ExitCode, ExitCode> {
    let settings = super::settings(&args.record, None, |flags| {
        flags.inbox_servers = args.servers.clone();
        flags.inbox_rollouts = args.rollouts.clone();
        flags.inbox_context = args.context.clone();
        flags.inbox_github = args.github.clone();
    })?;
    let sources = Sources::from_settings(&settings).map_err(|why| {
        crate::errln!("shipdeck: {}", Clean(&why));
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    if !args.json {
        let keymap = super::console::keymap(&settings)?;
        let next = super::console::Next::Leave(crate::tui::app::Leave::Inbox);
        return super::windows::follow(next, &settings, keymap, Some(sources));
    }
    let runtime = super::remote::runtime()?;
    let operator = settings.operator.value.clone();
    let gathered = runtime.block_on(inbox::gather(sources, operator, PATIENCE));
    runtime.shutdown_timeout(Duration::from_millis(100));
    for (source, why) in gathered.troubles() {
        crate::errln!("shipdeck: {}: {}", Clean(source), Clean(why));
    }
    crate::outln!("{}", inbox::json(&gathered, jiff::Timestamp::now()));
    // Nothing waiting is only all clear when every source could say so.
    Ok(match (gathered.mine(), gathered.troubles().is_empty()) {
        (0, true) => ExitCode::SUCCESS,
        (0, false) => ExitCode::FAILURE,
        _ => ExitCode::from(EXIT_WAITING),
    })
}
