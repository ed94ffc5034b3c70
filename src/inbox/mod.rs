//! The inbox: everything waiting on this operator across releases — each
//! window a configured `shipdeck serve` holds, the Argo Rollouts of
//! configured namespaces, the workflow runs of configured GitHub
//! repositories — with what waits on others below it.
//!
//! Each source is watched by a task of its own that sends a [`Feed`] (all
//! its items, whenever they change, or why it cannot say); [`Inbox`] keeps
//! the latest of each and sorts them by urgency. The screen (`tui::inbox`),
//! the console's `i` and `shipdeck inbox --json` all read an `Inbox`.

use std::collections::BTreeMap;

use jiff::Timestamp;

pub use crate::engine::waiting::Deadline;

/// Where an item's release is, so Enter can open its window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// A window on a `shipdeck serve`.
    Server { url: String, release: String },
    /// An Argo Rollout.
    Rollout {
        context: Option<String>,
        namespace: String,
        name: String,
    },
    /// A GitHub Actions workflow run.
    Github {
        repo: String,
        run: u64,
        api_url: Option<String>,
    },
}

/// One thing waiting on a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub place: Place,
    /// The release, for people: `checkout 1.4.2 → 1.5.0 (production)`.
    pub release: String,
    /// What it waits for: `sign Production approval`, `a decision: …`.
    pub what: String,
    /// The stage (or job, or step) it holds up.
    pub stage: String,
    /// Since when it has waited, where the source says.
    pub since: Option<Timestamp>,
    /// Its deadline, where it has one: a wait timer, the window's end,
    /// GitHub's 30-day expiry, a timed pause.
    pub deadline: Option<Deadline>,
    /// Whether this operator may do it now.
    pub mine: bool,
    /// Who else may, when the source says: `dave or erin`.
    pub others: Option<String>,
    /// The `shipdeck do …` line that does it, for a shell.
    pub act: Option<String>,
}

/// What one source says: all its items now, or why it cannot say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// The source, for people: `https://deploy.example:7070`,
    /// `rollouts in payments (prod)`, `github octo-org/hello`.
    pub source: String,
    pub items: Vec<Item>,
    /// Why the source could not be read just now (its items are the last
    /// it gave).
    pub trouble: Option<String>,
}

/// The latest feed of every source.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    feeds: BTreeMap<String, Feed>,
}

impl Inbox {
    /// Takes a source's latest word. A feed with trouble keeps the items the
    /// source gave last.
    pub fn take(&mut self, mut feed: Feed) {
        if feed.trouble.is_some()
            && feed.items.is_empty()
            && let Some(old) = self.feeds.get(&feed.source)
        {
            feed.items = old.items.clone();
        }
        self.feeds.insert(feed.source.clone(), feed);
    }

    /// Every item, this operator's first, each part by urgency: the nearest
    /// deadline first, then the longest wait.
    pub fn items(&self) -> Vec<&Item> {
        let mut all: Vec<&Item> = self.feeds.values().flat_map(|f| &f.items).collect();
        all.sort_by_key(|i| urgency(i));
        all
    }

    /// How many items wait on this operator.
    pub fn mine(&self) -> usize {
        self.feeds
            .values()
            .flat_map(|f| &f.items)
            .filter(|i| i.mine)
            .count()
    }

    /// The sources that could not be read, and why.
    pub fn troubles(&self) -> Vec<(&str, &str)> {
        self.feeds
            .values()
            .filter_map(|f| Some((f.source.as_str(), f.trouble.as_deref()?)))
            .collect()
    }

    /// The sources heard from so far.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.feeds.keys().map(String::as_str)
    }
}

/// The order of the list: mine first; then a deadline before none, the
/// nearest first; then the longest wait; then the release, for a stable
/// order.
fn urgency(item: &Item) -> impl Ord + '_ {
    (
        !item.mine,
        item.deadline.as_ref().map(|d| d.at).is_none(),
        item.deadline.as_ref().map(|d| d.at),
        item.since.is_none(),
        item.since,
        &item.release,
        &item.what,
    )
}

mod pending;
pub use pending::{Sources, token_file, watch};
