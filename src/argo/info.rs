//! A Rollout read as `kubectl argo rollouts get` and `list` read it: its
//! phase and message, the canary step and weights, what it waits on a
//! person for, and its revisions with their ReplicaSets, pods and
//! AnalysisRuns. Pure functions of the objects the cluster returned; text
//! from the cluster stays raw here (bounded in length) and is cleaned where
//! it is shown.

use std::fmt;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::types::{
    AnalysisRun, CanaryStep, Metric, MetricResult, Pause, Rollout, int_value, pause_reason,
    pod_template_hash, revision,
};

/// The annotation a Rollout with a `workloadRef` carries: the generation of
/// the Deployment it takes its template from.
const WORKLOAD_GENERATION: &str = "rollout.argoproj.io/workload-generation";
/// Measurements kept per metric, newest.
pub const MAX_MEASUREMENTS: usize = 200;
/// Bytes kept of a message or a measured value from the cluster.
pub const MAX_TEXT: usize = 1024;

/// A Rollout's phase, as the plugin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Healthy,
    Degraded,
    Progressing,
    Paused,
}

impl Phase {
    /// The plugin's word for the phase.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Healthy => "Healthy",
            Phase::Degraded => "Degraded",
            Phase::Progressing => "Progressing",
            Phase::Paused => "Paused",
        }
    }

    /// The plugin's icon for the phase.
    pub fn icon(self) -> char {
        match self {
            Phase::Healthy => '✔',
            Phase::Degraded => '✖',
            Phase::Progressing => '◌',
            Phase::Paused => '॥',
        }
    }

    /// A phase as the controller writes it in `status.phase`.
    pub fn parse(text: &str) -> Option<Phase> {
        [
            Phase::Healthy,
            Phase::Degraded,
            Phase::Progressing,
            Phase::Paused,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The phase and the message beside it (`Message:` in `get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutState {
    pub phase: Phase,
    pub message: String,
}

fn state(phase: Phase, message: impl Into<String>) -> RolloutState {
    RolloutState {
        phase,
        message: message.into(),
    }
}

/// The phase and message the plugin shows: the controller's own when it
/// has caught up with the spec, else worked out from the status as a
/// pre-1.0 controller's Rollout is.
pub fn phase(r: &Rollout) -> RolloutState {
    if !generation_observed(r) {
        return state(
            Phase::Progressing,
            "waiting for rollout spec update to be observed",
        );
    }
    if r.status.controller_pause && r.status.pause_conditions.is_empty() {
        return state(Phase::Progressing, "waiting for rollout to unpause");
    }
    if r.spec.workload_ref.is_some() && !workload_generation_observed(r) {
        return state(
            Phase::Progressing,
            "waiting for rollout spec update to be observed for the reference workload",
        );
    }
    match r.status.phase.as_deref() {
        Some(p) if !p.is_empty() => {
            let message = bounded(r.status.message.as_deref().unwrap_or(""));
            match Phase::parse(p) {
                Some(phase) => state(phase, message),
                // A phase this version does not know: still moving, and
                // the operator sees the controller's own word.
                None => state(Phase::Progressing, format!("{}: {message}", bounded(p))),
            }
        }
        _ => calculate(r),
    }
}

/// `status.observedGeneration` is a string; one that is not a number, or
/// is above the generation, counts as observed.
fn generation_observed(r: &Rollout) -> bool {
    let Some(observed) = r
        .status
        .observed_generation
        .as_deref()
        .and_then(|g| g.parse::<i64>().ok())
    else {
        return true;
    };
    observed >= r.metadata.generation.unwrap_or(0)
}

fn workload_generation_observed(r: &Rollout) -> bool {
    let wanted = r
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(WORKLOAD_GENERATION))
        .and_then(|g| g.trim().parse::<i32>().ok());
    let Some(wanted) = wanted else { return true };
    match r
        .status
        .workload_observed_generation
        .as_deref()
        .and_then(|g| g.parse::<i32>().ok())
    {
        Some(observed) => observed == wanted,
        None => true,
    }
}

/// The phase worked out from spec and status, in the plugin's order.
fn calculate(r: &Rollout) -> RolloutState {
    let status = &r.status;
    for cond in &status.conditions {
        if cond.type_ == "InvalidSpec" {
            return state(
                Phase::Degraded,
                format!("InvalidSpec: {}", bounded(&cond.message)),
            );
        }
        if cond.reason == "RolloutAborted" || cond.reason == "ProgressDeadlineExceeded" {
            let message = format!("{}: {}", cond.reason, bounded(&cond.message));
            return state(Phase::Degraded, message);
        }
    }
    if r.spec.paused {
        return state(Phase::Paused, "manually paused");
    }
    if let Some(cond) = status.pause_conditions.first() {
        return state(Phase::Paused, bounded(&cond.reason));
    }
    if r.spec.restart_at.is_some() && r.spec.restart_at != status.restarted_at {
        return state(Phase::Progressing, "rollout is restarting");
    }
    if status.updated_replicas < r.spec.desired() {
        return state(Phase::Progressing, "more replicas need to be updated");
    }
    if status.available_replicas < status.updated_replicas {
        return state(
            Phase::Progressing,
            "updated replicas are still becoming available",
        );
    }
    strategy_phase(r).unwrap_or_else(|| state(Phase::Healthy, ""))
}

/// What keeps a Rollout whose replicas are all updated from Healthy.
fn strategy_phase(r: &Rollout) -> Option<RolloutState> {
    let status = &r.status;
    let promoted = status.stable_rs.is_some() && status.stable_rs == status.current_pod_hash;
    if let Some(bg) = &r.spec.strategy.blue_green {
        let active = status.blue_green.active_selector.as_deref();
        if active.is_none_or(str::is_empty) || active != status.current_pod_hash.as_deref() {
            return Some(state(Phase::Progressing, "active service cutover pending"));
        }
        if !promoted {
            let run = &status.blue_green.post_promotion_analysis_run_status;
            let done = run.as_ref().is_some_and(|run| completed(&run.status));
            if bg.post_promotion_analysis.is_some() && !done {
                return Some(state(
                    Phase::Progressing,
                    "waiting for analysis to complete",
                ));
            }
            return Some(state(
                Phase::Progressing,
                "waiting for post-promotion verification to complete",
            ));
        }
    } else if let Some(canary) = &r.spec.strategy.canary {
        if canary.traffic_routing.is_none() && status.replicas > status.updated_replicas {
            return Some(state(
                Phase::Progressing,
                "old replicas are pending termination",
            ));
        }
        if !promoted {
            return Some(state(
                Phase::Progressing,
                "waiting for all steps to complete",
            ));
        }
    }
    None
}

/// An analysis phase that will not change any more.
fn completed(phase: &str) -> bool {
    matches!(phase, "Successful" | "Failed" | "Error" | "Inconclusive")
}

/// The index of the canary step the Rollout is at, when there is one (none
/// before the first update, past the last step, or for blue-green).
pub fn current_step(r: &Rollout) -> Option<usize> {
    let steps = &r.spec.strategy.canary.as_ref()?.steps;
    let index = usize::try_from(r.status.current_step_index.unwrap_or(0)).ok()?;
    (index < steps.len()).then_some(index)
}

/// `"<currentStepIndex>/<steps>"` as `get` and `list` show it (0-based).
pub fn step_text(r: &Rollout) -> Option<String> {
    let steps = &r.spec.strategy.canary.as_ref()?.steps;
    let index = r.status.current_step_index?;
    (!steps.is_empty()).then(|| format!("{index}/{}", steps.len()))
}

/// The weight that counts as all traffic (`maxTrafficWeight`, else 100).
pub fn max_weight(r: &Rollout) -> i32 {
    r.spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .and_then(|t| t.max_traffic_weight)
        .unwrap_or(100)
}

/// The weight the steps ask for (`SetWeight`): 0 once aborted, all of it
/// past the last step, else the last `setWeight` at or before the step.
pub fn set_weight(r: &Rollout) -> i32 {
    if r.status.abort {
        return 0;
    }
    let (Some(index), Some(canary)) = (current_step(r), r.spec.strategy.canary.as_ref()) else {
        return max_weight(r);
    };
    canary.steps[..=index]
        .iter()
        .rev()
        .find_map(|s| s.set_weight)
        .unwrap_or(0)
}

/// The weight the canary has (`ActualWeight` in `get`): the router's when
/// traffic is routed, else the canary ReplicaSet's share of the available
/// pods. A blue-green Rollout has it all on one side: the whole weight.
pub fn actual_weight(r: &Rollout, replicasets: &[ReplicaSet]) -> i32 {
    let Some(canary) = &r.spec.strategy.canary else {
        return max_weight(r);
    };
    if current_step(r).is_none() {
        return max_weight(r);
    }
    let available = r.status.available_replicas;
    if available <= 0 {
        return 0;
    }
    if canary.traffic_routing.is_some() {
        return match &r.status.canary.weights {
            Some(w) => w.canary.weight,
            None => set_weight(r),
        };
    }
    let canary_available = owned(r, replicasets)
        .find(|rs| roles_of(r, &rs.metadata).contains(&"canary"))
        .map_or(0, |rs| rs_status(rs).1);
    let share = i64::from(canary_available) * i64::from(max_weight(r)) / i64::from(available);
    i32::try_from(share).unwrap_or(i32::MAX)
}

/// `Canary`, `BlueGreen` or `unknown`.
pub fn strategy(r: &Rollout) -> &'static str {
    if r.spec.strategy.canary.is_some() {
        "Canary"
    } else if r.spec.strategy.blue_green.is_some() {
        "BlueGreen"
    } else {
        "unknown"
    }
}

/// A canary step as the plugin labels it.
pub fn step_label(step: &CanaryStep) -> String {
    if let Some(w) = step.set_weight {
        return format!("setWeight: {w}");
    }
    if let Some(pause) = &step.pause {
        return match &pause.duration {
            None => "pause".to_owned(),
            Some(IntOrString::Int(i)) => format!("pause: {i}"),
            Some(IntOrString::String(s)) => format!("pause: {}", bounded(s)),
        };
    }
    if step.experiment.is_some() {
        return "experiment".to_owned();
    }
    if step.analysis.is_some() {
        return "analysis".to_owned();
    }
    if let Some(scale) = &step.set_canary_scale {
        if let Some(w) = scale.weight {
            return format!("setCanaryScale{{weight: {w}}}");
        } else if scale.match_traffic_weight {
            return "setCanaryScale{matchTrafficWeight: true}".to_owned();
        } else if let Some(n) = scale.replicas {
            return format!("setCanaryScale{{replicas: {n}}}");
        }
    }
    if let Some(p) = &step.plugin {
        return format!("plugin: {}", bounded(&p.name));
    }
    if let Some(h) = &step.set_header_route {
        return format!("setHeaderRoute: {}", bounded(&h.name));
    }
    if let Some(m) = &step.set_mirror_route {
        return format!("setMirrorRoute: {}", bounded(&m.name));
    }
    "invalid".to_owned()
}

/// How long a pause step lasts, in seconds: `None` for a pause until
/// promoted; an integer is seconds, a string a number of seconds or a Go
/// duration (`"10s"`, `"1m30s"`), truncated to whole seconds.
pub fn pause_seconds(p: &Pause) -> Option<Result<i64, String>> {
    Some(match p.duration.as_ref()? {
        IntOrString::Int(i) => Ok(i64::from(*i)),
        IntOrString::String(s) => match s.parse::<i32>() {
            Ok(n) => Ok(i64::from(n)),
            Err(_) => go_duration_nanos(s)
                .map(|n| i64::try_from(n / 1_000_000_000).unwrap_or(0))
                .map_err(|e| format!("pause duration {:?} is not a duration: {e}", bounded(s))),
        },
    })
}

const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Go's `time.ParseDuration`, in nanoseconds (signed, within an i64).
fn go_duration_nanos(text: &str) -> Result<i128, String> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err("empty".to_owned());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let (nanos, after) = duration_term(rest)?;
        total = total.checked_add(nanos).ok_or("too long")?;
        rest = after;
    }
    if total > i64::MAX as u128 + u128::from(negative) {
        return Err("too long".to_owned());
    }
    let total = total as i128;
    Ok(if negative { -total } else { total })
}

/// One `<number><unit>` of a Go duration and what follows it.
fn duration_term(text: &str) -> Result<(u128, &str), String> {
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or("missing unit")?;
    let (number, rest) = text.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err("expected a number".to_owned());
    }
    let unit_end = rest
        .find(|c: char| c.is_ascii_digit() || c == '.')
        .unwrap_or(rest.len());
    let (unit, rest) = rest.split_at(unit_end);
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(|| format!("unknown unit {:?}", bounded(unit)))?;
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "too long")?
    };
    let mut nanos = whole.checked_mul(scale).ok_or("too long")?;
    let mut place = scale;
    for digit in fraction.bytes().take(30) {
        place /= 10;
        nanos = nanos.saturating_add(u128::from(digit - b'0') * place);
    }
    Ok((nanos, rest))
}

/// What a Rollout waits on a person for, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub reason: String,
    pub since: Option<Timestamp>,
}

/// What the Rollout waits on a person for: a manual pause, a pause step or
/// a blue-green pause without a duration, or an inconclusive analysis or
/// experiment. `None` when it is not paused, is aborted, or its pause ends
/// by itself.
pub fn waiting_on_person(r: &Rollout) -> Option<Wait> {
    if r.status.abort {
        return None;
    }
    if r.spec.paused {
        let since = r
            .status
            .pause_conditions
            .iter()
            .find_map(|c| c.start_time)
            .or_else(|| {
                r.status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "Paused")
                    .and_then(|c| c.last_transition_time)
            });
        return Some(Wait {
            reason: "manually paused — resume or abort".to_owned(),
            since,
        });
    }
    r.status.pause_conditions.iter().find_map(|cond| {
        let reason = pause_wait(r, &cond.reason)?;
        Some(Wait {
            reason,
            since: cond.start_time,
        })
    })
}

/// What a pause condition asks of a person, or `None` when it ends by
/// itself.
fn pause_wait(r: &Rollout, reason: &str) -> Option<String> {
    Some(match reason {
        pause_reason::CANARY_PAUSE_STEP => {
            let canary = r.spec.strategy.canary.as_ref()?;
            let step = &canary.steps[current_step(r)?];
            if step.pause.as_ref()?.duration.is_some() {
                return None;
            }
            "pause step — promote or abort".to_owned()
        }
        pause_reason::BLUE_GREEN_PAUSE => {
            let bg = r.spec.strategy.blue_green.as_ref();
            let timed = bg.is_some_and(|bg| {
                bg.auto_promotion_enabled != Some(false)
                    && bg.auto_promotion_seconds.is_some_and(|s| s > 0)
            });
            if timed {
                return None;
            }
            "preview ready — promote or abort".to_owned()
        }
        pause_reason::INCONCLUSIVE_ANALYSIS => {
            "analysis inconclusive — promote or abort".to_owned()
        }
        pause_reason::INCONCLUSIVE_EXPERIMENT => {
            "experiment inconclusive — promote or abort".to_owned()
        }
        other => format!("paused ({}) — promote or abort", bounded(other)),
    })
}

/// A ReplicaSet of a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSetInfo {
    pub name: String,
    /// `Healthy`, `Progressing`, `ReplicaFailure` or `ScaledDown`.
    pub health: &'static str,
    pub desired: i32,
    pub ready: i32,
    pub available: i32,
}

/// A pod of a revision's ReplicaSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    /// What `kubectl get pods` shows as STATUS (`Running`,
    /// `ImagePullBackOff`, `Init:0/1`, `Terminating`, …).
    pub status: String,
    /// `"<ready>/<containers>"`.
    pub ready: String,
    pub restarts: i32,
    pub created: Option<Timestamp>,
}

/// An AnalysisRun of a revision, with the sums the plugin shows
/// (`✔ 4,✖ 4,? 1,⚠ 1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisInfo {
    pub name: String,
    pub phase: String,
    pub message: String,
    pub successful: i32,
    pub failed: i32,
    pub inconclusive: i32,
    pub error: i32,
    pub metrics: Vec<MetricInfo>,
}

/// One metric of an AnalysisRun: its limits (Argo's defaults when unset)
/// and what was measured, newest last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricInfo {
    pub name: String,
    pub phase: String,
    pub message: String,
    pub count: i32,
    pub successful: i32,
    pub failed: i32,
    pub inconclusive: i32,
    pub error: i32,
    pub failure_limit: i64,
    pub inconclusive_limit: i64,
    pub consecutive_error_limit: i64,
    /// (when measured, value, phase), at most [`MAX_MEASUREMENTS`].
    pub values: Vec<(Option<Timestamp>, String, String)>,
}

/// One revision of a Rollout: its ReplicaSets, their pods, its
/// AnalysisRuns and the images its ReplicaSets run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub number: Option<u64>,
    pub hash: String,
    /// `stable`, `canary`, `active`, `preview`.
    pub roles: Vec<&'static str>,
    pub replicasets: Vec<ReplicaSetInfo>,
    pub pods: Vec<PodInfo>,
    pub analysis_runs: Vec<AnalysisInfo>,
    pub images: Vec<String>,
}

/// The Rollout's revisions, newest first (a revision without a number
/// last): the ReplicaSets and AnalysisRuns it owns (by ownerReferences
/// uid) grouped by their revision annotation, and the pods those
/// ReplicaSets own.
pub fn revisions(
    r: &Rollout,
    rss: &[ReplicaSet],
    pods: &[Pod],
    runs: &[AnalysisRun],
) -> Vec<Revision> {
    let mut out: Vec<Revision> = Vec::new();
    let mut owned_rss: Vec<&ReplicaSet> = owned(r, rss).collect();
    owned_rss.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for rs in owned_rss {
        let rev = entry(&mut out, revision(&rs.metadata), &rs.metadata);
        for role in roles_of(r, &rs.metadata) {
            if !rev.roles.contains(&role) {
                rev.roles.push(role);
            }
        }
        for image in template_images(rs) {
            if !rev.images.contains(&image) {
                rev.images.push(image);
            }
        }
        rev.replicasets.push(replicaset_info(rs));
        rev.pods.extend(pods_of(rs, pods));
    }
    let mut owned_runs: Vec<&AnalysisRun> = runs
        .iter()
        .filter(|run| owned_by(&run.metadata, r))
        .collect();
    owned_runs.sort_by(|a, b| {
        let created = |m: &ObjectMeta| m.creation_timestamp.as_ref().map(|t| t.0);
        created(&a.metadata)
            .cmp(&created(&b.metadata))
            .then_with(|| b.metadata.name.cmp(&a.metadata.name))
    });
    for run in owned_runs {
        let rev = entry(&mut out, revision(&run.metadata), &run.metadata);
        rev.analysis_runs.push(analysis_info(run));
    }
    out.sort_by(|a, b| match (a.number, b.number) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.hash.cmp(&b.hash),
    });
    out
}

/// The revision `number` in `out`, added when it is not there yet.
fn entry<'a>(
    out: &'a mut Vec<Revision>,
    number: Option<u64>,
    meta: &ObjectMeta,
) -> &'a mut Revision {
    let index = match out.iter().position(|rev| rev.number == number) {
        Some(i) => i,
        None => {
            out.push(Revision {
                number,
                hash: String::new(),
                roles: Vec::new(),
                replicasets: Vec::new(),
                pods: Vec::new(),
                analysis_runs: Vec::new(),
                images: Vec::new(),
            });
            out.len() - 1
        }
    };
    let rev = &mut out[index];
    if rev.hash.is_empty()
        && let Some(hash) = pod_template_hash(meta)
    {
        rev.hash = bounded(hash);
    }
    rev
}

/// The objects the Rollout owns, by ownerReferences uid (controller or
/// not, as the plugin joins them).
fn owned<'a>(r: &'a Rollout, rss: &'a [ReplicaSet]) -> impl Iterator<Item = &'a ReplicaSet> {
    rss.iter().filter(move |rs| owned_by(&rs.metadata, r))
}

fn owned_by(meta: &ObjectMeta, r: &Rollout) -> bool {
    let Some(uid) = r.metadata.uid.as_deref().filter(|u| !u.is_empty()) else {
        return false;
    };
    meta.owner_references.iter().flatten().any(|o| o.uid == uid)
}

/// What a ReplicaSet is to the Rollout, by its pod-template hash.
fn roles_of(r: &Rollout, meta: &ObjectMeta) -> Vec<&'static str> {
    let mut roles = Vec::new();
    let hash = pod_template_hash(meta).unwrap_or("");
    let status = &r.status;
    let stable = status.stable_rs.as_deref() == Some(hash);
    if r.spec.strategy.canary.is_some() {
        if stable {
            roles.push("stable");
        } else if status.current_pod_hash.as_deref() == Some(hash) {
            roles.push("canary");
        }
    }
    if r.spec.strategy.blue_green.is_some() {
        if stable {
            roles.push("stable");
        }
        if status.blue_green.active_selector.as_deref() == Some(hash) {
            roles.push("active");
        } else if status.blue_green.preview_selector.as_deref() == Some(hash) {
            roles.push("preview");
        }
    }
    roles
}

/// (status.replicas, available, ready) of a ReplicaSet.
fn rs_status(rs: &ReplicaSet) -> (i32, i32, i32) {
    rs.status.as_ref().map_or((0, 0, 0), |s| {
        (
            s.replicas,
            s.available_replicas.unwrap_or(0),
            s.ready_replicas.unwrap_or(0),
        )
    })
}

fn replicaset_info(rs: &ReplicaSet) -> ReplicaSetInfo {
    let (_, available, ready) = rs_status(rs);
    ReplicaSetInfo {
        name: bounded(rs.metadata.name.as_deref().unwrap_or("")),
        health: replicaset_health(rs),
        desired: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        ready,
        available,
    }
}

/// The plugin's health of a ReplicaSet, first match wins.
fn replicaset_health(rs: &ReplicaSet) -> &'static str {
    let wanted = rs.spec.as_ref().and_then(|s| s.replicas);
    let status = rs.status.as_ref();
    let observed = status.and_then(|s| s.observed_generation).unwrap_or(0);
    if rs.metadata.generation.unwrap_or(0) > observed {
        return "Progressing";
    }
    let failing = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "ReplicaFailure"))
        .is_some_and(|c| c.status == "True");
    if failing {
        return "ReplicaFailure";
    }
    if wanted.is_some_and(|n| rs_status(rs).1 < n) {
        return "Progressing";
    }
    if wanted == Some(0) {
        return "ScaledDown";
    }
    "Healthy"
}

fn template_images(rs: &ReplicaSet) -> Vec<String> {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .map(|s| {
            s.containers
                .iter()
                .filter_map(|c| c.image.as_deref())
                .map(bounded)
                .collect()
        })
        .unwrap_or_default()
}

/// The pods a ReplicaSet owns, oldest first, then by name.
fn pods_of(rs: &ReplicaSet, pods: &[Pod]) -> Vec<PodInfo> {
    let Some(uid) = rs.metadata.uid.as_deref().filter(|u| !u.is_empty()) else {
        return Vec::new();
    };
    let mut infos: Vec<PodInfo> = pods
        .iter()
        .filter(|p| {
            p.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid)
        })
        .map(pod_info)
        .collect();
    infos.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
    infos
}

fn pod_info(pod: &Pod) -> PodInfo {
    let containers = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let (status, ready, restarts) = pod_status(pod);
    PodInfo {
        name: bounded(pod.metadata.name.as_deref().unwrap_or("")),
        status: bounded(&status),
        ready: format!("{ready}/{containers}"),
        restarts,
        created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
    }
}

/// kubectl's STATUS of a pod, its ready containers and restarts.
fn pod_status(pod: &Pod) -> (String, usize, i32) {
    let status = pod.status.as_ref();
    let mut reason = status
        .and_then(|s| s.reason.clone().filter(|r| !r.is_empty()))
        .or_else(|| status.and_then(|s| s.phase.clone()))
        .unwrap_or_default();
    let (init_reason, init_restarts) = init_status(pod);
    let (mut ready, mut restarts) = (0, init_restarts);
    if let Some(init) = init_reason {
        reason = init;
    } else {
        restarts = 0;
        let mut running = false;
        let statuses = status.and_then(|s| s.container_statuses.as_deref());
        for c in statuses.unwrap_or_default().iter().rev() {
            restarts = restarts.saturating_add(c.restart_count);
            match container_reason(c) {
                Some(r) => reason = r,
                None if c.ready && c.state.as_ref().is_some_and(|s| s.running.is_some()) => {
                    running = true;
                    ready += 1;
                }
                None => {}
            }
        }
        if reason == "Completed" && running {
            reason = "Running".to_owned();
        }
    }
    if pod.metadata.deletion_timestamp.is_some() {
        let lost = status.and_then(|s| s.reason.as_deref()) == Some("NodeLost");
        reason = if lost { "Unknown" } else { "Terminating" }.to_owned();
    }
    (reason, ready, restarts)
}

/// A container's waiting or terminated reason, kubectl's way.
fn container_reason(c: &ContainerStatus) -> Option<String> {
    let state = c.state.as_ref()?;
    if let Some(r) = state.waiting.as_ref().and_then(|w| w.reason.as_ref())
        && !r.is_empty()
    {
        return Some(r.clone());
    }
    let t = state.terminated.as_ref()?;
    Some(match t.reason.as_deref() {
        Some(r) if !r.is_empty() => r.to_owned(),
        _ => match t.signal {
            Some(s) if s != 0 => format!("Signal:{s}"),
            _ => format!("ExitCode:{}", t.exit_code),
        },
    })
}

/// The reason an init container holds the pod up (`Init:…`), and the
/// restarts counted so far.
fn init_status(pod: &Pod) -> (Option<String>, i32) {
    let spec_inits = pod.spec.as_ref().and_then(|s| s.init_containers.as_deref());
    let spec_inits = spec_inits.unwrap_or_default();
    let sidecar = |name: &str| {
        spec_inits
            .iter()
            .any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"))
    };
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.init_container_statuses.as_deref());
    let mut restarts = 0i32;
    for (i, c) in statuses.unwrap_or_default().iter().enumerate() {
        restarts = restarts.saturating_add(c.restart_count);
        let state = c.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref());
        let reason = match (terminated, waiting) {
            (Some(t), _) if t.exit_code == 0 => continue,
            (Some(t), _) => match t.reason.as_deref() {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => match t.signal {
                    Some(s) if s != 0 => format!("Init:Signal:{s}"),
                    _ => format!("Init:ExitCode:{}", t.exit_code),
                },
            },
            _ if sidecar(&c.name) && c.started == Some(true) => {
                if c.ready {
                    continue;
                }
                return (None, restarts);
            }
            (None, Some(w)) if !w.is_empty() && w != "PodInitializing" => format!("Init:{w}"),
            _ => format!("Init:{i}/{}", spec_inits.len()),
        };
        return (Some(reason), restarts);
    }
    (None, restarts)
}

fn analysis_info(run: &AnalysisRun) -> AnalysisInfo {
    let status = &run.status;
    let mut info = AnalysisInfo {
        name: bounded(run.metadata.name.as_deref().unwrap_or("")),
        phase: bounded(status.phase.as_deref().unwrap_or("")),
        message: bounded(status.message.as_deref().unwrap_or("")),
        successful: 0,
        failed: 0,
        inconclusive: 0,
        error: 0,
        metrics: Vec::new(),
    };
    for result in &status.metric_results {
        info.successful = info.successful.saturating_add(result.successful);
        info.failed = info.failed.saturating_add(result.failed);
        info.inconclusive = info.inconclusive.saturating_add(result.inconclusive);
        info.error = info.error.saturating_add(result.error);
    }
    for metric in &run.spec.metrics {
        let result = status.metric_results.iter().find(|m| m.name == metric.name);
        info.metrics
            .push(metric_info(&metric.name, Some(metric), result));
    }
    for result in &status.metric_results {
        if !run.spec.metrics.iter().any(|m| m.name == result.name) {
            info.metrics
                .push(metric_info(&result.name, None, Some(result)));
        }
    }
    info
}

fn metric_info(name: &str, spec: Option<&Metric>, result: Option<&MetricResult>) -> MetricInfo {
    let limit = |f: fn(&Metric) -> &Option<IntOrString>, default: i64| {
        spec.and_then(|m| int_value(f(m))).unwrap_or(default)
    };
    let measurements = result.map_or(&[][..], |r| &r.measurements[..]);
    let skip = measurements.len().saturating_sub(MAX_MEASUREMENTS);
    MetricInfo {
        name: bounded(name),
        phase: bounded(result.map_or("", |r| &r.phase)),
        message: bounded(result.and_then(|r| r.message.as_deref()).unwrap_or("")),
        count: result.map_or(0, |r| r.count),
        successful: result.map_or(0, |r| r.successful),
        failed: result.map_or(0, |r| r.failed),
        inconclusive: result.map_or(0, |r| r.inconclusive),
        error: result.map_or(0, |r| r.error),
        failure_limit: limit(|m| &m.failure_limit, 0),
        inconclusive_limit: limit(|m| &m.inconclusive_limit, 0),
        consecutive_error_limit: limit(|m| &m.consecutive_error_limit, 4),
        values: measurements[skip..]
            .iter()
            .map(|m| {
                (
                    m.finished_at.or(m.started_at),
                    bounded(m.value.as_deref().unwrap_or("")),
                    bounded(&m.phase),
                )
            })
            .collect(),
    }
}

/// The images running now, each with what runs it (`canary`, `stable`,
/// `active`, `preview`), sorted by image: only ReplicaSets with pods
/// count, as in the plugin's `Images:` line.
pub fn images(r: &Rollout, rss: &[ReplicaSet]) -> Vec<(String, Vec<&'static str>)> {
    let mut out: Vec<(String, Vec<&'static str>)> = Vec::new();
    for rs in owned(r, rss).filter(|rs| rs_status(rs).0 > 0) {
        let roles = roles_of(r, &rs.metadata);
        for image in template_images(rs) {
            match out.iter_mut().find(|(i, _)| *i == image) {
                // Tags of one ReplicaSet keep their order; merged, sorted.
                Some((_, tags)) => {
                    for role in &roles {
                        if !tags.contains(role) {
                            tags.push(role);
                        }
                    }
                    tags.sort_unstable();
                }
                None => out.push((image, roles.clone())),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// At most [`MAX_TEXT`] bytes of `text`, cut at a character boundary.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
