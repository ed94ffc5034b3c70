//! `shipdeck rollouts`: the Rollouts of a namespace (or all) as
//! `kubectl argo rollouts list rollouts` shows them, with a WAITING column
//! that puts first the Rollouts a person has to act on, longest wait first.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::Serialize;

use super::info::{self, Phase, Wait};
use super::types::Rollout;
use crate::model::text::{clean, json_safe};

/// Characters shown of a namespace or a name.
const MAX_NAME: usize = 63;
/// Characters shown of a wait's reason.
const MAX_REASON: usize = 80;

/// One line of the list, read from a Rollout alone (no ReplicaSets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub namespace: String,
    pub name: String,
    pub strategy: &'static str,
    pub phase: Phase,
    /// `"1/3"`, or `None` (shown `-`).
    pub step: Option<String>,
    /// `None` for a blue-green Rollout (shown `-`).
    pub set_weight: Option<i32>,
    /// The canary's weight when the Rollout alone tells it: the router's
    /// weight, all of it past the last step, none with no pod available.
    /// `None` for a canary without traffic routing mid-update (it needs the
    /// canary ReplicaSet) and for blue-green. Not a column of the table.
    pub actual_weight: Option<i32>,
    pub ready: i32,
    pub current: i32,
    pub desired: i32,
    pub up_to_date: i32,
    pub available: i32,
    pub wait: Option<Wait>,
}

impl Row {
    pub fn new(r: &Rollout) -> Row {
        let canary = r.spec.strategy.canary.is_some();
        Row {
            namespace: r.metadata.namespace.clone().unwrap_or_default(),
            name: r.metadata.name.clone().unwrap_or_default(),
            strategy: info::strategy(r),
            phase: info::phase(r).phase,
            step: info::step_text(r),
            set_weight: canary.then(|| info::set_weight(r)),
            actual_weight: actual_weight(r),
            ready: r.status.ready_replicas,
            current: r.status.replicas,
            desired: r.spec.desired(),
            up_to_date: r.status.updated_replicas,
            available: r.status.available_replicas,
            wait: info::waiting_on_person(r),
        }
    }
}

impl From<&Rollout> for Row {
    fn from(r: &Rollout) -> Row {
        Row::new(r)
    }
}

/// [`info::actual_weight`] where it needs no ReplicaSet.
fn actual_weight(r: &Rollout) -> Option<i32> {
    let canary = r.spec.strategy.canary.as_ref()?;
    if info::current_step(r).is_none() || r.status.available_replicas <= 0 {
        return Some(info::actual_weight(r, &[]));
    }
    canary
        .traffic_routing
        .is_some()
        .then(|| info::actual_weight(r, &[]))
}

/// A wait as the WAITING column shows it: `reason · 12m`.
fn wait_text(wait: &Wait, now: Timestamp) -> String {
    let reason = shown(&wait.reason, MAX_REASON);
    match wait.since {
        Some(since) => format!("{reason} · {}", age(since, now)),
        None => reason.into_owned(),
    }
}

/// `45s`, `12m`, `3h 2m`, `2d 5h`.
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(since.as_second()).max(0);
    let (d, h, m) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{m}m"),
        3_600..86_400 => format!("{}h {m}m", secs / 3_600),
        _ => format!("{d}d {h}h"),
    }
}

/// Cleaned and cut to `max` characters (borrowed when it already is).
fn shown(text: &str, max: usize) -> Cow<'_, str> {
    let cleaned = clean(text);
    if cleaned.chars().count() <= max {
        return cleaned;
    }
    let mut cut: String = cleaned.chars().take(max).collect();
    cut.push('…');
    Cow::Owned(cut)
}

/// The order of the list: waits on a person first (longest first, one of
/// unknown start after them), then by namespace and name.
fn order(rows: &[Row]) -> Vec<&Row> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        let key = |r: &Row| match &r.wait {
            Some(Wait { since: Some(t), .. }) => (0, Some(*t)),
            Some(_) => (1, None),
            None => (2, None),
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
    sorted
}

const HEADERS: [&str; 11] = [
    "NAMESPACE",
    "NAME",
    "STRATEGY",
    "STATUS",
    "STEP",
    "SET-WEIGHT",
    "READY",
    "DESIRED",
    "UP-TO-DATE",
    "AVAILABLE",
    "WAITING",
];
/// The plugin pads each cell to about its header's length.
const MIN_WIDTHS: [usize; 11] = [9, 10, 9, 12, 4, 10, 5, 7, 10, 9, 0];

/// The list as a table: the plugin's columns (NAMESPACE first with
/// `all_namespaces`) and WAITING, two spaces between columns, every string
/// from the cluster cleaned. Lines carry no trailing spaces.
pub fn table(rows: &[Row], all_namespaces: bool, now: Timestamp) -> String {
    let sorted = order(rows);
    let cells: Vec<[Cow<'_, str>; 11]> = sorted.iter().map(|r| cells(r, now)).collect();
    let first = usize::from(!all_namespaces);
    let mut widths = MIN_WIDTHS;
    for (i, width) in widths.iter_mut().enumerate() {
        *width = (*width).max(HEADERS[i].len());
        for row in &cells {
            *width = (*width).max(row[i].chars().count());
        }
    }
    let line_len: usize = widths[first..].iter().map(|w| w + 2).sum();
    let mut out = String::with_capacity((cells.len() + 1) * (line_len + 1));
    write_line(&mut out, HEADERS.iter().copied(), &widths, first);
    for row in &cells {
        write_line(&mut out, row.iter().map(|c| c.as_ref()), &widths, first);
    }
    out
}

fn write_line<'a>(
    out: &mut String,
    cells: impl Iterator<Item = &'a str>,
    widths: &[usize; 11],
    first: usize,
) {
    let start = out.len();
    for (i, cell) in cells.enumerate().skip(first) {
        out.push_str(cell);
        let pad = widths[i].saturating_sub(cell.chars().count()) + 2;
        out.extend(std::iter::repeat_n(' ', pad));
    }
    let trimmed = out[start..].trim_end().len();
    out.truncate(start + trimmed);
    out.push('\n');
}

fn cells(r: &Row, now: Timestamp) -> [Cow<'_, str>; 11] {
    let number = |n: i32| Cow::Owned(n.to_string());
    [
        shown(&r.namespace, MAX_NAME),
        shown(&r.name, MAX_NAME),
        Cow::Borrowed(r.strategy),
        Cow::Borrowed(r.phase.as_str()),
        r.step.as_deref().map_or(Cow::Borrowed("-"), clean),
        r.set_weight.map_or(Cow::Borrowed("-"), number),
        Cow::Owned(format!("{}/{}", r.ready, r.current)),
        number(r.desired),
        number(r.up_to_date),
        number(r.available),
        r.wait
            .as_ref()
            .map_or(Cow::Borrowed("-"), |w| Cow::Owned(wait_text(w, now))),
    ]
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRow<'a> {
    namespace: &'a str,
    name: &'a str,
    strategy: &'a str,
    status: &'a str,
    step: Option<&'a str>,
    set_weight: Option<i32>,
    actual_weight: Option<i32>,
    ready: String,
    desired: i32,
    up_to_date: i32,
    available: i32,
    waiting: Option<JsonWait<'a>>,
}

#[derive(Serialize)]
struct JsonWait<'a> {
    reason: &'a str,
    since: Option<Timestamp>,
    seconds: Option<i64>,
}

/// The list as JSON (`--format json`): an array in the table's order, with
/// characters a terminal would act on written as `\u` escapes.
pub fn json(rows: &[Row], now: Timestamp) -> String {
    let out: Vec<JsonRow<'_>> = order(rows)
        .into_iter()
        .map(|r| JsonRow {
            namespace: &r.namespace,
            name: &r.name,
            strategy: r.strategy,
            status: r.phase.as_str(),
            step: r.step.as_deref(),
            set_weight: r.set_weight,
            actual_weight: r.actual_weight,
            ready: format!("{}/{}", r.ready, r.current),
            desired: r.desired,
            up_to_date: r.up_to_date,
            available: r.available,
            waiting: r.wait.as_ref().map(|w| JsonWait {
                reason: &w.reason,
                since: w.since,
                seconds: w
                    .since
                    .map(|t| now.as_second().saturating_sub(t.as_second()).max(0)),
            }),
        })
        .collect();
    let text = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".to_owned());
    json_safe(&text).into_owned()
}

#[cfg(test)]
mod bench {
    use super::*;

    #[test]
    fn five_hundred_rollouts_format_fast() {
        let rows: Vec<Row> = (0..500)
            .map(|i| Row {
                namespace: format!("team-{}", i % 7),
                name: format!("service-{i:04}"),
                strategy: "Canary",
                phase: Phase::Progressing,
                step: Some("3/8".to_owned()),
                set_weight: Some(40),
                actual_weight: Some(40),
                ready: 5,
                current: 6,
                desired: 5,
                up_to_date: 1,
                available: 5,
                wait: (i % 5 == 0).then(|| Wait {
                    reason: "pause step — promote or abort".to_owned(),
                    since: Some(Timestamp::from_second(1_000_000 + i).unwrap()),
                }),
            })
            .collect();
        let now = Timestamp::from_second(2_000_000).unwrap();
        let start = std::time::Instant::now();
        let text = table(&rows, true, now);
        let took = start.elapsed();
        assert_eq!(text.lines().count(), 501);
        // Generous for a debug build on a shared machine; a release build
        // takes well under a millisecond.
        assert!(took.as_millis() < 50, "500 rows took {took:?}");
    }
}
