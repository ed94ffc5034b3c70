//! The http backend against a server that sends too much or makes it come
//! back too often: an endless release list, a list of tens of thousands of
//! releases, a command reply that never ends, and servers that end every
//! stream at once in each way a stream can end. The client reads a bounded
//! amount, says so in a few words, and backs off however the stream ended.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shipdeck::backend::http::{Remote, RemoteError};
use shipdeck::model::{Action, Command, Person};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What the server does with every connection.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// `[` and then release summaries, chunk after chunk, for ever.
    EndlessList,
    /// A list of this many releases, whole.
    Releases(usize),
    /// A 202 whose chunked reply never ends.
    EndlessReply,
    /// The stream's hello naming a window of its own, then closes.
    NewWindow,
    /// The stream's hello, then closes.
    CloseAfterHello,
    /// A hello that is not readable.
    BadHello,
    /// 410: the events asked for are no longer kept.
    Gone,
    /// A stream whose bytes never stop: a `hello` data line, an event
    /// line, or `data:` lines with no blank line between them.
    Endless(&'static [u8], &'static [u8]),
}

fn summary(n: usize) -> String {
    format!(
        r#"{{"id":"release-{n:06}","window":"w","service":"s","version_from":"v1","version_to":"v2","environment":"e","status":"running","last_seq":1}}"#
    )
}

/// Serves `act` on every connection; the count of connections so far.
async fn serve(act: Act) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = answer(socket, act, n).await;
            });
        }
    });
    (url, count)
}

async fn answer(mut socket: TcpStream, act: Act, n: usize) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = socket.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let chunked = |status: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
        )
    };
    let stream_head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
    match act {
        Act::EndlessList | Act::EndlessReply => {
            let status = if matches!(act, Act::EndlessList) {
                "200 OK"
            } else {
                "202 Accepted"
            };
            socket.write_all(chunked(status).as_bytes()).await?;
            socket.write_all(b"1\r\n[\r\n").await?;
            let item = format!("{},", summary(n));
            let chunk = format!("{:x}\r\n{item}\r\n", item.len()).repeat(1000);
            loop {
                socket.write_all(chunk.as_bytes()).await?;
            }
        }
        Act::Releases(count) => {
            let list: Vec<String> = (0..count).map(summary).collect();
            let body = format!("[{}]", list.join(","));
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await
        }
        Act::NewWindow => {
            let hello = format!("event: hello\ndata: {{\"window\":\"w{n}\",\"last_seq\":0}}\n\n");
            socket.write_all(stream_head.as_bytes()).await?;
            socket.write_all(hello.as_bytes()).await
        }
        Act::CloseAfterHello => {
            socket.write_all(stream_head.as_bytes()).await?;
            socket
                .write_all(b"event: hello\ndata: {\"window\":\"w\",\"last_seq\":0}\n\n")
                .await
        }
        Act::BadHello => {
            socket.write_all(stream_head.as_bytes()).await?;
            socket
                .write_all(b"event: hello\ndata: {\"window\": 7}\n\n")
                .await
        }
        Act::Endless(head, repeated) => {
            socket.write_all(stream_head.as_bytes()).await?;
            socket.write_all(head).await?;
            let chunk = repeated.repeat(64 * 1024 / repeated.len());
            loop {
                socket.write_all(&chunk).await?;
            }
        }
        Act::Gone => {
            let body = r#"{"error":"events before seq 9 are no longer kept"}"#;
            let head = format!(
                "HTTP/1.1 410 Gone\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(head.as_bytes()).await
        }
    }
}

fn remote(url: &str) -> Remote {
    Remote::new(url, None, &Person::new("frank").unwrap()).unwrap()
}

#[tokio::test]
async fn an_endless_release_list_is_refused_once_it_passes_the_bound() {
    let (url, _) = serve(Act::EndlessList).await;
    let started = Instant::now();
    let answer = remote(&url).releases().await;
    let Err(RemoteError::Garbled(why)) = answer else {
        panic!("an endless list is not read: {answer:?}");
    };
    assert!(why.contains("larger than 4 MiB"), "{why}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "refused as soon as it passed the bound, not at the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_list_of_many_releases_makes_a_short_message() {
    let (url, _) = serve(Act::Releases(20_000)).await;
    for wanted in [None, Some("nope")] {
        let Err(err) = remote(&url).pick_release(wanted).await else {
            panic!("no release picked among 20,000 without --release");
        };
        let message = err.to_string();
        assert!(
            message.len() < 1000,
            "{} bytes: {message:.300}",
            message.len()
        );
        assert!(
            message.contains("release-000000, release-000001")
                && message.contains("and 19990 more"),
            "{message}"
        );
    }
    // A list past the bound is refused whole, in as few words.
    let (url, _) = serve(Act::Releases(150_000)).await;
    let err = remote(&url).pick_release(None).await.unwrap_err();
    assert!(
        err.to_string().len() < 300 && err.to_string().contains("larger than"),
        "{err}"
    );
}

#[tokio::test]
async fn a_command_reply_that_never_ends_is_not_read() {
    let (url, _) = serve(Act::EndlessReply).await;
    let command = Command::new("c1", Person::new("frank").unwrap(), Action::Advance);
    let started = Instant::now();
    let answer = remote(&url)
        .send("r", &command, Duration::from_secs(20))
        .await;
    let Err(RemoteError::Garbled(why)) = answer else {
        panic!("an endless reply is not a verdict: {answer:?}");
    };
    assert!(why.contains("larger than"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// How many times the client connects in `within` to a server playing
/// `act`, and what it was told meanwhile.
async fn connections(act: Act, within: Duration) -> (usize, Vec<String>) {
    let (url, count) = serve(act).await;
    let (tx, mut updates) = mpsc::channel(1024);
    let remote = remote(&url);
    let follow = tokio::spawn(async move { remote.follow("r", tx).await });
    let mut said = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(update)) = tokio::time::timeout_at(deadline, updates.recv()).await {
        if let shipdeck::backend::Update::Connection(shipdeck::backend::Connection::Lost(why)) =
            update
        {
            said.push(why);
        }
    }
    follow.abort();
    (count.load(Ordering::SeqCst), said)
}

/// However a stream ends at once, the client comes back after a quarter
/// second, then half, then one, two, four (each drawn between half and
/// all of that): at most six tries in four seconds, where a client that
/// did not back off makes thousands.
#[tokio::test]
async fn every_way_a_stream_ends_at_once_is_backed_off() {
    let acts = [
        Act::NewWindow,
        Act::CloseAfterHello,
        Act::BadHello,
        Act::Gone,
    ];
    let runs = acts.map(|act| tokio::spawn(connections(act, Duration::from_secs(4))));
    for (act, run) in acts.into_iter().zip(runs) {
        let (tries, said) = run.await.unwrap();
        assert!(
            (2..=10).contains(&tries),
            "{act:?}: {tries} connections in 4 s; told {said:?}"
        );
        if !matches!(act, Act::NewWindow) {
            assert!(
                said.iter().any(|s| s.contains("retry in")),
                "{act:?}: {said:?}"
            );
        }
    }
}

/// A stream that never stops sending is refused as soon as a line or a
/// message passes its bound, the reason shown, and made again after a wait.
#[tokio::test]
async fn an_endless_stream_line_or_message_is_refused_at_its_bound() {
    let data_lines = format!("data: {}\n", "x".repeat(1000)).into_bytes();
    let data_lines: &'static [u8] = Vec::leak(data_lines);
    let acts = [
        (
            Act::Endless(b"event: hello\ndata: ", b"x"),
            "`hello` message larger than 64 KiB",
        ),
        (Act::Endless(b"event: ", b"x"), "line longer than 1 MiB"),
        (Act::Endless(b"", b"data: x\n"), "2 MiB and no message"),
        (Act::Endless(b"", data_lines), "message larger than 1 MiB"),
        (Act::Endless(b"", b"id: 1\n"), "2 MiB and no message"),
    ];
    let runs = acts.map(|(act, _)| tokio::spawn(connections(act, Duration::from_secs(6))));
    for ((act, reason), run) in acts.into_iter().zip(runs) {
        let (tries, said) = run.await.unwrap();
        assert!(
            (2..=12).contains(&tries),
            "{act:?}: {tries} connections in 6 s; told {said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.contains(reason) && s.contains("retry in")),
            "{act:?}: {said:?}"
        );
    }
}
