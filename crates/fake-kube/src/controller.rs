//! A small controller, not Argo: after each PATCH/PUT of a Rollout it
//! writes status as a ≥1.0 Argo Rollouts controller would, closely enough
//! for tests and hand trials. Canary steps other than `setWeight` and
//! `pause` (analysis, experiment, routes, scale) complete at once;
//! replicas are always available; ReplicaSets and pods are not touched.
//!
//! - `observedGeneration` (a string), `phase`, `message` are always set;
//! - a changed `spec.template` is a new revision (step 0), unless it
//!   matches the stable ReplicaSet's template (a rollback: no steps);
//! - `setWeight` steps pass at once; a `pause: {}` step adds a
//!   `CanaryPauseStep` pause condition and `controllerPause`; clearing the
//!   pause conditions (promote) moves on to the next step; a timed pause
//!   ends after its duration times the time scale;
//! - `status.promoteFull` goes to the last step: Healthy, stableRS = the
//!   current pod hash; `spec.paused` is Paused "manually paused";
//! - `status.abort` is weight 0, Degraded, a Progressing condition
//!   `RolloutAborted` "Rollout aborted update to revision N", `abortedAt`;
//!   `abort: false` afterwards (retry) starts again at step 0.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::Shared;
use crate::store::{State, now_rfc3339};

const HASH_LABEL: &str = "rollouts-pod-template-hash";
const REVISION: &str = "rollout.argoproj.io/revision";

/// A timed pause the controller started and will end.
pub(crate) struct Timer {
    ns: String,
    name: String,
    step: i64,
    due: Instant,
}

/// Ends timed pauses when they are due.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    loop {
        interval.tick().await;
        let mut state = shared.lock();
        let now = Instant::now();
        let (due, waiting): (Vec<Timer>, Vec<Timer>) =
            state.timers.drain(..).partition(|t| t.due <= now);
        state.timers = waiting;
        if due.is_empty() || !state.controller {
            continue;
        }
        for timer in due {
            reconcile_stored(&mut state, &timer.ns, &timer.name, None, Some(timer.step));
        }
        drop(state);
        shared.notify();
    }
}

/// Called after a write to a Rollout; `old` is the object before it.
pub(crate) fn react(state: &mut State, ns: &str, name: &str, old: &Value) {
    reconcile_stored(state, ns, name, Some(old), None);
}

fn reconcile_stored(
    state: &mut State,
    ns: &str,
    name: &str,
    old: Option<&Value>,
    timer_step: Option<i64>,
) {
    let Some(def) = state.def_named("Rollout") else {
        return;
    };
    let Some(current) = state.get(&def, ns, name).cloned() else {
        return;
    };
    let template_changed = old.is_some_and(|o| {
        normalized(o.pointer("/spec/template")) != normalized(current.pointer("/spec/template"))
    });
    let known_hash = owned_rs_hash(state, ns, &current);
    let mut next = current.clone();
    let mut ctl = Reconcile {
        ro: &mut next,
        timer_step,
        pause_for: None,
    };
    ctl.revision(template_changed, known_hash);
    ctl.run();
    if let Some(seconds) = ctl.pause_for {
        let step = index(&next);
        let due = Instant::now() + Duration::from_secs_f64((seconds * state.time_scale).max(0.0));
        state.timers.retain(|t| !(t.ns == ns && t.name == name));
        state.timers.push(Timer {
            ns: ns.into(),
            name: name.into(),
            step,
            due,
        });
    }
    if next != current {
        state.store(&def, ns, name, next);
    }
}

struct Reconcile<'a> {
    ro: &'a mut Value,
    /// The step a due timer was set for.
    timer_step: Option<i64>,
    /// Seconds of a timed pause just started.
    pause_for: Option<f64>,
}

impl Reconcile<'_> {
    fn status(&mut self) -> &mut Map<String, Value> {
        let ro = self
            .ro
            .as_object_mut()
            .expect("a stored object is an object");
        let status = ro.entry("status").or_insert_with(|| json!({}));
        if !status.is_object() {
            *status = json!({});
        }
        status.as_object_mut().expect("made an object above")
    }

    fn get(&self, pointer: &str) -> Option<&Value> {
        self.ro.pointer(pointer)
    }

    fn text(&self, pointer: &str) -> String {
        self.get(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    }

    fn steps(&self) -> Vec<Value> {
        if self.get("/spec/strategy/blueGreen").is_some() {
            let auto = self
                .get("/spec/strategy/blueGreen/autoPromotionEnabled")
                .and_then(Value::as_bool);
            return if auto == Some(false) {
                vec![json!({"pause": {}})]
            } else {
                Vec::new()
            };
        }
        self.get("/spec/strategy/canary/steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// A new template is a new revision at step 0 (or, when it is the
    /// stable ReplicaSet's, a rollback that skips the steps).
    fn revision(&mut self, template_changed: bool, known_hash: Option<String>) {
        let hash = known_hash.unwrap_or_else(|| pod_hash(self.get("/spec/template")));
        let current = self.text("/status/currentPodHash");
        if current.is_empty() || template_changed && current != hash {
            let steps = self.steps().len() as i64;
            let stable = self.text("/status/stableRS");
            let status = self.status();
            status.insert("currentPodHash".into(), hash.clone().into());
            for field in [
                "abort",
                "abortedAt",
                "pauseConditions",
                "controllerPause",
                "promoteFull",
            ] {
                status.remove(field);
            }
            let done = stable.is_empty() || stable == hash;
            if stable.is_empty() {
                status.insert("stableRS".into(), hash.into());
            }
            status.insert(
                "currentStepIndex".into(),
                (if done { steps } else { 0 }).into(),
            );
            if !current.is_empty() {
                self.bump_revision();
            }
        }
    }

    fn bump_revision(&mut self) {
        let revision = self.text(&format!(
            "/metadata/annotations/{}",
            REVISION.replace('/', "~1")
        ));
        let next = revision.parse::<u64>().unwrap_or(1) + 1;
        let meta = crate::store::metadata_mut(self.ro);
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(map) = annotations.as_object_mut() {
            map.insert(REVISION.into(), next.to_string().into());
        }
    }

    fn run(&mut self) {
        let n = self.steps().len() as i64;
        let generation = self
            .get("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        self.status()
            .insert("observedGeneration".into(), generation.to_string().into());
        if self.get("/status/abort").and_then(Value::as_bool) == Some(true) {
            return self.aborted(n);
        }
        if self.get("/status/abortedAt").is_some() {
            self.retry();
        }
        if self.get("/status/promoteFull").and_then(Value::as_bool) == Some(true) {
            let status = self.status();
            for field in ["promoteFull", "pauseConditions", "controllerPause"] {
                status.remove(field);
            }
            status.insert("currentStepIndex".into(), n.into());
        }
        if self.get("/spec/paused").and_then(Value::as_bool) != Some(true) {
            self.step();
        }
        self.settle(n);
    }

    fn aborted(&mut self, n: i64) {
        let stable_is_current =
            self.text("/status/stableRS") == self.text("/status/currentPodHash");
        let revision = self.text(&format!(
            "/metadata/annotations/{}",
            REVISION.replace('/', "~1")
        ));
        let message = format!(
            "Rollout aborted update to revision {}",
            revision.parse::<u64>().unwrap_or(1)
        );
        if self.get("/status/abortedAt").is_none() {
            let status = self.status();
            status.insert("abortedAt".into(), now_rfc3339().into());
            status.insert(
                "currentStepIndex".into(),
                (if stable_is_current { n } else { 0 }).into(),
            );
            status.remove("pauseConditions");
            status.remove("controllerPause");
            self.set_condition("Progressing", "False", "RolloutAborted", &message);
        }
        let replicas = self
            .get("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        self.write_weights(0, replicas, 0);
        self.set_phase("Degraded", &format!("RolloutAborted: {message}"));
    }

    fn retry(&mut self) {
        let status = self.status();
        status.remove("abortedAt");
        status.remove("abort");
        status.insert("currentStepIndex".into(), 0.into());
        self.set_condition(
            "Progressing",
            "True",
            "RolloutRetry",
            "Retrying Rollout after abort",
        );
    }

    /// Walks the steps from the current one until a pause holds it.
    fn step(&mut self) {
        let steps = self.steps();
        let mut idx = index(self.ro);
        while let Some(step) = usize::try_from(idx).ok().and_then(|i| steps.get(i)) {
            let Some(pause) = step.get("pause") else {
                idx += 1;
                continue;
            };
            let conditions = self
                .get("/status/pauseConditions")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty());
            let controller_pause =
                self.get("/status/controllerPause").and_then(Value::as_bool) == Some(true);
            if conditions && self.timer_step != Some(idx) {
                break;
            }
            if conditions || controller_pause {
                self.status().remove("pauseConditions");
                self.status().remove("controllerPause");
                self.timer_step = None;
                idx += 1;
                continue;
            }
            let reason = if self.get("/spec/strategy/blueGreen").is_some() {
                "BlueGreenPause"
            } else {
                "CanaryPauseStep"
            };
            let condition = json!([{"reason": reason, "startTime": now_rfc3339()}]);
            self.status().insert("pauseConditions".into(), condition);
            self.status().insert("controllerPause".into(), true.into());
            self.pause_for = pause.get("duration").and_then(duration_seconds);
            break;
        }
        self.status().insert("currentStepIndex".into(), idx.into());
    }

    /// Weights, replicas, stableRS and the phase for where the steps are.
    fn settle(&mut self, n: i64) {
        let idx = index(self.ro);
        let replicas = self
            .get("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let done = idx >= n;
        if done {
            let hash = self.text("/status/currentPodHash");
            self.status().insert("stableRS".into(), hash.into());
        }
        let weight = if done {
            100
        } else {
            set_weight(&self.steps(), idx)
        };
        let updated = if done {
            replicas
        } else {
            (replicas * weight + 99) / 100
        };
        self.write_weights(if done { 0 } else { weight }, replicas, updated);
        if self.get("/spec/strategy/blueGreen").is_some() {
            self.status().remove("currentStepIndex");
            if done {
                let hash = self.text("/status/currentPodHash");
                self.status()
                    .insert("blueGreen".into(), json!({"activeSelector": hash}));
            }
        }
        let reason = self.text("/status/pauseConditions/0/reason");
        if self.get("/spec/paused").and_then(Value::as_bool) == Some(true) {
            self.set_phase("Paused", "manually paused");
        } else if !reason.is_empty() {
            self.set_phase("Paused", &reason);
        } else if done {
            self.set_phase("Healthy", "");
        } else {
            self.set_phase("Progressing", "more replicas need to be updated");
        }
    }

    fn write_weights(&mut self, canary: i64, replicas: i64, updated: i64) {
        let (current, stable) = (
            self.text("/status/currentPodHash"),
            self.text("/status/stableRS"),
        );
        let is_canary = self.get("/spec/strategy/canary").is_some();
        let status = self.status();
        if is_canary {
            let weights = json!({
                "canary": {"weight": canary, "podTemplateHash": current},
                "stable": {"weight": 100 - canary, "podTemplateHash": stable},
            });
            let canary_status = status.entry("canary").or_insert_with(|| json!({}));
            if let Some(map) = canary_status.as_object_mut() {
                map.insert("weights".into(), weights);
            }
        }
        for (field, value) in [
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", replicas),
            ("availableReplicas", replicas),
        ] {
            status.insert(field.into(), value.into());
        }
    }

    fn set_phase(&mut self, phase: &str, message: &str) {
        self.status().insert("phase".into(), phase.into());
        self.status().insert("message".into(), message.into());
    }

    fn set_condition(&mut self, kind: &str, status_value: &str, reason: &str, message: &str) {
        let now = now_rfc3339();
        let condition = json!({"type": kind, "status": status_value, "reason": reason, "message": message, "lastUpdateTime": now, "lastTransitionTime": now});
        let status = self.status();
        let conditions = status.entry("conditions").or_insert_with(|| json!([]));
        if let Some(list) = conditions.as_array_mut() {
            list.retain(|c| c.get("type").and_then(Value::as_str) != Some(kind));
            list.push(condition);
        } else {
            *conditions = json!([condition]);
        }
    }
}

fn index(ro: &Value) -> i64 {
    ro.pointer("/status/currentStepIndex")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// The last `setWeight` at or before `idx`, 0 if none.
fn set_weight(steps: &[Value], idx: i64) -> i64 {
    let end = usize::try_from(idx).map_or(0, |i| (i + 1).min(steps.len()));
    steps[..end]
        .iter()
        .rev()
        .find_map(|s| s.get("setWeight").and_then(Value::as_i64))
        .unwrap_or(0)
}

/// `10`, `"10"`, `"40s"`, `"5m"`, `"1h"`.
fn duration_seconds(value: &Value) -> Option<f64> {
    if let Some(n) = value.as_f64() {
        return Some(n);
    }
    let text = value.as_str()?.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let n: f64 = number.parse().ok()?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(n * scale)
}

/// A template as compared for undo: nulls, empty maps and lists, and the
/// pod-template-hash label dropped.
fn normalized(value: Option<&Value>) -> Value {
    fn clean(v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Object(map) => {
                let out: Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| k.as_str() != HASH_LABEL)
                    .filter_map(|(k, v)| clean(v).map(|v| (k.clone(), v)))
                    .collect();
                (!out.is_empty()).then_some(Value::Object(out))
            }
            Value::Array(items) => {
                let out: Vec<Value> = items
                    .iter()
                    .map(|i| clean(i).unwrap_or(Value::Null))
                    .collect();
                (!out.is_empty()).then_some(Value::Array(out))
            }
            other => Some(other.clone()),
        }
    }
    value.and_then(clean).unwrap_or(Value::Null)
}

/// The pod-template-hash of an owned ReplicaSet with this template.
fn owned_rs_hash(state: &State, ns: &str, ro: &Value) -> Option<String> {
    let uid = ro.pointer("/metadata/uid").and_then(Value::as_str)?;
    let template = normalized(ro.pointer("/spec/template"));
    state
        .objects
        .iter()
        .find_map(|((group, plural, rs_ns, _), rs)| {
            let owned = rs
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| {
                    refs.iter()
                        .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
                });
            let same = owned
                && group == "apps"
                && plural == "replicasets"
                && rs_ns == ns
                && normalized(rs.pointer("/spec/template")) == template;
            let label = format!("/metadata/labels/{HASH_LABEL}");
            same.then(|| {
                rs.pointer(&label)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .flatten()
        })
}

/// A stable 10-letter hash of a template, in Kubernetes' safe alphabet.
fn pod_hash(template: Option<&Value>) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = canonical(&normalized(template));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % ALPHABET.len() as u64) as usize] as char;
            h /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// JSON with keys sorted, whatever the map's own order.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{:?}:{}", k, canonical(&map[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}
