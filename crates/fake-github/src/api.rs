//! The REST endpoints: what each answers, with GitHub's codes and bodies.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::model::{State, Status};
use crate::render;
use crate::scenario::new_job;
use crate::{TokenKind, paging};

/// One answer: a status, a JSON body (none for 204/302/304) and headers.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// GitHub's `basic-error` body.
pub(crate) fn error(status: u16, message: &str, docs: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": message, "documentation_url": docs, "status": status.to_string()}),
    )
}

pub(crate) fn not_found() -> Reply {
    error(404, "Not Found", "https://docs.github.com/rest")
}

const RUNS_DOCS: &str = "https://docs.github.com/rest/actions/workflow-runs";
const REVIEW_DOCS: &str = "https://docs.github.com/rest/actions/workflow-runs#review-pending-deployments-for-a-workflow-run";

fn invalid(what: &str, docs: &str) -> Reply {
    error(422, &format!("Invalid request.\n\n{what}"), docs)
}

/// Who is asking.
pub(crate) struct Caller {
    pub login: String,
    pub kind: TokenKind,
}

/// A parsed request for the endpoints.
pub(crate) struct Call<'a> {
    pub method: &'a str,
    pub segments: Vec<&'a str>,
    pub path: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
    pub caller: Caller,
}

pub(crate) fn route(state: &mut State, call: &Call) -> Reply {
    let segs = call.segments.as_slice();
    if segs == ["user"] && call.method == "GET" {
        if call.caller.kind == TokenKind::Installation {
            return forbidden_integration();
        }
        return Reply::json(200, render::private_user(state, &call.caller.login));
    }
    let ["repos", owner, repo, "actions", rest @ ..] = segs else {
        return not_found();
    };
    if *owner != state.owner || *repo != state.repo {
        return not_found();
    }
    match (call.method, rest) {
        ("GET", ["runs"]) => list_runs(state, call, None),
        ("GET", ["workflows"]) => {
            let items: Vec<Value> = state
                .workflows
                .iter()
                .map(|w| render::workflow(state, w))
                .collect();
            Reply::json(200, json!({"total_count": items.len(), "workflows": items}))
        }
        ("GET", ["workflows", w]) => match state.workflow(w) {
            Some(w) => Reply::json(200, render::workflow(state, w)),
            None => not_found(),
        },
        ("GET", ["workflows", w, "runs"]) => match state.workflow(w).map(|w| w.id) {
            Some(id) => list_runs(state, call, Some(id)),
            None => not_found(),
        },
        ("POST", ["workflows", w, "dispatches"]) => dispatch(state, call, w),
        ("GET", ["jobs", id, "logs"]) => logs_redirect(state, id),
        ("GET", ["runs", id, more @ ..]) => run_get(state, call, parse(id), more),
        ("POST", ["runs", id, more @ ..]) => run_post(state, call, parse(id), more),
        _ => not_found(),
    }
}

fn parse(id: &str) -> u64 {
    id.parse().unwrap_or(0)
}

fn forbidden_integration() -> Reply {
    error(
        403,
        "Resource not accessible by integration",
        "https://docs.github.com/rest",
    )
}

fn run_get(state: &mut State, call: &Call, id: u64, more: &[&str]) -> Reply {
    let Some(run) = state.run(id).cloned() else {
        return not_found();
    };
    match more {
        [] => Reply::json(200, render::run(state, &run)),
        ["jobs"] => {
            let all = paging::param(call.query, "filter").as_deref() == Some("all");
            let jobs: Vec<_> = run
                .jobs
                .iter()
                .filter(|j| all || j.attempt == run.attempt)
                .collect();
            list_jobs(state, call, &run, &jobs)
        }
        ["attempts", n, "jobs"] => {
            let n: u32 = n.parse().unwrap_or(0);
            if n == 0 || n > run.attempt {
                return not_found();
            }
            let jobs: Vec<_> = run.jobs.iter().filter(|j| j.attempt == n).collect();
            list_jobs(state, call, &run, &jobs)
        }
        ["pending_deployments"] => {
            let envs: Vec<_> = run
                .pending()
                .iter()
                .filter_map(|name| state.environment(name).cloned())
                .collect();
            let items: Vec<Value> = envs
                .into_iter()
                .map(|env| {
                    let can = call.caller.kind == TokenKind::User
                        && state.may_review(&call.caller.login, &env);
                    render::pending(state, &run, &env, can)
                })
                .collect();
            Reply::json(200, Value::Array(items))
        }
        ["approvals"] => {
            let items: Vec<Value> = run
                .approvals
                .iter()
                .map(|a| render::approval(state, a))
                .collect();
            Reply::json(200, Value::Array(items))
        }
        _ => not_found(),
    }
}

fn list_runs(state: &mut State, call: &Call, workflow: Option<u64>) -> Reply {
    let want = |key: &str| paging::param(call.query, key);
    let (branch, status, event) = (want("branch"), want("status"), want("event"));
    let runs: Vec<_> = state
        .runs
        .iter()
        .filter(|r| workflow.is_none_or(|w| r.workflow_id == w))
        .filter(|r| branch.as_ref().is_none_or(|b| &r.branch == b))
        .filter(|r| event.as_ref().is_none_or(|e| &r.event == e))
        .filter(|r| {
            status
                .as_ref()
                .is_none_or(|s| r.status.name() == s || r.conclusion == Some(s.as_str()))
        })
        .cloned()
        .collect();
    let page = paging::Page::of(call.query, runs.len());
    let items: Vec<Value> = runs[page.range()]
        .iter()
        .map(|r| render::run(state, r))
        .collect();
    let mut reply = Reply::json(
        200,
        json!({"total_count": runs.len(), "workflow_runs": items}),
    );
    reply
        .headers
        .extend(page.link(&state.url, call.path, call.query));
    reply
}

fn list_jobs(
    state: &State,
    call: &Call,
    run: &crate::model::Run,
    jobs: &[&crate::model::Job],
) -> Reply {
    let page = paging::Page::of(call.query, jobs.len());
    let items: Vec<Value> = jobs[page.range()]
        .iter()
        .map(|j| render::job(state, run, j))
        .collect();
    let mut reply = Reply::json(200, json!({"total_count": jobs.len(), "jobs": items}));
    reply
        .headers
        .extend(page.link(&state.url, call.path, call.query));
    reply
}

fn logs_redirect(state: &State, id: &str) -> Reply {
    let id = parse(id);
    let found = state
        .runs
        .iter()
        .flat_map(|r| r.jobs.iter())
        .find(|j| j.id == id);
    match found {
        Some(job) if job.status == Status::Completed => {
            let mut reply = Reply::empty(302);
            reply
                .headers
                .push(("location".into(), crate::logs::location(state, id)));
            reply
        }
        _ => not_found(),
    }
}

fn run_post(state: &mut State, call: &Call, id: u64, more: &[&str]) -> Reply {
    if state.run(id).is_none() {
        return not_found();
    }
    match more {
        ["pending_deployments"] => review(state, call, id),
        ["cancel"] => cancel(state, id),
        ["rerun-failed-jobs"] => rerun_failed(state, id),
        _ => not_found(),
    }
}

/// `POST …/pending_deployments`: `{environment_ids, state, comment}`.
fn review(state: &mut State, call: &Call, id: u64) -> Reply {
    if call.caller.kind == TokenKind::Installation {
        return forbidden_integration();
    }
    let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
    if !body.is_object() {
        return invalid("Body must be a JSON object.", REVIEW_DOCS);
    }
    let ids: Option<Vec<u64>> = body["environment_ids"]
        .as_array()
        .and_then(|a| a.iter().map(Value::as_u64).collect());
    let Some(ids) = ids.filter(|ids| !ids.is_empty()) else {
        return invalid("\"environment_ids\" wasn't supplied.", REVIEW_DOCS);
    };
    let approved = match body["state"].as_str() {
        Some("approved") => true,
        Some("rejected") => false,
        _ => return invalid("\"state\" wasn't supplied.", REVIEW_DOCS),
    };
    let Some(comment) = body["comment"].as_str() else {
        return invalid("\"comment\" wasn't supplied.", REVIEW_DOCS);
    };
    let pending = state.run(id).map(|r| r.pending()).unwrap_or_default();
    let mut envs = Vec::new();
    for env_id in ids {
        let env = state.environments.iter().find(|e| e.id == env_id).cloned();
        let Some(env) = env.filter(|e| pending.contains(&e.name)) else {
            return error(
                422,
                "No pending deployment requests to approve or reject",
                REVIEW_DOCS,
            );
        };
        if !state.may_review(&call.caller.login, &env) {
            return error(
                403,
                &format!(
                    "{} is not a required reviewer for the environment {}",
                    call.caller.login, env.name
                ),
                REVIEW_DOCS,
            );
        }
        envs.push(env.name);
    }
    state.review(id, &call.caller.login, &envs, approved, comment);
    let run = state.run(id).cloned();
    let mut items = Vec::new();
    if let (true, Some(run)) = (approved, run) {
        for env in &envs {
            let deployment = state.job_id();
            items.push(render::deployment(
                state,
                &run,
                env,
                deployment,
                &call.caller.login,
            ));
        }
    }
    Reply::json(200, Value::Array(items))
}

fn cancel(state: &mut State, id: u64) -> Reply {
    let now = Timestamp::now();
    let Some(run) = state.run_mut(id) else {
        return not_found();
    };
    if run.status == Status::Completed {
        return error(
            409,
            "Cannot cancel a workflow run that is completed.",
            "https://docs.github.com/rest/actions/workflow-runs#cancel-a-workflow-run",
        );
    }
    let attempt = run.attempt;
    for job in run.jobs.iter_mut().filter(|j| j.attempt == attempt) {
        if job.status == Status::Completed {
            continue;
        }
        job.status = Status::Completed;
        job.conclusion = Some("cancelled");
        job.completed_at = Some(now);
        for step in job
            .steps
            .iter_mut()
            .filter(|s| s.status != Status::Completed)
        {
            let started = step.status == Status::InProgress;
            step.status = Status::Completed;
            step.conclusion = Some(if started { "cancelled" } else { "skipped" });
            step.completed_at = started.then_some(now);
        }
    }
    run.cancelled = true;
    run.updated_at = now;
    run.settle(now);
    Reply::json(202, json!({}))
}

fn rerun_failed(state: &mut State, id: u64) -> Reply {
    let now = Timestamp::now();
    let Some(run) = state.run(id).cloned() else {
        return not_found();
    };
    if run.status != Status::Completed {
        return error(403, "This workflow run is not completed.", RUNS_DOCS);
    }
    let old: Vec<_> = run.latest_jobs().cloned().collect();
    let Some(first_failed) = old.iter().position(|j| j.conclusion != Some("success")) else {
        return error(
            403,
            "This workflow run has no failed jobs to re-run.",
            RUNS_DOCS,
        );
    };
    let attempt = run.attempt + 1;
    let mut jobs = Vec::new();
    for (i, job) in old.iter().enumerate() {
        let id = state.job_id();
        if i >= first_failed && job.conclusion != Some("success") {
            jobs.push(new_job(
                id,
                &job.name,
                job.environment.as_deref(),
                attempt,
                now,
            ));
        } else {
            jobs.push(crate::model::Job {
                id,
                attempt,
                ..job.clone()
            });
        }
    }
    let Some(run) = state.run_mut(id) else {
        return not_found();
    };
    run.attempt = attempt;
    run.jobs.extend(jobs);
    run.cancelled = false;
    run.run_started_at = now;
    run.updated_at = now;
    run.status = Status::Queued;
    run.conclusion = None;
    Reply::json(201, json!({}))
}

/// `POST …/workflows/{id}/dispatches`: `{ref, inputs, return_run_details}`.
fn dispatch(state: &mut State, call: &Call, key: &str) -> Reply {
    let docs = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event";
    let Some(workflow) = state.workflow(key).cloned() else {
        return not_found();
    };
    let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
    let Some(git_ref) = body["ref"].as_str().filter(|r| !r.is_empty()) else {
        return invalid("\"ref\" wasn't supplied.", docs);
    };
    if !body["inputs"].is_null() && !body["inputs"].is_object() {
        return invalid("For 'properties/inputs', is not an object.", docs);
    }
    let now = Timestamp::now();
    let id = state.runs.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    let number = state.runs.iter().map(|r| r.run_number).max().unwrap_or(0) + 1;
    let branch = git_ref.trim_start_matches("refs/heads/").to_string();
    let mut jobs = Vec::new();
    for (name, env) in &workflow.jobs {
        let job_id = state.job_id();
        jobs.push(new_job(job_id, name, env.as_deref(), 1, now));
    }
    let run = crate::model::Run {
        id,
        workflow_id: workflow.id,
        run_number: number,
        event: "workflow_dispatch".into(),
        branch: branch.clone(),
        sha: format!("{:040x}", id.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        title: workflow.name.clone(),
        actor: call.caller.login.clone(),
        attempt: 1,
        status: Status::Queued,
        conclusion: None,
        created_at: now,
        updated_at: now,
        run_started_at: now,
        jobs,
        approvals: Vec::new(),
        waiting_since: Default::default(),
        inputs: Some(body["inputs"].clone()).filter(|i| !i.is_null()),
        cancelled: false,
    };
    state.runs.insert(0, run);
    if body["return_run_details"].as_bool() == Some(true) {
        Reply::json(200, render::dispatch_response(state, id))
    } else {
        Reply::empty(204)
    }
}
