//! A small controller, not GitHub's: it moves the latest attempt of each
//! unfinished run along. A job starts once the jobs it needs (every
//! earlier job, except sibling deployments) succeeded, and is skipped if
//! one of them did not; a deployment job first waits for its review (and
//! then its wait timer); a running job's steps finish one after another
//! and the job concludes after `job_seconds` (scaled).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::Shared;
use crate::model::{Job, Run, Status};

pub(crate) async fn run(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    loop {
        interval.tick().await;
        let mut state = shared.lock();
        let seconds = state.job_seconds;
        let length = state.scaled(seconds);
        let now = Timestamp::now();
        for run in state.runs.iter_mut() {
            if run.status != Status::Completed {
                step_run(run, now, length);
            }
        }
    }
}

/// How the jobs `job` needs stand.
enum Needs {
    Met,
    Failed,
    Pending,
}

fn needs(run: &Run, index: usize) -> Needs {
    let jobs: Vec<&Job> = run.latest_jobs().collect();
    let me = jobs[index];
    let mut pending = false;
    for earlier in &jobs[..index] {
        if earlier.environment.is_some() && me.environment.is_some() {
            continue;
        }
        match (earlier.status, earlier.conclusion) {
            (Status::Completed, Some("success")) => {}
            (Status::Completed, _) => return Needs::Failed,
            _ => pending = true,
        }
    }
    if pending { Needs::Pending } else { Needs::Met }
}

fn step_run(run: &mut Run, now: Timestamp, length: jiff::SignedDuration) {
    let count = run.latest_jobs().count();
    let mut changed = false;
    for index in 0..count {
        let needs = needs(run, index);
        let attempt = run.attempt;
        let Some(job) = run
            .jobs
            .iter_mut()
            .filter(|j| j.attempt == attempt)
            .nth(index)
        else {
            continue;
        };
        changed |= match (job.status, needs) {
            (Status::Completed, _) | (_, Needs::Pending) => false,
            (_, Needs::Failed) => skip(job, now),
            (Status::Queued, Needs::Met) => match (&job.environment, job.not_before) {
                (Some(env), None) => {
                    job.status = Status::Waiting;
                    job.started_at = Some(now);
                    run.waiting_since.insert(env.clone(), now);
                    true
                }
                (_, not_before) if not_before.is_none_or(|t| t <= now) => start(job, now, length),
                _ => false,
            },
            (Status::InProgress, Needs::Met) => advance(job, now),
            (Status::Waiting, Needs::Met) => false,
        };
    }
    if changed {
        run.updated_at = now;
    }
    run.settle(now);
}

fn skip(job: &mut Job, now: Timestamp) -> bool {
    job.status = Status::Completed;
    job.conclusion = Some("skipped");
    job.started_at = None;
    job.completed_at = Some(now);
    job.steps.clear();
    true
}

fn start(job: &mut Job, now: Timestamp, length: jiff::SignedDuration) -> bool {
    job.status = Status::InProgress;
    job.started_at = Some(now);
    job.due = Some(now.checked_add(length).unwrap_or(now));
    if let Some(first) = job.steps.first_mut() {
        first.status = Status::InProgress;
        first.started_at = Some(now);
    }
    true
}

/// Finishes the steps whose share of the job's time has passed; the job
/// when all have.
fn advance(job: &mut Job, now: Timestamp) -> bool {
    let (Some(started), Some(due)) = (job.started_at, job.due) else {
        return false;
    };
    let total = due.duration_since(started).as_secs_f64();
    let gone = now.duration_since(started).as_secs_f64();
    let steps = job.steps.len().max(1);
    let finished = if total <= 0.0 {
        steps
    } else {
        ((gone / total) * steps as f64).floor() as usize
    };
    let mut changed = false;
    let outcome = job.outcome;
    let last = job.steps.len().saturating_sub(1);
    for (i, step) in job.steps.iter_mut().enumerate() {
        if i < finished && step.status != Status::Completed {
            step.status = Status::Completed;
            let failing = outcome != "success" && i + 1 == last;
            step.conclusion = Some(if failing { outcome } else { "success" });
            step.started_at.get_or_insert(now);
            step.completed_at = Some(now);
            changed = true;
        } else if i == finished && step.status == Status::Queued {
            step.status = Status::InProgress;
            step.started_at = Some(now);
            changed = true;
        }
    }
    if now >= due && finished >= steps {
        job.status = Status::Completed;
        job.conclusion = Some(outcome);
        job.completed_at = Some(now);
        changed = true;
    }
    changed
}
