//! One release on the server: its events (kept so a stream can resume from
//! any seq), the release folded from them, who is watching, and the commands
//! in flight.
//!
//! A hub is fed by a backend [`Handle`]: whatever the backend says is
//! journaled, then kept, then offered to the streams, in that order, so a
//! stream never shows an event the record lacks; should the journal fail,
//! the hub stops serving. Commands go the other way
//! through one task, which makes the same id applied once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot, watch};

use super::exposition::Exposition;
use super::webhooks::Outbox;
use crate::api::{CommandReply, Presence, VerdictName, Watcher};
use crate::backend::{Handle, Update};
use crate::engine::Verdict;
use crate::journal::Writer;
use crate::model::text::Clean;
use crate::model::{Command, Event, Person, Release};

/// Events kept in memory per release; a stream asking for older ones is
/// told they are gone (410).
pub const KEEP: usize = 1_000_000;

/// Commands waiting for the hub's task.
const QUEUE: usize = 256;

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
    /// Serialized events in seq order.
    events: VecDeque<(u64, Arc<str>)>,
}

#[derive(Default)]
struct Watching {
    next: u64,
    streams: HashMap<u64, (Person, Timestamp)>,
}

/// The events after a seq, or word that the oldest were let go.
#[derive(Debug)]
pub enum After {
    Events(Vec<(u64, Arc<str>)>),
    /// Events before this seq are no longer kept.
    Gone(u64),
}

/// One release served.
pub struct Hub {
    pub id: String,
    /// Names this run of the release: the journal's file stem. A backend
    /// that begins a new window (a Rollout's new revision) changes it.
    window: RwLock<String>,
    log_capacity: usize,
    state: RwLock<State>,
    seq: watch::Sender<u64>,
    clock: watch::Sender<Option<Timestamp>>,
    presence: watch::Sender<Presence>,
    /// Why the hub stopped serving (its backend ended, the server stops).
    stopped: watch::Sender<Option<String>>,
    watching: Mutex<Watching>,
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
        let mut release = Release::new(id.clone(), log_capacity);
        let mut exposition = Exposition::at_speed(speed);
        let mut events = VecDeque::new();
        for event in &history {
            release.apply(event);
            exposition.observe(event);
            events.push_back((event.seq, serialize(event)));
        }
        while events.len() > KEEP {
            events.pop_front();
        }
        if let Some(outbox) = &mut webhooks {
            outbox.begin(&release);
        }
        let hub = Arc::new(Hub {
            id,
            window: RwLock::new(window),
            log_capacity,
            seq: watch::Sender::new(release.last_seq()),
            clock: watch::Sender::new(release.last_at()),
            presence: watch::Sender::new(Presence::default()),
            stopped: watch::Sender::new(None),
            state: RwLock::new(State {
                release,
                exposition,
                events,
            }),
            watching: Mutex::new(Watching::default()),
            requests,
        });
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

    /// The backend began a new window: the old one's events and state are
    /// gone, and every stream ends so its client connects again and is
    /// told (its hello names the new window).
    fn new_window(&self, window: String) {
        *self.window.write().unwrap_or_else(|e| e.into_inner()) = window;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.release = Release::new(self.id.clone(), self.log_capacity);
        state.events.clear();
        drop(state);
        self.seq.send_replace(0);
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

    /// The release's service metrics, in Prometheus's text format.
    pub fn exposition(&self) -> String {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .exposition
            .render()
    }

    pub fn last_seq(&self) -> u64 {
        *self.seq.borrow()
    }

    pub fn watch_seq(&self) -> watch::Receiver<u64> {
        self.seq.subscribe()
    }

    pub fn watch_clock(&self) -> watch::Receiver<Option<Timestamp>> {
        self.clock.subscribe()
    }

    pub fn watch_presence(&self) -> watch::Receiver<Presence> {
        self.presence.subscribe()
    }

    /// Says why, once the hub has stopped serving.
    pub fn watch_stopped(&self) -> watch::Receiver<Option<String>> {
        self.stopped.subscribe()
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
        let mut watching = self.watching.lock().unwrap_or_else(|e| e.into_inner());
        watching.next += 1;
        let id = watching.next;
        watching.streams.insert(id, (operator, Timestamp::now()));
        self.publish(&watching);
        Seat {
            hub: Arc::clone(self),
            id,
        }
    }

    fn leave(&self, id: u64) {
        let mut watching = self.watching.lock().unwrap_or_else(|e| e.into_inner());
        watching.streams.remove(&id);
        self.publish(&watching);
    }

    fn publish(&self, watching: &Watching) {
        // One person, however their consoles spell the name.
        let mut by_operator: BTreeMap<&Person, Watcher> = BTreeMap::new();
        for (operator, since) in watching.streams.values() {
            let watcher = by_operator.entry(operator).or_insert_with(|| Watcher {
                operator: operator.clone(),
                since: *since,
                streams: 0,
            });
            watcher.streams += 1;
            watcher.since = watcher.since.min(*since);
        }
        let mut watchers: Vec<Watcher> = by_operator.into_values().collect();
        watchers.sort_by(|a, b| a.since.cmp(&b.since).then(a.operator.cmp(&b.operator)));
        self.presence.send_replace(Presence { watchers });
    }

    /// The service's traffic, for `/metrics`.
    fn traffic(&self, points: &[crate::model::MetricPoint]) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for point in points {
            state.exposition.traffic(point);
        }
    }

    fn append(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        for event in events {
            state.release.apply(event);
            state.exposition.observe(event);
            state.events.push_back((event.seq, serialize(event)));
        }
        while state.events.len() > KEEP {
            state.events.pop_front();
        }
        let last = state.release.last_seq();
        drop(state);
        self.seq.send_replace(last);
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

/// An event as the stream sends it: every character a terminal would act
/// on written as an escape (`curl -N` prints what it is given).
fn serialize(event: &Event) -> Arc<str> {
    let json = serde_json::to_string(event)
        .unwrap_or_else(|err| format!("{{\"error\":\"unserializable event: {err}\"}}"));
    crate::model::text::json_safe(&json).into()
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

/// The hub's task: the backend's updates in, commands out.
async fn drive(
    hub: Arc<Hub>,
    mut backend: Handle,
    mut outlets: Outlets,
    mut requests: mpsc::Receiver<Request>,
    mut answered: Answered,
    mut stop: oneshot::Receiver<String>,
) {
    let mut pending: HashMap<String, (Command, Vec<oneshot::Sender<Answer>>)> = HashMap::new();
    // The journal's stamps are the release's time, as the backend keeps it.
    outlets.journal.keep_time(backend.clock.clone());
    let reason = loop {
        tokio::select! {
            why = &mut stop => break why.unwrap_or_else(|_| "the server stopped".into()),
            update = backend.updates.recv() => match update {
                None => break "the backend stopped".into(),
                Some(Update::Events(events)) => {
                    // On the record before anyone is shown them. A record
                    // that cannot be written stops new commands: what the
                    // release does on its own is still shown.
                    // The journal must hold what clients are shown: when it
                    // cannot be written, serving stops here, before these
                    // events are shown, so the window can be taken up from
                    // the journal once there is room again.
                    if let Err(err) = outlets.journal.events(&events) {
                        tracing::error!("journal write failed: {err}");
                        break format!("the journal cannot be written ({err}); serving stopped so that nothing is shown that it lacks");
                    }
                    hub.append(&events);
                    outlets.notify(&hub, &events);
                }
                Some(Update::Verdict { id, verdict }) => {
                    if let Err(err) = outlets.journal.verdict(&id, &verdict) {
                        tracing::error!("journal write failed: {err}");
                    }
                    if let Some((command, waiters)) = pending.remove(&id) {
                        let answer = Answer::Done(verdict);
                        for waiter in waiters {
                            let _ = waiter.send(answer.clone());
                        }
                        answered.insert(id, (command, answer));
                    }
                }
                Some(Update::Clock(at)) => {
                    hub.clock.send_replace(Some(at));
                }
                // A Rollout's new revision, or a retry after an abort: a
                // new window, in a new journal file.
                Some(Update::Reset) => {
                    if let Err(err) = outlets.journal.start_again("the backend began a new window") {
                        tracing::error!("journal write failed: {err}");
                        break format!("the journal cannot be written ({err}); serving stopped");
                    }
                    let window = outlets.journal
                        .path()
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    hub.new_window(window);
                    if let Some(outbox) = &mut outlets.webhooks {
                        outbox.reset();
                    }
                }
                Some(Update::Traffic(points)) => hub.traffic(&points),
                // The simulator stopped (its clients read why in the log).
                Some(Update::Connection(crate::backend::Connection::Lost(why))) => {
                    crate::errln!("shipdeck: {}", Clean(&why));
                }
                Some(_) => {}
            },
            delivery = Outbox::outcome(&mut outlets.webhooks) => outlets.delivered(&delivery),
            request = requests.recv() => {
                let Some(Request { command, reply }) = request else { continue };
                if let Some((asked, answer)) = answered.get(&command.id) {
                    let _ = reply.send(match reused(asked, &command) {
                        Some(conflict) => Answer::Conflict(conflict),
                        None => answer.clone(),
                    });
                } else if let Some((asked, waiters)) = pending.get_mut(&command.id) {
                    match reused(asked, &command) {
                        Some(conflict) => { let _ = reply.send(Answer::Conflict(conflict)); }
                        None => waiters.push(reply),
                    }
                } else if let Err(err) = outlets.journal.command(&command) {
                    tracing::error!("journal write failed: {err}");
                    let _ = reply.send(Answer::Unrecorded(err.to_string()));
                } else if backend.commands.send(command.clone()).is_err() {
                    let _ = reply.send(Answer::Gone);
                } else {
                    tracing::info!(
                        command = %Clean(&command.id),
                        operator = %Clean(&command.operator),
                        kind = command.action.name(),
                        "command"
                    );
                    pending.insert(command.id.clone(), (command, vec![reply]));
                }
            }
        }
    };
    for (_, (_, waiters)) in pending.drain() {
        for waiter in waiters {
            let _ = waiter.send(Answer::Gone);
        }
    }
    outlets.close(&reason).await;
    hub.stopped.send_replace(Some(reason));
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
