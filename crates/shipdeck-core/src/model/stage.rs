//! Pipeline stages: what each is, and where it stands.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, IntoStaticStr};

use super::units::duration_serde;

/// What kind of work a stage is. The kind decides who finishes the stage's
/// work: the backend (build, test, deploy, validation, verification,
/// monitoring) or the engine (approval has no work; rollout walks its steps).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StageKind {
    Build,
    Test,
    Deploy,
    Validation,
    Approval,
    Rollout,
    Verification,
    Monitoring,
}

impl StageKind {
    /// Whether the backend reports when this stage's work is done.
    pub fn has_backend_work(self) -> bool {
        !matches!(self, StageKind::Approval | StageKind::Rollout)
    }

    /// Whether a failure here can be retried by an operator.
    pub fn retryable(self) -> bool {
        !matches!(self, StageKind::Approval | StageKind::Rollout)
    }
}

/// A stage as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StagePlan {
    pub id: String,
    pub name: String,
    pub kind: StageKind,
    /// How long the stage usually takes, for "elapsed / expected".
    #[serde(
        with = "duration_serde::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expected: Option<SignedDuration>,
    /// The gate that must be approved before the stage completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// The checklist that must be complete before the stage completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checklist: Option<String>,
}

/// Where a stage stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StageState {
    Pending,
    /// Its work is under way.
    Running,
    /// Its work is done; it waits for its gate or checklist.
    Waiting,
    Succeeded,
    Failed,
    /// Stopped part-way by a rollback or rejection.
    Cancelled,
    /// Never started, because the release ended first.
    Skipped,
}

impl StageState {
    /// Running or waiting: the stage the release is on.
    pub fn is_active(self) -> bool {
        matches!(self, StageState::Running | StageState::Waiting)
    }

    pub fn is_done(self) -> bool {
        matches!(
            self,
            StageState::Succeeded
                | StageState::Failed
                | StageState::Cancelled
                | StageState::Skipped
        )
    }
}

/// A stage with its state and timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    #[serde(flatten)]
    pub plan: StagePlan,
    pub state: StageState,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// Why the stage failed, was cancelled, or waits.
    pub note: Option<String>,
    /// Since when it has stood in its present state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
}

impl Stage {
    pub fn new(plan: StagePlan) -> Stage {
        Stage {
            plan,
            state: StageState::Pending,
            started_at: None,
            finished_at: None,
            note: None,
            since: None,
        }
    }

    /// Time spent in the stage so far (or in all, once finished).
    pub fn elapsed(&self, now: Timestamp) -> Option<SignedDuration> {
        let start = self.started_at?;
        Some(self.finished_at.unwrap_or(now).duration_since(start))
    }
}
