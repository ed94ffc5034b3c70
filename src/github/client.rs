//! GitHub's REST API as shipdeck uses it: the requests `gh` sends, with its
//! headers; conditional GETs (`ETag` / `If-None-Match`, a 304 costs no rate
//! limit); pagination by `Link`; the rate limits read on every answer and a
//! spent one (or a secondary limit) honoured by sending nothing until it
//! passes; every body read bounded.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::token::Token;
use super::types::{Approval, ErrorBody, Job, JobList, PendingDeployment, Run, RunList, User};
use crate::argo::cluster::user_agent;
use crate::backend::http::{Unread, cause, client, read_body};
use crate::model::text::{clean_lines, clip};

/// GitHub's own API.
pub const GITHUB_API: &str = "https://api.github.com";
/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";
/// Each request's time.
const TIMEOUT: Duration = Duration::from_secs(10);
/// A log's download's time.
const LOG_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest JSON answer read (a page of 100 jobs with their steps is
/// well under 1 MiB).
const MAX_JSON: usize = 8 * 1024 * 1024;
/// An error's body.
const MAX_ERROR: usize = 64 * 1024;
/// The part of a job's log kept: its end.
pub const MAX_LOG: usize = 4 * 1024 * 1024;
/// Characters quoted of GitHub's message.
const MAX_MESSAGE: usize = 240;
/// Answers kept for conditional requests.
const MAX_CACHED: usize = 256;
/// Pages read of a job list.
const MAX_JOB_PAGES: usize = 10;
/// The wait after a secondary limit that names none.
const SECONDARY_WAIT: i64 = 60;

/// A repository, `OWNER/REPO`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl FromStr for Repo {
    type Err = String;

    fn from_str(text: &str) -> Result<Repo, String> {
        // One rule for what GitHub allows: the config's check.
        crate::config::github_repo(text)?;
        let (owner, name) = text.split_once('/').unwrap_or((text, ""));
        Ok(Repo {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// An answer to a conditional GET: `changed` is false when GitHub said 304
/// and `value` is what it said before.
#[derive(Debug, Clone, PartialEq)]
pub struct Got<T> {
    pub value: T,
    pub changed: bool,
}

/// GitHub's rate limits as its last answer gave them, and a hold: no
/// request is sent before `hold_until`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub used: Option<u64>,
    pub reset: Option<Timestamp>,
    pub hold_until: Option<Timestamp>,
    /// The hold is a secondary limit's.
    pub secondary: bool,
}

impl Limits {
    /// What the header says when the limits slow shipdeck down: a hold, or
    /// less than a tenth of the limit left.
    pub fn slowing(&self, now: Timestamp) -> Option<String> {
        let held = self.hold_until.filter(|t| *t > now);
        if let (Some(until), true) = (held, self.secondary) {
            let secs = until.as_second().saturating_sub(now.as_second()).max(1);
            return Some(format!("secondary rate limit: waiting {secs} s"));
        }
        let remaining = self.remaining?;
        let limit = self.limit.unwrap_or(0);
        let low = held.is_some() || remaining == 0 || remaining.saturating_mul(10) < limit;
        if !low {
            return None;
        }
        let resets = match self.reset {
            Some(reset) => format!(", resets {}", clock(reset)),
            None => String::new(),
        };
        Some(format!("rate limit: {remaining} of {limit} left{resets}"))
    }
}

/// `14:05:00 UTC`.
pub fn clock(t: Timestamp) -> String {
    t.strftime("%H:%M:%S UTC").to_string()
}

/// Why a request did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Unauthorized {
        message: String,
    },
    Forbidden {
        message: String,
    },
    NotFound {
        message: String,
    },
    Conflict {
        message: String,
    },
    /// 400 or 422.
    Invalid {
        message: String,
    },
    /// The primary limit is spent until `until`.
    RateLimited {
        until: Timestamp,
    },
    /// GitHub asked to wait until `until` (a secondary limit).
    SecondaryLimit {
        until: Timestamp,
    },
    Server {
        status: u16,
        message: String,
    },
    /// No answer: the cause in a few words.
    Unreachable(String),
    /// An answer that cannot be read.
    Garbage(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unauthorized { message } => write!(f, "401 {message}"),
            ApiError::Forbidden { message } => write!(f, "403 {message}"),
            ApiError::NotFound { message } => write!(f, "404 {message}"),
            ApiError::Conflict { message } => write!(f, "409 {message}"),
            ApiError::Invalid { message } => write!(f, "422 {message}"),
            ApiError::RateLimited { until } => {
                write!(f, "rate limit spent until {}", clock(*until))
            }
            ApiError::SecondaryLimit { until } => {
                write!(f, "secondary rate limit until {}", clock(*until))
            }
            ApiError::Server { status, message } => write!(f, "{status} {message}"),
            ApiError::Unreachable(why) => write!(f, "unreachable: {why}"),
            ApiError::Garbage(why) => write!(f, "unreadable answer: {why}"),
        }
    }
}

impl std::error::Error for ApiError {}

/// Which runs to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFilter {
    /// A workflow's id or file name (`deploy.yml`).
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub per_page: u32,
}

impl Default for RunFilter {
    fn default() -> RunFilter {
        RunFilter {
            workflow: None,
            branch: None,
            per_page: 30,
        }
    }
}

/// A review of pending deployments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    Approved,
    Rejected,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Approved => "approved",
            Review::Rejected => "rejected",
        }
    }
}

/// A job's log, or word that it has none yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobLog {
    /// Its text (the end of it, at most [`MAX_LOG`] bytes), cleaned.
    Text(String),
    /// A job still running has no log yet (GitHub answers 404).
    NotYet,
}

/// GitHub's REST API for one token. Cloning is cheap: clones share the
/// connection pool, the conditional-request cache and the limits.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    base: Url,
    /// Follows no redirect: a log's is followed by hand, without the token.
    http: reqwest::Client,
    auth: HeaderValue,
    /// Kept to take it out of anything GitHub echoes back.
    token: Token,
    /// `shipdeck/<version> (os/arch)`.
    agent: HeaderValue,
    cache: Mutex<HashMap<String, Cached>>,
    limits: Mutex<Limits>,
}

#[derive(Clone)]
struct Cached {
    etag: HeaderValue,
    body: Vec<u8>,
    next: Option<String>,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// One answer, read.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Api {
    /// The API at `base_url` (`https://api.github.com`, or a GitHub
    /// Enterprise Server's `https://HOST/api/v3`; `http://` only on
    /// loopback) with `token`.
    pub fn new(base_url: &str, token: Token) -> Result<Api, String> {
        let base = parse_base(base_url)?;
        let mut auth = HeaderValue::from_str(&format!("token {}", token.secret()))
            .map_err(|_| "the token holds characters a header cannot carry".to_string())?;
        auth.set_sensitive(true);
        let http = client(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(TIMEOUT)
                .default_headers(common_headers()),
        )?;
        Ok(Api {
            inner: Arc::new(Inner {
                base,
                http,
                auth,
                token,
                agent: user_agent(),
                cache: Mutex::new(HashMap::new()),
                limits: Mutex::new(Limits::default()),
            }),
        })
    }

    /// The API's address, `https://api.github.com`.
    pub fn address(&self) -> String {
        self.inner.base.as_str().trim_end_matches('/').to_string()
    }

    /// The API's host (`api.github.com`).
    pub fn host(&self) -> String {
        self.inner.base.host_str().unwrap_or_default().to_string()
    }

    /// Whose token it is, as far as its prefix tells.
    pub fn token_kind(&self) -> super::token::TokenKind {
        self.inner.token.kind()
    }

    /// The limits as the last answer gave them.
    pub fn limits(&self) -> Limits {
        lock(&self.inner.limits).clone()
    }

    /// The token's user (`GET /user`).
    pub async fn user(&self) -> Result<User, ApiError> {
        let url = self.url(&["user"]);
        Ok(self.get::<User>(url).await?.value.0)
    }

    /// Recent runs, newest first: of a workflow and a branch when given,
    /// up to `max_pages` pages of `per_page`.
    pub async fn runs(
        &self,
        repo: &Repo,
        filter: &RunFilter,
        max_pages: usize,
    ) -> Result<Got<Vec<Run>>, ApiError> {
        let mut url = match &filter.workflow {
            Some(wf) => self.repo_url(repo, &["actions", "workflows", wf, "runs"]),
            None => self.repo_url(repo, &["actions", "runs"]),
        };
        {
            let mut query = url.query_pairs_mut();
            if let Some(branch) = &filter.branch {
                query.append_pair("branch", branch);
            }
            query.append_pair("per_page", &filter.per_page.clamp(1, 100).to_string());
        }
        self.pages(url, max_pages, |list: RunList| list.workflow_runs)
            .await
    }

    pub async fn run(&self, repo: &Repo, run_id: u64) -> Result<Got<Run>, ApiError> {
        let url = self.repo_url(repo, &["actions", "runs", &run_id.to_string()]);
        let got = self.get::<Run>(url).await?;
        Ok(Got {
            value: got.value.0,
            changed: got.changed,
        })
    }

    /// The jobs of a run's attempt, in GitHub's order, all pages.
    pub async fn jobs(
        &self,
        repo: &Repo,
        run_id: u64,
        attempt: u32,
    ) -> Result<Got<Vec<Job>>, ApiError> {
        let (id, n) = (run_id.to_string(), attempt.max(1).to_string());
        let mut url = self.repo_url(repo, &["actions", "runs", &id, "attempts", &n, "jobs"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        self.pages(url, MAX_JOB_PAGES, |list: JobList| list.jobs)
            .await
    }

    /// The environments the run waits on for a review.
    pub async fn pending(
        &self,
        repo: &Repo,
        run_id: u64,
    ) -> Result<Got<Vec<PendingDeployment>>, ApiError> {
        let url = self.run_url(repo, run_id, "pending_deployments");
        self.get_value(url).await
    }

    /// The reviews given on the run.
    pub async fn approvals(
        &self,
        repo: &Repo,
        run_id: u64,
    ) -> Result<Got<Vec<Approval>>, ApiError> {
        let url = self.run_url(repo, run_id, "approvals");
        self.get_value(url).await
    }

    /// Approves or rejects the run's deployments to `environment_ids`.
    pub async fn review(
        &self,
        repo: &Repo,
        run_id: u64,
        environment_ids: &[u64],
        state: Review,
        comment: &str,
    ) -> Result<(), ApiError> {
        let url = self.run_url(repo, run_id, "pending_deployments");
        let body = serde_json::json!({
            "environment_ids": environment_ids,
            "state": state.as_str(),
            "comment": comment,
        });
        self.post(url, Some(body)).await.map(drop)
    }

    /// Re-runs the run's failed jobs (and those that depend on them).
    pub async fn rerun_failed(&self, repo: &Repo, run_id: u64) -> Result<(), ApiError> {
        let url = self.run_url(repo, run_id, "rerun-failed-jobs");
        let body = serde_json::json!({ "enable_debug_logging": false });
        self.post(url, Some(body)).await.map(drop)
    }

    pub async fn cancel(&self, repo: &Repo, run_id: u64) -> Result<(), ApiError> {
        let url = self.run_url(repo, run_id, "cancel");
        self.post(url, None).await.map(drop)
    }

    /// Starts `workflow` (an id or a file name) on `git_ref`; the new run's
    /// id when GitHub gives it.
    pub async fn dispatch(
        &self,
        repo: &Repo,
        workflow: &str,
        git_ref: &str,
        inputs: &BTreeMap<String, String>,
    ) -> Result<Option<u64>, ApiError> {
        #[derive(Deserialize)]
        struct Dispatched {
            workflow_run_id: Option<u64>,
        }
        let url = self.repo_url(repo, &["actions", "workflows", workflow, "dispatches"]);
        let body = serde_json::json!({ "ref": git_ref, "inputs": inputs });
        let answer = self.post(url, Some(body)).await?;
        if answer.status == StatusCode::NO_CONTENT || answer.body.is_empty() {
            return Ok(None);
        }
        Ok(decode::<Dispatched>(&answer.body)?.workflow_run_id)
    }

    /// A job's log: GitHub answers with a redirect to another host, which
    /// is followed without the token. The end of a long log is kept.
    pub async fn job_log(&self, repo: &Repo, job_id: u64) -> Result<JobLog, ApiError> {
        let url = self.repo_url(repo, &["actions", "jobs", &job_id.to_string(), "logs"]);
        let response = self.send(Method::GET, url.clone(), None, None).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(JobLog::NotYet);
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| ApiError::Garbage("a log's redirect without a place".into()))?;
            return self.download_log(location).await;
        }
        let response = self.refuse(response).await?;
        Ok(JobLog::Text(read_tail(response).await?))
    }

    /// The log at `location`, fetched with no token.
    async fn download_log(&self, location: Url) -> Result<JobLog, ApiError> {
        if !matches!(location.scheme(), "https" | "http") {
            return Err(ApiError::Garbage(
                "a log's redirect to no web address".into(),
            ));
        }
        let response = self
            .inner
            .http
            .get(location)
            .header(header::USER_AGENT, self.inner.agent.clone())
            .timeout(LOG_TIMEOUT)
            .send()
            .await
            .map_err(|e| ApiError::Unreachable(cause(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Server {
                status: status.as_u16(),
                message: format!(
                    "the log's storage answered {}",
                    status.canonical_reason().unwrap_or("an error")
                ),
            });
        }
        Ok(JobLog::Text(read_tail(response).await?))
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn repo_url(&self, repo: &Repo, rest: &[&str]) -> Url {
        let mut segments = vec!["repos", repo.owner.as_str(), repo.name.as_str()];
        segments.extend_from_slice(rest);
        self.url(&segments)
    }

    fn run_url(&self, repo: &Repo, run_id: u64, last: &str) -> Url {
        self.repo_url(repo, &["actions", "runs", &run_id.to_string(), last])
    }

    async fn get_value<T: DeserializeOwned>(&self, url: Url) -> Result<Got<T>, ApiError> {
        let got = self.get::<T>(url).await?;
        Ok(Got {
            value: got.value.0,
            changed: got.changed,
        })
    }

    /// Up to `max_pages` pages from `url` on, following `Link: rel="next"`.
    async fn pages<P: DeserializeOwned, I>(
        &self,
        url: Url,
        max_pages: usize,
        items: impl Fn(P) -> Vec<I>,
    ) -> Result<Got<Vec<I>>, ApiError> {
        let mut all = Vec::new();
        let mut changed = false;
        let mut next = Some(url);
        for _ in 0..max_pages.max(1) {
            let Some(url) = next.take() else { break };
            let got = self.get::<P>(url).await?;
            changed |= got.changed;
            let (page, link) = got.value;
            all.extend(items(page));
            next = link.and_then(|l| self.same_origin(&l));
        }
        Ok(Got {
            value: all,
            changed,
        })
    }

    /// A next page's address, only on the API's own origin (the token goes
    /// nowhere else).
    fn same_origin(&self, link: &str) -> Option<Url> {
        let url = Url::parse(link).ok()?;
        (url.origin() == self.inner.base.origin()).then_some(url)
    }

    /// A conditional GET: the value and the next page's address.
    async fn get<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<Got<(T, Option<String>)>, ApiError> {
        let key = url.as_str().to_string();
        let cached = lock(&self.inner.cache).get(&key).cloned();
        let etag = cached.as_ref().map(|c| c.etag.clone());
        let response = self.send(Method::GET, url, None, etag).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            let cached = cached.ok_or_else(|| {
                ApiError::Garbage("304 Not Modified for an answer never given".into())
            })?;
            let value = decode(&cached.body)?;
            return Ok(Got {
                value: (value, cached.next),
                changed: false,
            });
        }
        let answer = self.read(self.refuse(response).await?).await?;
        let next = next_link(&answer.headers);
        let value = decode(&answer.body)?;
        if let Some(etag) = answer.headers.get(header::ETAG) {
            self.remember(key, etag.clone(), answer.body, next.clone());
        }
        Ok(Got {
            value: (value, next),
            changed: true,
        })
    }

    fn remember(&self, key: String, etag: HeaderValue, body: Vec<u8>, next: Option<String>) {
        let mut cache = lock(&self.inner.cache);
        if cache.len() >= MAX_CACHED && !cache.contains_key(&key) {
            cache.clear();
        }
        cache.insert(key, Cached { etag, body, next });
    }

    async fn post(&self, url: Url, body: Option<serde_json::Value>) -> Result<Answer, ApiError> {
        let response = self.send(Method::POST, url, body, None).await?;
        let response = self.refuse(response).await?;
        self.read(response).await
    }

    /// Sends a request unless a limit holds; reads the limits it answers
    /// with.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        etag: Option<HeaderValue>,
    ) -> Result<reqwest::Response, ApiError> {
        self.held(Timestamp::now())?;
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header(header::USER_AGENT, self.inner.agent.clone())
            .header(header::AUTHORIZATION, self.inner.auth.clone());
        if let Some(etag) = etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::Unreachable(cause(&e)))?;
        self.note_limits(response.headers());
        Ok(response)
    }

    /// The error a hold gives, while it holds.
    fn held(&self, now: Timestamp) -> Result<(), ApiError> {
        let mut limits = lock(&self.inner.limits);
        match limits.hold_until {
            Some(until) if until > now => Err(match limits.secondary {
                true => ApiError::SecondaryLimit { until },
                false => ApiError::RateLimited { until },
            }),
            Some(_) => {
                limits.hold_until = None;
                limits.secondary = false;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn note_limits(&self, headers: &HeaderMap) {
        let number = |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.parse().ok() };
        let mut limits = lock(&self.inner.limits);
        if let Some(remaining) = number("x-ratelimit-remaining") {
            limits.remaining = Some(remaining);
            limits.limit = number("x-ratelimit-limit").or(limits.limit);
            limits.used = number("x-ratelimit-used");
            limits.reset = number("x-ratelimit-reset")
                .and_then(|s| Timestamp::from_second(i64::try_from(s).ok()?).ok());
        }
    }

    fn hold(&self, until: Timestamp, secondary: bool) {
        let mut limits = lock(&self.inner.limits);
        limits.hold_until = Some(until);
        limits.secondary = secondary;
    }

    /// A success (or a 304) through; anything else as an [`ApiError`].
    async fn refuse(&self, response: reqwest::Response) -> Result<reqwest::Response, ApiError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = read_body(response, MAX_ERROR).await.unwrap_or_default();
        let message = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) if !e.message.is_empty() => clip(
                &e.message.replace(self.inner.token.secret(), "…"),
                MAX_MESSAGE,
            ),
            _ => status.canonical_reason().unwrap_or("error").to_string(),
        };
        let err = classify(status, &headers, message, Timestamp::now());
        match &err {
            ApiError::RateLimited { until } => self.hold(*until, false),
            ApiError::SecondaryLimit { until } => self.hold(*until, true),
            _ => {}
        }
        Err(err)
    }

    async fn read(&self, response: reqwest::Response) -> Result<Answer, ApiError> {
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(response, MAX_JSON).await.map_err(unread)?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// The API's address, checked: `https://`, or `http://` on loopback.
fn parse_base(base_url: &str) -> Result<Url, String> {
    let shown = clip(base_url, 120);
    let url = Url::parse(base_url.trim())
        .map_err(|e| format!("{shown:?} is not a GitHub API address: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" if !host.is_empty() => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{shown:?}: GitHub is reached over https (http only on this machine's loopback)"
            ));
        }
        _ => {
            return Err(format!(
                "{shown:?} is not a GitHub API address (https://HOST)"
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{shown:?}: an API address has no query, fragment or user"
        ));
    }
    Ok(url)
}

/// What every request says, as `gh` says it (the token and the agent
/// aside: each request sets them).
fn common_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/vnd.github+json"),
    );
    headers.insert(
        "x-github-api-version",
        HeaderValue::from_static(API_VERSION),
    );
    headers
}

/// An error answer as an [`ApiError`], given what GitHub said.
fn classify(status: StatusCode, headers: &HeaderMap, message: String, now: Timestamp) -> ApiError {
    let number =
        |name: &str| -> Option<i64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
    let limited = matches!(status.as_u16(), 403 | 429);
    if limited && number("x-ratelimit-remaining") == Some(0) {
        let until = number("x-ratelimit-reset")
            .and_then(|s| Timestamp::from_second(s).ok())
            .filter(|t| *t > now)
            .unwrap_or_else(|| after(now, SECONDARY_WAIT));
        return ApiError::RateLimited { until };
    }
    let secondary = message.to_lowercase().contains("secondary rate limit");
    if limited && (headers.contains_key(header::RETRY_AFTER) || secondary || status.as_u16() == 429)
    {
        let wait = number("retry-after")
            .unwrap_or(SECONDARY_WAIT)
            .clamp(1, 3_600);
        return ApiError::SecondaryLimit {
            until: after(now, wait),
        };
    }
    if status.is_redirection() {
        return ApiError::Server {
            status: status.as_u16(),
            message: "moved: the repository may have been renamed or transferred".into(),
        };
    }
    match status.as_u16() {
        401 => ApiError::Unauthorized { message },
        403 => ApiError::Forbidden { message },
        404 => ApiError::NotFound { message },
        409 => ApiError::Conflict { message },
        400 | 422 => ApiError::Invalid { message },
        status => ApiError::Server { status, message },
    }
}

fn after(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or(now)
}

/// The `rel="next"` address of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::Garbage(format!(
            "not the JSON GitHub sends: {}",
            clip(&e.to_string(), 120)
        ))
    })
}

fn unread(why: Unread) -> ApiError {
    match why {
        Unread::TooLarge(limit) => ApiError::Garbage(format!(
            "an answer larger than {} MiB, not read",
            limit / (1024 * 1024)
        )),
        Unread::Broken(why) => ApiError::Unreachable(format!("the answer was cut off: {why}")),
    }
}

/// The last [`MAX_LOG`] bytes of a body as text, from a line's start,
/// cleaned.
async fn read_tail(mut response: reqwest::Response) -> Result<String, ApiError> {
    let mut kept: Vec<u8> = Vec::new();
    let mut cut = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                kept.extend_from_slice(&chunk);
                if kept.len() > 2 * MAX_LOG {
                    kept.drain(..kept.len() - MAX_LOG);
                    cut = true;
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(ApiError::Unreachable(format!(
                    "the log was cut off: {}",
                    cause(&e)
                )));
            }
        }
    }
    if kept.len() > MAX_LOG {
        kept.drain(..kept.len() - MAX_LOG);
        cut = true;
    }
    let mut text = String::from_utf8_lossy(&kept).into_owned();
    if cut && let Some(at) = text.find('\n') {
        text.drain(..=at);
    }
    Ok(clean_lines(&text.replace("\r\n", "\n")).into_owned())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
