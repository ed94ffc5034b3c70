//! Posting notices: a bounded queue per webhook, emptied by a task of its
//! own, so nothing the hub, a command or a stream does ever waits on a
//! receiver. Each delivery is tried up to [`TRIES`] times with exponential
//! backoff and jitter, under the same id; each try's outcome goes back to
//! the hub to be journaled.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::{Notify, mpsc};

use super::sign::{self, Secret};
use crate::config::HookFormat;
use crate::journal::{HookState, WebhookDelivery};

/// Notices kept per webhook while it is slow; a full queue lets the oldest
/// go (journaled as `dropped`).
pub const QUEUE: usize = 256;

/// Tries per delivery.
pub const TRIES: u32 = 6;

/// The wait before the second try; each later one doubles it (1, 2, 4, 8,
/// 16 s: about half a minute of waiting, a minute with the timeouts).
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The longest a `Retry-After` is let hold a delivery.
pub const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// How long one try may take, connecting, sending and the answer's head.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook, checked, with its secret read.
#[derive(Debug, Clone)]
pub struct Hook {
    pub url: reqwest::Url,
    /// The address as shown and journaled (no query, no key in its path).
    pub shown: String,
    pub format: HookFormat,
    pub secret: Secret,
}

/// One notice for one webhook.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub kind: &'static str,
    pub body: Vec<u8>,
}

/// A webhook's queue.
pub struct Queue {
    pub hook: Hook,
    items: Mutex<VecDeque<Item>>,
    /// The delivery being tried (between its tries too).
    current: Mutex<Option<Item>>,
    ready: Notify,
}

impl Queue {
    pub fn new(hook: Hook) -> Arc<Queue> {
        Arc::new(Queue {
            hook,
            items: Mutex::new(VecDeque::new()),
            current: Mutex::new(None),
            ready: Notify::new(),
        })
    }

    /// Queues `item`; the oldest, when the queue was full.
    pub fn push(&self, item: Item) -> Option<Item> {
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        let dropped = (items.len() >= QUEUE).then(|| items.pop_front()).flatten();
        items.push_back(item);
        drop(items);
        self.ready.notify_one();
        dropped
    }

    fn pop(&self) -> Option<Item> {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// Everything not yet sent, taken out: the delivery being tried, then
    /// the queue. Call once its task has stopped.
    pub fn drain(&self) -> Vec<Item> {
        let current = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        current.into_iter().chain(items.drain(..)).collect()
    }

    fn trying(&self, item: Option<Item>) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = item;
    }

    async fn next(&self) -> Item {
        loop {
            if let Some(item) = self.pop() {
                return item;
            }
            // A push between the pop and here leaves a permit: no wake-up
            // is missed.
            self.ready.notified().await;
        }
    }
}

/// Empties `queue` for ever, one delivery at a time (so a receiver sees a
/// release's notices in order), each outcome sent to `outcomes`.
pub async fn run(
    queue: Arc<Queue>,
    client: reqwest::Client,
    outcomes: mpsc::UnboundedSender<WebhookDelivery>,
) {
    loop {
        let item = queue.next().await;
        queue.trying(Some(item.clone()));
        deliver(&queue.hook, &client, &item, &outcomes).await;
        // Before the next await: a stopped task leaves no delivery both
        // sent and said unsent.
        queue.trying(None);
    }
}

/// What one try came to.
struct Tried {
    status: Option<u16>,
    why: Option<String>,
    /// Whether it was taken.
    sent: bool,
    /// Whether another try may do better.
    again: bool,
    /// The receiver's `Retry-After`.
    after: Option<Duration>,
}

async fn deliver(
    hook: &Hook,
    client: &reqwest::Client,
    item: &Item,
    outcomes: &mpsc::UnboundedSender<WebhookDelivery>,
) {
    for attempt in 1..=TRIES {
        let tried = try_once(hook, client, item).await;
        let state = match (tried.sent, tried.again && attempt < TRIES) {
            (true, _) => HookState::Sent,
            (false, true) => HookState::Failed,
            (false, false) => HookState::GivenUp,
        };
        let _ = outcomes.send(WebhookDelivery {
            id: item.id.clone(),
            hook: hook.shown.clone(),
            notice: item.kind.to_string(),
            state,
            status: tried.status,
            attempt,
            why: tried.why,
        });
        if state != HookState::Failed {
            return;
        }
        let wait = tried.after.unwrap_or_else(|| backoff(attempt));
        tokio::time::sleep(wait.min(LONGEST_WAIT)).await;
    }
}

/// The wait after try `attempt` failed: [`FIRST_WAIT`] doubled for each try
/// before, less a random part of up to a quarter (full jitter would let a
/// wait come to nothing; none would have every server retry in step).
pub fn backoff(attempt: u32) -> Duration {
    let full = FIRST_WAIT.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let quarter = full.as_millis() as u64 / 4;
    full.saturating_sub(Duration::from_millis(fastrand::u64(0..=quarter)))
}

async fn try_once(hook: &Hook, client: &reqwest::Client, item: &Item) -> Tried {
    let t = jiff::Timestamp::now().as_second();
    let request = client
        .post(hook.url.clone())
        .timeout(TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(sign::SIGNATURE, sign::sign(&hook.secret, t, &item.body))
        .header(sign::DELIVERY, &item.id)
        .header(sign::EVENT, item.kind)
        .body(item.body.clone());
    match request.send().await {
        Ok(response) => answered(response.status(), response.headers()),
        Err(err) => Tried {
            status: None,
            why: Some(failure(err)),
            sent: false,
            again: true,
            after: None,
        },
    }
}

/// A receiver's answer: 2xx took it; 408, 429 and 5xx may take it later;
/// any other 4xx (and a redirect, which is not followed) never will.
fn answered(status: StatusCode, headers: &reqwest::header::HeaderMap) -> Tried {
    let code = status.as_u16();
    let again = matches!(code, 408 | 429) || status.is_server_error();
    let why = match status {
        s if s.is_success() => None,
        s if s.is_redirection() => Some(format!(
            "the receiver redirected ({code}); give its final address"
        )),
        _ if again => Some(format!("the receiver answered {code}")),
        _ => Some(format!("the receiver refused it ({code}); not tried again")),
    };
    Tried {
        status: Some(code),
        why,
        sent: status.is_success(),
        again,
        after: again.then(|| retry_after(headers)).flatten(),
    }
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = date.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Why a try got no answer, in a few words.
/// Never the address: its path or query may hold the hook's key.
fn failure(err: reqwest::Error) -> String {
    let err = err.without_url();
    if err.is_timeout() {
        format!("no answer within {}s", TIMEOUT.as_secs())
    } else if err.is_connect() {
        "the receiver could not be reached".into()
    } else {
        crate::model::text::clip(&err.to_string(), 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_doubles_less_at_most_a_quarter() {
        for attempt in 1..TRIES {
            let full = FIRST_WAIT * (1 << (attempt - 1));
            for _ in 0..50 {
                let wait = backoff(attempt);
                assert!(wait <= full && wait >= full * 3 / 4, "{attempt}: {wait:?}");
            }
        }
        let total: Duration = (1..TRIES).map(|a| FIRST_WAIT * (1 << (a - 1))).sum();
        assert_eq!(total, Duration::from_secs(31));
    }

    #[test]
    fn a_refusal_is_not_tried_again_but_a_busy_or_failing_receiver_is() {
        let none = reqwest::header::HeaderMap::new();
        let mut later = reqwest::header::HeaderMap::new();
        later.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        let of = |code: u16, headers| answered(StatusCode::from_u16(code).unwrap(), headers);
        assert!(of(200, &none).sent && of(204, &none).sent);
        for code in [400, 401, 403, 404, 410, 422, 301] {
            let t = of(code, &none);
            assert!(!t.sent && !t.again, "{code}");
        }
        for code in [408, 429, 500, 502, 503] {
            let t = of(code, &none);
            assert!(!t.sent && t.again, "{code}");
        }
        assert_eq!(of(429, &later).after, Some(Duration::from_secs(7)));
        assert_eq!(of(404, &later).after, None);
    }
}
