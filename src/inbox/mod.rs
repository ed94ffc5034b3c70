//! The inbox: everything waiting on this operator across releases — each
//! window a configured `shipdeck serve` holds, the Argo Rollouts of
//! configured namespaces, the workflow runs of configured GitHub
//! repositories — with what waits on others below it.
//!
//! Each source is watched by a task of its own that sends a [`Feed`] (all
//! its items, whenever they change, or why it cannot say); [`Inbox`] keeps
//! the latest of each and sorts them by urgency. The screen (`tui::inbox`),
//! the console's `i` and `shipdeck inbox --json` all read an `Inbox`.

mod github;
mod rollouts;
mod servers;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

pub use crate::engine::waiting::Deadline;
use crate::model::Person;
use crate::model::text::{clean, clip};
use crate::settings::Settings;

/// What the inbox reads, each source ready to be watched (or why it cannot
/// be, said as its trouble once watched).
#[derive(Debug, Clone)]
pub struct Sources {
    servers: Vec<servers::Server>,
    rollouts: Vec<rollouts::Namespace>,
    github: Vec<github::Repository>,
}

/// How to name something for the inbox to read, for the error when
/// nothing is.
const CONFIGURE: &str = "the inbox reads nothing: name what it reads in the config file (inbox: { servers: [URL], rollouts: [NAMESPACE], github: [OWNER/REPO] }) or with --server URL, --rollouts NS, --github OWNER/REPO";

impl Sources {
    /// The settings' `inbox:` lists (or their flags), each with what it
    /// needs (a server's token, GitHub's). A token that cannot be found is
    /// that source's trouble, not a refusal of the others.
    pub fn from_settings(settings: &Settings) -> Result<Sources, String> {
        let inbox = &settings.inbox;
        if inbox.is_empty() {
            return Err(CONFIGURE.to_string());
        }
        Ok(Sources {
            servers: inbox
                .servers
                .value
                .iter()
                .map(|s| servers::Server::new(s, &settings.operator.value, env_token(settings)))
                .collect(),
            rollouts: inbox
                .rollouts
                .value
                .iter()
                .map(rollouts::Namespace::new)
                .collect(),
            github: inbox
                .github
                .value
                .iter()
                .map(github::Repository::new)
                .collect(),
        })
    }

    /// The config's inbox, for a console: none when it names nothing.
    pub fn configured(settings: &Settings) -> Result<Option<Sources>, String> {
        match settings.inbox.is_empty() {
            true => Ok(None),
            false => Sources::from_settings(settings).map(Some),
        }
    }

    /// Every source's name, as its feeds say it.
    pub fn names(&self) -> Vec<String> {
        let servers = self.servers.iter().map(|s| s.name());
        let rollouts = self.rollouts.iter().map(|r| r.name());
        servers
            .chain(rollouts)
            .chain(self.github.iter().map(|g| g.name()))
            .collect()
    }
}

/// Whether `$SHIPDECK_TOKEN` goes to a server the inbox reads without a
/// token file of its own: only when the inbox reads that one server, so
/// one server's token never goes to another.
pub fn env_token(settings: &Settings) -> bool {
    settings.inbox.servers.value.len() <= 1
}

/// The token file the inbox reads `place`'s server or repository with,
/// so the window opened on it reads with the same.
pub fn token_file(settings: &Settings, place: &Place) -> Option<std::path::PathBuf> {
    let inbox = &settings.inbox;
    match place {
        Place::Server { url, .. } => inbox
            .servers
            .value
            .iter()
            .find(|s| &s.url == url)
            .and_then(|s| s.token_file.clone()),
        Place::Github { repo, .. } => inbox
            .github
            .value
            .iter()
            .find(|g| g.repo.eq_ignore_ascii_case(repo))
            .and_then(|g| g.token_file.clone()),
        Place::Rollout { .. } => None,
    }
}

/// Watches every source, each in a task of its own on the current tokio
/// runtime: a [`Feed`] whenever a source's items change, or when it cannot
/// be read (and it keeps trying). The tasks end once the receiver is
/// dropped.
pub fn watch(sources: Sources, operator: Person) -> mpsc::Receiver<Feed> {
    let (tx, rx) = mpsc::channel(64);
    for server in sources.servers {
        let feeder = Feeder::new(server.name(), tx.clone());
        tokio::spawn(servers::run(server, operator.clone(), feeder));
    }
    for namespace in sources.rollouts {
        let feeder = Feeder::new(namespace.name(), tx.clone());
        tokio::spawn(rollouts::run(namespace, feeder));
    }
    for repository in sources.github {
        let feeder = Feeder::new(repository.name(), tx.clone());
        tokio::spawn(github::run(repository, feeder));
    }
    rx
}

/// Every source's first word, for `--json`: waits until each has answered
/// once, or `patience` has passed (a source not heard from is in trouble).
pub async fn gather(sources: Sources, operator: Person, patience: Duration) -> Inbox {
    let mut waiting: BTreeSet<String> = sources.names().into_iter().collect();
    let mut feeds = watch(sources, operator);
    let mut inbox = Inbox::default();
    let until = tokio::time::Instant::now() + patience;
    while !waiting.is_empty() {
        match tokio::time::timeout_at(until, feeds.recv()).await {
            Ok(Some(feed)) => {
                waiting.remove(&feed.source);
                inbox.take(feed);
            }
            Ok(None) | Err(_) => break,
        }
    }
    for source in waiting {
        inbox.take(Feed {
            source,
            items: Vec::new(),
            trouble: Some(format!("no answer in {} s", patience.as_secs())),
        });
    }
    inbox
}

/// The task's side of a source: sends its feed when it differs from the
/// last one sent.
struct Feeder {
    source: String,
    tx: mpsc::Sender<Feed>,
    last: Option<(Vec<Item>, Option<String>)>,
}

/// The receiver is gone: the task ends.
struct Gone;

/// The longest trouble said.
const MAX_TROUBLE: usize = 300;

impl Feeder {
    fn new(source: String, tx: mpsc::Sender<Feed>) -> Feeder {
        Feeder {
            source,
            tx,
            last: None,
        }
    }

    /// The source's items now, and its trouble if any; nothing is sent
    /// when both are as they were.
    async fn say(&mut self, items: Vec<Item>, trouble: Option<&str>) -> Result<(), Gone> {
        let trouble = trouble.map(|t| clip(&clean(&t.replace(['\n', '\r'], " ")), MAX_TROUBLE));
        let now = (items, trouble);
        if self.last.as_ref() == Some(&now) {
            return Ok(());
        }
        let feed = Feed {
            source: self.source.clone(),
            items: now.0.clone(),
            trouble: now.1.clone(),
        };
        self.last = Some(now);
        self.tx.send(feed).await.map_err(|_| Gone)
    }

    /// Its items as they were, and why it cannot say more now.
    async fn trouble(&mut self, why: &str) -> Result<(), Gone> {
        let items = self.last.as_ref().map(|l| l.0.clone()).unwrap_or_default();
        self.say(items, Some(why)).await
    }

    /// Its items, no trouble.
    async fn items(&mut self, items: Vec<Item>) -> Result<(), Gone> {
        self.say(items, None).await
    }

    /// Resolves once nobody reads the feeds any more.
    async fn closed(&self) {
        self.tx.closed().await
    }
}

/// The wait before the n-th try after a failure: from 2 s, doubling, up
/// to a minute.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(2)
        .saturating_mul(1 << failures.saturating_sub(1).min(5))
        .min(Duration::from_secs(60))
}

/// A word for a shell: as it is when it is plain, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    match plain {
        true => text.to_string(),
        false => format!("'{}'", clean(text).replace('\'', "'\\''")),
    }
}

/// `shipdeck do VERB` and its options, each value a shell word.
fn do_line(verb: &str, options: &[(&str, &str)]) -> String {
    let mut line = format!("shipdeck do {verb}");
    for (flag, value) in options {
        line.push_str(&format!(" {flag} {}", shell_word(value)));
    }
    line
}

/// The inbox as JSON for scripts: every item (this operator's first, each
/// part by urgency) and each source in trouble.
pub fn json(inbox: &Inbox, now: Timestamp) -> String {
    use serde_json::json;
    let seconds = |from: Timestamp, to: Timestamp| to.as_second().saturating_sub(from.as_second());
    let items: Vec<serde_json::Value> = inbox
        .items_by_source()
        .into_iter()
        .map(|(source, item)| {
            json!({
                "source": source,
                "place": place_json(&item.place),
                "release": item.release,
                "what": item.what,
                "stage": item.stage,
                "since": item.since.map(|t| t.to_string()),
                "waited_seconds": item.since.map(|t| seconds(t, now).max(0)),
                "deadline": item.deadline.as_ref().map(|d| json!({
                    "at": d.at.to_string(),
                    "what": d.what,
                    "in_seconds": seconds(now, d.at),
                })),
                "mine": item.mine,
                "others": item.others,
                "act": item.act,
            })
        })
        .collect();
    let troubles: Vec<serde_json::Value> = inbox
        .troubles()
        .into_iter()
        .map(|(source, why)| json!({ "source": source, "trouble": why }))
        .collect();
    let body = json!({
        "mine": inbox.mine(),
        "items": items,
        "troubles": troubles,
    });
    let text = serde_json::to_string_pretty(&body).unwrap_or_default();
    crate::model::text::json_safe(&text).into_owned()
}

fn place_json(place: &Place) -> serde_json::Value {
    use serde_json::json;
    match place {
        Place::Server { url, release } => {
            json!({ "kind": "server", "url": url, "release": release })
        }
        Place::Rollout {
            context,
            namespace,
            name,
        } => json!({ "kind": "rollout", "context": context, "namespace": namespace, "name": name }),
        Place::Github { repo, run, api_url } => {
            json!({ "kind": "github", "repo": repo, "run": run, "api_url": api_url })
        }
    }
}

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
    /// Every item by urgency, as (source, index in its feed): sorted once
    /// a feed comes, not each time the list is drawn.
    order: Vec<(String, usize)>,
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
        let mut order: Vec<(&str, usize, &Item)> = self
            .feeds
            .values()
            .flat_map(|f| {
                f.items
                    .iter()
                    .enumerate()
                    .map(|(n, i)| (f.source.as_str(), n, i))
            })
            .collect();
        order.sort_by_key(|(_, _, i)| urgency(i));
        self.order = order
            .into_iter()
            .map(|(source, n, _)| (source.to_string(), n))
            .collect();
    }

    /// Every item, this operator's first, each part by urgency: the nearest
    /// deadline first, then the longest wait.
    pub fn items(&self) -> Vec<&Item> {
        self.items_by_source().into_iter().map(|(_, i)| i).collect()
    }

    /// Every item with its source's name, in the order of [`Inbox::items`].
    pub fn items_by_source(&self) -> Vec<(&str, &Item)> {
        (0..self.order.len()).filter_map(|n| self.nth(n)).collect()
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The `n`th item in the order of [`Inbox::items`], with its source.
    pub fn nth(&self, n: usize) -> Option<(&str, &Item)> {
        let (source, at) = self.order.get(n)?;
        let feed = self.feeds.get(source)?;
        Some((feed.source.as_str(), feed.items.get(*at)?))
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
