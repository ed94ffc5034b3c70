//! The HTTP side: recording, auth, injected failures, the primary and
//! secondary rate limits, ETags and 304s, the headers every response
//! carries, the log host and the `/_fake/` control routes.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::oneshot;

use crate::api::{self, Call, Caller, Reply};
use crate::model::State;
use crate::{Request, Shared, control, controller, logs};

pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    tokio::spawn(controller::run(Arc::clone(&shared)));
    let app = axum::Router::new().fallback(handle).with_state(shared);
    tokio::select! {
        _ = axum::serve(listener, app) => {}
        _ = stop => {}
    }
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    if path.starts_with("/_fake/") {
        let (status, value) = control::handle(&shared, method.as_str(), &path, &body);
        return finish(
            status,
            Some(value.to_string()),
            "application/json",
            Vec::new(),
        );
    }
    let request = Request {
        method: method.to_string(),
        path: if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        },
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let mut state = shared.lock();
    state.requests.push(request.clone());
    if path.starts_with(logs::PREFIX) {
        let (status, text) = logs::serve(&state, &path, &query);
        drop(state);
        log_line(&shared, &request, status);
        return finish(status, Some(text), "text/plain; charset=utf-8", Vec::new());
    }
    let reply = api_reply(&mut state, &request, &path, &query);
    drop(state);
    log_line(&shared, &request, reply.status);
    let body = reply.body.map(|b| b.to_string());
    finish(
        reply.status,
        body,
        "application/json; charset=utf-8",
        reply.headers,
    )
}

fn log_line(shared: &Shared, request: &Request, status: u16) {
    if shared.log {
        let line = format!("{} {} -> {status}", request.method, request.path);
        let _ = writeln!(std::io::stderr(), "{}", crate::printable(&line));
    }
}

fn finish(
    status: u16,
    body: Option<String>,
    content_type: &str,
    headers: Vec<(String, String)>,
) -> Response {
    let mut response = Response::new(body.map(Body::from).unwrap_or_else(Body::empty));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    let mut put = |k: &str, v: &str| {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            map.insert(k, v);
        }
    };
    put("content-type", content_type);
    for (k, v) in &headers {
        put(k, v);
    }
    response
}

fn token_of(request: &Request) -> Option<String> {
    let value = request.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    matches!(scheme.to_ascii_lowercase().as_str(), "bearer" | "token")
        .then(|| token.trim().to_string())
}

/// A request to the API proper, from auth to the headers.
fn api_reply(state: &mut State, request: &Request, path: &str, query: &str) -> Reply {
    state.next_request += 1;
    let id = format!(
        "C0DE:{:04X}:{:06X}:{:06X}:{:08X}",
        state.next_request % 0xffff,
        state.next_request * 7,
        state.next_request * 13,
        Timestamp::now().as_second()
    );
    let now = Timestamp::now();
    if now >= state.budget.reset {
        state.budget.remaining = state.budget.limit;
        state.budget.reset = now + SignedDuration::from_hours(1);
    }
    let mut reply = gate_and_route(state, request, path, query, &id);
    let headers = &mut reply.headers;
    let b = &state.budget;
    headers.push(("x-github-request-id".into(), id));
    headers.push(("x-ratelimit-limit".into(), b.limit.to_string()));
    headers.push(("x-ratelimit-remaining".into(), b.remaining.to_string()));
    headers.push((
        "x-ratelimit-used".into(),
        (b.limit - b.remaining).to_string(),
    ));
    headers.push(("x-ratelimit-reset".into(), b.reset.as_second().to_string()));
    headers.push(("x-ratelimit-resource".into(), "core".into()));
    reply
}

fn gate_and_route(
    state: &mut State,
    request: &Request,
    path: &str,
    query: &str,
    id: &str,
) -> Reply {
    let Some(caller) = token_of(request).and_then(|t| state.tokens.get(&t).cloned()) else {
        return api::error(401, "Bad credentials", "https://docs.github.com/rest");
    };
    let (login, kind) = caller;
    if state.budget.secondary > 0 {
        state.budget.secondary -= 1;
        let mut reply = Reply::json(
            403,
            serde_json::json!({
                "message": format!("You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {id}."),
                "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
            }),
        );
        reply
            .headers
            .push(("retry-after".into(), state.budget.retry_after.to_string()));
        return reply;
    }
    if state.budget.remaining == 0 {
        let user = state.user_id(&login);
        let stamp = Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
        return Reply::json(
            403,
            serde_json::json!({
                "message": format!("API rate limit exceeded for user ID {user}. If you reach out to GitHub Support for help, please include the request ID {id} and timestamp {stamp}."),
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }),
        );
    }
    let injected = state
        .injected
        .iter()
        .position(|i| i.method == request.method && i.path == path);
    let reply = match injected {
        Some(i) => {
            let status = state.injected.remove(i).status;
            injected_reply(status)
        }
        None => {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let call = Call {
                method: &request.method,
                segments,
                path,
                query,
                body: &request.body,
                caller: Caller { login, kind },
            };
            api::route(state, &call)
        }
    };
    conditional(state, request, reply)
}

fn injected_reply(status: u16) -> Reply {
    let message = match status {
        401 => "Bad credentials",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Validation Failed",
        500 => "Internal Server Error",
        502 => "Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    };
    api::error(status, message, "https://docs.github.com/rest")
}

/// `W/"…"`: a hash of the body.
fn etag(body: &str) -> String {
    let mut first = DefaultHasher::new();
    body.hash(&mut first);
    let mut second = DefaultHasher::new();
    (body.len(), body).hash(&mut second);
    format!("W/\"{:016x}{:016x}\"", first.finish(), second.finish())
}

/// ETag on a 200 GET; a matching `If-None-Match` is a 304 that is not
/// charged; anything else is charged against the budget.
fn conditional(state: &mut State, request: &Request, mut reply: Reply) -> Reply {
    if request.method == "GET" && reply.status == 200 {
        let tag = reply
            .body
            .as_ref()
            .map(|b| etag(&b.to_string()))
            .unwrap_or_default();
        let matches = request
            .header("if-none-match")
            .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
        reply.headers.push(("etag".into(), tag));
        if matches {
            reply.status = 304;
            reply.body = None;
            return reply;
        }
    }
    state.budget.remaining = state.budget.remaining.saturating_sub(1);
    state.budget.charged += 1;
    reply
}
