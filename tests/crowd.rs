//! `shipdeck serve` against a crowd of sockets: silent ones, slowloris ones
//! that send a header line a second, idle keep-alives, a body that drips,
//! and more followers than it takes. The server is a real process, some of
//! the time under a low descriptor limit (`ulimit -n`); an operator with a
//! token is still answered at once, the crowd is closed after the timeout,
//! and a follower's stream goes on throughout.
//!
//! The bounds asserted are generous: a request's head is due within 10 s,
//! so "closed" means between 8 and 25 s, and "at once" under 5 s.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Server, scratch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, timeout};

const TOKEN: &str = "d4ve-0123456789abcdef";

/// `serve` with a token for dave, each process allowed `descriptors` open
/// files (or its usual number).
fn serve(dir: &Path, descriptors: Option<u64>) -> Server {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let tokens = dir.join("tokens.yaml");
    std::fs::write(&tokens, format!("dave: {TOKEN}\n")).unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tokens = tokens.to_str().unwrap().to_string();
    Server::start_with(dir, &["--tokens", &tokens], |command: &mut Command| {
        if let Some(limit) = descriptors {
            limit_descriptors(command, limit);
        }
    })
}

fn limit_descriptors(command: &mut Command, limit: u64) {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let rlimit = Rlimit {
        current: Some(limit),
        maximum: Some(limit),
    };
    // SAFETY: setrlimit is async-signal-safe and touches nothing shared.
    unsafe {
        command.pre_exec(move || setrlimit(Resource::Nofile, rlimit).map_err(Into::into));
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Asks for the release list as dave; how long the answer took.
async fn answered_as_dave(server: &Server) -> Duration {
    let asked = Instant::now();
    let answer = http()
        .get(format!("{}/api/v1/releases", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("dave's request is answered");
    assert_eq!(answer.status(), 200);
    let list: serde_json::Value = answer.json().await.unwrap();
    assert!(list[0]["id"].is_string(), "{list}");
    asked.elapsed()
}

async fn release(server: &Server) -> String {
    let list: serde_json::Value = http()
        .get(format!("{}/api/v1/releases", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list[0]["id"].as_str().unwrap().to_string()
}

/// Dave following the release's events, the hello read.
async fn follow(server: &Server) -> reqwest::Response {
    let id = release(server).await;
    let mut stream = http()
        .get(format!("{}/api/v1/releases/{id}/events", server.url))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("hello"));
    stream
}

/// Whether the stream is still sending (a keep-alive comes every 10 s).
async fn still_sending(stream: &mut reqwest::Response) -> bool {
    matches!(
        timeout(Duration::from_secs(15), stream.chunk()).await,
        Ok(Ok(Some(_)))
    )
}

/// How a socket of the crowd behaves.
#[derive(Clone, Copy, Debug)]
enum Sock {
    /// Connects and says nothing.
    Silent,
    /// Sends a request line, then a header line a second, never the end.
    Slowloris,
    /// Sends a whole request, reads the answer, then waits.
    Idle,
}

/// A socket that behaves as `sock`; how long after opening the server
/// closed it (the task ends when it does, or after a minute).
async fn sock(mut socket: TcpStream, address: String, sock: Sock) -> (Sock, Option<Duration>) {
    let opened = Instant::now();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n");
    match sock {
        Sock::Silent => {}
        Sock::Slowloris => {
            let _ = socket.write_all(request.as_bytes()).await;
        }
        Sock::Idle => {
            let _ = socket.write_all(format!("{request}\r\n").as_bytes()).await;
        }
    }
    let mut buffer = [0u8; 1024];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let until = opened + Duration::from_secs(60);
    loop {
        tokio::select! {
            read = socket.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return (sock, Some(opened.elapsed())),
                Ok(_) => {}
            },
            _ = tick.tick() => {
                if matches!(sock, Sock::Slowloris) && socket.write_all(b"X-Slow: y\r\n").await.is_err() {
                    return (sock, Some(opened.elapsed()));
                }
            }
            () = tokio::time::sleep_until(until) => return (sock, None),
        }
    }
}

/// Opens the sockets one after another (so none is lost in a full accept
/// queue), each then behaving as its kind says.
async fn crowd(server: &Server, socks: &[(Sock, usize)]) -> JoinSet<(Sock, Option<Duration>)> {
    let mut set = JoinSet::new();
    let address = server.address().to_string();
    for &(kind, count) in socks {
        for _ in 0..count {
            let socket = TcpStream::connect(&address).await.unwrap();
            set.spawn(sock(socket, address.clone(), kind));
        }
    }
    set
}

/// 150 silent sockets and 300 slowloris ones, under a limit of 128
/// descriptors: dave is answered at once, again and again, his stream goes
/// on, and the crowd is closed within the timeout.
#[tokio::test]
async fn a_crowd_of_silent_and_slow_sockets_cannot_keep_an_operator_out() {
    let tmp = scratch();
    let server = serve(tmp.path(), Some(128));
    assert!(
        server
            .banner
            .contains("at most 96 connections (72 of them event streams)"),
        "{}",
        server.banner
    );
    let mut stream = follow(&server).await;
    let mut crowd = crowd(&server, &[(Sock::Silent, 150), (Sock::Slowloris, 300)]).await;
    sleep(Duration::from_millis(500)).await;
    for _ in 0..5 {
        let took = answered_as_dave(&server).await;
        assert!(took < Duration::from_secs(5), "dave waited {took:?}");
        sleep(Duration::from_millis(200)).await;
    }
    while let Some(closed) = crowd.join_next().await {
        let (kind, after) = closed.unwrap();
        assert!(
            after.is_some_and(|a| a <= Duration::from_secs(25)),
            "a {kind:?} socket was still open after {after:?}; the server said: {}{}",
            server.stderr(),
            std::fs::read_to_string(tmp.path().join("state/shipdeck/serve.log"))
                .unwrap_or_default()
        );
    }
    assert!(
        still_sending(&mut stream).await,
        "the follower's stream went on"
    );
    assert!(answered_as_dave(&server).await < Duration::from_secs(5));
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// Without a crowd to shed them, a silent socket, a slowloris, a kept-alive
/// connection left idle and a body that drips are each closed once their
/// time is up, not before, and a follower is never taken for idle.
#[tokio::test]
async fn a_socket_that_sends_no_request_is_closed_after_ten_seconds() {
    let tmp = scratch();
    let server = serve(tmp.path(), None);
    let mut stream = follow(&server).await;
    let mut socks = crowd(
        &server,
        &[(Sock::Silent, 3), (Sock::Slowloris, 3), (Sock::Idle, 3)],
    )
    .await;
    let id = release(&server).await;
    let dripping = tokio::spawn(drip_a_body(server.address().to_string(), id));
    while let Some(closed) = socks.join_next().await {
        let (kind, after) = closed.unwrap();
        let after = after.unwrap_or_else(|| panic!("a {kind:?} socket was never closed"));
        assert!(
            (Duration::from_secs(8)..=Duration::from_secs(25)).contains(&after),
            "a {kind:?} socket was closed after {after:?}"
        );
    }
    let (status, after) = dripping.await.unwrap();
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(after <= Duration::from_secs(25), "{after:?}");
    assert!(
        still_sending(&mut stream).await,
        "the follower's stream went on"
    );
    assert!(still_sending(&mut stream).await, "and on");
}

/// A command whose body comes a byte a second: the status line of the
/// answer, and when it came.
async fn drip_a_body(address: String, release: String) -> (String, Duration) {
    let mut socket = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/releases/{release}/commands HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let asked = Instant::now();
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        tokio::select! {
            read = socket.read(&mut buffer) => {
                let n = read.unwrap_or(0);
                let text = String::from_utf8_lossy(&buffer[..n]).lines().next().unwrap_or("closed").to_string();
                return (text, asked.elapsed());
            }
            () = sleep(Duration::from_secs(1)) => {
                if socket.write_all(b" ").await.is_err() {
                    return ("closed while writing".into(), asked.elapsed());
                }
            }
        }
    }
}

/// Under a limit of 40 descriptors the server takes 8 connections, 6 of
/// them streams: a seventh follower is told to come back, and requests are
/// answered all the while.
#[tokio::test]
async fn followers_cannot_take_every_place() {
    let tmp = scratch();
    let server = serve(tmp.path(), Some(40));
    assert!(
        server
            .banner
            .contains("at most 8 connections (6 of them event streams)"),
        "{}",
        server.banner
    );
    let mut streams = Vec::new();
    for _ in 0..6 {
        streams.push(follow(&server).await);
    }
    let id = release(&server).await;
    let seventh = http()
        .get(format!("{}/api/v1/releases/{id}/events", server.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(seventh.status(), 503);
    assert_eq!(seventh.headers()["retry-after"], "5");
    let body = seventh.text().await.unwrap();
    assert!(body.contains("follows 6 event streams"), "{body}");
    for _ in 0..3 {
        assert!(answered_as_dave(&server).await < Duration::from_secs(5));
    }
    // A follower that leaves frees its place.
    drop(streams.pop());
    let left = Instant::now();
    sleep(Duration::from_millis(300)).await;
    streams.push(follow(&server).await);
    assert!(left.elapsed() < Duration::from_secs(5));
    for stream in &mut streams {
        assert!(still_sending(stream).await);
    }
}

/// The descriptors a process has open now.
fn open_descriptors(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as u64
}

/// The CPU time a process has used, in clock ticks (user and system).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// With two descriptors to spare for connections, the server runs out
/// (EMFILE) at once: it sheds the sockets that wait for nothing and takes
/// dave's request, without spinning on the failed accepts.
#[tokio::test]
async fn out_of_descriptors_the_server_sheds_and_pauses_rather_than_spins() {
    let tmp = scratch();
    let base = {
        let server = serve(&tmp.path().join("measure"), None);
        answered_as_dave(&server).await;
        open_descriptors(server.pid())
    };
    let server = serve(&tmp.path().join("short"), Some(base + 2));
    let mut crowd = crowd(&server, &[(Sock::Silent, 60)]).await;
    sleep(Duration::from_millis(500)).await;
    let before = cpu_ticks(server.pid());
    let took = answered_as_dave(&server).await;
    assert!(took < Duration::from_secs(10), "dave waited {took:?}");
    sleep(Duration::from_secs(2)).await;
    let spent = cpu_ticks(server.pid()) - before;
    assert!(
        spent < 100,
        "the server spent {spent} ticks of CPU in {:?}",
        took + Duration::from_secs(2)
    );
    crowd.abort_all();
    assert!(answered_as_dave(&server).await < Duration::from_secs(5));
    let log = std::fs::read_to_string(tmp.path().join("short/state/shipdeck/serve.log")).unwrap();
    assert!(log.contains("out of file descriptors"), "{log}");
}
