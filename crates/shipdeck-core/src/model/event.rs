//! What happened to a release: one envelope, many kinds.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumDiscriminants, EnumIter, IntoStaticStr};

use super::checklist::Tick;
use super::command::Command;
use super::gate::{GatePlan, GateState, Rejection, SignOff};
use super::logs::Level;
use super::metrics::{Cohort, Series};
use super::names::{Person, Words};
use super::release::ReleasePlan;
use super::rule::Severity;
use super::stage::{StagePlan, StageState};

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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    RolledBack,
    Failed,
    Aborted,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The outcome for people: `rolled back`.
    pub fn words(self) -> Words {
        Words(self.name())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepState {
    Started,
    Completed,
    /// Passed over by a full promotion.
    Skipped,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AlertState {
    Firing,
    Acknowledged,
    Resolved,
}

impl AlertState {
    /// What the alert did, for people: `fired`.
    pub fn verb(self) -> &'static str {
        match self {
            AlertState::Firing => "fired",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }
}

/// A rule's condition before the rule fires: it has started to hold (the
/// rule is breaching, its hold time running from this event's time) or has
/// stopped holding. Firing and resolving are `alert` events.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RuleState {
    Breaching,
    Quiet,
}

/// What happened. The `type` on the wire is the variant's name; its
/// [`EventType`] names it without its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, EnumDiscriminants)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum_discriminants(
    name(EventType),
    derive(PartialOrd, Ord, Hash, EnumIter, IntoStaticStr, Display),
    strum(serialize_all = "snake_case")
)]
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
        by: Option<Person>,
    },
    /// A rule started or stopped breaching before it fired (see
    /// [`RuleState`]); `value` is the sample that said so.
    RuleChanged {
        rule: String,
        state: RuleState,
        value: f64,
    },
    /// The operator paused the rollout; timed steps stop counting.
    ReleasePaused {
        by: Person,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The rollout goes on; a timed step now ends at `until`.
    ReleaseResumed {
        by: Person,
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
        by: Person,
        reason: String,
    },
    /// The operator who rolled back gives (or replaces) the reason afterwards.
    RollbackReason {
        by: Person,
        reason: String,
    },
    RollbackFinished {},
    /// An operator stopped the release before anything reached production
    /// (they asked for a rollback before the rollout began): it ends
    /// aborted, and there is nothing to roll back.
    ReleaseStopped {
        by: Person,
        reason: String,
    },
    ReleaseFinished {
        outcome: Outcome,
    },
    /// The plan grows as the release goes: stages and gates its backend
    /// learns of only on the way (a workflow's jobs appear as they are made;
    /// an environment asks for a review when a job reaches it), and stages
    /// that now wait on one of its gates.
    PlanExtended {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        stages: Vec<StagePlan>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        gates: Vec<GatePlan>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        gated: Vec<GateOf>,
    },
}

/// A stage that waits on a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateOf {
    pub stage: String,
    pub gate: String,
}

impl EventKind {
    /// The `type` field, as written on the wire.
    pub fn name(&self) -> &'static str {
        EventType::from(self).into()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use strum::IntoEnumIterator;

    use super::*;
    use crate::model::Action;

    /// One event of every type.
    fn one_of_each() -> Vec<EventKind> {
        let scenario = crate::sim::bundled::get("happy-canary").unwrap();
        let plan = crate::sim::scenario::parse(scenario).unwrap().plan;
        let command = || Command::new("1", crate::model::names::person("dave"), Action::Advance);
        let text = String::new;
        vec![
            EventKind::ReleaseStarted {
                plan: Box::new(plan),
            },
            EventKind::StageChanged {
                stage: text(),
                state: StageState::Running,
                note: None,
            },
            EventKind::CanaryStep {
                step: 0,
                state: StepState::Started,
                weight: 5,
                until: None,
            },
            EventKind::GateChanged {
                gate: text(),
                state: GateState::Open,
                signoffs: vec![],
                rejection: None,
            },
            EventKind::ChecklistChanged {
                list: text(),
                item: text(),
                ticked: None,
            },
            EventKind::Log {
                level: Level::Info,
                source: text(),
                stage: None,
                message: text(),
            },
            EventKind::Metric {
                series: Series::ErrorRate,
                cohort: Cohort::Canary,
                value: 0.0,
            },
            EventKind::Alert {
                rule: text(),
                severity: Severity::Critical,
                state: AlertState::Firing,
                value: 0.0,
                message: text(),
                by: None,
            },
            EventKind::RuleChanged {
                rule: text(),
                state: RuleState::Breaching,
                value: 0.0,
            },
            EventKind::ReleasePaused {
                by: crate::model::names::person("dave"),
                reason: None,
            },
            EventKind::ReleaseResumed {
                by: crate::model::names::person("dave"),
                until: None,
            },
            EventKind::CommandAccepted {
                command: command(),
                note: None,
            },
            EventKind::CommandRejected {
                command: command(),
                reason: text(),
            },
            EventKind::RollbackStarted {
                by: crate::model::names::person("dave"),
                reason: text(),
            },
            EventKind::RollbackReason {
                by: crate::model::names::person("dave"),
                reason: text(),
            },
            EventKind::RollbackFinished {},
            EventKind::ReleaseStopped {
                by: crate::model::names::person("dave"),
                reason: text(),
            },
            EventKind::ReleaseFinished {
                outcome: Outcome::RolledBack,
            },
            EventKind::PlanExtended {
                stages: vec![],
                gates: vec![],
                gated: vec![],
            },
        ]
    }

    #[test]
    fn every_event_type_is_named_as_serde_writes_it() {
        let samples = one_of_each();
        let covered: BTreeSet<EventType> = samples.iter().map(EventType::from).collect();
        assert_eq!(
            covered,
            EventType::iter().collect(),
            "a sample of each type"
        );
        for kind in samples {
            let wire = serde_json::to_value(&kind).unwrap();
            assert_eq!(wire["type"], kind.name());
            assert_eq!(EventType::from(&kind).to_string(), kind.name());
        }
    }

    #[test]
    fn outcomes_read_as_words_for_people() {
        assert_eq!(Outcome::RolledBack.name(), "rolled_back");
        assert_eq!(Outcome::RolledBack.words().to_string(), "rolled back");
        assert_eq!(AlertState::Acknowledged.verb(), "acknowledged");
    }
}
