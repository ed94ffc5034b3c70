//! The `http` backend against a server that misbehaves: a real loopback
//! socket that refuses, answers 500 or 429, resets mid-stream, stalls, sends
//! malformed JSON, skips a seq, sends a 10 MB line or drips bytes. Each time
//! the client says what is wrong, recovers when the server does, and ends up
//! with every event exactly once, in order.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use shipdeck::backend::http::Remote;
use shipdeck::backend::{Connection, Update};
use shipdeck::model::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the server does on one connection.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// Streams every event after the asked seq, then holds the line open.
    Good,
    Status(u16),
    /// 429 with `Retry-After: 1`.
    TooMany,
    /// Events up to this seq, then the socket is closed.
    ResetAfter(u64),
    /// Events up to this seq, then silence with the socket open.
    StallAfter(u64),
    /// Events up to this seq, then a line that is not JSON.
    GarbageAfter(u64),
    /// Events up to this seq, then skips the next one.
    SkipAfter(u64),
    /// Events up to this seq, then the next as a 10 MB line.
    HugeAfter(u64),
    /// Every event, a byte at a time.
    Drip,
    /// Events up to this seq, then a message that reads but cannot be.
    ImpossibleAfter(u64, Impossible),
}

/// Messages that read but that no release could send.
#[derive(Clone, Copy, Debug)]
enum Impossible {
    /// A step giving the new version 255 % of traffic.
    Weight,
    /// An event at the calendar's very end.
    CalendarEnd,
    /// The server's clock at the calendar's very end.
    Clock,
}

impl Impossible {
    fn frame(self, seq: u64) -> String {
        match self {
            Impossible::Weight => format!(
                "id: {seq}\ndata: {{\"seq\":{seq},\"at\":\"2026-11-22T10:00:00Z\",\"release\":\"r\",\"type\":\"canary_step\",\"step\":250,\"state\":\"started\",\"weight\":255}}\n\n"
            ),
            Impossible::CalendarEnd => format!(
                "id: {seq}\ndata: {}\n\n",
                event(seq).replace(
                    &format!("2026-11-22T10:00:{:02}Z", seq % 60),
                    "9999-12-30T22:00:00Z"
                )
            ),
            Impossible::Clock => "event: clock\ndata: {\"at\":\"9999-12-30T22:00:00Z\"}\n\n".into(),
        }
    }
}

const EVENTS: u64 = 12;

fn event(seq: u64) -> String {
    format!(
        r#"{{"seq":{seq},"at":"2026-11-22T10:00:{:02}Z","release":"r","type":"log","level":"info","source":"app","message":"line {seq}"}}"#,
        seq % 60
    )
}

fn frame(seq: u64) -> String {
    format!("id: {seq}\ndata: {}\n\n", event(seq))
}

/// Serves the script, one act a connection (the last act repeats); records
/// the `after` each connection asked for.
type Asked = Arc<std::sync::Mutex<Vec<(u64, std::time::Instant)>>>;

async fn serve(listener: TcpListener, script: Vec<Act>, asked: Asked) {
    let count = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            return;
        };
        let n = count.fetch_add(1, Ordering::SeqCst);
        let act = script[n.min(script.len() - 1)];
        let asked = Arc::clone(&asked);
        tokio::spawn(async move {
            let _ = answer(socket, act, asked).await;
        });
    }
}

// One arm per way the server misbehaves, so it runs long.
async fn answer(mut socket: TcpStream, act: Act, asked: Asked) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buffer).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&request).to_string();
    let after: u64 = head
        .split("after=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    asked
        .lock()
        .unwrap()
        .push((after, std::time::Instant::now()));
    let plain = |status: u16, extra: &str| {
        format!(
            "HTTP/1.1 {status} Oops\r\ncontent-type: application/json\r\n{extra}content-length: 20\r\nconnection: close\r\n\r\n{{\"error\":\"oops now\"}}"
        )
    };
    match act {
        Act::Status(status) => return socket.write_all(plain(status, "").as_bytes()).await,
        Act::TooMany => {
            return socket
                .write_all(plain(429, "retry-after: 1\r\n").as_bytes())
                .await;
        }
        _ => {}
    }
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n")
        .await?;
    socket
        .write_all(b"event: hello\ndata: {\"window\":\"w1\",\"last_seq\":12}\n\n")
        .await?;
    let upto = |last: u64| {
        (after + 1..=last.min(EVENTS))
            .map(frame)
            .collect::<String>()
    };
    match act {
        Act::Good => {
            socket.write_all(upto(EVENTS).as_bytes()).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::ResetAfter(last) => {
            socket.write_all(upto(last).as_bytes()).await?;
            // Cut off mid-event.
            socket.write_all(&frame(last + 1).as_bytes()[..20]).await?;
        }
        Act::StallAfter(last) => {
            socket.write_all(upto(last).as_bytes()).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::GarbageAfter(last) => {
            socket.write_all(upto(last).as_bytes()).await?;
            socket
                .write_all(format!("id: {}\ndata: {{\"seq\": oops\n\n", last + 1).as_bytes())
                .await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::SkipAfter(last) => {
            socket.write_all(upto(last).as_bytes()).await?;
            socket.write_all(frame(last + 2).as_bytes()).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::HugeAfter(last) => {
            socket.write_all(upto(last).as_bytes()).await?;
            let huge = format!(
                "id: {}\ndata: {{\"pad\":\"{}\"}}\n\n",
                last + 1,
                "x".repeat(10 * 1024 * 1024)
            );
            socket.write_all(huge.as_bytes()).await?;
            socket.write_all(frame(last + 2).as_bytes()).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::ImpossibleAfter(last, what) => {
            socket.write_all(upto(last).as_bytes()).await?;
            socket.write_all(what.frame(last + 1).as_bytes()).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::Drip => {
            for byte in upto(EVENTS).bytes() {
                socket.write_all(&[byte]).await?;
                socket.flush().await?;
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Act::Status(_) | Act::TooMany => {}
    }
    Ok(())
}

/// Follows a server playing `script` until every event is in; returns the
/// reasons the connection was reported lost, and the `after`s asked for with
/// when.
async fn survive(
    script: Vec<Act>,
    refuse_first: bool,
) -> (Vec<String>, Vec<(u64, std::time::Instant)>) {
    // A port nobody listens on yet: the first attempts are refused.
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut start_server = Some({
        let asked = Arc::clone(&asked);
        async move {
            let listener = TcpListener::bind(address).await.unwrap();
            tokio::spawn(serve(listener, script, asked));
        }
    });
    if !refuse_first && let Some(start) = start_server.take() {
        start.await;
    }
    let remote = Remote::new(
        &format!("http://{address}"),
        None,
        &shipdeck::model::Person::new("frank").unwrap(),
    )
    .unwrap()
    .with_silence(Duration::from_millis(500), Duration::from_secs(2));
    let (tx, mut updates) = mpsc::channel(1024);
    let follow = tokio::spawn(async move { remote.follow("r", tx).await });
    let mut events: Vec<Event> = Vec::new();
    let mut lost = Vec::new();
    if refuse_first {
        // Refused until the server comes.
        loop {
            if let Some(Update::Connection(Connection::Lost(why))) = updates.recv().await {
                lost.push(why);
                break;
            }
        }
        if let Some(start) = start_server.take() {
            start.await;
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while events.len() < EVENTS as usize {
        match tokio::time::timeout_at(deadline, updates.recv()).await {
            Ok(Some(Update::Events(more))) => events.extend(more),
            Ok(Some(Update::Connection(Connection::Lost(why)))) => lost.push(why),
            Ok(Some(_)) => {}
            other => panic!(
                "gave up with {} events: {other:?}; lost: {lost:?}",
                events.len()
            ),
        }
    }
    follow.abort();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=EVENTS).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let asked = asked.lock().unwrap().clone();
    (lost, asked)
}

fn said(lost: &[String], words: &str) -> bool {
    lost.iter().any(|l| l.contains(words))
}

#[tokio::test]
async fn a_server_that_refuses_then_comes() {
    let (lost, _) = survive(vec![Act::Good], true).await;
    assert!(said(&lost, "connection refused"), "{lost:?}");
}

#[tokio::test]
async fn a_server_answering_500_then_429() {
    let (lost, asked) = survive(vec![Act::Status(500), Act::TooMany, Act::Good], false).await;
    assert!(said(&lost, "500: oops now"), "{lost:?}");
    assert!(said(&lost, "429"), "{lost:?}");
    // Retry-After: 1 is honoured.
    let waited = asked[2].1.duration_since(asked[1].1);
    assert!(
        waited >= Duration::from_millis(950),
        "came back after {waited:?}"
    );
}

#[tokio::test]
async fn a_stream_reset_mid_event_resumes_after_the_last_whole_one() {
    let (lost, asked) = survive(vec![Act::ResetAfter(4), Act::Good], false).await;
    assert!(
        said(&lost, "closed the stream") || said(&lost, "broke"),
        "{lost:?}"
    );
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [0, 4]);
}

#[tokio::test]
async fn a_stalled_stream_is_given_up_and_made_again() {
    let (lost, asked) = survive(vec![Act::StallAfter(5), Act::Good], false).await;
    assert!(
        said(&lost, "quiet") && said(&lost, "no data for"),
        "{lost:?}"
    );
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [0, 5]);
}

#[tokio::test]
async fn malformed_json_is_named_and_read_again() {
    let (lost, asked) = survive(vec![Act::GarbageAfter(3), Act::Good], false).await;
    assert!(
        said(&lost, "after seq 3") && said(&lost, "cannot read"),
        "{lost:?}"
    );
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [0, 3]);
}

#[tokio::test]
async fn a_skipped_seq_is_never_applied_across() {
    let (lost, asked) = survive(vec![Act::SkipAfter(6), Act::Good], false).await;
    assert!(said(&lost, "events 7–7 are missing"), "{lost:?}");
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [0, 6]);
}

#[tokio::test]
async fn a_10_mb_line_ends_the_stream_and_the_event_is_read_again() {
    // Not read to its end: the stream is given up as soon as the line
    // passes 1 MiB, and read again from the last good event.
    let (lost, asked) = survive(vec![Act::HugeAfter(2), Act::Good], false).await;
    assert!(
        said(&lost, "the server sent a stream line longer than 1 MiB"),
        "{lost:?}"
    );
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [0, 2]);
}

#[tokio::test]
async fn bytes_dripped_one_at_a_time_make_the_same_events() {
    let (lost, asked) = survive(vec![Act::Drip], false).await;
    assert!(lost.is_empty(), "{lost:?}");
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [0]);
}

/// Well-formed messages that no release could send are a protocol problem:
/// the link is reported lost with what was wrong, nothing of them is
/// applied, and the stream is read again from the last good event.
#[tokio::test]
async fn events_that_cannot_be_are_refused_as_the_servers_fault() {
    for (what, said_words) in [
        (
            Impossible::Weight,
            "the server sent an event that cannot be: the canary_step event at seq 5 gives the new version 255% of traffic",
        ),
        (
            Impossible::CalendarEnd,
            "the server sent an event that cannot be: the log event at seq 5 is at 9999-12-30T22:00:00Z, out of the range shipdeck keeps (1970-01-01 to 9000-01-01)",
        ),
        (
            Impossible::Clock,
            "the server's clock says 9999-12-30T22:00:00Z is out of range: shipdeck keeps times from 1970-01-01 to 9000-01-01",
        ),
    ] {
        let (lost, asked) = survive(vec![Act::ImpossibleAfter(4, what), Act::Good], false).await;
        assert!(said(&lost, said_words), "{what:?}: {lost:?}");
        assert_eq!(
            asked.iter().map(|a| a.0).collect::<Vec<_>>(),
            [0, 4],
            "{what:?}"
        );
    }
}
