//! What happened to a release: one envelope, many kinds.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::checklist::Tick;
use super::command::Command;
use super::gate::{GateState, Rejection, SignOff};
use super::logs::Level;
use super::metrics::{Cohort, Series};
use super::release::ReleasePlan;
use super::rule::Severity;
use super::stage::StageState;

/// `{ "seq": 7, "at": "...", "release": "...", "type": "...", ... }`.
/// `seq` rises by one per release, starting at 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u64,
    pub at: Timestamp,
    pub release: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How a release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    RolledBack,
    Failed,
    Aborted,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RolledBack => "rolled_back",
            Outcome::Failed => "failed",
            Outcome::Aborted => "aborted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Started,
    Completed,
    /// Passed over by a full promotion.
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Acknowledged,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The whole plan: stages, steps, gates, checklists, rules, window.
    ReleaseStarted {
        plan: Box<ReleasePlan>,
    },
    StageChanged {
        stage: String,
        state: StageState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A rollout step (of any strategy) started, completed or was skipped.
    /// `step` counts from 0; `weight` is the new version's traffic after it.
    CanaryStep {
        step: usize,
        state: StepState,
        weight: u8,
        /// When a timed step ends by itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
    },
    /// The gate as it now stands.
    GateChanged {
        gate: String,
        state: GateState,
        signoffs: Vec<SignOff>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rejection: Option<Rejection>,
    },
    ChecklistChanged {
        list: String,
        item: String,
        /// Who ticked it and when; absent when it was unticked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticked: Option<Tick>,
    },
    Log {
        level: Level,
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        message: String,
    },
    Metric {
        series: Series,
        cohort: Cohort,
        value: f64,
    },
    Alert {
        rule: String,
        severity: Severity,
        state: AlertState,
        /// The value that made the rule fire or resolve.
        value: f64,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The operator paused the rollout; timed steps stop counting.
    ReleasePaused {
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The rollout goes on; a timed step now ends at `until`.
    ReleaseResumed {
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
    },
    CommandAccepted {
        command: Command,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    CommandRejected {
        command: Command,
        reason: String,
    },
    /// `by` is an operator, or `rule:NAME` for an automatic rollback.
    RollbackStarted {
        by: String,
        reason: String,
    },
    /// The operator who rolled back gives (or replaces) the reason afterwards.
    RollbackReason {
        by: String,
        reason: String,
    },
    RollbackFinished {},
    ReleaseFinished {
        outcome: Outcome,
    },
}

impl EventKind {
    /// The `type` field, as written on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ReleaseStarted { .. } => "release_started",
            EventKind::StageChanged { .. } => "stage_changed",
            EventKind::CanaryStep { .. } => "canary_step",
            EventKind::GateChanged { .. } => "gate_changed",
            EventKind::ChecklistChanged { .. } => "checklist_changed",
            EventKind::Log { .. } => "log",
            EventKind::Metric { .. } => "metric",
            EventKind::Alert { .. } => "alert",
            EventKind::ReleasePaused { .. } => "release_paused",
            EventKind::ReleaseResumed { .. } => "release_resumed",
            EventKind::CommandAccepted { .. } => "command_accepted",
            EventKind::CommandRejected { .. } => "command_rejected",
            EventKind::RollbackStarted { .. } => "rollback_started",
            EventKind::RollbackReason { .. } => "rollback_reason",
            EventKind::RollbackFinished {} => "rollback_finished",
            EventKind::ReleaseFinished { .. } => "release_finished",
        }
    }
}
