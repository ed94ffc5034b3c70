//! `kubectl shipdeck`: shipdeck as a kubectl plugin (the `kubectl-shipdeck`
//! executable on `$PATH`, which kubectl runs with the words after
//! `shipdeck`). kubectl passes its own global flags through untouched, so
//! the plugin takes those that matter to it (`-n`, `--context`,
//! `--kubeconfig`) anywhere on the line, and refuses the others rather
//! than ignore them. Each verb is said as shipdeck's own command line and
//! run as that: one set of checks, one journal, one set of messages.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use super::complete;

/// Follow and drive an Argo Rollouts canary or blue-green update from
/// shipdeck's console: its steps, analysis and pods beside the keys that
/// promote, pause, abort and undo it, every command journaled with who
/// and why and recorded on the cluster as an Event.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-shipdeck",
    bin_name = "kubectl shipdeck",
    version,
    about = "shipdeck's console on an Argo Rollouts Rollout, as a kubectl plugin",
    max_term_width = 100,
    arg_required_else_help = true,
    after_help = "Examples:\n  \
        kubectl shipdeck rollout checkout -n payments\n  \
        kubectl shipdeck list -A\n  \
        kubectl shipdeck promote checkout -n payments --full\n  \
        kubectl shipdeck abort checkout -n payments --comment \"p99 regression\""
)]
struct Kubectl {
    #[command(subcommand)]
    verb: Verb,

    #[command(flatten)]
    place: Place,
}

/// kubectl's global flags that say where: taken before or after the verb.
#[derive(Debug, Clone, Args)]
struct Place {
    /// The namespace [default: the context's, else default].
    #[arg(long, short = 'n', global = true, value_name = "NS")]
    namespace: Option<String>,

    /// The kubeconfig context to use [default: its current context].
    #[arg(long, global = true, value_name = "NAME")]
    context: Option<String>,

    /// The kubeconfig file to use, alone [default: $KUBECONFIG, else
    /// ~/.kube/config].
    #[arg(long, global = true, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
}

/// Who is at the keys, and where the record goes: shipdeck's own options.
#[derive(Debug, Clone, Args)]
struct Person {
    /// Who you are, for approvals and the journal [default:
    /// $SHIPDECK_OPERATOR, the config's, else your login].
    #[arg(long, value_name = "NAME")]
    operator: Option<String>,

    /// shipdeck's config file.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Where the journal is written.
    #[arg(long, value_name = "DIR")]
    journal_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Open the console on a Rollout: a advances, F promotes fully, p
    /// pauses, R aborts, r retries, U undoes; q quits.
    Rollout {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,

        #[command(flatten)]
        person: Person,

        /// A bundled theme or a theme file.
        #[arg(long, value_name = "NAME|PATH", add = ArgValueCompleter::new(complete::themes))]
        theme: Option<String>,

        /// No terminal bell when something starts to wait on you.
        #[arg(long)]
        no_bell: bool,

        /// Follow a command's output in the log pane too, e.g.
        /// 'kubectl logs -f deploy/checkout'.
        #[arg(long, value_name = "COMMAND")]
        logs_cmd: Vec<String>,
    },

    /// List Rollouts, those waiting on a person (a pause, an inconclusive
    /// analysis) first, with how long they have waited.
    #[command(visible_alias = "ls")]
    List {
        /// Every namespace.
        #[arg(long, short = 'A')]
        all_namespaces: bool,

        /// A table for people, or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },

    /// Promote a paused Rollout to its next step (--full: past every step).
    Promote {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,
        /// Skip every remaining step.
        #[arg(long)]
        full: bool,
        /// Promote after the release's window has closed.
        #[arg(long)]
        late: bool,
        #[command(flatten)]
        person: Person,
    },

    /// Abort a Rollout: all traffic back to the stable version.
    Abort {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,
        /// Why, for the journal and the Event.
        #[arg(long, visible_alias = "reason", value_name = "TEXT")]
        comment: Option<String>,
        #[command(flatten)]
        person: Person,
    },

    /// Pause a Rollout.
    Pause {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,
        /// Why.
        #[arg(long, visible_alias = "reason", value_name = "TEXT")]
        comment: Option<String>,
        #[command(flatten)]
        person: Person,
    },

    /// Resume a paused Rollout.
    Resume {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,
        #[command(flatten)]
        person: Person,
    },

    /// Retry an aborted Rollout.
    Retry {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,
        #[command(flatten)]
        person: Person,
    },

    /// Put a Rollout's previous pod template back.
    Undo {
        #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
        name: String,
        /// The revision to go back to [default: the one before the current].
        #[arg(long, value_name = "N")]
        to_revision: Option<u64>,
        #[command(flatten)]
        person: Person,
    },
}

/// The clap definition, for completion.
pub(super) fn command() -> clap::Command {
    <Kubectl as clap::CommandFactory>::command()
}

/// Runs `kubectl shipdeck …`.
pub fn main() -> ExitCode {
    complete::answer(command);
    let cli = match Kubectl::try_parse() {
        Ok(cli) => cli,
        Err(err) => return super::args::refused(&err),
    };
    super::args::run_from(shipdeck_words(&cli))
}

/// Appends `flag value` when there is a value.
fn opt(words: &mut Vec<OsString>, flag: &str, value: Option<impl Into<OsString>>) {
    if let Some(value) = value {
        words.push(flag.into());
        words.push(value.into());
    }
}

impl Place {
    fn said(&self, words: &mut Vec<OsString>) {
        opt(words, "--namespace", self.namespace.clone());
        opt(words, "--context", self.context.clone());
        opt(words, "--kubeconfig", self.kubeconfig.clone());
    }
}

impl Person {
    fn said(&self, words: &mut Vec<OsString>) {
        opt(words, "--operator", self.operator.clone());
        opt(words, "--config", self.config.clone());
        opt(words, "--journal-dir", self.journal_dir.clone());
    }
}

/// The plugin's command line said as shipdeck's.
fn shipdeck_words(cli: &Kubectl) -> Vec<OsString> {
    let mut words: Vec<OsString> = vec!["shipdeck".into()];
    let w = &mut words;
    let verb = |w: &mut Vec<OsString>, verb: &str, name: &str, person: &Person| {
        w.extend(["do".into(), verb.into(), "--rollout".into(), name.into()]);
        cli.place.said(w);
        person.said(w);
    };
    let flag = |w: &mut Vec<OsString>, on: bool, flag: &str| {
        if on {
            w.push(flag.into());
        }
    };
    match &cli.verb {
        Verb::Rollout {
            name,
            person,
            theme,
            no_bell,
            logs_cmd,
        } => {
            w.extend(["--rollout".into(), name.into()]);
            cli.place.said(w);
            person.said(w);
            opt(w, "--theme", theme.clone());
            flag(w, *no_bell, "--no-bell");
            for line in logs_cmd {
                opt(w, "--logs-cmd", Some(line));
            }
        }
        Verb::List {
            all_namespaces,
            format,
        } => {
            w.push("rollouts".into());
            cli.place.said(w);
            flag(w, *all_namespaces, "--all-namespaces");
            let format = match format {
                Format::Table => "table",
                Format::Json => "json",
            };
            opt(w, "--format", Some(format));
        }
        Verb::Promote {
            name,
            full,
            late,
            person,
        } => {
            verb(w, "promote", name, person);
            flag(w, *full, "--full");
            flag(w, *late, "--late");
        }
        Verb::Abort {
            name,
            comment,
            person,
        } => {
            verb(w, "abort", name, person);
            opt(w, "--comment", comment.clone());
        }
        Verb::Pause {
            name,
            comment,
            person,
        } => {
            verb(w, "pause", name, person);
            opt(w, "--comment", comment.clone());
        }
        Verb::Resume { name, person } => verb(w, "resume", name, person),
        Verb::Retry { name, person } => verb(w, "retry", name, person),
        Verb::Undo {
            name,
            to_revision,
            person,
        } => {
            verb(w, "undo", name, person);
            opt(w, "--to-revision", to_revision.map(|n| n.to_string()));
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(line: &[&str]) -> Vec<String> {
        let cli = Kubectl::try_parse_from(
            std::iter::once("kubectl-shipdeck").chain(line.iter().copied()),
        )
        .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        shipdeck_words(&cli)
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_line_is_sound() {
        command().debug_assert();
    }

    #[test]
    fn kubectls_flags_are_taken_before_or_after_the_verb() {
        let want = [
            "shipdeck",
            "--rollout",
            "checkout",
            "--namespace",
            "payments",
            "--context",
            "prod",
            "--kubeconfig",
            "/tmp/kc",
        ];
        assert_eq!(
            said(&[
                "rollout",
                "checkout",
                "-n",
                "payments",
                "--context",
                "prod",
                "--kubeconfig",
                "/tmp/kc"
            ]),
            want
        );
        assert_eq!(
            said(&[
                "-n",
                "payments",
                "--context=prod",
                "--kubeconfig",
                "/tmp/kc",
                "rollout",
                "checkout"
            ]),
            want
        );
    }

    #[test]
    fn each_verb_is_shipdecks_own_command() {
        assert_eq!(
            said(&[
                "abort",
                "checkout",
                "-n",
                "payments",
                "--comment",
                "p99",
                "--operator",
                "erin"
            ]),
            [
                "shipdeck",
                "do",
                "abort",
                "--rollout",
                "checkout",
                "--namespace",
                "payments",
                "--operator",
                "erin",
                "--comment",
                "p99"
            ]
        );
        assert_eq!(
            said(&["ls", "-A", "--format", "json"]),
            [
                "shipdeck",
                "rollouts",
                "--all-namespaces",
                "--format",
                "json"
            ]
        );
        assert_eq!(
            said(&["promote", "checkout", "--full"]),
            [
                "shipdeck",
                "do",
                "promote",
                "--rollout",
                "checkout",
                "--full"
            ]
        );
    }

    #[test]
    fn a_kubectl_flag_that_shipdeck_cannot_honour_is_refused() {
        for flag in [
            &["--as", "admin"][..],
            &["--server", "https://x"],
            &["--token", "t"],
        ] {
            let mut line = vec!["rollout", "checkout"];
            line.extend(flag);
            let err = Kubectl::try_parse_from(std::iter::once("kubectl-shipdeck").chain(line))
                .unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{flag:?}"
            );
        }
    }
}
