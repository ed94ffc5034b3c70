//! A server as the backend: `--backend URL` for the console and `events`,
//! and `shipdeck do`, one command from the shell.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::backend::http::{COMMAND_PATIENCE, Decided, Remote, RemoteError};
use crate::engine::Verdict;
use crate::model::text::Clean;
use crate::model::{Action, Command};
use crate::settings::{RemoteSettings, Settings, Source};
use clap::{Args, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use super::{EXIT_BAD_INPUT, RecordArgs};

/// Exit status of a command the server refused.
pub const EXIT_REFUSED: u8 = 3;

/// Where a server is: shared by the console, `events` and `do`.
#[derive(Debug, Clone, Args)]
pub struct RemoteArgs {
    /// A server speaking shipdeck's HTTP contract (`shipdeck serve`, or your
    /// release service), instead of the embedded simulator
    /// [default: $SHIPDECK_BACKEND, or the config's http pipeline].
    #[arg(long, value_name = "URL")]
    pub backend: Option<String>,

    /// The release to follow on the server [default: its only one].
    #[arg(long, value_name = "ID", add = ArgValueCompleter::new(super::complete::releases))]
    pub release: Option<String>,

    /// A file holding the bearer token for the server. The token is never
    /// taken on the command line, where `ps` would show it; $SHIPDECK_TOKEN
    /// works too.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

impl RemoteArgs {
    pub fn apply(&self, flags: &mut crate::settings::Flags) {
        flags.backend = self.backend.clone();
        flags.release = self.release.clone();
        flags.token_file = self.token_file.clone();
    }
}

/// The bearer token: a token file given as a flag, else `$SHIPDECK_TOKEN`,
/// else a configured token file. What is wrong is said.
pub fn token(remote: &RemoteSettings) -> Result<Option<String>, ExitCode> {
    token_quietly(remote).map_err(|why| {
        crate::errln!("shipdeck: {why}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// [`token`], with what is wrong as a sentence instead of said: for shell
/// completion, which must print nothing but candidates.
pub fn token_quietly(remote: &RemoteSettings) -> Result<Option<String>, String> {
    let read = |path: &PathBuf| token_from_file(path).map(Some);
    if let Some(file) = &remote.token_file
        && matches!(file.source, Source::Flag(_))
    {
        return read(&file.value);
    }
    if let Some(token) = std::env::var("SHIPDECK_TOKEN")
        .ok()
        .filter(|t| remote.env_token && !t.trim().is_empty())
    {
        return Ok(Some(token.trim().to_string()));
    }
    match &remote.token_file {
        Some(file) => read(&file.value),
        None => Ok(None),
    }
}

/// The backends the settings name, each with where it was named.
fn backends_named(settings: &Settings) -> Vec<String> {
    [
        settings
            .remote
            .as_ref()
            .map(|r| format!("a server (from {})", r.url.source)),
        settings
            .rollout
            .as_ref()
            .map(|r| format!("a Rollout (from {})", r.rollout.source)),
        settings
            .github
            .as_ref()
            .map(|g| format!("a GitHub Actions run (from {})", g.repo.source)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A server and a Rollout are two backends: only one may be given.
pub fn one_backend(settings: &Settings) -> Result<(), ExitCode> {
    let named = backends_named(settings);
    if named.len() > 1 {
        crate::errln!(
            "shipdeck: {} backends are named: {}; give one",
            named.len(),
            Clean(&named.join(" and "))
        );
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    Ok(())
}

/// A metrics source is read by the simulator that runs the window: a
/// server reads its own. Says so when one is configured with a server.
pub fn no_metrics_source(settings: &Settings) {
    if let Some(metrics) = &settings.metrics {
        crate::errln!(
            "shipdeck: note: the metrics source (from {}) is not read: a server's rules read their own (shipdeck serve --config FILE)",
            Clean(&metrics.source)
        );
    }
}

/// A bearer token from a file only its owner can read; says what is wrong
/// otherwise.
pub fn read_token_file(path: &std::path::Path) -> Result<String, ExitCode> {
    token_from_file(path).map_err(|why| {
        crate::errln!("shipdeck: {why}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// A bearer token from a file only its owner can read, or why not, in
/// one cleaned sentence.
pub fn token_from_file(path: &std::path::Path) -> Result<String, String> {
    let shown = Clean(path.display());
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "the token file {shown} can be read by others (mode {mode:03o}); make it yours alone: chmod 600 {shown}"
            ));
        }
    }
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        Ok(_) => Err(format!("the token file {shown} is empty")),
        Err(err) => Err(format!(
            "cannot read the token file {shown}: {}",
            Clean(&err)
        )),
    }
}

/// A client of the configured server, if one is configured.
pub fn connect(settings: &Settings) -> Result<Option<(Remote, &RemoteSettings)>, ExitCode> {
    let Some(remote) = &settings.remote else {
        return Ok(None);
    };
    let token = token(remote)?;
    match Remote::new(
        &remote.url.value,
        token.as_deref(),
        &settings.operator.value,
    ) {
        Ok(client) => Ok(Some((client, remote))),
        Err(why) => {
            crate::errln!(
                "shipdeck: backend from {}: {}",
                Clean(&remote.url.source),
                Clean(&why)
            );
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}

/// Refuses simulator options beside another backend: a server, a Rollout
/// or a run is the release, so they would be silently ignored.
pub fn no_sim_flags(sim: &super::SimArgs, settings: &Settings) -> Result<(), ExitCode> {
    let given: Vec<&str> = [
        (sim.scenario.is_some(), "--scenario"),
        (sim.speed.is_some(), "--speed"),
        (sim.seed.is_some(), "--seed"),
        (sim.autopilot, "--autopilot"),
        (sim.start.is_some(), "--start"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    let backend = backends_named(settings)
        .into_iter()
        .next()
        .unwrap_or_else(|| "not the simulator".into());
    crate::errln!(
        "shipdeck: {} {} for the embedded simulator, and the backend is {}, which runs the release itself",
        given.join(", "),
        if given.len() == 1 { "is" } else { "are" },
        Clean(&backend)
    );
    Err(ExitCode::from(EXIT_BAD_INPUT))
}

/// Says what went wrong talking to the server; the exit status for it.
pub fn failed(err: &RemoteError) -> ExitCode {
    crate::errln!("shipdeck: {err}");
    if let RemoteError::Refused { status: 401, .. } = err {
        crate::errln!(
            "  give the token in $SHIPDECK_TOKEN or a file named by --token-file (never on the command line)"
        );
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

/// A single-threaded runtime for one client job.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| {
            crate::errln!("shipdeck: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        })
}

/// What `shipdeck do` can ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verb {
    /// Finish the canary pause the rollout holds at.
    Advance,
    /// Send all traffic to the new version now.
    Promote,
    Pause,
    Resume,
    /// Sign off a gate (--gate; the only open one if not given).
    Approve,
    /// Reject a gate; needs --comment, the reason.
    Reject,
    Rollback,
    /// Abort a Rollout (--rollout): the same as rollback.
    Abort,
    /// Put a Rollout's previous pod template back (--rollout; --to-revision).
    Undo,
    /// Tick a checklist item (--list and --item).
    Check,
    /// Untick a checklist item.
    Uncheck,
    /// Run a failed stage again (--stage).
    Retry,
    /// Acknowledge a firing alert (--rule).
    Ack,
}

/// Options of `shipdeck do`.
#[derive(Debug, Clone, Args)]
pub struct DoArgs {
    /// What to do.
    #[arg(value_enum)]
    pub verb: Verb,

    /// The gate to approve or reject.
    #[arg(long, value_name = "ID")]
    pub gate: Option<String>,

    /// Why: the comment of a sign-off, the reason of a rejection, rollback
    /// or pause.
    #[arg(long, visible_alias = "reason", value_name = "TEXT")]
    pub comment: Option<String>,

    /// The checklist of the item to check or uncheck.
    #[arg(long, value_name = "ID")]
    pub list: Option<String>,

    /// The item to check or uncheck.
    #[arg(long, value_name = "ID")]
    pub item: Option<String>,

    /// The stage to retry.
    #[arg(long, value_name = "ID")]
    pub stage: Option<String>,

    /// The rule whose alert to acknowledge.
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,

    /// The command's id. Sending the same id again is safe: the server
    /// applies it once and answers the same [default: a new one].
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// With --rollout, promote skips every remaining step (the kubectl
    /// plugin's `promote --full`).
    #[arg(long)]
    pub full: bool,

    /// Advance or promote after the release's window has closed: without
    /// it such a promote is refused; with it, it is journaled as late.
    #[arg(long)]
    pub late: bool,

    /// The revision `undo` goes back to [default: the one before the
    /// current].
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u64>,

    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub argo: super::argo::RolloutArgs,

    #[command(flatten)]
    pub github: super::github::GithubArgs,

    #[command(flatten)]
    pub record: RecordArgs,
}

/// Refuses options the verb does not take, rather than ignoring them.
fn no_stray_options(args: &DoArgs, on_rollout: bool) -> Result<(), String> {
    let takes: &[&str] = match args.verb {
        Verb::Promote if on_rollout => &["--full", "--late"],
        Verb::Advance | Verb::Promote => &["--late"],
        Verb::Resume => &[],
        Verb::Undo => &["--to-revision"],
        Verb::Pause | Verb::Rollback | Verb::Abort => &["--comment"],
        Verb::Approve | Verb::Reject => &["--gate", "--comment"],
        Verb::Check | Verb::Uncheck => &["--list", "--item"],
        Verb::Retry => &["--stage"],
        Verb::Ack => &["--rule"],
    };
    let given = [
        (args.gate.is_some(), "--gate"),
        (args.comment.is_some(), "--comment"),
        (args.list.is_some(), "--list"),
        (args.item.is_some(), "--item"),
        (args.stage.is_some(), "--stage"),
        (args.rule.is_some(), "--rule"),
        (args.full, "--full"),
        (args.late, "--late"),
        (args.to_revision.is_some(), "--to-revision"),
    ];
    for (is_given, flag) in given {
        if is_given && !takes.contains(&flag) {
            return Err(format!(
                "{} does not take {flag}{}",
                verb_name(args.verb),
                if takes.is_empty() {
                    String::new()
                } else {
                    format!(" (it takes {})", takes.join(", "))
                }
            ));
        }
    }
    Ok(())
}

/// The command `do` sends; on a Rollout (`--rollout`, or a config's
/// `argo-rollouts` pipeline) promote is the plugin's.
fn action(args: &DoArgs, on_rollout: bool) -> Result<Action, String> {
    no_stray_options(args, on_rollout)?;
    let need = |value: &Option<String>, flag: &str| -> Result<String, String> {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("{} needs {flag}", verb_name(args.verb)))
    };
    Ok(match args.verb {
        Verb::Advance => Action::Advance,
        // A Rollout's promote is the plugin's: the next step, or all of
        // them with --full.
        Verb::Promote if on_rollout && !args.full => Action::Advance,
        Verb::Promote => Action::PromoteFull,
        Verb::Undo => Action::Undo {
            revision: args.to_revision,
        },
        Verb::Pause => Action::Pause {
            reason: args.comment.clone(),
        },
        Verb::Resume => Action::Resume,
        Verb::Approve => Action::Approve {
            gate: args.gate.clone(),
            comment: args.comment.clone(),
        },
        Verb::Reject => Action::Reject {
            gate: args.gate.clone(),
            reason: need(&args.comment, "--comment (the reason, for the record)")?,
        },
        Verb::Rollback | Verb::Abort => Action::Rollback {
            reason: args.comment.clone(),
        },
        Verb::Check => Action::Check {
            list: need(&args.list, "--list")?,
            item: need(&args.item, "--item")?,
        },
        Verb::Uncheck => Action::Uncheck {
            list: need(&args.list, "--list")?,
            item: need(&args.item, "--item")?,
        },
        Verb::Retry => Action::Retry {
            stage: args.stage.clone(),
        },
        Verb::Ack => Action::Ack {
            rule: need(&args.rule, "--rule")?,
        },
    })
}

fn verb_name(verb: Verb) -> String {
    verb.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// `shipdeck do`: one command; 0 accepted, 3 refused, 2 usage or connection.
pub fn run(args: &DoArgs) -> ExitCode {
    match send(args) {
        Ok(code) | Err(code) => code,
    }
}

fn send(args: &DoArgs) -> Result<ExitCode, ExitCode> {
    args.argo.stray()?;
    args.github.stray()?;
    let settings = super::settings(&args.record, None, |flags| {
        args.remote.apply(flags);
        args.argo.apply(flags);
        args.github.apply(flags);
    })?;
    let action = action(args, settings.rollout.is_some()).map_err(|why| {
        crate::errln!("shipdeck: {why}");
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("do-{}-{:08x}", std::process::id(), fastrand::u32(..)));
    let mut command = Command::new(id, settings.operator.value.clone(), action);
    command.late = args.late;
    if let Some(rollout) = settings.rollout.clone() {
        one_backend(&settings)?;
        return super::argo::send(&settings, &rollout, command, &verb_name(args.verb));
    }
    if let Some(github) = settings.github.clone() {
        one_backend(&settings)?;
        let abort = args.verb == Verb::Abort;
        return super::github::send(&settings, &github, command, &verb_name(args.verb), abort);
    }
    let Some((remote, configured)) = connect(&settings)? else {
        crate::errln!(
            "shipdeck: `do` sends a command to a server: give --backend URL (or $SHIPDECK_BACKEND)"
        );
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    };
    let wanted = configured.release.as_ref().map(|r| r.value.clone());
    let runtime = runtime()?;
    let outcome = runtime.block_on(async {
        let release = remote.pick_release(wanted.as_deref()).await?.id;
        remote
            .send(&release, &command, COMMAND_PATIENCE)
            .await
            .map(|reply| (release, reply))
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    let (release, Decided { operator, verdict }) = outcome.map_err(|err| failed(&err))?;
    let what = verb_name(args.verb);
    // The server's words, each cleaned where it is printed.
    let (release, operator) = (Clean(&release), Clean(&operator));
    match verdict {
        Verdict::Accepted { note } => {
            match note {
                Some(note) => crate::outln!(
                    "{release}: {what} accepted (as {operator}): {}",
                    Clean(&note)
                ),
                None => crate::outln!("{release}: {what} accepted (as {operator})"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Verdict::Refused(refusal) => {
            crate::errln!(
                "{release}: {what} refused (as {operator}): {}",
                Clean(&refusal)
            );
            Ok(ExitCode::from(EXIT_REFUSED))
        }
    }
}
