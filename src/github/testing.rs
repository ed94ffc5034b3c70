//! A small GitHub on loopback for the client's tests: it records every
//! request and answers as each test scripts it.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Response};

use super::client::Api;
use super::token::Token;

pub(crate) const SECRET: &str = "ghp_s3cr3tvalue";

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Script = Arc<dyn Fn(&Seen, &str) -> Response<Body> + Send + Sync>;

#[derive(Clone)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Script,
    base: String,
}

async fn handle(State(fake): State<Fake>, request: Request) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    fake.seen.lock().unwrap().push(seen.clone());
    (fake.script)(&seen, &fake.base)
}

/// A server answering with `script(request, base_url)`.
pub(crate) async fn serve(
    script: impl Fn(&Seen, &str) -> Response<Body> + Send + Sync + 'static,
) -> (Api, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        seen: seen.clone(),
        script: Arc::new(script),
        base: base.clone(),
    };
    let app = axum::Router::new().fallback(handle).with_state(fake);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let api = Api::new(&base, Token::new(SECRET).unwrap()).unwrap();
    (api, seen)
}

pub(crate) fn reply(
    status: u16,
    headers: &[(&str, &str)],
    body: impl Into<String>,
) -> Response<Body> {
    let mut response = Response::builder().status(status);
    for (k, v) in headers {
        response = response.header(*k, *v);
    }
    response.body(Body::from(body.into())).unwrap()
}

pub(crate) fn json(body: &str) -> Response<Body> {
    reply(200, &[("content-type", "application/json")], body)
}

pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn taken(seen: &Arc<Mutex<Vec<Seen>>>) -> Vec<Seen> {
    std::mem::take(&mut *seen.lock().unwrap())
}
