//! A GitHub Actions run as the backend: `--github OWNER/REPO [--workflow
//! FILE|ID] [--branch B] [--run ID]` for the console, `events` and `do`,
//! and `shipdeck runs OWNER/REPO`.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use super::EXIT_BAD_INPUT;
use super::remote::EXIT_REFUSED;
use crate::github::client::{Api, Repo, RunFilter};
use crate::github::refusal::Asked;
use crate::github::token::{self, TokenKind};
use crate::github::translate::Observed;
use crate::github::types::Run;
use crate::model::text::Clean;
use crate::settings::{Flags, GithubSettings, Settings};

/// Which run: shared by the console, `events` and `do`.
#[derive(Debug, Clone, Args)]
pub struct GithubArgs {
    /// A GitHub Actions workflow run to follow and drive (OWNER/REPO),
    /// instead of the embedded simulator. The token comes from $GH_TOKEN,
    /// $GITHUB_TOKEN, the config's token_file, or `gh auth token`.
    #[arg(long, value_name = "OWNER/REPO", add = ArgValueCompleter::new(super::complete::repositories))]
    pub github: Option<String>,

    /// With --github: runs of this workflow only (its file name, or id).
    #[arg(long, value_name = "FILE|ID")]
    pub workflow: Option<String>,

    /// With --github: runs on this branch only.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// With --github: this run [default: the latest matching one, those
    /// waiting for a review first].
    #[arg(long, value_name = "ID")]
    pub run: Option<u64>,

    /// With --github: the REST API of a GitHub Enterprise Server
    /// (https://HOST/api/v3) [default: the config's api_url for its repository, else
    /// GitHub's].
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,
}

impl GithubArgs {
    pub fn apply(&self, flags: &mut Flags) {
        flags.github = self.github.clone();
        flags.workflow = self.workflow.clone();
        flags.branch = self.branch.clone();
        flags.run = self.run;
        flags.github_api = self.github_api.clone();
    }

    /// `--workflow`, `--branch` or `--run` without `--github` would be
    /// ignored: refused instead.
    pub fn stray(&self) -> Result<(), ExitCode> {
        let given = self.workflow.is_some()
            || self.branch.is_some()
            || self.run.is_some()
            || self.github_api.is_some();
        if self.github.is_none() && given {
            crate::errln!(
                "shipdeck: --workflow, --branch, --run and --github-api say which GitHub Actions run: give --github OWNER/REPO too"
            );
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        Ok(())
    }
}

/// A runtime for the command line's looks at GitHub.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| {
            crate::errln!("shipdeck: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        })
}

/// GitHub's API with the token found as gh finds it, or why not.
pub(super) fn connect(github: &GithubSettings) -> Result<(Api, TokenKind, Repo), ExitCode> {
    let bad = |why: String| {
        crate::errln!("shipdeck: {}", Clean(&why));
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let repo: Repo = github.repo.value.parse().map_err(bad)?;
    let host = api_host(&github.api_url.value);
    let file = github.token_file.as_ref().map(|t| t.value.as_path());
    let (token, source) = token::find(file, &host).map_err(bad)?;
    tracing::info!(%source, "GitHub token found");
    let kind = token.kind();
    let api = Api::new(&github.api_url.value, token).map_err(bad)?;
    Ok((api, kind, repo))
}

/// The host of an API address, as gh names it (`github.com` for
/// GitHub's own API).
pub(crate) fn api_host(api_url: &str) -> String {
    let host = reqwest::Url::parse(api_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "github.com".into());
    token::gh_host(&host).to_string()
}

/// The run the settings name, or the latest matching one (a run waiting
/// for a review first, then one in progress, then the newest).
pub(super) async fn pick_run(
    api: &Api,
    repo: &Repo,
    github: &GithubSettings,
) -> Result<Run, String> {
    let say = |err| crate::github::refusal::of(api, &err, &Asked::Read("the runs"), repo);
    if let Some(id) = &github.run {
        let run = format!("run {}", id.value);
        return api
            .run(repo, id.value)
            .await
            .map(|g| g.value)
            .map_err(|err| crate::github::refusal::of(api, &err, &Asked::Read(&run), repo));
    }
    let filter = RunFilter {
        workflow: github.workflow.as_ref().map(|w| w.value.clone()),
        branch: github.branch.as_ref().map(|b| b.value.clone()),
        per_page: 30,
    };
    let runs = api.runs(repo, &filter, 1).await.map_err(say)?.value;
    let first = |wanted: &dyn Fn(&Run) -> bool| runs.iter().find(|r| wanted(r)).cloned();
    first(&|r| r.waiting())
        .or_else(|| first(&|r| !r.completed()))
        .or_else(|| runs.first().cloned())
        .ok_or_else(|| {
            let mut what = format!("no workflow runs in {repo}");
            if let Some(w) = &filter.workflow {
                what.push_str(&format!(" for workflow {w}"));
            }
            if let Some(b) = &filter.branch {
                what.push_str(&format!(" on branch {b}"));
            }
            what
        })
}

/// The header's name for the run: `gh:octo-org/octo-repo#562`.
pub(super) fn label(repo: &Repo, run: &Run) -> String {
    format!("gh:{repo}#{}", run.run_number)
}

/// Looks at GitHub once before the console takes the terminal: a wrong
/// repository, run or token is a sentence and exit 2, not a blank screen.
pub(super) fn find(github: &GithubSettings) -> Result<(Api, TokenKind, Repo, Run), ExitCode> {
    let (api, kind, repo) = connect(github)?;
    let runtime = runtime()?;
    let run = runtime.block_on(pick_run(&api, &repo, github));
    runtime.shutdown_background();
    match run {
        Ok(run) => Ok((api, kind, repo, run)),
        Err(why) => {
            crate::errln!("shipdeck: {}", Clean(&why));
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}

/// What the backend follows.
pub(super) fn target(
    github: &GithubSettings,
    repo: Repo,
    run: &Run,
    token: TokenKind,
    freezes: &[crate::model::Freeze],
) -> crate::github::backend::Target {
    crate::github::backend::Target {
        freezes: freezes.to_vec(),
        repo,
        run: run.id,
        rollback: github.rollback.as_ref().map(|r| r.value.clone()),
        token,
    }
}

/// `events --github`: the run's events as JSON lines until it finishes.
pub fn events(settings: &Settings, github: &GithubSettings) -> Result<ExitCode, ExitCode> {
    let (api, kind, repo, run) = find(github)?;
    let label = label(&repo, &run);
    let target = target(github, repo, &run, kind, &settings.freezes.value);
    let canary = github.canary.as_ref().map(|c| c.value.clone());
    let capacity = settings.log_ring.value;
    let words = super::events::Words {
        new_window: "a new attempt of the run began",
        back: "GitHub answers again",
    };
    super::events::follow_handle(settings, &label, runtime()?, words, |label| {
        crate::github::backend::spawn_joined(api, target, canary, label, capacity, None)
    })
}

/// `shipdeck do VERB --github OWNER/REPO`: one command sent as GitHub's own
/// clients send it, journaled. 0 accepted, 3 refused, 2 usage or no GitHub.
pub fn send(
    settings: &Settings,
    github: &GithubSettings,
    command: crate::model::Command,
    what: &str,
    abort: bool,
) -> Result<ExitCode, ExitCode> {
    use crate::engine::Verdict;
    let (api, kind, repo, run) = find(github)?;
    let label = label(&repo, &run);
    let runtime = runtime()?;
    if github.run.is_none() {
        crate::errln!(
            "shipdeck: on run {} ({}), the latest {}",
            run.id,
            Clean(&crate::model::text::clip(&run.title(), 80)),
            if run.waiting() {
                "waiting for a review"
            } else {
                "matching run"
            }
        );
    }
    let outcome = runtime.block_on(async {
        let seen = observe(&api, &repo, &run).await.map_err(|why| {
            crate::errln!("shipdeck: {}", Clean(&why));
            ExitCode::from(EXIT_BAD_INPUT)
        })?;
        // What GitHub records is the token's user: the journal says so.
        let user = api
            .user()
            .await
            .ok()
            .and_then(|u| crate::model::Person::new(&u.login).ok());
        let mut command = command;
        let mut journal = super::create_journal(settings, &command.operator, &label, "do")?;
        if let Some(user) = user.filter(|u| *u != command.operator) {
            crate::errln!(
                "shipdeck: GitHub knows you as {}; the command is theirs",
                Clean(&user)
            );
            let _ = journal.operator_is(&user);
            command.operator = user;
        }
        if let Err(err) = journal.command(&command) {
            crate::errln!("shipdeck: the journal cannot be written ({err}); nothing was sent");
            return Err(ExitCode::FAILURE);
        }
        // The run read as the console reads it: what has gone out.
        let mut translator = crate::github::translate::Translator::new(settings.log_ring.value);
        translator.set_operator(command.operator.clone());
        let _ = translator.observe(&seen, jiff::Timestamp::now());
        let deployed = translator.release().deployed();
        let rollback = github.rollback.as_ref().map(|r| &r.value);
        let ordered = crate::github::commands::order(
            &command.action,
            &seen,
            deployed,
            rollback,
            kind,
            abort,
            (&settings.freezes.value, jiff::Timestamp::now()),
        );
        let sent = match ordered {
            Ok(order) => crate::github::commands::send(&api, &repo, run.id, &order).await,
            Err(refusal) => Err(refusal),
        };
        let verdict = match &sent {
            Ok(sent) => Verdict::Accepted {
                note: Some(sent.note.clone()),
            },
            Err(refusal) => Verdict::Refused(refusal.clone()),
        };
        let written = journal.verdict(&command.id, &verdict);
        let _ = journal.close("sent");
        Ok((sent, written))
    });
    runtime.shutdown_background();
    let (sent, written) = outcome?;
    if let Err(err) = written {
        crate::errln!("shipdeck: the journal cannot be written: {err}");
    }
    match sent {
        Ok(sent) => {
            crate::outln!("{label}: {what} accepted: {}", Clean(&sent.note));
            Ok(ExitCode::SUCCESS)
        }
        Err(refusal) => {
            crate::errln!("{label}: {what} refused: {}", Clean(&refusal.reason));
            Ok(ExitCode::from(EXIT_REFUSED))
        }
    }
}

/// One whole look at a run, for a command from the shell.
async fn observe(api: &Api, repo: &Repo, run: &Run) -> Result<Observed, String> {
    let say = |err| crate::github::refusal::of(api, &err, &Asked::Read("the run"), repo);
    let jobs = api.jobs(repo, run.id, run.attempt()).await.map_err(say)?;
    let pending = api.pending(repo, run.id).await.map_err(say)?;
    let approvals = api.approvals(repo, run.id).await.map_err(say)?;
    Ok(Observed {
        run: run.clone(),
        jobs: jobs.value,
        pending: pending.value,
        approvals: approvals.value,
    })
}

/// How `shipdeck runs` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Options of `shipdeck runs`.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// The repository: OWNER/REPO.
    #[arg(value_name = "OWNER/REPO", add = ArgValueCompleter::new(super::complete::repositories))]
    pub repo: String,

    /// Runs of this workflow only (its file name, or id).
    #[arg(long, value_name = "FILE|ID")]
    pub workflow: Option<String>,

    /// Runs on this branch only.
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,

    /// The REST API of a GitHub Enterprise Server (https://HOST/api/v3)
    /// [default: the config's api_url for its repository, else
    /// GitHub's].
    #[arg(long, value_name = "URL")]
    pub github_api: Option<String>,

    /// A table for people, or JSON for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,

    #[command(flatten)]
    pub record: super::RecordArgs,
}

/// `shipdeck runs`: recent runs, those waiting for a review I can give
/// first.
pub fn runs(args: &RunsArgs) -> ExitCode {
    match list(args) {
        Ok(code) | Err(code) => code,
    }
}

fn list(args: &RunsArgs) -> Result<ExitCode, ExitCode> {
    let settings = super::settings(&args.record, None, |flags| {
        flags.github = Some(args.repo.clone());
        flags.workflow = args.workflow.clone();
        flags.branch = args.branch.clone();
        flags.github_api = args.github_api.clone();
    })?;
    let Some(github) = settings.github.as_ref() else {
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    };
    let (api, _, repo) = connect(github)?;
    let filter = RunFilter {
        workflow: github.workflow.as_ref().map(|w| w.value.clone()),
        branch: github.branch.as_ref().map(|b| b.value.clone()),
        per_page: 30,
    };
    let runtime = runtime()?;
    let json = args.format == Format::Json;
    let listed = runtime.block_on(crate::github::list::runs_table(&api, &repo, &filter, json));
    runtime.shutdown_background();
    match listed {
        Ok(text) => {
            crate::out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            crate::errln!("shipdeck: {}", Clean(&why));
            Err(ExitCode::from(EXIT_BAD_INPUT))
        }
    }
}
