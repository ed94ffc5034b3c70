//! The inbox's GitHub repositories: the runs waiting for a review, and for
//! each the environments it waits on with `current_user_can_approve`.
//!
//! Paced like the GitHub backend: every read is conditional (an unchanged
//! answer is a 304, which GitHub does not count against the rate limit),
//! the pause between looks doubles from 10 s to 30 s while nothing
//! changes, and a spent rate limit holds the next look until it resets.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{Feeder, Gone, Item, Place, backoff, do_line};
use crate::engine::waiting::{Deadline, or_list};
use crate::github::backend::{IDLE_LEAST, IDLE_MOST};
use crate::github::client::{Api, GITHUB_API, Repo, RunFilter};
use crate::github::refusal::{self, Asked};
use crate::github::types::{PendingDeployment, Run};
use crate::model::text::clip;
use crate::settings::InboxGithub;

/// How long GitHub keeps a deployment waiting for a review before the job
/// fails.
pub(super) const EXPIRY: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The runs read at a look (the newest).
const RUNS: u32 = 30;
/// Reviewers named of one environment.
const MAX_REVIEWERS: usize = 5;

/// A repository, with GitHub's API for its token (or why there is none).
#[derive(Debug, Clone)]
pub(super) struct Repository {
    repo: String,
    workflow: Option<String>,
    api_url: String,
    api: Result<Api, String>,
}

impl Repository {
    /// The token is found as gh finds it; not finding one is this
    /// source's trouble.
    pub(super) fn new(settings: &InboxGithub) -> Repository {
        let host = crate::cli::github::api_host(&settings.api_url);
        let file = settings.token_file.as_deref();
        let api = crate::github::token::find(file, &host)
            .and_then(|(token, _)| Api::new(&settings.api_url, token));
        Repository {
            repo: settings.repo.clone(),
            workflow: settings.workflow.clone(),
            api_url: settings.api_url.clone(),
            api,
        }
    }

    pub(super) fn name(&self) -> String {
        format!("github {}", crate::model::text::clean(&self.repo))
    }
}

/// Looks at one repository until nobody reads its feeds.
pub(super) async fn run(repository: Repository, mut feeder: Feeder) {
    let (api, repo) = match (&repository.api, repository.repo.parse::<Repo>()) {
        (Ok(api), Ok(repo)) => (api.clone(), repo),
        (Err(why), _) => {
            let _ = feeder.trouble(why).await;
            return;
        }
        (_, Err(why)) => {
            let _ = feeder.trouble(&why).await;
            return;
        }
    };
    let mut looker = Looker {
        api,
        repo,
        repository,
        quiet: 0,
        failures: 0,
    };
    let _ = looker.serve(&mut feeder).await;
}

struct Looker {
    api: Api,
    repo: Repo,
    repository: Repository,
    /// Looks in a row that changed nothing.
    quiet: u32,
    /// Looks in a row that failed.
    failures: u32,
}

impl Looker {
    async fn serve(&mut self, feeder: &mut Feeder) -> Result<(), Gone> {
        loop {
            let pause = match self.look().await {
                Ok((items, changed)) => {
                    self.failures = 0;
                    feeder.items(items).await?;
                    self.pause(changed)
                }
                Err(why) => {
                    self.failures += 1;
                    feeder.trouble(&why).await?;
                    backoff(self.failures).max(IDLE_LEAST)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(self.held(pause)) => {}
                () = feeder.closed() => return Err(Gone),
            }
        }
    }

    /// The pause after a look: 10 s after a change, doubling to 30 s
    /// while nothing changes.
    fn pause(&mut self, changed: bool) -> Duration {
        self.quiet = if changed {
            0
        } else {
            self.quiet.saturating_add(1)
        };
        IDLE_LEAST
            .saturating_mul(2u32.saturating_pow(self.quiet.min(6)))
            .min(IDLE_MOST)
    }

    /// No look before a spent rate limit resets.
    fn held(&self, pause: Duration) -> Duration {
        let until = self.api.limits().hold_until;
        let left = until.and_then(|t| Duration::try_from(t.duration_since(Timestamp::now())).ok());
        match left {
            Some(left) => pause.max(left + Duration::from_secs(1)),
            None => pause,
        }
    }

    /// The repository's waiting runs, each environment an item; whether
    /// any answer changed.
    async fn look(&self) -> Result<(Vec<Item>, bool), String> {
        let filter = RunFilter {
            workflow: self.repository.workflow.clone(),
            branch: None,
            per_page: RUNS,
        };
        let say = |err, what: &str| refusal::of(&self.api, &err, &Asked::Read(what), &self.repo);
        let runs = self
            .api
            .runs(&self.repo, &filter, 1)
            .await
            .map_err(|e| say(e, "the runs"))?;
        let mut changed = runs.changed;
        let mut items = Vec::new();
        for run in runs.value.iter().filter(|r| r.waiting()) {
            let what = format!("the environments run {} waits on", run.id);
            let pending = self
                .api
                .pending(&self.repo, run.id)
                .await
                .map_err(|e| say(e, &what))?;
            changed |= pending.changed;
            items.extend(pending.value.iter().map(|p| self.item(run, p)));
        }
        Ok((items, changed))
    }

    fn item(&self, run: &Run, pending: &PendingDeployment) -> Item {
        let repo = &self.repository.repo;
        let environment = clip(&pending.environment.name, 80);
        let since = pending.wait_timer_started_at.unwrap_or(run.updated_at);
        let reviewers: Vec<String> = pending
            .reviewers
            .iter()
            .take(MAX_REVIEWERS)
            .map(|r| clip(&r.handle(), 40))
            .collect();
        let reviewers: Vec<&str> = reviewers.iter().map(String::as_str).collect();
        let api_url =
            (self.repository.api_url != GITHUB_API).then(|| self.repository.api_url.clone());
        let run_id = run.id.to_string();
        Item {
            place: Place::Github {
                repo: repo.clone(),
                run: run.id,
                api_url,
            },
            release: format!("{} #{} ({repo})", clip(&run.title(), 80), run.run_number),
            what: format!("a review of the deployment to {environment}"),
            stage: environment.clone(),
            since: Some(since),
            deadline: Some(deadline(run, pending)),
            mine: pending.current_user_can_approve,
            others: (!reviewers.is_empty()).then(|| or_list(&reviewers)),
            act: Some(do_line(
                "approve",
                &[
                    ("--github", repo.as_str()),
                    ("--run", run_id.as_str()),
                    // The whole name: the one GitHub knows it by.
                    ("--gate", pending.environment.name.as_str()),
                ],
            )),
        }
    }
}

/// The wait timer's end while one runs; else GitHub's expiry of a waiting
/// deployment, 30 days on. GitHub gives no time a deployment began to
/// wait: it is dated from the wait timer's start, else from the run's
/// last change (a waiting run changes no more until it is reviewed).
pub(super) fn deadline(run: &Run, pending: &PendingDeployment) -> Deadline {
    if let Some(ends) = pending.timer_ends().filter(|t| *t > Timestamp::now()) {
        return Deadline {
            at: ends,
            what: "the wait timer ends".into(),
        };
    }
    let began = pending.wait_timer_started_at.unwrap_or(run.updated_at);
    Deadline {
        at: began.checked_add(EXPIRY).unwrap_or(began),
        what: "GitHub fails the waiting job (30 days)".into(),
    }
}
