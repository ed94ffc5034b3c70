//! `shipdeck serve`'s webhooks as a receiver meets them: real receivers on
//! loopback (one slow and then failing, one refusing, one that never
//! answers), each delivery checked with the documented signature check.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Server, scratch, shipdeck, two_person};
use serde_json::{Value, json};
use shipdeck::server::webhooks::{Secret, Why, verify};

const SECRET: &str = "whsec_0123456789abcdef";

/// One request a receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Got {
    delivery: String,
    event: String,
    signature: String,
    body: Bytes,
    answered: u16,
}

/// A receiver that answers its requests in turn from a script: a delay and
/// a status for each, the last repeated.
#[derive(Clone)]
struct Receiver {
    script: Arc<Vec<(Duration, u16)>>,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    async fn start(script: Vec<(Duration, u16)>) -> (Receiver, String) {
        let receiver = Receiver {
            script: Arc::new(script),
            got: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `enough` holds of what it got.
    async fn until(&self, what: &str, enough: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.got();
            if enough(&got) {
                return got;
            }
            assert!(Instant::now() < deadline, "{what}: got {got:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn take(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let n = receiver.got.lock().unwrap().len();
    let script = &receiver.script;
    let (delay, status) = script[n.min(script.len() - 1)];
    receiver.got.lock().unwrap().push(Got {
        delivery: header("shipdeck-delivery"),
        event: header("shipdeck-event"),
        signature: header("shipdeck-signature"),
        body: body.clone(),
        answered: 0,
    });
    tokio::time::sleep(delay).await;
    receiver.got.lock().unwrap()[n].answered = status;
    StatusCode::from_u16(status).unwrap()
}

/// A receiver that takes the connection and never answers.
async fn hanging() -> (Arc<Mutex<usize>>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let taken = Arc::new(Mutex::new(0));
    let count = Arc::clone(&taken);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            held.push(socket);
        }
    });
    (taken, url)
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn write_config(dir: &Path, hooks: &[(&str, &str)]) {
    let secret = dir.join("hook-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = String::from("webhooks:\n");
    for (url, format) in hooks {
        config.push_str(&format!(
            "  - {{ url: '{url}', format: {format}, secret_file: '{}' }}\n",
            secret.display()
        ));
    }
    let folder = dir.join("config/shipdeck");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("config.yaml"), config).unwrap();
}

async fn command(server: &Server, release: &str, body: Value) -> (u16, Duration) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let asked = Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/releases/{release}/commands", server.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), asked.elapsed())
}

fn journal_path(server: &Server) -> String {
    server
        .banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("journal "))
        .unwrap()
        .to_string()
}

fn journal_of(server: &Server) -> Vec<Value> {
    std::fs::read_to_string(journal_path(server))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn deliveries(journal: &[Value]) -> Vec<&Value> {
    journal
        .iter()
        .filter(|r| r["record"] == "delivery")
        .collect()
}

#[tokio::test]
async fn each_notice_arrives_once_signed_through_slowness_failure_and_a_hang() {
    let tmp = scratch();
    let dir = tmp.path();
    // Slow for the first delivery, then a 500, then it takes them.
    let slow = Duration::from_millis(1500);
    let (good, good_url) = Receiver::start(vec![
        (slow, 200),
        (Duration::ZERO, 500),
        (Duration::ZERO, 200),
    ])
    .await;
    let (gone, gone_url) = Receiver::start(vec![(Duration::ZERO, 410)]).await;
    let (hung, hung_url) = hanging().await;
    write_config(
        dir,
        &[
            (&good_url, "json"),
            (&gone_url, "slack"),
            (&hung_url, "json"),
        ],
    );
    let scenario = two_person(dir);
    let server = Server::start(
        dir,
        &["--scenario", scenario.to_str().unwrap(), "--speed", "max"],
    );
    assert!(
        server.banner.contains(&format!(
            "posts what waits to the webhook {good_url} (json)"
        )),
        "{}",
        server.banner
    );

    // The gate opens: the receiver is told, and it may act on it.
    let first = good
        .until("the gate waits", |g| g.iter().any(|g| g.answered == 200))
        .await;
    let waiting: Value = serde_json::from_slice(&first[0].body).unwrap();
    assert_eq!(first[0].event, "waiting");
    assert_eq!(waiting["type"], "waiting");
    assert_eq!(waiting["what"], "Production deploy approval");
    assert_eq!(waiting["who_may"], "dave or erin");
    assert_eq!(waiting["delivery"], first[0].delivery.as_str());
    let release = waiting["release"].as_str().unwrap().to_string();
    let act = waiting["act"].as_str().unwrap().to_string();
    assert_eq!(
        act,
        format!(
            "shipdeck do approve --backend {} --release {release} --gate production",
            server.url
        )
    );

    a_sign_off_is_answered_at_once(&server, &release, &hung).await;
    act_as_told(dir, &act).await;
    let advance = json!({"id": "c-adv", "operator": "erin", "kind": "advance"});
    good.until("the canary waits", |g| {
        g.iter()
            .any(|g| g.event == "waiting" && g.body.windows(9).any(|w| w == b"\"advance\""))
    })
    .await;
    assert_eq!(command(&server, &release, advance).await.0, 202);

    // Every notice arrives, each accepted exactly once, in order.
    let got = good
        .until("the release finishes", |g| {
            g.iter().any(|g| g.event == "finished" && g.answered == 200)
        })
        .await;
    assert_each_taken_once(&got);

    // Every try is signed; the documented check refuses a changed byte and
    // an old signature.
    assert_signed(&got);

    // The refusing receiver got each notice once, as Slack's body.
    let refused = gone.until("the refusals", |g| g.len() >= 5).await;
    let slack: Value = serde_json::from_slice(&refused[0].body).unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("Production deploy approval"),
        "{slack}"
    );
    assert!(slack["blocks"].is_array());
    assert_signed(&refused);

    // The journal holds each outcome.
    assert_journaled(dir, &server, &good_url, &gone_url, &got).await;
    a_hanging_receiver_times_out(&server, &hung_url).await;
}

/// Each delivery the receiver took once, in order; the slow one tried once,
/// the one that met the 500 twice under its id.
fn assert_each_taken_once(got: &[Got]) {
    let mut accepted: Vec<(String, String)> = Vec::new();
    let mut tries: BTreeMap<String, usize> = BTreeMap::new();
    for g in got {
        *tries.entry(g.delivery.clone()).or_default() += 1;
        let body: Value = serde_json::from_slice(&g.body).unwrap();
        assert_eq!(
            body["delivery"],
            g.delivery.as_str(),
            "the body names its delivery"
        );
        if g.answered == 200 {
            assert!(
                !accepted.iter().any(|(id, _)| *id == g.delivery),
                "{} was accepted twice",
                g.delivery
            );
            accepted.push((g.delivery.clone(), g.event.clone()));
        }
    }
    let events: Vec<&str> = accepted.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(events, ["waiting", "done", "waiting", "done", "finished"]);
    assert_eq!(
        tries.len(),
        5,
        "every try carries its delivery's id: {tries:?}"
    );
    // The second delivery met the 500 and was tried again under its id.
    assert_eq!(got[1].answered, 500);
    assert_eq!(got[2].delivery, got[1].delivery);
    assert_eq!(tries[&got[1].delivery], 2);
    assert_eq!(tries[&got[0].delivery], 1, "slow is not failed");
}

/// Every try verifies with the documented check; a changed byte, an old
/// signature and another secret do not.
fn assert_signed(got: &[Got]) {
    let secret = Secret::new(SECRET.as_bytes());
    for g in got {
        assert_eq!(
            verify(&secret, &g.signature, &g.body, now()),
            Ok(()),
            "{g:?}"
        );
    }
    let g = &got[0];
    let mut changed = g.body.to_vec();
    let at = changed.len() / 2;
    changed[at] ^= 0x01;
    assert_eq!(
        verify(&secret, &g.signature, &changed, now()),
        Err(Why::Mismatch)
    );
    assert!(matches!(
        verify(&secret, &g.signature, &g.body, now() + 6 * 60),
        Err(Why::Stale { .. })
    ));
    assert_eq!(
        verify(&Secret::new(b"another"), &g.signature, &g.body, now()),
        Err(Why::Mismatch)
    );
}

/// The journal holds each try's outcome, and the report each notice given
/// up.
async fn assert_journaled(
    dir: &Path,
    server: &Server,
    good_url: &str,
    gone_url: &str,
    got: &[Got],
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let journal = loop {
        let journal = journal_of(server);
        let given_up = deliveries(&journal)
            .iter()
            .filter(|d| d["state"] == "given_up" && d["status"] == 410)
            .count();
        if given_up >= 5 || Instant::now() > deadline {
            break journal;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let records = deliveries(&journal);
    let of = |hook: &str, state: &str| -> Vec<&&Value> {
        records
            .iter()
            .filter(|d| d["hook"] == hook && d["state"] == state)
            .collect()
    };
    assert_eq!(of(good_url, "sent").len(), 5, "{records:#?}");
    let failed = of(good_url, "failed");
    assert_eq!(failed.len(), 1, "{records:#?}");
    assert_eq!(failed[0]["status"], 500);
    assert_eq!(failed[0]["attempt"], 1);
    assert_eq!(failed[0]["id"], got[1].delivery.as_str());
    let given_up = of(gone_url, "given_up");
    assert_eq!(given_up.len(), 5, "{records:#?}");
    assert_eq!(given_up[0]["attempt"], 1, "a 410 is not tried again");
    let report = shipdeck(dir)
        .args(["report", &journal_path(server)])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("was not sent the waiting notice"),
        "{report}"
    );
}

/// While the third receiver holds its connection, a sign-off is answered at
/// once.
async fn a_sign_off_is_answered_at_once(server: &Server, release: &str, hung: &Mutex<usize>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while *hung.lock().unwrap() == 0 {
        assert!(
            Instant::now() < deadline,
            "the hanging receiver was never called"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sign = json!({"id": "c-dave", "operator": "dave", "kind": "approve", "gate": "production"});
    let (status, took) = command(server, release, sign).await;
    assert_eq!(status, 202);
    assert!(
        took < Duration::from_secs(1),
        "a sign-off took {took:?} while a receiver hung"
    );
}

/// erin acts with the line the webhook gave.
async fn act_as_told(dir: &Path, act: &str) {
    let mut words = shlex::split(act).unwrap();
    assert_eq!(words.remove(0), "shipdeck");
    let mut erin = shipdeck(dir);
    erin.args(&words).args(["--operator", "erin"]);
    // The receivers share this thread: the command runs beside them.
    let out = tokio::task::spawn_blocking(move || erin.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The receiver that never answers: its try is given 10 s, then journaled
/// as failed and tried again.
async fn a_hanging_receiver_times_out(server: &Server, hung_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let journal = journal_of(server);
        let timed_out = deliveries(&journal)
            .into_iter()
            .find(|d| d["hook"] == hung_url)
            .cloned();
        if let Some(record) = timed_out {
            assert_eq!(record["state"], "failed", "{record}");
            assert_eq!(record["attempt"], 1, "{record}");
            assert_eq!(record["why"], "no answer within 10s", "{record}");
            assert!(record.get("status").is_none(), "{record}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no try of the hanging receiver was journaled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
