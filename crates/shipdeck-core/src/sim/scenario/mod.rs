//! Scenario files: a release plan plus the script the simulator plays —
//! stage durations, metric profiles, incidents and scripted actors.
//!
//! Parsing keeps the source position of every value a later check may
//! complain about, so a problem is reported as `path:line:col: what`.

use std::collections::BTreeMap;

use jiff::SignedDuration;

use crate::model::{Cohort, Person, ReleasePlan, Series};
use crate::problem::Checker;
pub use crate::problem::Problem;

mod convert;
mod raw;

pub(crate) use convert::convert_rules;
pub use raw::RawRule;

/// When something scripted happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// This long after the release starts.
    Elapsed(SignedDuration),
    /// This long after a stage starts (the first time).
    Stage {
        stage: String,
        after: SignedDuration,
    },
    /// This long after a rollout step starts (0-based).
    Step { step: usize, after: SignedDuration },
}

/// How one stage's work plays out.
#[derive(Debug, Clone, PartialEq)]
pub struct StageScript {
    pub duration: SignedDuration,
    pub fails: Option<String>,
}

/// The shape of the service's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricProfile {
    pub interval: SignedDuration,
    /// Requests per second, both versions together.
    pub throughput: f64,
    /// Relative noise: 0.05 is ±5 %.
    pub noise: f64,
    pub stable: BTreeMap<Series, f64>,
    pub canary: BTreeMap<Series, f64>,
}

/// A change in one series of one cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub name: String,
    pub when: Trigger,
    pub cohort: Cohort,
    pub series: Series,
    pub to: f64,
    pub ramp: SignedDuration,
    pub logs: Vec<String>,
}

/// What a scripted actor does.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub name: Person,
    pub when: Trigger,
    pub action: crate::model::Action,
}

/// What the simulator plays, beside the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub stages: BTreeMap<String, StageScript>,
    pub metrics: MetricProfile,
    pub incidents: Vec<Incident>,
    pub actors: Vec<Actor>,
    pub rollback_duration: SignedDuration,
}

/// A parsed, checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub plan: ReleasePlan,
    pub script: Script,
    /// Whether the file names its own rules (else the runbook's apply, and a
    /// config's rules may replace them).
    pub own_rules: bool,
}

pub use crate::model::names::AT_THE_KEYS;

impl Scenario {
    /// Seats the person at the keys. `$operator` among a gate's approvers
    /// becomes their name; a scripted person of the same name stands aside,
    /// since the real one is at the keys and acts for themselves. Gives the
    /// names of those who stood aside.
    pub fn seat(&mut self, operator: &Person) -> Vec<Person> {
        let at_the_keys = Person::own(AT_THE_KEYS);
        for gate in &mut self.plan.gates {
            if let crate::model::Approvers::Named(names) = &mut gate.approvers
                && let Some(at) = names.iter().position(|n| *n == at_the_keys)
            {
                names.remove(at);
                if !names.contains(operator) {
                    names.insert(at, operator.clone());
                }
            }
        }
        let mut aside: Vec<Person> = Vec::new();
        self.script.actors.retain(|actor| {
            let seated = actor.name == *operator;
            if seated && !aside.contains(&actor.name) {
                aside.push(actor.name.clone());
            }
            !seated
        });
        aside
    }
}

/// Parses and checks a scenario file's text.
pub fn parse(text: &str) -> Result<Scenario, Vec<Problem>> {
    let raw: raw::RawScenario = crate::problem::read(text).map_err(|unread| {
        unread.checked(|raw, checker| {
            convert::convert(raw, checker);
        })
    })?;
    let mut checker = Checker::default();
    let scenario = convert::convert(raw, &mut checker);
    checker.finish(scenario)
}
