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

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

use super::{complete, flag, format_name, opt};

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
    long_about,
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

/// The Rollout a verb is for, and who gives it.
#[derive(Debug, Clone, Args)]
struct Target {
    #[arg(value_name = "NAME", add = ArgValueCompleter::new(complete::rollouts))]
    name: String,

    #[command(flatten)]
    person: Person,
}

/// Why, for the journal and the Event on the Rollout.
#[derive(Debug, Clone, Args)]
struct Why {
    #[arg(long, visible_alias = "reason", value_name = "TEXT")]
    comment: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Open the console on a Rollout: a advances, F promotes fully, p
    /// pauses, R aborts, r retries, U undoes; q quits.
    Rollout {
        #[command(flatten)]
        target: Target,

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
        format: super::argo::Format,
    },

    /// Promote a paused Rollout to its next step (--full: past every step).
    Promote {
        #[command(flatten)]
        target: Target,
        /// Skip every remaining step.
        #[arg(long)]
        full: bool,
        /// Promote after the release's window has closed.
        #[arg(long)]
        late: bool,
    },

    /// Abort a Rollout: all traffic back to the stable version.
    Abort {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        why: Why,
    },

    /// Pause a Rollout.
    Pause {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        why: Why,
    },

    /// Resume a paused Rollout.
    Resume(Target),

    /// Retry an aborted Rollout.
    Retry(Target),

    /// Put a Rollout's previous pod template back.
    Undo {
        #[command(flatten)]
        target: Target,
        /// The revision to go back to [default: the one before the current].
        #[arg(long, value_name = "N")]
        to_revision: Option<u64>,
    },
}

/// The clap definition, for completion.
pub(super) fn command() -> clap::Command {
    <Kubectl as clap::CommandFactory>::command()
}

/// Runs `kubectl shipdeck …`.
pub fn main() -> ExitCode {
    if complete::kubectl_asks() {
        return complete::answer_kubectl(command());
    }
    complete::answer(command);
    let foreign = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .find_map(|a| a.to_str().and_then(kubectl_only));
    if let Some(flag) = foreign {
        crate::errln!(
            "kubectl shipdeck: {flag} is kubectl's, and not taken here: shipdeck reaches the cluster as the \
             kubeconfig says, with --kubeconfig, --context and -n to choose (a context of its own for \
             another user, server or identity)"
        );
        return ExitCode::from(super::EXIT_BAD_INPUT);
    }
    let cli = match Kubectl::try_parse() {
        Ok(cli) => cli,
        Err(err) => return super::args::refused(&err),
    };
    super::AS_KUBECTL_PLUGIN.store(true, std::sync::atomic::Ordering::Relaxed);
    super::args::run_from(shipdeck_words(&cli))
}

/// kubectl's global flags that the plugin does not take (kubectl passes
/// them through untouched): the flag, when `arg` is one.
fn kubectl_only(arg: &str) -> Option<&'static str> {
    const FLAGS: &[&str] = &[
        "--as",
        "--as-group",
        "--as-uid",
        "--cache-dir",
        "--certificate-authority",
        "--client-certificate",
        "--client-key",
        "--cluster",
        "--disable-compression",
        "--insecure-skip-tls-verify",
        "--match-server-version",
        "--password",
        "--profile",
        "--request-timeout",
        "--server",
        "-s",
        "--tls-server-name",
        "--token",
        "--user",
        "--username",
        "--v",
        "-v",
        "--vmodule",
        "--warnings-as-errors",
    ];
    let name = arg.split_once('=').map_or(arg, |(name, _)| name);
    FLAGS.iter().copied().find(|f| *f == name)
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
    let verb = |w: &mut Vec<OsString>, verb: &str, target: &Target| {
        w.extend([
            "do".into(),
            verb.into(),
            "--rollout".into(),
            (&target.name).into(),
        ]);
        cli.place.said(w);
        target.person.said(w);
    };
    match &cli.verb {
        Verb::Rollout {
            target,
            theme,
            no_bell,
            logs_cmd,
        } => {
            w.extend(["--rollout".into(), (&target.name).into()]);
            cli.place.said(w);
            target.person.said(w);
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
            opt(w, "--format", format_name(*format));
        }
        Verb::Promote { target, full, late } => {
            verb(w, "promote", target);
            flag(w, *full, "--full");
            flag(w, *late, "--late");
        }
        Verb::Abort { target, why } => {
            verb(w, "abort", target);
            opt(w, "--comment", why.comment.clone());
        }
        Verb::Pause { target, why } => {
            verb(w, "pause", target);
            opt(w, "--comment", why.comment.clone());
        }
        Verb::Resume(target) => verb(w, "resume", target),
        Verb::Retry(target) => verb(w, "retry", target),
        Verb::Undo {
            target,
            to_revision,
        } => {
            verb(w, "undo", target);
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
    fn kubectls_own_flags_are_known_as_kubectls() {
        assert_eq!(kubectl_only("--as=admin"), Some("--as"));
        assert_eq!(kubectl_only("--server"), Some("--server"));
        assert_eq!(kubectl_only("-v"), Some("-v"));
        assert_eq!(kubectl_only("--namespace"), None);
        assert_eq!(kubectl_only("--asleep"), None);
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
