//! `shipdeck serve` on a release day, against the budgets of its issue, in
//! one table: `cargo bench --bench serve`.
//!
//! The release binary serves a window that waits at a two-person gate (its
//! pre-deployment checklist open, nobody signing), at `--speed 120`, so the
//! simulator's own events (metric samples, in the batches a scrape makes)
//! come at about 90 a second, steady: a window's realistic rate. The bench is the
//! crowd: N followers (100, 1000, 5000), each a raw HTTP/1.1 connection
//! reading the event stream as `watcher-N`, checking its seqs are contiguous
//! and timing the events that carry the bench's own command ids against the
//! moment each command was sent. Server and clients share this machine.
//!
//! `SHIPDECK_BENCH_QUICK=1` shortens every phase and skips the 5000 run, for
//! a look, not a record. Exit status 1 when a budget is missed.

// A tool of the house printing its own words, not shipdeck's output.
#![allow(clippy::disallowed_macros)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "common/measure.rs"]
#[allow(dead_code)] // `bursts` is for the benches in a terminal
mod measure;
use measure::*;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// A release that waits at a two-person gate nobody signs; its checklist's
/// items are what the bench ticks and unticks.
const SCENARIO: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 50 }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: approval, kind: approval, gate: production, checklist: pre }
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 1h }
gates:
  - { id: production, name: Production deploy approval, required: 2, approvers: [dave, erin] }
checklists:
  - id: pre
    name: Pre-deployment
    items:
      - { id: notes, text: Release notes prepared }
      - { id: docs, text: Documentation updated }
";

/// How long any one wait of the bench may take before it is a miss.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long a command's answer may take before it counts as unanswered.
const ANSWER: Duration = Duration::from_secs(10);
/// Marker ids a run can hand out (each phase takes a range).
const MARKERS: usize = 16_384;
/// The events a second of the realistic rate: commands and the simulator's own.
const REALISTIC: f64 = 100.0;
/// The simulator's speed: its own events come at most of the realistic rate.
const SPEED: &str = "120";
/// The fewest commands a second sent in the realistic phase: the probes
/// whose events the lag is timed on.
const PROBES: f64 = 5.0;

// ---------------------------------------------------------------------------
// The server

/// A `shipdeck serve` process of the bench's; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
    /// When it said it listens.
    listening: Instant,
}

impl Server {
    /// `shipdeck serve` on `port` (0: any), its journal and state in `dir`.
    fn start(dir: &Path, port: u16) -> Result<Server, String> {
        let scenario = dir.join("release-day.yaml");
        std::fs::write(&scenario, SCENARIO).map_err(|e| e.to_string())?;
        let out = dir.join(format!("serve-{}.stdout", fastrand::u32(..)));
        let err = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.stderr"))
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SHIPDECK_") {
                command.env_remove(name);
            }
        }
        let child = command
            .env("SHIPDECK_JOURNAL_DIR", dir.join("journal"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--speed", SPEED, "--scenario", scenario.to_str().unwrap()])
            .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?)
            .stderr(err)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("serve does not run: {e}"))?;
        let mut server = Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir: dir.to_path_buf(),
            listening: Instant::now(),
        };
        server.wait_for_banner(&out)?;
        Ok(server)
    }

    /// Polls its standard output for `listening on ADDR`.
    fn wait_for_banner(&mut self, out: &Path) -> Result<(), String> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(out).unwrap_or_default();
            let found = text
                .lines()
                .find_map(|l| l.strip_prefix("shipdeck serve: listening on http://"));
            if let Some(addr) = found.and_then(|a| a.trim().parse().ok()) {
                self.addr = addr;
                self.listening = Instant::now();
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let why = std::fs::read_to_string(self.dir.join("serve.stderr"));
                return Err(format!(
                    "serve exited {status}: {}",
                    why.unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Err("serve did not say it listens within 20 s".into())
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, and waits for it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix(" kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(f64::NAN)
}

/// Lets this process hold as many sockets as its hard limit allows.
fn raise_descriptor_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------
// HTTP/1.1 on a raw socket

/// An answer's head, and the body bytes read with it.
struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    rest: Vec<u8>,
}

/// Reads up to the end of an answer's head (at most 64 KiB).
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Head> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let rest = buf[end + 4..].to_vec();
            buf.clear();
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            };
            return Ok(Head {
                status,
                length: header("content-length:").and_then(|v| v.parse().ok()),
                chunked: header("transfer-encoding:").is_some_and(|v| v.contains("chunked")),
                rest,
            });
        }
        if buf.len() > 65_536 {
            return Err(std::io::Error::other("head over 64 KiB"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Decodes `Transfer-Encoding: chunked` as bytes arrive.
#[derive(Default)]
struct Chunked {
    /// Bytes of the current chunk still to come.
    left: usize,
    /// The chunk's trailing CRLF is still to come.
    crlf: bool,
    size_line: Vec<u8>,
    done: bool,
}

impl Chunked {
    /// Feeds `input`, handing each piece of body to `body`.
    fn feed(&mut self, mut input: &[u8], body: &mut impl FnMut(&[u8])) {
        while !input.is_empty() && !self.done {
            if self.left > 0 {
                let n = self.left.min(input.len());
                body(&input[..n]);
                self.left -= n;
                input = &input[n..];
                self.crlf = self.left == 0;
                continue;
            }
            let Some(nl) = input.iter().position(|&b| b == b'\n') else {
                self.size_line.extend_from_slice(input);
                return;
            };
            self.size_line.extend_from_slice(&input[..nl]);
            input = &input[nl + 1..];
            let line = String::from_utf8_lossy(&self.size_line).trim().to_string();
            self.size_line.clear();
            if std::mem::take(&mut self.crlf) && line.is_empty() {
                continue;
            }
            let size = line.split(';').next().unwrap_or("");
            match usize::from_str_radix(size, 16) {
                Ok(0) | Err(_) => self.done = true,
                Ok(n) => self.left = n,
            }
        }
    }
}

/// A keep-alive connection that posts commands.
struct Poster {
    addr: SocketAddr,
    path: String,
    stream: Option<TcpStream>,
}

impl Poster {
    fn new(shared: &Shared) -> Poster {
        Poster {
            addr: shared.addr,
            path: format!("/api/v1/releases/{}/commands", shared.release),
            stream: None,
        }
    }

    /// Posts `body`; the status once the whole answer is read (a second try
    /// on a fresh connection when a kept-alive one had closed).
    async fn post(&mut self, body: &str, on_send: &(dyn Fn() + Sync)) -> Option<u16> {
        for _ in 0..2 {
            let attempt = tokio::time::timeout(ANSWER, self.try_post(body, on_send));
            match attempt.await {
                Ok(Ok(status)) => return Some(status),
                _ => self.stream = None,
            }
        }
        None
    }

    async fn try_post(&mut self, body: &str, on_send: &(dyn Fn() + Sync)) -> std::io::Result<u16> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().unwrap();
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.path,
            body.len()
        );
        on_send();
        stream.write_all(request.as_bytes()).await?;
        let head = read_head(stream, &mut Vec::new()).await?;
        let mut body = head.rest;
        let length = head.length.unwrap_or(0);
        if head.chunked {
            return Err(std::io::Error::other("a chunked command answer"));
        }
        let mut chunk = [0u8; 4096];
        while body.len() < length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok(head.status)
    }
}

/// A command with marker `n`: ticking or unticking the notes in turn.
fn command(n: usize) -> String {
    let kind = if n.is_multiple_of(2) {
        "check"
    } else {
        "uncheck"
    };
    format!(
        r#"{{"id":"lag-{n:06}","operator":"bench","kind":"{kind}","list":"pre","item":"notes"}}"#
    )
}

// ---------------------------------------------------------------------------
// Followers

/// What the crowd shares: where the server is, and when each marked command
/// was sent.
struct Shared {
    addr: SocketAddr,
    release: String,
    base: Instant,
    /// Nanoseconds from `base` each marker's command was written, plus one
    /// (0: not sent).
    sent: Vec<AtomicU64>,
    /// The highest seq any follower has read.
    max_seq: AtomicU64,
}

impl Shared {
    fn mark_sent(&self, n: usize) {
        let at = self.base.elapsed().as_nanos() as u64 + 1;
        self.sent[n].store(at, Ordering::Relaxed);
    }

    /// Lag of marker `n` read at `at`, in µs.
    fn lag(&self, n: usize, at: Instant) -> Option<u32> {
        let sent = self.sent.get(n)?.load(Ordering::Relaxed).checked_sub(1)?;
        let read = at.duration_since(self.base).as_nanos() as u64;
        Some((read.saturating_sub(sent) / 1000).min(u32::MAX as u64) as u32)
    }
}

/// One follower's account, read by the bench between phases.
#[derive(Default)]
struct Follower {
    /// (marker, lag in µs) of every marked event read.
    lags: Mutex<Vec<(u32, u32)>>,
    bytes: AtomicU64,
    last_seq: AtomicU64,
    gaps: AtomicU64,
    dups: AtomicU64,
    /// Streams it was given (a 200 and a hello).
    streams: AtomicU64,
    /// Answers other than 200 (503 when the server takes no more streams).
    refused: AtomicU64,
    /// The highest marker read.
    top_marker: AtomicU64,
    streaming: AtomicBool,
    window_changed: AtomicBool,
}

/// The message being read off a stream.
#[derive(Default)]
struct Message {
    seq: Option<u64>,
    named: bool,
    hello: bool,
    marker: Option<usize>,
    window: Option<String>,
}

/// Reads the SSE lines of one stream.
struct Reader<'a> {
    shared: &'a Shared,
    me: &'a Follower,
    line: Vec<u8>,
    message: Message,
    window: &'a mut Option<String>,
}

impl Reader<'_> {
    fn feed(&mut self, mut bytes: &[u8], at: Instant) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&bytes[..nl]);
            bytes = &bytes[nl + 1..];
            let line = std::mem::take(&mut self.line);
            self.on_line(line.strip_suffix(b"\r").unwrap_or(&line), at);
        }
        self.line.extend_from_slice(bytes);
    }

    fn on_line(&mut self, line: &[u8], at: Instant) {
        if line.is_empty() {
            let message = std::mem::take(&mut self.message);
            self.dispatch(message, at);
        } else if let Some(id) = line.strip_prefix(b"id:") {
            self.message.seq = std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.trim().parse().ok());
        } else if let Some(name) = line.strip_prefix(b"event:") {
            self.message.named = true;
            self.message.hello = name.trim_ascii() == b"hello";
        } else if let Some(data) = line.strip_prefix(b"data:") {
            if self.message.hello {
                self.message.window = field(data, b"\"window\":\"").map(str::to_string);
            } else if let Some(n) = field(data, b"\"id\":\"lag-") {
                self.message.marker = n.parse().ok();
            }
        }
    }

    fn dispatch(&mut self, message: Message, at: Instant) {
        if message.hello {
            if let (Some(old), Some(new)) = (self.window.as_ref(), message.window.as_ref())
                && old != new
            {
                self.me.window_changed.store(true, Ordering::Relaxed);
            }
            *self.window = message.window.or(self.window.take());
            self.me.streaming.store(true, Ordering::Relaxed);
            self.me.streams.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (Some(seq), false) = (message.seq, message.named) else {
            return; // presence, clock, keep-alives and kinds it does not know
        };
        let last = self.me.last_seq.load(Ordering::Relaxed);
        if seq <= last {
            self.me.dups.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if seq != last + 1 {
            self.me.gaps.fetch_add(1, Ordering::Relaxed);
        }
        self.me.last_seq.store(seq, Ordering::Relaxed);
        self.shared.max_seq.fetch_max(seq, Ordering::Relaxed);
        if let Some(n) = message.marker
            && let Some(lag) = self.shared.lag(n, at)
        {
            self.me.lags.lock().unwrap().push((n as u32, lag));
            self.me.top_marker.fetch_max(n as u64, Ordering::Relaxed);
        }
    }
}

/// What follows `prefix` in `data` up to the next quote.
fn field<'d>(data: &'d [u8], prefix: &[u8]) -> Option<&'d str> {
    let start = data.windows(prefix.len()).position(|w| w == prefix)? + prefix.len();
    let len = data[start..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&data[start..start + len]).ok()
}

/// The request for a stream after `after`.
fn stream_request(shared: &Shared, name: &str, after: u64) -> String {
    format!(
        "GET /api/v1/releases/{}/events?after={after} HTTP/1.1\r\nHost: 127.0.0.1\r\nShipdeck-Operator: {name}\r\nLast-Event-ID: {after}\r\nAccept: text/event-stream\r\n\r\n",
        shared.release
    )
}

/// One stream, read until it ends.
async fn follow_once(
    shared: &Shared,
    me: &Follower,
    name: &str,
    window: &mut Option<String>,
) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(shared.addr).await?;
    let after = me.last_seq.load(Ordering::Relaxed);
    stream
        .write_all(stream_request(shared, name, after).as_bytes())
        .await?;
    let head = read_head(&mut stream, &mut Vec::new()).await?;
    if head.status != 200 {
        me.refused.fetch_add(1, Ordering::Relaxed);
        return Err(std::io::Error::other(format!("status {}", head.status)));
    }
    let mut chunked = Chunked::default();
    let mut reader = Reader {
        shared,
        me,
        line: Vec::new(),
        message: Message::default(),
        window,
    };
    let mut buf = vec![0u8; 16 * 1024];
    let mut input = head.rest;
    loop {
        let at = Instant::now();
        me.bytes.fetch_add(input.len() as u64, Ordering::Relaxed);
        chunked.feed(&input, &mut |body| reader.feed(body, at));
        if chunked.done {
            return Ok(());
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        input.clear();
        input.extend_from_slice(&buf[..n]);
    }
}

/// A follower: streams, and after any end waits (exponential backoff from
/// 50 ms to 1 s, each wait drawn between half and all of it) and streams
/// again after the last seq it read. Ends when aborted.
async fn follow(shared: Arc<Shared>, me: Arc<Follower>, n: usize) {
    let name = format!("watcher-{n}");
    let mut rng = fastrand::Rng::with_seed(n as u64);
    let mut backoff = Duration::from_millis(50);
    let mut window = None;
    loop {
        let streams = me.streams.load(Ordering::Relaxed);
        let _ = follow_once(&shared, &me, &name, &mut window).await;
        me.streaming.store(false, Ordering::Relaxed);
        if me.streams.load(Ordering::Relaxed) > streams {
            backoff = Duration::from_millis(50);
        }
        tokio::time::sleep(backoff.mul_f64(0.5 + rng.f64() / 2.0)).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// A follower that asks for the stream, reads its answer's head and never
/// reads another byte (asking again a second after a refusal).
async fn stall(shared: Arc<Shared>, me: Arc<Follower>, n: usize) {
    let request = stream_request(&shared, &format!("stalled-{n}"), 0);
    loop {
        if let Ok(mut stream) = TcpStream::connect(shared.addr).await {
            let asked = stream.write_all(request.as_bytes()).await.is_ok();
            let head = match asked {
                true => read_head(&mut stream, &mut Vec::new()).await.ok(),
                false => None,
            };
            if head.is_some_and(|h| h.status == 200) {
                me.streaming.store(true, Ordering::Relaxed);
                std::future::pending::<()>().await;
            }
            me.refused.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

// ---------------------------------------------------------------------------
// Commands

/// One command's answer: its marker, the status (none: no answer), and the
/// time from when it was due to its whole answer.
struct Answer {
    marker: usize,
    status: Option<u16>,
    took: Duration,
}

/// Commands with `markers`, from `pool` keep-alive connections: paced at
/// `rate` a second from now (open loop: each is due at its time, and its
/// latency counts from then however late it is sent), or as fast as the pool
/// can send them when `rate` is none.
async fn open_loop(
    shared: &Arc<Shared>,
    pool: usize,
    rate: Option<f64>,
    markers: std::ops::Range<usize>,
) -> Vec<Answer> {
    let next = Arc::new(AtomicU64::new(markers.start as u64));
    let start = Instant::now();
    // However slow the answers, the phase ends: the rest are unanswered.
    let paced = rate.map_or(Duration::ZERO, |r| {
        Duration::from_secs_f64(markers.len() as f64 / r)
    });
    let deadline = start + paced + PATIENCE;
    let workers: Vec<JoinHandle<Vec<Answer>>> = (0..pool)
        .map(|_| {
            let (shared, next, markers) = (Arc::clone(shared), Arc::clone(&next), markers.clone());
            tokio::spawn(async move {
                let mut poster = Poster::new(&shared);
                let mut answers = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if n >= markers.end || Instant::now() > deadline {
                        return answers;
                    }
                    let due = rate
                        .map(|r| start + Duration::from_secs_f64((n - markers.start) as f64 / r));
                    if let Some(due) = due {
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let due = due.unwrap_or_else(Instant::now);
                    let status = poster.post(&command(n), &|| shared.mark_sent(n)).await;
                    answers.push(Answer {
                        marker: n,
                        status,
                        took: due.elapsed(),
                    });
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await.unwrap_or_default());
    }
    answers
}

/// A request with no body on a connection of its own; the status and body.
async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let work = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        let head = read_head_of(&answer)?;
        Some(head)
    };
    tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .ok()
        .flatten()
}

/// The status and body of a whole answer with a `Content-Length`.
fn read_head_of(answer: &[u8]) -> Option<(u16, String)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((
        status,
        String::from_utf8_lossy(&answer[end + 4..]).into_owned(),
    ))
}

/// The served release's id and its last seq.
async fn release_of(addr: SocketAddr) -> Option<(String, u64)> {
    let (_, body) = get(addr, "/api/v1/releases").await?;
    let list: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some((
        list[0]["id"].as_str()?.to_string(),
        list[0]["last_seq"].as_u64()?,
    ))
}

// ---------------------------------------------------------------------------
// The crowd

/// N followers on the crowd's runtime, some of them stalled.
struct Crowd {
    live: Vec<Arc<Follower>>,
    stalled: Vec<Arc<Follower>>,
    tasks: Vec<JoinHandle<()>>,
    stalled_tasks: Vec<JoinHandle<()>>,
}

impl Crowd {
    /// `n` followers from `after`, `stalled` of them never reading.
    fn start(
        runtime: &tokio::runtime::Handle,
        shared: &Arc<Shared>,
        n: usize,
        stalled: usize,
        after: u64,
    ) -> Crowd {
        let mut crowd = Crowd {
            live: Vec::new(),
            stalled: Vec::new(),
            tasks: Vec::new(),
            stalled_tasks: Vec::new(),
        };
        // The stalled ones spread through the crowd.
        let every = n.checked_div(stalled).unwrap_or(usize::MAX).max(1);
        for i in 0..n {
            let me = Arc::new(Follower::default());
            me.last_seq.store(after, Ordering::Relaxed);
            let shared = Arc::clone(shared);
            if i % every == every - 1 && crowd.stalled.len() < stalled {
                crowd
                    .stalled_tasks
                    .push(runtime.spawn(stall(shared, Arc::clone(&me), i)));
                crowd.stalled.push(me);
            } else {
                crowd
                    .tasks
                    .push(runtime.spawn(follow(shared, Arc::clone(&me), i)));
                crowd.live.push(me);
            }
        }
        crowd
    }

    fn streaming(&self) -> usize {
        self.live
            .iter()
            .chain(&self.stalled)
            .filter(|f| f.streaming.load(Ordering::Relaxed))
            .count()
    }

    /// Waits until all are streaming (or PATIENCE); how many are.
    async fn all_streaming(&self) -> usize {
        let deadline = Instant::now() + PATIENCE;
        let all = self.live.len() + self.stalled.len();
        while self.streaming() < all && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.streaming()
    }

    /// Waits until every live follower has read `marker` (or `patience`).
    async fn reached(&self, marker: usize, patience: Duration) {
        let deadline = Instant::now() + patience;
        let reached = |f: &Arc<Follower>| f.top_marker.load(Ordering::Relaxed) >= marker as u64;
        while !self.live.iter().all(reached) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn unstall(&mut self) {
        for task in self.stalled_tasks.drain(..) {
            task.abort();
        }
        self.stalled.clear();
    }

    fn stop(&mut self) {
        self.unstall();
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    /// Refusals (503 …) any of them were answered with.
    fn refusals(&self) -> u64 {
        let all = self.live.iter().chain(&self.stalled);
        all.map(|f| f.refused.load(Ordering::Relaxed)).sum()
    }

    fn sum(&self, field: impl Fn(&Follower) -> &AtomicU64) -> u64 {
        self.live
            .iter()
            .map(|f| field(f).load(Ordering::Relaxed))
            .sum()
    }
}

/// Delivery lags of the marked commands the server answered, over every
/// (live follower, event) pair.
struct Lags {
    all: Vec<Duration>,
    slowest_p99: Duration,
    missing: usize,
    expected: usize,
}

fn lags_of(crowd: &Crowd, answers: &[Answer]) -> Lags {
    let mut expected: Vec<u32> = answers
        .iter()
        .filter(|a| a.status.is_some_and(|s| s < 500))
        .map(|a| a.marker as u32)
        .collect();
    expected.sort_unstable();
    let mut lags = Lags {
        all: Vec::new(),
        slowest_p99: Duration::ZERO,
        missing: 0,
        expected: expected.len() * crowd.live.len(),
    };
    for follower in &crowd.live {
        let mut mine: Vec<(u32, u32)> = follower
            .lags
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|(m, _)| expected.binary_search(m).is_ok())
            .collect();
        mine.sort_unstable();
        mine.dedup_by_key(|(m, _)| *m);
        lags.missing += expected.len() - mine.len();
        let mut samples: Vec<Duration> = mine
            .iter()
            .map(|&(_, us)| Duration::from_micros(us as u64))
            .collect();
        if !samples.is_empty() {
            lags.slowest_p99 = lags.slowest_p99.max(percentile(&mut samples, 0.99));
        }
        lags.all.extend(samples);
    }
    lags
}

impl Lags {
    fn words(&mut self) -> String {
        let p50 = percentile(&mut self.all, 0.5);
        let p99 = percentile(&mut self.all, 0.99);
        let max = self.all.last().copied().unwrap_or_default();
        let missing = match self.missing {
            0 => String::new(),
            n => format!("; {n} of {} deliveries never arrived", self.expected),
        };
        format!(
            "p50 {}, p99 {}, max {}; slowest follower's p99 {}{missing}",
            ms(p50),
            ms(p99),
            ms(max),
            ms(self.slowest_p99)
        )
    }

    fn p99(&mut self) -> Duration {
        percentile(&mut self.all, 0.99)
    }

    /// Every delivery arrived and the p99 is within `budget`.
    fn within(&mut self, budget: Duration) -> bool {
        self.missing == 0 && !self.all.is_empty() && self.p99() <= budget
    }
}

// ---------------------------------------------------------------------------
// The runs

struct Bench {
    quick: bool,
    scratch: PathBuf,
    crowd: tokio::runtime::Handle,
    rows: Vec<Row>,
}

/// What the steady phase measured.
struct Steady {
    lags: Lags,
    events_per_s: f64,
    own_per_s: f64,
    commands_per_s: f64,
    cpu: f64,
    /// The bench's own CPU (followers and commands) over the same time.
    clients: f64,
}

/// A window with its server, its crowd and what they share.
struct Run {
    n: usize,
    dir: PathBuf,
    server: Server,
    shared: Arc<Shared>,
    crowd: Crowd,
    /// The next marker free.
    next: usize,
    /// The seq the crowd started after.
    from: u64,
}

impl Run {
    fn markers(&mut self, count: usize) -> std::ops::Range<usize> {
        let start = self.next.min(MARKERS);
        self.next = (start + count).min(MARKERS);
        start..self.next
    }

    async fn last_seq(&self) -> u64 {
        release_of(self.server.addr).await.map_or(0, |(_, seq)| seq)
    }
}

impl Bench {
    fn row(&mut self, what: String, measured: String, budget: &str, ok: Option<bool>) {
        self.rows.push(Row {
            what,
            measured,
            budget: budget.into(),
            ok,
        });
    }

    fn secs(&self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }

    /// One window watched by `n` followers, the phases its size is for.
    async fn run(&mut self, n: usize) {
        eprintln!("serve bench: {n} followers …");
        let mut run = match self.open(n).await {
            Ok(run) => run,
            Err(why) => {
                self.row(
                    format!("{n} followers: serve started"),
                    why,
                    "starts",
                    Some(false),
                );
                return;
            }
        };
        let pid = run.server.pid();
        let before = rss_kib(pid);
        let stalled = if n == 1000 { n / 20 } else { 0 };
        run.from = run.last_seq().await;
        run.crowd = Crowd::start(&self.crowd, &run.shared, n, stalled, run.from);
        let streaming = run.crowd.all_streaming().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let connected = rss_kib(pid);
        let stalled_words = if stalled > 0 {
            format!(", {stalled} of them never reading")
        } else {
            String::new()
        };
        self.row(
            format!("{n} followers: streams open{stalled_words}"),
            format!(
                "{streaming} of {n} within {} s ({} refusals along the way)",
                PATIENCE.as_secs(),
                run.crowd.refusals()
            ),
            &format!("all {n}"),
            Some(streaming == n),
        );
        self.memory(n, streaming, before, connected);
        let steady = self.steady(&mut run).await;
        self.report_steady(n, steady);
        self.burst(&mut run).await;
        if stalled > 0 {
            self.stalled(&mut run, before);
        }
        self.traffic(&run);
        match n {
            100 => self.commands(&mut run).await,
            1000 => self.restart(&mut run).await,
            _ => self.still_serving(&mut run).await,
        }
        run.crowd.stop();
        run.server.kill();
    }

    async fn open(&mut self, n: usize) -> Result<Run, String> {
        let dir = self.scratch.join(format!("window-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let server = Server::start(&dir, 0)?;
        let (release, _) = release_of(server.addr).await.ok_or("no release listed")?;
        let shared = Arc::new(Shared {
            addr: server.addr,
            release,
            base: Instant::now(),
            sent: (0..MARKERS).map(|_| AtomicU64::new(0)).collect(),
            max_seq: AtomicU64::new(0),
        });
        // Past its first seconds: the release started, its first samples out.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let crowd = Crowd::start(&self.crowd, &shared, 0, 0, 0);
        Ok(Run {
            n,
            dir,
            server,
            shared,
            crowd,
            next: 0,
            from: 0,
        })
    }

    fn memory(&mut self, n: usize, streaming: usize, before: f64, connected: f64) {
        let per = (connected - before) / streaming.max(1) as f64;
        self.row(
            format!("{n} followers: serve's memory a follower"),
            format!("{per:.1} KiB ({before:.0} → {connected:.0} KiB VmRSS with {streaming} streams open)"),
            if n == 1000 { "≤ 64 KiB" } else { "—" },
            (n == 1000).then_some(per <= 64.0),
        );
    }
}

impl Bench {
    /// The realistic rate: the simulator's own events and paced commands,
    /// about REALISTIC events a second together.
    async fn steady(&mut self, run: &mut Run) -> Steady {
        let (s0, t0) = (run.last_seq().await, Instant::now());
        tokio::time::sleep(Duration::from_secs(3)).await;
        let own_per_s = (run.last_seq().await - s0) as f64 / t0.elapsed().as_secs_f64();
        let per_command = self.events_a_command(run).await;
        let commands_per_s = ((REALISTIC - own_per_s) / per_command).max(PROBES);
        let secs = self.secs(10, 4) as f64;
        let markers = run.markers((commands_per_s * secs).round() as usize);
        let last = markers.end.saturating_sub(1);
        let me = std::process::id();
        let (seq, started) = (run.last_seq().await, Instant::now());
        let (cpu, clients) = (cpu_of(run.server.pid()), cpu_of(me));
        let answers = open_loop(&run.shared, 4, Some(commands_per_s), markers).await;
        let took = started.elapsed().as_secs_f64();
        let cpu = (cpu_of(run.server.pid()) - cpu).as_secs_f64() / took * 100.0;
        let clients = (cpu_of(me) - clients).as_secs_f64() / took * 100.0;
        let events_per_s = (run.last_seq().await - seq) as f64 / took;
        let answered = answers.iter().filter(|a| a.status.is_some()).count();
        let commands_per_s = answered as f64 / took;
        run.crowd.reached(last, Duration::from_secs(5)).await;
        Steady {
            lags: lags_of(&run.crowd, &answers),
            events_per_s,
            own_per_s,
            commands_per_s,
            cpu,
            clients,
        }
    }

    /// The events one command makes (its verdict, and what it changed):
    /// the fewest seqs one took, of 8, so the simulator's own are left out.
    async fn events_a_command(&mut self, run: &mut Run) -> f64 {
        let mut fewest = u64::MAX;
        let mut poster = Poster::new(&run.shared);
        for n in run.markers(8) {
            let before = run.last_seq().await;
            let _ = poster.post(&command(n), &|| run.shared.mark_sent(n)).await;
            fewest = fewest.min(run.last_seq().await.saturating_sub(before));
        }
        fewest.clamp(1, 10) as f64
    }

    fn report_steady(&mut self, n: usize, mut steady: Steady) {
        let budget = match n {
            1000 => Some(Duration::from_millis(50)),
            5000 => Some(Duration::from_millis(250)),
            _ => None,
        };
        let rate = format!(
            "{:.0} events/s ({:.1}/s the simulator's, {:.0} commands/s)",
            steady.events_per_s, steady.own_per_s, steady.commands_per_s
        );
        let ok = budget.map(|b| steady.lags.within(b));
        self.row(
            format!("{n} followers, {rate}: delivery lag"),
            steady.lags.words(),
            &budget.map_or("—".into(), |b| {
                format!("p99 ≤ {} ms, every event", b.as_millis())
            }),
            ok,
        );
        self.row(
            format!(
                "{n} followers: serve's CPU at {:.0} events/s",
                steady.events_per_s
            ),
            format!(
                "{:.1}% of a core (the bench's clients {:.1}%)",
                steady.cpu, steady.clients
            ),
            if n == 1000 {
                "≤ 25% of a core"
            } else {
                "—"
            },
            (n == 1000).then_some(steady.cpu <= 25.0),
        );
    }

    /// As many commands as a pool of connections can send at once.
    async fn burst(&mut self, run: &mut Run) {
        let count = if self.quick { 300 } else { 1000 };
        let pool = 32;
        let markers = run.markers(count);
        let last = markers.end.saturating_sub(1);
        let started = Instant::now();
        let answers = open_loop(&run.shared, pool, None, markers).await;
        let took = started.elapsed();
        run.crowd.reached(last, PATIENCE).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answered = answers.iter().filter(|a| a.status.is_some()).count();
        let mut lags = lags_of(&run.crowd, &answers);
        self.row(
            format!(
                "{} followers, a burst of {count} commands from {pool} connections",
                run.n
            ),
            format!(
                "{answered} answered in {} ({:.0}/s); lag {}",
                ms(took),
                answered as f64 / took.as_secs_f64(),
                lags.words()
            ),
            "—",
            None,
        );
    }

    /// What the crowd costs once the stalled followers have sat through
    /// the steady rate and the burst: everything `serve` holds more than
    /// before the crowd came (the history those phases added included),
    /// shared among the streams.
    fn stalled(&mut self, run: &mut Run, before: f64) {
        let now = rss_kib(run.server.pid());
        let count = run.crowd.stalled.len();
        let streams = run.crowd.streaming().max(1);
        let per = (now - before) / streams as f64;
        self.row(
            format!(
                "{} followers, {count} of them stalled, after the steady rate and the burst: serve's memory a follower",
                run.n
            ),
            format!(
                "{per:.1} KiB ({before:.0} → {now:.0} KiB VmRSS with {streams} streams open, the phases' history in it)"
            ),
            "≤ 64 KiB",
            Some(per <= 64.0),
        );
        run.crowd.unstall();
    }

    /// Bytes a follower read, and a follower's share of an event.
    fn traffic(&mut self, run: &Run) {
        let streamed: Vec<_> = run
            .crowd
            .live
            .iter()
            .filter(|f| f.streams.load(Ordering::Relaxed) > 0)
            .collect();
        let followers = streamed.len().max(1) as f64;
        let bytes = streamed
            .iter()
            .map(|f| f.bytes.load(Ordering::Relaxed))
            .sum::<u64>() as f64
            / followers;
        let events = run
            .shared
            .max_seq
            .load(Ordering::Relaxed)
            .saturating_sub(run.from) as f64;
        self.row(
            format!("{} followers: bytes read a follower that streamed", run.n),
            format!(
                "{:.1} KiB over the run (≈ {:.0} bytes an event, chunk framing, presence, clocks and keep-alives in)",
                bytes / 1024.0,
                bytes / events.max(1.0)
            ),
            "—",
            None,
        );
    }
}

impl Bench {
    /// 200 commands a second, paced, from a pool of keep-alive connections.
    async fn commands(&mut self, run: &mut Run) {
        let secs = self.secs(10, 3);
        let rate = 200.0;
        let pool = 16;
        let markers = run.markers((rate * secs as f64) as usize);
        let count = markers.len();
        let started = Instant::now();
        let answers = open_loop(&run.shared, pool, Some(rate), markers).await;
        let took = started.elapsed().as_secs_f64();
        let accepted = answers.iter().filter(|a| a.status == Some(202)).count();
        let answered = answers
            .iter()
            .filter(|a| a.status.is_some_and(|s| s < 500))
            .count();
        let unanswered = count - answered;
        let mut samples: Vec<Duration> = answers
            .iter()
            .filter(|a| a.status.is_some_and(|s| s < 500))
            .map(|a| a.took)
            .collect();
        let p50 = percentile(&mut samples, 0.5);
        let p99 = percentile(&mut samples, 0.99);
        let max = samples.last().copied().unwrap_or_default();
        let achieved = (count - unanswered) as f64 / took;
        self.row(
            format!("{rate:.0} commands/s for {secs} s, {pool} keep-alive connections, {} followers: due → answer", run.n),
            format!(
                "p50 {}, p99 {}, max {}; {achieved:.0}/s answered, {accepted} of {count} with 202, {} refused by the release, {unanswered} unanswered or 5xx",
                ms(p50),
                ms(p99),
                ms(max),
                count - accepted - unanswered
            ),
            "p99 ≤ 20 ms, every one answered",
            Some(p99 <= Duration::from_millis(20) && unanswered == 0 && achieved >= rate * 0.95),
        );
    }

    /// SIGKILL with the crowd connected, the server started again on the
    /// same journal and port; the time from its listening to every
    /// follower having read a command posted then.
    async fn restart(&mut self, run: &mut Run) {
        let port = run.server.addr.port();
        run.server.kill();
        let killed = Instant::now();
        match Server::start(&run.dir, port) {
            Ok(server) => run.server = server,
            Err(why) => {
                let what = format!("{} followers: serve killed and started again", run.n);
                self.row(what, why, "listens again", Some(false));
                return;
            }
        }
        let listening = run.server.listening;
        let marker = run.markers(1).start;
        let mut poster = Poster::new(&run.shared);
        let deadline = Instant::now() + PATIENCE;
        let shared = Arc::clone(&run.shared);
        while Instant::now() < deadline {
            let status = poster
                .post(&command(marker), &|| shared.mark_sent(marker))
                .await;
            if status.is_some_and(|s| s < 500) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        run.crowd.reached(marker, PATIENCE).await;
        self.report_restart(run, marker, listening, killed);
    }

    fn report_restart(&mut self, run: &Run, marker: usize, listening: Instant, killed: Instant) {
        let sent = run.shared.sent[marker]
            .load(Ordering::Relaxed)
            .checked_sub(1);
        let sent = sent.map(|ns| run.shared.base + Duration::from_nanos(ns));
        let mut missing = 0;
        let mut last_read = listening;
        for follower in &run.crowd.live {
            let lag = follower
                .lags
                .lock()
                .unwrap()
                .iter()
                .find(|(m, _)| *m as usize == marker)
                .map(|&(_, us)| us);
            match (sent, lag) {
                (Some(sent), Some(us)) => {
                    last_read = last_read.max(sent + Duration::from_micros(us as u64))
                }
                _ => missing += 1,
            }
        }
        let gaps = run.crowd.sum(|f| &f.gaps);
        let dups = run.crowd.sum(|f| &f.dups);
        let changed = run
            .crowd
            .live
            .iter()
            .filter(|f| f.window_changed.load(Ordering::Relaxed))
            .count();
        let caught = last_read - listening;
        let followers = run.crowd.live.len();
        let who = match missing {
            0 => "all caught up".to_string(),
            m => format!(
                "{m} of {followers} never caught up within {} s, the others",
                PATIENCE.as_secs()
            ),
        };
        self.row(
            format!("{followers} followers: serve SIGKILLed and started again on its journal"),
            format!(
                "{who} {} after it listened again ({} from the kill to listening); {gaps} gaps, {dups} duplicates, {changed} saw a new window",
                ms(caught),
                ms(listening - killed)
            ),
            "≤ 5 s, no gap, no duplicate",
            Some(missing == 0 && caught <= Duration::from_secs(5) && gaps + dups == 0 && changed == 0),
        );
    }

    /// The biggest crowd: the server still alive and answering at the end.
    async fn still_serving(&mut self, run: &mut Run) {
        let alive = run.server.alive();
        let health = get(run.server.addr, "/healthz").await.map(|(s, _)| s);
        let streaming = run.crowd.streaming();
        self.row(
            format!("{} followers: serving at the end", run.n),
            format!(
                "process {}, /healthz {}, {streaming} streams open",
                if alive { "alive" } else { "gone" },
                health.map_or("unanswered".into(), |s| s.to_string())
            ),
            "alive, answering",
            Some(alive && health == Some(200)),
        );
    }
}

/// A runtime on a thread of its own for the crowd, so the followers'
/// reading never delays a command being sent or timed.
fn crowd_runtime() -> tokio::runtime::Handle {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = tx.send(runtime.handle().clone());
        runtime.block_on(std::future::pending::<()>());
    });
    rx.recv().unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; `--list` asks nothing of us.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let descriptors = raise_descriptor_limit();
    let scratch = tempfile::Builder::new()
        .prefix("shipdeck-serve-bench-")
        .tempdir()
        .unwrap();
    let mut bench = Bench {
        quick: std::env::var_os("SHIPDECK_BENCH_QUICK").is_some(),
        scratch: scratch.path().to_path_buf(),
        crowd: crowd_runtime(),
        rows: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let date = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string();
    let sizes: &[usize] = if bench.quick {
        &[100, 1000]
    } else {
        &[100, 1000, 5000]
    };
    for &n in sizes {
        runtime.block_on(bench.run(n));
    }
    println!(
        "shipdeck serve on a release day — {date} — {}, release build, descriptor limit {descriptors}{}\n",
        machine(),
        if bench.quick { ", quick" } else { "" }
    );
    drop(scratch);
    table(&bench.rows);
}
