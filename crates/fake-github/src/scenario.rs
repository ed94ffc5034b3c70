//! The default world: `octo-org/octo-repo`, workflows `deploy.yml` and
//! `rollback.yml`, one run waiting on two environments and older runs.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::model::{Budget, Environment, Job, Run, State, Status, Step, Team, Workflow};
use crate::{Scenario, TokenKind};

/// The waiting run's id: the one in GitHub's `workflow-run` example.
pub const RUN_ID: u64 = 30433642;
/// The job id GitHub's `job` example carries; later jobs count up from it.
const FIRST_JOB_ID: u64 = 399444496;
const DEPLOY_ID: u64 = 161335;
const ROLLBACK_ID: u64 = 269289;
const STAGING_ID: u64 = 161088068;
const PRODUCTION_ID: u64 = 161088069;

fn deploy_jobs() -> Vec<(String, Option<String>)> {
    vec![
        ("build".into(), None),
        ("test".into(), None),
        ("deploy-staging".into(), Some("staging".into())),
        ("deploy-production".into(), Some("production".into())),
    ]
}

fn step_names(job: &str, env: Option<&str>) -> Vec<String> {
    let middle = match (job, env) {
        (_, Some(env)) => format!("Deploy to {env}"),
        ("build", _) => "Build".into(),
        ("test", _) => "Run tests".into(),
        ("rollback", _) => "Roll back".into(),
        (other, _) => format!("Run {other}"),
    };
    [
        "Set up job",
        "Run actions/checkout@v4",
        &middle,
        "Complete job",
    ]
    .map(str::to_string)
    .to_vec()
}

/// A job that has not started (queued or waiting), its steps all queued.
pub(crate) fn new_job(id: u64, name: &str, env: Option<&str>, attempt: u32, now: Timestamp) -> Job {
    let steps = step_names(name, env)
        .into_iter()
        .map(|name| Step {
            name,
            status: Status::Queued,
            conclusion: None,
            started_at: None,
            completed_at: None,
        })
        .collect();
    Job {
        id,
        name: name.into(),
        attempt,
        status: Status::Queued,
        conclusion: None,
        created_at: now,
        started_at: None,
        completed_at: None,
        steps,
        environment: env.map(str::to_string),
        due: None,
        not_before: None,
        outcome: "success",
    }
}

/// A job that ran from `start`, a few seconds a step, to `conclusion`
/// (`skipped` never started).
fn done_job(
    id: u64,
    name: &str,
    env: Option<&str>,
    start: Timestamp,
    conclusion: &'static str,
) -> Job {
    let mut job = new_job(id, name, env, 1, start);
    job.status = Status::Completed;
    job.conclusion = Some(conclusion);
    if conclusion == "skipped" {
        job.completed_at = Some(start);
        job.steps.clear();
        return job;
    }
    job.started_at = Some(start);
    let mut at = start;
    let last = job.steps.len().saturating_sub(1);
    for (i, step) in job.steps.iter_mut().enumerate() {
        let next = at + SignedDuration::from_secs(3 + 4 * i as i64);
        step.status = Status::Completed;
        step.conclusion = Some(if i == last || conclusion == "success" {
            "success"
        } else if i + 1 == last {
            conclusion
        } else {
            "success"
        });
        step.started_at = Some(at);
        step.completed_at = Some(next);
        at = next;
    }
    job.completed_at = Some(at);
    job
}

fn run_of(id: u64, number: u64, created: Timestamp, jobs: Vec<Job>) -> Run {
    Run {
        id,
        workflow_id: DEPLOY_ID,
        run_number: number,
        event: "push".into(),
        branch: "main".into(),
        sha: format!("{:040x}", id.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        title: "Update README.md".into(),
        actor: "octocat".into(),
        attempt: 1,
        status: Status::Completed,
        conclusion: None,
        created_at: created,
        updated_at: created,
        run_started_at: created,
        jobs,
        approvals: Vec::new(),
        waiting_since: BTreeMap::new(),
        inputs: None,
        cancelled: false,
    }
}

/// The run waiting on staging and production: build and test done.
fn waiting_run(state: &mut State, now: Timestamp) -> Run {
    let start = now - SignedDuration::from_mins(6);
    let build = done_job(state.job_id(), "build", None, start, "success");
    let test_start = build.completed_at.unwrap_or(start);
    let test = done_job(state.job_id(), "test", None, test_start, "success");
    let waiting_from = test.completed_at.unwrap_or(start);
    let mut jobs = vec![build, test];
    let mut since = BTreeMap::new();
    for env in ["staging", "production"] {
        let mut job = new_job(
            state.job_id(),
            &format!("deploy-{env}"),
            Some(env),
            1,
            waiting_from,
        );
        job.status = Status::Waiting;
        job.started_at = Some(waiting_from);
        jobs.push(job);
        since.insert(env.to_string(), waiting_from);
    }
    let mut run = run_of(RUN_ID, 562, start, jobs);
    run.waiting_since = since;
    run.status = Status::Waiting;
    run.updated_at = waiting_from;
    run
}

/// `count` older runs, an hour and a half apart; every seventh failed its
/// tests, every fifth came from a pull request on another branch.
fn older_runs(state: &mut State, now: Timestamp, count: usize) -> Vec<Run> {
    (1..=count as u64)
        .map(|k| {
            let created = now - SignedDuration::from_mins(30 + 90 * k as i64);
            let failed = k % 7 == 0;
            let mut at = created;
            let mut jobs = Vec::new();
            for (name, env) in deploy_jobs() {
                let conclusion = match (failed, name.as_str()) {
                    (true, "test") => "failure",
                    (true, n) if n.starts_with("deploy") => "skipped",
                    _ => "success",
                };
                let job = done_job(state.job_id(), &name, env.as_deref(), at, conclusion);
                at = job.completed_at.unwrap_or(at);
                jobs.push(job);
            }
            let mut run = run_of(RUN_ID - 1000 * k, 562 - k, created, jobs);
            if k % 5 == 0 {
                run.event = "pull_request".into();
                run.branch = "feature/faster-builds".into();
            }
            run.settle(at);
            run.updated_at = at;
            run
        })
        .collect()
}

pub(crate) fn build(scenario: &Scenario, url: &str, time_scale: f64) -> State {
    let now = Timestamp::now();
    let tokens = scenario
        .tokens
        .iter()
        .map(|(t, login, kind)| (t.clone(), (login.clone(), *kind)))
        .collect();
    let user_ids = [("octocat", 1), ("hubot", 2), ("monalisa", 3)]
        .map(|(l, id)| (l.to_string(), id))
        .into_iter()
        .collect();
    let mut state = State {
        owner: scenario.owner.clone(),
        repo: scenario.repo.clone(),
        url: url.to_string(),
        tokens,
        user_ids,
        workflows: vec![
            Workflow {
                id: DEPLOY_ID,
                name: "Deploy".into(),
                file: "deploy.yml".into(),
                jobs: deploy_jobs(),
            },
            Workflow {
                id: ROLLBACK_ID,
                name: "Rollback".into(),
                file: "rollback.yml".into(),
                jobs: vec![("rollback".into(), None)],
            },
        ],
        environments: environments(scenario),
        teams: vec![Team {
            id: 1,
            slug: "sre".into(),
            name: "SRE".into(),
            members: vec!["monalisa".into()],
        }],
        runs: Vec::new(),
        budget: Budget {
            limit: 5000,
            remaining: 5000,
            reset: now + SignedDuration::from_hours(1),
            charged: 0,
            secondary: 0,
            retry_after: 0,
        },
        injected: Vec::new(),
        requests: Vec::new(),
        time_scale,
        job_seconds: scenario.job_seconds,
        next_job_id: FIRST_JOB_ID - 1,
        next_request: 0,
    };
    let waiting = waiting_run(&mut state, now);
    let mut runs = vec![waiting];
    runs.extend(older_runs(&mut state, now, scenario.older_runs));
    state.runs = runs;
    state
}

fn environments(scenario: &Scenario) -> Vec<Environment> {
    vec![
        Environment {
            id: STAGING_ID,
            name: "staging".into(),
            users: vec!["octocat".into()],
            teams: Vec::new(),
            wait_timer: 0,
        },
        Environment {
            id: PRODUCTION_ID,
            name: "production".into(),
            users: vec!["hubot".into()],
            teams: vec!["sre".into()],
            wait_timer: scenario.production_wait_timer,
        },
    ]
}

impl Default for Scenario {
    fn default() -> Scenario {
        let token = |t: &str, login: &str, kind| (t.to_string(), login.to_string(), kind);
        Scenario {
            owner: "octo-org".into(),
            repo: "octo-repo".into(),
            tokens: vec![
                token(crate::TOKEN_OCTOCAT, "octocat", TokenKind::User),
                token(crate::TOKEN_HUBOT, "hubot", TokenKind::User),
                token(crate::TOKEN_MONALISA, "monalisa", TokenKind::User),
                token(crate::TOKEN_OUTSIDER, "outsider", TokenKind::User),
                token(
                    crate::TOKEN_INSTALLATION,
                    "octo-app[bot]",
                    TokenKind::Installation,
                ),
            ],
            older_runs: 40,
            job_seconds: 6.0,
            production_wait_timer: 2,
        }
    }
}
