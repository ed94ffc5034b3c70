//! One release on the server: its events (kept so a stream can resume from
//! any seq), the release folded from them, who is watching, and the commands
//! in flight.
//!
//! A hub is fed by a backend [`Handle`]: whatever the backend says is
//! journaled, then kept, then offered to the streams, in that order, so a
//! stream never shows an event the record lacks; should the journal fail,
//! the hub stops serving. Commands go the other way
//! through one task, which makes the same id applied once.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::backlog::{self, Backlog};
use super::exposition::Exposition;
use super::webhooks::Outbox;
use crate::api::{CommandReply, Presence, VerdictName, Watcher};
use crate::backend::{Handle, Update};
use crate::engine::Verdict;
use crate::journal::Writer;
use crate::model::text::Clean;
use crate::model::{Command, Event, Person, Release};

/// The most of a release's events kept in memory, in bytes as streams send
/// them; older ones are read back from the journal.
pub const KEEP_BYTES: usize = 64 * 1024 * 1024;

/// Commands waiting for the hub's task.
const QUEUE: usize = 256;

/// The most commands, or backend updates, taken in one go: the commands'
/// records (the verdicts') then share one sync of the journal.
const ROUND: usize = 256;

/// How often presence is sent, at most, to a crowd: a crowd arriving is told
/// as a few messages, not one per person to everyone.
pub const PRESENCE_EVERY: Duration = Duration::from_millis(500);

/// Up to this many streams, presence is sent on every change.
const FEW_STREAMS: usize = 100;

/// How often streams are woken for new events, at most, for each stream
/// open: events that come closer together than this (a burst of commands)
/// go out together, one write to each follower instead of one for each
/// event. A lone event goes out at once. With more streams, one round of
/// writes takes longer, and waking them all more often than a round takes
/// would only hold up the commands.
pub const WAKE_EVERY_PER_STREAM: Duration = Duration::from_micros(20);

/// The shortest and longest holds between two wakes.
pub const WAKE_EVERY: (Duration, Duration) =
    (Duration::from_millis(20), Duration::from_millis(100));

/// Everything a stream waits on, in one `watch`, so a follower wakes once
/// for all that changed: how far the events go, the clock's and presence's
/// messages (each counted as it changes), the keep-alive beat, and why the
/// hub stopped.
#[derive(Debug, Clone)]
pub struct Pulse {
    pub seq: u64,
    pub clock: (u64, Option<Bytes>),
    pub presence: (u64, Bytes),
    pub beat: u64,
    pub stopped: Option<String>,
}

/// Holds something back to at most once every so often: the first change
/// after a quiet spell goes out at once, the rest together at the end of
/// the spell.
#[derive(Debug, Default)]
struct Throttle {
    sent: Option<Instant>,
    /// When the send held back is due, if one is.
    due: Option<Instant>,
}

/// What a [`Throttle`] says to do with a change.
enum Go {
    Now,
    /// Send what there is then: nothing is due before it.
    At(Instant),
    /// A send is already due; it will take this change too.
    Due,
}

impl Throttle {
    fn ask(&mut self, every: Duration) -> Go {
        let now = Instant::now();
        match (self.due, self.sent) {
            // Due and not yet gone (its timer is late on a busy server):
            // what comes now sends it.
            (Some(due), _) if now >= due => {
                self.gone();
                Go::Now
            }
            (Some(_), _) => Go::Due,
            (None, Some(sent)) if now < sent + every => {
                self.due = Some(sent + every);
                Go::At(sent + every)
            }
            (None, _) => {
                self.sent = Some(now);
                Go::Now
            }
        }
    }

    /// The send that was due has gone.
    fn gone(&mut self) {
        self.due = None;
        self.sent = Some(Instant::now());
    }
}

/// Beats every [`super::KEEP_ALIVE`] while the hub is served, so each quiet
/// stream writes a keep-alive.
async fn beat(hub: std::sync::Weak<Hub>) {
    let start = Instant::now() + super::KEEP_ALIVE;
    let mut every = tokio::time::interval_at(start, super::KEEP_ALIVE);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(hub) = hub.upgrade() else { return };
        hub.pulse.send_modify(|pulse| pulse.beat += 1);
    }
}

/// Runs `then` on the hub at `at`, if the server is still running.
fn later(hub: &Arc<Hub>, at: Instant, then: fn(&Arc<Hub>)) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return; // the server is going
    };
    let hub = Arc::clone(hub);
    runtime.spawn(async move {
        tokio::time::sleep_until(at).await;
        then(&hub);
    });
}

/// The answer to a command, for the HTTP layer to turn into a status.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Applied or refused by the backend; a refusal says on what grounds
    /// (who gave it: 403, where the release stands: 409).
    Done(Verdict),
    /// The id was used before for another command or by another operator.
    Conflict(String),
    /// The command could not be journaled, so it was not applied.
    Unrecorded(String),
    /// The backend has stopped.
    Gone,
}

struct Request {
    command: Command,
    reply: oneshot::Sender<Answer>,
}

struct State {
    release: Release,
    /// What `/metrics` shows of the simulated service.
    exposition: Exposition,
    /// The events as streams send them, in seq order.
    events: VecDeque<(u64, Bytes)>,
    /// Their bytes, and the most kept.
    kept: usize,
    keep_at_most: usize,
}

impl State {
    fn keep(&mut self, event: &Event) {
        let frame = frame(event);
        self.kept += frame.len();
        self.events.push_back((event.seq, frame));
        while self.kept > self.keep_at_most
            && let Some((_, oldest)) = self.events.pop_front()
        {
            self.kept -= oldest.len();
        }
    }
}

/// Who watches: each stream, and each person with how many streams they
/// have open and since when.
#[derive(Default)]
struct Watching {
    next: u64,
    streams: HashMap<u64, Person>,
    people: HashMap<Person, (u32, Timestamp)>,
    sending: Throttle,
}

/// Why events let go from memory cannot be read back from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not now (out of descriptors, a read that failed): try again.
    Now(String),
    /// Never: the journal is gone, or the window it held has ended.
    Gone(String),
}

/// Journal reads at a time: a crowd catching up shares them.
const READS: usize = 2;

/// The events after a seq, or word that the oldest were let go.
#[derive(Debug)]
pub enum After {
    /// Each event's seq and its frame, as the stream sends it.
    Events(Vec<(u64, Bytes)>),
    /// Events before this seq are no longer kept in memory.
    Gone(u64),
}

/// One release served.
pub struct Hub {
    pub id: String,
    /// Names this run of the release: the journal's file stem. A backend
    /// that begins a new window (a Rollout's new revision) changes it.
    window: RwLock<String>,
    /// Counts the windows begun, so a stream can tell cheaply that its
    /// window has ended.
    epoch: AtomicU64,
    log_capacity: usize,
    state: RwLock<State>,
    /// The seq of the newest event kept (streams are told of it in the
    /// pulse, held back a little).
    last_seq: AtomicU64,
    /// What streams wait on; its messages are made once for every stream.
    pulse: watch::Sender<Pulse>,
    /// Holds back how often streams are woken for new events.
    waking: Mutex<Throttle>,
    watching: Mutex<Watching>,
    /// Where the events no longer kept in memory are read back from.
    backlog: Mutex<Backlog>,
    /// Turns to read the journal.
    reading: tokio::sync::Semaphore,
    requests: mpsc::Sender<Request>,
}

/// What a hub starts from.
pub struct Opening {
    /// The release's id.
    pub id: String,
    /// Names this run of the release.
    pub window: String,
    pub log_capacity: usize,
    /// Events already recorded (a window taken up again).
    pub history: Vec<Event>,
    /// Virtual seconds per real second (`None`: as fast as it goes), so
    /// that `/metrics` counts requests per real second.
    pub speed: Option<f64>,
    /// Commands already decided.
    pub answered: Answered,
    /// Where what starts and stops waiting is posted, if anywhere.
    pub webhooks: Option<Outbox>,
}

/// Commands already answered, by id: what was asked and the answer.
pub type Answered = HashMap<String, (Command, Answer)>;

impl Hub {
    /// Starts serving a release. The hub's task runs until `stop` fires or the backend ends, then closes the
    /// journal with the reason `stop` gave.
    pub fn start(
        opening: Opening,
        backend: Handle,
        journal: Writer,
        stop: oneshot::Receiver<String>,
    ) -> (Arc<Hub>, tokio::task::JoinHandle<()>) {
        let Opening {
            id,
            window,
            log_capacity,
            history,
            answered,
            speed,
            mut webhooks,
        } = opening;
        let (requests, request_rx) = mpsc::channel(QUEUE);
        let mut state = State {
            release: Release::new(id.clone(), log_capacity),
            exposition: Exposition::at_speed(speed),
            events: VecDeque::new(),
            kept: 0,
            keep_at_most: KEEP_BYTES,
        };
        for event in &history {
            state.release.apply(event);
            state.exposition.observe(event);
            state.keep(event);
        }
        let release = &state.release;
        if let Some(outbox) = &mut webhooks {
            outbox.begin(release);
        }
        let hub = Arc::new(Hub {
            id,
            window: RwLock::new(window),
            epoch: AtomicU64::new(0),
            log_capacity,
            last_seq: AtomicU64::new(release.last_seq()),
            pulse: watch::Sender::new(Pulse {
                seq: release.last_seq(),
                clock: (0, release.last_at().map(clock_message)),
                presence: (0, message("presence", &Presence::default())),
                beat: 0,
                stopped: None,
            }),
            waking: Mutex::new(Throttle::default()),
            state: RwLock::new(state),
            watching: Mutex::new(Watching::default()),
            backlog: Mutex::new(Backlog::at(journal.path())),
            reading: tokio::sync::Semaphore::new(READS),
            requests,
        });
        tokio::spawn(beat(Arc::downgrade(&hub)));
        let task = tokio::spawn(drive(
            Arc::clone(&hub),
            backend,
            Outlets { journal, webhooks },
            request_rx,
            answered,
            stop,
        ));
        (hub, task)
    }

    /// The window served now.
    pub fn window(&self) -> String {
        self.window
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Which window is served now, as a count: it changes when the
    /// backend begins a new one.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The backend began a new window: the old one's events and state are
    /// gone, and every stream ends so its client connects again and is
    /// told (its hello names the new window).
    fn new_window(&self, window: String, journal: &std::path::Path) {
        *self.backlog.lock().unwrap_or_else(|e| e.into_inner()) = Backlog::at(journal);
        *self.window.write().unwrap_or_else(|e| e.into_inner()) = window;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.release = Release::new(self.id.clone(), self.log_capacity);
        state.events.clear();
        state.kept = 0;
        drop(state);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.last_seq.store(0, Ordering::Release);
        self.pulse.send_modify(|pulse| pulse.seq = 0);
    }

    /// Keeps at most `bytes` of events in memory from now on (a test's
    /// long window in a few events).
    #[cfg(test)]
    fn keep_at_most(&self, bytes: usize) {
        self.state
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .keep_at_most = bytes;
    }

    /// Reads the folded release.
    pub fn with_release<T>(&self, f: impl FnOnce(&Release) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|e| e.into_inner()).release)
    }

    /// Up to `max` events after `seq`.
    pub fn events_after(&self, seq: u64, max: usize) -> After {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        if let Some(&(first, _)) = state.events.front()
            && seq.saturating_add(1) < first
        {
            return After::Gone(first);
        }
        let start = state.events.partition_point(|(s, _)| *s <= seq);
        After::Events(state.events.range(start..).take(max).cloned().collect())
    }

    /// Up to `max` events after `seq` that are no longer kept in memory,
    /// read back from the journal of window `epoch`. A few reads at a time,
    /// each on a blocking thread.
    pub async fn events_from_journal(
        &self,
        epoch: u64,
        seq: u64,
        max: usize,
    ) -> Result<Vec<(u64, Bytes)>, Unreadable> {
        let place = self
            .backlog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .place(seq);
        let Some((path, offset)) = place.filter(|_| self.epoch() == epoch) else {
            return Err(Unreadable::Gone("another window began".into()));
        };
        let before = {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            state.events.front().map_or(u64::MAX, |(first, _)| *first)
        };
        let Ok(_turn) = self.reading.acquire().await else {
            return Err(Unreadable::Gone("the server is stopping".into()));
        };
        let read = tokio::task::spawn_blocking(move || {
            backlog::read(&path, offset, seq, before, max, frame)
        });
        let found = match read.await {
            Ok(Ok(found)) => found,
            Ok(Err(err)) => {
                tracing::warn!(
                    "events after seq {seq} cannot be read back from the journal: {err}"
                );
                return Err(match err.kind() {
                    std::io::ErrorKind::NotFound => Unreadable::Gone(err.to_string()),
                    _ => Unreadable::Now(err.to_string()),
                });
            }
            Err(err) => return Err(Unreadable::Now(err.to_string())),
        };
        let mut backlog = self.backlog.lock().unwrap_or_else(|e| e.into_inner());
        if self.epoch() != epoch {
            return Err(Unreadable::Gone("another window began".into()));
        }
        backlog.learn(&found.marks);
        Ok(found.events)
    }

    /// The release's service metrics, in Prometheus's text format.
    pub fn exposition(&self) -> String {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .exposition
            .render()
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Acquire)
    }

    /// What a stream waits on.
    pub fn watch_pulse(&self) -> watch::Receiver<Pulse> {
        self.pulse.subscribe()
    }

    /// Why the hub stopped serving (its backend ended, the server
    /// stops), once it has.
    pub fn stopped(&self) -> Option<String> {
        self.pulse.borrow().stopped.clone()
    }

    /// Asks the backend to apply a command; answers once it has decided.
    pub async fn command(&self, command: Command) -> Answer {
        let (reply, answer) = oneshot::channel();
        if self
            .requests
            .send(Request { command, reply })
            .await
            .is_err()
        {
            return Answer::Gone;
        }
        answer.await.unwrap_or(Answer::Gone)
    }

    /// Someone opened a stream; they are counted as watching until the
    /// returned seat is dropped.
    pub fn join(self: &Arc<Hub>, operator: Person) -> Seat {
        let mut watching = self.watching();
        watching.next += 1;
        let id = watching.next;
        let person = watching
            .people
            .entry(operator.clone())
            .or_insert((0, Timestamp::now()));
        person.0 += 1;
        watching.streams.insert(id, operator);
        self.presence_changed(&mut watching);
        Seat {
            hub: Arc::clone(self),
            id,
        }
    }

    fn leave(self: &Arc<Hub>, id: u64) {
        let mut watching = self.watching();
        let Some(operator) = watching.streams.remove(&id) else {
            return;
        };
        if let Some(person) = watching.people.get_mut(&operator) {
            person.0 -= 1;
            if person.0 == 0 {
                watching.people.remove(&operator);
            }
        }
        self.presence_changed(&mut watching);
    }

    fn watching(&self) -> std::sync::MutexGuard<'_, Watching> {
        self.watching.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends presence now if none went out lately, or else once
    /// [`PRESENCE_EVERY`] has passed since the last.
    fn presence_changed(self: &Arc<Hub>, watching: &mut Watching) {
        // A few streams cost little to tell at once, and a new one's first
        // presence is then up to date.
        if watching.streams.len() <= FEW_STREAMS {
            watching.sending.gone();
            self.publish(watching);
            return;
        }
        match watching.sending.ask(PRESENCE_EVERY) {
            Go::Now => self.publish(watching),
            Go::At(at) => later(self, at, |hub| {
                let mut watching = hub.watching();
                watching.sending.gone();
                hub.publish(&watching);
            }),
            Go::Due => {}
        }
    }

    fn publish(&self, watching: &Watching) {
        let named = self.with_release(named_people);
        let presence = message("presence", &presence(&watching.people, &named));
        self.pulse.send_modify(|pulse| {
            pulse.presence = (pulse.presence.0 + 1, presence);
        });
    }

    /// The backend's clock moved: every stream is told.
    fn clock_moved(&self, at: Timestamp) {
        let clock = clock_message(at);
        self.pulse.send_modify(|pulse| {
            pulse.clock = (pulse.clock.0 + 1, Some(clock));
        });
    }

    /// New events: streams are woken now, or with what else comes soon
    /// after the last wake (20 ms with up to a thousand streams open, up to
    /// 100 ms with five thousand).
    fn wake_streams(self: &Arc<Hub>) {
        let streams = u32::try_from(self.watching().streams.len()).unwrap_or(u32::MAX);
        let (least, most) = WAKE_EVERY;
        let every = (WAKE_EVERY_PER_STREAM * streams).clamp(least, most);
        let asked = self
            .waking
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ask(every);
        match asked {
            Go::Now => self.tell_seq(),
            Go::At(at) => later(self, at, |hub| {
                hub.waking.lock().unwrap_or_else(|e| e.into_inner()).gone();
                hub.tell_seq();
            }),
            Go::Due => {}
        }
    }

    fn tell_seq(&self) {
        let last = self.last_seq();
        self.pulse.send_if_modified(|pulse| {
            let moved = pulse.seq != last;
            pulse.seq = last;
            moved
        });
    }

    /// The hub stopped serving, and why: every stream is told.
    fn stop(&self, why: String) {
        self.pulse.send_modify(|pulse| pulse.stopped = Some(why));
    }

    /// The service's traffic, for `/metrics`.
    fn traffic(&self, points: &[crate::model::MetricPoint]) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for point in points {
            state.exposition.traffic(point);
        }
    }

    /// Keeps and shows events the journal holds from `offset` on.
    fn append(self: &Arc<Hub>, events: &[Event], offset: u64) {
        let Some(first) = events.first() else {
            return;
        };
        self.backlog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .mark(first.seq, offset);
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for event in events {
            state.release.apply(event);
            state.exposition.observe(event);
            state.keep(event);
        }
        let last = state.release.last_seq();
        drop(state);
        self.last_seq.store(last, Ordering::Release);
        self.wake_streams();
    }
}

/// The people a release names: its deployer and its gates' approvers.
fn named_people(release: &Release) -> BTreeSet<Person> {
    let Some(plan) = release.plan() else {
        return BTreeSet::new();
    };
    let approvers = plan.gates.iter().flat_map(|gate| match &gate.approvers {
        crate::model::Approvers::Named(people) => people.as_slice(),
        crate::model::Approvers::Any(_) => &[],
    });
    std::iter::once(&plan.deployer)
        .chain(approvers)
        .cloned()
        .collect()
}

/// Presence for `people` watching (each with their streams and since
/// when): those the release names first, then in the order they came;
/// everyone, if few, and in a crowd [`Presence::NAMED`] in all.
fn presence(people: &HashMap<Person, (u32, Timestamp)>, named: &BTreeSet<Person>) -> Presence {
    let mut watchers: Vec<Watcher> = people
        .iter()
        .map(|(operator, (streams, since))| Watcher {
            operator: operator.clone(),
            since: *since,
            streams: *streams,
        })
        .collect();
    let by_arrival =
        |a: &Watcher, b: &Watcher| a.since.cmp(&b.since).then(a.operator.cmp(&b.operator));
    // The release's people first (a console names the first few), then in
    // the order they came.
    watchers.sort_by(|a, b| {
        named
            .contains(&b.operator)
            .cmp(&named.contains(&a.operator))
            .then(by_arrival(a, b))
    });
    watchers.truncate(Presence::NAMED);
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Presence {
        people: count(people.len()),
        streams: people.values().map(|(n, _)| *n).sum(),
        watchers,
    }
}

/// A watcher's place: dropping it (the stream closed) leaves.
pub struct Seat {
    hub: Arc<Hub>,
    id: u64,
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.hub.leave(self.id);
    }
}

/// A message of a stream other than an event: `event:` its kind, and its
/// JSON on one `data:` line, every character a terminal would act on
/// written as an escape.
pub fn message(kind: &str, value: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(value).unwrap_or_default();
    let data = crate::model::text::json_safe(&json);
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

fn clock_message(at: Timestamp) -> Bytes {
    message("clock", &crate::api::Clock { at })
}

/// An event as every stream sends it, made once: its SSE frame (`id:` and
/// one `data:` line), every character a terminal would act on written as
/// an escape (`curl -N` prints what it is given).
fn frame(event: &Event) -> Bytes {
    let json = serde_json::to_string(event)
        .unwrap_or_else(|err| format!("{{\"error\":\"unserializable event: {err}\"}}"));
    let data = crate::model::text::json_safe(&json);
    Bytes::from(format!("id: {}\ndata: {data}\n\n", event.seq))
}

/// The reply for a command the backend decided.
pub fn reply(command: &Command, verdict: &Verdict) -> CommandReply {
    let (verdict, note, reason) = match verdict {
        Verdict::Accepted { note } => (VerdictName::Accepted, note.clone(), None),
        Verdict::Refused(refusal) => (VerdictName::Refused, None, Some(refusal.reason.clone())),
    };
    CommandReply {
        id: command.id.clone(),
        operator: command.operator.clone(),
        verdict,
        note,
        reason,
    }
}

/// Where the hub's task writes: the journal, and the webhooks it tells.
struct Outlets {
    journal: Writer,
    webhooks: Option<Outbox>,
}

impl Outlets {
    /// Tells the webhooks what the events changed; journals what a full
    /// queue let go.
    fn notify(&mut self, hub: &Hub, events: &[Event]) {
        let Some(outbox) = &mut self.webhooks else {
            return;
        };
        let dropped = hub.with_release(|release| outbox.look(release, events));
        for delivery in dropped {
            self.delivered(&delivery);
        }
    }

    fn delivered(&mut self, delivery: &crate::journal::WebhookDelivery) {
        if let Err(err) = self.journal.delivery(delivery) {
            tracing::error!("journal write failed: {err}");
        }
    }

    /// Journals what the webhooks had not sent or said, and closes the
    /// journal with `reason`.
    async fn close(mut self, reason: &str) {
        if let Some(outbox) = self.webhooks.take() {
            for delivery in outbox.close().await {
                self.delivered(&delivery);
            }
        }
        if let Err(err) = self.journal.close(reason) {
            tracing::error!("journal close failed: {err}");
        }
    }
}

/// Commands sent to the backend and not yet decided: what was asked, and
/// everyone waiting for the answer.
type Pending = HashMap<String, (Command, Vec<oneshot::Sender<Answer>>)>;

/// The hub's task: the backend's updates in, commands out. What arrives
/// together is taken together, so the journal is synced once for a burst
/// of commands, and once for a burst of verdicts.
async fn drive(
    hub: Arc<Hub>,
    mut backend: Handle,
    mut outlets: Outlets,
    mut requests: mpsc::Receiver<Request>,
    mut answered: Answered,
    mut stop: oneshot::Receiver<String>,
) {
    let mut pending = Pending::new();
    // The journal's stamps are the release's time, as the backend keeps it.
    outlets.journal.keep_time(backend.clock.clone());
    let reason = loop {
        tokio::select! {
            why = &mut stop => break why.unwrap_or_else(|_| "the server stopped".into()),
            update = backend.updates.recv() => {
                let Some(update) = update else { break "the backend stopped".into() };
                let mut round = vec![update];
                while round.len() < ROUND && let Ok(more) = backend.updates.try_recv() {
                    round.push(more);
                }
                let mut decided = Decided { pending: &mut pending, answered: &mut answered };
                if let Err(why) = take_updates(&hub, &mut outlets, round, &mut decided) {
                    break why;
                }
            }
            delivery = Outbox::outcome(&mut outlets.webhooks) => outlets.delivered(&delivery),
            request = requests.recv() => {
                let Some(request) = request else { continue };
                let mut round = vec![request];
                while round.len() < ROUND && let Ok(more) = requests.try_recv() {
                    round.push(more);
                }
                take_requests(round, &mut outlets.journal, &backend, &mut pending, &answered);
            }
        }
    };
    for (_, (_, waiters)) in pending.drain() {
        for waiter in waiters {
            let _ = waiter.send(Answer::Gone);
        }
    }
    outlets.close(&reason).await;
    hub.stop(reason);
}

/// Where verdicts go: to whoever waits for them, and into what was
/// answered.
struct Decided<'a> {
    pending: &'a mut Pending,
    answered: &'a mut Answered,
}

/// Takes what the backend said, in order; the verdicts' records share one
/// sync, and each waiter is answered only after it. `Err` says why serving
/// must stop.
fn take_updates(
    hub: &Arc<Hub>,
    outlets: &mut Outlets,
    round: Vec<Update>,
    decided: &mut Decided<'_>,
) -> Result<(), String> {
    let mut verdicts = Vec::new();
    for update in round {
        match update {
            Update::Events(events) => show(hub, outlets, &events)?,
            Update::Verdict { id, verdict } => {
                outlets
                    .journal
                    .verdict_unsynced(&id, &verdict)
                    .map_err(unwritable)?;
                verdicts.push((id, verdict));
            }
            Update::Clock(at) => {
                hub.clock_moved(at);
            }
            Update::Reset => begin_again(hub, outlets)?,
            Update::Traffic(points) => hub.traffic(&points),
            // The simulator stopped (its clients read why in the log).
            Update::Connection(crate::backend::Connection::Lost(why)) => {
                crate::errln!("shipdeck: {}", Clean(&why));
            }
            _ => {}
        }
    }
    if verdicts.is_empty() {
        return Ok(());
    }
    // No verdict is answered before it is on disk; one that cannot be
    // stops serving, as events do.
    outlets.journal.sync().map_err(unwritable)?;
    for (id, verdict) in verdicts {
        if let Some((command, waiters)) = decided.pending.remove(&id) {
            let answer = Answer::Done(verdict);
            for waiter in waiters {
                let _ = waiter.send(answer.clone());
            }
            decided.answered.insert(id, (command, answer));
        }
    }
    Ok(())
}

/// Why serving stops when the journal cannot be written.
fn unwritable(err: std::io::Error) -> String {
    tracing::error!("journal write failed: {err}");
    format!(
        "the journal cannot be written ({err}); serving stopped so that nothing is shown or answered that it lacks"
    )
}

/// Journals events, then keeps and shows them. The journal must hold what
/// clients are shown: when it cannot be written, serving stops here, before
/// these events are shown, so the window can be taken up from the journal
/// once there is room again.
fn show(hub: &Arc<Hub>, outlets: &mut Outlets, events: &[Event]) -> Result<(), String> {
    let offset = outlets.journal.position();
    outlets.journal.events(events).map_err(unwritable)?;
    hub.append(events, offset);
    outlets.notify(hub, events);
    Ok(())
}

/// A Rollout's new revision, or a retry after an abort: a new window, in a
/// new journal file (the old one is synced and closed first).
fn begin_again(hub: &Arc<Hub>, outlets: &mut Outlets) -> Result<(), String> {
    outlets
        .journal
        .start_again("the backend began a new window")
        .map_err(unwritable)?;
    let window = outlets
        .journal
        .path()
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    hub.new_window(window, outlets.journal.path());
    if let Some(outbox) = &mut outlets.webhooks {
        outbox.reset();
    }
    Ok(())
}

/// Takes commands that arrived together: each new one is journaled, the
/// journal synced once for them all, and only then are they sent, so
/// nothing is applied (or answered) before it is on disk.
fn take_requests(
    round: Vec<Request>,
    journal: &mut Writer,
    backend: &Handle,
    pending: &mut Pending,
    answered: &Answered,
) {
    let mut fresh: Vec<Command> = Vec::new();
    let mut unwritten = None;
    for Request { command, reply } in round {
        if let Some((asked, answer)) = answered.get(&command.id) {
            let _ = reply.send(match reused(asked, &command) {
                Some(conflict) => Answer::Conflict(conflict),
                None => answer.clone(),
            });
        } else if let Some((asked, waiters)) = pending.get_mut(&command.id) {
            match reused(asked, &command) {
                Some(conflict) => {
                    let _ = reply.send(Answer::Conflict(conflict));
                }
                None => waiters.push(reply),
            }
        } else {
            if unwritten.is_none()
                && let Err(err) = journal.command_unsynced(&command)
            {
                unwritten = Some(err);
            }
            pending.insert(command.id.clone(), (command.clone(), vec![reply]));
            fresh.push(command);
        }
    }
    if fresh.is_empty() {
        return;
    }
    let unwritten = match unwritten {
        Some(err) => Some(err),
        None => journal.sync().err(),
    };
    for command in fresh {
        let refused = match &unwritten {
            Some(err) => Some(Answer::Unrecorded(err.to_string())),
            None if backend.commands.send(command.clone()).is_err() => Some(Answer::Gone),
            None => None,
        };
        if let Some(answer) = refused {
            if let Some((_, waiters)) = pending.remove(&command.id) {
                for waiter in waiters {
                    let _ = waiter.send(answer.clone());
                }
            }
            continue;
        }
        tracing::info!(
            // Quoted: a client's id or name cannot pass for fields of
            // the log's own.
            command = ?Clean(&command.id).to_string(),
            operator = ?Clean(&command.operator).to_string(),
            kind = command.action.name(),
            "command"
        );
    }
    if let Some(err) = unwritten {
        tracing::error!("journal write failed: {err}");
    }
}

/// Why a command cannot reuse the id of `asked`, if it cannot.
fn reused(asked: &Command, command: &Command) -> Option<String> {
    if asked.operator != command.operator {
        Some(format!(
            "command id {} was already used by another operator",
            command.id
        ))
    } else if asked.action != command.action {
        Some(format!(
            "command id {} was already used for another command ({})",
            command.id,
            asked.action.name()
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crowd(n: usize) -> HashMap<Person, (u32, Timestamp)> {
        (0..n)
            .map(|i| {
                let since = Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(i as i64);
                (Person::own(&format!("watcher-{i:04}")), (1, since))
            })
            .collect()
    }

    /// What comes after a quiet spell goes at once; what comes close
    /// behind waits for the end of the spell, all of it together; and a
    /// send whose timer is late goes with the next change.
    #[tokio::test]
    async fn a_throttle_sends_at_once_after_quiet_and_together_after_that() {
        let every = Duration::from_millis(600);
        let mut throttle = Throttle::default();
        assert!(matches!(throttle.ask(every), Go::Now));
        let Go::At(at) = throttle.ask(every) else {
            panic!("a second change within the spell went at once");
        };
        assert!(at - Instant::now() <= every && at > Instant::now());
        assert!(matches!(throttle.ask(every), Go::Due));
        tokio::time::sleep_until(at).await;
        // Its timer has not run: the next change sends it.
        assert!(
            matches!(throttle.ask(every), Go::Now),
            "a late timer held it back"
        );
        assert!(matches!(throttle.ask(every), Go::At(_)));
    }

    #[test]
    fn a_few_watching_are_all_named_in_the_order_they_came() {
        let people = crowd(3);
        let presence = presence(&people, &BTreeSet::new());
        let names: Vec<&str> = presence
            .watchers
            .iter()
            .map(|w| w.operator.as_str())
            .collect();
        assert_eq!(names, ["watcher-0000", "watcher-0001", "watcher-0002"]);
        assert_eq!((presence.people, presence.streams), (3, 3));
    }

    #[test]
    fn a_crowd_is_counted_and_names_the_release_s_people_first() {
        let mut people = crowd(5000);
        // The approver came last and has two consoles open.
        let late = Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(9999);
        people.insert(Person::own("dave"), (2, late));
        let named = BTreeSet::from([Person::own("dave"), Person::own("absent")]);
        let presence = presence(&people, &named);
        assert_eq!((presence.people, presence.streams), (5001, 5002));
        assert_eq!(presence.watchers.len(), Presence::NAMED);
        // The approver came last, but is named first.
        assert_eq!(presence.watchers[0].operator, "dave");
        assert_eq!(presence.watchers[1].operator, "watcher-0000");
        // However many watch, one message stays small.
        let size = message("presence", &presence).len();
        assert!(size < 2048, "{size} bytes");
    }

    /// A window longer than memory keeps: its oldest events are read back
    /// from the journal, exactly as they were first sent, in order.
    #[tokio::test]
    async fn events_let_go_from_memory_are_read_back_from_the_journal() {
        use crate::sim::{SimOptions, Simulator, scenario};
        let dir = tempfile::tempdir().unwrap();
        let journal = Writer::create(dir.path(), &Person::own("dave"), "test", "serve").unwrap();
        let (handle, end) = Handle::new("test".into(), Default::default(), false);
        let (_stop, stop) = oneshot::channel();
        let opening = Opening {
            id: "r".into(),
            window: "w".into(),
            log_capacity: 100,
            history: Vec::new(),
            speed: None,
            answered: Answered::new(),
            webhooks: None,
        };
        let (hub, _task) = Hub::start(opening, handle, journal, stop);
        hub.keep_at_most(8 * 1024);
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/scenarios/happy-canary.yaml"
        ))
        .unwrap();
        let mut sim = Simulator::new(scenario::parse(&text).unwrap(), SimOptions::default());
        let mut sent = sim.start();
        while sent.len() < 3000
            && let Some(due) = sim.next_due()
        {
            sent.extend(sim.advance_to(due));
        }
        let last = sent.last().unwrap().seq;
        for batch in sent.chunks(7) {
            end.updates
                .send(Update::Events(batch.to_vec()))
                .await
                .unwrap();
        }
        let mut pulse = hub.watch_pulse();
        while pulse.borrow_and_update().seq < last {
            pulse.changed().await.unwrap();
        }
        let After::Gone(first) = hub.events_after(0, 10) else {
            panic!("memory kept every event");
        };
        assert!(first > 100, "{first}");
        let mut read = Vec::new();
        while read.len() < (first - 1) as usize {
            let after = read.last().map_or(0, |(s, _)| *s);
            let more = hub.events_from_journal(0, after, 500).await.unwrap();
            assert!(!more.is_empty());
            read.extend(more);
        }
        let expected: Vec<(u64, Bytes)> = sent[..(first - 1) as usize]
            .iter()
            .map(|e| (e.seq, frame(e)))
            .collect();
        assert_eq!(read, expected);
        // From the middle too, by the marks.
        let middle = hub.events_from_journal(0, first / 2, 3).await.unwrap();
        let seqs: Vec<u64> = middle.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [first / 2 + 1, first / 2 + 2, first / 2 + 3]);
        // A journal gone is gone for good (410), not a read to try again;
        // another window's stream is told so too.
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        let gone = hub.events_from_journal(0, 0, 3).await;
        assert!(matches!(gone, Err(Unreadable::Gone(_))), "{gone:?}");
        let other = hub.events_from_journal(1, 0, 3).await;
        assert!(matches!(other, Err(Unreadable::Gone(_))), "{other:?}");
    }
}
