//! A metrics source apart from the pipeline: a Prometheus asked the
//! configured PromQL for each series of each cohort.
//!
//! On start it fetches `range` of history with range queries, then asks each
//! query once a `step` with instant queries. What it reads goes to the
//! simulator, whose rules judge it as they would its own samples. A query
//! without a number (no series, `NaN`, an infinity) is left out: the
//! sparkline shows a gap, and the rules see nothing rather than a zero.
//!
//! Whether Prometheus answers is said when it changes, as a line in the
//! release's log: an operator sees a source go away and come back. While no
//! query answers, the simulator holds a rollout in progress (paused by
//! `prometheus`), and lets it go on when the queries answer again.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::prometheus::{Prometheus, QueryError};
use crate::config::{MetricQuery, PrometheusSource};
use crate::model::time::Saturating;
use crate::model::{Cohort, Level, MetricPoint, Series};

/// The log source the metrics source speaks as.
pub const SOURCE: &str = crate::model::METRICS_SOURCE;

/// What the metrics source tells the simulator.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Samples from before now, oldest first.
    History(Vec<MetricPoint>),
    /// Each query's value now; a query without a number is left out.
    Now(Vec<(Series, Cohort, f64)>),
    /// Whether Prometheus answers, said when that changes.
    Health { level: Level, message: String },
}

/// Where the source stands, so that only a change is said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Unknown,
    Answering,
    /// Prometheus answers, but no query matched a series.
    Empty,
    /// Some queries fail (refused, say), others answer.
    Partial,
    Failing,
}

/// A configured source, ready to ask.
#[derive(Debug, Clone)]
pub struct Source {
    prometheus: Prometheus,
    url: String,
    step: Duration,
    range: Duration,
    queries: Vec<MetricQuery>,
}

impl Source {
    pub fn new(config: &PrometheusSource, token: Option<&str>) -> Result<Source, String> {
        Ok(Source {
            prometheus: Prometheus::new(&config.url, token)?,
            url: config.url.clone(),
            step: config.step,
            range: config.range,
            queries: config.queries.clone(),
        })
    }

    /// The Prometheus asked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks every query its history, oldest sample first; the first
    /// failure in words, if any.
    async fn history(&self, end: Timestamp) -> (Vec<MetricPoint>, Option<String>) {
        let range = SignedDuration::try_from(self.range).unwrap_or(SignedDuration::from_mins(30));
        let start = end.minus(range);
        let mut asked = JoinSet::new();
        for (n, query) in self.queries.iter().enumerate() {
            let prometheus = self.prometheus.clone();
            let promql = query.promql.clone();
            let step = self.step;
            asked.spawn(async move { (n, prometheus.range(&promql, start, end, step).await) });
        }
        let mut points = Vec::new();
        let mut failures = Vec::new();
        while let Some(done) = asked.join_next().await {
            let Ok((n, answer)) = done else { continue };
            let query = &self.queries[n];
            match answer {
                Ok(samples) => points.extend(samples.into_iter().filter_map(|s| {
                    Some(MetricPoint {
                        at: s.at,
                        series: query.series,
                        cohort: query.cohort,
                        value: s.value?,
                    })
                })),
                Err(err) => failures.push((n, err)),
            }
        }
        // The same order whichever answer came first.
        points.sort_by_key(|p| (p.at, p.series, p.cohort));
        failures.sort_by_key(|(n, _)| *n);
        let failure = failures
            .first()
            .map(|(n, err)| describe(&self.queries[*n], err));
        (points, failure)
    }

    /// Asks every query its value now: the values, in the order the queries
    /// are configured, and the first failure in words.
    async fn now(&self) -> (Vec<(Series, Cohort, f64)>, Option<String>) {
        let mut asked = JoinSet::new();
        for (n, query) in self.queries.iter().enumerate() {
            let prometheus = self.prometheus.clone();
            let promql = query.promql.clone();
            asked.spawn(async move { (n, prometheus.instant(&promql).await) });
        }
        let mut answers: Vec<(usize, Result<Option<f64>, QueryError>)> = Vec::new();
        while let Some(done) = asked.join_next().await {
            if let Ok(answer) = done {
                answers.push(answer);
            }
        }
        answers.sort_by_key(|(n, _)| *n);
        let mut values = Vec::new();
        let mut failure = None;
        for (n, answer) in answers {
            let query = &self.queries[n];
            match answer {
                Ok(Some(value)) => values.push((query.series, query.cohort, value)),
                Ok(None) => {}
                Err(err) => {
                    failure.get_or_insert_with(|| describe(query, &err));
                }
            }
        }
        (values, failure)
    }
}

/// A failed query in words: which series, and why.
fn describe(query: &MetricQuery, err: &QueryError) -> String {
    match err {
        // Every query fails alike when the server is gone: say it once.
        QueryError::Unreachable(why) => why.clone(),
        _ => format!("{} {}: {err}", query.cohort.name(), query.series),
    }
}

/// Starts asking on the current tokio runtime; readings go to `readings`
/// until it closes.
pub fn spawn(source: Source) -> mpsc::Receiver<Reading> {
    let (tx, readings) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut health = Health::Unknown;
        let mut answered = false;
        let (points, failure) = source.history(Timestamp::now()).await;
        if !points.is_empty() && tx.send(Reading::History(points)).await.is_err() {
            return;
        }
        if let Some(failure) = failure {
            let message = format!("metrics: no history from Prometheus ({failure})");
            let reading = Reading::Health {
                level: Level::Warn,
                message,
            };
            if tx.send(reading).await.is_err() {
                return;
            }
        }
        let mut ticks = tokio::time::interval(source.step);
        // A slow Prometheus delays the next question rather than piling
        // them up.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let (values, failure) = source.now().await;
            let now_health = match (&failure, values.is_empty()) {
                (Some(_), true) => Health::Failing,
                (Some(_), false) => Health::Partial,
                (None, true) => Health::Empty,
                (None, false) => Health::Answering,
            };
            if let Some(said) = say(&source, health, now_health, answered, failure.as_deref())
                && tx.send(said).await.is_err()
            {
                return;
            }
            health = now_health;
            answered |= now_health == Health::Answering;
            if !values.is_empty() && tx.send(Reading::Now(values)).await.is_err() {
                return;
            }
        }
    });
    readings
}

/// What to say when the source's health changes from `was` to `is`;
/// `answered`: whether it has answered every query before.
fn say(
    source: &Source,
    was: Health,
    is: Health,
    answered: bool,
    failure: Option<&str>,
) -> Option<Reading> {
    if was == is {
        return None;
    }
    let (level, message) = match (was, is) {
        (_, Health::Answering) if !answered => (
            Level::Info,
            format!(
                "metrics: reading {} from Prometheus at {} every {}s",
                match source.queries.len() {
                    1 => "1 query".to_string(),
                    n => format!("{n} queries"),
                },
                source.url,
                source.step.as_secs()
            ),
        ),
        (_, Health::Answering) => (Level::Info, "metrics: Prometheus answers again".into()),
        // Errors hold a rollout in progress (see `Simulator::metrics_said`).
        (_, Health::Empty) => (
            Level::Error,
            "metrics: no query has a number (no series matched, or NaN); the rules wait for one"
                .into(),
        ),
        (_, Health::Partial) => (
            Level::Warn,
            format!(
                "metrics: {}; the other series are read",
                failure.unwrap_or("a query fails")
            ),
        ),
        (_, Health::Failing) => (
            Level::Error,
            format!(
                "metrics: {}; the rules wait for it",
                failure.unwrap_or("Prometheus does not answer")
            ),
        ),
        (_, Health::Unknown) => return None,
    };
    Some(Reading::Health { level, message })
}

/// A reading as the events of a release whose backend is not the
/// simulator (a Rollout, a workflow run): samples now and Prometheus's word
/// on itself, each made an event by `say`. History is from before the
/// window began: the window starts with what is measured from now on.
pub fn reading_events(
    reading: Reading,
    mut say: impl FnMut(crate::model::EventKind) -> Option<crate::model::Event>,
) -> Vec<crate::model::Event> {
    use crate::model::EventKind;
    match reading {
        Reading::Now(values) => values
            .into_iter()
            .filter_map(|(series, cohort, value)| {
                say(EventKind::Metric {
                    series,
                    cohort,
                    value,
                })
            })
            .collect(),
        Reading::History(_) => Vec::new(),
        Reading::Health { level, message } => say(EventKind::Log {
            level,
            source: crate::model::METRICS_SOURCE.into(),
            stage: None,
            message,
        })
        .into_iter()
        .collect(),
    }
}
