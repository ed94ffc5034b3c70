//! The fake's world: workflows, runs, jobs with steps, environments with
//! reviewers, tokens and the rate-limit budget. No I/O here.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::{Request, TokenKind};

/// A job's or a step's state as GitHub names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Queued,
    Waiting,
    InProgress,
    Completed,
}

impl Status {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Waiting => "waiting",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub name: String,
    pub status: Status,
    pub conclusion: Option<&'static str>,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub id: u64,
    pub name: String,
    pub attempt: u32,
    pub status: Status,
    pub conclusion: Option<&'static str>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub steps: Vec<Step>,
    /// The environment this job deploys to (it waits for its review).
    pub environment: Option<String>,
    /// When the controller finishes it (wall time, already scaled).
    pub due: Option<Timestamp>,
    /// The controller may start it no earlier than this (a wait timer).
    pub not_before: Option<Timestamp>,
    /// What it concludes with when it runs out.
    pub outcome: &'static str,
}

#[derive(Clone, Debug)]
pub(crate) struct Approval {
    pub state: &'static str,
    pub comment: String,
    pub environments: Vec<String>,
    pub login: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub id: u64,
    pub workflow_id: u64,
    pub run_number: u64,
    pub event: String,
    pub branch: String,
    pub sha: String,
    pub title: String,
    pub actor: String,
    pub attempt: u32,
    pub status: Status,
    pub conclusion: Option<&'static str>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub run_started_at: Timestamp,
    pub jobs: Vec<Job>,
    pub approvals: Vec<Approval>,
    /// When each environment's wait began (its wait timer's start).
    pub waiting_since: BTreeMap<String, Timestamp>,
    pub inputs: Option<Value>,
    pub cancelled: bool,
}

impl Run {
    /// The jobs of the latest attempt, in order.
    pub(crate) fn latest_jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter().filter(move |j| j.attempt == self.attempt)
    }

    /// The environments whose job waits for a review now.
    pub(crate) fn pending(&self) -> Vec<String> {
        self.latest_jobs()
            .filter(|j| j.status == Status::Waiting)
            .filter_map(|j| j.environment.clone())
            .collect()
    }

    /// Derives status and conclusion from the latest attempt's jobs.
    pub(crate) fn settle(&mut self, now: Timestamp) {
        let jobs: Vec<&Job> = self.latest_jobs().collect();
        let any = |s: Status| jobs.iter().any(|j| j.status == s);
        let (status, conclusion) = if any(Status::InProgress) || any(Status::Queued) {
            (Status::InProgress, None)
        } else if any(Status::Waiting) {
            (Status::Waiting, None)
        } else if self.cancelled {
            (Status::Completed, Some("cancelled"))
        } else if jobs.iter().any(|j| j.conclusion == Some("failure")) {
            (Status::Completed, Some("failure"))
        } else {
            (Status::Completed, Some("success"))
        };
        if (status, conclusion) != (self.status, self.conclusion) {
            self.status = status;
            self.conclusion = conclusion;
            self.updated_at = now;
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Workflow {
    pub id: u64,
    pub name: String,
    /// `deploy.yml`.
    pub file: String,
    /// The jobs a new run of it has, with their environments.
    pub jobs: Vec<(String, Option<String>)>,
}

#[derive(Clone, Debug)]
pub(crate) struct Environment {
    pub id: u64,
    pub name: String,
    pub users: Vec<String>,
    /// Team slugs (`sre`).
    pub teams: Vec<String>,
    /// Minutes, as GitHub counts them.
    pub wait_timer: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Team {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Budget {
    pub limit: u64,
    pub remaining: u64,
    pub reset: Timestamp,
    pub charged: u64,
    /// The next this many requests get a secondary-limit 403.
    pub secondary: u32,
    pub retry_after: u64,
}

#[derive(Clone, Debug)]
pub(crate) struct Injected {
    pub method: String,
    pub path: String,
    pub status: u16,
}

pub(crate) struct State {
    pub owner: String,
    pub repo: String,
    pub url: String,
    pub tokens: BTreeMap<String, (String, TokenKind)>,
    pub user_ids: BTreeMap<String, u64>,
    pub workflows: Vec<Workflow>,
    pub environments: Vec<Environment>,
    pub teams: Vec<Team>,
    /// Newest first.
    pub runs: Vec<Run>,
    pub budget: Budget,
    pub injected: Vec<Injected>,
    pub requests: Vec<Request>,
    pub time_scale: f64,
    pub job_seconds: f64,
    pub next_job_id: u64,
    pub next_request: u64,
}

impl State {
    pub(crate) fn run(&self, id: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    pub(crate) fn run_mut(&mut self, id: u64) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    pub(crate) fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// `161335` or `deploy.yml`.
    pub(crate) fn workflow(&self, key: &str) -> Option<&Workflow> {
        self.workflows
            .iter()
            .find(|w| w.id.to_string() == key || w.file == key)
    }

    pub(crate) fn user_id(&mut self, login: &str) -> u64 {
        let next = self.user_ids.values().max().copied().unwrap_or(0) + 1;
        *self.user_ids.entry(login.to_string()).or_insert(next)
    }

    /// Whether `login` is a required reviewer of `env` (as a user or
    /// through a team).
    pub(crate) fn may_review(&self, login: &str, env: &Environment) -> bool {
        env.users.iter().any(|u| u == login)
            || self
                .teams
                .iter()
                .filter(|t| env.teams.contains(&t.slug))
                .any(|t| t.members.iter().any(|m| m == login))
    }

    /// A duration of `seconds` as the controller lives it.
    pub(crate) fn scaled(&self, seconds: f64) -> SignedDuration {
        let d = Duration::from_secs_f64((seconds * self.time_scale).max(0.0));
        SignedDuration::try_from(d).unwrap_or(SignedDuration::ZERO)
    }

    pub(crate) fn job_id(&mut self) -> u64 {
        self.next_job_id += 1;
        self.next_job_id
    }

    /// Records a review of `envs` on run `id` by `login` and moves their
    /// jobs: approved ones are queued (after their wait timer), rejected
    /// ones fail.
    pub(crate) fn review(
        &mut self,
        id: u64,
        login: &str,
        envs: &[String],
        approved: bool,
        comment: &str,
    ) {
        let now = Timestamp::now();
        let timers: BTreeMap<String, SignedDuration> = self
            .environments
            .iter()
            .map(|e| (e.name.clone(), self.scaled(e.wait_timer as f64 * 60.0)))
            .collect();
        let Some(run) = self.run_mut(id) else { return };
        run.approvals.push(Approval {
            state: if approved { "approved" } else { "rejected" },
            comment: comment.to_string(),
            environments: envs.to_vec(),
            login: login.to_string(),
        });
        let attempt = run.attempt;
        for job in run.jobs.iter_mut().filter(|j| j.attempt == attempt) {
            let Some(env) = job.environment.as_ref().filter(|e| envs.contains(e)) else {
                continue;
            };
            if job.status != Status::Waiting {
                continue;
            }
            if approved {
                let since = run.waiting_since.get(env).copied().unwrap_or(now);
                let timer = timers.get(env).copied().unwrap_or_default();
                job.status = Status::Queued;
                job.not_before = Some(since.checked_add(timer).unwrap_or(now));
            } else {
                job.status = Status::Completed;
                job.conclusion = Some("failure");
                job.completed_at = Some(now);
            }
        }
        run.updated_at = now;
        run.settle(now);
    }
}

/// Seconds-precision, as GitHub writes times: `2020-01-20T17:42:40Z`.
pub(crate) fn time(ts: Timestamp) -> Value {
    Timestamp::from_second(ts.as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
        .into()
}

pub(crate) fn opt_time(ts: Option<Timestamp>) -> Value {
    ts.map(time).unwrap_or(Value::Null)
}
