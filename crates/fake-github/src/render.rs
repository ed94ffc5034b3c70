//! Responses built from GitHub's own examples (`fixtures/github`), with
//! only the fields the scenario needs changed.

use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::model::{Environment, Job, Run, State, Team, opt_time, time};

const RUN: &str = include_str!("../../../fixtures/github/workflow-run.json");
const JOB: &str = include_str!("../../../fixtures/github/job.json");
const PENDING: &str = include_str!("../../../fixtures/github/pending-deployment-items.json");
const DEPLOYMENTS: &str = include_str!("../../../fixtures/github/deployment-items.json");
const APPROVALS: &str = include_str!("../../../fixtures/github/environment-approvals-items.json");
const DISPATCH: &str = include_str!("../../../fixtures/github/workflow-dispatch-response.json");
const WORKFLOW: &str = include_str!("../../../fixtures/github/workflow.json");
const USER: &str = include_str!("../../../fixtures/github/private-user.json");

fn parsed(cell: &'static OnceLock<Value>, text: &str) -> Value {
    cell.get_or_init(|| serde_json::from_str(text).unwrap_or(Value::Null))
        .clone()
}

macro_rules! fixture {
    ($name:ident, $text:expr) => {
        fn $name() -> Value {
            static CELL: OnceLock<Value> = OnceLock::new();
            parsed(&CELL, $text)
        }
    };
}

fixture!(run_example, RUN);
fixture!(job_example, JOB);
fixture!(pending_example, PENDING);
fixture!(deployments_example, DEPLOYMENTS);
fixture!(approvals_example, APPROVALS);
fixture!(dispatch_example, DISPATCH);
fixture!(user_example, USER);
fixture!(workflow_example, WORKFLOW);

fn first(list: Value) -> Value {
    list.get(0).cloned().unwrap_or(Value::Null)
}

fn set(value: &mut Value, fields: Value) {
    if let (Some(obj), Value::Object(fields)) = (value.as_object_mut(), fields) {
        obj.extend(fields);
    }
}

/// The API's base: the fake's own URL in place of `https://api.github.com`.
fn api(state: &State) -> String {
    state.url.clone()
}

fn repo_url(state: &State) -> String {
    format!("{}/repos/{}/{}", api(state), state.owner, state.repo)
}

fn html_repo(state: &State) -> String {
    format!("https://github.com/{}/{}", state.owner, state.repo)
}

/// A `simple-user` for `login`, from the example's actor.
pub(crate) fn simple_user(state: &mut State, login: &str) -> Value {
    let id = state.user_id(login);
    let mut user = run_example()["actor"].clone();
    let base = format!("{}/users/{login}", api(state));
    set(
        &mut user,
        json!({
            "login": login,
            "id": id,
            "url": base,
            "html_url": format!("https://github.com/{login}"),
            "followers_url": format!("{base}/followers"),
            "following_url": format!("{base}/following{{/other_user}}"),
            "gists_url": format!("{base}/gists{{/gist_id}}"),
            "starred_url": format!("{base}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{base}/subscriptions"),
            "organizations_url": format!("{base}/orgs"),
            "repos_url": format!("{base}/repos"),
            "events_url": format!("{base}/events{{/privacy}}"),
            "received_events_url": format!("{base}/received_events"),
            "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
        }),
    );
    user
}

/// `GET /user`: the `private-user` example as `login`.
pub(crate) fn private_user(state: &mut State, login: &str) -> Value {
    let mut user = user_example();
    let simple = simple_user(state, login);
    set(&mut user, simple);
    set(
        &mut user,
        json!({"name": login, "email": format!("{login}@example.com")}),
    );
    user
}

pub(crate) fn run(state: &mut State, run: &Run) -> Value {
    let mut value = run_example();
    let repo = repo_url(state);
    let url = format!("{repo}/actions/runs/{}", run.id);
    let workflow = state.workflows.iter().find(|w| w.id == run.workflow_id);
    let (name, file) = workflow
        .map(|w| (w.name.clone(), w.file.clone()))
        .unwrap_or_default();
    let actor = simple_user(state, &run.actor);
    let previous = (run.attempt > 1)
        .then(|| format!("{url}/attempts/{}", run.attempt - 1))
        .map_or(Value::Null, Value::from);
    set(
        &mut value,
        json!({
            "id": run.id,
            "name": name,
            "head_branch": run.branch,
            "head_sha": run.sha,
            "path": format!(".github/workflows/{file}@{}", run.branch),
            "run_number": run.run_number,
            "event": run.event,
            "display_title": run.title,
            "status": run.status.name(),
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "url": url,
            "html_url": format!("{}/actions/runs/{}", html_repo(state), run.id),
            "created_at": time(run.created_at),
            "updated_at": time(run.updated_at),
            "actor": actor.clone(),
            "triggering_actor": actor,
            "run_attempt": run.attempt,
            "run_started_at": time(run.run_started_at),
            "jobs_url": format!("{url}/jobs"),
            "logs_url": format!("{url}/logs"),
            "artifacts_url": format!("{url}/artifacts"),
            "cancel_url": format!("{url}/cancel"),
            "rerun_url": format!("{url}/rerun"),
            "previous_attempt_url": previous,
            "workflow_url": format!("{repo}/actions/workflows/{}", run.workflow_id),
        }),
    );
    value["head_commit"]["id"] = run.sha.clone().into();
    value["head_commit"]["tree_id"] = run.sha.clone().into();
    value["head_commit"]["timestamp"] = time(run.created_at);
    value["head_commit"]["message"] = run.title.clone().into();
    for key in ["repository", "head_repository"] {
        set(
            &mut value[key],
            json!({
                "name": state.repo,
                "full_name": format!("{}/{}", state.owner, state.repo),
                "url": repo,
                "html_url": html_repo(state),
            }),
        );
        value[key]["owner"]["login"] = state.owner.clone().into();
    }
    value
}

pub(crate) fn job(state: &State, run: &Run, job: &Job) -> Value {
    let mut value = job_example();
    let repo = repo_url(state);
    let template = value["steps"].get(0).cloned().unwrap_or(Value::Null);
    let steps: Vec<Value> = job
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut step = template.clone();
            set(
                &mut step,
                json!({
                    "name": s.name,
                    "status": s.status.name(),
                    "conclusion": s.conclusion,
                    "number": i + 1,
                    "started_at": opt_time(s.started_at),
                    "completed_at": opt_time(s.completed_at),
                }),
            );
            step
        })
        .collect();
    let workflow_name = state
        .workflows
        .iter()
        .find(|w| w.id == run.workflow_id)
        .map(|w| w.name.clone())
        .unwrap_or_default();
    use crate::model::Status;
    let ran = job.status == Status::InProgress
        || job.status == Status::Completed
            && job.started_at.is_some()
            && job.conclusion != Some("skipped");
    set(
        &mut value,
        json!({
            "id": job.id,
            "run_id": run.id,
            "run_url": format!("{repo}/actions/runs/{}", run.id),
            "run_attempt": job.attempt,
            "head_sha": run.sha,
            "url": format!("{repo}/actions/jobs/{}", job.id),
            "html_url": format!("{}/actions/runs/{}/job/{}", html_repo(state), run.id, job.id),
            "status": job.status.name(),
            "conclusion": job.conclusion,
            "created_at": time(job.created_at),
            "started_at": opt_time(job.started_at.or(Some(job.created_at))),
            "completed_at": opt_time(job.completed_at),
            "name": job.name,
            "steps": steps,
            "check_run_url": format!("{repo}/check-runs/{}", job.id),
            "workflow_name": workflow_name,
            "head_branch": run.branch,
        }),
    );
    if !ran {
        for key in [
            "runner_id",
            "runner_name",
            "runner_group_id",
            "runner_group_name",
        ] {
            value[key] = Value::Null;
        }
    }
    value
}

fn environment_ref(state: &State, env: &Environment) -> Value {
    let mut value = first(pending_example())["environment"].clone();
    set(
        &mut value,
        json!({
            "id": env.id,
            "name": env.name,
            "url": format!("{}/environments/{}", repo_url(state), env.name),
            "html_url": format!(
                "{}/deployments/activity_log?environments_filter={}",
                html_repo(state), env.name
            ),
        }),
    );
    value
}

fn team(state: &State, team: &Team) -> Value {
    let mut value = first(pending_example())["reviewers"][1]["reviewer"].clone();
    let url = format!("{}/teams/{}", api(state), team.id);
    set(
        &mut value,
        json!({
            "id": team.id,
            "url": url,
            "html_url": format!("https://github.com/orgs/{}/teams/{}", state.owner, team.slug),
            "name": team.name,
            "slug": team.slug,
            "members_url": format!("{url}/members{{/member}}"),
            "repositories_url": format!("{url}/repos"),
        }),
    );
    value
}

/// One `pending-deployment` for `env` as `login` sees it.
pub(crate) fn pending(state: &mut State, run: &Run, env: &Environment, can: bool) -> Value {
    let mut value = first(pending_example());
    let mut reviewers = Vec::new();
    for user in &env.users {
        reviewers.push(json!({"type": "User", "reviewer": simple_user(state, user)}));
    }
    let teams: Vec<Team> = state
        .teams
        .iter()
        .filter(|t| env.teams.contains(&t.slug))
        .cloned()
        .collect();
    for t in &teams {
        reviewers.push(json!({"type": "Team", "reviewer": team(state, t)}));
    }
    set(
        &mut value,
        json!({
            "environment": environment_ref(state, env),
            "wait_timer": env.wait_timer,
            "wait_timer_started_at": opt_time(run.waiting_since.get(&env.name).copied()),
            "current_user_can_approve": can,
            "reviewers": reviewers,
        }),
    );
    value
}

pub(crate) fn approval(state: &mut State, a: &crate::model::Approval) -> Value {
    let mut value = first(approvals_example());
    let template = value["environments"].get(0).cloned().unwrap_or(Value::Null);
    let envs: Vec<Value> = a
        .environments
        .iter()
        .filter_map(|name| state.environment(name).cloned())
        .map(|env| {
            let mut e = template.clone();
            if let (Some(obj), Value::Object(r)) = (e.as_object_mut(), environment_ref(state, &env))
            {
                obj.extend(r);
            }
            e
        })
        .collect();
    let user = simple_user(state, &a.login);
    set(
        &mut value,
        json!({"state": a.state, "comment": a.comment, "environments": envs, "user": user}),
    );
    value
}

/// One `deployment` made by approving `env` on `run`.
pub(crate) fn deployment(state: &mut State, run: &Run, env: &str, id: u64, login: &str) -> Value {
    let mut value = first(deployments_example());
    let url = format!("{}/deployments/{id}", repo_url(state));
    let creator = simple_user(state, login);
    let now = time(jiff::Timestamp::now());
    set(
        &mut value,
        json!({
            "url": url,
            "id": id,
            "sha": run.sha,
            "ref": run.branch,
            "original_environment": env,
            "environment": env,
            "description": null,
            "creator": creator,
            "created_at": now,
            "updated_at": now,
            "statuses_url": format!("{url}/statuses"),
            "repository_url": repo_url(state),
            "production_environment": env == "production",
        }),
    );
    value
}

pub(crate) fn dispatch_response(state: &State, id: u64) -> Value {
    let mut value = dispatch_example();
    set(
        &mut value,
        json!({
            "workflow_run_id": id,
            "run_url": format!("{}/actions/runs/{id}", repo_url(state)),
            "html_url": format!("{}/actions/runs/{id}", html_repo(state)),
        }),
    );
    value
}

/// A `workflow` from the example: id, name, path and URLs changed.
pub(crate) fn workflow(state: &State, w: &crate::model::Workflow) -> Value {
    let mut value = workflow_example();
    let html = html_repo(state);
    set(
        &mut value,
        json!({
            "id": w.id,
            "name": w.name,
            "path": format!(".github/workflows/{}", w.file),
            "url": format!("{}/actions/workflows/{}", repo_url(state), w.id),
            "html_url": format!("{html}/blob/main/.github/workflows/{}", w.file),
            "badge_url": format!("{html}/workflows/{}/badge.svg", w.name),
        }),
    );
    value
}
