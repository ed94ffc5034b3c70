//! # fake-github: a fake GitHub REST API server on loopback
//!
//! A **test double, not GitHub**. It serves the few GitHub Actions
//! endpoints shipdeck uses from memory over plain HTTP on 127.0.0.1, with
//! bodies built from GitHub's own published examples (`fixtures/github`,
//! only ids, names, statuses, times and logins changed), so shipdeck's
//! tests and an operator's hand trials can follow and drive "a workflow
//! run". A small controller (not GitHub's) moves jobs along.
//!
//! The conventions it keeps, because clients depend on them:
//! - `Authorization: Bearer T` or `token T`; anything else is 401 `Bad
//!   credentials`; tokens are user tokens or App installation tokens (the
//!   latter may not review deployments: 403 `Resource not accessible by
//!   integration`);
//! - every API response carries `content-type: application/json;
//!   charset=utf-8`, `x-github-request-id` and the `x-ratelimit-*` headers
//!   (`limit`, `remaining`, `used`, `reset` in epoch seconds, `resource:
//!   core`); every 200 GET a weak `ETag`; a matching `If-None-Match` is a
//!   304 without a body that is not charged; an exhausted budget is a 403
//!   until the reset; an injected secondary limit is a 403 with
//!   `retry-after`;
//! - lists take `per_page` (default 30, at most 100) and `page` and say
//!   the rest in a `Link` header (`prev`, `next`, `last`, `first`);
//! - a job's log is a 302 to a signed URL on the log host (`/_logs/…`,
//!   plain text, no Authorization needed) once the job completed, 404
//!   before.
//!
//! Test controls on [`FakeGithub`]: [`FakeGithub::review`],
//! [`FakeGithub::set_rate_limit`], [`FakeGithub::secondary_limit`],
//! [`FakeGithub::fail_next`], [`FakeGithub::add_token`],
//! [`FakeGithub::requests`], [`FakeGithub::charged`],
//! [`FakeGithub::time_scale`].
//!
//! The server runs on its own thread with its own tokio runtime, so plain
//! `#[test]`s and `#[tokio::test]`s can both use it; dropping the
//! [`FakeGithub`] stops it.

mod api;
mod control;
mod controller;
mod logs;
mod model;
mod ops;
mod paging;
mod render;
mod scenario;
mod server;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use model::State;
pub use paging::{pairs as query_pairs, param as query_param};
pub use scenario::RUN_ID;

/// octocat's user token: reviewer of `staging`.
pub const TOKEN_OCTOCAT: &str = "ghp_fakeOctocat000000000000000000000000";
/// hubot's user token: reviewer of `production` as a user.
pub const TOKEN_HUBOT: &str = "ghp_fakeHubot00000000000000000000000000";
/// monalisa's user token: reviewer of `production` through team `sre`.
pub const TOKEN_MONALISA: &str = "gho_fakeMonalisa0000000000000000000000";
/// outsider's user token: reviewer of nothing.
pub const TOKEN_OUTSIDER: &str = "ghp_fakeOutsider0000000000000000000000";
/// A GitHub App installation token (`octo-app[bot]`).
pub const TOKEN_INSTALLATION: &str = "ghs_fakeInstallation00000000000000000";

/// `text` with control characters shown as `\u{…}` escapes, so a request
/// cannot drive a terminal.
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

/// What kind of token a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A user's token (`ghp_…`, `gho_…`).
    User,
    /// A GitHub App installation token (`ghs_…`).
    Installation,
}

/// The world the server starts with. [`Scenario::default`] is
/// `octo-org/octo-repo`: workflows `deploy.yml` (id 161335) and
/// `rollback.yml` (269289); run [`RUN_ID`] (attempt 1, push to main by
/// octocat) with jobs `build` ✓, `test` ✓, then `deploy-staging`
/// (environment `staging`, reviewer user octocat) and `deploy-production`
/// (environment `production`, reviewers user hubot and team `octo-org/sre`
/// = monalisa, a wait timer) both waiting; and `older_runs` completed runs.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub owner: String,
    pub repo: String,
    /// `(token, login, kind)`.
    pub tokens: Vec<(String, String, TokenKind)>,
    /// Completed runs older than the waiting one (40: two pages at 30).
    pub older_runs: usize,
    /// How long a running job takes, before scaling (6).
    pub job_seconds: f64,
    /// Production's wait timer in minutes, before scaling (2).
    pub production_wait_timer: u64,
}

/// One request as the server received it (API and log host; not the
/// `/_fake/` controls).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The path with its query, as sent: `/repos/o/r/actions/runs?page=2`.
    pub path: String,
    /// Every header, names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// One query parameter, percent-decoded.
    pub fn param(&self, key: &str) -> Option<String> {
        self.path
            .split_once('?')
            .and_then(|(_, q)| query_param(q, key))
    }

    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Whether it went to the log host (a job log download).
    pub fn is_log_download(&self) -> bool {
        self.path.starts_with(logs::PREFIX)
    }
}

/// How to start the server.
#[derive(Clone, Debug)]
pub struct Options {
    /// 0 picks a free port.
    pub port: u16,
    /// Scales the controller's durations and wait timers (`0.01` = 100×
    /// faster).
    pub time_scale: f64,
    /// Log each request to stderr, one line each.
    pub log_requests: bool,
    pub scenario: Scenario,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            port: 0,
            time_scale: 1.0,
            log_requests: false,
            scenario: Scenario::default(),
        }
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    log: bool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running fake GitHub. Dropping it stops it.
pub struct FakeGithub {
    shared: Arc<Shared>,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeGithub {
    /// Starts the default scenario on a free loopback port. Panics if no
    /// socket or runtime can be had (a broken test machine).
    pub fn start() -> FakeGithub {
        FakeGithub::start_with(Options::default()).expect("fake-github: cannot start")
    }

    /// Starts with `options`.
    pub fn start_with(options: Options) -> io::Result<FakeGithub> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", options.port))?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = scenario::build(&options.scenario, &url, options.time_scale.max(0.0));
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            log: options.log_requests,
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, stop) = oneshot::channel();
        let served = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fake-github".into())
            .spawn(move || runtime.block_on(server::serve(served, listener, stop)))?;
        Ok(FakeGithub {
            shared,
            url,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`: the API base (GitHub's `api_url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `octo-org/octo-repo`.
    pub fn repo(&self) -> String {
        let state = self.shared.lock();
        format!("{}/{}", state.owner, state.repo)
    }

    /// An environment's id (`staging`, `production`).
    pub fn environment_id(&self, name: &str) -> Option<u64> {
        self.shared.lock().environment(name).map(|e| e.id)
    }

    /// The id of job `name` in run `run`'s latest attempt.
    pub fn job_id(&self, run: u64, name: &str) -> Option<u64> {
        let state = self.shared.lock();
        let run = state.run(run)?;
        run.latest_jobs().find(|j| j.name == name).map(|j| j.id)
    }

    /// The newest run's id (a dispatch's new run, once dispatched).
    pub fn latest_run_id(&self) -> Option<u64> {
        self.shared.lock().runs.first().map(|r| r.id)
    }

    /// The run as `GET …/actions/runs/{id}` answers it.
    pub fn run(&self, id: u64) -> Option<Value> {
        let mut state = self.shared.lock();
        let run = state.run(id)?.clone();
        Some(render::run(&mut state, &run))
    }

    /// The latest attempt's jobs as `GET …/runs/{id}/jobs` lists them.
    pub fn jobs(&self, id: u64) -> Vec<Value> {
        let state = self.shared.lock();
        let Some(run) = state.run(id) else {
            return Vec::new();
        };
        run.latest_jobs()
            .map(|j| render::job(&state, run, j))
            .collect()
    }

    /// The `inputs` a dispatched run was given.
    pub fn run_inputs(&self, id: u64) -> Option<Value> {
        self.shared.lock().run(id)?.inputs.clone()
    }

    /// `login` approves (`approve`) or rejects `environment` on run `run`
    /// with `comment`, as if someone else signed in the web UI while the
    /// client watches. Err if it is not pending or `login` may not review.
    pub fn review(
        &self,
        run: u64,
        login: &str,
        environment: &str,
        approve: bool,
        comment: &str,
    ) -> Result<(), String> {
        ops::review(&self.shared, run, login, environment, approve, comment)
    }

    /// Sets the primary budget: `remaining` requests until `reset_in` from
    /// now, when it refills to the limit (5000).
    pub fn set_rate_limit(&self, remaining: u64, reset_in: Duration) {
        ops::set_rate_limit(&self.shared, remaining, reset_in);
    }

    /// `(remaining, reset epoch seconds)`.
    pub fn rate_limit(&self) -> (u64, i64) {
        let state = self.shared.lock();
        (state.budget.remaining, state.budget.reset.as_second())
    }

    /// The next `count` API requests get a secondary-limit 403 with
    /// `retry-after: retry_after` (seconds).
    pub fn secondary_limit(&self, count: u32, retry_after: u64) {
        ops::secondary_limit(&self.shared, count, retry_after);
    }

    /// The next `method` request to exactly `path` (no query) fails once
    /// with `status` and a GitHub error body.
    pub fn fail_next(&self, method: &str, path: &str, status: u16) {
        ops::fail_next(&self.shared, method, path, status);
    }

    /// Adds (or replaces) a token.
    pub fn add_token(&self, token: &str, login: &str, kind: TokenKind) {
        ops::add_token(&self.shared, token, login, kind);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// How many requests were charged against the rate limit.
    pub fn charged(&self) -> u64 {
        self.shared.lock().budget.charged
    }

    /// Scales the controller's durations from now on.
    pub fn time_scale(&self, scale: f64) {
        self.shared.lock().time_scale = scale.max(0.0);
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
