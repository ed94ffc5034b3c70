//! `shipdeck serve` as clients meet it: real server processes on ephemeral
//! loopback ports, spoken to over HTTP, by the command line and by the
//! `http` backend the console uses.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Server, scratch, shipdeck, without_actors};
use serde_json::{Value, json};
use shipdeck::api::{CommandReply, ReleaseSummary, VerdictName};
use shipdeck::backend::http::Remote;
use shipdeck::backend::{Connection, Update};
use shipdeck::model::{Action, Event, EventKind};
use tokio::sync::mpsc;

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn release_id(server: &Server) -> String {
    let list: Vec<ReleaseSummary> = http()
        .get(format!("{}/api/v1/releases", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    list[0].id.clone()
}

async fn post(server: &Server, release: &str, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut request = http()
        .post(format!("{}/api/v1/releases/{release}/commands", server.url))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Reads a raw event stream until `done` says enough, or the time is up.
async fn read_stream(
    url: &str,
    last_event_id: Option<u64>,
    done: impl Fn(&[Event]) -> bool,
) -> (Vec<shipdeck::backend::sse::Message>, Vec<Event>) {
    use futures_util::StreamExt;
    let mut request = http().get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut reader = shipdeck::backend::sse::Reader::default();
    let mut found = Vec::new();
    let mut messages = Vec::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("the stream went quiet")
            .expect("the stream ended")
            .unwrap();
        reader.feed(&chunk, &mut found);
        for item in found.drain(..) {
            if let shipdeck::backend::sse::Found::Message(m) = item {
                if m.event.is_none() {
                    events.push(serde_json::from_str(&m.data).unwrap());
                }
                messages.push(m);
            }
        }
    }
    (messages, events)
}

fn finished(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e.kind, EventKind::ReleaseFinished { .. }))
}

fn assert_contiguous(events: &[Event], from: u64) {
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event.seq, from + n as u64, "a gap or a duplicate at {n}");
    }
}

// Walks the contract of docs/http-api.md route by route, in its order, so
// it runs long.
#[tokio::test]
async fn the_contract_answers_as_documented() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = Server::start(dir, &["--speed", "max", "--autopilot"]);
    assert!(
        server.banner.contains("no tokens: loopback only"),
        "{}",
        server.banner
    );
    let client = http();
    let health = client
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let id = release_id(&server).await;
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("# TYPE http_requests_total counter")
            && metrics.contains(r#"cohort="stable",code="200"}"#)
            && metrics.contains("http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    let snapshot: Value = client
        .get(format!("{}/api/v1/releases/{id}", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(snapshot["last_seq"].as_u64().unwrap() > 0);
    assert_eq!(snapshot["release"]["plan"]["service"], "checkout-api");
    assert!(
        snapshot["window"]
            .as_str()
            .unwrap()
            .contains("happy-canary")
    );

    let missing = client
        .get(format!("{}/api/v1/releases/nope", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains(&id), "{body}");

    let (status, body) = post(&server, &id, json!({"kind": "advance"}), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("id"), "{body}");

    let plain = client
        .post(format!("{}/api/v1/releases/{id}/commands", server.url))
        .body(r#"{"id":"x","operator":"a","kind":"advance"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 415);

    // Hostile numbers and names get a clear refusal, never a panic.
    let events = format!("{}/api/v1/releases/{id}/events", server.url);
    let far = client
        .get(&events)
        .header("Last-Event-ID", u64::MAX.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(far.status(), 200, "a seq from the future waits for it");
    drop(far);
    for bad in [format!("{events}?after=abc"), format!("{events}?after=-1")] {
        let answer = client.get(&bad).send().await.unwrap();
        assert_eq!(answer.status(), 400);
        let body: Value = answer.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("seq"), "{body}");
    }
    let wrong_method = client
        .get(format!("{}/api/v1/releases/{id}/commands", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.json::<Value>().await.unwrap()["error"].is_string());
    let (status, body) = post(
        &server,
        &id,
        json!({"id": "sim-dave-1", "operator": "dave", "kind": "advance"}),
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // DNS rebinding: a page of another site reaching loopback says so in Host.
    let rebound = client
        .get(format!("{}/api/v1/releases", server.url))
        .header("Host", "attacker.example:7878")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);

    let huge = "x".repeat(100_000);
    let (status, body) = post(
        &server,
        &id,
        json!({"id": "big", "operator": "a", "kind": "rollback", "reason": huge}),
        None,
    )
    .await;
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("KiB"), "{body}");
}

/// Sends `request` as it is on a socket of its own; the answer's status
/// and its body.
fn raw(server: &Server, request: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(server.address()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// A request names one host, in ASCII, the same in its Host header and in
/// an absolute URI; a command is JSON by a content type that says exactly
/// that, in any case. Anything else is refused with the reason.
#[tokio::test]
async fn a_request_names_its_host_once_and_a_command_is_exactly_json() {
    let tmp = scratch();
    let server = Server::start(tmp.path(), &["--speed", "max"]);
    let id = release_id(&server).await;
    let host = server.address().to_string();
    let get = |path: &str, headers: &str| {
        format!("GET {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n").into_bytes()
    };
    let releases = "/api/v1/releases";
    let fine = raw(&server, &get(releases, &format!("Host: {host}\r\n")));
    assert_eq!(fine.0, 200, "{fine:?}");
    let absolute_here = format!("http://{host}{releases}");
    let fine = raw(&server, &get(&absolute_here, &format!("Host: {host}\r\n")));
    assert_eq!(fine.0, 200, "an absolute URI naming this server: {fine:?}");
    let refused = [
        ("no Host", get(releases, "")),
        (
            "no Host, HTTP/1.0",
            b"GET /api/v1/releases HTTP/1.0\r\n\r\n".to_vec(),
        ),
        (
            "two",
            get(releases, &format!("Host: {host}\r\nHost: {host}\r\n")),
        ),
        (
            "another host named in the URI",
            get(
                &format!("http://attacker.example{releases}"),
                &format!("Host: {host}\r\n"),
            ),
        ),
        (
            "a user in the Host",
            get(releases, &format!("Host: me@{host}\r\n")),
        ),
        ("the healthz too", get("/healthz", "")),
        ("not ASCII", get(releases, "Host: l\u{43e}calhost\r\n")),
        ("no such port", get(releases, "Host: localhost:99999\r\n")),
        ("port zero", get(releases, "Host: localhost:0\r\n")),
    ];
    for (what, request) in refused {
        let (status, body) = raw(&server, &request);
        assert_eq!(status, 400, "{what}: {body}");
        assert!(body.contains("Host"), "{what}: {body}");
    }

    let command = |content_type: &str, id_: &str| {
        let body = format!(r#"{{"id":"{id_}","operator":"dave","kind":"pause"}}"#);
        format!(
            "POST /api/v1/releases/{id}/commands HTTP/1.1\r\nHost: {host}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    for not_json in [
        "Content-Type: application/jsonx\r\n",
        "Content-Type: application/json-patch+json\r\n",
        "Content-Type: text/plain\r\nContent-Type: application/json\r\n",
        "Content-Type: application/json; charset=latin1\r\n",
        "",
    ] {
        let (status, body) = raw(&server, &command(not_json, "c-not"));
        assert_eq!(status, 415, "{not_json:?}: {body}");
    }
    let (status, body) = raw(
        &server,
        &command("Content-Type: Application/JSON; charset=utf-8\r\n", "c-yes"),
    );
    assert!([202, 409].contains(&status), "{status}: {body}");
    assert!(body.contains("\"id\":\"c-yes\""), "{body}");
}

/// `serve` says where its diagnostics go, and writes them there.
#[tokio::test]
async fn serve_keeps_a_diagnostics_log_and_says_where() {
    let tmp = scratch();
    let server = Server::start(tmp.path(), &["--speed", "max"]);
    let log = tmp.path().join("state/shipdeck/serve.log");
    assert!(
        server
            .banner
            .contains(&format!("diagnostics log {}", log.display())),
        "{}",
        server.banner
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("serve listening"), "{text}");
    assert!(text.contains(server.address()), "{text}");
}

#[tokio::test]
async fn a_stream_resumes_after_a_seq_with_no_gap_and_no_duplicate() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = Server::start(dir, &["--speed", "max", "--autopilot"]);
    let id = release_id(&server).await;
    let url = format!("{}/api/v1/releases/{id}/events", server.url);
    let (messages, all) = read_stream(&url, None, finished).await;
    assert_eq!(messages[0].event.as_deref(), Some("hello"));
    assert_contiguous(&all, 1);
    let last = all.last().unwrap().seq;

    // Last-Event-ID, as a reconnecting EventSource sends it.
    let (_, tail) = read_stream(&url, Some(last - 5), |e| e.len() == 5).await;
    assert_contiguous(&tail, last - 4);
    assert_eq!(tail, all[all.len() - 5..]);
    // ?after=, for clients that choose.
    let (_, from_ten) = read_stream(&format!("{url}?after=10"), None, |e| !e.is_empty()).await;
    assert_eq!(from_ten[0].seq, 11);
}

const ALICE: &str = "alice-7c0b8c2e94f1a6d3";
const BOB: &str = "bob-03e95a4d7b6c21f8e";

fn tokens_file(dir: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("tokens.yaml");
    std::fs::write(&path, format!("alice: {ALICE}\nbob: {BOB}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test]
async fn tokens_decide_who_an_operator_is() {
    let tmp = scratch();
    let dir = tmp.path();
    let tokens = tokens_file(dir, 0o600);
    let mut server = Server::start(dir, &["--tokens", tokens.to_str().unwrap()]);
    let client = http();
    let list = format!("{}/api/v1/releases", server.url);
    let none = client.get(&list).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let wrong = client
        .get(&list)
        .bearer_auth("alice-7c0b8c2e94f1a6d4")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body = wrong.text().await.unwrap();
    assert!(body.contains("not one this server knows"), "{body}");
    assert!(!body.contains(ALICE));
    let right = client.get(&list).bearer_auth(ALICE).send().await.unwrap();
    assert_eq!(right.status(), 200);

    // The body may claim anyone; the token says who it is.
    let id = release_id_with(&server, ALICE).await;
    let (status, reply) = post(
        &server,
        &id,
        json!({"id": "t-1", "operator": "mallory", "kind": "pause"}),
        Some(ALICE),
    )
    .await;
    assert!(status == 409 || status == 202, "{status} {reply}");
    assert_eq!(reply["operator"], "alice");

    // The command line: no token is a clear message and exit 2.
    let out = shipdeck(dir)
        .args(["do", "pause", "--backend", &server.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401") && err.contains("SHIPDECK_TOKEN"),
        "{err}"
    );
    let out = shipdeck(dir)
        .args([
            "do",
            "pause",
            "--backend",
            &server.url,
            "--operator",
            "mallory",
        ])
        .env("SHIPDECK_TOKEN", BOB)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("(as bob)"), "{said}");

    // No token in the server's output, nor in its journal.
    server.kill();
    let mut output = server.banner.clone() + &server.stderr();
    for entry in std::fs::read_dir(dir.join("journal")).unwrap() {
        output.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(
        output.contains("\"operator\":\"alice\""),
        "the journal records alice"
    );
    assert!(
        !output.contains(ALICE) && !output.contains(BOB),
        "a token leaked"
    );
}

async fn release_id_with(server: &Server, token: &str) -> String {
    let list: Vec<ReleaseSummary> = http()
        .get(format!("{}/api/v1/releases", server.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list[0].id.clone()
}

#[test]
fn serve_refuses_what_would_be_unsafe() {
    let tmp = scratch();
    let dir = tmp.path();
    let run = |args: &[&str]| {
        let out = shipdeck(dir).arg("serve").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("without --tokens"), "{err}");
    let open = tokens_file(dir, 0o644);
    let (code, err) = run(&[
        "--listen",
        "127.0.0.1:0",
        "--tokens",
        open.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("chmod 600") && !err.contains(ALICE), "{err}");
    let (code, err) = run(&["--listen", "nowhere"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("HOST:PORT"), "{err}");
}

/// Serves `two-person` and brings it to its production gate: runs at full
/// speed to the staging checklist and ticks its manual item.
async fn at_the_gate(dir: &Path) -> (Server, String) {
    // The bundled story without its scripted people: the test is the people.
    let unscripted = without_actors(dir, "two-person");
    let server = Server::start(
        dir,
        &["--scenario", unscripted.to_str().unwrap(), "--speed", "max"],
    );
    let id = release_id(&server).await;
    let check = json!({"id": "tick-config", "operator": "dave", "kind": "check", "list": "staging-validation", "item": "config"});
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, reply) = post(&server, &id, check.clone(), None).await;
        if status == 202 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the checklist never opened: {reply}"
        );
        // Not open yet: the same id again is safe once it is.
        let retry = json!({"id": format!("tick-{}", fastrand::u32(..)), "operator": "dave", "kind": "check", "list": "staging-validation", "item": "config"});
        let (status, _) = post(&server, &id, retry, None).await;
        if status == 202 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, id)
}

// One story with two people and a watcher, told in order.
#[tokio::test]
async fn two_people_sign_a_two_person_gate_and_every_client_sees_it() {
    let tmp = scratch();
    let dir = tmp.path();
    let (server, id) = at_the_gate(dir).await;
    // A second client follows the stream as a console would.
    let watcher = Remote::new(
        &server.url,
        None,
        &shipdeck::model::Person::new("frank").unwrap(),
    )
    .unwrap();
    let (tx, mut updates) = mpsc::channel(4096);
    let followed = id.clone();
    let follow = tokio::spawn(async move { watcher.follow(&followed, tx).await });

    let approve = |n: &str, who: &str| json!({"id": format!("approve-{n}"), "operator": who, "kind": "approve", "gate": "production", "comment": format!("{who} checked the dashboards")});
    let open_deadline = Instant::now() + Duration::from_secs(20);
    let (status, reply) = loop {
        let (status, reply) = post(
            &server,
            &id,
            approve(&fastrand::u32(..).to_string(), "carol"),
            None,
        )
        .await;
        if !reply["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not open yet")
            || Instant::now() > open_deadline
        {
            break (status, reply);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, 403, "{reply}");
    assert!(
        reply["reason"]
            .as_str()
            .unwrap()
            .contains("carol deployed this release"),
        "{reply}"
    );

    let (status, reply) = post(&server, &id, approve("1", "dave"), None).await;
    assert_eq!(status, 202, "{reply}");
    assert!(
        reply["note"].as_str().unwrap().contains("more needed"),
        "{reply}"
    );
    let (status, reply) = post(&server, &id, approve("2", "dave"), None).await;
    assert_eq!(status, 403, "{reply}");
    assert!(
        reply["reason"].as_str().unwrap().contains("counts once"),
        "{reply}"
    );
    let (status, reply) = post(&server, &id, approve("3", "erin"), None).await;
    assert_eq!(status, 202, "{reply}");

    // The follower saw both sign-offs as they happened, and who is watching.
    let mut signed = Vec::new();
    let mut saw_frank = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while signed.len() < 2 || !saw_frank {
        let update = tokio::time::timeout_at(deadline, updates.recv())
            .await
            .unwrap_or_else(|_| panic!("saw {signed:?}, frank watching: {saw_frank}"))
            .unwrap();
        match update {
            Update::Events(events) => {
                for event in events {
                    if let EventKind::CommandAccepted { command, .. } = &event.kind
                        && matches!(command.action, Action::Approve { .. })
                    {
                        signed.push(command.operator.clone());
                    }
                }
            }
            Update::Presence(presence) => {
                saw_frank |= presence.watchers.iter().any(|w| w.operator == "frank");
            }
            _ => {}
        }
    }
    assert_eq!(signed, ["dave", "erin"]);
    follow.abort();
}

#[tokio::test]
async fn the_same_command_id_is_applied_once() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = Server::start(dir, &["--speed", "5"]);
    let id = release_id(&server).await;
    let rollback =
        json!({"id": "same-id", "operator": "alice", "kind": "rollback", "reason": "p99 up"});
    let mut sends = Vec::new();
    for _ in 0..20 {
        let url = server.url.clone();
        let (body, release) = (rollback.clone(), id.clone());
        sends.push(tokio::spawn(async move {
            let response = http()
                .post(format!("{url}/api/v1/releases/{release}/commands"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json::<CommandReply>().await.unwrap(),
            )
        }));
    }
    let mut replies = Vec::new();
    for send in sends {
        replies.push(send.await.unwrap());
    }
    assert!(replies.iter().all(|r| *r == replies[0]), "{replies:?}");
    assert_eq!(replies[0].1.verdict, VerdictName::Accepted);
    // Another operator may not reuse the id.
    let (status, body) = post(
        &server,
        &id,
        json!({"id": "same-id", "operator": "bob", "kind": "rollback"}),
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let url = format!("{}/api/v1/releases/{id}/events", server.url);
    // Sent before the rollout began, the rollback stops the release.
    let (_, events) = read_stream(&url, None, |events| {
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::ReleaseStopped { .. }))
    })
    .await;
    let answered = events
        .iter()
        .filter(|e| match &e.kind {
            EventKind::CommandAccepted { command, .. }
            | EventKind::CommandRejected { command, .. } => command.id == "same-id",
            _ => false,
        })
        .count();
    assert_eq!(answered, 1);
    let started = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ReleaseStopped { .. }))
        .count();
    assert_eq!(started, 1);
}

#[tokio::test]
async fn a_killed_server_is_taken_up_where_it_stopped_and_clients_miss_nothing() {
    let tmp = scratch();
    let dir = tmp.path();
    let mut server = Server::start(dir, &["--scenario", "two-person", "--speed", "30"]);
    let id = release_id(&server).await;
    let follower = Remote::new(
        &server.url,
        None,
        &shipdeck::model::Person::new("frank").unwrap(),
    )
    .unwrap();
    let (tx, mut updates) = mpsc::channel(65536);
    let followed = id.clone();
    let follow = tokio::spawn(async move { follower.follow(&followed, tx).await });

    let mut events: Vec<Event> = Vec::new();
    let mut lost = false;
    collect(&mut updates, &mut events, &mut lost, |e, _| e.len() > 50).await;
    let before = events.last().unwrap().seq;

    server.kill();
    collect(&mut updates, &mut events, &mut lost, |_, lost| lost).await;
    let listen = server.address().to_string();
    let again = [
        "--listen",
        &listen,
        "--scenario",
        "two-person",
        "--speed",
        "30",
    ];
    let server = Server::start(dir, &again);
    assert!(
        server.banner.contains("taken up at seq"),
        "{}",
        server.banner
    );

    collect(&mut updates, &mut events, &mut lost, |e, _| {
        e.last().is_some_and(|l| l.seq > before + 30)
    })
    .await;
    assert_contiguous(&events, 1);
    follow.abort();

    // One journal: the window goes on in it.
    let journals: Vec<_> = std::fs::read_dir(dir.join("journal")).unwrap().collect();
    assert_eq!(journals.len(), 1);
}

/// Takes a follower's updates until `until` holds.
async fn collect(
    updates: &mut mpsc::Receiver<Update>,
    events: &mut Vec<Event>,
    lost: &mut bool,
    until: impl Fn(&[Event], bool) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while !until(events, *lost) {
        match tokio::time::timeout_at(deadline, updates.recv()).await {
            Ok(Some(Update::Events(more))) => events.extend(more),
            Ok(Some(Update::Connection(Connection::Lost(_)))) => *lost = true,
            Ok(Some(Update::Reset)) => panic!("the window was not taken up"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("gave up at seq {:?}", events.last().map(|e| e.seq)),
        }
    }
}

#[test]
fn do_and_events_speak_to_a_server_from_the_shell() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = Server::start(dir, &["--speed", "max", "--autopilot"]);
    let shipdeck = |args: &[&str]| {
        common::shipdeck(dir)
            .args(args)
            .env("SHIPDECK_JOURNAL_DIR", dir.join("client-journal"))
            .output()
            .unwrap()
    };
    let out = shipdeck(&["events", "--backend", &server.url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Event> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_contiguous(&events, 1);
    assert!(finished(&events));

    // The release has succeeded: nothing is left to advance. Exit 3, why.
    let out = shipdeck(&[
        "do",
        "advance",
        "--backend",
        &server.url,
        "--operator",
        "alice",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the release has finished"));
    let out = shipdeck(&["do", "reject", "--backend", &server.url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--comment"));
    let out = shipdeck(&["do", "advance", "--backend", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
    let out = shipdeck(&["events", "--backend", &server.url, "--scenario", "rolling"]);
    assert_eq!(out.status.code(), Some(2));

    // A release in flight takes a rollback: exit 0, and who it was.
    let live = Server::start(dir, &["--speed", "5", "--fresh"]);
    let out = shipdeck(&[
        "do",
        "rollback",
        "--comment",
        "p99 up",
        "--backend",
        &live.url,
        "--operator",
        "alice",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rollback accepted (as alice)"));
}

/// The release's rollback as a server's snapshot tells it: who, and why.
async fn rollback_of(server: &Server, id: &str) -> Option<(String, String)> {
    let snapshot: Value = http()
        .get(format!("{}/api/v1/releases/{id}", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rollback = &snapshot["release"]["rollback"];
    let text = |field: &str| rollback[field].as_str().map(str::to_string);
    text("by").zip(text("reason"))
}

/// On a server without tokens a client names itself; it cannot name itself
/// as a rule or as shipdeck, nor rewrite the reason a rule recorded.
#[tokio::test]
async fn a_client_cannot_act_as_a_rule_or_as_shipdeck_or_rewrite_a_recorded_reason() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = Server::start(
        dir,
        &[
            "--scenario",
            "canary-regression",
            "--speed",
            "max",
            "--autopilot",
        ],
    );
    let id = release_id(&server).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (by, reason) = loop {
        if let Some(rollback) = rollback_of(&server, &id).await {
            break rollback;
        }
        assert!(Instant::now() < deadline, "the rule never rolled back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(by, "rule:ErrorRateRollback");
    for (n, name) in [
        "rule:ErrorRateRollback",
        "Rule:ErrorRateRollback",
        "ｒｕｌｅ：ErrorRateRollback",
        "rule : ErrorRateRollback",
        "shipdeck",
        "Autopilot",
        "prometheus",
    ]
    .into_iter()
    .enumerate()
    {
        let rewrite = json!({"id": format!("rewrite-{n}"), "operator": name, "kind": "rollback", "reason": "nothing to see here"});
        let (status, body) = post(&server, &id, rewrite, None).await;
        assert_eq!(status, 403, "{name}: {body}");
        let said = body["error"].as_str().unwrap_or_default();
        assert!(said.contains("shipdeck uses for itself"), "{name}: {body}");
    }
    // A name no person can have is no name at all.
    for (n, name) in ["dave\u{200b}", "\u{202e}evad", "d\u{430}ve", ""]
        .into_iter()
        .enumerate()
    {
        let command = json!({"id": format!("hidden-{n}"), "operator": name, "kind": "rollback", "reason": "x"});
        let (status, body) = post(&server, &id, command, None).await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("operator"),
            "{name:?}: {body}"
        );
    }
    // Nor as a watcher's name.
    let named = |name: &str| {
        http()
            .get(format!("{}/api/v1/releases/{id}/events", server.url))
            .header("Shipdeck-Operator", name)
            .send()
    };
    assert_eq!(named("rule:ErrorRateRollback").await.unwrap().status(), 403);
    assert_eq!(named("dave\u{200b}").await.unwrap().status(), 400);
    // A person who did not roll back adds nothing to the rule's reason.
    let other = json!({"id": "dave-1", "operator": "dave", "kind": "rollback", "reason": "nothing to see here"});
    let (status, body) = post(&server, &id, other, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        rollback_of(&server, &id).await,
        Some((by, reason)),
        "the rule's record stands as it recorded it"
    );
}

/// Two consoles of one person, however each spells the name, are one
/// watcher with two streams.
#[tokio::test]
async fn one_person_under_two_spellings_watches_once() {
    let tmp = scratch();
    let dir = tmp.path();
    let server = Server::start(dir, &["--speed", "1"]);
    let id = release_id(&server).await;
    let (tx, mut updates) = mpsc::channel(4096);
    let mut follows = Vec::new();
    for name in ["frank", "ＦＲＡＮＫ"] {
        let remote = Remote::new(
            &server.url,
            None,
            &shipdeck::model::Person::new(name).unwrap(),
        )
        .unwrap();
        let (followed, tx) = (id.clone(), tx.clone());
        follows.push(tokio::spawn(
            async move { remote.follow(&followed, tx).await },
        ));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let update = tokio::time::timeout_at(deadline, updates.recv())
            .await
            .expect("presence never showed both streams")
            .unwrap();
        if let Update::Presence(presence) = update
            && presence.watchers.iter().map(|w| w.streams).sum::<u32>() == 2
        {
            assert_eq!((presence.people, presence.streams), (1, 2));
            let watchers = presence.watchers;
            assert_eq!(watchers.len(), 1, "{watchers:?}");
            assert_eq!(watchers[0].operator, "frank");
            break;
        }
    }
    for follow in follows {
        follow.abort();
    }
}
