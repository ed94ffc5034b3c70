//! The inbox's servers: each `shipdeck serve` lists its releases, and each
//! release in flight is followed on its event stream, folded into a
//! [`Release`] and asked what it waits on a person for
//! ([`waiting::of`]) after each batch, under the name the server knows
//! this operator by (`whoami`, then each stream's hello). New releases are found by listing
//! again every 30 s; an idle stream costs a clock message now and then.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::{Deadline, Feeder, Gone, Item, Place, backoff, do_line};
use crate::api::ReleaseSummary;
use crate::backend::http::Remote;
use crate::backend::{Connection, Update};
use crate::engine::waiting::{self, Ask, Wait};
use crate::model::{Person, Release};
use crate::settings::InboxServer;

/// How often the releases are listed again, for new ones.
const LIST_EVERY: Duration = Duration::from_secs(30);
/// Log lines kept of a followed release: none are shown.
const LOG_LINES: usize = 16;

/// A server, with its client (or why there is none).
#[derive(Debug, Clone)]
pub(super) struct Server {
    url: String,
    token_file: Option<PathBuf>,
    remote: Result<Remote, String>,
}

impl Server {
    /// The server's token from its token file, else `$SHIPDECK_TOKEN` when
    /// `env_token` says it may have it.
    pub(super) fn new(settings: &InboxServer, operator: &Person, env_token: bool) -> Server {
        let token = match &settings.token_file {
            Some(path) => crate::cli::remote::token_from_file(path).map(Some),
            None => Ok(std::env::var("SHIPDECK_TOKEN")
                .ok()
                .map(|t| t.trim().to_string())
                .filter(|t| env_token && !t.is_empty())),
        };
        let remote = token.and_then(|t| Remote::new(&settings.url, t.as_deref(), operator));
        Server {
            url: settings.url.clone(),
            token_file: settings.token_file.clone(),
            remote,
        }
    }

    pub(super) fn name(&self) -> String {
        crate::model::text::clean(&self.url).into_owned()
    }
}

/// Watches one server until nobody reads its feeds.
pub(super) async fn run(server: Server, operator: Person, mut feeder: Feeder) {
    let remote = match server.remote.clone() {
        Ok(remote) => remote,
        Err(why) => {
            let _ = feeder.trouble(&why).await;
            return;
        }
    };
    let (reports, incoming) = mpsc::channel(64);
    let mut watcher = Watcher {
        remote,
        server,
        operator,
        feeder,
        followed: BTreeMap::new(),
        reports,
        incoming,
        trouble: None,
        said: false,
    };
    let _ = watcher.serve().await;
    for followed in watcher.followed.values() {
        followed.task.abort();
    }
}

/// What a release's follower says: what waits now, how far it has read,
/// and why it cannot read, if it cannot.
#[derive(Debug, Clone, PartialEq)]
struct Report {
    id: String,
    last_seq: u64,
    items: Vec<Item>,
    trouble: Option<String>,
}

struct Followed {
    task: JoinHandle<()>,
    /// The seq the server had when it listed the release: read to there,
    /// the follower has caught up.
    listed_seq: u64,
    report: Option<Report>,
}

struct Watcher {
    remote: Remote,
    server: Server,
    operator: Person,
    feeder: Feeder,
    followed: BTreeMap<String, Followed>,
    reports: mpsc::Sender<Report>,
    incoming: mpsc::Receiver<Report>,
    /// Why the releases could not be listed.
    trouble: Option<String>,
    /// A first feed has been sent.
    said: bool,
}

impl Watcher {
    async fn serve(&mut self) -> Result<(), Gone> {
        let mut next_list = Instant::now();
        let mut failures = 0;
        let mut known = false;
        loop {
            if Instant::now() >= next_list {
                // Who the server takes this operator to be (a server with
                // tokens decides): what is "mine" is for that name.
                if !known && let Ok(who) = self.remote.identity().await {
                    known = true;
                    self.operator = who.unwrap_or_else(|| self.operator.clone());
                }
                match self.remote.releases().await {
                    Ok(releases) => {
                        failures = 0;
                        self.trouble = None;
                        self.take_list(releases);
                        next_list = Instant::now() + LIST_EVERY;
                    }
                    Err(err) => {
                        failures += 1;
                        self.trouble = Some(format!("cannot list the releases: {err}"));
                        next_list = Instant::now() + backoff(failures);
                    }
                }
                self.tell().await?;
            }
            tokio::select! {
                report = self.incoming.recv() => {
                    if let Some(report) = report
                        && let Some(followed) = self.followed.get_mut(&report.id)
                    {
                        followed.report = Some(report);
                        self.tell().await?;
                    }
                }
                () = sleep_until(next_list) => {}
                () = self.feeder.closed() => return Err(Gone),
            }
        }
    }

    /// Follows each release in flight not followed yet; stops following
    /// those that ended or are gone.
    fn take_list(&mut self, releases: Vec<ReleaseSummary>) {
        let live: BTreeMap<String, u64> = releases
            .into_iter()
            .filter(|r| r.status.in_flight())
            .map(|r| (r.id, r.last_seq))
            .collect();
        self.followed.retain(|id, followed| {
            let keep = live.contains_key(id);
            if !keep {
                followed.task.abort();
            }
            keep
        });
        for (id, last_seq) in live {
            if let Some(followed) = self.followed.get_mut(&id) {
                followed.listed_seq = followed.listed_seq.max(last_seq);
                continue;
            }
            let follower = Follower {
                remote: self.remote.clone(),
                url: self.server.url.clone(),
                token_file: self.server.token_file.clone(),
                release: Release::new(id.clone(), LOG_LINES),
                id: id.clone(),
                operator: self.operator.clone(),
                clock: None,
                offset: None,
                patient: true,
                trouble: None,
                listed_seq: last_seq,
                last: None,
            };
            let task = tokio::spawn(follower.run(self.reports.clone()));
            let followed = Followed {
                task,
                listed_seq: last_seq,
                report: None,
            };
            self.followed.insert(id, followed);
        }
    }

    /// Sends the server's feed: every followed release's items. The first
    /// waits until each release has been read up to where it was listed
    /// (or cannot be read).
    async fn tell(&mut self) -> Result<(), Gone> {
        let ready = self.followed.values().all(|f| {
            f.report
                .as_ref()
                .is_some_and(|r| r.trouble.is_some() || r.last_seq >= f.listed_seq)
        });
        if !self.said && !ready && self.trouble.is_none() {
            return Ok(());
        }
        self.said = true;
        let reports = self.followed.values().filter_map(|f| f.report.as_ref());
        let items: Vec<Item> = reports.clone().flat_map(|r| r.items.clone()).collect();
        let trouble = self.trouble.clone().or_else(|| {
            reports
                .clone()
                .find_map(|r| Some(format!("{}: {}", r.id, r.trouble.as_deref()?)))
        });
        self.feeder.say(items, trouble.as_deref()).await
    }
}

/// How long a follower waits for the server's clock before it speaks.
const CLOCK_PATIENCE: Duration = Duration::from_secs(2);

/// Follows one release's stream and says what it waits for.
struct Follower {
    remote: Remote,
    url: String,
    token_file: Option<PathBuf>,
    id: String,
    release: Release,
    /// Who the server takes this operator to be (its hello says).
    operator: Person,
    /// The server's clock (the simulator's virtual time).
    clock: Option<Timestamp>,
    /// How far the wall clock is ahead of the release's when first heard:
    /// a served simulator's window may be set in another hour. Its waits'
    /// times are put on the wall clock, as every other source's are. It is
    /// taken once (again for a new window), so a window where nothing
    /// changes sends nothing; a simulator served faster than real time
    /// runs ahead of it, and its ages are its own clock's.
    offset: Option<SignedDuration>,
    /// Until the server's clock is heard (or a moment has passed), nothing
    /// is said.
    patient: bool,
    trouble: Option<String>,
    listed_seq: u64,
    last: Option<Report>,
}

impl Follower {
    async fn run(mut self, reports: mpsc::Sender<Report>) {
        let (tx, mut rx) = mpsc::channel(256);
        let remote = self.remote.clone();
        let id = self.id.clone();
        let stream = remote.follow(&id, tx);
        tokio::pin!(stream);
        // The first word waits a moment for the server's clock, so what it
        // says is on the wall clock from the start.
        let clock_due = Instant::now() + CLOCK_PATIENCE;
        let mut held = true;
        loop {
            tokio::select! {
                () = &mut stream => return,
                () = sleep_until(clock_due), if held => {
                    held = false;
                    self.patient = false;
                    if let Some(report) = self.report()
                        && reports.send(report).await.is_err()
                    {
                        return;
                    }
                }
                update = rx.recv() => {
                    let Some(update) = update else { return };
                    self.take(update);
                    // What has come meanwhile, as one batch.
                    while let Ok(update) = rx.try_recv() {
                        self.take(update);
                    }
                    if let Some(report) = self.report()
                        && reports.send(report).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
    }

    fn take(&mut self, update: Update) {
        match update {
            Update::Events(events) => events.iter().for_each(|e| self.release.apply(e)),
            Update::Reset => {
                self.release = Release::new(self.id.clone(), LOG_LINES);
                self.offset = None;
            }
            Update::Clock(at) => {
                self.clock = Some(at);
                // In whole seconds, so the times said stay put.
                let offset = Timestamp::now().duration_since(at).as_secs();
                self.offset.get_or_insert(SignedDuration::from_secs(offset));
            }
            Update::Identity(person) => self.operator = person,
            Update::Connection(Connection::Live) => self.trouble = None,
            Update::Connection(Connection::Lost(text)) if !text.starts_with("quiet") => {
                let why = text.split(" · ").next().unwrap_or(&text);
                self.trouble = Some(why.to_string());
            }
            _ => {}
        }
    }

    /// What the release waits for now, when it differs from what was said
    /// (or the follower has just caught up with the list).
    fn report(&mut self) -> Option<Report> {
        if self.patient && self.offset.is_none() {
            return None;
        }
        let now = self.clock.unwrap_or_else(Timestamp::now);
        let items: Vec<Item> = waiting::of(&self.release, &self.operator, now)
            .into_iter()
            .map(|w| self.item(w))
            .collect();
        let report = Report {
            id: self.id.clone(),
            last_seq: self.release.last_seq(),
            items,
            trouble: self.trouble.clone(),
        };
        let caught_up = |r: &Report| r.last_seq >= self.listed_seq;
        let same = self.last.as_ref().is_some_and(|last| {
            last.items == report.items
                && last.trouble == report.trouble
                && caught_up(last) == caught_up(&report)
        });
        if same {
            return None;
        }
        self.last = Some(report.clone());
        Some(report)
    }

    fn item(&self, wait: Wait) -> Item {
        let release = match self.release.plan() {
            Some(p) => format!(
                "{} {} → {} ({})",
                p.service, p.version_from, p.version_to, p.environment
            ),
            None => self.id.clone(),
        };
        Item {
            place: Place::Server {
                url: self.url.clone(),
                release: self.id.clone(),
            },
            release,
            what: what(&wait),
            stage: wait.stage.clone(),
            since: wait.since.map(|t| self.on_the_wall(t)),
            deadline: wait.deadline.clone().map(|d| Deadline {
                at: self.on_the_wall(d.at),
                ..d
            }),
            mine: wait.mine,
            others: wait.others.clone(),
            act: Some(self.act(&wait.ask)),
        }
    }

    /// A release's time on the wall clock.
    fn on_the_wall(&self, at: Timestamp) -> Timestamp {
        use crate::model::time::Saturating;
        match self.offset {
            Some(offset) => at.plus(offset),
            None => at,
        }
    }

    /// `shipdeck do approve --backend URL --release ID --gate G`.
    fn act(&self, ask: &Ask) -> String {
        let mut options = vec![
            ("--backend", self.url.as_str()),
            ("--release", self.id.as_str()),
        ];
        match ask {
            Ask::Sign { gate } => options.push(("--gate", gate.as_str())),
            Ask::Tick { list, item } => {
                options.extend([("--list", list.as_str()), ("--item", item.as_str())])
            }
            Ask::Retry { stage } => options.push(("--stage", stage.as_str())),
            Ask::Advance | Ask::Decide => {}
        }
        let token_file = self.token_file.as_ref().map(|p| p.display().to_string());
        if let Some(path) = &token_file {
            options.push(("--token-file", path.as_str()));
        }
        do_line(ask.verb(), &options)
    }
}

/// What a wait asks, for the list: `sign Production approval`.
fn what(wait: &Wait) -> String {
    match wait.ask {
        Ask::Sign { .. } => format!("sign {}", wait.what),
        Ask::Tick { .. } => format!("tick \"{}\"", wait.what),
        Ask::Advance => format!("advance {}", wait.what),
        Ask::Decide | Ask::Retry { .. } => wait.what.clone(),
    }
}
