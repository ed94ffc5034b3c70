//! What an operator asks of a release.

use serde::{Deserialize, Serialize};

/// A command: a client-chosen id (the same id twice is applied once), who
/// gives it, and what it asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub id: String,
    pub operator: String,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Finish the pause the rollout is holding at and go on.
    Advance,
    /// Skip the remaining steps and send all traffic to the new version.
    PromoteFull,
    Pause {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Resume,
    /// Sign off a gate (the only open one when `gate` is absent).
    Approve {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    Reject {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        reason: String,
    },
    Rollback {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Check {
        list: String,
        item: String,
    },
    Uncheck {
        list: String,
        item: String,
    },
    /// Run a failed stage again.
    Retry {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
    },
    /// Acknowledge a firing alert.
    Ack {
        rule: String,
    },
}

impl Action {
    /// The command's name as an operator types it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Advance => "advance",
            Action::PromoteFull => "promote_full",
            Action::Pause { .. } => "pause",
            Action::Resume => "resume",
            Action::Approve { .. } => "approve",
            Action::Reject { .. } => "reject",
            Action::Rollback { .. } => "rollback",
            Action::Check { .. } => "check",
            Action::Uncheck { .. } => "uncheck",
            Action::Retry { .. } => "retry",
            Action::Ack { .. } => "ack",
        }
    }
}

impl Command {
    pub fn new(id: impl Into<String>, operator: impl Into<String>, action: Action) -> Command {
        Command {
            id: id.into(),
            operator: operator.into(),
            action,
        }
    }
}
