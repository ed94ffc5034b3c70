//! `shipdeck serve`: releases over the HTTP contract (`docs/http-api.md`).
//!
//! Each release is a [`Hub`] fed by a backend. The routes here only read
//! hubs and hand them commands; who an operator is comes from the bearer
//! token, or, on a loopback server without tokens, from the client's word.

pub mod backlog;
pub mod exposition;
pub mod hub;
pub mod listen;
pub mod resume;
pub mod tokens;
pub mod webhooks;

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::api::{self, ErrorBody, Hello, ReleaseSummary, Snapshot};
use crate::engine::Grounds;
use crate::model::{Command, Person};
use hub::message;
pub use hub::{Answer, Hub};
use tokens::Tokens;

/// Command ids the simulator gives its scripted people and autopilot.
const RESERVED_ID: &str = "sim-";

/// Events sent to a stream in one go before it looks for news again.
const BATCH: usize = 64;

/// A stream this many events behind the newest is told so.
pub const BEHIND: u64 = 5000;

/// How often a stream that is behind is told so, at most.
const BEHIND_EVERY: Duration = Duration::from_secs(1);

/// How often an idle stream gets a comment, so clients can tell a quiet
/// release from a dead connection.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Everything the routes share.
pub struct Server {
    hubs: BTreeMap<String, Arc<Hub>>,
    tokens: Option<Tokens>,
    /// Places for event streams: the connections they cannot take are kept
    /// for requests.
    streams: Arc<Semaphore>,
    stream_limit: usize,
}

impl Server {
    pub fn new(
        hubs: impl IntoIterator<Item = Arc<Hub>>,
        tokens: Option<Tokens>,
        limits: listen::Limits,
    ) -> Server {
        Server {
            hubs: hubs.into_iter().map(|h| (h.id.clone(), h)).collect(),
            tokens,
            streams: Arc::new(Semaphore::new(limits.streams)),
            stream_limit: limits.streams,
        }
    }

    /// A place for one more event stream, if one is free.
    fn stream_place(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.streams).try_acquire_owned().ok()
    }

    /// The answer to a stream asked for when every place is taken.
    fn no_stream_place(&self) -> Response {
        let message = format!(
            "this server follows {} event streams, as many as it takes at once; try again shortly",
            self.stream_limit
        );
        let mut refusal = error(StatusCode::SERVICE_UNAVAILABLE, message);
        refusal
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        refusal
    }

    /// Who is asking: the token's operator; without tokens, the name the
    /// client gave (`None` if it gave none).
    fn identify(&self, headers: &HeaderMap) -> Result<Option<Person>, ApiError> {
        let Some(tokens) = &self.tokens else {
            // Without tokens only this machine is trusted. A web page whose
            // name was made to point here (DNS rebinding) still sends its
            // own name as the Host: refuse it.
            if !loopback_host(headers) {
                return Err(ApiError(
                    StatusCode::FORBIDDEN,
                    "this server has no tokens and answers only requests addressed to localhost"
                        .into(),
                ));
            }
            return named_in_header(headers);
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
            .map(str::trim);
        match presented {
            None => Err(ApiError(
                StatusCode::UNAUTHORIZED,
                "this server needs a bearer token: send `Authorization: Bearer TOKEN`".into(),
            )),
            Some(token) => match tokens.operator(token) {
                Some(operator) => Ok(Some(operator.clone())),
                None => Err(ApiError(
                    StatusCode::UNAUTHORIZED,
                    "the token is not one this server knows".into(),
                )),
            },
        }
    }

    fn hub(&self, id: &str) -> Result<&Arc<Hub>, ApiError> {
        self.hubs.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.hubs.keys().map(String::as_str).collect();
            ApiError(
                StatusCode::NOT_FOUND,
                format!(
                    "no release \"{}\" here; releases: {}",
                    clip(id, 80),
                    known.join(", ")
                ),
            )
        })
    }
}

/// The name a client gives itself on a server without tokens (UTF-8 in
/// `Shipdeck-Operator`), refused when no person can have it.
fn named_in_header(headers: &HeaderMap) -> Result<Option<Person>, ApiError> {
    let Some(value) = headers.get(api::OPERATOR_HEADER) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(value.as_bytes()).map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("the {} header is not UTF-8", api::OPERATOR_HEADER),
        )
    })?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    person(text).map(Some).map_err(|refusal| {
        ApiError(
            refusal.0,
            format!("the {} header: {}", api::OPERATOR_HEADER, refusal.1),
        )
    })
}

/// A person's name from a request: 400 for a name no person can have,
/// 403 for one of shipdeck's own.
fn person(text: &str) -> Result<Person, ApiError> {
    match Person::new(text) {
        Ok(person) => Ok(person),
        Err(why) if Person::recorded(text).is_ok() => Err(ApiError(StatusCode::FORBIDDEN, why.0)),
        Err(why) => Err(ApiError(StatusCode::BAD_REQUEST, why.0)),
    }
}

/// Whether a request was addressed to this machine by a loopback name.
fn loopback_host(headers: &HeaderMap) -> bool {
    // `checked_host` has refused a request without one.
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The contract's routes.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/releases", get(releases))
        .route("/api/v1/releases/{id}", get(snapshot))
        .route("/api/v1/releases/{id}/events", get(events))
        .route("/api/v1/releases/{id}/commands", post(command))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such path; see docs/http-api.md".into(),
            )
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "this path does not take that method; see docs/http-api.md".into(),
            )
        })
        .layer(DefaultBodyLimit::max(api::MAX_BODY))
        .layer(middleware::from_fn(checked_host))
        .with_state(server)
}

/// Passes on only a request that names one host, as ASCII, the same in its
/// `Host` and in an absolute-form URI (`GET http://host/…`) if it has one:
/// what a name check (here, the loopback check of a server without
/// tokens) reads is then what the client addressed.
async fn checked_host(request: Request, next: Next) -> Response {
    match host_problem(&request) {
        None => next.run(request).await,
        Some(problem) => error(StatusCode::BAD_REQUEST, problem),
    }
}

fn host_problem(request: &Request) -> Option<String> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return Some("a request needs one Host header, naming the server".into());
    };
    let Some(host) = host.to_str().ok().filter(|h| {
        h.parse::<axum::http::uri::Authority>().is_ok() && !h.contains('@') && port_is_real(h)
    }) else {
        return Some("the Host header is not a host name (in ASCII) and a port".into());
    };
    let uri = request.uri();
    if uri
        .scheme()
        .is_some_and(|s| *s != axum::http::uri::Scheme::HTTP)
    {
        return Some("this server speaks http:// only".into());
    }
    match uri.authority() {
        Some(named) if !named.as_str().eq_ignore_ascii_case(host) => Some(format!(
            "the request names {} but its Host header says {}",
            clip(named.as_str(), 80),
            clip(host, 80)
        )),
        _ => None,
    }
}

/// Whether the port of a `Host`, if it names one, is one a socket can
/// have (1 to 65535): `localhost:99999` names no server.
fn port_is_real(host: &str) -> bool {
    let after_name = host.rsplit_once(']').map_or(host, |(_, rest)| rest);
    match after_name.rsplit_once(':') {
        None => true,
        Some((_, port)) => port.parse::<u16>().is_ok_and(|p| p > 0),
    }
}

/// An answer other than success: a status and what went wrong, as
/// `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, json(&ErrorBody { error: self.1 })).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn error(status: StatusCode, message: String) -> Response {
    ApiError(status, message).into_response()
}

/// A JSON body, every character a terminal would act on written as an
/// escape: the data is the same, and `curl` prints nothing raw.
fn json(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            crate::model::text::json_safe(&text).into_owned(),
        )
            .into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

/// At most `max` characters of something a client sent, cleaned, for a
/// message.
fn clip(text: &str, max: usize) -> String {
    crate::model::text::clip(text, max)
}

/// The simulated service's metrics in Prometheus's text format.
async fn metrics(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = server.identify(&headers) {
        return refusal.into_response();
    }
    let text: String = server.hubs.values().map(|hub| hub.exposition()).collect();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Who the server takes the client to be.
async fn whoami(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    match server.identify(&headers) {
        Ok(operator) => json(&api::WhoAmI { operator }),
        Err(refusal) => refusal.into_response(),
    }
}

async fn releases(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response {
    if let Err(refusal) = server.identify(&headers) {
        return refusal.into_response();
    }
    let list: Vec<ReleaseSummary> = server
        .hubs
        .values()
        .map(|hub| hub.with_release(|r| ReleaseSummary::of(r, &hub.window())))
        .collect();
    json(&list)
}

async fn snapshot(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = server.identify(&headers) {
        return refusal.into_response();
    }
    let hub = match server.hub(&id) {
        Ok(hub) => hub,
        Err(missing) => return missing.into_response(),
    };
    hub.with_release(|release| {
        json(&Snapshot {
            window: &hub.window(),
            last_seq: release.last_seq(),
            release,
        })
    })
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    after: Option<u64>,
}

async fn events(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "?after= must be an event's seq".into(),
        );
    };
    let operator = match server.identify(&headers) {
        Ok(operator) => operator,
        Err(refusal) => return refusal.into_response(),
    };
    let hub = match server.hub(&id) {
        Ok(hub) => Arc::clone(hub),
        Err(missing) => return missing.into_response(),
    };
    // Last-Event-ID is what a reconnecting EventSource sends; it wins.
    let after = match headers.get("last-event-id").map(|v| v.to_str()) {
        None => query.after.unwrap_or(0),
        Some(Ok(v)) if v.trim().is_empty() => query.after.unwrap_or(0),
        Some(Ok(v)) => match v.trim().parse::<u64>() {
            Ok(seq) => seq,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Last-Event-ID must be an event's seq".into(),
                );
            }
        },
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Last-Event-ID must be an event's seq".into(),
            );
        }
    };
    let Some(place) = server.stream_place() else {
        return server.no_stream_place();
    };
    if let hub::After::Gone(first) = hub.events_after(after, 0)
        && let Err(unreadable) = hub.events_from_journal(hub.epoch(), after, 1).await
    {
        return unreadable_answer(first, unreadable);
    }
    let name = operator
        .clone()
        .unwrap_or_else(|| Person::own(crate::model::names::SOMEONE));
    let body = Body::from_stream(stream_events(hub, after, operator, name, place));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(api::EVENT_STREAM),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The answer to a stream that asks for events memory let go and the
/// journal cannot give: 410 when they are gone for good, 503 when they may
/// be read shortly.
fn unreadable_answer(first: u64, unreadable: hub::Unreadable) -> Response {
    match unreadable {
        hub::Unreadable::Gone(why) => error(
            StatusCode::GONE,
            format!(
                "events before seq {first} are no longer kept ({}); read the snapshot and stream after its last_seq",
                clip(&why, 200)
            ),
        ),
        hub::Unreadable::Now(why) => {
            let message = format!(
                "events before seq {first} are read back from the journal, which cannot be read now ({}); try again shortly",
                clip(&why, 200)
            );
            let mut refusal = error(StatusCode::SERVICE_UNAVAILABLE, message);
            refusal
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            refusal
        }
    }
}

struct Reader {
    hub: Arc<Hub>,
    cursor: u64,
    pulse: watch::Receiver<hub::Pulse>,
    /// The clock's, presence's and the beat's counts last sent.
    seen: (u64, u64, u64),
    /// The window this stream began in (the hub's count of them).
    epoch: u64,
    /// Frames to write: the hub's own (shared by every stream, never
    /// copied), and the hello.
    queue: VecDeque<Bytes>,
    /// When the client was last told how far behind it is.
    told_behind: Option<tokio::time::Instant>,
    ended: bool,
    _seat: hub::Seat,
    _place: OwnedSemaphorePermit,
}

/// A stream's messages: hello, then every event after `after` in seq order,
/// with the clock and presence as they change, and a comment when it has
/// been quiet for [`KEEP_ALIVE`].
fn stream_events(
    hub: Arc<Hub>,
    after: u64,
    operator: Option<Person>,
    name: Person,
    place: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let epoch = hub.epoch();
    let seat = hub.join(name);
    let mut pulse = hub.watch_pulse();
    let mut queue = VecDeque::new();
    queue.push_back(message(
        "hello",
        &Hello {
            window: hub.window(),
            last_seq: hub.last_seq(),
            operator,
        },
    ));
    let now = pulse.borrow_and_update().clone();
    queue.push_back(now.presence.1);
    queue.extend(now.clock.1);
    let reader = Reader {
        hub,
        cursor: after,
        pulse,
        seen: (now.clock.0, now.presence.0, now.beat),
        epoch,
        queue,
        told_behind: None,
        ended: false,
        _seat: seat,
        _place: place,
    };
    stream::unfold(reader, |mut reader| async move {
        let message = reader.next().await?;
        Some((Ok(message), reader))
    })
}

impl Reader {
    /// The stream's next frame; `None` once it has ended.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(message) = self.queue.pop_front() {
                return Some(message);
            }
            if self.ended {
                return None;
            }
            if self.hub.epoch() != self.epoch {
                self.end("the release began a new window: connect again for it".into());
                continue;
            }
            if self.take_events().await {
                continue;
            }
            let stopped = self.pulse.borrow().stopped.clone();
            if let Some(why) = stopped {
                self.end(format!("the server stopped serving this release: {why}"));
                continue;
            }
            self.wait().await;
        }
    }

    /// Queues the events after the cursor, from memory or, for those no
    /// longer kept there, from the journal; whether there were any (or the
    /// stream ends because they cannot be had).
    async fn take_events(&mut self) -> bool {
        let batch = match self.hub.events_after(self.cursor, BATCH) {
            hub::After::Events(batch) => batch,
            // Fell behind what memory keeps: the journal has them.
            hub::After::Gone(first) => {
                match self
                    .hub
                    .events_from_journal(self.epoch, self.cursor, BATCH)
                    .await
                {
                    Ok(batch) if !batch.is_empty() => batch,
                    Ok(_) => {
                        self.end(format!(
                            "events after seq {} are missing from the journal",
                            self.cursor
                        ));
                        return true;
                    }
                    Err(hub::Unreadable::Gone(why) | hub::Unreadable::Now(why)) => {
                        let why = clip(&why, 200);
                        self.end(format!("events before seq {first} cannot be read back now ({why}); connect again"));
                        return true;
                    }
                }
            }
        };
        let Some(&(last, _)) = batch.last() else {
            return false;
        };
        self.cursor = last;
        self.queue.extend(batch.into_iter().map(|(_, frame)| frame));
        self.tell_behind();
        true
    }

    /// Tells the client, now and then, that it is far behind and being
    /// sent what it missed.
    fn tell_behind(&mut self) {
        let last_seq = self.hub.last_seq();
        let behind = last_seq.saturating_sub(self.cursor);
        let now = tokio::time::Instant::now();
        if behind >= BEHIND && self.told_behind.is_none_or(|t| now >= t + BEHIND_EVERY) {
            self.told_behind = Some(now);
            let behind = api::Behind { behind, last_seq };
            self.queue.push_back(message("behind", &behind));
        }
    }

    /// Ends the stream, telling the client why.
    fn end(&mut self, error: String) {
        self.queue.push_back(message("error", &ErrorBody { error }));
        self.ended = true;
    }

    /// Waits for the hub to move: new events, the clock, presence, the
    /// keep-alive beat, or a stop, and queues the messages that changed.
    async fn wait(&mut self) {
        if self.pulse.changed().await.is_err() {
            self.ended = true;
            return;
        }
        let pulse = self.pulse.borrow_and_update();
        let (clock, presence, beat) = self.seen;
        if pulse.clock.0 != clock {
            self.queue.extend(pulse.clock.1.clone());
        }
        if pulse.presence.0 != presence {
            self.queue.push_back(pulse.presence.1.clone());
        }
        if pulse.beat != beat && self.queue.is_empty() {
            self.queue
                .push_back(Bytes::from_static(b": keep-alive\n\n"));
        }
        self.seen = (pulse.clock.0, pulse.presence.0, pulse.beat);
    }
}

/// Checks what a client sent as a command and says what is wrong. With
/// tokens the server names the operator (`named`), whatever the body says;
/// without, the body's `operator` must be a person's name.
fn parse_command(body: &[u8], named: Option<&Person>) -> Result<Command, ApiError> {
    let bad = |what: String| ApiError(StatusCode::BAD_REQUEST, what);
    let hint = "send {\"id\": \"…\", \"operator\": \"…\", \"kind\": \"advance\", …} (see docs/http-api.md)";
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| bad(format!("not JSON: {err}; {hint}")))?;
    let mut unnamed = false;
    if let Some(object) = value.as_object_mut() {
        match (named, object.get("operator")) {
            (Some(named), _) => {
                object.insert("operator".into(), named.as_str().into());
            }
            (None, Some(serde_json::Value::String(name))) => {
                person(name).map_err(|refused| {
                    ApiError(refused.0, format!("the command's operator: {}", refused.1))
                })?;
            }
            (None, other) => unnamed = other.is_none_or(serde_json::Value::is_null),
        }
    }
    let command: Command = serde_json::from_value(value).map_err(|err| {
        if unnamed && err.to_string().contains("`operator`") {
            bad(format!(
                "a command needs an operator name of 1 to {} characters (\"operator\" in the body)",
                api::MAX_NAME
            ))
        } else {
            bad(format!("not a command: {err}; {hint}"))
        }
    })?;
    check_fields(&command).map_err(bad)?;
    Ok(command)
}

/// The id and the texts of a command a client sent.
fn check_fields(command: &Command) -> Result<(), String> {
    if command.id.trim().is_empty() || command.id.chars().count() > api::MAX_ID {
        return Err(format!(
            "a command needs an id of 1 to {} characters, chosen by the client",
            api::MAX_ID
        ));
    }
    if command.id.chars().any(char::is_control) {
        return Err("a command id may not hold control characters".into());
    }
    if command.id.starts_with(RESERVED_ID) {
        return Err(format!(
            "command ids starting `{RESERVED_ID}` belong to the simulator's own people"
        ));
    }
    let texts: Vec<&str> = match &command.action {
        crate::model::Action::Pause { reason } | crate::model::Action::Rollback { reason } => {
            reason.iter().map(String::as_str).collect()
        }
        crate::model::Action::Approve { gate, comment } => {
            gate.iter().chain(comment).map(String::as_str).collect()
        }
        crate::model::Action::Reject { gate, reason } => gate
            .iter()
            .map(String::as_str)
            .chain([reason.as_str()])
            .collect(),
        crate::model::Action::Check { list, item }
        | crate::model::Action::Uncheck { list, item } => vec![list, item],
        crate::model::Action::Retry { stage } => stage.iter().map(String::as_str).collect(),
        crate::model::Action::Ack { rule } => vec![rule],
        crate::model::Action::Advance
        | crate::model::Action::PromoteFull
        | crate::model::Action::Resume
        | crate::model::Action::Undo { .. } => Vec::new(),
    };
    // Names carry no control characters; free text keeps only its line
    // breaks and tabs. What is recorded is what a terminal can show.
    let names: Vec<&str> = match &command.action {
        crate::model::Action::Approve { gate, .. } | crate::model::Action::Reject { gate, .. } => {
            gate.iter().map(String::as_str).collect()
        }
        crate::model::Action::Check { list, item }
        | crate::model::Action::Uncheck { list, item } => vec![list, item],
        crate::model::Action::Retry { stage } => stage.iter().map(String::as_str).collect(),
        crate::model::Action::Ack { rule } => vec![rule],
        _ => Vec::new(),
    };
    if names.iter().any(|t| t.chars().any(char::is_control))
        || texts
            .iter()
            .any(|t| t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'))
    {
        return Err("a command may not hold control characters (but for line breaks and tabs in a comment or reason)".into());
    }
    if texts.iter().any(|t| t.chars().count() > api::MAX_TEXT) {
        return Err(format!(
            "a comment, reason or name is longer than {} characters",
            api::MAX_TEXT
        ));
    }
    Ok(())
}

/// Who asks, the release asked, and the body of a command, checked in the
/// order that costs a stranger least: who asks, which release, the content
/// type, and only then the body, which must arrive whole within
/// [`listen::REQUEST_WITHIN`].
async fn take_command(
    server: &Server,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Option<Person>, Arc<Hub>, Bytes), ApiError> {
    let identity = server.identify(headers)?;
    let hub = Arc::clone(server.hub(id)?);
    let mut types = headers.get_all(header::CONTENT_TYPE).iter();
    let is_json = match (types.next(), types.next()) {
        (Some(value), None) => value
            .to_str()
            .is_ok_and(|v| api::is_media_type(v, api::JSON)),
        _ => false,
    };
    if !is_json {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the command as Content-Type: application/json".into(),
        ));
    }
    let body = read_body(body).await?;
    Ok((identity, hub, body))
}

/// A request's body: at most [`api::MAX_BODY`] bytes, arriving whole within
/// [`listen::REQUEST_WITHIN`], so a client dripping one cannot hold a place.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    let mut chunks = body.into_data_stream();
    let mut read = Vec::new();
    let whole = tokio::time::timeout(listen::REQUEST_WITHIN, async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|err| {
                let why = format!(
                    "the request body could not be read: {}",
                    clip(&err.to_string(), 200)
                );
                ApiError(StatusCode::BAD_REQUEST, why)
            })?;
            if read.len() + chunk.len() > api::MAX_BODY {
                let why = format!("a request body is at most {} KiB", api::MAX_BODY / 1024);
                return Err(ApiError(StatusCode::PAYLOAD_TOO_LARGE, why));
            }
            read.extend_from_slice(&chunk);
        }
        Ok(())
    });
    match whole.await {
        Ok(Ok(())) => Ok(read.into()),
        Ok(Err(refusal)) => Err(refusal),
        Err(_) => Err(ApiError(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {}s",
                listen::REQUEST_WITHIN.as_secs()
            ),
        )),
    }
}

async fn command(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (identity, hub, body) = match take_command(&server, &id, &headers, body).await {
        Ok(taken) => taken,
        Err(refusal) => return refusal.into_response(),
    };
    // With tokens the server says who this is, whatever the body claims.
    let named = identity.as_ref().filter(|_| server.tokens.is_some());
    let command = match parse_command(&body, named) {
        Ok(command) => command,
        Err(refused) => return refused.into_response(),
    };
    let asked = command.clone();
    match hub.command(command).await {
        Answer::Done(verdict) => {
            let status = match verdict.refusal().map(|r| r.grounds) {
                None => StatusCode::ACCEPTED,
                Some(Grounds::Who) => StatusCode::FORBIDDEN,
                Some(Grounds::When) => StatusCode::CONFLICT,
            };
            (status, json(&hub::reply(&asked, &verdict))).into_response()
        }
        Answer::Conflict(why) => error(StatusCode::UNPROCESSABLE_ENTITY, why),
        Answer::Unrecorded(why) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the command was not applied: the server cannot journal it ({why})"),
        ),
        Answer::Gone => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the release's backend has stopped".into(),
        ),
    }
}
