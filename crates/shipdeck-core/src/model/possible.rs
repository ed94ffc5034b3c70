//! Events that read but cannot be: a weight above 100 %, step 251 of a
//! plan of 7, a gate the plan does not have, a time out of the range a
//! release carries. What shipdeck did not make itself (a server's stream, a
//! journal) is checked with [`Event::impossible`] where it enters, and an
//! impossible event is refused there, visibly, rather than folded and drawn.

use jiff::Timestamp;

use super::event::{Event, EventKind};
use super::metrics::Series;
use super::release::ReleasePlan;
use super::strategy::{StepKind, Strategy};
use super::time;

impl Event {
    /// Why this event cannot be, in a release of `plan` (when the plan is
    /// known: its `release_started` came first), if it cannot.
    pub fn impossible(&self, plan: Option<&ReleasePlan>) -> Option<String> {
        let why = self.impossible_alone().or_else(|| match plan {
            Some(plan) => self.impossible_in(plan),
            None => self.before_the_plan(),
        })?;
        Some(format!(
            "the {} event at seq {} {why}",
            self.kind.name(),
            self.seq
        ))
    }

    /// What is wrong with the event whatever the plan.
    fn impossible_alone(&self) -> Option<String> {
        if self.seq == 0 {
            return Some("has seq 0: seqs count from 1".into());
        }
        if let Some(why) = out_of_range("is at", self.at) {
            return Some(why);
        }
        match &self.kind {
            EventKind::ReleaseStarted { .. } if self.seq != 1 => {
                Some("comes after seq 1: a release starts once, first".into())
            }
            EventKind::ReleaseStarted { plan } => plan.impossible(),
            // A step's end (`until`) is only compared and shown: it may lie
            // beyond what the clock will reach.
            EventKind::CanaryStep { weight, .. } if *weight > 100 => {
                Some(format!("gives the new version {weight}% of traffic"))
            }
            EventKind::GateChanged {
                signoffs,
                rejection,
                ..
            } => signoffs
                .iter()
                .map(|s| s.at)
                .chain(rejection.as_ref().map(|r| r.at))
                .find_map(|t| out_of_range("has a sign-off at", t)),
            EventKind::ChecklistChanged { ticked, .. } => ticked
                .as_ref()
                .and_then(|t| out_of_range("has an item ticked at", t.at)),
            EventKind::Metric { value, .. }
            | EventKind::Alert { value, .. }
            | EventKind::RuleChanged { value, .. }
                if !value.is_finite() =>
            {
                Some(format!("has the value {value}"))
            }
            EventKind::Metric { series, value, .. } => impossible_value(*series, *value),
            _ => None,
        }
    }

    /// What cannot come before the release started: anything about its
    /// stages, steps, gates and checklists.
    fn before_the_plan(&self) -> Option<String> {
        matches!(
            self.kind,
            EventKind::CanaryStep { .. }
                | EventKind::StageChanged { .. }
                | EventKind::GateChanged { .. }
                | EventKind::ChecklistChanged { .. }
                | EventKind::PlanExtended { .. }
        )
        .then(|| "comes before the release started (its plan is not known)".into())
    }

    /// What the plan says cannot be: a step, stage, gate or checklist item
    /// it does not have.
    fn impossible_in(&self, plan: &ReleasePlan) -> Option<String> {
        match &self.kind {
            EventKind::Alert { rule, .. } | EventKind::RuleChanged { rule, .. }
                if !plan.rules.iter().any(|r| &r.name == rule) =>
            {
                Some(format!("is about a rule \"{rule}\" the plan does not have"))
            }
            EventKind::CanaryStep { step, .. } if *step >= plan.steps.len() => Some(format!(
                "is about step {} of a rollout of {}",
                step.saturating_add(1),
                plan.steps.len()
            )),
            EventKind::StageChanged { stage, .. }
                if !plan.stages.iter().any(|s| &s.id == stage) =>
            {
                Some(format!(
                    "is about a stage \"{stage}\" the plan does not have"
                ))
            }
            EventKind::GateChanged { gate, .. } if !plan.gates.iter().any(|g| &g.id == gate) => {
                Some(format!("is about a gate \"{gate}\" the plan does not have"))
            }
            EventKind::PlanExtended {
                stages,
                gates,
                gated,
            } => extension_impossible(plan, stages, gates, gated),
            EventKind::ChecklistChanged { list, item, .. }
                if !plan
                    .checklists
                    .iter()
                    .any(|l| &l.id == list && l.items.iter().any(|i| &i.id == item)) =>
            {
                Some(format!(
                    "is about an item \"{item}\" of checklist \"{list}\" the plan does not have"
                ))
            }
            _ => None,
        }
    }
}

/// Why a plan cannot grow so: a stage or gate it has already, or a stage
/// made to wait on a gate that neither it nor the extension has.
fn extension_impossible(
    plan: &ReleasePlan,
    stages: &[super::stage::StagePlan],
    gates: &[super::gate::GatePlan],
    gated: &[super::event::GateOf],
) -> Option<String> {
    if let Some(s) = stages
        .iter()
        .find(|s| plan.stages.iter().any(|p| p.id == s.id))
    {
        return Some(format!("adds a stage \"{}\" the plan has already", s.id));
    }
    if let Some(g) = gates
        .iter()
        .find(|g| plan.gates.iter().any(|p| p.id == g.id))
    {
        return Some(format!("adds a gate \"{}\" the plan has already", g.id));
    }
    let has_stage = |id: &str| plan.stages.iter().chain(stages).any(|s| s.id == id);
    let has_gate = |id: &str| plan.gates.iter().chain(gates).any(|g| g.id == id);
    gated.iter().find_map(|g| {
        (!has_stage(&g.stage) || !has_gate(&g.gate)).then(|| {
            format!(
                "makes stage \"{}\" wait on gate \"{}\", which the plan does not have",
                g.stage, g.gate
            )
        })
    })
}

impl ReleasePlan {
    /// Why no release could follow this plan, if none could.
    fn impossible(&self) -> Option<String> {
        if let Some(window) = &self.window
            && !(time::is_carried(window.start) && time::is_carried(window.end()))
        {
            return Some(format!(
                "has a window from {} to {}, out of the range shipdeck keeps ({})",
                window.start,
                window.end(),
                time::range()
            ));
        }
        let weights = self.steps.iter().filter_map(|s| match s.kind {
            StepKind::SetWeight { weight } => Some(weight),
            _ => None,
        });
        let shares: Vec<u8> = match &self.strategy {
            Strategy::Rolling { batches, .. } => batches.clone(),
            Strategy::FeatureFlag { ramps, .. } => ramps.clone(),
            _ => Vec::new(),
        };
        // A gate's sign-offs and a rule's threshold are checked where a
        // file is (`check`, a scenario's reading), not here: an older
        // shipdeck let more through, and its journals still read.
        weights
            .chain(shares)
            .find(|w| *w > 100)
            .map(|weight| format!("plans to give the new version {weight}% of traffic"))
    }
}

/// Why no service could measure `value` for `series`, if none could: a
/// negative rate, share or latency, or a rate or share past a hundred times
/// its range. A value a little over 100 % is let through: sources round.
fn impossible_value(series: Series, value: f64) -> Option<String> {
    let rate = matches!(series, Series::ErrorRate | Series::Availability);
    (value < 0.0 || (rate && value > 10_000.0))
        .then(|| format!("measures {series} as {value}, which no service can"))
}

/// Why a release cannot carry `at`, if it cannot: the event `what` it.
fn out_of_range(what: &str, at: Timestamp) -> Option<String> {
    (!time::is_carried(at)).then(|| {
        format!(
            "{what} {at}, out of the range shipdeck keeps ({})",
            time::range()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{StepState, Window};

    fn plan() -> ReleasePlan {
        let text = crate::sim::bundled::get("happy-canary").unwrap();
        crate::sim::scenario::parse(text).unwrap().plan
    }

    fn event(seq: u64, kind: EventKind) -> Event {
        Event {
            seq,
            at: "2026-11-24T14:00:00Z".parse().unwrap(),
            release: "r".into(),
            kind,
        }
    }

    fn step(step: usize, weight: u8) -> EventKind {
        EventKind::CanaryStep {
            step,
            state: StepState::Started,
            weight,
            until: None,
        }
    }

    #[test]
    fn a_weight_above_all_traffic_or_a_step_beyond_the_plan_cannot_be() {
        let plan = plan();
        assert_eq!(event(3, step(1, 25)).impossible(Some(&plan)), None);
        assert_eq!(
            event(3, step(1, 255)).impossible(None).unwrap(),
            "the canary_step event at seq 3 gives the new version 255% of traffic"
        );
        assert_eq!(
            event(3, step(usize::MAX, 25)).impossible(None).unwrap(),
            "the canary_step event at seq 3 comes before the release started (its plan is not known)"
        );
        assert_eq!(
            event(4, step(250, 50)).impossible(Some(&plan)).unwrap(),
            format!(
                "the canary_step event at seq 4 is about step 251 of a rollout of {}",
                plan.steps.len()
            )
        );
        let gate = EventKind::GateChanged {
            gate: "nowhere".into(),
            state: crate::model::GateState::Open,
            signoffs: vec![],
            rejection: None,
        };
        assert!(
            event(5, gate)
                .impossible(Some(&plan))
                .unwrap()
                .contains("a gate \"nowhere\" the plan does not have")
        );
    }

    #[test]
    fn an_unmeasurable_value_a_second_start_or_an_unknown_rule_cannot_be() {
        let plan = plan();
        let metric = |series, value| EventKind::Metric {
            series,
            cohort: crate::model::Cohort::Canary,
            value,
        };
        let refused = |kind| event(6, kind).impossible(Some(&plan));
        assert_eq!(refused(metric(Series::Availability, 100.4)), None);
        assert_eq!(refused(metric(Series::LatencyP99, 1e9)), None);
        for (series, value) in [(Series::Availability, -5.0), (Series::ErrorRate, 1e308)] {
            assert!(
                refused(metric(series, value))
                    .unwrap()
                    .contains("which no service can"),
                "{series} {value}"
            );
        }
        let again = EventKind::ReleaseStarted {
            plan: Box::new(plan.clone()),
        };
        assert!(refused(again).unwrap().contains("a release starts once"));
        assert_eq!(
            event(
                1,
                EventKind::ReleaseStarted {
                    plan: Box::new(plan.clone())
                }
            )
            .impossible(Some(&plan)),
            None
        );
        let rule = EventKind::RuleChanged {
            rule: "nowhere".into(),
            state: crate::model::RuleState::Breaching,
            value: 1.0,
        };
        assert!(
            refused(rule)
                .unwrap()
                .contains("a rule \"nowhere\" the plan does not have")
        );
    }

    #[test]
    fn a_time_beyond_what_a_release_carries_cannot_be() {
        let mut late = event(1, step(0, 5));
        late.at = "9999-12-30T22:00:00Z".parse().unwrap();
        assert_eq!(
            late.impossible(None).unwrap(),
            "the canary_step event at seq 1 is at 9999-12-30T22:00:00Z, out of the range shipdeck keeps (1970-01-01 to 9000-01-01)"
        );
        let mut plan = plan();
        plan.window = Some(Window {
            start: "8999-12-31T23:00:00Z".parse().unwrap(),
            length: jiff::SignedDuration::from_hours(2),
        });
        let started = event(
            1,
            EventKind::ReleaseStarted {
                plan: Box::new(plan),
            },
        );
        assert!(started.impossible(None).unwrap().contains(
            "has a window from 8999-12-31T23:00:00Z to 9000-01-01T01:00:00Z, out of the range"
        ));
    }
}
