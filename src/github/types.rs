//! The GitHub Actions objects shipdeck reads, as GitHub's REST API writes
//! them (the `workflow-run`, `job`, `pending-deployment`,
//! `environment-approvals` and `workflow` schemas), with only the fields
//! shipdeck shows or acts on. Unknown fields are ignored and a field GitHub
//! may leave out or send as `null` is an `Option` (or defaults), so a newer
//! API's objects still read. Statuses and conclusions stay strings with
//! readers for the values shipdeck knows: GitHub adds values over time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether a conclusion is a failure: `failure`, `timed_out`,
/// `startup_failure`.
pub fn failed(conclusion: Option<&str>) -> bool {
    matches!(
        conclusion,
        Some("failure" | "timed_out" | "startup_failure")
    )
}

/// A person or an app, as GitHub names one (`simple-user`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub login: String,
    #[serde(default)]
    pub id: u64,
    /// `User`, `Bot`, `Organization`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A team, as a reviewer (`team`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    /// `https://github.com/orgs/ORG/teams/SLUG`: where the org is named.
    #[serde(default)]
    pub html_url: Option<String>,
}

impl Team {
    /// `@org/slug` as GitHub writes a team, when the org can be read from
    /// its address; else `@slug`.
    pub fn handle(&self) -> String {
        let org = self.html_url.as_deref().and_then(|url| {
            let (_, rest) = url.split_once("/orgs/")?;
            rest.split('/').next().filter(|s| !s.is_empty())
        });
        match org {
            Some(org) => format!("@{org}/{}", self.slug),
            None => format!("@{}", self.slug),
        }
    }
}

/// The commit a run was made for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadCommit {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub message: String,
}

/// The repository a run belongs to (`minimal-repository`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// `octo-org/octo-repo`.
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub name: String,
}

/// A workflow run (`workflow-run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_title: Option<String>,
    #[serde(default)]
    pub run_number: u64,
    #[serde(default)]
    pub run_attempt: Option<u32>,
    #[serde(default)]
    pub event: String,
    /// `queued`, `in_progress`, `waiting`, `requested`, `pending`,
    /// `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `success`, `failure`, `cancelled`, `skipped`, `timed_out`,
    /// `action_required`, `neutral`, `stale`, `startup_failure`.
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub workflow_id: u64,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub head_sha: String,
    #[serde(default)]
    pub head_commit: Option<HeadCommit>,
    #[serde(default)]
    pub actor: Option<User>,
    #[serde(default)]
    pub triggering_actor: Option<User>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub run_started_at: Option<Timestamp>,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub repository: Option<Repository>,
    /// `.github/workflows/deploy.yml@main`.
    #[serde(default)]
    pub path: Option<String>,
}

impl Run {
    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("queued")
    }

    pub fn conclusion(&self) -> Option<&str> {
        self.conclusion.as_deref()
    }

    pub fn completed(&self) -> bool {
        self.status() == "completed"
    }

    /// Held for a review of a protected environment.
    pub fn waiting(&self) -> bool {
        self.status() == "waiting"
    }

    pub fn attempt(&self) -> u32 {
        self.run_attempt.unwrap_or(1).max(1)
    }

    /// What a person calls it: the workflow's name and the run's title.
    pub fn title(&self) -> String {
        let workflow = self.name.as_deref().unwrap_or("workflow");
        match self.display_title.as_deref() {
            Some(title) if !title.is_empty() && title != workflow => {
                format!("{workflow} · {title}")
            }
            _ => workflow.to_string(),
        }
    }

    /// The short commit: `acb5820`.
    pub fn short_sha(&self) -> &str {
        self.head_sha.get(..7).unwrap_or(&self.head_sha)
    }

    /// The workflow's file name (`deploy.yml`), from `path`.
    pub fn workflow_file(&self) -> Option<&str> {
        let path = self.path.as_deref()?;
        let path = path.split('@').next().unwrap_or(path);
        path.rsplit('/').next().filter(|s| !s.is_empty())
    }
}

/// `GET …/actions/runs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunList {
    #[serde(default)]
    pub total_count: u64,
    #[serde(default)]
    pub workflow_runs: Vec<Run>,
}

/// A step of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStep {
    pub name: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub number: u32,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
}

/// A job of a run (`job`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    #[serde(default)]
    pub run_id: u64,
    #[serde(default)]
    pub run_attempt: Option<u32>,
    pub name: String,
    /// `queued`, `in_progress`, `completed`, `waiting`, `requested`,
    /// `pending`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub completed_at: Option<Timestamp>,
    #[serde(default)]
    pub steps: Vec<JobStep>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub runner_name: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Job {
    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("queued")
    }

    pub fn conclusion(&self) -> Option<&str> {
        self.conclusion.as_deref()
    }

    pub fn completed(&self) -> bool {
        self.status() == "completed"
    }

    pub fn running(&self) -> bool {
        self.status() == "in_progress"
    }
}

/// `GET …/actions/runs/{id}/jobs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    #[serde(default)]
    pub total_count: u64,
    #[serde(default)]
    pub jobs: Vec<Job>,
}

/// A protected environment, as a pending deployment or an approval names
/// it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// Who may review a pending deployment: a user or a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewer {
    /// `User` or `Team`.
    #[serde(rename = "type")]
    pub kind: String,
    pub reviewer: ReviewerWho,
}

/// The reviewer itself: a user has a login, a team a slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReviewerWho {
    User(User),
    Team(Team),
}

impl Reviewer {
    /// `octocat`, or `@octo-org/sre` for a team.
    pub fn handle(&self) -> String {
        match &self.reviewer {
            ReviewerWho::User(user) if self.kind != "Team" => user.login.clone(),
            ReviewerWho::User(user) => format!("@{}", user.login),
            ReviewerWho::Team(team) => team.handle(),
        }
    }

    pub fn is_team(&self) -> bool {
        self.kind == "Team" || matches!(self.reviewer, ReviewerWho::Team(_))
    }
}

/// An environment the run waits on for a review (`pending-deployment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingDeployment {
    pub environment: Environment,
    /// Minutes the environment's wait timer holds the deployment.
    #[serde(default)]
    pub wait_timer: u64,
    #[serde(default)]
    pub wait_timer_started_at: Option<Timestamp>,
    /// Whether the token's user may review it.
    #[serde(default)]
    pub current_user_can_approve: bool,
    #[serde(default)]
    pub reviewers: Vec<Reviewer>,
}

impl PendingDeployment {
    /// When the wait timer lets the deployment go, if it has one.
    pub fn timer_ends(&self) -> Option<Timestamp> {
        let started = self.wait_timer_started_at?;
        if self.wait_timer == 0 {
            return None;
        }
        let minutes = i64::try_from(self.wait_timer).ok()?.min(43_200);
        started
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .ok()
    }
}

/// One review given on a run (`environment-approvals`). GitHub gives no
/// time for it: the time is when it was first seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    #[serde(default)]
    pub environments: Vec<Environment>,
    /// `approved` or `rejected`.
    pub state: String,
    pub user: User,
    #[serde(default)]
    pub comment: Option<String>,
}

impl Approval {
    pub fn approved(&self) -> bool {
        self.state == "approved"
    }
}

/// A workflow (`workflow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub id: u64,
    #[serde(default)]
    pub name: String,
    /// `.github/workflows/deploy.yml`.
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub state: String,
}

/// GitHub's error body (`basic-error`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub documentation_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
        let path = format!("{}/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn githubs_own_examples_read() {
        let run: Run = fixture("workflow-run.json");
        assert_eq!(run.id, 30433642);
        assert_eq!(run.status(), "queued");
        assert_eq!(run.attempt(), 1);
        assert_eq!(run.workflow_file(), Some("build.yml"));
        assert_eq!(run.short_sha(), "acb5820");
        assert_eq!(run.title(), "Build · Update README.md");
        let runs: RunList = fixture("workflow-run-paginated.json");
        assert!(!runs.workflow_runs.is_empty());
        let job: Job = fixture("job.json");
        assert_eq!(job.name, "build");
        assert!(job.completed());
        // Step times carry an offset (`-08:00`): the same instant.
        assert_eq!(
            job.steps[0].started_at.unwrap().to_string(),
            "2020-01-20T17:42:40Z"
        );
        let jobs: JobList = fixture("job-paginated.json");
        assert_eq!(jobs.jobs[0].steps.len(), 10);
        let pending: Vec<PendingDeployment> = fixture("pending-deployment-items.json");
        let p = &pending[0];
        assert_eq!(p.environment.name, "staging");
        assert!(p.current_user_can_approve);
        let handles: Vec<String> = p.reviewers.iter().map(Reviewer::handle).collect();
        assert_eq!(handles, ["octocat", "@github/justice-league"]);
        assert_eq!(p.timer_ends().unwrap().to_string(), "2020-11-23T22:30:40Z");
        let approvals: Vec<Approval> = fixture("environment-approvals-items.json");
        assert!(approvals[0].approved());
        assert_eq!(approvals[0].user.login, "octocat");
        assert_eq!(approvals[0].comment.as_deref(), Some("Ship it!"));
        let workflow: Workflow = fixture("workflow.json");
        assert_eq!(workflow.path, ".github/workflows/blank.yaml");
    }
}
