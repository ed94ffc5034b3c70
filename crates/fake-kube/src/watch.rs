//! Watch streams: one JSON event per line, from a resourceVersion out of
//! the kept history, until `timeoutSeconds`, `drop_watches()` or a 410.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::Shared;
use crate::server::{Reply, Target};
use crate::status::{self, Failure};
use crate::store::{ResourceDef, Selector, State};

struct Watch {
    shared: Arc<Shared>,
    def: ResourceDef,
    ns: String,
    selector: Selector,
    /// The last resourceVersion this stream has looked past.
    rv: u64,
    drops: u64,
    /// The bookmark count last answered, when bookmarks were asked for.
    bookmarks: Option<u64>,
    deadline: Option<Instant>,
    pending: VecDeque<String>,
    done: bool,
    tick: tokio::sync::watch::Receiver<u64>,
}

pub(crate) fn start(
    shared: &Arc<Shared>,
    t: &Target,
    selector: Selector,
    params: &[(String, String)],
) -> Result<Reply, Failure> {
    let param = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let from = match param("resourceVersion").filter(|rv| !rv.is_empty() && *rv != "0") {
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| status::bad_request(format!("invalid resource version: {rv}")))?,
        ),
        None => None,
    };
    let timeout = param("timeoutSeconds").and_then(|s| s.parse::<u64>().ok());
    let state = shared.lock();
    let mut watch = Watch {
        shared: Arc::clone(shared),
        def: t.def.clone(),
        ns: t.ns.clone(),
        selector,
        rv: from.unwrap_or(state.rv),
        drops: state.drops,
        bookmarks: matches!(param("allowWatchBookmarks"), Some("true" | "1"))
            .then_some(state.bookmarks),
        deadline: timeout.map(|s| Instant::now() + Duration::from_secs(s)),
        pending: VecDeque::new(),
        done: false,
        tick: shared.tick.subscribe(),
    };
    match from {
        Some(rv) if rv < state.floor => watch.expire(rv, state.floor),
        // A resourceVersion from another run of the server (it started
        // afresh): this history never had it, so it is as good as expired
        // and the client lists again.
        Some(rv) if rv > state.rv => watch.expire(rv, state.floor),
        Some(_) => {}
        None => watch.initial(&state),
    }
    drop(state);
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        let line = w.next_line().await?;
        Some((Ok::<_, Infallible>(line), w))
    });
    Ok(Reply::Stream(Body::from_stream(stream)))
}

impl Watch {
    /// Without a resourceVersion: synthetic ADDED events for what exists.
    fn initial(&mut self, state: &State) {
        for ((group, plural, ns, _), obj) in &state.objects {
            if self.wants(group, plural, ns, obj) {
                self.pending.push_back(event_line("ADDED", obj));
            }
        }
    }

    fn expire(&mut self, rv: u64, oldest: u64) {
        let failure = status::expired(format!("too old resource version: {rv} ({oldest})"));
        self.pending.push_back(event_line("ERROR", &failure.body));
        self.done = true;
    }

    fn wants(&self, group: &str, plural: &str, ns: &str, obj: &Value) -> bool {
        group == self.def.group
            && plural == self.def.plural
            && (self.ns.is_empty() || ns == self.ns)
            && self.selector.matches(obj)
    }

    async fn next_line(&mut self) -> Option<String> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                self.shared.wrote_event();
                return Some(line);
            }
            if self.done {
                return None;
            }
            self.tick.borrow_and_update();
            self.catch_up();
            if !self.pending.is_empty() || self.done {
                continue;
            }
            let sleep = async {
                match self.deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = self.tick.changed() => if changed.is_err() { return None },
                () = sleep => return None,
            }
        }
    }

    /// Queues every kept event after this stream's resourceVersion, and a
    /// BOOKMARK if one was sent since.
    fn catch_up(&mut self) {
        let shared = Arc::clone(&self.shared);
        let state = shared.lock();
        if state.drops != self.drops {
            self.done = true;
            return;
        }
        if self.rv < state.forgotten {
            self.expire(self.rv, state.floor);
            return;
        }
        for ev in state.history.iter().filter(|ev| ev.rv > self.rv) {
            if self.wants(&ev.group, &ev.plural, &ev.namespace, &ev.object) {
                self.pending.push_back(event_line(ev.kind, &ev.object));
            }
        }
        self.rv = self.rv.max(state.rv);
        if self.bookmarks.is_some_and(|b| b != state.bookmarks) {
            self.bookmarks = Some(state.bookmarks);
            let object = json!({"kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": {"resourceVersion": state.rv.to_string()}});
            self.pending.push_back(event_line("BOOKMARK", &object));
        }
    }
}

fn event_line(kind: &str, object: &Value) -> String {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    line
}
