//! The command line's shape: the subcommands and their options (clap).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use super::*;

/// A terminal release console: watch a release go out live, sign approval
/// gates, advance canary steps, and roll back with one keystroke.
///
/// With no command, shipdeck opens the console on the embedded simulator.
#[derive(Debug, Parser)]
#[command(
    name = "shipdeck",
    version,
    about,
    max_term_width = 100,
    after_help = KEYS,
    // The console's options go before no command: `shipdeck --operator x
    // config` is refused rather than quietly ignoring --operator.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    console: console::ConsoleArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a release's events as JSON lines, one event per line, until the
    /// release reaches a final state. The window is journaled too.
    ///
    /// Each line is an event envelope: {"seq", "at", "release", "type", ...}.
    /// Exit status 0 when the release has finished, 3 when it waits for a
    /// person (see --autopilot).
    #[command(after_help = "Examples:\n  \
        shipdeck events --scenario canary-regression --speed max --autopilot\n  \
        shipdeck events --scenario ./my-release.yaml --speed 60 | jq -c 'select(.type != \"metric\")'")]
    Events(events::EventsArgs),

    /// Host the embedded simulator over shipdeck's HTTP contract, so that
    /// several consoles and `shipdeck do` share one window.
    ///
    /// Prints the address it listens on. Every command is journaled; an
    /// unfinished window is taken up where it stopped when the server starts
    /// again (unless --fresh).
    #[command(after_help = "Examples:\n  \
        shipdeck serve --scenario two-person\n  \
        shipdeck serve --listen 0.0.0.0:7878 --tokens ~/.config/shipdeck/tokens.yaml\n\n\
        Then: shipdeck --backend http://127.0.0.1:7878")]
    Serve(serve::ServeArgs),

    /// Send one command to a server and print the outcome.
    ///
    /// Exit status 0 when the command was accepted, 3 when it was refused
    /// (the reason is printed), 2 on bad usage or when the server cannot be
    /// reached or refuses the token.
    #[command(after_help = "Examples:\n  \
        shipdeck do approve --gate production --comment \"dashboards clean\" --backend http://127.0.0.1:7878\n  \
        shipdeck do rollback --comment \"p99 regression\" --backend http://127.0.0.1:7878\n  \
        shipdeck do check --list pre-deployment --item bugs --backend http://127.0.0.1:7878")]
    Do(remote::DoArgs),

    /// Check scenario, config and theme files.
    ///
    /// Prints `path:line:col: what is wrong` for every problem found and exits
    /// with status 2, or exits 0 when every file is sound.
    ///
    /// With no paths, checks the config file shipdeck would read.
    Check {
        /// Files to check; the kind of each is read from its contents.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },

    /// Print the effective configuration and where each value came from
    /// (flags > SHIPDECK_* environment > config file > defaults).
    Config {
        #[command(flatten)]
        record: RecordArgs,
    },

    /// Recorded windows.
    Journal {
        #[command(subcommand)]
        command: record::JournalCommand,
        #[command(flatten)]
        record: RecordArgs,
    },

    /// The deployment report of a recorded window, in Markdown or JSON.
    Report {
        #[command(flatten)]
        args: record::ReportArgs,
        #[command(flatten)]
        record: RecordArgs,
    },

    /// Play a recorded window back in the console, read-only: Space pauses,
    /// ← and → move a minute.
    Replay {
        #[command(flatten)]
        args: record::ReplayArgs,
        #[command(flatten)]
        record: RecordArgs,
    },

    /// The team's delivery figures from the journal folder: deployment
    /// frequency, change-failure rate, time to restore and approval wait,
    /// per service and in total.
    #[command(after_help = super::stats::DEFINITIONS)]
    Stats {
        #[command(flatten)]
        args: super::stats::StatsArgs,
        #[command(flatten)]
        record: RecordArgs,
    },

    /// List the scenarios built into shipdeck.
    Scenarios,

    /// List Argo Rollouts like `kubectl argo rollouts list rollouts`, those
    /// waiting on a person (a pause, an inconclusive analysis) first, with
    /// how long they have waited.
    #[command(after_help = "Examples:\n  \
        shipdeck rollouts -A\n  \
        shipdeck rollouts --namespace payments --format json")]
    Rollouts(argo::RolloutsArgs),

    /// List a repository's recent GitHub Actions runs, those waiting for a
    /// review you can give first, with what each waits for.
    #[command(after_help = "Examples:\n  \
        shipdeck runs octo-org/octo-repo\n  \
        shipdeck runs octo-org/octo-repo --workflow deploy.yml --branch main --format json")]
    Runs(github::RunsArgs),

    /// What waits on you, across the configured servers, Argo Rollouts
    /// namespaces and GitHub repositories: gates to sign, pauses to
    /// promote, checklist items, failed stages, reviews — yours first,
    /// each with since when and its deadline.
    ///
    /// With --json, prints it for scripts and exits 0 when nothing waits on
    /// you, 3 when something does (2 on bad usage or nothing configured); a
    /// source that cannot be read is said on stderr.
    #[command(after_help = "Examples:\n  \
        shipdeck inbox --json\n  \
        shipdeck inbox --server https://deploy.example:7070 --rollouts payments --github octo-org/api --json")]
    Inbox(inbox::InboxArgs),

    /// Print the shell code that completes shipdeck's commands, options and
    /// values (scenarios, themes, the cluster's Rollouts, a server's
    /// releases) as you type them.
    ///
    /// Tab runs shipdeck to ask for the candidates, so they are always
    /// this build's; a cluster or server that does not answer within 1.5 s
    /// gives none.
    #[command(after_help = "Examples:\n  \
        source <(shipdeck completions bash)            # now; add the line to ~/.bashrc to keep it\n  \
        echo 'source <(shipdeck completions zsh)' >> ~/.zshrc\n  \
        shipdeck completions fish > ~/.config/fish/completions/shipdeck.fish")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: super::complete::Shell,
    },

    /// Show shipdeck's manual page (roff when piped), or write every page
    /// into a folder: shipdeck.1 and one per subcommand.
    #[command(after_help = "Examples:\n  \
        shipdeck man                                     # read it now\n  \
        shipdeck man serve > shipdeck-serve.1\n  \
        shipdeck man --install                           # then: man shipdeck, man shipdeck-serve\n  \
        shipdeck man --dir ~/.local/share/man/man1")]
    Man(super::man::ManArgs),
}

const KEYS: &str = "Console keys (press ? in the console for the keys as bound now):\n  \
    a advance   F promote fully   p pause/resume   s sign off   x reject\n  \
    R roll back   r retry   U undo (a Rollout)   Space tick   / filter logs\n  \
    f follow   Tab pane   ? help   q quit";

/// The clap definition: for completion and the man pages.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Runs the command line: answers the shell when it asks for completions,
/// else parses the arguments and runs the command.
pub fn main() -> ExitCode {
    super::complete::answer(command);
    run_from(std::env::args_os())
}

/// Runs the command line `words` (the program's name first): also how
/// `kubectl shipdeck` and `gh shipdeck` run what they are asked.
pub fn run_from(
    words: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
) -> ExitCode {
    let cli = match Cli::try_parse_from(words) {
        Ok(cli) => cli,
        Err(err) => return refused(&err),
    };
    match cli.command {
        None => console::run(&cli.console),
        Some(Command::Events(args)) => events::run(&args),
        Some(Command::Check { paths }) => check::run(&paths),
        Some(Command::Serve(args)) => serve::run(&args),
        Some(Command::Do(args)) => remote::run(&args),

        Some(Command::Config { record }) => config::run(&record),
        Some(Command::Journal { command, record }) => match command {
            record::JournalCommand::List => record::list(&record),
        },
        Some(Command::Report { args, record }) => record::report(&record, &args),
        Some(Command::Replay { args, record }) => record::replay(&record, &args),
        Some(Command::Stats { args, record }) => super::stats::run(&args, &record),
        Some(Command::Scenarios) => scenarios(),
        Some(Command::Rollouts(args)) => argo::rollouts(&args),
        Some(Command::Runs(args)) => github::runs(&args),
        Some(Command::Inbox(args)) => inbox::run(&args),
        Some(Command::Completions { shell }) => super::complete::print(shell),
        Some(Command::Man(args)) => super::man::run(
            &args,
            command(),
            vec![super::kubectl::command(), super::gh::command()],
        ),
    }
}

/// clap's word on the command line: the help and the version as clap
/// prints them; an error, which quotes what was given, cleaned.
pub(super) fn refused(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let code = u8::try_from(err.exit_code()).unwrap_or(EXIT_BAD_INPUT);
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
    } else {
        crate::errln!(
            "{}",
            quoted_clean(err.render().ansi().to_string()).trim_end()
        );
    }
    ExitCode::from(code)
}

/// clap's message with each argument it quotes cleaned: a value that held
/// a line break cannot start a line of its own.
fn quoted_clean(mut text: String) -> String {
    use crate::model::text::{clean, is_unsafe};
    for arg in std::env::args_os().skip(1) {
        let arg = arg.to_string_lossy();
        let value = arg.split_once('=').map_or(&*arg, |(_, v)| v);
        for given in [&*arg, value] {
            if given.chars().any(is_unsafe) {
                text = text.replace(given, &clean(given));
            }
        }
    }
    text
}
