//! `shipdeck runs OWNER/REPO`: a repository's recent workflow runs as
//! `gh run list` shows them, with a WAITING column for the runs held for a
//! review: first those I may review, longest waiting first, then those
//! waiting on others, then the rest newest first.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::Serialize;

use super::client::{Api, Repo, RunFilter};
use super::refusal::Asked;
use super::types::{PendingDeployment, Run};
use crate::argo::list::age;
use crate::model::text::{clip, json_safe};

const MAX_WORKFLOW: usize = 40;
const MAX_BRANCH: usize = 40;
const MAX_ACTOR: usize = 39;
const MAX_TITLE: usize = 60;
const MAX_ENVIRONMENT: usize = 40;
/// Reviewers named of one environment.
const MAX_REVIEWERS: usize = 5;

/// One environment a run waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub id: u64,
    pub name: String,
    /// The token's user may review it.
    pub mine: bool,
    /// `hubot`, `@octo-org/sre`.
    pub reviewers: Vec<String>,
}

/// What a waiting run waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub gates: Vec<Gate>,
    /// Since when, as far as GitHub tells (the first wait timer's start,
    /// else the run's last change).
    pub since: Timestamp,
    /// Why the environments could not be read, if they could not.
    pub unread: Option<String>,
}

impl Waiting {
    pub fn new(run: &Run, pending: &[PendingDeployment]) -> Waiting {
        let mut gates: Vec<Gate> = pending
            .iter()
            .map(|p| Gate {
                id: p.environment.id,
                name: clip(&p.environment.name, MAX_ENVIRONMENT),
                mine: p.current_user_can_approve,
                reviewers: p
                    .reviewers
                    .iter()
                    .map(|r| clip(&r.handle(), MAX_ACTOR))
                    .collect(),
            })
            .collect();
        gates.sort_by_key(|g| !g.mine);
        let since = pending
            .iter()
            .filter_map(|p| p.wait_timer_started_at)
            .min()
            .unwrap_or(run.updated_at);
        Waiting {
            gates,
            since,
            unread: None,
        }
    }

    pub fn mine(&self) -> bool {
        self.gates.iter().any(|g| g.mine)
    }

    /// `production — you may review · 12m`.
    fn text(&self, now: Timestamp) -> String {
        let said: Vec<String> = self.gates.iter().map(Gate::text).collect();
        let what = match (&self.unread, said.is_empty()) {
            (Some(why), _) => format!("a review (environments not read: {why})"),
            (None, true) => "a review".to_string(),
            (None, false) => said.join("; "),
        };
        format!("{what} · {}", age(self.since, now))
    }
}

impl Gate {
    fn text(&self) -> String {
        if self.mine {
            return format!("{} — you may review", self.name);
        }
        if self.reviewers.is_empty() {
            return format!("{} — no reviewer named", self.name);
        }
        let mut names = self.reviewers[..self.reviewers.len().min(MAX_REVIEWERS)].join(", ");
        if self.reviewers.len() > MAX_REVIEWERS {
            names.push_str(&format!(
                " and {} more",
                self.reviewers.len() - MAX_REVIEWERS
            ));
        }
        format!("{} — reviewers: {names}", self.name)
    }
}

/// One line of the list: a run, cleaned, and what it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: u64,
    /// `completed`, `in_progress`, `waiting`, …
    pub status: String,
    pub conclusion: Option<String>,
    pub workflow: String,
    pub branch: String,
    pub event: String,
    pub created_at: Timestamp,
    pub actor: String,
    pub title: String,
    pub url: String,
    pub waiting: Option<Waiting>,
}

impl Row {
    pub fn new(run: &Run, waiting: Option<Waiting>) -> Row {
        Row {
            id: run.id,
            status: clip(run.status(), 30),
            conclusion: run.conclusion().map(|c| clip(c, 30)),
            workflow: clip(run.name.as_deref().unwrap_or("-"), MAX_WORKFLOW),
            branch: clip(run.head_branch.as_deref().unwrap_or("-"), MAX_BRANCH),
            event: clip(&run.event, 30),
            created_at: run.created_at,
            actor: clip(
                run.actor.as_ref().map_or("-", |a| a.login.as_str()),
                MAX_ACTOR,
            ),
            title: clip(run.display_title.as_deref().unwrap_or(""), MAX_TITLE),
            url: clip(&run.html_url, 200),
            waiting,
        }
    }

    /// `✓ success`, `X failure`, `* in_progress`, `! waiting`, as `gh`
    /// marks them.
    pub fn status_text(&self) -> String {
        let word = match (self.status.as_str(), &self.conclusion) {
            ("completed", Some(c)) => c.as_str(),
            (status, _) => status,
        };
        let icon = match word {
            "success" => "✓",
            c if super::types::failed(Some(c)) => "X",
            "cancelled" | "skipped" | "neutral" | "stale" => "-",
            "waiting" | "action_required" => "!",
            _ => "*",
        };
        format!("{icon} {word}")
    }
}

/// Recent runs of `repo` as a table (or JSON), the waiting ones' gates
/// read. A refusal is one sentence.
pub async fn runs_table(
    api: &Api,
    repo: &Repo,
    filter: &RunFilter,
    json: bool,
) -> Result<String, String> {
    let runs = api
        .runs(repo, filter, 1)
        .await
        .map_err(|e| super::refusal::of(api, &e, &Asked::Read("the runs"), repo))?;
    let mut rows = Vec::with_capacity(runs.value.len());
    for run in &runs.value {
        let waiting = match run.waiting() {
            false => None,
            true => Some(match api.pending(repo, run.id).await {
                Ok(pending) => Waiting::new(run, &pending.value),
                Err(e) => Waiting {
                    unread: Some(clip(&e.to_string(), 120)),
                    ..Waiting::new(run, &[])
                },
            }),
        };
        rows.push(Row::new(run, waiting));
    }
    let now = Timestamp::now();
    Ok(match json {
        true => to_json(&rows, now),
        false => table(&rows, now),
    })
}

/// Waiting on me first, then waiting on others, each longest first; the
/// rest in GitHub's order (newest first).
fn order(rows: &[Row]) -> Vec<&Row> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| match &r.waiting {
        Some(w) if w.mine() => (0, Some(w.since)),
        Some(w) => (1, Some(w.since)),
        None => (2, None),
    });
    sorted
}

const HEADERS: [&str; 9] = [
    "STATUS", "WORKFLOW", "BRANCH", "EVENT", "ID", "AGE", "ACTOR", "TITLE", "WAITING",
];

/// The list as a table, two spaces between columns, no trailing spaces.
pub fn table(rows: &[Row], now: Timestamp) -> String {
    let cells: Vec<[Cow<'_, str>; 9]> = order(rows).into_iter().map(|r| cells(r, now)).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    write_line(&mut out, HEADERS.iter().copied(), &widths);
    for row in &cells {
        write_line(&mut out, row.iter().map(|c| c.as_ref()), &widths);
    }
    out
}

fn write_line<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>, widths: &[usize; 9]) {
    let start = out.len();
    for (cell, width) in cells.zip(widths) {
        out.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count()) + 2;
        out.extend(std::iter::repeat_n(' ', pad));
    }
    let trimmed = out[start..].trim_end().len();
    out.truncate(start + trimmed);
    out.push('\n');
}

fn cells(r: &Row, now: Timestamp) -> [Cow<'_, str>; 9] {
    [
        Cow::Owned(r.status_text()),
        Cow::Borrowed(&r.workflow),
        Cow::Borrowed(&r.branch),
        Cow::Borrowed(&r.event),
        Cow::Owned(r.id.to_string()),
        Cow::Owned(age(r.created_at, now)),
        Cow::Borrowed(&r.actor),
        Cow::Borrowed(if r.title.is_empty() { "-" } else { &r.title }),
        r.waiting
            .as_ref()
            .map_or(Cow::Borrowed("-"), |w| Cow::Owned(w.text(now))),
    ]
}

#[derive(Serialize)]
struct JsonRow<'a> {
    id: u64,
    status: &'a str,
    conclusion: Option<&'a str>,
    workflow: &'a str,
    branch: &'a str,
    event: &'a str,
    created_at: Timestamp,
    actor: &'a str,
    title: &'a str,
    url: &'a str,
    waiting: Option<JsonWaiting<'a>>,
}

#[derive(Serialize)]
struct JsonWaiting<'a> {
    since: Timestamp,
    seconds: i64,
    environments: Vec<JsonGate<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unread: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonGate<'a> {
    id: u64,
    name: &'a str,
    you_may_review: bool,
    reviewers: &'a [String],
}

/// The list as JSON (`--format json`): an array in the table's order.
pub fn to_json(rows: &[Row], now: Timestamp) -> String {
    let out: Vec<JsonRow<'_>> = order(rows)
        .into_iter()
        .map(|r| JsonRow {
            id: r.id,
            status: &r.status,
            conclusion: r.conclusion.as_deref(),
            workflow: &r.workflow,
            branch: &r.branch,
            event: &r.event,
            created_at: r.created_at,
            actor: &r.actor,
            title: &r.title,
            url: &r.url,
            waiting: r.waiting.as_ref().map(|w| JsonWaiting {
                since: w.since,
                seconds: now.as_second().saturating_sub(w.since.as_second()).max(0),
                environments: w
                    .gates
                    .iter()
                    .map(|g| JsonGate {
                        id: g.id,
                        name: &g.name,
                        you_may_review: g.mine,
                        reviewers: &g.reviewers,
                    })
                    .collect(),
                unread: w.unread.as_deref(),
            }),
        })
        .collect();
    let text = serde_json::to_string_pretty(&out).unwrap_or_else(|_| "[]".to_owned());
    json_safe(&text).into_owned()
}

#[cfg(test)]
mod tests;
