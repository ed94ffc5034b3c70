//! What each console command asks of GitHub, worked out from the run as it
//! stands ([`order`]: pure, so every refusal is said before anything is
//! sent), and sent as GitHub's own clients send it ([`send`]).
//!
//! - sign off / reject a gate: a review of that environment
//!   (`POST …/runs/{id}/pending_deployments` with its environment id);
//! - retry: `POST …/runs/{id}/rerun-failed-jobs`;
//! - roll back before anything went out: the run cancelled (the abort);
//!   after a deployment: the configured rollback workflow dispatched (and
//!   the run cancelled if it still runs), or refused when none is
//!   configured — never a silent no-op.

use std::collections::BTreeMap;

use super::client::{Api, ApiError, Repo, Review};
use super::refusal::Asked;
use super::token::TokenKind;
use super::translate::Observed;
use crate::engine::policy::Refusal;
use crate::model::Action;
use crate::settings::RollbackWorkflow;

/// One thing to ask of GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    Review {
        environment: String,
        environment_id: u64,
        approve: bool,
        comment: String,
    },
    RerunFailed,
    Cancel,
    /// The rollback workflow, on `git_ref`; then the run is cancelled when
    /// it still runs.
    Dispatch {
        workflow: String,
        git_ref: String,
        inputs: BTreeMap<String, String>,
        cancel: bool,
    },
}

/// What was done, in words for the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub note: String,
}

/// What `action` asks of GitHub for the run as `seen`, or why it cannot.
/// `deployed`: something has gone out (`Release::deployed` of the run's
/// release), so a rollback is the rollback workflow; `abort` asks for the
/// run to be cancelled whatever went out.
pub fn order(
    action: &Action,
    seen: &Observed,
    deployed: bool,
    rollback: Option<&RollbackWorkflow>,
    token: TokenKind,
    abort: bool,
    (freezes, now): (&[crate::model::Freeze], jiff::Timestamp),
) -> Result<Order, Refusal> {
    let run = &seen.run;
    // Approving a deployment sends it out: not in a freeze.
    if let Action::Approve { .. } = action {
        crate::engine::policy::calendar(freezes, None, action, true, now)?;
    }
    match action {
        Action::Approve { gate, comment } => review(
            seen,
            gate.as_deref(),
            token,
            true,
            comment.clone().unwrap_or_default(),
        ),
        Action::Reject { gate, reason } => {
            review(seen, gate.as_deref(), token, false, reason.clone())
        }
        Action::Retry { .. } if !run.completed() => Err(Refusal::when(format!(
            "the run is still {}: GitHub re-runs failed jobs once a run has finished",
            words(run.status())
        ))),
        Action::Retry { .. } => match run.conclusion() {
            Some("success") => Err(Refusal::when(
                "every job of this run succeeded: there is nothing to re-run",
            )),
            _ => Ok(Order::RerunFailed),
        },
        Action::Rollback { .. } if abort => match run.completed() {
            true => Err(Refusal::when(
                "the run has finished: there is nothing to cancel",
            )),
            false => Ok(Order::Cancel),
        },
        Action::Rollback { .. } => roll_back(seen, deployed, rollback),
        other => Err(Refusal::when(format!(
            "a GitHub Actions run has no {}: it approves and rejects environments (s, x), re-runs failed jobs (r) and rolls back (R)",
            other.name()
        ))),
    }
}

/// A review of one waiting environment: the one named, or the only one.
fn review(
    seen: &Observed,
    gate: Option<&str>,
    token: TokenKind,
    approve: bool,
    comment: String,
) -> Result<Order, Refusal> {
    let verb = if approve { "approve" } else { "reject" };
    if token == TokenKind::Installation {
        return Err(Refusal::who(format!(
            "GitHub does not let a GitHub App installation token {verb} a deployment: review with a person's token (GH_TOKEN, a token_file, or gh auth login)"
        )));
    }
    let waiting: Vec<&str> = seen
        .pending
        .iter()
        .map(|p| p.environment.name.as_str())
        .collect();
    let pending = match gate {
        Some(name) => seen
            .pending
            .iter()
            .find(|p| p.environment.name.eq_ignore_ascii_case(name)),
        None if seen.pending.len() == 1 => seen.pending.first(),
        None if seen.pending.is_empty() => None,
        None => {
            return Err(Refusal::when(format!(
                "{} environments wait for a review; name one ({})",
                waiting.len(),
                waiting.join(", ")
            )));
        }
    };
    let Some(pending) = pending else {
        return Err(Refusal::when(match (gate, waiting.is_empty()) {
            (Some(name), false) => format!(
                "{name} does not wait for a review (waiting: {})",
                waiting.join(", ")
            ),
            (Some(name), true) => format!("{name} does not wait for a review; nothing does"),
            (None, _) => "no environment waits for a review now".into(),
        }));
    };
    let name = &pending.environment.name;
    if !pending.current_user_can_approve {
        let reviewers: Vec<String> = pending.reviewers.iter().map(|r| r.handle()).collect();
        return Err(Refusal::who(format!(
            "GitHub says you may not review {name} (reviewers: {})",
            if reviewers.is_empty() {
                "none listed".to_string()
            } else {
                reviewers.join(", ")
            }
        )));
    }
    Ok(Order::Review {
        environment: name.clone(),
        environment_id: pending.environment.id,
        approve,
        comment,
    })
}

/// Roll back: cancel a run that has deployed nothing yet; else the
/// rollback workflow, when there is one.
fn roll_back(
    seen: &Observed,
    deployed: bool,
    rollback: Option<&RollbackWorkflow>,
) -> Result<Order, Refusal> {
    let run = &seen.run;
    if !deployed {
        return match run.completed() {
            false => Ok(Order::Cancel),
            true => Err(Refusal::when(
                "the run has finished and deployed nothing: there is nothing to roll back",
            )),
        };
    }
    let Some(rollback) = rollback else {
        return Err(Refusal::when(
            "no rollback workflow is configured (backend.pipeline.rollback_workflow), and this run has deployed: cancelling it would not undo that. Configure one, or cancel the run with `shipdeck do abort`",
        ));
    };
    let git_ref = rollback
        .git_ref
        .clone()
        .or_else(|| run.head_branch.clone())
        .unwrap_or_else(|| run.head_sha.clone());
    Ok(Order::Dispatch {
        workflow: rollback.workflow.clone(),
        git_ref,
        inputs: rollback.inputs.clone(),
        cancel: !run.completed(),
    })
}

/// `in_progress` as words: `in progress`.
fn words(status: &str) -> String {
    status.replace('_', " ")
}

/// Sends `order` for run `run_id`; what was done, or GitHub's refusal as a
/// sentence.
pub async fn send(api: &Api, repo: &Repo, run_id: u64, order: &Order) -> Result<Sent, Refusal> {
    let refused = |err: ApiError, asked: Asked<'_>| refusal(api, &err, &asked, repo);
    match order {
        Order::Review {
            environment,
            environment_id,
            approve,
            comment,
        } => {
            let state = if *approve {
                Review::Approved
            } else {
                Review::Rejected
            };
            let environments = [environment.clone()];
            let asked = Asked::Review {
                environments: &environments,
                approve: *approve,
            };
            api.review(repo, run_id, &[*environment_id], state, comment)
                .await
                .map_err(|e| refused(e, asked))?;
            Ok(Sent {
                note: format!(
                    "{} {environment} on GitHub",
                    if *approve { "approved" } else { "rejected" }
                ),
            })
        }
        Order::RerunFailed => {
            api.rerun_failed(repo, run_id)
                .await
                .map_err(|e| refused(e, Asked::Rerun(run_id)))?;
            Ok(Sent {
                note: "GitHub re-runs the failed jobs (a new attempt)".into(),
            })
        }
        Order::Cancel => {
            api.cancel(repo, run_id)
                .await
                .map_err(|e| refused(e, Asked::Cancel(run_id)))?;
            Ok(Sent {
                note: "GitHub cancels the run".into(),
            })
        }
        Order::Dispatch {
            workflow,
            git_ref,
            inputs,
            cancel,
        } => {
            // The rollback first: a run cancelled with no rollback after it
            // would leave the deployment as it is.
            let started = api
                .dispatch(repo, workflow, git_ref, inputs)
                .await
                .map_err(|e| refused(e, Asked::Dispatch { workflow }))?;
            let mut note = match started {
                Some(id) => {
                    format!("the rollback workflow {workflow} runs on {git_ref} (run {id})")
                }
                None => format!("the rollback workflow {workflow} runs on {git_ref}"),
            };
            if *cancel {
                // A run that has finished meanwhile needs no cancel.
                match api.cancel(repo, run_id).await {
                    Ok(()) => note.push_str("; this run is cancelled"),
                    Err(ApiError::Conflict { .. }) => {}
                    Err(e) => {
                        let why = refusal(api, &e, &Asked::Cancel(run_id), repo).reason;
                        note.push_str(&format!("; this run could not be cancelled: {why}"));
                    }
                }
            }
            Ok(Sent { note })
        }
    }
}

/// GitHub's refusal as the engine's: who (401, 403) or when.
fn refusal(api: &Api, err: &ApiError, asked: &Asked<'_>, repo: &Repo) -> Refusal {
    let reason = super::refusal::of(api, err, asked, repo);
    match err {
        ApiError::Unauthorized { .. } | ApiError::Forbidden { .. } => Refusal::who(reason),
        _ => Refusal::when(reason),
    }
}
