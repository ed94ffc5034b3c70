//! A release day on one `shipdeck serve`: a burst of commands from many
//! consoles, all on disk once answered, even under SIGKILL; a crowd of
//! watchers counted, with the release's own people named first; and a
//! console joining a long window late, told it is catching up, then caught
//! up with no gap.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use common::{Server, scratch, without_actors};
use serde_json::{Value, json};
use shipdeck::api::Presence;
use shipdeck::backend::http::Remote;
use shipdeck::backend::sse::{Found, Message, Reader};
use shipdeck::backend::{Connection, Update};
use shipdeck::model::{Event, EventKind};
use tokio::time::{Instant, timeout_at};

/// How long any one wait of these tests may take.
const PATIENCE: Duration = Duration::from_secs(30);

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

async fn get(server: &Server, path: &str) -> Value {
    http()
        .get(format!("{}{path}", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn release_id(server: &Server) -> String {
    let list = get(server, "/api/v1/releases").await;
    list[0]["id"].as_str().unwrap().to_string()
}

async fn last_seq(server: &Server, id: &str) -> u64 {
    get(server, &format!("/api/v1/releases/{id}")).await["last_seq"]
        .as_u64()
        .unwrap()
}

async fn post(client: &reqwest::Client, server: &Server, id: &str, body: &Value) -> (u16, Value) {
    let answer = client
        .post(format!("{}/api/v1/releases/{id}/commands", server.url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// A raw event stream, opened as `operator`, read message by message.
struct Stream {
    body: reqwest::Response,
    reader: Reader,
    found: std::collections::VecDeque<Message>,
}

impl Stream {
    async fn open(server: &Server, id: &str, operator: &str, after: u64) -> Stream {
        let answer = http()
            .get(format!(
                "{}/api/v1/releases/{id}/events?after={after}",
                server.url
            ))
            .header("Shipdeck-Operator", operator)
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{operator}'s stream");
        Stream {
            body: answer,
            reader: Reader::default(),
            found: Default::default(),
        }
    }

    /// The next message, waiting until `deadline` at most.
    async fn next(&mut self, deadline: Instant) -> Message {
        loop {
            if let Some(message) = self.found.pop_front() {
                return message;
            }
            let chunk = timeout_at(deadline, self.body.chunk())
                .await
                .expect("the stream went quiet")
                .expect("the stream failed")
                .expect("the stream ended");
            let mut found = Vec::new();
            self.reader.feed(&chunk, &mut found);
            for item in found {
                match item {
                    Found::Message(message) => self.found.push_back(message),
                    Found::Refused(why) => panic!("the stream passed a bound: {why}"),
                }
            }
        }
    }

    /// Reads presence messages until one satisfies `done`; it and its
    /// `data:` line's length.
    async fn presence_until(&mut self, done: impl Fn(&Presence) -> bool) -> (Presence, usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut last = None;
        loop {
            let message = timeout_at(deadline, self.next(deadline))
                .await
                .unwrap_or_else(|_| panic!("presence never came to it; last: {last:?}"));
            if message.event.as_deref() != Some("presence") {
                continue;
            }
            let presence: Presence = serde_json::from_str(&message.data).unwrap();
            if done(&presence) {
                return (presence, message.data.len());
            }
            last = Some(presence);
        }
    }
}

/// The one journal of the window served from `dir`.
fn the_journal(dir: &Path) -> shipdeck::journal::Journal {
    let journals: Vec<_> = std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(journals.len(), 1, "one window: {journals:?}");
    shipdeck::journal::read(&journals[0]).expect("the journal reads")
}

/// Waits for the unscripted two-person story to stop at its staging
/// checklist: ticks its manual item until that is taken.
async fn at_the_staging_checklist(server: &Server, id: &str) {
    let client = http();
    let deadline = Instant::now() + PATIENCE;
    for n in 0.. {
        let check = json!({"id": format!("open-{n}"), "operator": "dave", "kind": "check", "list": "staging-validation", "item": "config"});
        let (status, reply) = post(&client, server, id, &check).await;
        if status == 202 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the checklist never opened: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Command `k` of console `c`: ticks and unticks of both checklists by the
/// release's people (202, or 409 for a list that is done), and carol
/// approving her own release (refused).
fn crowd_command(c: usize, k: usize) -> Value {
    let id = format!("crowd-{c}-{k}");
    let who = ["dave", "erin", "frank"][(c + k) % 3];
    match (c + 2 * k) % 5 {
        0 => {
            json!({"id": id, "operator": who, "kind": "check", "list": "pre-deployment", "item": "bugs"})
        }
        1 => {
            json!({"id": id, "operator": who, "kind": "uncheck", "list": "pre-deployment", "item": "bugs"})
        }
        2 => {
            json!({"id": id, "operator": "carol", "kind": "approve", "gate": "production", "comment": "mine"})
        }
        3 => {
            json!({"id": id, "operator": who, "kind": "check", "list": "staging-validation", "item": "config"})
        }
        _ => {
            json!({"id": id, "operator": who, "kind": "uncheck", "list": "pre-deployment", "item": "review"})
        }
    }
}

/// Twelve consoles, each on its own connection, send five commands each,
/// all at once; every answer (id and status).
async fn burst(server: &Server, id: &str) -> Vec<(String, u16, Value)> {
    let mut consoles = tokio::task::JoinSet::new();
    for c in 0..12 {
        let (url, id) = (server.url.clone(), id.to_string());
        consoles.spawn(async move {
            let client = http();
            let mut answers = Vec::new();
            for k in 0..5 {
                let command = crowd_command(c, k);
                let answer = client
                    .post(format!("{url}/api/v1/releases/{id}/commands"))
                    .json(&command)
                    .send()
                    .await
                    .expect("a command is answered");
                let status = answer.status().as_u16();
                let body: Value = answer.json().await.unwrap_or(Value::Null);
                answers.push((command["id"].as_str().unwrap().to_string(), status, body));
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = consoles.join_next().await {
        answers.extend(done.unwrap());
    }
    answers
}

/// Reads a raw stream from seq 0 until it has `last`; its events.
async fn events_to(server: &Server, id: &str, last: u64) -> Vec<Event> {
    let mut stream = Stream::open(server, id, "frank", 0).await;
    let deadline = Instant::now() + PATIENCE;
    let mut events: Vec<Event> = Vec::new();
    while events.last().is_none_or(|e| e.seq < last) {
        let message = stream.next(deadline).await;
        if message.event.is_none() {
            events.push(serde_json::from_str(&message.data).unwrap());
        }
    }
    events
}

/// The outcome each command's event in `events` says: accepted or not.
fn outcomes(events: &[Event]) -> HashMap<String, bool> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommandAccepted { command, .. } => Some((command.id.clone(), true)),
            EventKind::CommandRejected { command, .. } => Some((command.id.clone(), false)),
            _ => None,
        })
        .collect()
}

/// Sixty commands at once from twelve consoles, the server killed (SIGKILL)
/// the moment the last is answered: the journal holds every answered
/// command and its verdict, and the window taken up again shows every one
/// of them as it was answered, and every event anyone had read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_commands_is_all_on_disk_once_answered() {
    let tmp = scratch();
    let dir = tmp.path();
    let scenario = without_actors(dir, "two-person");
    let args = ["--speed", "max", "--scenario", scenario.to_str().unwrap()];
    let mut server = Server::start(dir, &args);
    let id = release_id(&server).await;
    at_the_staging_checklist(&server, &id).await;
    let answers = burst(&server, &id).await;
    let seen = last_seq(&server, &id).await;
    server.kill();

    for (command, status, body) in &answers {
        assert!(
            [202, 403, 409].contains(status),
            "{command} was answered {status}: {body}"
        );
    }
    let accepted = answers.iter().filter(|a| a.1 == 202).count();
    assert!(accepted > 0, "none of the burst was accepted: {answers:?}");
    assert!(accepted < answers.len(), "none was refused: {answers:?}");

    let journal = the_journal(dir);
    let recorded: HashSet<&str> = journal
        .commands
        .iter()
        .map(|(_, c)| c.id.as_str())
        .collect();
    let verdicts: HashMap<&str, bool> = journal
        .verdicts
        .iter()
        .map(|a| (a.id.as_str(), a.verdict.is_accepted()))
        .collect();
    for (command, status, _) in &answers {
        assert!(
            recorded.contains(command.as_str()),
            "{command} ({status}) is not journaled"
        );
        assert_eq!(
            verdicts.get(command.as_str()),
            Some(&(*status == 202)),
            "{command}'s verdict ({status}) is not journaled as answered"
        );
    }

    let server = Server::start(dir, &args);
    assert!(
        server.banner.contains("taken up at seq"),
        "{}",
        server.banner
    );
    let taken_up = last_seq(&server, &id).await;
    assert!(
        taken_up >= seen,
        "the crowd saw seq {seen}; taken up at {taken_up}"
    );
    let events = events_to(&server, &id, taken_up).await;
    let outcomes = outcomes(&events);
    for (command, status, _) in &answers {
        assert_eq!(
            outcomes.get(command.as_str()),
            Some(&(*status == 202)),
            "{command} was answered {status}; the window taken up says otherwise"
        );
    }
}

/// Sixteen people watch: fifteen from the floor, then dave, one of the
/// gate's approvers, last. Presence counts them all, names twelve with
/// dave first, in a small message; when ten leave, the six left are all
/// named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_s_presence_is_counted_and_names_the_release_s_people() {
    let tmp = scratch();
    let dir = tmp.path();
    let scenario = without_actors(dir, "two-person");
    let server = Server::start(
        dir,
        &["--speed", "1", "--scenario", scenario.to_str().unwrap()],
    );
    let id = release_id(&server).await;
    let mut floor = Vec::new();
    for n in 0..15 {
        floor.push(Stream::open(&server, &id, &format!("watcher-{n}"), 0).await);
    }
    let mut dave = Stream::open(&server, &id, "dave", 0).await;

    let (crowd, length) = dave.presence_until(|p| p.people == 16).await;
    assert_eq!(crowd.streams, 16, "{crowd:?}");
    assert!(crowd.watchers.len() <= Presence::NAMED, "{crowd:?}");
    assert_eq!(crowd.watchers[0].operator.as_str(), "dave", "{crowd:?}");
    assert!(length < 2048, "a presence line of {length} bytes");

    floor.truncate(5);
    let (left, _) = dave.presence_until(|p| p.people == 6).await;
    assert_eq!(left.streams, 6, "{left:?}");
    let named: HashSet<&str> = left.watchers.iter().map(|w| w.operator.as_str()).collect();
    let expected: HashSet<String> = (0..5).map(|n| format!("watcher-{n}")).collect();
    assert!(named.contains("dave"), "{left:?}");
    for watcher in &expected {
        assert!(
            named.contains(watcher.as_str()),
            "{watcher} not named: {left:?}"
        );
    }
    assert_eq!(left.watchers.len(), 6, "{left:?}");
}

/// A release that runs unattended and long: an hour of monitoring with a
/// sample every second, far over 5000 events.
const LONG: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 100 } ]
stages:
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 1h }
metrics:
  interval: 1s
";

/// A console that joins a long window at its end follows it from seq 0:
/// it is told it is catching up, then that it has, with every event from 1
/// to the server's last, once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_joining_late_reads_the_whole_window() {
    let tmp = scratch();
    let dir = tmp.path();
    let scenario = dir.join("long.yaml");
    std::fs::write(&scenario, LONG).unwrap();
    let server = Server::start(
        dir,
        &["--speed", "max", "--scenario", scenario.to_str().unwrap()],
    );
    let id = release_id(&server).await;
    let deadline = Instant::now() + PATIENCE;
    let last = loop {
        let snapshot = get(&server, &format!("/api/v1/releases/{id}")).await;
        if snapshot["release"]["finished_at"].is_string() {
            break snapshot["last_seq"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "the window never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(last > 10_000, "the window has only {last} events");

    let console = Remote::new(
        &server.url,
        None,
        &shipdeck::model::Person::new("frank").unwrap(),
    )
    .unwrap();
    let (tx, mut updates) = tokio::sync::mpsc::channel(65536);
    let followed = id.clone();
    let follow = tokio::spawn(async move { console.follow(&followed, tx).await });
    let mut events: Vec<Event> = Vec::new();
    let mut slowed: Vec<Option<String>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while events.last().is_none_or(|e| e.seq < last) || slowed.last().is_some_and(Option::is_some) {
        match timeout_at(deadline, updates.recv()).await {
            Ok(Some(Update::Events(more))) => events.extend(more),
            Ok(Some(Update::Slowed(why))) => slowed.push(why),
            Ok(Some(Update::Connection(Connection::Lost(why)))) => {
                panic!("the link was lost: {why:?}")
            }
            Ok(Some(Update::Reset)) => panic!("the window began again"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!(
                "gave up at seq {:?}; slowed {slowed:?}",
                events.last().map(|e| e.seq)
            ),
        }
    }
    follow.abort();
    assert!(
        slowed
            .first()
            .is_some_and(|s| s.as_deref().is_some_and(|t| t.contains("catching up"))),
        "the console was never told it is catching up: {slowed:?}"
    );
    assert_eq!(
        slowed.last(),
        Some(&None),
        "'catching up' stayed: {slowed:?}"
    );
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event.seq, n as u64 + 1, "a gap or a duplicate at {n}");
    }
    assert_eq!(events.last().unwrap().seq, last);
}
