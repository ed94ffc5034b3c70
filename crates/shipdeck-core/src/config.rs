//! The configuration file's shape and its checks.
//!
//! `$XDG_CONFIG_HOME/shipdeck/config.yaml` holds the operator's identity, the
//! backend, the theme, key rebindings by action name, limits and rules.
//! Every key is optional: a file names only what it changes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use strum::IntoEnumIterator;

use crate::keys::{Key, UiAction};
use crate::model::freeze::{Freeze, MAX_OCCURRENCE, Period, Recurring};
use crate::model::{Cohort, Rule, Series};
use crate::problem::{Checker, Problem};
use crate::sim::scenario::{RawRule, convert_rules};

type S<T> = Spanned<T>;

pub mod notify;
pub use notify::{HookFormat, Notify, WebhookFile};

/// The configuration file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Who this operator is (what the engine sees and the journal records).
    #[serde(default)]
    pub operator: Option<S<String>>,
    #[serde(default)]
    pub backend: Option<BackendFile>,
    /// A bundled theme's name or a theme file's path.
    #[serde(default)]
    pub theme: Option<S<String>>,
    /// Key rebindings: action name → key (`a`, `R`, `ctrl+s`, `space`, `f1`).
    #[serde(default)]
    pub keys: BTreeMap<String, S<String>>,
    /// Log lines kept in memory for each source (the release's own, and
    /// each log source of the console's).
    #[serde(default)]
    pub log_ring: Option<S<u64>>,
    /// The most frames drawn per second for data-driven redraws.
    #[serde(default)]
    pub frame_cap: Option<S<u32>>,
    /// Ring the terminal's bell when something starts to wait on you.
    #[serde(default)]
    pub bell: Option<S<bool>>,
    /// Where journals are written.
    #[serde(default)]
    pub journal_dir: Option<String>,
    /// How long a command may wait undelivered (a server out of reach)
    /// before it expires and is not sent; a rollback waits however long.
    #[serde(default)]
    pub command_expiry: Option<S<String>>,
    /// Rules that replace the runbook's defaults.
    #[serde(default)]
    pub rules: Option<Vec<RawRule>>,
    /// What `shipdeck inbox` looks at for what waits on this operator.
    #[serde(default)]
    pub inbox: Option<InboxFile>,
    /// Times no promote goes out: `{from, to, reason}` or a recurring
    /// `{rrule, start, duration, reason, tz}`.
    #[serde(default)]
    pub freezes: Vec<S<FreezeFile>>,
    /// Where `serve` posts what starts and stops waiting on someone.
    #[serde(default)]
    pub webhooks: Vec<S<WebhookFile>>,
    /// The console's desktop notification with the bell: osc9, osc777, off.
    #[serde(default)]
    pub notify: Option<S<Notify>>,
}

/// A freeze as written: a period (`from`, `to`) or a recurring one
/// (`rrule`, `start`, `duration`, optionally `tz`), with its reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeFile {
    #[serde(default)]
    pub from: Option<S<String>>,
    #[serde(default)]
    pub to: Option<S<String>>,
    #[serde(default)]
    pub rrule: Option<S<String>>,
    #[serde(default)]
    pub start: Option<S<String>>,
    #[serde(default)]
    pub duration: Option<S<String>>,
    #[serde(default)]
    pub tz: Option<S<String>>,
    pub reason: S<String>,
}

/// `inbox: { servers: […], rollouts: […], github: […] }`, as written: each
/// entry a bare name or address, or a map with more.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxFile {
    #[serde(default)]
    pub servers: Vec<S<InboxServerFile>>,
    #[serde(default)]
    pub rollouts: Vec<S<InboxRolloutsFile>>,
    #[serde(default)]
    pub github: Vec<S<InboxGithubFile>>,
}

/// A `shipdeck serve`: `"https://deploy.example:7070"`, or
/// `{url: …, token_file: …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InboxServerFile {
    Url(String),
    Full {
        url: String,
        /// A file holding the bearer token (never the token itself).
        #[serde(default)]
        token_file: Option<String>,
    },
}

/// A namespace's Rollouts: `"payments"`, or `{namespace: …, context: …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InboxRolloutsFile {
    Namespace(String),
    Full {
        namespace: String,
        #[serde(default)]
        context: Option<String>,
    },
}

/// A repository's runs: `"OWNER/REPO"`, or `{repo: …, workflow: …,
/// api_url: …, token_file: …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InboxGithubFile {
    Repo(String),
    Full {
        repo: String,
        #[serde(default)]
        workflow: Option<String>,
        #[serde(default)]
        api_url: Option<String>,
        #[serde(default)]
        token_file: Option<String>,
    },
}

impl InboxServerFile {
    pub fn url(&self) -> &str {
        match self {
            InboxServerFile::Url(url) | InboxServerFile::Full { url, .. } => url,
        }
    }

    pub fn token_file(&self) -> Option<&str> {
        match self {
            InboxServerFile::Url(_) => None,
            InboxServerFile::Full { token_file, .. } => token_file.as_deref(),
        }
    }
}

impl InboxRolloutsFile {
    pub fn namespace(&self) -> &str {
        match self {
            InboxRolloutsFile::Namespace(ns) | InboxRolloutsFile::Full { namespace: ns, .. } => ns,
        }
    }

    pub fn context(&self) -> Option<&str> {
        match self {
            InboxRolloutsFile::Namespace(_) => None,
            InboxRolloutsFile::Full { context, .. } => context.as_deref(),
        }
    }
}

impl InboxGithubFile {
    pub fn repo(&self) -> &str {
        match self {
            InboxGithubFile::Repo(repo) | InboxGithubFile::Full { repo, .. } => repo,
        }
    }

    /// `(workflow, api_url, token_file)`, each if given.
    pub fn options(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        match self {
            InboxGithubFile::Repo(_) => (None, None, None),
            InboxGithubFile::Full {
                workflow,
                api_url,
                token_file,
                ..
            } => (
                workflow.as_deref(),
                api_url.as_deref(),
                token_file.as_deref(),
            ),
        }
    }
}

/// Why a server cannot be one the inbox reads: not an http(s) address, or
/// http:// off this machine, where the token would go in the clear (a
/// server off loopback serves only with tokens).
pub fn inbox_server(url: &str) -> Result<(), String> {
    let parsed = http_url(url, SERVER_TOKEN)?;
    if parsed.scheme() == "http" && !loopback(&parsed) {
        return Err(format!(
            "`{}`: http:// would send the token unencrypted; use https:// (http:// is for 127.0.0.1 and localhost only)",
            crate::model::text::clean(url.trim())
        ));
    }
    Ok(())
}

/// Why a GitHub API address cannot be used: not an address, or http://
/// off this machine.
pub fn github_api_url(url: &str) -> Result<(), String> {
    let parsed = http_url(url, GITHUB_TOKEN).map_err(|why| format!("api_url: {why}"))?;
    // The token goes with every request: never in the clear off this
    // machine.
    if parsed.scheme() == "http" && !loopback(&parsed) {
        return Err("api_url: http:// would send the token unencrypted; use https:// (http:// is for 127.0.0.1 and localhost only)".into());
    }
    Ok(())
}

impl InboxFile {
    /// Checks each entry; problems are reported where the entry is.
    fn check(&self, c: &mut Checker) {
        for server in &self.servers {
            if let Err(why) = inbox_server(server.value.url()) {
                c.problem(&server.referenced, format!("inbox server: {why}"));
            }
        }
        for rollouts in &self.rollouts {
            let r = &rollouts.value;
            if let Err(why) = kube_name(r.namespace(), "the inbox's namespace", false) {
                c.problem(&rollouts.referenced, why);
            }
            if r.context().is_some_and(|c| c.trim().is_empty()) {
                c.problem(&rollouts.referenced, "inbox rollouts: the context is empty");
            }
        }
        for github in &self.github {
            let g = &github.value;
            let (workflow, api_url, _) = g.options();
            let problems = [
                github_repo(g.repo()).err(),
                api_url.and_then(|u| github_api_url(u).err()),
                workflow
                    .filter(|w| w.trim().is_empty())
                    .map(|_| "workflow: empty; give its file name (deploy.yml) or id".to_string()),
            ];
            for why in problems.into_iter().flatten() {
                c.problem(&github.referenced, format!("inbox github: {why}"));
            }
        }
    }
}

/// A backend: a pipeline source plus optional metrics and log sources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendFile {
    pub pipeline: S<PipelineSource>,
    #[serde(default)]
    pub metrics: Option<S<MetricsSource>>,
    #[serde(default)]
    pub logs: Option<LogSource>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PipelineSource {
    /// The embedded simulator.
    Sim {
        #[serde(default)]
        scenario: Option<String>,
        #[serde(default)]
        speed: Option<f64>,
        #[serde(default)]
        seed: Option<u64>,
        #[serde(default)]
        autopilot: Option<bool>,
    },
    /// A server speaking shipdeck's HTTP contract.
    Http {
        url: String,
        #[serde(default)]
        release: Option<String>,
        /// A file holding the bearer token (never the token itself).
        #[serde(default)]
        token_file: Option<String>,
    },
    /// An Argo Rollouts Rollout on a Kubernetes cluster, found as kubectl
    /// finds it (the kubeconfig's context, or the pod's service account).
    #[serde(rename = "argo-rollouts")]
    ArgoRollouts {
        rollout: String,
        #[serde(default)]
        namespace: Option<String>,
        #[serde(default)]
        context: Option<String>,
        /// Sign-offs a promote needs, kept and enforced by `serve`.
        #[serde(default)]
        promote_gate: Option<PromoteGateFile>,
    },
    /// A GitHub Actions workflow run: its jobs as the stages, each
    /// environment waiting for a review as a gate.
    #[serde(rename = "github-actions")]
    GithubActions(GithubFile),
}

/// `kind: github-actions`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubFile {
    /// `OWNER/REPO`.
    pub repo: String,
    /// The workflow's file name (`deploy.yml`) or id.
    #[serde(default)]
    pub workflow: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    /// One run by id; else the latest matching one, waiting ones first.
    #[serde(default)]
    pub run: Option<u64>,
    /// GitHub Enterprise Server's API (`https://HOST/api/v3`).
    #[serde(default)]
    pub api_url: Option<String>,
    /// A file holding the token (owner-only), when not `$GH_TOKEN`.
    #[serde(default)]
    pub token_file: Option<String>,
    /// What `R` runs once a deployment has gone out.
    #[serde(default)]
    pub rollback_workflow: Option<RollbackWorkflowFile>,
    /// An Argo Rollout that carries the canary after a job hands over.
    #[serde(default)]
    pub canary: Option<CanaryFile>,
}

/// `rollback_workflow: { workflow: rollback.yml, ref: main, inputs: {…} }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackWorkflowFile {
    pub workflow: String,
    /// The branch or tag to run it on; the run's branch when absent.
    #[serde(default, rename = "ref")]
    pub git_ref: Option<String>,
    #[serde(default)]
    pub inputs: std::collections::BTreeMap<String, String>,
}

/// `canary: { rollout: checkout, namespace: payments, after: deploy-production }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryFile {
    pub rollout: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub context: Option<String>,
    /// The job that hands the release over to the Rollout.
    pub after: String,
}

/// Why a repository cannot be one GitHub has: `OWNER/REPO`, each of
/// letters, digits, `-`, `_` and `.` (an owner has no `_` or `.`).
pub fn github_repo(text: &str) -> Result<(), String> {
    let shown = || crate::model::text::clip(&crate::model::text::clean(text), 80);
    let Some((owner, name)) = text.split_once('/') else {
        return Err(format!("the repository \"{}\" is not OWNER/REPO", shown()));
    };
    let owner_ok = !owner.is_empty()
        && owner.len() <= 39
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !owner.starts_with('-');
    let name_ok = !name.is_empty()
        && name.len() <= 100
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !owner_ok || !name_ok {
        return Err(format!(
            "the repository \"{}\" is not one GitHub could have: OWNER/REPO, the owner of letters, digits and '-', the name of letters, digits, '-', '_' and '.'",
            shown()
        ));
    }
    Ok(())
}

impl GithubFile {
    /// What is wrong with it, each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(why) = github_repo(&self.repo) {
            out.push(why);
        }
        if let Some(Err(why)) = self.api_url.as_deref().map(github_api_url) {
            out.push(why);
        }
        if self
            .workflow
            .as_deref()
            .is_some_and(|w| w.trim().is_empty())
        {
            out.push("workflow: empty; give its file name (deploy.yml) or id".into());
        }
        if let Some(rollback) = &self.rollback_workflow
            && rollback.workflow.trim().is_empty()
        {
            out.push("rollback_workflow: the workflow is empty".into());
        }
        if let Some(canary) = &self.canary {
            let names = [
                kube_name(&canary.rollout, "the canary's rollout", true),
                canary
                    .namespace
                    .as_deref()
                    .map_or(Ok(()), |ns| kube_name(ns, "the canary's namespace", false)),
            ];
            out.extend(names.into_iter().filter_map(Result::err));
            if canary.after.trim().is_empty() {
                out.push("canary: `after` names no job".into());
            }
        }
        out
    }
}

/// Whether an address is this machine's.
fn loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Where a GitHub token comes from, for a refused URL.
pub const GITHUB_TOKEN: &str =
    "give the token in $GH_TOKEN, a file named by token_file, or through `gh auth login`";

/// `promote_gate: { signoffs: 2, approvers: [dave, erin] }`: distinct
/// people who must sign before a Rollout may be promoted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteGateFile {
    pub signoffs: u32,
    /// Who may sign; anyone when absent.
    #[serde(default)]
    pub approvers: Option<Vec<String>>,
}

impl PromoteGateFile {
    /// The gate as the plan has it, or what is wrong with it.
    pub fn gate(&self) -> Result<crate::model::GatePlan, String> {
        use crate::model::{Approvers, GatePlan, Person};
        if !(1..=20).contains(&self.signoffs) {
            return Err(format!(
                "promote_gate: signoffs {} is out of range: from 1 to 20",
                self.signoffs
            ));
        }
        let approvers = match &self.approvers {
            None => Approvers::any(),
            Some(names) => {
                let people = names
                    .iter()
                    .map(|n| Person::new(n).map_err(|why| format!("promote_gate: approver {why}")))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut distinct = people.clone();
                distinct.sort();
                distinct.dedup();
                if (distinct.len() as u32) < self.signoffs {
                    return Err(format!(
                        "promote_gate: {} sign-offs are needed but only {} people may sign",
                        self.signoffs,
                        distinct.len()
                    ));
                }
                Approvers::Named(people)
            }
        };
        Ok(GatePlan {
            id: "promote".into(),
            name: "Promote".into(),
            required: self.signoffs,
            approvers,
            self_approval: true,
        })
    }
}

/// Why a Rollout's or a namespace's name cannot be one Kubernetes has: a
/// DNS subdomain (a Rollout) or label (a namespace) of lower-case letters,
/// digits, `-` (and `.` in a subdomain), starting and ending alphanumeric.
pub fn kube_name(name: &str, what: &str, subdomain: bool) -> Result<(), String> {
    let longest = if subdomain { 253 } else { 63 };
    let fits = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (subdomain && c == '.')
    };
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty()
        || name.len() > longest
        || !name.chars().all(fits)
        || !ends(name.chars().next())
        || !ends(name.chars().last())
    {
        return Err(format!(
            "{what} \"{}\" is not a Kubernetes name: lower-case letters, digits and '-'{}, at most {longest}, starting and ending with a letter or digit",
            crate::model::text::clip(name, 80),
            if subdomain { " or '.'" } else { "" }
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MetricsSource {
    Prometheus(PrometheusFile),
}

/// A Prometheus as the release's metrics source, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusFile {
    pub url: String,
    /// A file holding the bearer token (never the token itself).
    #[serde(default)]
    pub token_file: Option<String>,
    /// An environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// How often the queries are asked again (default 15s).
    #[serde(default)]
    pub step: Option<String>,
    /// How much history is fetched on start (default 30m).
    #[serde(default)]
    pub range: Option<String>,
    /// Label matchers per cohort, put where a query says `$selector`.
    #[serde(default)]
    pub selectors: BTreeMap<String, String>,
    #[serde(default)]
    pub error_rate: Option<QueryFile>,
    #[serde(default)]
    pub latency_p50: Option<QueryFile>,
    #[serde(default)]
    pub latency_p95: Option<QueryFile>,
    #[serde(default)]
    pub latency_p99: Option<QueryFile>,
    #[serde(default)]
    pub throughput: Option<QueryFile>,
    #[serde(default)]
    pub availability: Option<QueryFile>,
}

/// PromQL for one series: one query with `$selector` for every cohort of
/// `selectors`, or a query per cohort.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum QueryFile {
    Template(String),
    PerCohort(BTreeMap<String, String>),
}

/// Where a metrics source's bearer token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFrom {
    File(String),
    Env(String),
}

/// A Prometheus metrics source, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PrometheusSource {
    pub url: String,
    pub token: Option<TokenFrom>,
    pub step: std::time::Duration,
    pub range: std::time::Duration,
    /// What to ask for each series of each cohort.
    pub queries: Vec<MetricQuery>,
}

/// The PromQL that gives one series of one cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub series: crate::model::Series,
    pub cohort: crate::model::Cohort,
    pub promql: String,
}

/// Checks an address shipdeck is to talk to (a server, a Prometheus): an
/// http:// or https:// URL with a host and no user, password or query in
/// it (`?token=…`), since the URL is shown in the header, the log, the
/// journal and `shipdeck config`. `instead` says where a credential goes.
pub fn http_url(text: &str, instead: &str) -> Result<url::Url, String> {
    // What might be a credential is never repeated.
    let shown = match text.contains(['@', '?', '#']) {
        true => "the address".to_string(),
        false => format!("`{}`", crate::model::text::clean(text.trim())),
    };
    match url::Url::parse(text.trim()) {
        Ok(url) if !url.username().is_empty() || url.password().is_some() => Err(format!(
            "the address has a user or password in it, which would be shown and journaled; {instead}"
        )),
        Ok(url) if url.query().is_some() || url.fragment().is_some() => Err(format!(
            "the address has a query or fragment (`?…`, `#…`) in it, which would be shown and journaled: give the server's address alone; {instead}"
        )),
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        Ok(_) => Err(format!("{shown} is not an http:// or https:// address")),
        Err(err) => Err(format!(
            "{shown} is not a URL ({err}); give http://HOST:PORT"
        )),
    }
}

/// Where the bearer token for a server comes from, for a refused URL.
pub const SERVER_TOKEN: &str =
    "give the token in $SHIPDECK_TOKEN or a file named by --token-file or token_file";

/// The placeholder a query template has for a cohort's label matchers.
pub const SELECTOR: &str = "$selector";

impl PrometheusFile {
    /// Checks the source; problems are reported at `at`.
    fn check(&self, at: &Location, c: &mut Checker) -> Option<PrometheusSource> {
        let before = c.len();
        self.check_url(at, c);
        let token = self.token(at, c);
        let step = interval(self.step.as_deref(), 15, "step", at, c);
        let range = interval(self.range.as_deref(), 30 * 60, "range", at, c);
        check_history(step, range, at, c);
        let selectors = self.selectors(at, c);
        let mut queries = Vec::new();
        for (series, query) in self.queries_by_series() {
            match query {
                None => {}
                Some(QueryFile::Template(promql)) => {
                    queries.extend(template_queries(series, promql, &selectors, at, c))
                }
                Some(QueryFile::PerCohort(by_cohort)) => {
                    queries.extend(cohort_queries(series, by_cohort, at, c))
                }
            }
        }
        if queries.is_empty() && c.len() == before {
            let series: Vec<&str> = Series::iter().map(Series::name).collect();
            c.problem(
                at,
                format!(
                    "the prometheus metrics source asks nothing: give a query for at least one series ({})",
                    series.join(", ")
                ),
            );
        }
        (c.len() == before).then(|| PrometheusSource {
            url: self.url.trim().to_string(),
            token,
            step,
            range,
            queries,
        })
    }

    fn check_url(&self, at: &Location, c: &mut Checker) {
        let token = "give a bearer token with token_file or token_env";
        if let Err(why) = http_url(&self.url, token) {
            c.problem(at, format!("metrics url: {why}"));
        }
    }

    fn token(&self, at: &Location, c: &mut Checker) -> Option<TokenFrom> {
        match (&self.token_file, &self.token_env) {
            (Some(_), Some(_)) => {
                c.problem(at, "give token_file or token_env, not both");
                None
            }
            (Some(file), None) => Some(TokenFrom::File(file.clone())),
            (None, Some(var)) => Some(TokenFrom::Env(var.clone())),
            (None, None) => None,
        }
    }

    /// Each cohort's label matchers, for the queries that say `$selector`.
    fn selectors(&self, at: &Location, c: &mut Checker) -> Vec<(Cohort, String)> {
        let mut selectors = Vec::new();
        for (name, matchers) in &self.selectors {
            match name.trim().parse::<Cohort>() {
                Ok(cohort) => selectors.push((cohort, matchers.trim().to_string())),
                Err(err) => c.problem(at, format!("selectors: {err}")),
            }
        }
        selectors
    }

    /// Each series with its query as written, if any.
    fn queries_by_series(&self) -> [(Series, Option<&QueryFile>); 6] {
        [
            (Series::ErrorRate, self.error_rate.as_ref()),
            (Series::LatencyP50, self.latency_p50.as_ref()),
            (Series::LatencyP95, self.latency_p95.as_ref()),
            (Series::LatencyP99, self.latency_p99.as_ref()),
            (Series::Throughput, self.throughput.as_ref()),
            (Series::Availability, self.availability.as_ref()),
        ]
    }
}

/// A step or a range as written: whole seconds, at least one; `default`
/// seconds when not given or not readable.
fn interval(
    text: Option<&str>,
    default: u64,
    what: &str,
    at: &Location,
    c: &mut Checker,
) -> Duration {
    let Some(text) = text else {
        return Duration::from_secs(default);
    };
    match crate::model::units::parse_clock_duration(text) {
        Ok(d) if d >= jiff::SignedDuration::from_secs(1) => Duration::from_secs(d.as_secs() as u64),
        Ok(_) => {
            c.problem(at, format!("metrics {what} must be at least 1s"));
            Duration::from_secs(default)
        }
        Err(err) => {
            c.problem(at, format!("metrics {what}: {err}"));
            Duration::from_secs(default)
        }
    }
}

/// The history read on start must be a step or more, and fit what a
/// console keeps.
fn check_history(step: Duration, range: Duration, at: &Location, c: &mut Checker) {
    // Prometheus answers at most 11,000 points a series; a console keeps
    // 720 a series.
    if range < step {
        c.problem(
            at,
            "metrics range is shorter than its step: no history would be read",
        );
    } else if range.as_secs() / step.as_secs().max(1) > 720 {
        c.problem(
            at,
            format!(
                "metrics range {}s over step {}s is {} samples a series; at most 720 are kept (a longer step, or a shorter range)",
                range.as_secs(),
                step.as_secs(),
                range.as_secs() / step.as_secs().max(1)
            ),
        );
    }
}

/// One query for every cohort: each cohort's matchers put where it says
/// `$selector`.
fn template_queries(
    series: Series,
    promql: &str,
    selectors: &[(Cohort, String)],
    at: &Location,
    c: &mut Checker,
) -> Vec<MetricQuery> {
    if !promql.contains(SELECTOR) {
        c.problem(
            at,
            format!(
                "{series}: one query for every cohort needs {SELECTOR} where the cohort's labels go; or give `{{canary: ..., stable: ...}}`"
            ),
        );
    } else if selectors.is_empty() {
        c.problem(
            at,
            format!("{series} uses {SELECTOR}, but no `selectors` are given"),
        );
    }
    selectors
        .iter()
        .map(|(cohort, matchers)| MetricQuery {
            series,
            cohort: *cohort,
            promql: promql.replace(SELECTOR, matchers),
        })
        .collect()
}

/// A query per cohort, each as written (no `$selector`).
fn cohort_queries(
    series: Series,
    by_cohort: &BTreeMap<String, String>,
    at: &Location,
    c: &mut Checker,
) -> Vec<MetricQuery> {
    let mut queries = Vec::new();
    for (name, promql) in by_cohort {
        match name.trim().parse::<Cohort>() {
            Ok(cohort) if promql.contains(SELECTOR) => c.problem(
                at,
                format!(
                    "{series}/{}: {SELECTOR} is only for a query shared by the cohorts",
                    cohort.name()
                ),
            ),
            Ok(cohort) => queries.push(MetricQuery {
                series,
                cohort,
                promql: promql.trim().to_string(),
            }),
            Err(err) => c.problem(at, format!("{series}: {err}")),
        }
    }
    queries
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LogSource {
    /// A command's output, run without a shell.
    Command { argv: Vec<String> },
    /// A file followed like `tail -F`.
    File { path: String },
}

/// Checks the key rebindings: each names an action and a key, takes no
/// key another action keeps by default, and no two take one key.
fn check_keys(keys: &BTreeMap<String, S<String>>, c: &mut Checker) {
    let mut bound: BTreeMap<Key, &str> = BTreeMap::new();
    for (action, spec) in keys {
        let at = &spec.referenced;
        let known = UiAction::from_name(action).is_some();
        let key = spec.value.parse::<Key>();
        match &key {
            _ if !known => c.problem(
                at,
                format!(
                    "`{action}` is not an action (actions: {})",
                    UiAction::names()
                ),
            ),
            Err(message) => c.problem(at, message.as_str()),
            Ok(key) => check_taken(keys, action, spec, *key, c),
        }
        if let Ok(key) = key
            && let Some(other) = bound.insert(key, action.as_str())
        {
            c.problem(
                at,
                format!("`{}` is bound to both {other} and {action}", spec.value),
            );
        }
    }
}

/// Refuses Ctrl+C, and a default key of another action the file does not
/// rebind: that action would be left without one.
fn check_taken(
    keys: &BTreeMap<String, S<String>>,
    action: &str,
    spec: &S<String>,
    key: Key,
    c: &mut Checker,
) {
    if key == Key::CTRL_C {
        c.problem(&spec.referenced, "Ctrl+C always quits; bind another key");
        return;
    }
    for other in UiAction::iter() {
        let name = other.name();
        if name != action && other.default_keys().contains(&key) && !keys.contains_key(name) {
            c.problem(
                &spec.referenced,
                format!(
                    "`{}` is {name}'s key; rebind {name} too, or choose another key",
                    spec.value
                ),
            );
        }
    }
}

/// A checked configuration file.
#[derive(Debug, Default)]
pub struct Checked {
    pub file: ConfigFile,
    pub rules: Option<Vec<Rule>>,
    pub metrics: Option<PrometheusSource>,
    pub freezes: Vec<Freeze>,
}

/// Parses and checks a configuration file's text.
pub fn parse(text: &str) -> Result<Checked, Vec<Problem>> {
    let file = read(text)?;
    let mut c = Checker::default();
    let checked = check(file, &mut c);
    c.finish(checked)
}

/// Checks a configuration file as written.
fn check(file: ConfigFile, c: &mut Checker) -> Checked {
    if let Some(op) = &file.operator
        && let Err(why) = crate::model::Person::new(&op.value)
    {
        c.problem(&op.referenced, format!("the operator's name: {why}"));
    }
    check_keys(&file.keys, c);
    check_limits(&file, c);
    if let Some(theme) = &file.theme {
        check_theme(theme, c);
    }
    if let Some(backend) = &file.backend {
        check_pipeline(&backend.pipeline, c);
    }
    let metrics = match file.backend.as_ref().and_then(|b| b.metrics.as_ref()) {
        Some(source) => {
            let MetricsSource::Prometheus(prometheus) = &source.value;
            prometheus.check(&source.referenced, c)
        }
        None => None,
    };
    if let Some(inbox) = &file.inbox {
        inbox.check(c);
    }
    notify::check_webhooks(&file.webhooks, c);
    let rules = file.rules.as_deref().map(|raw| convert_rules(raw, c));
    let freezes = file
        .freezes
        .iter()
        .filter_map(|f| check_freeze(&f.value, &f.referenced, c))
        .collect();
    Checked {
        file,
        rules,
        metrics,
        freezes,
    }
}

/// The file as written; an empty file (or one of comments only) is a
/// valid, empty config.
fn read(text: &str) -> Result<ConfigFile, Vec<Problem>> {
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        return Ok(ConfigFile::default());
    }
    crate::problem::read(text).map_err(|unread| {
        unread.checked(|file, c| {
            check(file, c);
        })
    })
}

/// The longest a console's command may be let wait undelivered.
pub const MAX_COMMAND_EXPIRY: Duration = Duration::from_secs(3600);

/// A command expiry as written (`30s`, `2m`): from a second to an hour.
pub fn command_expiry(text: &str) -> Result<Duration, String> {
    let parsed = crate::model::units::parse_clock_duration(text)
        .map_err(|e| format!("command_expiry: {e}"))?;
    let expiry = Duration::from_secs(parsed.as_secs().max(0) as u64);
    if expiry < Duration::from_secs(1) || expiry > MAX_COMMAND_EXPIRY {
        return Err(format!(
            "command_expiry `{}` is not from 1s to 1h",
            text.trim()
        ));
    }
    Ok(expiry)
}

fn check_limits(file: &ConfigFile, c: &mut Checker) {
    if let Some(expiry) = &file.command_expiry
        && let Err(message) = command_expiry(&expiry.value)
    {
        c.problem(&expiry.referenced, message);
    }
    if let Some(ring) = &file.log_ring {
        if ring.value == 0 {
            c.problem(&ring.referenced, "log_ring must keep at least one line");
        } else if ring.value > crate::model::MAX_LOG_CAPACITY as u64 {
            c.problem(
                &ring.referenced,
                format!(
                    "log_ring of {} lines is more than memory holds: at most {} lines a source",
                    ring.value,
                    crate::model::MAX_LOG_CAPACITY
                ),
            );
        }
    }
    if let Some(cap) = &file.frame_cap
        && !(1..=240).contains(&cap.value)
    {
        c.problem(
            &cap.referenced,
            "frame_cap is frames per second, from 1 to 240",
        );
    }
}

/// A theme is a bundled one's name or a file's path.
fn check_theme(theme: &S<String>, c: &mut Checker) {
    let name = theme.value.as_str();
    if !crate::theme::BUNDLED.iter().any(|(n, _)| *n == name)
        && !std::path::Path::new(name).is_file()
    {
        let names: Vec<&str> = crate::theme::BUNDLED.iter().map(|(n, _)| *n).collect();
        c.problem(
            &theme.referenced,
            format!(
                "no theme named \"{name}\" and no such file (bundled: {})",
                names.join(", ")
            ),
        );
    }
}

/// The simulator's speed and scenario; a server's pipeline is checked when
/// it is reached.
fn check_pipeline(pipeline: &S<PipelineSource>, c: &mut Checker) {
    let at = &pipeline.referenced;
    let (scenario, speed) = match &pipeline.value {
        PipelineSource::Sim {
            scenario, speed, ..
        } => (scenario, speed),
        PipelineSource::Http { url, .. } => {
            if let Err(why) = http_url(url, SERVER_TOKEN) {
                c.problem(at, format!("backend url: {why}"));
            }
            return;
        }
        PipelineSource::ArgoRollouts {
            rollout,
            namespace,
            promote_gate,
            ..
        } => {
            let names = [
                kube_name(rollout, "the rollout", true),
                namespace
                    .as_deref()
                    .map_or(Ok(()), |ns| kube_name(ns, "the namespace", false)),
                promote_gate
                    .as_ref()
                    .map_or(Ok(()), |g| g.gate().map(|_| ())),
            ];
            for why in names.into_iter().filter_map(Result::err) {
                c.problem(at, why);
            }
            return;
        }
        PipelineSource::GithubActions(github) => {
            for why in github.problems() {
                c.problem(at, why);
            }
            return;
        }
    };
    if let Some(speed) = speed
        && !(0.01..=1_000_000.0).contains(speed)
    {
        c.problem(
            at,
            format!("speed {speed} is out of range: from 0.01 to 1000000"),
        );
    }
    if let Some(name) = scenario
        && crate::sim::bundled::get(name).is_none()
        && !std::path::Path::new(name).is_file()
    {
        let names: Vec<&str> = crate::sim::bundled::names().collect();
        c.problem(
            at,
            format!(
                "no scenario named \"{name}\" and no such file (bundled: {})",
                names.join(", ")
            ),
        );
    }
}

/// The longest reason a freeze may give.
const MAX_FREEZE_REASON: usize = 200;

/// A freeze as written, checked: a period or a recurring one, never both.
fn check_freeze(file: &FreezeFile, at: &Location, c: &mut Checker) -> Option<Freeze> {
    let reason = file.reason.value.trim().to_string();
    let before = c.len();
    if reason.is_empty() {
        c.problem(
            &file.reason.referenced,
            "a freeze needs a reason: it is what a refused promote says",
        );
    } else if crate::model::text::clean(&reason) != reason
        || reason.chars().count() > MAX_FREEZE_REASON
    {
        c.problem(
            &file.reason.referenced,
            format!("a freeze's reason is plain text of at most {MAX_FREEZE_REASON} characters, with no control characters"),
        );
    }
    let period = file.from.is_some() || file.to.is_some();
    let recurring = [&file.rrule, &file.start, &file.duration, &file.tz]
        .iter()
        .any(|f| f.is_some());
    let freeze = match (period, recurring) {
        (true, true) => {
            c.problem(at, "a freeze is either a period (from, to) or recurring (rrule, start, duration, tz), not both");
            None
        }
        (false, false) => {
            c.problem(
                at,
                "a freeze needs from and to, or rrule, start and duration",
            );
            None
        }
        (true, false) => check_period(file, at, reason, c).map(Freeze::Period),
        (false, true) => check_recurring(file, at, reason, c).map(Freeze::Recurring),
    };
    freeze.filter(|_| c.len() == before)
}

fn required<'a>(
    field: &'a Option<S<String>>,
    name: &str,
    at: &Location,
    c: &mut Checker,
) -> Option<&'a S<String>> {
    if field.is_none() {
        c.problem(at, format!("this freeze has no {name}"));
    }
    field.as_ref()
}

fn check_period(
    file: &FreezeFile,
    at: &Location,
    reason: String,
    c: &mut Checker,
) -> Option<Period> {
    let time = |field: &Option<S<String>>, name: &str, c: &mut Checker| {
        let written = required(field, name, at, c)?;
        crate::model::time::parse(&written.value)
            .map_err(|why| {
                c.problem(
                    &written.referenced,
                    format!("the freeze's {name}: {why} (write RFC 3339: 2026-12-24T00:00:00Z)"),
                )
            })
            .ok()
    };
    let (from, to) = (time(&file.from, "from", c), time(&file.to, "to", c));
    let (from, to) = (from?, to?);
    if to <= from {
        c.problem(at, "the freeze ends (to) before it begins (from)");
        return None;
    }
    Some(Period { from, to, reason })
}

fn check_recurring(
    file: &FreezeFile,
    at: &Location,
    reason: String,
    c: &mut Checker,
) -> Option<Recurring> {
    let rrule = required(&file.rrule, "rrule", at, c).and_then(|r| {
        r.value
            .parse()
            .map_err(|why| c.problem(&r.referenced, format!("rrule: {why}")))
            .ok()
    });
    let start = required(&file.start, "start", at, c).and_then(|s| {
        s.value
            .trim()
            .parse::<jiff::civil::Time>()
            .map_err(|_| {
                c.problem(
                    &s.referenced,
                    format!(
                        "start `{}` is not a time of day (write 16:00)",
                        s.value.trim()
                    ),
                )
            })
            .ok()
    });
    let duration = required(&file.duration, "duration", at, c).and_then(|d| {
        match crate::model::units::parse_clock_duration(&d.value) {
            Ok(length) if length.is_positive() && length <= MAX_OCCURRENCE => Some(length),
            Ok(_) => {
                c.problem(&d.referenced, "a freeze's duration is from 1s to 31 days");
                None
            }
            Err(why) => {
                c.problem(&d.referenced, format!("duration: {why}"));
                None
            }
        }
    });
    let tz = file.tz.as_ref().and_then(|tz| {
        crate::model::freeze::time_zone(tz.value.trim())
            .map(|_| tz.value.trim().to_string())
            .map_err(|why| c.problem(&tz.referenced, format!("tz: {why}")))
            .ok()
    });
    let zone_ok = file.tz.is_none() || tz.is_some();
    Some(Recurring {
        rrule: rrule?,
        start: start?,
        duration: duration?,
        reason,
        tz,
    })
    .filter(|_| zone_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freezes_are_periods_or_recurring_rules_and_each_problem_points_at_its_line() {
        let text = r#"
freezes:
  - { from: 2026-12-24T00:00:00Z, to: 2027-01-02T00:00:00Z, reason: holidays }
  - rrule: FREQ=WEEKLY;BYDAY=FR
    start: "16:00"
    duration: 64h
    reason: weekend
    tz: Europe/Berlin
"#;
        let checked = parse(text).unwrap();
        assert_eq!(checked.freezes.len(), 2);
        let weekend =
            crate::model::freeze::frozen(&checked.freezes, "2026-12-04T15:30:00Z".parse().unwrap())
                .unwrap();
        assert_eq!(
            weekend.to_string(),
            "frozen: weekend (Europe/Berlin) — reopens Mon 2026-12-07 07:00 UTC"
        );
        let bad = r#"
freezes:
  - { rrule: FREQ=MONTHLY, start: "16:00", duration: 2h, reason: month end }
  - { rrule: FREQ=DAILY, start: "25:00", duration: 2h, reason: nightly, tz: Mars/Olympus }
  - { from: 2026-12-24T00:00:00Z, to: 2026-12-01T00:00:00Z, reason: backwards }
  - { from: 2026-12-24T00:00:00Z, rrule: FREQ=DAILY, reason: both }
  - { rrule: FREQ=WEEKLY;BYDAY=SA, start: "00:00", duration: 40d, reason: "" }
"#;
        let problems = parse(bad).unwrap_err();
        let said: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        let has =
            |line: u32, start: &str| said.iter().any(|(l, m)| *l == line && m.starts_with(start));
        assert!(has(3, "rrule: FREQ=MONTHLY is not supported"), "{said:?}");
        assert!(has(4, "start `25:00` is not a time of day"), "{said:?}");
        assert!(has(4, "tz: `Mars/Olympus` is not a time zone"), "{said:?}");
        assert!(has(5, "the freeze ends (to) before it begins"), "{said:?}");
        assert!(has(6, "a freeze is either a period"), "{said:?}");
        assert!(has(7, "a freeze needs a reason"), "{said:?}");
        assert!(
            has(7, "duration: `40d` is not a duration") || has(7, "duration: `40d` is longer"),
            "{said:?}"
        );
    }

    #[test]
    fn a_partial_config_names_only_what_it_changes() {
        let checked = parse("operator: dave\nkeys:\n  rollback: ctrl+r\n").unwrap();
        assert_eq!(checked.file.operator.unwrap().value, "dave");
        assert!(checked.file.backend.is_none());
        assert!(parse("# nothing yet\n").is_ok());
    }

    #[test]
    fn bad_configs_point_at_the_problem() {
        let problems =
            parse("keys:\n  rollbak: R\n  advance: hyper+a\nframe_cap: 0\n").unwrap_err();
        let lines: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].1.starts_with("`rollbak` is not an action"),
            "{lines:?}"
        );
        assert!(lines[1].1.contains("not a modifier"), "{lines:?}");
        assert_eq!(lines[2].0, 4);
        let problems = parse("keys:\n  rollback: s\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "`s` is sign_off's key; rebind sign_off too, or choose another key"
        );
        assert!(
            parse("keys:\n  rollback: s\n  sign_off: S\n").is_ok(),
            "a whole swap is fine"
        );
        assert!(parse("keys:\n  help: ctrl+c\n").is_err());
        let problems = parse("keys:\n  advance: n\n  rollback: n\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "`n` is bound to both advance and rollback"
        );
        let problems = parse("backend:\n  pipeline: { kind: ftp, url: x }\n").unwrap_err();
        assert!(problems[0].message.contains("ftp"), "{problems:?}");
        let problems = parse(
            "theme: purple\nbackend:\n  pipeline: { kind: sim, scenario: nope, speed: -5 }\n",
        )
        .unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems[0].line, 1);
        assert!(
            messages[0].starts_with("no theme named \"purple\""),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("speed -5 is out of range")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("no scenario named \"nope\"")),
            "{messages:?}"
        );
    }

    #[test]
    fn a_prometheus_source_puts_each_cohorts_labels_into_its_queries() {
        use crate::model::{Cohort, Series};
        let text = r#"
backend:
  pipeline: { kind: sim }
  metrics:
    kind: prometheus
    url: http://127.0.0.1:9090
    token_env: PROM_TOKEN
    step: 5s
    range: 10m
    selectors:
      canary: 'cohort="canary"'
      stable: 'cohort="stable"'
    error_rate: 'sum(rate(http_requests_total{$selector,code=~"5.."}[1m])) / sum(rate(http_requests_total{$selector}[1m]))'
    latency_p95:
      canary: 'histogram_quantile(0.95, sum by (le) (rate(latency_bucket{track="canary"}[1m])))'
"#;
        let m = parse(text).unwrap().metrics.unwrap();
        assert_eq!(m.step, std::time::Duration::from_secs(5));
        assert_eq!(m.range, std::time::Duration::from_secs(600));
        assert_eq!(m.token, Some(TokenFrom::Env("PROM_TOKEN".into())));
        let asked: Vec<(Series, Cohort, &str)> = m
            .queries
            .iter()
            .map(|q| (q.series, q.cohort, q.promql.as_str()))
            .collect();
        assert_eq!(asked.len(), 3);
        assert_eq!(
            asked[0],
            (
                Series::ErrorRate,
                Cohort::Canary,
                r#"sum(rate(http_requests_total{cohort="canary",code=~"5.."}[1m])) / sum(rate(http_requests_total{cohort="canary"}[1m]))"#
            )
        );
        assert_eq!(asked[1].1, Cohort::Stable);
        assert_eq!(
            (asked[2].0, asked[2].1),
            (Series::LatencyP95, Cohort::Canary)
        );
    }

    #[test]
    fn a_server_url_with_a_password_or_an_operator_no_person_can_be_is_refused() {
        let said = |text: &str| -> Vec<String> {
            parse(text)
                .err()
                .unwrap_or_else(|| panic!("accepted: {text}"))
                .into_iter()
                .map(|p| p.message)
                .collect()
        };
        for url in [
            "http://u:pw@127.0.0.1:7878",
            "https://root@shipdeck.example",
            "http://127.0.0.1:7878/?token=hunter2",
            "http://127.0.0.1:7878/#hunter2",
        ] {
            let messages = said(&format!(
                "backend:\n  pipeline: {{ kind: http, url: '{url}' }}\n"
            ));
            assert!(
                messages
                    .iter()
                    .any(|m| (m.contains("user or password") || m.contains("query"))
                        && m.contains("token")),
                "{url}: {messages:?}"
            );
            assert!(
                messages
                    .iter()
                    .all(|m| !m.contains("hunter2") && !m.contains(":pw")),
                "{messages:?}"
            );
        }
        let messages = said("backend:\n  pipeline: { kind: http, url: 'ftp://x' }\n");
        assert!(messages[0].contains("not an http://"), "{messages:?}");
        assert!(
            parse("backend:\n  pipeline: { kind: http, url: 'http://127.0.0.1:7878' }\n").is_ok()
        );
        for name in ["rule:ErrorRateRollback", "Shipdeck", "dave\\u200b"] {
            let messages = said(&format!("operator: \"{name}\"\n"));
            assert!(
                messages[0].starts_with("the operator's name: "),
                "{name}: {messages:?}"
            );
        }
    }

    #[test]
    fn an_inbox_takes_bare_names_or_maps_and_refuses_what_cannot_work() {
        let text = r#"
inbox:
  servers: [ "https://deploy.example:7070", {url: "http://127.0.0.1:7070", token_file: ~/t} ]
  rollouts: [ "payments", {namespace: checkout, context: prod} ]
  github: [ "octo-org/hello-world", {repo: octo-org/api, workflow: deploy.yml, api_url: "https://ghe.example/api/v3"} ]
"#;
        let inbox = parse(text).unwrap().file.inbox.unwrap();
        let urls: Vec<&str> = inbox.servers.iter().map(|s| s.value.url()).collect();
        assert_eq!(
            urls,
            ["https://deploy.example:7070", "http://127.0.0.1:7070"]
        );
        assert_eq!(inbox.servers[1].value.token_file(), Some("~/t"));
        assert_eq!(inbox.rollouts[1].value.namespace(), "checkout");
        assert_eq!(inbox.rollouts[1].value.context(), Some("prod"));
        assert_eq!(inbox.github[1].value.options().0, Some("deploy.yml"));
        let text = r#"
inbox:
  servers: [ "http://deploy.example:7070", "http://me:pw@127.0.0.1:1" ]
  rollouts: [ "Payments" ]
  github: [ "octo-org", {repo: a/b, api_url: "http://ghe.example"} ]
"#;
        let problems = parse(text).unwrap_err();
        let said: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(said.len(), 5, "{said:?}");
        assert!(
            said[0].1.contains("unencrypted") && said[0].0 == 3,
            "{said:?}"
        );
        assert!(said[1].1.contains("user or password"), "{said:?}");
        assert!(!said[1].1.contains("pw"), "{said:?}");
        assert!(
            said[2].1.contains("not a Kubernetes name") && said[2].0 == 4,
            "{said:?}"
        );
        assert!(said[3].1.contains("OWNER/REPO"), "{said:?}");
        assert!(said[4].1.contains("api_url") && said[4].0 == 5, "{said:?}");
        let problems = parse("inbox:\n  server: []\n").unwrap_err();
        assert!(problems[0].message.contains("server"), "{problems:?}");
    }

    #[test]
    fn a_prometheus_source_that_cannot_work_is_refused_with_where() {
        let problems = |metrics: &str| -> Vec<String> {
            let text = format!("backend:\n  pipeline: {{ kind: sim }}\n  metrics: {metrics}\n");
            parse(&text)
                .err()
                .unwrap_or_else(|| panic!("accepted: {metrics}"))
                .into_iter()
                .map(|p| {
                    assert_eq!(p.line, 3, "{p:?}");
                    p.message
                })
                .collect()
        };
        let said = problems("{ kind: prometheus, url: 'ftp://x', error_rate: 'up{$selector}' }");
        assert!(
            said.iter().any(|m| m.contains("not an http://")),
            "{said:?}"
        );
        assert!(
            said.iter().any(|m| m.contains("no `selectors`")),
            "{said:?}"
        );
        let said =
            problems("{ kind: prometheus, url: 'http://me:secret@x', error_rate: { canary: up } }");
        assert!(said[0].contains("user or password"), "{said:?}");
        let said = problems("{ kind: prometheus, url: 'http://x', error_rate: 'up' }");
        assert!(said[0].contains("needs $selector"), "{said:?}");
        let said = problems("{ kind: prometheus, url: 'http://x' }");
        assert!(said[0].contains("asks nothing"), "{said:?}");
        let said = problems(
            "{ kind: prometheus, url: 'http://x', step: 0s, token_file: a, token_env: B, error_rate: { canary: up, beta: up } }",
        );
        assert!(
            said.iter().any(|m| m.contains("step must be at least 1s")),
            "{said:?}"
        );
        assert!(said.iter().any(|m| m.contains("not both")), "{said:?}");
        assert!(
            said.iter().any(|m| m.contains("unknown cohort `beta`")),
            "{said:?}"
        );
        // A misspelt series is an unknown key, not a silent nothing.
        let text = "backend:\n  pipeline: { kind: sim }\n  metrics: { kind: prometheus, url: 'http://x', eror_rate: up }\n";
        assert!(parse(text).unwrap_err()[0].message.contains("eror_rate"));
    }
}
