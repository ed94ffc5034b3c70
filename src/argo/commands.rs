//! The commands shipdeck sends a Rollout, request for request what
//! `kubectl argo rollouts` sends (its `promote`, `promote --full`, `pause`,
//! `abort`, `retry rollout` and `undo`): the same paths, patch types and
//! bodies, byte for byte, with no query string and no field manager.
//!
//! The plugin has no `resume`. shipdeck's resume sends promote's unpause
//! patch alone, `{"spec":{"paused":false}}`: it undoes a pause and does not
//! skip a step or clear a pause condition (promote does both).
//!
//! A pure layer works out the patches for a Rollout as it is ([`patches`],
//! [`undo_patch`]); [`send`] reads the Rollout, sends them and says what
//! happened.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use crate::argo::cluster::Cluster;
use crate::argo::refusal::{Asked, Refusal, RefusalKind, refusal_on};
use crate::argo::types::{POD_TEMPLATE_HASH, Rollout, controlled_by, revision};
use crate::model::text::clip;

/// A command for one Rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `promote`: past the current pause or step.
    Promote,
    /// `promote --full`: past every remaining step, pause and analysis.
    PromoteFull,
    Pause,
    /// Unpause only (promote's unpause patch); no step is skipped.
    Resume,
    Abort,
    /// `retry rollout`: leave the aborted state and try the update again.
    Retry,
    /// Back to a revision's pod template: the one before the newest when
    /// `to_revision` is `None`.
    Undo {
        to_revision: Option<u64>,
    },
}

impl Order {
    /// The word for the order, as the plugin's subcommand.
    pub fn word(&self) -> &'static str {
        match self {
            Order::Promote => "promote",
            Order::PromoteFull => "promote --full",
            Order::Pause => "pause",
            Order::Resume => "resume",
            Order::Abort => "abort",
            Order::Retry => "retry",
            Order::Undo { .. } => "undo",
        }
    }

    /// Whether the bodies depend on the Rollout's state, so that shipdeck
    /// reads it first (as the plugin does for promote and undo; pause,
    /// abort and retry send a fixed body without reading).
    pub fn reads_first(&self) -> bool {
        matches!(
            self,
            Order::Promote | Order::PromoteFull | Order::Undo { .. }
        )
    }
}

pub const MERGE_PATCH: &str = "application/merge-patch+json";
pub const JSON_PATCH: &str = "application/json-patch+json";

/// One HTTP request, as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET` or `PATCH`.
    pub method: &'static str,
    /// The path from the API server's root, without a query.
    pub path: String,
    pub content_type: &'static str,
    pub body: String,
}

impl Request {
    fn patch(path: String, content_type: &'static str, body: String) -> Request {
        Request {
            method: "PATCH",
            path,
            content_type,
            body,
        }
    }

    /// `PATCH /apis/…/status {"status":{"abort":true}}`, for the journal.
    pub fn line(&self) -> String {
        if self.body.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {} {}", self.method, self.path, self.body)
        }
    }
}

/// A patch to send and what to send instead when its path answers 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPatch {
    pub request: Request,
    /// For a patch of `/status`: sent in place of it and of every patch
    /// after it when `/status` is not found (Argo Rollouts before v0.10 had
    /// no status subresource; the plugin then sends one patch of the main
    /// resource with spec and status together).
    pub fallback: Option<Request>,
}

/// The API path of a Rollout.
pub fn rollout_path(namespace: &str, name: &str) -> String {
    format!("/apis/argoproj.io/v1alpha1/namespaces/{namespace}/rollouts/{name}")
}

// The plugin's bodies, spaces included (cmd/promote/promote.go,
// cmd/pause/pause.go, cmd/abort/abort.go, cmd/retry/retry.go).
const UNPAUSE: &str = r#"{"spec":{"paused":false}}"#;
const PAUSE: &str = r#"{"spec":{"paused":true}}"#;
const CLEAR_PAUSE_CONDITIONS: &str = r#"{"status":{"pauseConditions":null}}"#;
const UNPAUSE_AND_CLEAR: &str = r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#;
const PROMOTE_FULL: &str = r#"{"status":{"promoteFull":true}}"#;
const UNPAUSE_AND_PROMOTE_FULL: &str = r#"{"spec":{"paused":false},"status":{"promoteFull":true}}"#;
const ABORT: &str = r#"{"status":{"abort":true}}"#;
const RETRY: &str = r#"{"status":{"abort":false}}"#;

fn clear_and_controller_pause(step: i64) -> String {
    format!(
        r#"{{"status":{{"pauseConditions":null, "controllerPause":false, "currentStepIndex":{step}}}}}"#
    )
}

fn clear_with_step(step: i64) -> String {
    format!(r#"{{"status":{{"pauseConditions":null, "currentStepIndex":{step}}}}}"#)
}

fn unpause_and_clear_with_step(step: i64) -> String {
    format!(
        r#"{{"spec":{{"paused":false}},"status":{{"pauseConditions":null, "currentStepIndex":{step}}}}}"#
    )
}

/// The patches `order` sends to the Rollout `r` as it is, in order
/// (a status patch before a spec patch). Undo needs the ReplicaSets too:
/// see [`undo_patch`].
pub fn patches(order: &Order, r: &Rollout) -> Result<Vec<PlannedPatch>, String> {
    let (namespace, name) = names(r)?;
    plan(order, &rollout_path(namespace, name), Some(r))
}

fn names(r: &Rollout) -> Result<(&str, &str), String> {
    let name = r.metadata.name.as_deref().filter(|n| !n.is_empty());
    let namespace = r.metadata.namespace.as_deref().filter(|n| !n.is_empty());
    match (namespace, name) {
        (Some(ns), Some(name)) => Ok((ns, name)),
        _ => Err("the Rollout has no namespace or name".to_owned()),
    }
}

/// The patches for the Rollout at `base`; `r` is needed only by the
/// orders that [read first](Order::reads_first).
pub(crate) fn plan(
    order: &Order,
    base: &str,
    r: Option<&Rollout>,
) -> Result<Vec<PlannedPatch>, String> {
    let status = format!("{base}/status");
    let spec = |body: &str| PlannedPatch {
        request: Request::patch(base.to_owned(), MERGE_PATCH, body.to_owned()),
        fallback: None,
    };
    let on_status = |body: &str, unified: &str| PlannedPatch {
        request: Request::patch(status.clone(), MERGE_PATCH, body.to_owned()),
        fallback: Some(Request::patch(
            base.to_owned(),
            MERGE_PATCH,
            unified.to_owned(),
        )),
    };
    let needs = || r.ok_or_else(|| format!("{} needs the Rollout", order.word()));
    Ok(match order {
        Order::Pause => vec![spec(PAUSE)],
        Order::Resume => vec![spec(UNPAUSE)],
        Order::Abort => vec![on_status(ABORT, ABORT)],
        Order::Retry => vec![on_status(RETRY, RETRY)],
        Order::PromoteFull => {
            let (spec_body, status_body, unified) = full_bodies(needs()?);
            assemble(
                spec_body.map(spec),
                status_body.map(|b| on_status(b, unified)),
            )
        }
        Order::Promote => {
            let bodies = promote_bodies(needs()?);
            let status_patch = bodies
                .status
                .as_deref()
                .map(|b| on_status(b, &bodies.unified));
            assemble(bodies.spec.map(spec), status_patch)
        }
        Order::Undo { .. } => return Err("undo needs the Rollout's ReplicaSets".to_owned()),
    })
}

/// The status patch first, then the spec patch.
fn assemble(spec: Option<PlannedPatch>, status: Option<PlannedPatch>) -> Vec<PlannedPatch> {
    status.into_iter().chain(spec).collect()
}

/// `promote --full`: unpause when paused; promoteFull unless the current
/// pod hash is already the stable one.
fn full_bodies(r: &Rollout) -> (Option<&'static str>, Option<&'static str>, &'static str) {
    let spec = r.spec.paused.then_some(UNPAUSE);
    let current = r.status.current_pod_hash.as_deref().unwrap_or("");
    let stable = r.status.stable_rs.as_deref().unwrap_or("");
    let status = (current != stable).then_some(PROMOTE_FULL);
    (spec, status, UNPAUSE_AND_PROMOTE_FULL)
}

struct Bodies {
    spec: Option<&'static str>,
    status: Option<String>,
    unified: String,
}

/// `promote`, the first case that applies: an inconclusive step analysis
/// the controller paused for; a pause condition; a canary (mid analysis,
/// experiment or a spec-only pause), whose step is skipped; else unpause.
fn promote_bodies(r: &Rollout) -> Bodies {
    let mut bodies = Bodies {
        spec: r.spec.paused.then_some(UNPAUSE),
        status: None,
        unified: UNPAUSE_AND_CLEAR.to_owned(),
    };
    let paused_for = !r.status.pause_conditions.is_empty();
    if inconclusive(r) && paused_for && r.status.controller_pause {
        bodies.status = next_step(r).map(clear_and_controller_pause);
    } else if paused_for {
        bodies.status = Some(CLEAR_PAUSE_CONDITIONS.to_owned());
    } else if r.spec.strategy.canary.is_some()
        && let Some(step) = next_step(r)
    {
        bodies.status = Some(clear_with_step(step));
        bodies.unified = unpause_and_clear_with_step(step);
    }
    bodies
}

fn inconclusive(r: &Rollout) -> bool {
    r.spec.strategy.canary.is_some()
        && r.status
            .canary
            .current_step_analysis_run_status
            .as_ref()
            .is_some_and(|run| run.status == "Inconclusive")
}

/// The canary's current step index (0 when unset), `None` without steps.
pub fn current_step(r: &Rollout) -> Option<i64> {
    let canary = r.spec.strategy.canary.as_ref()?;
    if canary.steps.is_empty() {
        return None;
    }
    Some(i64::from(r.status.current_step_index.unwrap_or(0)))
}

/// The index after the current step, or the current one past the last.
fn next_step(r: &Rollout) -> Option<i64> {
    let steps = step_count(r);
    current_step(r).map(|i| if i < steps { i + 1 } else { i })
}

fn step_count(r: &Rollout) -> i64 {
    r.spec
        .strategy
        .canary
        .as_ref()
        .map_or(0, |c| i64::try_from(c.steps.len()).unwrap_or(i64::MAX))
}

/// The ReplicaSet `undo` goes back to: the one with `to_revision`, else the
/// second-newest revision, among the ReplicaSets the Rollout controls.
/// The errors are the plugin's.
pub fn undo_target<'a>(
    r: &Rollout,
    rss: &'a [ReplicaSet],
    to_revision: Option<u64>,
) -> Result<&'a ReplicaSet, String> {
    let uid = r.metadata.uid.as_deref().unwrap_or_default();
    let owned = rss.iter().filter(|rs| controlled_by(&rs.metadata, uid));
    // The plugin reads a missing revision annotation as revision 0.
    let mut numbered = owned.filter_map(|rs| Some((revision_or_zero(rs)?, rs)));
    if let Some(wanted) = to_revision.filter(|&n| n > 0) {
        return numbered
            .find(|(n, _)| *n == wanted)
            .map(|(_, rs)| rs)
            .ok_or_else(|| format!("unable to find specified revision {wanted} in history"));
    }
    // The plugin's walk: the newest revision seen and the one before it.
    let mut latest: Option<(u64, &ReplicaSet)> = None;
    let mut previous: Option<(u64, &ReplicaSet)> = None;
    for (n, rs) in numbered {
        if latest.is_none_or(|(l, _)| l < n) {
            previous = latest;
            latest = Some((n, rs));
        } else if previous.is_none_or(|(p, _)| p < n) {
            previous = Some((n, rs));
        }
    }
    previous.map(|(_, rs)| rs).ok_or_else(|| {
        format!(
            "no revision found for rollout {:?}",
            r.metadata.name.as_deref().unwrap_or("")
        )
    })
}

fn revision_or_zero(rs: &ReplicaSet) -> Option<u64> {
    let annotated = rs
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(crate::argo::types::REVISION));
    if annotated {
        revision(&rs.metadata)
    } else {
        Some(0)
    }
}

/// `undo`'s patch: a JSON patch replacing `/spec/template` with the target
/// revision's pod template (without its pod-template-hash label), sent to
/// the Rollout or, with `spec.workloadRef`, to the workload it points at.
/// `Ok(None)` when the Rollout's template already matches that revision.
pub fn undo_patch(
    r: &Rollout,
    rss: &[ReplicaSet],
    to_revision: Option<u64>,
) -> Result<Option<PlannedPatch>, String> {
    let (namespace, name) = names(r)?;
    undo_plan(r, rss, to_revision, namespace, name)
}

pub(crate) fn undo_plan(
    r: &Rollout,
    rss: &[ReplicaSet],
    to_revision: Option<u64>,
    namespace: &str,
    name: &str,
) -> Result<Option<PlannedPatch>, String> {
    let target = undo_target(r, rss, to_revision)?;
    let mut template = target
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    if matches_template(r, &template) {
        return Ok(None);
    }
    let value =
        serde_json::to_string(&template).map_err(|e| format!("failed restoring revision: {e}"))?;
    let body = format!(r#"[{{"op":"replace","path":"/spec/template","value":{value}}}]"#);
    let path = match &r.spec.workload_ref {
        None => rollout_path(namespace, name),
        Some(w) => workload_path(namespace, &w.kind, &w.name)?,
    };
    Ok(Some(PlannedPatch {
        request: Request::patch(path, JSON_PATCH, body),
        fallback: None,
    }))
}

fn workload_path(namespace: &str, kind: &str, name: &str) -> Result<String, String> {
    match kind {
        "Deployment" => Ok(format!(
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
        )),
        "ReplicaSet" => Ok(format!(
            "/apis/apps/v1/namespaces/{namespace}/replicasets/{name}"
        )),
        "PodTemplate" => Ok(format!(
            "/api/v1/namespaces/{namespace}/podtemplates/{name}"
        )),
        other => Err(format!("workload of type {other} is not supported")),
    }
}

/// Whether the Rollout's template is the ReplicaSet's, fields the Rollout
/// leaves unset not compared (apimachinery's `DeepDerivative`), the
/// pod-template-hash label ignored on both sides.
fn matches_template(
    r: &Rollout,
    rs_template: &k8s_openapi::api::core::v1::PodTemplateSpec,
) -> bool {
    let Some(ours) = &r.spec.template else {
        return false;
    };
    let mut ours = serde_json::to_value(ours).unwrap_or(Value::Null);
    if let Some(labels) = ours
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let theirs = serde_json::to_value(rs_template).unwrap_or(Value::Null);
    derives(&ours, &theirs)
}

/// `a` equals `b` where `a` sets anything (null, "" and empty collections
/// in `a` match whatever `b` has).
fn derives(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, _) => true,
        (Value::String(s), _) if s.is_empty() => true,
        (Value::Object(m), _) if m.is_empty() => true,
        (Value::Array(v), _) if v.is_empty() => true,
        (Value::Object(ma), Value::Object(mb)) => ma
            .iter()
            .all(|(k, va)| mb.get(k).is_some_and(|vb| derives(va, vb))),
        (Value::Array(va), Value::Array(vb)) => {
            va.len() == vb.len() && va.iter().zip(vb).all(|(x, y)| derives(x, y))
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A label selector as Kubernetes writes it in `labelSelector`: the
/// requirements sorted by key, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`,
/// `!k`, joined by commas.
pub fn selector_string(selector: &LabelSelector) -> String {
    let mut requirements: Vec<(String, String)> = Vec::new();
    for (key, value) in selector.match_labels.iter().flatten() {
        requirements.push((key.clone(), format!("{key}={value}")));
    }
    for expr in selector.match_expressions.iter().flatten() {
        let mut values = expr.values.clone().unwrap_or_default();
        values.sort();
        values.dedup();
        let key = &expr.key;
        let text = match expr.operator.as_str() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.clone(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        };
        requirements.push((key.clone(), text));
    }
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    requirements
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

/// What the order did to the Rollout as it was, in a few words:
/// `promoted: skipped step 2/5`.
pub fn note(order: &Order, r: Option<&Rollout>, planned: &[PlannedPatch]) -> String {
    match (order, r) {
        (Order::Promote, Some(r)) => promote_note(r, planned),
        (Order::PromoteFull, _) if planned.is_empty() => {
            "fully promoted: nothing to do (already the stable revision, not paused)".to_owned()
        }
        (Order::PromoteFull, _) => {
            "fully promoted: the remaining steps, pauses and analyses skipped".to_owned()
        }
        (Order::Promote, None) => "promoted".to_owned(),
        (Order::Pause, _) => "paused".to_owned(),
        (Order::Resume, _) => "resumed (unpaused; no step skipped)".to_owned(),
        (Order::Abort, _) => "aborted: traffic back to the stable revision".to_owned(),
        (Order::Retry, _) => "retried: the update starts again".to_owned(),
        (Order::Undo { .. }, _) => "undone".to_owned(),
    }
}

fn promote_note(r: &Rollout, planned: &[PlannedPatch]) -> String {
    if planned.is_empty() {
        return "promoted: nothing to do (not paused)".to_owned();
    }
    let steps = step_count(r);
    let step = current_step(r);
    let at = |i: i64| format!("{}/{steps}", (i + 1).min(steps));
    if !r.status.pause_conditions.is_empty() {
        if inconclusive(r) && r.status.controller_pause {
            return match step {
                Some(i) => format!("promoted: inconclusive analysis accepted at step {}", at(i)),
                None => "promoted: inconclusive analysis accepted".to_owned(),
            };
        }
        return match step {
            Some(i) if r.spec.strategy.canary.is_some() => {
                format!("promoted: resumed the pause at step {}", at(i))
            }
            _ => "promoted: resumed the pause".to_owned(),
        };
    }
    match step {
        Some(i) if i < steps => format!("promoted: skipped step {}", at(i)),
        Some(_) => "promoted: past the last step".to_owned(),
        None => "promoted: unpaused".to_owned(),
    }
}

/// What a command did, once the cluster took it.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// Each write the API server accepted, as [`Request::line`] writes it,
    /// in the order sent (a fallback after a 404 is there in place of the
    /// patch that was not found).
    pub requests: Vec<String>,
    /// `promoted: skipped step 2/5`.
    pub note: String,
    /// The Rollout as the last write (or the read) returned it: its uid is
    /// what [`crate::argo::record::record`] ties the Event to.
    pub rollout: Option<Rollout>,
}

/// How many times a write the server answered 409 is tried again.
pub const CONFLICT_RETRIES: usize = 3;

/// The plugin's Accept header (client-go's generated clientset).
const ACCEPT: &str = "application/json, */*";

/// Sends `order` to the Rollout `name` in the cluster's namespace, as the
/// plugin does: promote and undo read the Rollout first (undo lists its
/// ReplicaSets by the Rollout's selector too), then the status patch goes
/// before the spec patch, and a 404 from `/status` sends the plugin's
/// fallback to the main resource. A 409 is tried again up to
/// [`CONFLICT_RETRIES`] times: when nothing has landed yet, after a fresh
/// read (the bodies depend on the Rollout's state); when a first patch has
/// landed, only the rest (the spec patch is fixed, and working the bodies
/// out again would skip a second step).
pub async fn send(cluster: &Cluster, name: &str, order: &Order) -> Result<Sent, Refusal> {
    let mut sent = Sent::default();
    let mut prepared = prepare(cluster, name, order).await?;
    let mut todo = prepared.planned.clone();
    let mut conflicts = 0;
    loop {
        let landed = sent.requests.len();
        match deliver(cluster, &todo, &mut sent).await {
            Ok(()) => break,
            Err(stop) if is_conflict(&stop.err) && conflicts < CONFLICT_RETRIES => {
                conflicts += 1;
                if sent.requests.len() == landed && stop.at == 0 && order.reads_first() {
                    prepared = prepare(cluster, name, order).await?;
                    todo = prepared.planned.clone();
                } else {
                    todo.drain(..stop.at);
                }
            }
            Err(stop) => return Err(refuse_write(cluster, &stop.err, &stop.path)),
        }
    }
    sent.note = prepared.note;
    if sent.rollout.is_none() {
        sent.rollout = prepared.rollout;
    }
    Ok(sent)
}

/// The patches to send, what they will have done, and the Rollout read.
struct Prepared {
    planned: Vec<PlannedPatch>,
    note: String,
    rollout: Option<Rollout>,
}

async fn prepare(cluster: &Cluster, name: &str, order: &Order) -> Result<Prepared, Refusal> {
    let ns = cluster.namespace.as_str();
    let base = rollout_path(ns, name);
    let invalid = |why: String| Refusal::new(RefusalKind::Invalid, clip(&why, 300));
    let rollout = match order.reads_first() {
        true => Some(get_rollout(cluster, name).await?),
        false => None,
    };
    let (planned, note) = match (order, &rollout) {
        (Order::Undo { to_revision }, Some(r)) => {
            let rss = replica_sets(cluster, r).await?;
            let patch = undo_plan(r, &rss, *to_revision, ns, name).map_err(invalid)?;
            let back_to = undo_target(r, &rss, *to_revision)
                .ok()
                .and_then(|rs| revision(&rs.metadata));
            let back_to = back_to.map_or_else(
                || "the previous revision".to_owned(),
                |n| format!("revision {n}"),
            );
            match patch {
                Some(p) => (vec![p], format!("undone: back to {back_to}")),
                None => (
                    Vec::new(),
                    format!("skipped rollback (the template already matches {back_to})"),
                ),
            }
        }
        _ => {
            let planned = plan(order, &base, rollout.as_ref()).map_err(invalid)?;
            let note = note(order, rollout.as_ref(), &planned);
            (planned, note)
        }
    };
    Ok(Prepared {
        planned,
        note,
        rollout,
    })
}

async fn get_rollout(cluster: &Cluster, name: &str) -> Result<Rollout, Refusal> {
    let api: kube::Api<Rollout> = kube::Api::namespaced(cluster.client.clone(), &cluster.namespace);
    api.get(name).await.map_err(|e| {
        let asked = Asked {
            verb: "get",
            resource: "rollouts",
            namespace: &cluster.namespace,
            name,
        };
        refusal_on(cluster, &e, asked)
    })
}

/// The ReplicaSets the Rollout's selector picks (owned or not; undo keeps
/// the owned ones).
async fn replica_sets(cluster: &Cluster, r: &Rollout) -> Result<Vec<ReplicaSet>, Refusal> {
    let api: kube::Api<ReplicaSet> =
        kube::Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let selector = r
        .spec
        .selector
        .as_ref()
        .map(selector_string)
        .unwrap_or_default();
    let mut params = kube::api::ListParams::default();
    if !selector.is_empty() {
        params = params.labels(&selector);
    }
    match api.list(&params).await {
        Ok(list) => Ok(list.items),
        Err(e) => {
            let asked = Asked {
                verb: "list",
                resource: "replicasets",
                namespace: &cluster.namespace,
                name: "",
            };
            Err(refusal_on(cluster, &e, asked))
        }
    }
}

/// Where a plan stopped: the patch at `at` (or its fallback, at `path`)
/// failed with `err`.
struct Stop {
    at: usize,
    path: String,
    err: kube::Error,
}

async fn deliver(cluster: &Cluster, planned: &[PlannedPatch], sent: &mut Sent) -> Result<(), Stop> {
    for (at, patch) in planned.iter().enumerate() {
        let stop = |err, path: &str| Stop {
            at,
            path: path.to_owned(),
            err,
        };
        match write(cluster, &patch.request).await {
            Ok(text) => landed(sent, &patch.request, &text),
            Err(err) => match &patch.fallback {
                Some(fallback) if is_not_found(&err) => {
                    let text = write(cluster, fallback)
                        .await
                        .map_err(|e| stop(e, &fallback.path))?;
                    landed(sent, fallback, &text);
                    return Ok(());
                }
                _ => return Err(stop(err, &patch.request.path)),
            },
        }
    }
    Ok(())
}

fn landed(sent: &mut Sent, request: &Request, answer: &str) {
    sent.requests.push(request.line());
    if request.path.contains("/rollouts/")
        && let Ok(r) = serde_json::from_str::<Rollout>(answer)
    {
        sent.rollout = Some(r);
    }
}

/// One write, its body byte for byte as planned.
async fn write(cluster: &Cluster, request: &Request) -> Result<String, kube::Error> {
    let http = hyper::Request::builder()
        .method(request.method)
        .uri(request.path.as_str())
        .header(hyper::header::ACCEPT, ACCEPT)
        .header(hyper::header::CONTENT_TYPE, request.content_type)
        .body(request.body.clone().into_bytes())
        .map_err(kube::Error::HttpError)?;
    cluster.client.request_text(http).await
}

/// client-go's `IsNotFound`: the reason, or a 404 whatever the body.
fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 404 || s.reason == "NotFound")
}

fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.code == 409 || s.reason == "Conflict")
}

/// The refusal of a write to `path`, which names what it asked:
/// `…/namespaces/payments/rollouts/demo/status` is a patch of
/// `rollouts/status` on `payments/demo`.
fn refuse_write(cluster: &Cluster, err: &kube::Error, path: &str) -> Refusal {
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts
        .iter()
        .position(|p| *p == "namespaces")
        .unwrap_or(parts.len());
    let part = |i: usize| parts.get(at + i).copied().unwrap_or("");
    let resource = match part(4) {
        "" => part(2).to_owned(),
        sub => format!("{}/{sub}", part(2)),
    };
    let asked = Asked {
        verb: "patch",
        resource: &resource,
        namespace: part(1),
        name: part(3),
    };
    refusal_on(cluster, err, asked)
}

#[cfg(test)]
mod tests;
