//! Rollout strategies and the steps they expand to.
//!
//! Every strategy, however it is written, becomes one list of [`Step`]s that
//! the engine walks: set a weight, show a preview, pause, or run an analysis.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, IntoStaticStr};

use super::units::{duration_serde, format_duration};

/// The two colours of a blue-green deployment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Colour {
    Blue,
    Green,
}

impl Colour {
    pub fn other(self) -> Colour {
        match self {
            Colour::Blue => Colour::Green,
            Colour::Green => Colour::Blue,
        }
    }

    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How the new version reaches production traffic. Its short name for
/// people (`canary`, `blue-green`) is declared with each variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoStaticStr)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[strum(serialize_all = "lowercase")]
pub enum Strategy {
    /// Shift a growing share of traffic to the new version, pausing between.
    Canary { steps: Vec<Step> },
    /// Bring the new colour up beside the live one, verify it, switch, and keep
    /// the previous colour running for an instant rollback.
    #[strum(serialize = "blue-green")]
    BlueGreen {
        /// The colour serving production now (the previous version).
        active: Colour,
        /// Automatic checks against the preview before anyone may switch.
        #[serde(with = "duration_serde")]
        preview_analysis: SignedDuration,
        /// How long the previous colour is kept after the switch.
        #[serde(with = "duration_serde")]
        keep_previous: SignedDuration,
    },
    /// Replace instances in batches, health-checking each batch.
    Rolling {
        /// Cumulative share of instances updated after each batch, in percent.
        batches: Vec<u8>,
        #[serde(with = "duration_serde")]
        health_check: SignedDuration,
    },
    /// Deploy dark, then ramp a feature flag through percentages of users.
    #[strum(serialize = "feature flag")]
    FeatureFlag {
        flag: String,
        ramps: Vec<u8>,
        #[serde(with = "duration_serde::option", default)]
        pause: Option<SignedDuration>,
    },
}

impl Strategy {
    /// The short name an operator sees in the header.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// The steps the engine walks for this strategy.
    pub fn steps(&self) -> Vec<Step> {
        match self {
            Strategy::Canary { steps } => steps.clone(),
            Strategy::BlueGreen {
                active,
                preview_analysis,
                keep_previous,
            } => {
                let new = active.other();
                vec![
                    Step::labelled(StepKind::Preview, format!("{} up as preview", new.name())),
                    Step::labelled(
                        StepKind::Analysis {
                            duration: *preview_analysis,
                        },
                        "smoke tests on preview".into(),
                    ),
                    Step::labelled(
                        StepKind::Pause { duration: None },
                        "verify preview, then switch".into(),
                    ),
                    Step::labelled(
                        StepKind::SetWeight { weight: 100 },
                        format!("switch {} → {}", active.name(), new.name()),
                    ),
                    Step::labelled(
                        StepKind::Pause {
                            duration: Some(*keep_previous),
                        },
                        format!("keep {} for instant rollback", active.name()),
                    ),
                ]
            }
            Strategy::Rolling {
                batches,
                health_check,
            } => {
                let n = batches.len();
                batches
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &pct)| {
                        [
                            Step::labelled(
                                StepKind::SetWeight { weight: pct },
                                format!("batch {}/{n}: {pct}% of instances", i + 1),
                            ),
                            Step::labelled(
                                StepKind::Analysis {
                                    duration: *health_check,
                                },
                                format!("health-check batch {}", i + 1),
                            ),
                        ]
                    })
                    .collect()
            }
            Strategy::FeatureFlag { flag, ramps, pause } => {
                let mut steps = Vec::new();
                for (i, &pct) in ramps.iter().enumerate() {
                    steps.push(Step::labelled(
                        StepKind::SetWeight { weight: pct },
                        format!("{flag} on for {pct}% of users"),
                    ));
                    if i + 1 < ramps.len() {
                        steps.push(Step::plain(StepKind::Pause { duration: *pause }));
                    }
                }
                steps
            }
        }
    }
}

/// One step of a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    #[serde(flatten)]
    pub kind: StepKind,
    /// What an operator calls this step; derived from the kind when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Step {
    pub fn plain(kind: StepKind) -> Step {
        Step { kind, label: None }
    }

    pub fn labelled(kind: StepKind, label: String) -> Step {
        Step {
            kind,
            label: Some(label),
        }
    }

    /// The label to show: the given one, or one derived from the kind.
    pub fn describe(&self) -> String {
        if let Some(label) = &self.label {
            return label.clone();
        }
        match &self.kind {
            StepKind::SetWeight { weight } => format!("set weight {weight}%"),
            StepKind::Preview => "preview".into(),
            StepKind::Pause { duration: None } => "pause until advanced".into(),
            StepKind::Pause { duration: Some(d) } => format!("pause {}", format_duration(*d)),
            StepKind::Analysis { duration } => format!("analysis {}", format_duration(*duration)),
            StepKind::External { what } => what.clone(),
        }
    }

    /// How long the step lasts by itself, if it is timed.
    pub fn duration(&self) -> Option<SignedDuration> {
        match self.kind {
            StepKind::Pause { duration } => duration,
            StepKind::Analysis { duration } => Some(duration),
            StepKind::SetWeight { .. } | StepKind::Preview | StepKind::External { .. } => None,
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum StepKind {
    /// Send this share of traffic (percent) to the new version.
    SetWeight { weight: u8 },
    /// Bring the new version up with no production traffic, for checks.
    Preview,
    /// Hold here: for a duration, or until an operator advances.
    Pause {
        #[serde(with = "duration_serde::option", default)]
        duration: Option<SignedDuration>,
    },
    /// Hold for a duration while the rules watch the metrics.
    Analysis {
        #[serde(with = "duration_serde")]
        duration: SignedDuration,
    },
    /// A step the system the release runs on carries out and ends by
    /// itself (an Argo analysis, experiment, canary scale or route): `what`
    /// is its short word on the board (`analysis`, `scale`).
    External { what: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blue_green_keeps_the_previous_colour_after_the_switch() {
        let steps = Strategy::BlueGreen {
            active: Colour::Blue,
            preview_analysis: SignedDuration::from_mins(3),
            keep_previous: SignedDuration::from_mins(10),
        }
        .steps();
        assert_eq!(steps[0].kind, StepKind::Preview);
        assert_eq!(steps[3].kind, StepKind::SetWeight { weight: 100 });
        assert_eq!(steps[3].describe(), "switch blue → green");
        assert_eq!(steps[4].describe(), "keep blue for instant rollback");
        let strategy = Strategy::BlueGreen {
            active: Colour::Green,
            preview_analysis: SignedDuration::ZERO,
            keep_previous: SignedDuration::ZERO,
        };
        assert_eq!(strategy.name(), "blue-green");
    }

    #[test]
    fn rolling_health_checks_every_batch() {
        let steps = Strategy::Rolling {
            batches: vec![25, 50, 100],
            health_check: SignedDuration::from_secs(60),
        }
        .steps();
        assert_eq!(steps.len(), 6);
        assert_eq!(steps[2].describe(), "batch 2/3: 50% of instances");
        assert!(matches!(steps[5].kind, StepKind::Analysis { .. }));
    }

    #[test]
    fn feature_flag_pauses_between_ramps_not_after_the_last() {
        let steps = Strategy::FeatureFlag {
            flag: "new-checkout".into(),
            ramps: vec![1, 10, 100],
            pause: None,
        }
        .steps();
        assert_eq!(steps.len(), 5);
        assert_eq!(steps[1].describe(), "pause until advanced");
        assert_eq!(steps[4].describe(), "new-checkout on for 100% of users");
    }
}
