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
    /// The threshold is written exactly: what is written reads back as the
    /// same number, so a rule crosses a stream or a journal unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.threshold;
        let threshold = match self.series {
            s if s.is_ratio() => match exact_in(t, 100.0) {
                Some(percent) => format!("{percent}%"),
                // A fraction no percentage reads back as exactly.
                None if (0.0..=1.0).contains(&t) => format!("{t}"),
                None => format!("{}%", t * 100.0),
            },
            // Seconds from a second up, unless the milliseconds are shorter.
            s if s.is_latency() => match (exact_in(t, 1000.0), format!("{t}s")) {
                (Some(ms), secs) if t < 1.0 || ms.len() + 2 < secs.len() => format!("{ms}ms"),
                (_, secs) => secs,
            },
            _ => format!("{t}rps"),
        };
        write!(
            f,
            "{} {} {threshold}",
            self.series,
            self.comparison.symbol()
        )
    }
}

/// The shortest number `x` that reads back as `value` when divided by
/// `per` (as a threshold in `%` or `ms` is), written as Rust writes an
/// `f64`: the shortest text that reads back as `x`.
fn exact_in(value: f64, per: f64) -> Option<String> {
    let near = value * per;
    let mut candidates = vec![near];
    let (mut up, mut down) = (near, near);
    for _ in 0..4 {
        up = up.next_up();
        down = down.next_down();
        candidates.extend([up, down]);
    }
    candidates
        .into_iter()
        .filter(|x| x.is_finite() && x / per == value)
        .map(|x| x.to_string())
        .min_by_key(|text| text.len())
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
        Ok(Condition {
            series,
            comparison,
            threshold,
        })
    }
}

impl Condition {
    /// `text` as a condition someone means: what [`Condition::from_str`]
    /// reads, less one that would fire at once or never. Files are checked
    /// with this; what a stream or a journal carries is read as it was
    /// written, so an older rule still reads back.
    pub fn meant(text: &str) -> Result<Condition, String> {
        let condition: Condition = text.parse()?;
        match condition.pointless() {
            Some(why) => Err(format!("condition `{}` {why}", text.trim())),
            None => Ok(condition),
        }
    }

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
        let refused = |text: &str| Condition::meant(text).unwrap_err();
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
            assert!(Condition::meant(kept).is_ok(), "{kept}");
        }
    }

    /// A threshold is written as exactly the number it is: a rule a file
    /// may hold reads back from its text as the same rule, however many
    /// digits it has.
    #[test]
    fn thresholds_are_written_so_they_read_back_exactly() {
        for (text, written) in [
            ("availability <= 99.99999%", "availability <= 99.99999%"),
            ("error_rate >= 0.00001%", "error_rate >= 0.00001%"),
            ("error_rate > 7%", "error_rate > 7%"),
            ("error_rate > 0.07", "error_rate > 7%"),
            (
                "availability < 99.123456789%",
                "availability < 99.123456789%",
            ),
            ("latency_p95 > 0.0001ms", "latency_p95 > 0.0001ms"),
            ("latency_p95 > 1234.56789ms", "latency_p95 > 1234.56789ms"),
            ("latency_p95 > 2500ms", "latency_p95 > 2.5s"),
            ("latency_p99 >= 3599.99999s", "latency_p99 >= 3599.99999s"),
            ("throughput < 0.00001rps", "throughput < 0.00001rps"),
        ] {
            let rule = Condition::meant(text).unwrap();
            assert_eq!(rule.to_string(), written, "{text}");
            assert_eq!(written.parse::<Condition>().unwrap(), rule, "{text}");
        }
        for threshold in [0.1 + 0.2, 1.0 / 3.0, 0.123_456_789_012_345_68, 5e-324] {
            for series in [Series::ErrorRate, Series::LatencyP50, Series::Throughput] {
                let rule = Condition {
                    series,
                    comparison: Comparison::Above,
                    threshold,
                };
                let back: Condition = rule.to_string().parse().unwrap();
                assert_eq!(back, rule, "{rule}");
            }
        }
    }

    /// What an older shipdeck let a file hold reads back from a stream or
    /// a journal: only a file being checked is told it means nothing.
    #[test]
    fn a_condition_no_one_means_still_reads_back_from_what_was_written() {
        for text in [
            "availability <= 100%",
            "error_rate >= 0%",
            "latency_p95 > 0ms",
        ] {
            let rule: Condition = text.parse().unwrap();
            assert_eq!(rule.to_string(), text);
            assert!(Condition::meant(text).is_err(), "{text}");
        }
    }
}
