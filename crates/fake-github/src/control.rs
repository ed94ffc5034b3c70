//! `/_fake/…` control routes for hand trials with the binary; each one is
//! a [`crate::FakeGithub`] method. They are not recorded as requests.
//!
//! - `POST /_fake/review` `{"login", "environment", "state", "comment", "run_id"?}`
//! - `POST /_fake/rate-limit` `{"remaining", "reset_in"}` (seconds)
//! - `POST /_fake/secondary-limit` `{"count", "retry_after"}`
//! - `POST /_fake/fail-next` `{"method", "path", "status"}`
//! - `POST /_fake/tokens` `{"token", "login", "kind": "user"|"installation"}`
//! - `GET /_fake/requests`

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Shared, TokenKind, ops};

pub(crate) fn handle(shared: &Shared, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    let number = |k: &str| body[k].as_u64().unwrap_or(0);
    let done = |r: Result<(), String>| match r {
        Ok(()) => (200, json!({"ok": true})),
        Err(e) => (422, json!({"message": e})),
    };
    match (method, path) {
        ("POST", "/_fake/review") => {
            let run = body["run_id"].as_u64().unwrap_or(crate::RUN_ID);
            let approve = text("state") != "rejected";
            done(ops::review(
                shared,
                run,
                &text("login"),
                &text("environment"),
                approve,
                &text("comment"),
            ))
        }
        ("POST", "/_fake/rate-limit") => {
            ops::set_rate_limit(
                shared,
                number("remaining"),
                Duration::from_secs(number("reset_in")),
            );
            done(Ok(()))
        }
        ("POST", "/_fake/secondary-limit") => {
            ops::secondary_limit(shared, number("count") as u32, number("retry_after"));
            done(Ok(()))
        }
        ("POST", "/_fake/fail-next") => {
            ops::fail_next(
                shared,
                &text("method"),
                &text("path"),
                number("status") as u16,
            );
            done(Ok(()))
        }
        ("POST", "/_fake/tokens") => {
            let kind = if text("kind") == "installation" {
                TokenKind::Installation
            } else {
                TokenKind::User
            };
            ops::add_token(shared, &text("token"), &text("login"), kind);
            done(Ok(()))
        }
        ("GET", "/_fake/requests") => {
            let requests: Vec<Value> = shared
                .lock()
                .requests
                .iter()
                .map(|r| json!({"method": r.method, "path": r.path, "headers": r.headers, "body": String::from_utf8_lossy(&r.body)}))
                .collect();
            (200, Value::Array(requests))
        }
        _ => (404, json!({"message": "Not Found"})),
    }
}
