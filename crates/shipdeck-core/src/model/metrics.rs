//! Metric series per cohort, bounded so a long window costs no more memory
//! than a short one.

use std::collections::{BTreeMap, VecDeque};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, EnumString, IntoStaticStr};

use super::names::{Words, unknown};

/// The series shipdeck watches. Error rate and availability are fractions of
/// one, latencies are seconds, throughput is requests per second.
///
/// A name reads in serde's spelling and, for latencies, also in the
/// runbook's (`p95_latency`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    EnumString,
    IntoStaticStr,
    Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(
    serialize_all = "snake_case",
    parse_err_ty = String,
    parse_err_fn = unknown_series
)]
pub enum Series {
    ErrorRate,
    #[strum(to_string = "latency_p50", serialize = "p50_latency")]
    LatencyP50,
    #[strum(to_string = "latency_p95", serialize = "p95_latency")]
    LatencyP95,
    #[strum(to_string = "latency_p99", serialize = "p99_latency")]
    LatencyP99,
    Throughput,
    Availability,
}

fn unknown_series(text: &str) -> String {
    unknown::<Series>("series", text)
}

impl Series {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The name for people: `latency p95`.
    pub fn words(self) -> Words {
        Words(self.name())
    }

    /// Formats a value in this series' unit: `14.20%`, `180ms`, `1200 req/s`.
    pub fn format(self, value: f64) -> String {
        match self {
            Series::ErrorRate | Series::Availability => format!("{:.2}%", value * 100.0),
            Series::LatencyP50 | Series::LatencyP95 | Series::LatencyP99 => {
                if value >= 1.0 {
                    format!("{value:.2}s")
                } else {
                    format!("{:.0}ms", value * 1000.0)
                }
            }
            Series::Throughput => format!("{value:.0} req/s"),
        }
    }

    pub fn is_ratio(self) -> bool {
        matches!(self, Series::ErrorRate | Series::Availability)
    }

    pub fn is_latency(self) -> bool {
        matches!(
            self,
            Series::LatencyP50 | Series::LatencyP95 | Series::LatencyP99
        )
    }

    /// The largest value a file may give or a rule compare with, in the
    /// series' base unit: all of it for a fraction, an hour for a latency,
    /// a billion requests a second.
    pub fn most(self) -> f64 {
        match self {
            s if s.is_ratio() => 1.0,
            s if s.is_latency() => 3600.0,
            _ => 1e9,
        }
    }

    /// [`Series::most`] for people: `100%`, `1h`.
    pub fn range(self) -> &'static str {
        match self {
            s if s.is_ratio() => "from 0% to 100%",
            s if s.is_latency() => "from 0ms to 1h",
            _ => "from 0 to a billion requests per second",
        }
    }
}

/// Whose traffic a value describes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    EnumString,
    IntoStaticStr,
    Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(
    serialize_all = "snake_case",
    parse_err_ty = String,
    parse_err_fn = unknown_cohort
)]
pub enum Cohort {
    /// The new version.
    Canary,
    /// The version in production before this release.
    Stable,
    /// Both together.
    All,
}

fn unknown_cohort(text: &str) -> String {
    unknown::<Cohort>("cohort", text)
}

impl Cohort {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One observation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub at: Timestamp,
    pub value: f64,
}

/// The log source a metrics source (Prometheus) speaks as in a release's
/// log.
pub const METRICS_SOURCE: &str = "prometheus";

/// One sample of one series of one cohort, as a metrics source or the
/// simulated service reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    pub at: Timestamp,
    pub series: Series,
    pub cohort: Cohort,
    pub value: f64,
}

/// A bounded series of samples, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    samples: VecDeque<Sample>,
    capacity: usize,
}

impl MetricSeries {
    pub fn with_capacity(capacity: usize) -> MetricSeries {
        MetricSeries {
            samples: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
        }
    }

    pub fn push(&mut self, sample: Sample) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    pub fn latest(&self) -> Option<Sample> {
        self.samples.back().copied()
    }

    pub fn samples(&self) -> impl DoubleEndedIterator<Item = &Sample> + ExactSizeIterator + Clone {
        self.samples.iter()
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

/// Samples kept per series and cohort: at one sample each 15 s, three hours.
pub const DEFAULT_SERIES_CAPACITY: usize = 720;

/// All series of a release, keyed by series and cohort.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    #[serde(with = "series_map")]
    series: BTreeMap<(Series, Cohort), MetricSeries>,
}

impl Metrics {
    pub fn record(&mut self, series: Series, cohort: Cohort, sample: Sample) {
        self.series
            .entry((series, cohort))
            .or_insert_with(|| MetricSeries::with_capacity(DEFAULT_SERIES_CAPACITY))
            .push(sample);
    }

    pub fn get(&self, series: Series, cohort: Cohort) -> Option<&MetricSeries> {
        self.series.get(&(series, cohort))
    }

    pub fn latest(&self, series: Series, cohort: Cohort) -> Option<f64> {
        self.get(series, cohort)?.latest().map(|s| s.value)
    }
}

/// JSON maps need string keys: `error_rate/canary`.
mod series_map {
    use super::*;
    use serde::{Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<(Series, Cohort), MetricSeries>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(
            map.iter()
                .map(|((series, cohort), v)| (format!("{series}/{}", cohort.name()), v)),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(Series, Cohort), MetricSeries>, D::Error> {
        let raw = BTreeMap::<String, MetricSeries>::deserialize(d)?;
        raw.into_iter()
            .map(|(key, v)| {
                let (series, cohort) = key
                    .split_once('/')
                    .ok_or_else(|| D::Error::custom(format!("bad series key `{key}`")))?;
                Ok((
                    (
                        series.parse().map_err(D::Error::custom)?,
                        cohort.parse().map_err(D::Error::custom)?,
                    ),
                    v,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_forgets_its_oldest_samples_past_capacity() {
        let mut s = MetricSeries::with_capacity(3);
        for i in 0..5 {
            s.push(Sample {
                at: Timestamp::from_second(i).unwrap(),
                value: i as f64,
            });
        }
        let values: Vec<f64> = s.samples().map(|x| x.value).collect();
        assert_eq!(values, vec![2.0, 3.0, 4.0]);
    }

    #[test]
    fn values_show_in_their_units() {
        assert_eq!(Series::ErrorRate.format(0.142), "14.20%");
        assert_eq!(Series::LatencyP95.format(0.18), "180ms");
        assert_eq!(Series::LatencyP95.format(5.5), "5.50s");
        assert_eq!(Series::Throughput.format(1200.4), "1200 req/s");
        assert_eq!("p95_latency".parse::<Series>().unwrap(), Series::LatencyP95);
        assert_eq!("latency_p95".parse::<Series>().unwrap(), Series::LatencyP95);
        assert_eq!(Series::LatencyP95.to_string(), "latency_p95");
        assert_eq!(
            "cpu_usage".parse::<Series>().unwrap_err(),
            "unknown series `cpu_usage` (known: error_rate, latency_p50, latency_p95, latency_p99, throughput, availability)"
        );
    }
}
