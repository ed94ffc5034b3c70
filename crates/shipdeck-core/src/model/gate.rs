//! Approval gates: who must sign, who may, and who did.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, IntoStaticStr};

use super::names::Person;

/// Who may sign a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Approvers {
    /// `any`: anyone (except the deployer where self-approval is forbidden).
    Any(AnyMarker),
    /// A list of named operators.
    Named(Vec<Person>),
}

/// The literal `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyMarker {
    Any,
}

impl Approvers {
    pub fn any() -> Approvers {
        Approvers::Any(AnyMarker::Any)
    }

    pub fn includes(&self, operator: &Person) -> bool {
        match self {
            Approvers::Any(_) => true,
            Approvers::Named(names) => names.contains(operator),
        }
    }
}

/// A gate as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatePlan {
    pub id: String,
    pub name: String,
    /// Distinct sign-offs needed.
    pub required: u32,
    pub approvers: Approvers,
    /// Whether the person who deployed the release may sign it.
    pub self_approval: bool,
}

impl GatePlan {
    /// The people on the list who may actually sign (not counting `any`),
    /// each once.
    pub fn eligible_named(&self, deployer: &Person) -> Option<Vec<&Person>> {
        match &self.approvers {
            Approvers::Any(_) => None,
            Approvers::Named(names) => {
                let mut eligible: Vec<&Person> = Vec::new();
                for name in names {
                    if (self.self_approval || name != deployer) && !eligible.contains(&name) {
                        eligible.push(name);
                    }
                }
                Some(eligible)
            }
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum GateState {
    /// Its stage has not started yet.
    Pending,
    /// Waiting for sign-offs.
    Open,
    Approved,
    Rejected,
}

/// The most sign-offs a gate may need: more is no gate a window could get
/// signed (and the autopilot would sign as that many reviewers).
pub const MAX_SIGNOFFS: u32 = 20;

/// One person's sign-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOff {
    pub operator: Person,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Who rejected a gate, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub operator: Person,
    pub at: Timestamp,
    pub reason: String,
}

/// A gate with its sign-offs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    #[serde(flatten)]
    pub plan: GatePlan,
    pub state: GateState,
    pub signoffs: Vec<SignOff>,
    pub rejection: Option<Rejection>,
    /// The seq of the event that last changed it (0: none has).
    #[serde(default)]
    pub changed_seq: u64,
    /// When it last opened for sign-offs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<Timestamp>,
}

impl Gate {
    pub fn new(plan: GatePlan) -> Gate {
        Gate {
            plan,
            state: GateState::Pending,
            signoffs: Vec::new(),
            rejection: None,
            changed_seq: 0,
            opened_at: None,
        }
    }

    pub fn signed_by(&self, operator: &Person) -> bool {
        self.signoffs.iter().any(|s| s.operator == *operator)
    }

    /// Sign-offs still needed.
    pub fn outstanding(&self) -> u32 {
        self.plan
            .required
            .saturating_sub(self.signoffs.len() as u32)
    }
}
