//! `/metrics`: the simulated service as Prometheus would scrape a real one.
//!
//! The simulator's service reports, per cohort, a throughput, an error rate
//! and latency percentiles at each sample (its traffic, whether or not the
//! release's rules read their metrics elsewhere). These become what a
//! service exports:
//! - `http_requests_total{cohort, code}`: counters of the requests served
//!   since the last sample;
//! - `http_request_duration_seconds`: a histogram whose buckets follow a
//!   log-normal fitted to the p50 and p95 the simulator reported.
//!
//! A Prometheus that scrapes this and computes `rate(...)` and
//! `histogram_quantile(...)` sees the simulator's curves again. The chain
//! simulator → `/metrics` → Prometheus → shipdeck can be run on one machine.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::Timestamp;

use crate::model::{Cohort, Event, EventKind, MetricPoint, Series};

/// Histogram bucket bounds, in seconds: Prometheus's client defaults.
pub const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Traffic {
    last: Option<Timestamp>,
    error_rate: f64,
    p50: Option<f64>,
    p95: Option<f64>,
    ok: f64,
    errors: f64,
    /// Cumulative counts at each bound of [`BUCKETS`].
    buckets: [f64; BUCKETS.len()],
    sum: f64,
    count: f64,
}

/// The service's counters, grown from the simulator's traffic.
#[derive(Debug, Clone)]
pub struct Exposition {
    service: String,
    cohorts: BTreeMap<&'static str, Traffic>,
    weight: u8,
    /// Real seconds per virtual second: the counters count what the
    /// service serves in a real second, at any speed.
    real_per_virtual: f64,
}

impl Default for Exposition {
    fn default() -> Exposition {
        Exposition::at_speed(None)
    }
}

/// The standard normal distribution function (Abramowitz and Stegun
/// 7.1.26, good to 1.5e-7).
fn phi(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

impl Exposition {
    /// For a simulator run at `speed` virtual seconds per real second
    /// (`None`, or anything not above zero, counts virtual seconds).
    pub fn at_speed(speed: Option<f64>) -> Exposition {
        Exposition {
            service: String::new(),
            cohorts: BTreeMap::new(),
            weight: 0,
            real_per_virtual: speed
                .filter(|s| s.is_finite() && *s > 0.0)
                .map_or(1.0, |s| 1.0 / s),
        }
    }

    /// Folds in what happened to the release: the service's name and the
    /// canary's weight.
    pub fn observe(&mut self, event: &Event) {
        match &event.kind {
            EventKind::ReleaseStarted { plan } => self.service = plan.service.clone(),
            EventKind::CanaryStep { weight, .. } => self.weight = *weight,
            _ => {}
        }
    }

    /// Folds in one measurement of the service's traffic.
    pub fn traffic(&mut self, point: &MetricPoint) {
        let name = match point.cohort {
            Cohort::Canary => "canary",
            Cohort::Stable => "stable",
            Cohort::All => return,
        };
        let traffic = self.cohorts.entry(name).or_default();
        let value = point.value;
        match point.series {
            Series::ErrorRate => traffic.error_rate = value.clamp(0.0, 1.0),
            Series::LatencyP50 => traffic.p50 = Some(value),
            Series::LatencyP95 => traffic.p95 = Some(value),
            Series::Throughput => traffic.serve(value * self.real_per_virtual, point.at),
            Series::LatencyP99 | Series::Availability => {}
        }
    }

    /// The text format Prometheus scrapes (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let service = escape(&self.service);
        out.push_str("# HELP http_requests_total Requests served, by cohort and status code.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (cohort, t) in &self.cohorts {
            for (code, n) in [("200", t.ok), ("500", t.errors)] {
                let _ = writeln!(
                    out,
                    "http_requests_total{{service=\"{service}\",cohort=\"{cohort}\",code=\"{code}\"}} {}",
                    number(n)
                );
            }
        }
        out.push_str("# HELP http_request_duration_seconds Time to serve a request.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (cohort, t) in &self.cohorts {
            let labels = format!("service=\"{service}\",cohort=\"{cohort}\"");
            for (bound, n) in BUCKETS.iter().zip(t.buckets) {
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    number(n)
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                number(t.count)
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                number(t.sum)
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                number(t.count)
            );
        }
        out.push_str(
            "# HELP shipdeck_canary_weight The new version's share of traffic, in percent.\n",
        );
        out.push_str("# TYPE shipdeck_canary_weight gauge\n");
        let _ = writeln!(
            out,
            "shipdeck_canary_weight{{service=\"{service}\"}} {}",
            self.weight
        );
        out
    }
}

impl Traffic {
    /// `throughput` requests a second since the last sample, served with the
    /// error rate and latencies last reported.
    fn serve(&mut self, throughput: f64, at: Timestamp) {
        let Some(last) = self.last.replace(at) else {
            return;
        };
        let seconds = at.duration_since(last).as_secs_f64();
        if seconds.is_nan() || seconds <= 0.0 || !throughput.is_finite() || throughput <= 0.0 {
            return;
        }
        let requests = throughput * seconds;
        let errors = requests * self.error_rate;
        self.errors += errors;
        self.ok += requests - errors;
        self.count += requests;
        let (Some(p50), Some(p95)) = (self.p50, self.p95) else {
            return;
        };
        // A log-normal through the reported p50 and p95.
        let mu = p50.max(1e-6).ln();
        let sigma = ((p95.max(p50 * 1.0001).max(1e-6)).ln() - mu) / 1.644_853_6;
        self.sum += requests * (mu + sigma * sigma / 2.0).exp();
        for (bucket, bound) in self.buckets.iter_mut().zip(BUCKETS) {
            *bucket += requests * phi((bound.ln() - mu) / sigma);
        }
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n:.3}")
    }
}

/// A label value as the text format wants it.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{SimOptions, Simulator, bundled, run_to_end, scenario};

    fn value(text: &str, line_start: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in\n{text}"))
    }

    #[test]
    fn the_normal_distribution_function_is_right_where_it_matters() {
        assert!((phi(0.0) - 0.5).abs() < 1e-7);
        assert!((phi(1.644_853_6) - 0.95).abs() < 1e-6);
        assert!((phi(-2.326_347_9) - 0.01).abs() < 1e-6);
    }

    #[test]
    fn a_regressing_canary_shows_in_the_counters_and_the_histogram() {
        let scenario = scenario::parse(bundled::get("canary-regression").unwrap()).unwrap();
        let mut sim = Simulator::new(
            scenario,
            SimOptions {
                autopilot: true,
                keep_traffic: true,
                ..SimOptions::default()
            },
        );
        let mut exposition = Exposition::default();
        let mut events = sim.start();
        events.extend(run_to_end(&mut sim, jiff::SignedDuration::from_hours(6)));
        for event in &events {
            exposition.observe(event);
        }
        for point in sim.take_traffic() {
            exposition.traffic(&point);
        }
        let text = exposition.render();
        let stable_ok = value(
            &text,
            r#"http_requests_total{service="checkout-api",cohort="stable",code="200"}"#,
        );
        let stable_errors = value(
            &text,
            r#"http_requests_total{service="checkout-api",cohort="stable",code="500"}"#,
        );
        let canary_ok = value(
            &text,
            r#"http_requests_total{service="checkout-api",cohort="canary",code="200"}"#,
        );
        let canary_errors = value(
            &text,
            r#"http_requests_total{service="checkout-api",cohort="canary",code="500"}"#,
        );
        // The canary failed far more often than stable.
        let canary_rate = canary_errors / (canary_ok + canary_errors);
        let stable_rate = stable_errors / (stable_ok + stable_errors);
        assert!(
            canary_rate > 5.0 * stable_rate,
            "{canary_rate} vs {stable_rate}"
        );
        // Buckets only grow, and the last equals the count.
        for cohort in ["stable", "canary"] {
            let mut previous = 0.0;
            for bound in BUCKETS {
                let n = value(
                    &text,
                    &format!(
                        r#"http_request_duration_seconds_bucket{{service="checkout-api",cohort="{cohort}",le="{bound}"}}"#
                    ),
                );
                assert!(n >= previous, "{cohort} le={bound}");
                previous = n;
            }
            let count = value(
                &text,
                &format!(
                    r#"http_request_duration_seconds_count{{service="checkout-api",cohort="{cohort}"}}"#
                ),
            );
            assert!(previous <= count + 1e-6 && count > 0.0);
        }
        assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    }
}
