//! The console's `http` backend when the server is out of reach: a command
//! not delivered is said to be queued with its age, expires after its bound
//! and is then never sent; a rollback waits for the server and is sent late;
//! and a sign-off that waited while the gate changed is refused by the
//! engine, saying why. Real `shipdeck serve` processes on loopback ports,
//! killed and started again, and a proxy that cuts one console off.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, scratch};
use serde_json::json;
use shipdeck::backend::http::{self, Remote};
use shipdeck::backend::{Connection, Handle, Update};
use shipdeck::engine::{Grounds, Verdict};
use shipdeck::model::{Action, Command, GateState, Person, Release};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

fn serve_two_person(dir: &Path, listen: Option<&str>) -> Server {
    let scenario = common::two_person(dir);
    let mut args = vec!["--speed", "30", "--scenario", scenario.to_str().unwrap()];
    if let Some(listen) = listen {
        args.extend(["--listen", listen]);
    }
    Server::start(dir, &args)
}

/// The console's end of the backend, and the release folded from it.
struct Console {
    handle: Handle,
    release: Release,
}

impl Console {
    async fn open(url: &str, who: &str, expiry: Duration) -> Console {
        let remote = Remote::new(url, None, &Person::new(who).unwrap())
            .unwrap()
            .with_silence(Duration::from_millis(800), Duration::from_secs(3));
        let release = remote.pick_release(None).await.unwrap().id;
        Console {
            handle: http::spawn(remote, release, "test".into(), expiry),
            release: Release::new("", 1000),
        }
    }

    /// Takes updates until `until` says it has what it waits for.
    async fn until(&mut self, what: &str, mut until: impl FnMut(&Update, &Release) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            let update = timeout_at(deadline, self.handle.updates.recv())
                .await
                .unwrap_or_else(|_| panic!("waited for {what}"))
                .expect("the backend runs");
            if let Update::Events(events) = &update {
                for event in events {
                    self.release.apply(event);
                }
            }
            if until(&update, &self.release) {
                return;
            }
        }
    }

    async fn at_the_open_gate(&mut self) {
        self.until("the gate to open", |_, release| {
            release
                .gate("production")
                .is_some_and(|g| g.state == GateState::Open)
        })
        .await;
    }

    async fn cut_off(&mut self) {
        self.until("the connection to be lost", |update, _| {
            matches!(update, Update::Connection(Connection::Lost(_)))
        })
        .await;
    }

    /// Gives a command as the console does: with the seq it has seen.
    fn give(&self, id: &str, who: &str, action: Action) -> Command {
        let command =
            Command::new(id, Person::new(who).unwrap(), action).seen_at(self.release.last_seq());
        self.handle.commands.send(command.clone()).unwrap();
        command
    }
}

fn approve() -> Action {
    Action::Approve {
        gate: Some("production".into()),
        comment: Some("checked".into()),
    }
}

/// Every command a server's journals hold, by id.
fn served_commands(dir: &Path) -> Vec<Command> {
    let mut commands = Vec::new();
    for entry in std::fs::read_dir(dir.join("journal")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let journal = shipdeck::journal::read(&path).unwrap();
            commands.extend(journal.commands.into_iter().map(|(_, c)| c));
        }
    }
    commands
}

#[tokio::test]
async fn an_expired_sign_off_is_never_sent_and_a_rollback_waits_for_the_server() {
    let tmp = scratch();
    let dir = tmp.path();
    let mut server = serve_two_person(dir, None);
    let listen = server.address().to_string();
    let mut dave = Console::open(&server.url, "dave", Duration::from_secs(2)).await;
    dave.at_the_open_gate().await;

    server.kill();
    dave.cut_off().await;
    dave.give("dave-sign", "dave", approve());
    let mut ages = Vec::new();
    let mut expired = None;
    dave.until("the sign-off to expire", |update, _| match update {
        Update::Queued {
            id,
            waited,
            expires_in,
            ..
        } if id == "dave-sign" => {
            ages.push((*waited, *expires_in));
            false
        }
        Update::Expired { id, reason, .. } if id == "dave-sign" => {
            expired = Some(reason.clone());
            true
        }
        Update::Verdict { id, .. } if id == "dave-sign" => panic!("the sign-off was delivered"),
        _ => false,
    })
    .await;
    let (waited, left) = ages.first().copied().expect("said to be queued");
    assert!(waited >= Duration::from_secs(1), "{ages:?}");
    assert!(
        left.is_some_and(|l| l <= Duration::from_secs(1)),
        "counting down to its expiry: {ages:?}"
    );
    let reason = expired.unwrap();
    assert!(
        reason == "not sent: no delivery within 2s (connection refused)",
        "{reason}"
    );

    // A rollback never expires: it waits for the server, however long.
    dave.give("dave-rollback", "dave", Action::Rollback { reason: None });
    let mut waited_long = false;
    dave.until("the rollback to wait past the bound", |update, _| {
        if let Update::Queued {
            id,
            waited,
            expires_in,
            ..
        } = update
            && id == "dave-rollback"
        {
            assert_eq!(*expires_in, None, "a rollback has no expiry");
            waited_long = *waited >= Duration::from_secs(3);
        }
        assert!(!matches!(update, Update::Expired { id, .. } if id == "dave-rollback"));
        waited_long
    })
    .await;
    let server = serve_two_person(dir, Some(&listen));
    assert!(
        server.banner.contains("taken up at seq"),
        "{}",
        server.banner
    );
    let mut late = None;
    dave.until("the rollback's verdict", |update, _| match update {
        Update::SentLate { id, late: by } if id == "dave-rollback" => {
            late = Some(*by);
            false
        }
        Update::Verdict { id, verdict } if id == "dave-rollback" => {
            assert!(verdict.is_accepted(), "{verdict:?}");
            true
        }
        _ => false,
    })
    .await;
    assert!(late.expect("said late") >= Duration::from_secs(3));
    // Before the rollout began, the rollback stops the release.
    dave.until("the release to stop", |_, release| {
        release.stopped().is_some_and(|s| s.by == "dave")
    })
    .await;

    // On the server's record: the rollback, and never the sign-off.
    let served = served_commands(dir);
    assert!(served.iter().any(|c| c.id == "dave-rollback"), "{served:?}");
    assert!(
        !served
            .iter()
            .any(|c| c.id == "dave-sign" || matches!(c.action, Action::Approve { .. })),
        "the expired sign-off reached the server: {served:?}"
    );
}

/// A loopback proxy to a server that can cut its clients off and let them
/// back, as a network that fails one console while the server runs on.
struct Proxy {
    address: std::net::SocketAddr,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let address = ([127, 0, 0, 1], common::free_port()).into();
        let proxy = Proxy {
            address,
            upstream: upstream.to_string(),
            tasks: Arc::default(),
        };
        proxy.open();
        proxy
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn open(&self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.address).unwrap();
        let listener: TcpListener = socket.listen(64).unwrap();
        let (upstream, tasks) = (self.upstream.clone(), Arc::clone(&self.tasks));
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accepting);
    }

    /// Drops every connection and refuses new ones.
    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn a_sign_off_that_waited_while_the_gate_changed_is_refused_by_the_engine() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = serve_two_person(dir, None);
    let proxy = Proxy::start(server.address()).await;
    let mut dave = Console::open(&proxy.url(), "dave", Duration::from_secs(60)).await;
    dave.at_the_open_gate().await;

    // dave is cut off; he signs the gate as he saw it: 0 of 2.
    proxy.cut();
    dave.cut_off().await;
    dave.give("dave-sign", "dave", approve());
    dave.until(
        "the sign-off to be queued",
        |update, _| matches!(update, Update::Queued { id, .. } if id == "dave-sign"),
    )
    .await;
    // Meanwhile erin signs on the server.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let reply = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/releases/{}/commands",
            server.url,
            dave.release.id()
        ))
        .json(&json!({"id": "erin-sign", "operator": "erin", "kind": "approve", "gate": "production"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 202);

    // dave is back: his sign-off goes, and the engine refuses it, saying why.
    proxy.open();
    let mut verdict = None;
    dave.until("dave's verdict", |update, _| match update {
        Update::Verdict { id, verdict: v } if id == "dave-sign" => {
            verdict = Some(v.clone());
            true
        }
        _ => false,
    })
    .await;
    let Some(Verdict::Refused(refusal)) = verdict else {
        panic!("not refused: {verdict:?}");
    };
    assert_eq!(refusal.grounds, Grounds::When);
    assert_eq!(
        refusal.reason,
        "Production deploy approval changed after you last saw it (now 1 of 2 sign-offs: erin); your sign-off is not applied: look at it again"
    );
    dave.until("the refusal's event", |_, release| {
        release
            .gate("production")
            .is_some_and(|g| g.signoffs.len() == 1 && g.signoffs[0].operator == "erin")
            && release.last_seq() > 0
    })
    .await;
    let gate = dave.release.gate("production").unwrap();
    assert_eq!(
        gate.state,
        GateState::Open,
        "dave's signature was not counted"
    );
}
