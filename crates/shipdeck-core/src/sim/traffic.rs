//! The service's traffic: metric samples per cohort with noise and
//! incidents, and the request log lines that go with them.

use strum::IntoEnumIterator;

use super::{Job, Simulator, logs, scenario};
use crate::model::{Cohort, Level, Series, Status, Strategy};

impl Simulator {
    /// Values for every series of every cohort that has traffic, with noise,
    /// plus a few request log lines.
    pub(super) fn metric_tick(&mut self) {
        let now = self.now;
        let release = self.engine.release();
        let weight = release.rollout.weight as f64 / 100.0;
        let rolling_back = release.status == Status::RollingBack;
        let preview = matches!(self.scenario.plan.strategy, Strategy::BlueGreen { .. })
            && release.rollout.began
            && !rolling_back;
        let began = release.rollout.began;
        let profile = self.scenario.script.metrics.clone();
        let canary_share = if rolling_back {
            0.0
        } else if preview && weight == 0.0 {
            0.02 // synthetic preview traffic
        } else {
            weight
        };
        let mut cohorts: Vec<(Cohort, f64)> = Vec::new();
        if canary_share > 0.0 {
            cohorts.push((Cohort::Canary, canary_share));
        }
        if weight < 1.0 || rolling_back {
            cohorts.push((Cohort::Stable, (1.0 - weight).max(0.0)));
        }
        let mut values: Vec<(Cohort, Series, f64)> = Vec::new();
        for &(cohort, share) in &cohorts {
            for series in Series::iter() {
                let v = if series == Series::Throughput {
                    profile.throughput * share
                } else {
                    self.level(cohort, series, &profile)
                };
                let v = self.noisy(series, v, profile.noise);
                values.push((cohort, series, measured(v)));
            }
        }
        // `all` mixes the cohorts by their share of traffic.
        for series in Series::iter() {
            let mut total = 0.0;
            let mut weights = 0.0;
            for &(cohort, share) in &cohorts {
                let share = if cohort == Cohort::Canary && preview && weight == 0.0 {
                    0.0
                } else {
                    share
                };
                if let Some((_, _, v)) =
                    values.iter().find(|(c, s, _)| *c == cohort && *s == series)
                {
                    if series == Series::Throughput {
                        total += v;
                    } else {
                        total += v * share;
                        weights += share;
                    }
                }
            }
            let v = if series == Series::Throughput {
                total
            } else if weights > 0.0 {
                total / weights
            } else {
                continue;
            };
            values.push((Cohort::All, series, measured(v)));
        }
        for (cohort, series, value) in values {
            if let Some(traffic) = &mut self.traffic {
                traffic.push(crate::model::MetricPoint {
                    at: now,
                    series,
                    cohort,
                    value,
                });
            }
            // With metrics from elsewhere, the service only runs: what the
            // rules see comes from there.
            if self.external_metrics {
                continue;
            }
            self.engine.observe(series, cohort, value, now);
            if self.engine.release().status.is_final() {
                return;
            }
        }
        if began && !rolling_back {
            self.request_logs(&cohorts, &profile);
        }
        self.schedule(now + profile.interval, Job::MetricTick);
    }

    /// The current level of a series for a cohort, incidents included.
    fn level(&self, cohort: Cohort, series: Series, profile: &scenario::MetricProfile) -> f64 {
        let base_map = if cohort == Cohort::Canary {
            &profile.canary
        } else {
            &profile.stable
        };
        let mut v = base_map.get(&series).copied().unwrap_or(0.0);
        for active in &self.incidents {
            let incident = &self.scenario.script.incidents[active.index];
            if incident.cohort != cohort || incident.series != series || self.now < active.since {
                continue;
            }
            let ramp = incident.ramp.as_secs_f64();
            let progress = if ramp <= 0.0 {
                1.0
            } else {
                (self.now.duration_since(active.since).as_secs_f64() / ramp).clamp(0.0, 1.0)
            };
            v += (incident.to - v) * progress;
        }
        v
    }

    fn noisy(&mut self, series: Series, v: f64, noise: f64) -> f64 {
        let jitter = 1.0 + noise * (self.rng.f64() * 2.0 - 1.0);
        match series {
            // Availability's noise is in its shortfall, not its value.
            Series::Availability => (1.0 - (1.0 - v) * jitter).clamp(0.0, 1.0),
            Series::ErrorRate => (v * jitter).clamp(0.0, 1.0),
            _ => (v * jitter).max(0.0),
        }
    }

    fn request_logs(&mut self, cohorts: &[(Cohort, f64)], profile: &scenario::MetricProfile) {
        let interval = profile.interval;
        let lines = (interval.as_secs() / 4).max(1);
        let stage = self.release().current_stage().map(|s| s.plan.id.clone());
        for k in 0..lines {
            let pick = self.rng.f64();
            let (cohort, _) = cohorts
                .iter()
                .copied()
                .find(|(c, share)| *c == Cohort::Canary && pick < *share)
                .unwrap_or((Cohort::Stable, 0.0));
            let error_rate = self.level(cohort, Series::ErrorRate, profile);
            let latency = self.level(cohort, Series::LatencyP50, profile) * 1000.0;
            // Errors are over-sampled so an incident is visible in a tail.
            let error = self.rng.f64() < (error_rate * 3.0).min(0.9);
            let latency = latency * (0.6 + self.rng.f64() * 0.9);
            let (level, message) = logs::request_line(&mut self.rng, cohort.name(), error, latency);
            let at = self.now + interval * (k as i32) / (lines as i32);
            self.schedule(
                at,
                Job::Log {
                    level,
                    source: "ingress".into(),
                    stage: stage.clone(),
                    message,
                },
            );
        }
        // Incident lines on the cohort they hit.
        let active: Vec<(String, Vec<String>)> = self
            .incidents
            .iter()
            .filter(|a| a.since <= self.now)
            .map(|a| {
                let i = &self.scenario.script.incidents[a.index];
                (i.cohort.name().to_string(), i.logs.clone())
            })
            .collect();
        for (cohort, lines) in active {
            if lines.is_empty()
                || (cohort == "canary" && !cohorts.iter().any(|(c, _)| *c == Cohort::Canary))
            {
                continue;
            }
            let line = lines[self.rng.usize(0..lines.len())].clone();
            let at = self.now + interval.mul_f64(self.rng.f64());
            self.schedule(
                at,
                Job::Log {
                    level: Level::Error,
                    source: format!("app/{cohort}"),
                    stage: stage.clone(),
                    message: line,
                },
            );
        }
    }
}

/// Values as a metrics system would report them: six decimals is a
/// ten-thousandth of a percent, or a microsecond.
fn measured(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
