//! `serve`'s accept loop: each connection served by hyper, under limits a
//! crowd of sockets cannot outlast.
//!
//! - A connection must send a request's head within [`REQUEST_WITHIN`] of
//!   opening or of its last answer (silent and slowloris sockets, and idle
//!   keep-alives, are closed).
//! - A request in progress on which no byte moves for [`STALLED_AFTER`] is
//!   closed (a stream writes a keep-alive every 10 s, so a follower that
//!   reads is never stalled).
//! - At most [`Limits::connections`] are open at once, fewer than the
//!   process's descriptors. When all are taken, a new one takes the place of
//!   the one that has waited longest for a request, or else of one whose
//!   only request was refused (a client that pipelines requests it has no
//!   token for and reads none of the answers); one whose request is being
//!   answered (a follower's stream, a list being written) is never shed.
//!   Streams take at most [`Limits::streams`] places, so there is always
//!   room for a request to be answered.
//! - Out of descriptors (`EMFILE`), the loop sheds a waiting connection and
//!   pauses before it accepts again, rather than spinning.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};

/// How long a connection may take to send a request's head, from when it
/// opened or was last answered.
pub const REQUEST_WITHIN: Duration = Duration::from_secs(10);

/// How long a request in progress may go without a byte read or written.
pub const STALLED_AFTER: Duration = Duration::from_secs(30);

/// The most connections served at once, however many descriptors there are
/// (a release day's crowd of followers, with room for requests).
pub const MAX_CONNECTIONS: usize = 16 * 1024;

/// Descriptors kept back for everything but connections: the standard
/// streams, the journal and the log, the runtime, the metrics source.
const SPARE_DESCRIPTORS: u64 = 32;

/// The pause before accepting again when the process is out of
/// descriptors and none could be freed, or after an unexpected failure.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// The pause when a waiting connection was shed to free a descriptor: long
/// enough for its task to close it.
const SHED_PAUSE: Duration = Duration::from_millis(5);

/// How often running out of descriptors is said in the log.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// How many connections and streams a server takes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connections: usize,
    /// Event streams: the rest of the connections are kept for requests.
    pub streams: usize,
}

impl Limits {
    /// The limits for a process that may hold `descriptors` open files.
    pub fn for_descriptors(descriptors: u64) -> Limits {
        let connections = descriptors.saturating_sub(SPARE_DESCRIPTORS);
        let connections = usize::try_from(connections)
            .unwrap_or(MAX_CONNECTIONS)
            .clamp(4, MAX_CONNECTIONS);
        // A quarter of the places, and at least two, are never streams.
        let streams = connections - (connections / 4).max(2);
        Limits {
            connections,
            streams,
        }
    }

    /// The limits for this process's descriptor limit (`ulimit -n`), raised
    /// first as far as the hard limit lets (the soft limit is often 1024,
    /// too few for a crowd of followers).
    pub fn of_this_process() -> Limits {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut nofile = getrlimit(Resource::Nofile);
        let wanted = (MAX_CONNECTIONS as u64) + SPARE_DESCRIPTORS;
        let raised = nofile.maximum.map_or(wanted, |hard| hard.min(wanted));
        if nofile.current.is_some_and(|soft| soft < raised) {
            nofile.current = Some(raised);
            if let Err(err) = setrlimit(Resource::Nofile, nofile) {
                tracing::warn!("could not raise the open-file limit to {raised}: {err}");
            }
        }
        let nofile = getrlimit(Resource::Nofile);
        Limits::for_descriptors(nofile.current.unwrap_or(u64::MAX))
    }
}

/// One open connection, as the loop and its own task see it.
struct Conn {
    id: u64,
    epoch: Instant,
    /// Requests in progress: their answers not yet all written.
    busy: AtomicUsize,
    /// Of those, the ones refused (answered 4xx).
    refused: AtomicUsize,
    /// When it last began to wait for a request (ms from `epoch`).
    waiting_since: AtomicU64,
    /// When a byte was last read or written (ms from `epoch`).
    moved: AtomicU64,
    /// Rung when a request begins or ends.
    changed: Notify,
    /// Rung when its place is given to a newer connection.
    shed: Notify,
}

impl Conn {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: &AtomicU64) -> Instant {
        self.epoch + Duration::from_millis(ms.load(Ordering::Relaxed))
    }

    /// When it is closed unless something happens first.
    fn deadline(&self) -> Instant {
        if self.busy.load(Ordering::Acquire) == 0 {
            self.at(&self.waiting_since) + REQUEST_WITHIN
        } else {
            self.at(&self.moved) + STALLED_AFTER
        }
    }
}

/// The open connections.
struct Crowd {
    limits: Limits,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<Vec<Arc<Conn>>>,
}

impl Crowd {
    fn open(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Conn>>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a new connection: a free one, or the one of the
    /// connection that has waited longest for a request. `None` when every
    /// place is in a request.
    fn admit(&self) -> Option<Arc<Conn>> {
        let mut open = self.open();
        if open.len() >= self.limits.connections && !Self::shed_from(&mut open) {
            return None;
        }
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            epoch: self.epoch,
            busy: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            waiting_since: AtomicU64::new(now),
            moved: AtomicU64::new(now),
            changed: Notify::new(),
            shed: Notify::new(),
        });
        open.push(Arc::clone(&conn));
        Some(conn)
    }

    /// Closes the connection that has waited longest for a request, if any
    /// is waiting; whether one was.
    fn shed_one(&self) -> bool {
        Self::shed_from(&mut self.open())
    }

    fn shed_from(open: &mut Vec<Arc<Conn>>) -> bool {
        let waiting = open
            .iter()
            .enumerate()
            .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.waiting_since.load(Ordering::Relaxed))
            .map(|(at, _)| at);
        let refused = || {
            open.iter()
                .enumerate()
                .filter(|(_, c)| {
                    let busy = c.busy.load(Ordering::Acquire);
                    busy > 0 && c.refused.load(Ordering::Acquire) >= busy
                })
                .min_by_key(|(_, c)| c.moved.load(Ordering::Relaxed))
                .map(|(at, _)| at)
        };
        match waiting.or_else(refused) {
            Some(at) => {
                open.swap_remove(at).shed.notify_one();
                true
            }
            None => false,
        }
    }

    fn leave(&self, id: u64) {
        self.open().retain(|c| c.id != id);
    }
}

/// Connections waiting in the kernel to be taken: room for a burst, so that
/// an operator's connection made during one is not dropped unseen.
const ACCEPT_QUEUE: u32 = 4096;

/// A listener on `address`, with room for a burst of connections.
pub fn bind(address: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = match address {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(ACCEPT_QUEUE)
}

/// Serves `app` on `listener` under `limits` until the task is dropped,
/// which closes every connection.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits) -> io::Result<()> {
    let crowd = Arc::new(Crowd {
        limits,
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        open: Mutex::new(Vec::new()),
    });
    let mut tasks = JoinSet::new();
    let mut short = Shortage::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                refused_accept(&err, &crowd, &mut short).await;
                continue;
            }
        };
        let Some(conn) = crowd.admit() else {
            full(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tasks.spawn(serve_one(Arc::clone(&crowd), conn, stream, app.clone()));
    }
}

/// Times the process ran out of descriptors since it last said so.
#[derive(Default)]
struct Shortage {
    said: Option<Instant>,
    since: u64,
}

/// An accept that failed: a connection gone before it was taken is
/// nothing; out of descriptors, a waiting connection is shed and the loop
/// pauses (said in the log once in a while); anything else pauses too.
async fn refused_accept(err: &io::Error, crowd: &Crowd, short: &mut Shortage) {
    use rustix::io::Errno;
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    ) {
        return;
    }
    if !matches!(Errno::from_io_error(err), Some(Errno::MFILE | Errno::NFILE)) {
        tracing::warn!("cannot accept a connection: {err}");
        return sleep(ACCEPT_PAUSE).await;
    }
    let shed = crowd.shed_one();
    short.since += 1;
    if short.said.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
        tracing::warn!(
            times = short.since,
            "out of file descriptors with {} connections open; shedding those waiting for a request",
            crowd.open().len()
        );
        *short = Shortage {
            said: Some(Instant::now()),
            since: 0,
        };
    }
    sleep(if shed { SHED_PAUSE } else { ACCEPT_PAUSE }).await;
}

/// Says to a connection there is no room for that every place is in a
/// request, as far as it can be said without waiting, and closes it.
fn full(stream: TcpStream) {
    let body = r#"{"error":"the server is serving as many requests as it can; try again shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Serves one connection until it ends, is shed, waits too long for a
/// request, or stalls in one.
async fn serve_one(crowd: Arc<Crowd>, conn: Arc<Conn>, stream: TcpStream, app: Router) {
    let io = TokioIo::new(Watched {
        stream,
        conn: Arc::clone(&conn),
    });
    let service = Tracked {
        app: TowerToHyperService::new(app),
        conn: Arc::clone(&conn),
    };
    let serving = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(serving);
    loop {
        tokio::select! {
            _ = serving.as_mut() => break,
            () = conn.shed.notified() => break,
            () = conn.changed.notified() => {}
            () = sleep_until(conn.deadline()) => {
                if Instant::now() >= conn.deadline() {
                    break;
                }
            }
        }
    }
    crowd.leave(conn.id);
}

/// A connection's socket, noting when a byte moves.
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl Watched {
    fn moved(&self) {
        self.conn.moved.store(self.conn.now(), Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.moved();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.moved();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The routes, counting each request as in progress until its answer has
/// been written whole (or dropped).
struct Tracked {
    app: TowerToHyperService<Router>,
    conn: Arc<Conn>,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Counted>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for Tracked {
    type Response = Response<Counted>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Answer {
        let busy = Busy::begin(Arc::clone(&self.conn));
        let answer = self.app.call(request);
        Box::pin(async move {
            let response = answer.await?;
            let mut busy = busy;
            if response.status().is_client_error() {
                busy.refused();
            }
            Ok(response.map(|body| Counted { body, _busy: busy }))
        })
    }
}

/// A request in progress on its connection, and whether it was refused.
struct Busy(Arc<Conn>, bool);

impl Busy {
    fn begin(conn: Arc<Conn>) -> Busy {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        conn.moved.store(conn.now(), Ordering::Relaxed);
        conn.changed.notify_one();
        Busy(conn, false)
    }

    /// Its answer is a refusal: the connection may be shed while it is
    /// written.
    fn refused(&mut self) {
        if !std::mem::replace(&mut self.1, true) {
            self.0.refused.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let conn = &self.0;
        if self.1 {
            conn.refused.fetch_sub(1, Ordering::AcqRel);
        }
        conn.waiting_since.store(conn.now(), Ordering::Relaxed);
        conn.busy.fetch_sub(1, Ordering::AcqRel);
        conn.changed.notify_one();
    }
}

/// An answer's body, holding its request in progress until it is dropped.
struct Counted {
    body: Body,
    _busy: Busy,
}

impl hyper::body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_leave_descriptors_spare_and_places_for_requests() {
        let limits = Limits::for_descriptors(128);
        assert_eq!(limits.connections, 96);
        assert_eq!(limits.streams, 72);
        let tiny = Limits::for_descriptors(10);
        assert_eq!((tiny.connections, tiny.streams), (4, 2));
        let huge = Limits::for_descriptors(u64::MAX);
        assert_eq!(huge.connections, MAX_CONNECTIONS);
        assert!(huge.streams < huge.connections);
    }

    fn crowd(connections: usize) -> Crowd {
        Crowd {
            limits: Limits {
                connections,
                streams: connections,
            },
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(Vec::new()),
        }
    }

    #[tokio::test]
    async fn a_full_crowd_sheds_the_longest_waiting_and_never_one_in_a_request() {
        let crowd = crowd(3);
        let first = crowd.admit().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = crowd.admit().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let third = crowd.admit().unwrap();
        // The first is in a request (a follower's stream): it stays.
        let busy = Busy::begin(Arc::clone(&first));
        let fourth = crowd.admit().expect("a place was freed");
        let ids: Vec<u64> = crowd.open().iter().map(|c| c.id).collect();
        assert!(!ids.contains(&second.id), "the longest waiting was shed");
        assert!(ids.contains(&first.id) && ids.contains(&third.id));
        // Every place in a request: a newcomer is turned away.
        let mut refused = Busy::begin(Arc::clone(&third));
        let _b4 = Busy::begin(fourth);
        assert!(crowd.admit().is_none());
        drop(busy);
        let fifth = crowd.admit().expect("the answered one waits again");
        assert!(!crowd.open().iter().any(|c| c.id == first.id));
        // A refusal being written gives way; a stream being written never.
        let _b5 = Busy::begin(fifth);
        assert!(crowd.admit().is_none());
        refused.refused();
        assert!(crowd.admit().is_some());
        assert!(!crowd.open().iter().any(|c| c.id == third.id));
    }
}
