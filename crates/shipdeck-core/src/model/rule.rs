//! Rules in the runbook's form: `{name, condition, for, severity, action}`.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, IntoStaticStr};

use super::metrics::{Cohort, Series};
use super::units::{Quantity, duration_serde, format_duration, parse_quantity};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, EnumIter, IntoStaticStr, Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// What happens when a rule fires.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    Default,
    EnumIter,
    IntoStaticStr,
    Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RuleAction {
    /// Raise an alert only.
    #[default]
    Alert,
    /// Raise an alert and roll the release back.
    Rollback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Above,
    AtLeast,
    Below,
    AtMost,
}

impl Comparison {
    fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }
}

/// `error_rate > 10%`: a series compared with a threshold in the series' unit.
///
/// ```
/// use shipdeck_core::model::{Condition, Series};
///
/// let rule: Condition = "p95_latency > 2s".parse().unwrap();
/// assert_eq!(rule.series, Series::LatencyP95);
/// assert!(rule.holds(2.5) && !rule.holds(0.18));
/// assert_eq!(rule.to_string(), "latency_p95 > 2s");
/// assert!("cpu_usage > 80%".parse::<Condition>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub series: Series,
    pub comparison: Comparison,
    /// In the series' base unit (fraction, seconds, req/s).
    pub threshold: f64,
}

impl Condition {
    pub fn holds(&self, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        match self.comparison {
            Comparison::Above => value > self.threshold,
            Comparison::AtLeast => value >= self.threshold,
            Comparison::Below => value < self.threshold,
            Comparison::AtMost => value <= self.threshold,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let threshold = match self.series {
            Series::ErrorRate | Series::Availability => {
                format!("{}%", trim_float(self.threshold * 100.0))
            }
            Series::LatencyP50 | Series::LatencyP95 | Series::LatencyP99 => {
                if self.threshold >= 1.0 {
                    format!("{}s", trim_float(self.threshold))
                } else {
                    format!("{}ms", trim_float(self.threshold * 1000.0))
                }
            }
            Series::Throughput => format!("{}rps", trim_float(self.threshold)),
        };
        write!(
            f,
            "{} {} {threshold}",
            self.series,
            self.comparison.symbol()
        )
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(text: &str) -> Result<Condition, String> {
        let ops = [
            (">=", Comparison::AtLeast),
            ("<=", Comparison::AtMost),
            (">", Comparison::Above),
            ("<", Comparison::Below),
        ];
        let (pos, symbol, comparison) = ops
            .iter()
            .filter_map(|(sym, cmp)| text.find(sym).map(|p| (p, *sym, *cmp)))
            .min_by_key(|(p, sym, _)| (*p, std::cmp::Reverse(sym.len())))
            .ok_or_else(|| {
                format!("condition `{text}` has no comparison (write it like `error_rate > 10%`)")
            })?;
        let series: Series = text[..pos].trim().parse()?;
        let quantity = parse_quantity(&text[pos + symbol.len()..])?;
        let threshold = match (series, quantity) {
            (s, Quantity::Percent(v)) if s.is_ratio() => v,
            (s, Quantity::Plain(v)) if s.is_ratio() && (0.0..=1.0).contains(&v) => v,
            (s, Quantity::Seconds(v)) if s.is_latency() => v,
            (Series::Throughput, Quantity::PerSecond(v) | Quantity::Plain(v)) => v,
            (s, _) if s.is_ratio() => {
                return Err(format!("{s} is a percentage: write the threshold like 10%"));
            }
            (s, _) if s.is_latency() => {
                return Err(format!(
                    "{s} is a latency: write the threshold like 500ms or 2s"
                ));
            }
            (s, _) => return Err(format!("{s} is requests per second: write it like 1200rps")),
        };
        let condition = Condition {
            series,
            comparison,
            threshold,
        };
        match condition.pointless() {
            Some(why) => Err(format!("condition `{}` {why}", text.trim())),
            None => Ok(condition),
        }
    }
}

impl Condition {
    /// Why no one would mean this condition — it would hold for every
    /// value the series can take, or for none — if so.
    fn pointless(&self) -> Option<String> {
        let (series, t) = (self.series, self.threshold);
        let most = series.most();
        let upward = matches!(self.comparison, Comparison::Above | Comparison::AtLeast);
        let never_or_once = |once: bool| {
            if once {
                "would fire at once"
            } else {
                "would never fire"
            }
        };
        if t < 0.0 {
            return Some(format!(
                "{}: {series} is never below zero",
                never_or_once(upward)
            ));
        }
        if t > most {
            return Some(if series.is_ratio() {
                format!("{}: {series} is never above 100%", never_or_once(!upward))
            } else {
                format!(
                    "is out of range: thresholds for {series} go {}",
                    series.range()
                )
            });
        }
        let at_once = match self.comparison {
            Comparison::AtLeast => t == 0.0,
            Comparison::Above => series.is_latency() && t == 0.0,
            Comparison::AtMost => series.is_ratio() && t == most,
            Comparison::Below => false,
        };
        let never = match self.comparison {
            Comparison::Below => t == 0.0,
            Comparison::AtMost => series.is_latency() && t == 0.0,
            Comparison::Above => series.is_ratio() && t == most,
            Comparison::AtLeast => false,
        };
        let why = match series {
            s if s.is_latency() => "every request takes some time".to_string(),
            s if s.is_ratio() && t == most => format!("{s} is never above 100%"),
            s => format!("{s} is never below zero"),
        };
        (at_once || never).then(|| format!("{}: {why}", never_or_once(at_once)))
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Condition, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A rule evaluated over a metric window: when `condition` holds for `for`
/// on `cohort`, the rule fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub condition: Condition,
    #[serde(rename = "for", with = "duration_serde")]
    pub hold: SignedDuration,
    pub severity: Severity,
    #[serde(default)]
    pub action: RuleAction,
    /// Whose traffic the rule watches; the new version's by default.
    #[serde(default = "default_cohort")]
    pub cohort: Cohort,
}

fn default_cohort() -> Cohort {
    Cohort::Canary
}

impl Rule {
    /// `error_rate > 10% for 5m on canary`.
    pub fn describe(&self) -> String {
        format!(
            "{} for {} on {}",
            self.condition,
            format_duration(self.hold),
            self.cohort.name()
        )
    }

    /// The runbook's alert rules and automatic rollback triggers.
    pub fn runbook_defaults() -> Vec<Rule> {
        let rule = |name: &str, cond: &str, mins: i64, severity, action| Rule {
            name: name.into(),
            condition: cond.parse().expect("built-in rule condition parses"),
            hold: SignedDuration::from_mins(mins),
            severity,
            action,
            cohort: Cohort::Canary,
        };
        use RuleAction::{Alert, Rollback};
        use Severity::Critical;
        vec![
            rule("HighErrorRate", "error_rate > 5%", 5, Critical, Alert),
            rule("HighLatency", "latency_p95 > 2s", 10, Critical, Alert),
            rule(
                "LowAvailability",
                "availability < 99.5%",
                2,
                Critical,
                Alert,
            ),
            rule(
                "ErrorRateRollback",
                "error_rate > 10%",
                5,
                Critical,
                Rollback,
            ),
            rule(
                "LatencyRollback",
                "latency_p95 > 5s",
                10,
                Critical,
                Rollback,
            ),
            rule(
                "AvailabilityRollback",
                "availability < 95%",
                2,
                Critical,
                Rollback,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_in_the_runbooks_words() {
        let c: Condition = "error_rate > 10%".parse().unwrap();
        assert_eq!(c.series, Series::ErrorRate);
        assert!((c.threshold - 0.10).abs() < 1e-12);
        assert!(c.holds(0.14) && !c.holds(0.05));
        let c: Condition = "p95_latency > 2s".parse().unwrap();
        assert_eq!(c.series, Series::LatencyP95);
        assert_eq!(c.to_string(), "latency_p95 > 2s");
        let c: Condition = "availability < 99.5%".parse().unwrap();
        assert!(c.holds(0.99) && !c.holds(0.999));
        assert_eq!(c.to_string(), "availability < 99.5%");
        let c: Condition = "latency_p99>=750ms".parse().unwrap();
        assert_eq!(c.comparison, Comparison::AtLeast);
        assert_eq!(c.to_string(), "latency_p99 >= 750ms");
    }

    #[test]
    fn conditions_with_wrong_units_or_series_are_refused() {
        assert!(
            "cpu_usage > 80%"
                .parse::<Condition>()
                .unwrap_err()
                .contains("unknown series")
        );
        assert!(
            "latency_p95 > 5%"
                .parse::<Condition>()
                .unwrap_err()
                .contains("latency")
        );
        assert!(
            "error_rate 10%"
                .parse::<Condition>()
                .unwrap_err()
                .contains("no comparison")
        );
    }

    /// A threshold every value of its series passes, or none does, is no
    /// rule anyone means; a threshold inside the series' range stays one.
    #[test]
    fn conditions_that_would_fire_at_once_or_never_are_refused_with_why() {
        let refused = |text: &str| text.parse::<Condition>().unwrap_err();
        for (text, why) in [
            (
                "error_rate > -5%",
                "would fire at once: error_rate is never below zero",
            ),
            (
                "error_rate >= 0%",
                "would fire at once: error_rate is never below zero",
            ),
            (
                "error_rate < 0%",
                "would never fire: error_rate is never below zero",
            ),
            (
                "error_rate > 100%",
                "would never fire: error_rate is never above 100%",
            ),
            (
                "availability <= 100%",
                "would fire at once: availability is never above 100%",
            ),
            (
                "availability < 120%",
                "would fire at once: availability is never above 100%",
            ),
            (
                "latency_p95 > 0ms",
                "would fire at once: every request takes some time",
            ),
            (
                "latency_p95 <= 0ms",
                "would never fire: every request takes some time",
            ),
            (
                "latency_p99 > 7200s",
                "is out of range: thresholds for latency_p99 go from 0ms to 1h",
            ),
            (
                "throughput < 0rps",
                "would never fire: throughput is never below zero",
            ),
            (
                "throughput > 2e9",
                "is out of range: thresholds for throughput go from 0",
            ),
        ] {
            let told = refused(text);
            assert!(
                told.starts_with(&format!("condition `{text}` {why}")),
                "{text}: {told}"
            );
        }
        for kept in [
            "error_rate > 0%",
            "error_rate >= 100%",
            "availability < 100%",
            "availability <= 0%",
            "latency_p95 > 1ms",
            "throughput <= 0",
            "throughput > 0rps",
        ] {
            assert!(kept.parse::<Condition>().is_ok(), "{kept}");
        }
    }
}
