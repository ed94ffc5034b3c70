//! The `http` backend: a client of the HTTP contract (`docs/http-api.md`).
//!
//! It follows a release's event stream, reconnecting with backoff and jitter
//! and resuming after the last seq it has, so nothing is missed and nothing
//! shown twice; it says in the header how the connection stands. Commands
//! carry their client id and are sent again on a transport failure, which
//! the server makes safe: the same id is applied once.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, timeout, timeout_at};

use super::sse::{self, Found};
use super::{Connection, Gone, Handle, Update};
use crate::api::{self, CommandReply, ErrorBody, Hello, Presence, ReleaseSummary, VerdictName};
use crate::engine::{Refusal, Verdict};
use crate::model::text::{Clean, clip};
use crate::model::{Command, Event, Person};

/// Silence after which the header says the stream is quiet.
pub const QUIET_AFTER: Duration = Duration::from_secs(12);
/// Silence after which the connection is given up and made again.
pub const DEAD_AFTER: Duration = Duration::from_secs(30);
/// How long `shipdeck do` tries a command before it says it may not have
/// arrived.
pub const COMMAND_PATIENCE: Duration = Duration::from_secs(30);
/// How long the console's command may wait undelivered before it expires
/// and is not sent (a rollback waits for the link however long).
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(30);
/// A command not answered this soon is shown as queued.
const QUEUED_AFTER: Duration = Duration::from_secs(1);
/// How long a request may take to be answered.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);
/// How often a silent stream is looked at.
const POLL: Duration = Duration::from_secs(2);
/// The longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A connection that lasted this long was a success: the backoff starts over.
const HELD: Duration = Duration::from_secs(20);
const CHANNEL: usize = 1024;
/// The largest answer read to a request other than the event stream (the
/// release list, a snapshot): far above what a server holds, far below
/// what would hurt. A longer one is refused as soon as it is known to be.
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;
/// The largest command reply or error body read.
pub const MAX_REPLY: usize = 256 * 1024;
/// The largest `hello`, `clock`, `presence`, `behind` or `error` message of
/// the stream read.
const MAX_CONTROL: usize = 64 * 1024;
/// The stream's messages that are not events, held to `MAX_CONTROL`.
const CONTROL: &[&str] = &["hello", "clock", "presence", "behind", "error"];
/// How many release ids a message lists before it says how many more.
const LISTED: usize = 10;

/// A failure talking to a server, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// Not reached, or no answer: worth trying again.
    Unreachable(String),
    /// The server answered, but no: a wrong token, an unknown release.
    Refused { status: u16, message: String },
    /// The answer was not what the contract promises.
    Garbled(String),
}

/// A server's answer to a command: who it applied the command as, and the
/// verdict — a refusal's grounds read from the status (403: who gave it,
/// 409: where the release stands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub operator: Person,
    pub verdict: Verdict,
}

impl Decided {
    fn from_reply(reply: CommandReply, forbidden: bool) -> Decided {
        // The server's words, no longer than a command's own text may be.
        let bounded = |text: String| cut(text, api::MAX_TEXT);
        let verdict = match reply.verdict {
            VerdictName::Accepted => Verdict::Accepted {
                note: reply.note.map(bounded),
            },
            VerdictName::Refused => {
                let reason = reply
                    .reason
                    .map(bounded)
                    .unwrap_or_else(|| "refused without a reason".into());
                Verdict::Refused(if forbidden {
                    Refusal::who(reason)
                } else {
                    Refusal::when(reason)
                })
            }
        };
        Decided {
            operator: reply.operator,
            verdict,
        }
    }
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::Unreachable(why) | RemoteError::Garbled(why) => {
                write!(f, "{}", Clean(why))
            }
            RemoteError::Refused { status, message } => write!(f, "{} ({status})", Clean(message)),
        }
    }
}

impl std::error::Error for RemoteError {}

/// An HTTP client with shipdeck's TLS and connect timeout, from `builder`
/// with whatever else the caller set.
pub fn client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, String> {
    // One TLS provider for the whole process; a second install is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder
        .connect_timeout(Duration::from_secs(5))
        // A server closes a connection idle for 10 s (`shipdeck serve`
        // does): one is not kept longer, to be found closed when used.
        .pool_idle_timeout(Duration::from_secs(5))
        .user_agent(concat!("shipdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("cannot make an HTTP client: {err}"))
}

/// The `Authorization` header for a bearer token, marked sensitive so it is
/// never printed; none for no token.
pub fn bearer(token: Option<&str>) -> Result<Option<HeaderValue>, String> {
    match token.map(str::trim) {
        None | Some("") => Ok(None),
        Some(token) => {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| "the token holds characters a header cannot carry".to_string())?;
            value.set_sensitive(true);
            Ok(Some(value))
        }
    }
}

/// A server speaking the contract, and who this client is to it.
#[derive(Clone)]
pub struct Remote {
    base: reqwest::Url,
    client: reqwest::Client,
    token: Option<HeaderValue>,
    /// The name sent to a server without tokens (one with tokens decides).
    operator: Person,
    /// Silence shown as quiet, and silence after which the stream is made
    /// again.
    quiet_after: Duration,
    dead_after: Duration,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("operator", &self.operator)
            .finish()
    }
}

impl Remote {
    /// A client of the server at `url` (`http://host:port`, or `https://`).
    pub fn new(url: &str, token: Option<&str>, operator: &Person) -> Result<Remote, String> {
        let mut base = reqwest::Url::parse(url.trim())
            .map_err(|err| format!("`{url}` is not a URL ({err}); give http://HOST:PORT"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host().is_none() {
            return Err(format!("`{url}` is not an http:// or https:// address"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(
                "put no credentials in the URL; the token comes from $SHIPDECK_TOKEN or a token file"
                    .into(),
            );
        }
        base.set_query(None);
        base.set_fragment(None);
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(&path);
        let client = client(reqwest::Client::builder())?;
        let token = bearer(token)?;
        Ok(Remote {
            base,
            client,
            token,
            operator: operator.clone(),
            quiet_after: QUIET_AFTER,
            dead_after: DEAD_AFTER,
        })
    }

    /// Other limits for a silent stream than the defaults (for tests of
    /// servers that stall).
    pub fn with_silence(mut self, quiet_after: Duration, dead_after: Duration) -> Remote {
        self.quiet_after = quiet_after;
        self.dead_after = dead_after;
        self
    }

    /// The server's address, for the header.
    pub fn address(&self) -> String {
        let mut shown = self.base.as_str().trim_end_matches('/').to_string();
        if let Some(rest) = shown.strip_prefix("http://") {
            shown = rest.to_string();
        }
        shown
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token.clone());
        }
        if let Ok(name) = HeaderValue::from_str(self.operator.as_str()) {
            request = request.header(api::OPERATOR_HEADER, name);
        }
        request
    }

    /// The releases the server holds.
    pub async fn releases(&self) -> Result<Vec<ReleaseSummary>, RemoteError> {
        let response = self
            .request(Method::GET, &format!("{}/releases", api::PREFIX))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|err| unreachable(&self.address(), &err))?;
        let response = refuse(response).await?;
        let body = read_body(response, MAX_ANSWER)
            .await
            .map_err(|unread| unread.error("the release list", &self.address()))?;
        decode(&body).map_err(|err| {
            RemoteError::Garbled(format!(
                "the release list is not readable: {}",
                clean(&err.to_string())
            ))
        })
    }

    /// Who the server takes this client to be (`None`: a server that does
    /// not say, or a client with no name). A console journals its window
    /// under this name: the server decides who its operator is.
    pub async fn identity(&self) -> Result<Option<Person>, RemoteError> {
        let response = self
            .request(Method::GET, &format!("{}/whoami", api::PREFIX))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|err| unreachable(&self.address(), &err))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = read_body(refuse(response).await?, MAX_REPLY)
            .await
            .map_err(|unread| unread.error("the server's whoami", &self.address()))?;
        decode::<api::WhoAmI>(&body)
            .map(|who| who.operator)
            .map_err(|err| {
                RemoteError::Garbled(format!("the server's whoami is not readable: {err}"))
            })
    }

    /// The release to follow: the one asked for, or the server's only one.
    pub async fn pick_release(&self, wanted: Option<&str>) -> Result<ReleaseSummary, RemoteError> {
        let mut releases = self.releases().await?;
        let ids: Vec<&str> = releases.iter().map(|r| r.id.as_str()).collect();
        match wanted {
            Some(id) if ids.contains(&id) => {
                let at = releases.iter().position(|r| r.id == id).unwrap_or(0);
                Ok(releases.swap_remove(at))
            }
            Some(id) => Err(RemoteError::Refused {
                status: 404,
                message: format!(
                    "the server has no release \"{id}\"; it has: {}",
                    list_or_none(&ids)
                ),
            }),
            None if ids.len() == 1 => Ok(releases.swap_remove(0)),
            None => Err(RemoteError::Refused {
                status: 404,
                message: format!(
                    "the server has {} releases; choose one with --release: {}",
                    ids.len(),
                    list_or_none(&ids)
                ),
            }),
        }
    }

    /// Sends a command once; `Err(Ok(..))` is worth sending again.
    async fn send_once(
        &self,
        release: &str,
        command: &Command,
        within: Duration,
    ) -> Result<Decided, Result<Retry, RemoteError>> {
        let path = format!("{}/releases/{}/commands", api::PREFIX, segment(release));
        let response = self
            .request(Method::POST, &path)
            .json(command)
            .timeout(within)
            .send()
            .await
            .map_err(|err| {
                Ok(Retry {
                    why: unreachable(&self.address(), &err).to_string(),
                    wait: None,
                    // Refused or never connected: the server has not seen it.
                    reached: !err.is_connect(),
                })
            })?;
        let status = response.status();
        if matches!(
            status,
            StatusCode::ACCEPTED | StatusCode::OK | StatusCode::CONFLICT | StatusCode::FORBIDDEN
        ) {
            let body = match read_body(response, MAX_REPLY).await {
                Ok(body) => body,
                Err(Unread::TooLarge(_)) => {
                    let why = "the server's answer is larger than any command reply";
                    return Err(Err(RemoteError::Garbled(why.into())));
                }
                Err(Unread::Broken(why)) => {
                    return Err(Ok(Retry {
                        why: format!("the answer was cut off: {why}"),
                        wait: None,
                        reached: true,
                    }));
                }
            };
            return decode::<CommandReply>(&body)
                .map(|reply| Decided::from_reply(reply, status == StatusCode::FORBIDDEN))
                .map_err(|err| {
                    Err(RemoteError::Garbled(format!(
                        "the server's answer ({status}) is not a command reply: {}",
                        clean(&err.to_string())
                    )))
                });
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let wait = retry_after(&response);
            let message = error_message(response).await;
            // Too many, or unavailable: not applied. Any other 5xx (a proxy's
            // 502 or 504) may have passed it on.
            let reached = !matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            return Err(Ok(Retry {
                why: message,
                wait,
                reached,
            }));
        }
        Err(Err(RemoteError::Refused {
            status: status.as_u16(),
            message: error_message(response).await,
        }))
    }

    /// Sends a command, again and again on transport failures (same id, so
    /// applied once), for up to `patience`.
    pub async fn send(
        &self,
        release: &str,
        command: &Command,
        patience: Duration,
    ) -> Result<Decided, RemoteError> {
        let deadline = Instant::now() + patience;
        let mut failures = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let within = left.min(ANSWER_WITHIN).max(Duration::from_millis(100));
            match self.send_once(release, command, within).await {
                Ok(reply) => return Ok(reply),
                Err(Err(fatal)) => return Err(fatal),
                Err(Ok(Retry { why, wait, .. })) => {
                    failures += 1;
                    // Never sooner than the backoff, even if told `Retry-After: 0`.
                    let wait = wait.unwrap_or_default().max(backoff(failures));
                    if Instant::now() + wait >= deadline {
                        return Err(RemoteError::Unreachable(format!(
                            "no answer after {}s ({why}); it may still have been applied: look before you send it again",
                            patience.as_secs()
                        )));
                    }
                    sleep(wait).await;
                }
            }
        }
    }

    /// Follows a release's events until `updates` is closed: connects,
    /// resumes after the last seq, reconnects when the stream fails.
    pub async fn follow(&self, release: &str, updates: mpsc::Sender<Update>) {
        let (link, _) = watch::channel(Link::default());
        self.follow_linked(release, updates, link).await;
    }

    /// Follows a release's events until `updates` is closed, telling
    /// `link` how the stream stands (for the command workers).
    async fn follow_linked(
        &self,
        release: &str,
        updates: mpsc::Sender<Update>,
        link: watch::Sender<Link>,
    ) {
        let mut follow = Follow::new(link);
        let mut retries = Retries::default();
        loop {
            let connected = Instant::now();
            let ended = self.stream_once(release, &mut follow, &updates).await;
            follow
                .link
                .send_if_modified(|l| std::mem::replace(&mut l.live, false));
            let held = connected.elapsed();
            let (why, wait) = match ended {
                Ended::Closed => return,
                // The console was told (a reset); the new window is read
                // after a wait like any other, so a server that begins one
                // on every connection is not asked again and again.
                Ended::Restart => {
                    tokio::select! {
                        _ = sleep(retries.restarted(held)) => continue,
                        _ = updates.closed() => return,
                    }
                }
                Ended::Failed(why) => (why, retries.after(held)),
                // A server that says when to come back is taken at its word.
                Ended::Wait(why, asked) => (why, retries.after(held).max(asked)),
            };
            tracing::warn!(%release, "stream ended: {why}");
            if self
                .wait_to_retry(&why, wait, &follow, &updates)
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// Waits `wait` before the stream is made again, saying each second
    /// why it is down and when the next try comes.
    async fn wait_to_retry(
        &self,
        why: &str,
        wait: Duration,
        follow: &Follow,
        updates: &mpsc::Sender<Update>,
    ) -> Result<(), Gone> {
        let until = Instant::now() + wait;
        // The header names the server already; say what went wrong.
        let prefix = format!("cannot reach {}: ", self.address());
        let short = why.strip_prefix(&prefix).unwrap_or(why);
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            let left = (until - now).as_secs_f64().ceil() as u64;
            let stale = follow.heard.elapsed().as_secs();
            let text = format!("{short} · {stale}s without data · retry in {left}s");
            updates
                .send(Update::Connection(Connection::Lost(text)))
                .await
                .map_err(|_| Gone)?;
            sleep((until - now).min(Duration::from_secs(1))).await;
        }
    }

    /// Follows one connection of the stream until it ends, and says how.
    async fn stream_once(
        &self,
        release: &str,
        follow: &mut Follow,
        updates: &mpsc::Sender<Update>,
    ) -> Ended {
        let response = match self.open_stream(release, follow.last_seq).await {
            Ok(response) => response,
            Err(ended) => return ended,
        };
        follow.heard = Instant::now();
        let mut body = response.bytes_stream();
        let mut reader = sse::Reader::default().with_small(CONTROL, MAX_CONTROL);
        let mut found = Vec::new();
        let mut live = false;
        let mut quiet = false;
        loop {
            let poll = POLL.min(self.quiet_after / 2);
            let chunk = match timeout(poll, body.next()).await {
                Err(_) => {
                    let silent = follow.heard.elapsed();
                    if silent >= self.dead_after {
                        return Ended::Failed(format!("no data for {}s", silent.as_secs()));
                    }
                    if silent < self.quiet_after {
                        continue;
                    }
                    quiet = true;
                    let text = format!("quiet: no data for {}s", silent.as_secs());
                    if updates
                        .send(Update::Connection(Connection::Lost(text)))
                        .await
                        .is_err()
                    {
                        return Ended::Closed;
                    }
                    continue;
                }
                Ok(None) => return Ended::Failed("the server closed the stream".into()),
                Ok(Some(Err(err))) => {
                    return Ended::Failed(format!("the stream broke: {}", cause(&err)));
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            follow.heard = Instant::now();
            let mut batch = Batch::default();
            if quiet && live {
                quiet = false;
                batch.out.push(Update::Connection(Connection::Live));
            }
            reader.feed(&chunk, &mut found);
            for item in found.drain(..) {
                if batch.ended.is_some() {
                    break;
                }
                match item {
                    Found::Message(message) => follow.take(message, &mut batch),
                    // Refused as soon as it passed the bound: made again
                    // from the last good seq after a wait.
                    Found::Refused(why) => batch.ended = Some(Ended::Failed(why)),
                }
            }
            live |= batch.live;
            batch.flush();
            for update in batch.out {
                if updates.send(update).await.is_err() {
                    return Ended::Closed;
                }
            }
            if let Some(ended) = batch.ended {
                return ended;
            }
        }
    }

    /// Asks for the stream after `last_seq`. A server that takes the
    /// connection and never answers is as good as down: the wait for its
    /// headers is bounded too.
    async fn open_stream(&self, release: &str, last_seq: u64) -> Result<reqwest::Response, Ended> {
        let path = format!(
            "{}/releases/{}/events?after={last_seq}",
            api::PREFIX,
            segment(release)
        );
        let opened = timeout(ANSWER_WITHIN, async {
            let response = self
                .request(Method::GET, &path)
                .header(header::ACCEPT, api::EVENT_STREAM)
                .send()
                .await
                .map_err(|err| (unreachable(&self.address(), &err).to_string(), None))?;
            let wait = retry_after(&response);
            refuse(response)
                .await
                .map_err(|err| (err.to_string(), wait))
        })
        .await;
        let response = match opened {
            Ok(Ok(response)) => response,
            Ok(Err((why, None))) => return Err(Ended::Failed(why)),
            Ok(Err((why, Some(wait)))) => return Err(Ended::Wait(why, wait)),
            Err(_) => {
                let why = format!("no answer in {}s", ANSWER_WITHIN.as_secs());
                return Err(Ended::Failed(why));
            }
        };
        let is_stream = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| api::is_media_type(v, api::EVENT_STREAM));
        if !is_stream {
            return Err(Ended::Failed(
                "the server did not answer with an event stream".into(),
            ));
        }
        Ok(response)
    }
}

/// What the messages of one chunk of the stream give: updates for the
/// console in order (events batched between the others), whether the
/// server said hello, and why the stream must end, if it must.
#[derive(Default)]
struct Batch {
    events: Vec<Event>,
    out: Vec<Update>,
    live: bool,
    ended: Option<Ended>,
}

impl Batch {
    /// Puts the events gathered so far before what comes next.
    fn flush(&mut self) {
        if !self.events.is_empty() {
            self.out
                .push(Update::Events(std::mem::take(&mut self.events)));
        }
    }
}

impl Follow {
    /// A stream followed from the start, telling `link` how it stands.
    fn new(link: watch::Sender<Link>) -> Follow {
        Follow {
            last_seq: 0,
            catching_up: None,
            plan: None,
            window: None,
            heard: Instant::now(),
            link,
        }
    }

    /// Takes one message of the stream into the batch.
    fn take(&mut self, message: sse::Message, batch: &mut Batch) {
        let control = message
            .event
            .as_deref()
            .is_some_and(|e| CONTROL.contains(&e));
        if control && message.data.len() > MAX_CONTROL {
            let why = format!(
                "the server sent a `{}` message of {} KiB, larger than any shipdeck reads",
                clean(message.event.as_deref().unwrap_or_default()),
                message.data.len() / 1024
            );
            batch.ended = Some(Ended::Failed(why));
            return;
        }
        match message.event.as_deref() {
            Some("hello") => match decode::<Hello>(message.data.as_bytes()) {
                Ok(hello) => self.hello(hello, batch),
                Err(err) => {
                    let why = format!(
                        "the server's hello is not readable: {}",
                        clean(&err.to_string())
                    );
                    batch.ended = Some(Ended::Failed(why));
                }
            },
            Some("clock") => {
                if let Ok(clock) = serde_json::from_str::<api::Clock>(&message.data) {
                    if let Err(why) = crate::model::time::carried(clock.at) {
                        let why = format!("the server's clock says {why}");
                        batch.ended = Some(Ended::Failed(why));
                        return;
                    }
                    batch.flush();
                    batch.out.push(Update::Clock(clock.at));
                }
            }
            Some("presence") => {
                if let Ok(presence) = decode::<Presence>(message.data.as_bytes()) {
                    batch.out.push(Update::Presence(presence));
                }
            }
            // Far behind: what was missed comes first, and the header says so
            // until the stream has caught up with where the server was.
            Some("behind") => {
                if let Ok(behind) = decode::<api::Behind>(message.data.as_bytes()) {
                    self.catching_up = Some(behind.last_seq);
                    batch.flush();
                    let text = format!("catching up: {} events behind", behind.behind);
                    batch.out.push(Update::Slowed(Some(text)));
                }
            }
            Some("error") => {
                let text = decode::<ErrorBody>(message.data.as_bytes())
                    .map(|e| e.error)
                    .unwrap_or(message.data);
                let why = format!("the server said: {}", clean(&text));
                batch.ended = Some(Ended::Failed(why));
            }
            None | Some("message") => self.event(&message.data, batch),
            Some(_) => {} // a message type from a newer server
        }
    }

    fn hello(&mut self, hello: Hello, batch: &mut Batch) {
        if self.window.as_ref().is_some_and(|w| *w != hello.window) {
            // The server started the release afresh: what was given for the
            // old window is not sent to the new one.
            self.window = Some(hello.window);
            self.last_seq = 0;
            self.plan = None;
            if self.catching_up.take().is_some() {
                batch.out.push(Update::Slowed(None));
            }
            self.link.send_modify(|l| {
                l.live = false;
                l.window += 1;
            });
            batch.out.push(Update::Reset);
            batch.ended = Some(Ended::Restart);
            return;
        }
        self.window = Some(hello.window);
        self.link
            .send_if_modified(|l| !std::mem::replace(&mut l.live, true));
        if let Some(operator) = hello.operator {
            batch.out.push(Update::Identity(operator));
        }
        batch.out.push(Update::Connection(Connection::Live));
        batch.live = true;
    }

    /// An event: the next seq is kept, one already had is dropped, a gap
    /// or an unreadable event ends the stream, to be made again from the
    /// last good seq.
    fn event(&mut self, data: &str, batch: &mut Batch) {
        match decode_event(data) {
            Ok(event) if event.seq <= self.last_seq => {} // had it
            Ok(event) if event.seq != self.last_seq + 1 => {
                let why = format!(
                    "events {}–{} are missing from the stream",
                    self.last_seq + 1,
                    event.seq - 1
                );
                batch.ended = Some(Ended::Failed(why));
            }
            Ok(event) => {
                // Well-formed, but no release could be so: a protocol
                // problem, shown as the link's, and never folded and drawn.
                if let Some(why) = event.impossible(self.plan.as_deref()) {
                    let why = format!("the server sent an event that cannot be: {why}");
                    batch.ended = Some(Ended::Failed(why));
                    return;
                }
                let mut plan = self.plan.take().map(|p| *p);
                crate::model::ReleasePlan::follow(&mut plan, &event);
                self.plan = plan.map(Box::new);
                self.last_seq = event.seq;
                batch.events.push(event);
                if self
                    .catching_up
                    .is_some_and(|target| self.last_seq >= target)
                {
                    self.catching_up = None;
                    batch.flush();
                    batch.out.push(Update::Slowed(None));
                }
            }
            Err(err) => {
                let why = format!(
                    "after seq {} the server sent an event shipdeck cannot read ({})",
                    self.last_seq,
                    clean(&err.to_string())
                );
                batch.ended = Some(Ended::Failed(why));
            }
        }
    }
}

struct Follow {
    last_seq: u64,
    /// The seq the server had when it said this stream was far behind.
    catching_up: Option<u64>,
    /// The release's plan, from its `release_started`: what the events
    /// after it are checked against.
    plan: Option<Box<crate::model::ReleasePlan>>,
    window: Option<String>,
    heard: Instant,
    link: watch::Sender<Link>,
}

/// How the stream stands, for the command workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Link {
    /// The server has said hello on the stream now open.
    live: bool,
    /// Which window of the release this is: counted up each time the
    /// server starts a new one.
    window: u64,
}

/// A failed attempt worth making again: why, how long the server asked
/// to wait, and whether the server may have seen the command.
struct Retry {
    why: String,
    wait: Option<Duration>,
    reached: bool,
}

enum Ended {
    /// Nobody listens any more.
    Closed,
    /// The server began a new window: read again from the start, after a
    /// wait like any other.
    Restart,
    Failed(String),
    /// Failed, and the server asked for this much patience (Retry-After).
    Wait(String, Duration),
}

/// A body or message from a server, every string in it cleaned of
/// terminal control sequences, bidirectional controls and invisible
/// characters (`text::clean`): a server (or what it relays) cannot move
/// the cursor, retitle the window, write the clipboard or hide text on an
/// operator's screen, in a release list, a command's answer, a hello, the
/// presence or an event.
pub fn decode<T: serde::de::DeserializeOwned>(data: &[u8]) -> Result<T, serde_json::Error> {
    fn clean(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => crate::model::text::clean_in_place(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(clean),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(clean),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(data)?;
    clean(&mut value);
    serde_json::from_value(value)
}

/// An event from the wire, cleaned as [`decode`] cleans.
pub fn decode_event(data: &str) -> Result<Event, serde_json::Error> {
    decode(data.as_bytes())
}

/// The wait before the n-th retry: doubling from a quarter second up to
/// ten, each drawn between half and all of that so that clients cut off
/// together do not come back together.
pub fn backoff(failures: u32) -> Duration {
    let full = Duration::from_millis(250)
        .saturating_mul(1 << failures.saturating_sub(1).min(8))
        .min(MAX_BACKOFF);
    full.mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// The failures of a stream in a row, and the new windows it was told of
/// in a row, and so the wait before it is made again.
#[derive(Debug, Default)]
struct Retries {
    in_a_row: u32,
    restarts: u32,
}

impl Retries {
    /// The wait before the next try after a failure, the connection having
    /// lasted `held`: one that held a while starts the backoff over.
    fn after(&mut self, held: Duration) -> Duration {
        self.held(held);
        self.in_a_row = self.in_a_row.saturating_add(1);
        backoff(self.in_a_row)
    }

    /// The wait before the stream is read again from the start, the server
    /// having begun a new window on a connection that lasted `held`. The
    /// first comes quickly, whatever failed before it; a server that begins
    /// one on every connection is asked less and less often.
    fn restarted(&mut self, held: Duration) -> Duration {
        self.held(held);
        self.restarts = self.restarts.saturating_add(1);
        backoff(self.restarts)
    }

    fn held(&mut self, held: Duration) {
        if held > HELD {
            *self = Retries::default();
        }
    }
}

/// The `Retry-After` of a 429 or 5xx answer, in seconds, capped at 30.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let status = response.status();
    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
        return None;
    }
    response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(30)))
}

/// A release's id as one segment of a path: a server's id holding `/`,
/// `?`, `#` or a space still names that release.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The first few ids of a list, each cleaned and bounded, and how many
/// more there are: a server with 150,000 releases makes a short message.
fn list_or_none(ids: &[&str]) -> String {
    if ids.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = ids.iter().take(LISTED).map(|id| clip(id, 80)).collect();
    match ids.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// At most `max` characters of `text`, with `…` where it was cut.
fn cut(mut text: String, max: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push('…');
    }
    text
}

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum Unread {
    /// It is longer than the limit (which is given).
    TooLarge(usize),
    /// The connection broke or timed out while it was read.
    Broken(String),
}

impl Unread {
    /// The failure of reading `what` from `address`, for an operator.
    fn error(self, what: &str, address: &str) -> RemoteError {
        match self {
            Unread::TooLarge(limit) => RemoteError::Garbled(format!(
                "{what} from {address} is larger than {} MiB, more than any server sends; not read",
                limit / (1024 * 1024)
            )),
            Unread::Broken(why) => {
                RemoteError::Unreachable(format!("{what} from {address} was cut off: {why}"))
            }
        }
    }
}

/// A response's body, read up to `limit` bytes: a longer one is refused as
/// soon as its `Content-Length` or its bytes so far say so, never held.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Unread> {
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    if response.content_length().is_some_and(|n| n > limit_u64) {
        return Err(Unread::TooLarge(limit));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(None) => return Ok(body),
            Ok(Some(chunk)) if body.len() + chunk.len() > limit => {
                return Err(Unread::TooLarge(limit));
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Err(err) => return Err(Unread::Broken(cause(&err))),
        }
    }
}

/// Text from a server, made safe to show: cleaned, bounded.
fn clean(text: &str) -> String {
    clip(text, 300)
}

/// Why a request failed, in a few words ("connection refused", "timed
/// out"), without the request's URL and query.
pub(crate) fn cause(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_string();
    }
    // The innermost cause says it best: "Connection refused".
    let mut source: &dyn std::error::Error = err;
    while let Some(inner) = source.source() {
        source = inner;
    }
    if std::ptr::addr_eq(source, err as &dyn std::error::Error) {
        return clean(&err.to_string());
    }
    let text = source.to_string();
    clean(text.split(" (os error").next().unwrap_or(&text)).to_lowercase()
}

fn unreachable(address: &str, err: &reqwest::Error) -> RemoteError {
    RemoteError::Unreachable(format!("cannot reach {address}: {}", cause(err)))
}

/// Passes a success through; turns anything else into what the server said.
async fn refuse(response: reqwest::Response) -> Result<reqwest::Response, RemoteError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let message = error_message(response).await;
    Err(match status {
        StatusCode::UNAUTHORIZED => RemoteError::Refused {
            status: 401,
            message: format!("the server refused this client: {message}"),
        },
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            RemoteError::Unreachable(format!("the server answered {}: {message}", s.as_u16()))
        }
        s => RemoteError::Refused {
            status: s.as_u16(),
            message,
        },
    })
}

/// The `error` of a JSON error body, else the status's name.
async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    let body = read_body(response, MAX_REPLY).await.unwrap_or_default();
    match decode::<ErrorBody>(&body) {
        Ok(e) => clean(&e.error),
        Err(_) => status
            .canonical_reason()
            .unwrap_or("an error")
            .to_lowercase(),
    }
}

/// Starts following `release` on `remote` as the console's backend.
/// Commands go one at a time, in the order given; a rollback goes at once,
/// never behind a command the server is slow to answer. A command not
/// delivered within `expiry` is not sent (the console is told); a rollback
/// waits for the link however long, and is sent when it returns.
pub fn spawn(remote: Remote, release: String, label: String, expiry: Duration) -> Handle {
    let (updates_tx, updates) = mpsc::channel(CHANNEL);
    let (commands, mut command_rx) = mpsc::unbounded_channel::<Command>();
    let (link, link_rx) = watch::channel(Link::default());
    let remote = Arc::new(remote);
    let courier = Courier {
        remote: Arc::clone(&remote),
        release: release.clone().into(),
        updates: updates_tx.clone(),
        link: link_rx,
        turn: watch::channel(0).0,
        expiry,
    };
    tokio::spawn(async move {
        let _ = updates_tx
            .send(Update::Connection(Connection::Connecting))
            .await;
        remote.follow_linked(&release, updates_tx, link).await;
    });
    tokio::spawn(async move {
        let mut tickets = 0;
        while let Some(command) = command_rx.recv().await {
            let rollback = matches!(command.action, crate::model::Action::Rollback { .. });
            let given = Given {
                at: Instant::now(),
                window: courier.link.borrow().window,
                ticket: (!rollback).then(|| {
                    tickets += 1;
                    tickets - 1
                }),
                command,
            };
            let courier = courier.clone();
            tokio::spawn(async move { courier.deliver(given).await });
        }
    });
    Handle {
        label,
        commands,
        updates,
        controls: None,
        logs: None,
        // The server's clock, as the console hears it.
        clock: super::ReleaseClock::default(),
        keeps_revisions: false,
    }
}

/// A command as the console gave it: when, in which window, and its place
/// in the line (none for a rollback, which waits behind nothing).
struct Given {
    command: Command,
    at: Instant,
    window: u64,
    ticket: Option<u64>,
}

/// Carries commands to the server and tells the console how each fares.
#[derive(Clone)]
struct Courier {
    remote: Arc<Remote>,
    release: Arc<str>,
    updates: mpsc::Sender<Update>,
    /// How the stream stands.
    link: watch::Receiver<Link>,
    /// The ticket whose turn it is to be sent.
    turn: watch::Sender<u64>,
    expiry: Duration,
}

impl Courier {
    /// Waits for the command's turn, then delivers it; the next command's
    /// turn comes once this one's has come and gone, whatever became of it.
    async fn deliver(&self, given: Given) {
        let Some(ticket) = given.ticket else {
            let _ = self.attempts(&given, None).await;
            return;
        };
        let deadline = given.at + self.expiry;
        let mut turn = self.turn.subscribe();
        let mine = timeout_at(deadline, async {
            let _ = turn.wait_for(|t| *t == ticket).await;
        });
        let behind = "waiting behind an earlier command not delivered yet";
        let _ = match self.waiting(&given, Some(deadline), behind, mine).await {
            Err(Gone) => Err(Gone),
            Ok(Ok(())) => self.attempts(&given, Some(deadline)).await,
            Ok(Err(_)) => {
                let reason = self.expiry_reason(behind, false);
                self.expired(&given, reason).await
            }
        };
        let _ = turn.wait_for(|t| *t == ticket).await;
        self.turn.send_modify(|t| *t += 1);
    }

    /// Tries the command until it is answered, expires, or is refused for
    /// good; says each second how long it has waited.
    async fn attempts(&self, given: &Given, deadline: Option<Instant>) -> Result<(), Gone> {
        let id = given.command.id.clone();
        let mut why = "waiting for the server's answer".to_string();
        let (mut failures, mut reached) = (0, false);
        loop {
            if self.link.borrow().window != given.window {
                let reason =
                    "not sent: the server began a new window, and it was meant for the old one";
                return self.expired(given, reason.into()).await;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                let reason = self.expiry_reason(&why, reached);
                return match reached {
                    false => self.expired(given, reason).await,
                    true => self.say(Update::Undelivered { id, reason }).await,
                };
            }
            let within = left.map_or(ANSWER_WITHIN, |l| l.min(ANSWER_WITHIN));
            let within = within.max(Duration::from_millis(100));
            let attempt = self.remote.send_once(&self.release, &given.command, within);
            match self.waiting(given, deadline, &why, attempt).await? {
                Ok(decided) => return self.answered(given, failures, decided).await,
                Err(Err(fatal)) => {
                    let reason = fatal.to_string();
                    return self.say(Update::Undelivered { id, reason }).await;
                }
                Err(Ok(retry)) => {
                    failures += 1;
                    reached |= retry.reached;
                    let prefix = format!("cannot reach {}: ", self.remote.address());
                    why = retry.why.strip_prefix(&prefix).unwrap_or(&retry.why).into();
                    let wait = retry.wait.unwrap_or_default().max(backoff(failures));
                    self.pause(given, deadline, &why, wait).await?;
                }
            }
        }
    }

    /// Why a command that was not delivered in time was given up.
    fn expiry_reason(&self, why: &str, reached: bool) -> String {
        let secs = self.expiry.as_secs();
        if reached {
            format!(
                "no answer within {secs}s ({why}); it may still have been applied: look before you send it again"
            )
        } else {
            format!("not sent: no delivery within {secs}s ({why})")
        }
    }

    /// The server's verdict, said late when the command had to wait.
    async fn answered(&self, given: &Given, failures: u32, decided: Decided) -> Result<(), Gone> {
        let id = given.command.id.clone();
        if failures > 0 {
            let late = given.at.elapsed();
            self.say(Update::SentLate {
                id: id.clone(),
                late,
            })
            .await?;
        }
        let verdict = decided.verdict;
        self.say(Update::Verdict { id, verdict }).await
    }

    async fn expired(&self, given: &Given, reason: String) -> Result<(), Gone> {
        self.say(Update::Expired {
            id: given.command.id.clone(),
            waited: given.at.elapsed(),
            reason,
        })
        .await
    }

    /// Waits `wait`, then for the link to be live again (or for a new
    /// window, or the deadline), saying meanwhile how long it has waited.
    async fn pause(
        &self,
        given: &Given,
        deadline: Option<Instant>,
        why: &str,
        wait: Duration,
    ) -> Result<(), Gone> {
        let mut link = self.link.clone();
        let window = given.window;
        let ready = async {
            sleep(wait).await;
            let _ = link.wait_for(|l| l.live || l.window != window).await;
        };
        let bounded = async {
            match deadline {
                Some(deadline) => drop(timeout_at(deadline, ready).await),
                None => ready.await,
            }
        };
        self.waiting(given, deadline, why, bounded).await
    }

    /// Runs `work`, telling the console each second (once the command has
    /// waited a second) that it is queued, how long it has waited, and why.
    async fn waiting<T>(
        &self,
        given: &Given,
        deadline: Option<Instant>,
        why: &str,
        work: impl Future<Output = T>,
    ) -> Result<T, Gone> {
        tokio::pin!(work);
        let first = given.at + QUEUED_AFTER;
        let mut each_second = tokio::time::interval_at(first, Duration::from_secs(1));
        loop {
            tokio::select! {
                done = &mut work => return Ok(done),
                _ = each_second.tick() => {
                    let now = Instant::now();
                    self.say(Update::Queued {
                        id: given.command.id.clone(),
                        waited: now.duration_since(given.at),
                        expires_in: deadline.map(|d| d.saturating_duration_since(now)),
                        why: why.to_string(),
                    })
                    .await?;
                }
            }
        }
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.updates.send(update).await.map_err(|_| Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventKind;

    #[test]
    fn a_verdict_s_words_are_bounded() {
        let reply = CommandReply {
            id: "c".into(),
            operator: Person::new("dave").unwrap(),
            verdict: VerdictName::Refused,
            note: None,
            reason: Some("é".repeat(200_000)),
        };
        let decided = Decided::from_reply(reply, false);
        let shown = decided.verdict.refusal().unwrap().to_string();
        assert!(
            shown.chars().count() <= api::MAX_TEXT + 100,
            "{}",
            shown.len()
        );
        assert!(shown.contains('…'));
    }

    #[test]
    fn events_from_the_wire_lose_their_escape_sequences() {
        let wire = r#"{"seq":7,"at":"2026-11-22T10:00:00Z","release":"r","type":"log","level":"error","source":"pod/\u001b]0;pwned\u0007x","message":"boom \u001b[2J\u001b[Hgone \u009b31mred"}"#;
        let event = decode_event(wire).unwrap();
        let EventKind::Log {
            source, message, ..
        } = event.kind
        else {
            panic!("not a log event");
        };
        assert_eq!(source, "pod/x");
        assert_eq!(message, "boom gone red");
    }

    /// A stream the server says is far behind shows it in the header until
    /// it has read up to where the server was then.
    #[test]
    fn a_stream_far_behind_says_so_until_it_has_caught_up() {
        let message = |event: Option<&str>, data: String| sse::Message {
            event: event.map(str::to_string),
            id: None,
            data,
        };
        let mut follow = Follow::new(watch::channel(Link::default()).0);
        let log = |seq: u64| {
            format!(
                r#"{{"seq":{seq},"at":"2026-11-22T10:00:00Z","release":"r","type":"log","level":"info","source":"app","message":"line {seq}"}}"#
            )
        };
        let mut batch = Batch::default();
        let behind = r#"{"behind":6000,"last_seq":2}"#.to_string();
        follow.take(message(Some("behind"), behind), &mut batch);
        follow.take(message(None, log(1)), &mut batch);
        batch.flush();
        let said: Vec<&Update> = batch.out.iter().collect();
        assert!(
            matches!(said.as_slice(), [Update::Slowed(Some(text)), Update::Events(e)]
                if text == "catching up: 6000 events behind" && e.len() == 1),
            "{said:?}"
        );
        let mut batch = Batch::default();
        follow.take(message(None, log(2)), &mut batch);
        assert!(
            matches!(batch.out.as_slice(), [Update::Events(e), Update::Slowed(None)] if e.len() == 1),
            "{:?}",
            batch.out
        );
        assert_eq!(follow.catching_up, None);
    }

    /// A server back from an outage with a new window is read at once (a
    /// quarter second at most), whatever the outage cost; one that begins
    /// a new window on every connection is asked less and less often.
    #[test]
    fn a_new_window_is_read_soon_but_one_on_every_connection_is_backed_off() {
        let ms = Duration::from_millis;
        let mut retries = Retries::default();
        for _ in 0..10 {
            retries.after(ms(50));
        }
        assert!(retries.restarted(ms(50)) <= ms(250));
        let waits: Vec<Duration> = (0..10).map(|_| retries.restarted(ms(50))).collect();
        assert!(
            waits[8..].iter().all(|w| *w >= Duration::from_secs(5)),
            "{waits:?}"
        );
        // A window that held a minute was no flood: quick again.
        assert!(retries.restarted(Duration::from_secs(60)) <= ms(250));
    }

    /// What an operator whose server went away relies on: the console is
    /// back within a quarter second of a blip, asks less often while the
    /// server stays away but never waits more than ten seconds, consoles cut
    /// off together do not come back together, and after a connection that
    /// held, a new failure is a blip again.
    #[test]
    fn reconnecting_starts_fast_backs_off_to_ten_seconds_and_starts_over() {
        let ms = Duration::from_millis;
        let secs = Duration::from_secs;
        let mut firsts = Vec::new();
        let mut settled = Vec::new();
        for _ in 0..200 {
            let mut retries = Retries::default();
            // A server that drops each connection at once, 40 times running.
            let waits: Vec<Duration> = (0..40).map(|_| retries.after(ms(50))).collect();
            assert!(
                (ms(125)..=ms(250)).contains(&waits[0]),
                "the first retry comes quickly, but not at once: {:?}",
                waits[0]
            );
            assert!(
                waits[..6].windows(2).all(|w| w[1] >= w[0]),
                "each of the first retries waits at least as long as the one before: {waits:?}"
            );
            assert!(
                waits.iter().all(|w| *w <= secs(10)),
                "never more than ten seconds: {waits:?}"
            );
            assert!(
                waits[9..].iter().all(|w| *w >= secs(5)),
                "a server that stays away is not hammered: {waits:?}"
            );
            // A connection that held a minute, then failed: a blip again.
            assert!(retries.after(secs(60)) <= ms(250));
            // One that held only a few seconds was no success.
            for _ in 0..10 {
                retries.after(secs(3));
            }
            assert!(retries.after(secs(3)) >= secs(5));
            firsts.push(waits[0]);
            settled.push(waits[20]);
        }
        // Jitter: consoles cut off at the same moment spread out.
        let spread = |waits: &[Duration]| {
            waits
                .iter()
                .max()
                .unwrap()
                .saturating_sub(*waits.iter().min().unwrap())
        };
        assert!(spread(&firsts) >= ms(50), "{firsts:?}");
        assert!(spread(&settled) >= secs(2), "{settled:?}");
        // However long the outage, the wait stays within bounds.
        assert!(backoff(u32::MAX) <= secs(10) && backoff(u32::MAX) >= secs(5));
    }
}
