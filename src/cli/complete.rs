//! Shell completion. `shipdeck completions SHELL` prints the few lines a
//! shell sources; from then on, Tab runs shipdeck with
//! `SHIPDECK_COMPLETE=SHELL` and the words typed so far, and shipdeck
//! answers with the candidates for the word under the cursor, read from the
//! one clap definition. So subcommands and options complete as they are in
//! this build, and so do values that live elsewhere: the bundled scenarios
//! and themes, the Rollouts on the cluster, a server's releases, and the
//! repository of the checkout you stand in.
//!
//! A completer that has to ask a cluster or a server gives up after
//! [`PATIENCE`] and offers nothing: a shell that hangs on Tab is worse than
//! one that offers no names. Nothing is ever written to standard error
//! while completing; the shell would draw it over the command line.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};
use clap_complete::env::Shells;

use crate::model::text::clean;
// A path as typed, `~/` and all: the shell has not expanded it yet.
use crate::settings::expand_home;
use crate::sim::bundled;

/// The variable that makes a run of shipdeck a completion request. Not
/// clap's default (`COMPLETE`), which is too common a word for a variable
/// a shell may already have set for something else.
pub const VAR: &str = "SHIPDECK_COMPLETE";

/// How long a completer waits on a cluster or a server.
pub const PATIENCE: Duration = Duration::from_millis(1500);

/// The shells completions are printed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
            Shell::Elvish => "elvish",
            Shell::Powershell => "powershell",
        }
    }
}

/// Answers a completion request, and exits, when the shell made one;
/// returns at once otherwise.
pub fn answer(command: fn() -> clap::Command) {
    clap_complete::CompleteEnv::with_factory(command)
        .var(VAR)
        .complete();
}

/// `shipdeck completions SHELL`: the registration the shell sources.
pub fn print(shell: Shell) -> ExitCode {
    let shells = Shells::builtins();
    let Some(completer) = shells.completer(shell.name()) else {
        crate::errln!("shipdeck: no completions for {}", shell.name());
        return ExitCode::FAILURE;
    };
    let mut script = Vec::new();
    if let Err(err) =
        completer.write_registration(VAR, "shipdeck", "shipdeck", &program(), &mut script)
    {
        crate::errln!("shipdeck: cannot write the completions: {err}");
        return ExitCode::FAILURE;
    }
    raw(&script);
    ExitCode::SUCCESS
}

/// The program the shell runs to complete: `shipdeck` when it was found on
/// `$PATH`, else the path it was run by, made absolute, so that completion
/// works from any folder. Cleaned: it goes into the script as it is.
fn program() -> String {
    let given = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("shipdeck"));
    let path = match given.components().count() < 2 {
        true => given,
        false => std::env::current_dir()
            .map(|dir| dir.join(&given))
            .unwrap_or(given),
    };
    clean(&path.to_string_lossy()).into_owned()
}

/// The words on the command line being completed (after the `--` the
/// shell's function passes, and the program's name).
#[derive(Debug, Clone, Default)]
pub struct Words(Vec<String>);

impl Words {
    fn from_env() -> Words {
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        // kubectl runs its plugin's completer with the words alone.
        if args.first().is_some_and(|a| is_kubectl_completer(a)) {
            return Words::joined(args.into_iter().skip(1));
        }
        let after = args
            .iter()
            .position(|a| a == "--")
            .map_or(args.len(), |i| i + 1);
        Words::joined(args.into_iter().skip(after + 1))
    }

    /// The words as typed: bash splits a word at `=` and `:` (its
    /// `COMP_WORDBREAKS`), so `--namespace=payments` arrives as three and
    /// an EKS context `arn:aws:eks:…` as many; they are put back together.
    fn joined(words: impl IntoIterator<Item = String>) -> Words {
        let mut out: Vec<String> = Vec::new();
        let mut glue = false;
        for word in words {
            let breaks = !word.is_empty() && word.chars().all(|c| c == '=' || c == ':');
            match out.last_mut() {
                Some(last) if breaks => {
                    last.push_str(&word);
                    glue = true;
                }
                Some(last) if glue => {
                    last.push_str(&word);
                    glue = false;
                }
                _ => out.push(word),
            }
        }
        Words(out)
    }

    #[cfg(test)]
    fn of(words: &[&str]) -> Words {
        Words::joined(words.iter().map(|w| w.to_string()))
    }

    /// The value given to `--long` (or `-s`): `--long V`, `--long=V`,
    /// `-s V`, `-sV` or `-s=V`; the last one given.
    fn value(&self, long: &str, short: Option<char>) -> Option<String> {
        let mut found = None;
        let mut words = self.0.iter();
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let short_flag = short.map(|c| format!("-{c}"));
            if word == long || Some(word) == short_flag.as_ref() {
                found = words.next().cloned().or(found);
            } else if let Some(v) = word.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
                found = Some(v.to_string());
            } else if let Some(flag) = &short_flag
                && let Some(rest) = word.strip_prefix(flag.as_str())
                && !word.starts_with("--")
            {
                found = Some(rest.strip_prefix('=').unwrap_or(rest).to_string());
            }
        }
        found.filter(|v| !v.is_empty())
    }
}

/// kubectl's name for a plugin's completer: `kubectl_complete-shipdeck`.
pub const KUBECTL_COMPLETER: &str = "kubectl_complete-shipdeck";

fn is_kubectl_completer(program: &str) -> bool {
    Path::new(program)
        .file_name()
        .is_some_and(|n| n == KUBECTL_COMPLETER)
}

/// Whether this run is kubectl asking its plugin's completer (run by that
/// name, a link to `kubectl-shipdeck`).
pub fn kubectl_asks() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|a| is_kubectl_completer(&a.to_string_lossy()))
}

/// Answers kubectl as cobra's completion protocol has it: one candidate a
/// line (`value<TAB>help`), then `:4`, cobra's word for "these are all;
/// offer no files besides".
pub fn answer_kubectl(command: clap::Command) -> ExitCode {
    let mut command = command;
    let mut words: Vec<std::ffi::OsString> = vec!["kubectl-shipdeck".into()];
    words.extend(std::env::args_os().skip(1));
    if words.len() == 1 {
        words.push("".into());
    }
    let at = words.len() - 1;
    let typed_dash = words[at].to_string_lossy().starts_with('-');
    let here = std::env::current_dir().ok();
    let candidates = clap_complete::engine::complete(&mut command, words, at, here.as_deref())
        .unwrap_or_default();
    // Each value and help is cleaned; the tab between them is cobra's.
    let mut out = String::new();
    // As kubectl's own commands: flags are offered once a dash is typed.
    let shown = candidates.iter().filter(|c| {
        !c.is_hide_set() && (typed_dash || !c.get_value().to_string_lossy().starts_with('-'))
    });
    for candidate in shown {
        out.push_str(&clean(&candidate.get_value().to_string_lossy()));
        if let Some(help) = candidate.get_help() {
            out.push('\t');
            out.push_str(&clean(&help.to_string().replace(['\t', '\n'], " ")));
        }
        out.push('\n');
    }
    out.push_str(":4\n");
    raw(out.as_bytes());
    ExitCode::SUCCESS
}

/// Writes shipdeck's own text as it is: a shell script (whose tabs and
/// escapes are the shell's business), cobra's lines of candidates.
fn raw(bytes: &[u8]) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// The candidates among `names` that start with what is typed, each with
/// its line of help.
fn matching<'a>(
    current: &OsStr,
    names: impl IntoIterator<Item = (&'a str, String)>,
) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    names
        .into_iter()
        // A name from a cluster or a server that would need cleaning is
        // not one anybody could type: not offered.
        .filter(|(name, _)| name.starts_with(&*typed) && clean(name) == *name)
        .map(|(name, help)| {
            CompletionCandidate::new(name)
                .help((!help.is_empty()).then(|| clean(&help).into_owned().into()))
        })
        .collect()
}

/// YAML files and folders: what a scenario, theme or config file can be.
fn yaml_files(current: &OsStr) -> Vec<CompletionCandidate> {
    files(
        PathCompleter::any().filter(|path: &Path| {
            path.is_dir()
                || path.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")
                })
        }),
        current,
    )
}

/// What `paths` offers, without the folder itself (`.`) that it offers
/// for an empty word.
fn files(paths: PathCompleter, current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = paths.complete(current);
    out.retain(|c| c.get_value() != "." && c.get_value() != "./");
    out
}

/// `--scenario`: the bundled scenarios by name, then scenario files.
pub fn scenarios(current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = matching(
        current,
        bundled::SCENARIOS
            .iter()
            .map(|(name, text)| (*name, scenario_title(text))),
    );
    out.extend(yaml_files(current));
    out
}

/// A scenario's service and versions, for its line of help.
fn scenario_title(text: &str) -> String {
    crate::sim::scenario::parse(text)
        .map(|s| {
            let r = &s.plan;
            format!("{} {} → {}", r.service, r.version_from, r.version_to)
        })
        .unwrap_or_default()
}

/// `--theme`: the bundled themes by name, then theme files.
pub fn themes(current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = matching(
        current,
        crate::theme::BUNDLED
            .iter()
            .map(|(name, _)| (*name, String::new())),
    );
    out.extend(yaml_files(current));
    out
}

/// `report` and `replay`: `latest`, then journal files.
pub fn journals(current: &OsStr) -> Vec<CompletionCandidate> {
    let mut out = matching(
        current,
        [(
            "latest",
            "the newest journal of the journal folder".to_string(),
        )],
    );
    out.extend(files(PathCompleter::any(), current));
    out
}

/// `--github` and `runs`: the repository of the checkout you stand in.
pub fn repositories(current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(dir) = std::env::current_dir() else {
        return Vec::new();
    };
    let Ok(remotes) = crate::github::checkout::remotes(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<(String, String)> = Vec::new();
    for remote in &remotes {
        if let Some((host, repo)) = crate::github::checkout::parse_url(&remote.url)
            && !names.iter().any(|(r, _)| *r == repo)
        {
            names.push((repo, format!("the git remote {} ({host})", remote.name)));
        }
    }
    matching(current, names.iter().map(|(r, h)| (r.as_str(), h.clone())))
}

/// `--rollout`: the Rollouts of the namespace on the cluster the command
/// line names (`-n`, `--context`, `--kubeconfig`), as kubectl would reach
/// it.
pub fn rollouts(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = Words::from_env();
    let names = ask(async move {
        let kubeconfigs = match words.value("--kubeconfig", None) {
            Some(file) => vec![expand_home(&file)],
            None => crate::argo::cluster::kubeconfig_paths(),
        };
        let context = words.value("--context", None);
        let namespace = words.value("--namespace", Some('n'));
        let cluster = crate::argo::cluster::connect_from(
            &kubeconfigs,
            context.as_deref(),
            namespace.as_deref(),
        )
        .await
        .ok()?;
        let api = kube::Api::<crate::argo::types::Rollout>::namespaced(
            cluster.client,
            &cluster.namespace,
        );
        let list = api
            .list(&kube::api::ListParams::default().limit(500))
            .await
            .ok()?;
        Some(
            list.items
                .iter()
                .filter_map(|r| {
                    let name = r.metadata.name.clone()?;
                    let phase = r.status.phase.clone().unwrap_or_default();
                    let help = format!("{phase} in {}", cluster.namespace);
                    Some((name, help.trim_start().to_string()))
                })
                .collect::<Vec<_>>(),
        )
    });
    let names = names.unwrap_or_default();
    matching(current, names.iter().map(|(n, h)| (n.as_str(), h.clone())))
}

/// `--release`: the releases of the server the command line (or
/// `$SHIPDECK_BACKEND`, or the config) names, with its token.
pub fn releases(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = Words::from_env();
    let flags = crate::settings::Flags {
        config: words.value("--config", None).map(|p| expand_home(&p)),
        backend: words.value("--backend", None),
        token_file: words.value("--token-file", None).map(|p| expand_home(&p)),
        ..Default::default()
    };
    let Ok(settings) = crate::settings::resolve(&flags, &|var| std::env::var(var).ok()) else {
        return Vec::new();
    };
    let Some(remote) = settings.remote else {
        return Vec::new();
    };
    let Ok(token) = super::remote::token_quietly(&remote) else {
        return Vec::new();
    };
    let Ok(server) = crate::backend::http::Remote::new(
        &remote.url.value,
        token.as_deref(),
        &settings.operator.value,
    ) else {
        return Vec::new();
    };
    let releases = ask(async move { server.releases().await.ok() }).unwrap_or_default();
    let names: Vec<(String, String)> = releases
        .into_iter()
        .map(|r| {
            let help = format!(
                "{} {} → {}, {}",
                r.service,
                r.version_from,
                r.version_to,
                status_word(r.status)
            );
            (r.id, help)
        })
        .collect();
    matching(current, names.iter().map(|(n, h)| (n.as_str(), h.clone())))
}

fn status_word(status: crate::model::Status) -> &'static str {
    use crate::model::Status;
    match status {
        Status::NotStarted => "not started",
        Status::Running => "running",
        Status::Paused => "paused",
        Status::RollingBack => "rolling back",
        Status::Finished(_) => "finished",
    }
}

/// Runs `work` on a thread and a runtime of its own, and waits for it at
/// most [`PATIENCE`]. A thread, because not all of the work yields: an
/// exec credential plugin (`aws eks get-token`) is run to its end where
/// the client is made. A thread still running when the answer is given up
/// on ends with the process, which exits once it has answered.
fn ask<T: Send + 'static>(work: impl Future<Output = Option<T>> + Send + 'static) -> Option<T> {
    let (tell, answer) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("complete".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let _ = tell.send(runtime.block_on(work));
            }
        })
        .ok()?;
    answer.recv_timeout(PATIENCE).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_value_is_read_in_every_spelling_a_shell_passes() {
        let words = Words::of(&["--rollout", "ch", "-n", "payments", "--context=prod"]);
        assert_eq!(
            words.value("--namespace", Some('n')).as_deref(),
            Some("payments")
        );
        assert_eq!(words.value("--context", None).as_deref(), Some("prod"));
        assert_eq!(words.value("--kubeconfig", None), None);
        for spelled in [
            &["-npayments"][..],
            &["-n=payments"],
            &["--namespace", "payments"],
        ] {
            assert_eq!(
                Words::of(spelled)
                    .value("--namespace", Some('n'))
                    .as_deref(),
                Some("payments"),
                "{spelled:?}"
            );
        }
        // The last one given wins, as clap's parse would take it.
        let twice = Words::of(&["-n", "a", "--namespace=b"]);
        assert_eq!(twice.value("--namespace", Some('n')).as_deref(), Some("b"));
        // `--no-bell` is not `-n o-bell`.
        assert_eq!(
            Words::of(&["--no-bell"]).value("--namespace", Some('n')),
            None
        );
        // As bash passes them, split at `=` and `:`.
        let split = Words::of(&[
            "--namespace",
            "=",
            "payments",
            "--context",
            "arn",
            ":",
            "aws",
            ":",
            "eks",
            ":",
            "eu-west-1",
            ":",
            "123",
            ":",
            "cluster/prod",
            "--kubeconfig",
            "=",
            "/k",
        ]);
        assert_eq!(
            split.value("--namespace", Some('n')).as_deref(),
            Some("payments")
        );
        assert_eq!(
            split.value("--context", None).as_deref(),
            Some("arn:aws:eks:eu-west-1:123:cluster/prod")
        );
        assert_eq!(split.value("--kubeconfig", None).as_deref(), Some("/k"));
    }

    #[test]
    fn scenario_names_complete_from_what_is_typed_with_their_story() {
        let got = scenarios(OsStr::new("ca"));
        let names: Vec<String> = got
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.contains(&"canary-regression".to_string()),
            "{names:?}"
        );
        assert!(!names.contains(&"happy-canary".to_string()), "{names:?}");
        let help = got[0].get_help().map(|h| h.to_string()).unwrap_or_default();
        assert_eq!(help, "checkout-api v2.14.0 → v2.15.0");
    }
}
