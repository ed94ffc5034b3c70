//! The service's traffic: metric samples per cohort with noise and
//! incidents, and the request log lines that go with them.

use strum::IntoEnumIterator;

use super::{Job, Simulator, logs, scenario};
use crate::model::{Cohort, Level, Series, Status, Strategy};

/// Who has traffic this tick.
struct Split {
    /// Each cohort with traffic, and its share of it.
    cohorts: Vec<(Cohort, f64)>,
    /// A blue-green preview: the new version has only synthetic traffic,
    /// which `all` leaves out.
    preview_only: bool,
    /// Requests are logged once the rollout has begun, until a rollback.
    logged: bool,
}

impl Simulator {
    /// Values for every series of every cohort that has traffic, with noise,
    /// plus a few request log lines.
    pub(super) fn metric_tick(&mut self) {
        let now = self.now;
        let split = self.split();
        let profile = self.scenario.script.metrics.clone();
        let mut values = self.sample(&split.cohorts, &profile);
        values.extend(mix(&values, &split));
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
        if split.logged {
            self.request_logs(&split.cohorts, &profile);
        }
        self.schedule(profile.interval, Job::MetricTick);
    }

    /// How traffic is split between the versions now.
    fn split(&self) -> Split {
        let release = self.engine.release();
        let weight = release.rollout.weight as f64 / 100.0;
        let rolling_back = release.status == Status::RollingBack;
        let preview = matches!(self.scenario.plan.strategy, Strategy::BlueGreen { .. })
            && release.rollout.began
            && !rolling_back;
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
        Split {
            cohorts,
            preview_only: preview && weight == 0.0,
            logged: release.rollout.began && !rolling_back,
        }
    }

    /// A noisy, measured value of every series of each cohort, drawn in
    /// that order.
    fn sample(
        &mut self,
        cohorts: &[(Cohort, f64)],
        profile: &scenario::MetricProfile,
    ) -> Vec<(Cohort, Series, f64)> {
        let mut values = Vec::new();
        for &(cohort, share) in cohorts {
            for series in Series::iter() {
                let v = if series == Series::Throughput {
                    profile.throughput * share
                } else {
                    self.level(cohort, series, profile)
                };
                let v = self.noisy(series, v, profile.noise);
                values.push((cohort, series, measured(v)));
            }
        }
        values
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
            let at = super::share(interval, k as usize, lines as usize);
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
            let at = crate::model::time::scaled(interval, self.rng.f64());
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

/// The `all` cohort: the cohorts' values mixed by their share of traffic
/// (throughput adds up); none for a series while no cohort has a share.
fn mix(values: &[(Cohort, Series, f64)], split: &Split) -> Vec<(Cohort, Series, f64)> {
    let mut mixed = Vec::new();
    for series in Series::iter() {
        let mut total = 0.0;
        let mut weights = 0.0;
        for &(cohort, share) in &split.cohorts {
            let share = if cohort == Cohort::Canary && split.preview_only {
                0.0
            } else {
                share
            };
            if let Some((_, _, v)) = values.iter().find(|(c, s, _)| *c == cohort && *s == series) {
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
        mixed.push((Cohort::All, series, measured(v)));
    }
    mixed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(values: &[(Cohort, Series, f64)], split: &Split) -> Vec<(Series, f64)> {
        mix(values, split)
            .into_iter()
            .map(|(cohort, series, v)| {
                assert_eq!(cohort, Cohort::All);
                (series, v)
            })
            .collect()
    }

    #[test]
    fn all_traffic_weighs_each_version_by_its_share_and_adds_up_throughput() {
        let split = Split {
            cohorts: vec![(Cohort::Canary, 0.25), (Cohort::Stable, 0.75)],
            preview_only: false,
            logged: true,
        };
        let values = [
            (Cohort::Canary, Series::ErrorRate, 0.1),
            (Cohort::Canary, Series::Throughput, 300.0),
            (Cohort::Stable, Series::ErrorRate, 0.02),
            (Cohort::Stable, Series::Throughput, 900.0),
        ];
        assert_eq!(
            all(&values, &split),
            [(Series::ErrorRate, 0.04), (Series::Throughput, 1200.0)]
        );
    }

    #[test]
    fn synthetic_preview_traffic_is_left_out_of_the_mix_but_its_requests_count() {
        let split = Split {
            cohorts: vec![(Cohort::Canary, 0.02), (Cohort::Stable, 1.0)],
            preview_only: true,
            logged: true,
        };
        let values = [
            (Cohort::Canary, Series::LatencyP95, 2.0),
            (Cohort::Canary, Series::Throughput, 24.0),
            (Cohort::Stable, Series::LatencyP95, 0.18),
            (Cohort::Stable, Series::Throughput, 1200.0),
        ];
        assert_eq!(
            all(&values, &split),
            [(Series::LatencyP95, 0.18), (Series::Throughput, 1224.0)]
        );
    }
}
