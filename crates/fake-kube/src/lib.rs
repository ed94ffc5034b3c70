//! # fake-kube: a fake Kubernetes API server on loopback
//!
//! A **test double, not Kubernetes**. It serves a handful of collections
//! (Argo Rollouts' `rollouts`, `analysisruns`, `experiments` and
//! `analysistemplates`; `apps/v1` `replicasets` and `deployments`; core `pods` and
//! `events`; `events.k8s.io/v1` `events`) from memory over plain HTTP on
//! 127.0.0.1, so shipdeck's tests and an operator's hand trials can talk
//! to "a cluster" with the real `kube` client (or kubectl). There is no
//! etcd, no admission, no validation, no authentication (any token is
//! alice) and no scheduler; a small controller (not Argo) moves canaries.
//!
//! The API conventions it keeps, because clients depend on them:
//! - paths: `/apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}[/status]]`,
//!   `/api/v1/…` for the core group, `/apis/{group}/{version}/{plural}` for
//!   all namespaces; an empty trailing `?` is fine; legacy discovery
//!   (`/api`, `/apis`, `/api/v1`, `/apis/{g}/{v}`, `/version`) for kubectl;
//! - lists carry `apiVersion`, `kind: XList`, `metadata.resourceVersion` and
//!   `metadata.continue`, and honour `limit`/`continue`, `labelSelector`
//!   (`a=b`, `a!=b`, `a`, `!a`) and `fieldSelector` (`metadata.name`,
//!   `metadata.namespace`);
//! - one global resourceVersion bumped by every write; `metadata.generation`
//!   starts at 1 and grows only when something outside metadata and status
//!   changes; a no-op patch writes nothing;
//! - watches: HTTP 200, chunked, one `{"type","object"}` per line, from the
//!   given resourceVersion out of a kept history (or synthetic ADDED events
//!   without one), BOOKMARKs when asked for, `timeoutSeconds`, and a stale
//!   resourceVersion answered with 200 then one `ERROR` event holding a
//!   410 `Expired` Status;
//! - the status subresource: PATCH/PUT on `/status` changes only `.status`,
//!   the main resource ignores `.status`; kinds without one (analysisruns,
//!   experiments) answer 404 on `/status`;
//! - merge patch (RFC 7386) and JSON patch (`replace` only, else 422);
//!   strategic merge patch on a custom resource is 415;
//! - `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (what
//!   `kubectl auth can-i` asks) is answered from the denials of
//!   [`FakeKube::forbid`]: 201 with the review back and its `status.allowed`;
//! - failures are `metav1.Status` bodies worded as the apiserver words them
//!   (403 Forbidden, 404 NotFound, 409 Conflict/AlreadyExists, 410 Expired,
//!   415, 422).
//!
//! Test controls on [`FakeKube`]: [`FakeKube::requests`], [`FakeKube::forbid`],
//! [`FakeKube::fail_next`], [`FakeKube::drop_watches`], [`FakeKube::compact`],
//! [`FakeKube::bookmark`], [`FakeKube::controller`], [`FakeKube::time_scale`],
//! [`FakeKube::first_watch_write`], [`FakeKube::page_cap`].
//!
//! The server runs on its own thread with its own tokio runtime, so plain
//! `#[test]`s and `#[tokio::test]`s can both use it; dropping the
//! [`FakeKube`] stops it.

mod controller;
mod patch;
mod server;
mod status;
mod store;
mod watch;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use serde_json::Value;
use tokio::sync::oneshot;

use store::{Denial, Injected, State};

/// The user every request is made as (the name in Forbidden messages).
pub const USER: &str = "alice";

/// The environment variable that scales timed pauses (`0.01` = 100× faster).
pub const TIME_SCALE_ENV: &str = "FAKE_KUBE_TIME_SCALE";

/// `text` with control characters (escape sequences included) shown as
/// `\u{…}` escapes, so a request or a file name cannot drive a terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One request as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, `""` when there was none (or an empty `?`).
    pub query: String,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub user_agent: Option<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// One query parameter, percent-decoded.
    pub fn param(&self, key: &str) -> Option<String> {
        server::query_pairs(&self.query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// How to start the server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// Log each request to stderr, one line each.
    pub log_requests: bool,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    tick: tokio::sync::watch::Sender<u64>,
    log: bool,
    /// When a watch stream first handed an event to its connection since
    /// [`FakeKube::mark_watch_writes`] (for latency benchmarks).
    written: Mutex<Option<std::time::Instant>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes every watch stream to look at the state again.
    pub(crate) fn notify(&self) {
        self.tick.send_modify(|t| *t = t.wrapping_add(1));
    }

    /// A watch stream hands an event line to its connection now.
    pub(crate) fn wrote_event(&self) {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        written.get_or_insert_with(std::time::Instant::now);
    }
}

/// A running fake API server. Dropping it stops it.
pub struct FakeKube {
    shared: Arc<Shared>,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeKube {
    /// Starts on a free loopback port. Panics if no socket or runtime can
    /// be had (a test double: that is a broken test machine).
    pub fn start() -> FakeKube {
        FakeKube::start_with(Options::default()).expect("fake-kube: cannot start")
    }

    /// Starts with `options`.
    pub fn start_with(options: Options) -> io::Result<FakeKube> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let scale = std::env::var(TIME_SCALE_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(scale)),
            tick: tokio::sync::watch::channel(0).0,
            log: options.log_requests,
            written: Mutex::new(None),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, stop) = oneshot::channel();
        let served = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-kube".into())
            .spawn(move || {
                runtime.block_on(server::serve(served, listener, stop));
            })?;
        Ok(FakeKube {
            shared,
            url,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Writes `dir/kubeconfig` (cluster `fake` at [`FakeKube::url`], context
    /// `fake` with namespace `default`, a token user) and returns its path,
    /// for `KUBECONFIG=…`. Panics if the file cannot be written.
    pub fn kubeconfig(&self, dir: impl AsRef<Path>) -> PathBuf {
        let path = dir.as_ref().join("kubeconfig");
        self.write_kubeconfig(&path)
            .expect("fake-kube: cannot write the kubeconfig");
        path
    }

    /// Writes the kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> io::Result<()> {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    namespace: default\n    user: {USER}\n\
             current-context: fake\nusers:\n- name: {USER}\n  user:\n    token: fake-token\n",
            self.url
        );
        std::fs::write(path, text)
    }

    /// Creates or replaces an object; kind, apiVersion, metadata.namespace
    /// (default `default`) and metadata.name decide where it goes. Returns
    /// it as stored. A Rollout without a `status` is then observed by the
    /// controller (when on): a second write that makes its template the
    /// stable one. A Rollout that comes with a status (a fixture taken from
    /// a cluster) is kept as it is: the controller reacts only to later
    /// writes. Panics on an object without kind, apiVersion or name.
    pub fn put(&self, obj: Value) -> Value {
        self.try_put(obj)
            .unwrap_or_else(|e| panic!("fake-kube: {e}"))
    }

    fn try_put(&self, obj: Value) -> Result<Value, String> {
        let text = |p: &str| obj.pointer(p).and_then(Value::as_str).map(str::to_string);
        let (Some(api_version), Some(kind), Some(name)) =
            (text("/apiVersion"), text("/kind"), text("/metadata/name"))
        else {
            return Err("an object needs apiVersion, kind and metadata.name".into());
        };
        let ns = text("/metadata/namespace").unwrap_or_else(|| "default".into());
        let stored = {
            let mut state = self.shared.lock();
            let def = state.def_for(&api_version, &kind);
            let stored = state.store(&def, &ns, &name, obj);
            let observed = stored
                .get("status")
                .and_then(Value::as_object)
                .is_some_and(|status| !status.is_empty());
            if def.kind == "Rollout" && state.controller && !observed {
                // The controller observes a new rollout: its template is stable.
                controller::react(&mut state, &ns, &name, &stored);
            }
            state.get(&def, &ns, &name).cloned().unwrap_or(stored)
        };
        self.shared.notify();
        Ok(stored)
    }

    /// Deletes an object (`kind` is a kind like `Rollout` or a plural like
    /// `rollouts`) and returns it; watchers see DELETED.
    pub fn delete(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let gone = {
            let mut state = self.shared.lock();
            let def = state.def_named(kind)?;
            state.remove(&def, ns, name)
        };
        self.shared.notify();
        gone
    }

    /// One object as stored (`kind` as for [`FakeKube::delete`]).
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let state = self.shared.lock();
        let def = state.def_named(kind)?;
        state.get(&def, ns, name).cloned()
    }

    /// Loads every `*.yaml`, `*.yml` and `*.json` file under `dir` (sorted,
    /// recursively; multi-document YAML and `kind: List` too). Returns how
    /// many objects were put.
    pub fn load_dir(&self, dir: impl AsRef<Path>) -> Result<usize, String> {
        let mut count = 0;
        for file in fixture_files(dir.as_ref())? {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            for mut obj in parse_documents(&file, &text)? {
                // Old dumps (2019) say extensions/v1beta1 for a ReplicaSet;
                // a cluster serves it as apps/v1 now.
                if obj["kind"] == "ReplicaSet" && obj["apiVersion"] == "extensions/v1beta1" {
                    obj["apiVersion"] = "apps/v1".into();
                }
                self.try_put(obj)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Denies `verb` (`get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, or `*`) on `resource` (`rollouts`, `rollouts/status`) in
    /// `namespace` (`""` is the cluster scope, i.e. all-namespaces
    /// requests; `*` is everywhere) to user alice, with a 403 Forbidden.
    pub fn forbid(&self, verb: &str, resource: &str, namespace: &str) {
        let denial = Denial {
            verb: verb.into(),
            resource: resource.into(),
            namespace: namespace.into(),
        };
        self.shared.lock().denials.push(denial);
    }

    /// Lifts every [`FakeKube::forbid`].
    pub fn allow_all(&self) {
        self.shared.lock().denials.clear();
    }

    /// The next `method` request whose path ends with `path_suffix` fails
    /// once with a Status of `code` (404 NotFound and 409 Conflict name the
    /// object; 429, 500, 503 and 504 are worded as the apiserver words them;
    /// use [`FakeKube::forbid`] for a 403).
    pub fn fail_next(&self, method: &str, path_suffix: &str, code: u16) {
        let injected = Injected {
            method: method.to_ascii_uppercase(),
            path_suffix: path_suffix.into(),
            code,
        };
        self.shared.lock().injected.push(injected);
    }

    /// Ends every open watch stream at once (clients resume from their
    /// last resourceVersion).
    pub fn drop_watches(&self) {
        self.shared.lock().drops += 1;
        self.shared.notify();
    }

    /// The compaction write: forgets the watch history, so any
    /// resourceVersion handed out before is 410 Expired on its next watch.
    pub fn compact(&self) {
        self.shared.lock().compact();
        self.shared.notify();
    }

    /// Sends a BOOKMARK with the current resourceVersion on every watch
    /// that asked for bookmarks.
    pub fn bookmark(&self) {
        self.shared.lock().bookmarks += 1;
        self.shared.notify();
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    /// Forgets when a watch event was last written, so that
    /// [`FakeKube::first_watch_write`] tells the first one from now on.
    pub fn mark_watch_writes(&self) {
        *self
            .shared
            .written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    /// When a watch stream first handed an event line to its HTTP
    /// connection since the last [`FakeKube::mark_watch_writes`] (or the
    /// start); `None` if none has since.
    pub fn first_watch_write(&self) -> Option<std::time::Instant> {
        *self
            .shared
            .written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Lists at most `items` a page (with a continue token for the rest)
    /// whatever `limit` the client asks, as an apiserver may; `None` (the
    /// default) serves what is asked.
    pub fn page_cap(&self, items: Option<usize>) {
        self.shared.lock().page_cap = items.filter(|n| *n > 0);
    }

    /// Turns the small controller on (the default) or off.
    pub fn controller(&self, on: bool) {
        self.shared.lock().controller = on;
    }

    /// Scales timed pause durations (`0.01` makes a 40s pause last 0.4s).
    pub fn time_scale(&self, scale: f64) {
        self.shared.lock().time_scale = scale.max(0.0);
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn fixture_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            files.extend(fixture_files(&path)?);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The objects in one file: JSON, or YAML documents split on `---` with
/// leading comment lines skipped; a `kind: List` gives its items.
fn parse_documents(file: &Path, text: &str) -> Result<Vec<Value>, String> {
    let err = |e: String| format!("{}: {e}", file.display());
    let docs: Vec<Value> = if file.extension().is_some_and(|e| e == "json") {
        vec![serde_json::from_str(text).map_err(|e| err(e.to_string()))?]
    } else {
        let mut docs = Vec::new();
        for doc in split_yaml(text) {
            let body: Vec<&str> = doc
                .lines()
                .skip_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                .collect();
            if body
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            {
                continue;
            }
            let value: Value =
                serde_saphyr::from_str(&body.join("\n")).map_err(|e| err(e.to_string()))?;
            docs.push(value);
        }
        docs
    };
    let mut out = Vec::new();
    for doc in docs {
        match doc.get("kind").and_then(Value::as_str) {
            Some(k) if k.ends_with("List") && doc.get("items").is_some() => {
                out.extend(doc["items"].as_array().cloned().unwrap_or_default());
            }
            _ if doc.is_null() => {}
            _ => out.push(doc),
        }
    }
    Ok(out)
}

fn split_yaml(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else if let Some(doc) = docs.last_mut() {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs
}
