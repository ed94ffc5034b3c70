//! `gh shipdeck`: shipdeck as a GitHub CLI extension (the `gh-shipdeck`
//! executable in gh's extensions folder, which gh runs with the words
//! after `shipdeck`). As gh's own commands do, it takes the repository
//! from `-R`, `$GH_REPO` or the checkout's git remotes, and the token
//! from `$GH_TOKEN`, `$GITHUB_TOKEN` or `gh auth token`; an Enterprise
//! Server's remote makes its API the one asked. Each verb is said as
//! shipdeck's own command line and run as that.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use clap_complete::engine::ArgValueCompleter;

use super::{EXIT_BAD_INPUT, complete, flag, format_name, opt};
use crate::github::checkout::{self, Found};
use crate::model::text::Clean;

/// Follow a GitHub Actions workflow run from shipdeck's console and sign
/// its environment approvals from the keyboard: the run's jobs are the
/// stage board, each environment waiting for a review is a gate (s
/// approves with a comment, x rejects), every review journaled.
#[derive(Debug, Parser)]
#[command(
    name = "gh-shipdeck",
    bin_name = "gh shipdeck",
    version,
    about = "shipdeck's console on a GitHub Actions workflow run, as a gh extension",
    long_about,
    max_term_width = 100,
    arg_required_else_help = true,
    after_help = "Examples:\n  \
        gh shipdeck run                     # this checkout's latest run waiting for a review\n  \
        gh shipdeck run 30433642            # that run\n  \
        gh shipdeck runs -w deploy.yml\n  \
        gh shipdeck run -R octo-org/octo-repo --branch main"
)]
struct Gh {
    #[command(subcommand)]
    verb: Verb,

    /// The repository, as [HOST/]OWNER/REPO [default: $GH_REPO, else the
    /// checkout's git remote, as gh chooses it].
    #[arg(
        short = 'R',
        long = "repo",
        global = true,
        value_name = "[HOST/]OWNER/REPO"
    )]
    repo: Option<String>,
}

/// Which runs: gh's own flags for them.
#[derive(Debug, Clone, Args)]
struct Which {
    /// Runs of this workflow only (its file name, or id).
    #[arg(short = 'w', long, value_name = "FILE|ID")]
    workflow: Option<String>,

    /// Runs on this branch only.
    #[arg(short = 'b', long, value_name = "BRANCH")]
    branch: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Open the console on a run: RUN_ID, else the latest one waiting for
    /// a review (else the latest in progress, else the latest).
    Run {
        /// The run's id (as `gh run list` shows it).
        #[arg(value_name = "RUN_ID")]
        run: Option<u64>,

        #[command(flatten)]
        runs: Which,

        /// Who you are, for the journal [default: $SHIPDECK_OPERATOR, the
        /// config's, else your login].
        #[arg(long, value_name = "NAME")]
        operator: Option<String>,

        /// shipdeck's config file.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,

        /// Where the journal is written.
        #[arg(long, value_name = "DIR")]
        journal_dir: Option<PathBuf>,

        /// A bundled theme or a theme file.
        #[arg(long, value_name = "NAME|PATH", add = ArgValueCompleter::new(complete::themes))]
        theme: Option<String>,

        /// No terminal bell when something starts to wait on you.
        #[arg(long)]
        no_bell: bool,
    },

    /// List the repository's recent runs, those waiting for a review you
    /// can give first, with what each waits for.
    #[command(visible_alias = "ls")]
    Runs {
        #[command(flatten)]
        runs: Which,

        /// A table for people, or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: super::github::Format,

        /// shipdeck's config file.
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

pub(super) fn command() -> clap::Command {
    <Gh as clap::CommandFactory>::command()
}

/// Runs `gh shipdeck …`.
pub fn main() -> ExitCode {
    complete::answer(command);
    let cli = match Gh::try_parse() {
        Ok(cli) => cli,
        Err(err) => return super::args::refused(&err),
    };
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let found = match checkout::find(cli.repo.as_deref(), &here) {
        Ok(found) => found,
        // Only where nothing named a repository: a mistyped -R is said.
        Err(why) => match configured(&cli).filter(|_| {
            cli.repo.is_none() && std::env::var_os("GH_REPO").is_none_or(|r| r.is_empty())
        }) {
            Some(found) => found,
            None => {
                crate::errln!("gh shipdeck: {}", Clean(&why));
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        },
    };
    tracing::debug!(repo = %found.repo, from = %found.from, "repository");
    super::args::run_from(shipdeck_words(&cli, &found))
}

/// Outside a checkout, the repository of the config's `github-actions`
/// pipeline, if it names one (its `api_url` then applies as it is).
fn configured(cli: &Gh) -> Option<Found> {
    let config = match &cli.verb {
        Verb::Run { config, .. } | Verb::Runs { config, .. } => config.clone(),
    };
    let flags = crate::settings::Flags {
        config,
        ..Default::default()
    };
    let settings = crate::settings::resolve(&flags, &|var| std::env::var(var).ok()).ok()?;
    let github = settings.github?;
    Some(Found {
        host: "github.com".into(),
        repo: github.repo.value,
        from: format!("the config ({})", github.repo.source),
    })
}

/// The extension's command line said as shipdeck's, on the repository
/// found.
fn shipdeck_words(cli: &Gh, found: &Found) -> Vec<OsString> {
    let mut words: Vec<OsString> = vec!["shipdeck".into()];
    let w = &mut words;
    let api = (found.host != "github.com").then(|| found.api_url());
    match &cli.verb {
        Verb::Run {
            run,
            runs,
            operator,
            config,
            journal_dir,
            theme,
            no_bell,
        } => {
            opt(w, "--github", Some(&found.repo));
            opt(w, "--github-api", api);
            opt(w, "--run", run.map(|r| r.to_string()));
            opt(w, "--workflow", runs.workflow.clone());
            opt(w, "--branch", runs.branch.clone());
            opt(w, "--operator", operator.clone());
            opt(w, "--config", config.clone());
            opt(w, "--journal-dir", journal_dir.clone());
            opt(w, "--theme", theme.clone());
            flag(w, *no_bell, "--no-bell");
        }
        Verb::Runs {
            runs,
            format,
            config,
        } => {
            w.extend(["runs".into(), found.repo.clone().into()]);
            opt(w, "--github-api", api);
            opt(w, "--workflow", runs.workflow.clone());
            opt(w, "--branch", runs.branch.clone());
            opt(w, "--format", format_name(*format));
            opt(w, "--config", config.clone());
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(line: &[&str], host: &str) -> Vec<String> {
        let cli = Gh::try_parse_from(std::iter::once("gh-shipdeck").chain(line.iter().copied()))
            .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let found = Found {
            host: host.into(),
            repo: "octo-org/octo-repo".into(),
            from: "the git remote origin".into(),
        };
        shipdeck_words(&cli, &found)
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_line_is_sound() {
        command().debug_assert();
    }

    #[test]
    fn run_opens_the_console_on_the_checkouts_repository() {
        assert_eq!(
            said(&["run"], "github.com"),
            ["shipdeck", "--github", "octo-org/octo-repo"]
        );
        assert_eq!(
            said(
                &["run", "30433642", "-w", "deploy.yml", "-b", "main"],
                "github.com"
            ),
            [
                "shipdeck",
                "--github",
                "octo-org/octo-repo",
                "--run",
                "30433642",
                "--workflow",
                "deploy.yml",
                "--branch",
                "main"
            ]
        );
    }

    #[test]
    fn an_enterprise_remote_asks_its_own_api() {
        assert_eq!(
            said(&["runs", "--format", "json"], "ghe.example.com"),
            [
                "shipdeck",
                "runs",
                "octo-org/octo-repo",
                "--github-api",
                "https://ghe.example.com/api/v3",
                "--format",
                "json"
            ]
        );
    }
}
