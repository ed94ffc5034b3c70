//! Rules over metric windows: a condition that starts to hold breaches; one
//! that holds for its whole `for` duration fires; one that stops holding
//! clears (before it fired) or resolves (after).

use jiff::Timestamp;

use crate::model::{Cohort, Rule, Series};

/// What a new observation did to a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The condition started to hold: the hold time runs from now.
    Breaching,
    /// It stopped holding before the rule fired.
    Cleared,
    Fired,
    Resolved,
}

/// Tracks one rule across observations.
#[derive(Debug, Clone)]
pub struct RuleMonitor {
    pub rule: Rule,
    /// Since when the condition has held without a break.
    holding_since: Option<Timestamp>,
    firing: bool,
}

impl RuleMonitor {
    pub fn new(rule: Rule) -> RuleMonitor {
        RuleMonitor {
            rule,
            holding_since: None,
            firing: false,
        }
    }

    pub fn watches(&self, series: Series, cohort: Cohort) -> bool {
        self.rule.condition.series == series && self.rule.cohort == cohort
    }

    pub fn is_firing(&self) -> bool {
        self.firing
    }

    /// Feeds one observation; says whether the rule started or stopped
    /// breaching, fired or resolved. A rule whose hold is zero fires at
    /// once, without breaching first.
    pub fn observe(&mut self, value: f64, at: Timestamp) -> Option<Transition> {
        if self.rule.condition.holds(value) {
            let began = self.holding_since.is_none();
            let since = *self.holding_since.get_or_insert(at);
            if !self.firing && at.duration_since(since) >= self.rule.hold {
                self.firing = true;
                return Some(Transition::Fired);
            }
            began.then_some(Transition::Breaching)
        } else {
            let held = self.holding_since.take().is_some();
            if self.firing {
                self.firing = false;
                return Some(Transition::Resolved);
            }
            held.then_some(Transition::Cleared)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn error_rate_rule() -> RuleMonitor {
        RuleMonitor::new(Rule {
            name: "ErrorRateRollback".into(),
            condition: "error_rate > 10%".parse().unwrap(),
            hold: SignedDuration::from_mins(5),
            severity: crate::model::Severity::Critical,
            action: crate::model::RuleAction::Rollback,
            cohort: Cohort::Canary,
        })
    }

    #[test]
    fn a_breach_must_hold_for_the_whole_duration_before_firing() {
        let mut m = error_rate_rule();
        assert_eq!(m.observe(0.01, at(-15)), None, "quiet says nothing");
        assert_eq!(m.observe(0.14, at(0)), Some(Transition::Breaching));
        assert_eq!(m.observe(0.14, at(240)), None);
        assert_eq!(m.observe(0.14, at(300)), Some(Transition::Fired));
        assert_eq!(
            m.observe(0.15, at(315)),
            None,
            "fires once, not on every sample"
        );
        assert_eq!(m.observe(0.01, at(330)), Some(Transition::Resolved));
    }

    #[test]
    fn a_dip_below_the_threshold_restarts_the_clock() {
        let mut m = error_rate_rule();
        m.observe(0.14, at(0));
        assert_eq!(m.observe(0.02, at(200)), Some(Transition::Cleared));
        assert_eq!(m.observe(0.14, at(210)), Some(Transition::Breaching));
        assert_eq!(m.observe(0.14, at(450)), None);
        assert_eq!(m.observe(0.14, at(510)), Some(Transition::Fired));
    }

    #[test]
    fn a_rule_without_a_hold_fires_on_its_first_breach() {
        let mut m = error_rate_rule();
        m.rule.hold = SignedDuration::ZERO;
        assert_eq!(m.observe(0.14, at(0)), Some(Transition::Fired));
        assert_eq!(m.observe(0.01, at(15)), Some(Transition::Resolved));
    }
}
