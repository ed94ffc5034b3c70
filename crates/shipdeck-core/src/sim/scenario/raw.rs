//! The scenario file as written: serde types that keep the position of every
//! value a later check may complain about.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use crate::model::{Colour, RuleAction, Severity, StageKind};

pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub(crate) release: RawRelease,
    #[serde(default)]
    pub(crate) window: Option<RawWindow>,
    pub(crate) strategy: RawStrategy,
    pub(crate) stages: Vec<RawStage>,
    #[serde(default)]
    pub(crate) gates: Vec<RawGate>,
    #[serde(default)]
    pub(crate) checklists: Vec<RawChecklist>,
    #[serde(default)]
    pub(crate) rollback: Option<RawRollback>,
    #[serde(default)]
    pub(crate) rules: Option<Vec<RawRule>>,
    #[serde(default)]
    pub(crate) metrics: Option<RawMetrics>,
    #[serde(default)]
    pub(crate) incidents: Vec<RawIncident>,
    #[serde(default)]
    pub(crate) actors: Vec<RawActor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRelease {
    #[serde(default)]
    pub(crate) id: Option<String>,
    pub(crate) service: String,
    pub(crate) from: String,
    pub(crate) to: String,
    #[serde(default = "default_environment")]
    pub(crate) environment: String,
    pub(crate) deployer: S<String>,
}

pub(crate) fn default_environment() -> String {
    "production".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub(crate) start: S<String>,
    pub(crate) length: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) enum RawStrategy {
    Canary {
        steps: Vec<RawStep>,
    },
    BlueGreen {
        #[serde(default = "default_active")]
        active: Colour,
        preview_analysis: S<String>,
        keep_previous: S<String>,
    },
    Rolling {
        batches: Vec<S<i64>>,
        health_check: S<String>,
    },
    FeatureFlag {
        flag: String,
        ramps: Vec<S<i64>>,
        #[serde(default)]
        pause: Option<S<String>>,
    },
}

pub(crate) fn default_active() -> Colour {
    Colour::Blue
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) enum RawStep {
    SetWeight(S<i64>),
    /// A duration, or `until advanced`.
    Pause(S<String>),
    Analysis(S<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStage {
    pub(crate) id: S<String>,
    pub(crate) kind: StageKind,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) duration: Option<S<String>>,
    #[serde(default)]
    pub(crate) gate: Option<S<String>>,
    #[serde(default)]
    pub(crate) checklist: Option<S<String>>,
    /// The first attempt fails with this message (an operator retries).
    #[serde(default)]
    pub(crate) fails: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGate {
    pub(crate) id: S<String>,
    pub(crate) name: String,
    #[serde(default = "one")]
    pub(crate) required: S<u32>,
    pub(crate) approvers: S<RawApprovers>,
    #[serde(default)]
    pub(crate) self_approval: bool,
}

pub(crate) fn one() -> S<u32> {
    Spanned::new(1, Location::UNKNOWN, Location::UNKNOWN)
}

/// `any`, or a list of names.
#[derive(Debug)]
pub(crate) enum RawApprovers {
    Word(String),
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for RawApprovers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RawApprovers, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawApprovers;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`any` or a list of names, like [dave, erin]")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawApprovers, E> {
                Ok(RawApprovers::Word(v.to_string()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawApprovers, A::Error> {
                let mut names = Vec::new();
                // Each element read as text, so a name like `y` or `no` stays a name.
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(RawApprovers::Names(names))
            }
        }

        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChecklist {
    pub(crate) id: S<String>,
    pub(crate) name: String,
    pub(crate) items: Vec<RawItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawItem {
    #[serde(default)]
    pub(crate) id: Option<S<String>>,
    pub(crate) text: S<String>,
    #[serde(default)]
    pub(crate) automatic: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRollback {
    pub(crate) duration: S<String>,
    #[serde(default)]
    pub(crate) checklist: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub(crate) name: S<String>,
    pub(crate) condition: S<String>,
    #[serde(rename = "for")]
    pub(crate) hold: S<String>,
    #[serde(default = "default_severity")]
    pub(crate) severity: Severity,
    #[serde(default)]
    pub(crate) action: RuleAction,
    #[serde(default)]
    pub(crate) cohort: Option<S<String>>,
}

pub(crate) fn default_severity() -> Severity {
    Severity::Warning
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    #[serde(default)]
    pub(crate) interval: Option<S<String>>,
    #[serde(default)]
    pub(crate) throughput: Option<S<f64>>,
    #[serde(default)]
    pub(crate) noise: Option<S<String>>,
    #[serde(default)]
    pub(crate) baseline: BTreeMap<String, S<String>>,
    #[serde(default)]
    pub(crate) canary: BTreeMap<String, S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIncident {
    pub(crate) name: String,
    pub(crate) when: RawWhen,
    #[serde(default)]
    pub(crate) cohort: Option<S<String>>,
    pub(crate) series: S<String>,
    pub(crate) to: S<String>,
    #[serde(default)]
    pub(crate) ramp: Option<S<String>>,
    #[serde(default)]
    pub(crate) logs: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWhen {
    #[serde(default)]
    pub(crate) at: Option<S<String>>,
    #[serde(default)]
    pub(crate) stage: Option<S<String>>,
    #[serde(default)]
    pub(crate) step: Option<S<i64>>,
    #[serde(default)]
    pub(crate) after: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(crate) enum ActorDo {
    Approve,
    Reject,
    Advance,
    PromoteFull,
    Pause,
    Resume,
    Rollback,
    Check,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActor {
    pub(crate) name: S<String>,
    pub(crate) when: RawWhen,
    #[serde(rename = "do")]
    pub(crate) action: S<ActorDo>,
    #[serde(default)]
    pub(crate) gate: Option<S<String>>,
    #[serde(default)]
    pub(crate) comment: Option<String>,
    #[serde(default)]
    pub(crate) list: Option<S<String>>,
    #[serde(default)]
    pub(crate) item: Option<S<String>>,
}
