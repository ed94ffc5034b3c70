//! The plugin's patches for each order against each Rollout state that
//! changes them, compared with the Go literals byte for byte.

use k8s_openapi::api::apps::v1::ReplicaSet;
use serde_json::{Value, json};

use super::*;

const BASE: &str = "/apis/argoproj.io/v1alpha1/namespaces/payments/rollouts/demo";

fn rollout(spec: Value, status: Value) -> Rollout {
    let mut obj = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo", "namespace": "payments", "uid": "uid-demo"},
        "spec": {
            "selector": {"matchLabels": {"app": "demo"}},
            "template": template("demo:2", None),
            "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 40}, {"analysis": {"templates": [{"templateName": "ok"}]}}, {"setWeight": 80}
            ]}}
        },
        "status": status,
    });
    merge(&mut obj["spec"], spec);
    serde_json::from_value(obj).expect("a Rollout")
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        for (k, v) in b {
            a.insert(k, v);
        }
    }
}

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "demo"});
    if let Some(h) = hash {
        labels["rollouts-pod-template-hash"] = json!(h);
    }
    json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}})
}

/// (path, body) of each patch, and of each fallback.
fn sent(order: Order, r: &Rollout) -> Vec<(String, String, Option<String>)> {
    patches(&order, r)
        .expect("a plan")
        .into_iter()
        .map(|p| {
            assert_eq!(p.request.method, "PATCH");
            assert_eq!(p.request.content_type, MERGE_PATCH);
            if let Some(f) = &p.fallback {
                assert_eq!(f.path, BASE, "a fallback goes to the main resource");
            }
            (p.request.path, p.request.body, p.fallback.map(|f| f.body))
        })
        .collect()
}

fn status_path() -> String {
    format!("{BASE}/status")
}

#[test]
fn promote_inconclusive_step_analysis_clears_the_controller_pause_and_moves_on() {
    let r = rollout(
        json!({}),
        json!({
            "currentStepIndex": 3,
            "controllerPause": true,
            "pauseConditions": [{"reason": "InconclusiveAnalysisRun", "startTime": "2026-12-01T10:00:00Z"}],
            "canary": {"currentStepAnalysisRunStatus": {"name": "demo-3", "status": "Inconclusive"}}
        }),
    );
    assert_eq!(
        sent(Order::Promote, &r),
        [(
            status_path(),
            r#"{"status":{"pauseConditions":null, "controllerPause":false, "currentStepIndex":4}}"#
                .to_owned(),
            Some(r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#.to_owned())
        )]
    );
    assert_eq!(
        note(
            &Order::Promote,
            Some(&r),
            &patches(&Order::Promote, &r).unwrap()
        ),
        "promoted: inconclusive analysis accepted at step 4/5"
    );
}

#[test]
fn promote_at_a_pause_step_clears_the_pause_conditions_only() {
    let r = rollout(
        json!({}),
        json!({"currentStepIndex": 1, "pauseConditions": [{"reason": "CanaryPauseStep"}], "controllerPause": true}),
    );
    assert_eq!(
        sent(Order::Promote, &r),
        [(
            status_path(),
            r#"{"status":{"pauseConditions":null}}"#.to_owned(),
            Some(r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#.to_owned())
        )]
    );
}

#[test]
fn promote_mid_step_skips_the_step() {
    let r = rollout(json!({}), json!({"currentStepIndex": 1}));
    assert_eq!(
        sent(Order::Promote, &r),
        [(
            status_path(),
            r#"{"status":{"pauseConditions":null, "currentStepIndex":2}}"#.to_owned(),
            Some(r#"{"spec":{"paused":false},"status":{"pauseConditions":null, "currentStepIndex":2}}"#.to_owned())
        )]
    );
    let plan = patches(&Order::Promote, &r).unwrap();
    assert_eq!(
        note(&Order::Promote, Some(&r), &plan),
        "promoted: skipped step 2/5"
    );
    // No currentStepIndex yet is step 0; past the last step stays there.
    let fresh = rollout(json!({}), json!({}));
    assert!(
        sent(Order::Promote, &fresh)[0]
            .1
            .ends_with(r#""currentStepIndex":1}}"#)
    );
    let done = rollout(json!({}), json!({"currentStepIndex": 5}));
    assert!(
        sent(Order::Promote, &done)[0]
            .1
            .ends_with(r#""currentStepIndex":5}}"#)
    );
}

#[test]
fn promote_of_a_paused_spec_unpauses_after_the_status_patch() {
    let r = rollout(json!({"paused": true}), json!({"currentStepIndex": 2}));
    let plan = sent(Order::Promote, &r);
    assert_eq!(plan.len(), 2);
    assert_eq!(plan[0].0, status_path(), "status first");
    assert_eq!(
        plan[0].1,
        r#"{"status":{"pauseConditions":null, "currentStepIndex":3}}"#
    );
    assert_eq!(
        (plan[1].0.as_str(), plan[1].1.as_str()),
        (BASE, r#"{"spec":{"paused":false}}"#)
    );
    assert_eq!(plan[1].2, None);
}

#[test]
fn promote_of_blue_green() {
    let bg = json!({"strategy": {"blueGreen": {"activeService": "demo-active"}}});
    let paused = rollout(
        bg.clone(),
        json!({"pauseConditions": [{"reason": "BlueGreenPause"}]}),
    );
    assert_eq!(
        sent(Order::Promote, &paused),
        [(
            status_path(),
            r#"{"status":{"pauseConditions":null}}"#.to_owned(),
            Some(r#"{"spec":{"paused":false},"status":{"pauseConditions":null}}"#.to_owned())
        )]
    );
    // Not paused for anything: nothing to send, and the note says so.
    let idle = rollout(bg.clone(), json!({}));
    assert!(patches(&Order::Promote, &idle).unwrap().is_empty());
    assert_eq!(
        note(&Order::Promote, Some(&idle), &[]),
        "promoted: nothing to do (not paused)"
    );
    let spec_paused = rollout(merge_into(bg, json!({"paused": true})), json!({}));
    assert_eq!(
        sent(Order::Promote, &spec_paused),
        [(
            BASE.to_owned(),
            r#"{"spec":{"paused":false}}"#.to_owned(),
            None
        )]
    );
}

fn merge_into(mut a: Value, b: Value) -> Value {
    merge(&mut a, b);
    a
}

#[test]
fn full_promotion_depends_on_the_pod_hash_and_the_pause() {
    let moving = rollout(
        json!({"paused": true}),
        json!({"currentPodHash": "new", "stableRS": "old"}),
    );
    assert_eq!(
        sent(Order::PromoteFull, &moving),
        [
            (
                status_path(),
                r#"{"status":{"promoteFull":true}}"#.to_owned(),
                Some(r#"{"spec":{"paused":false},"status":{"promoteFull":true}}"#.to_owned())
            ),
            (
                BASE.to_owned(),
                r#"{"spec":{"paused":false}}"#.to_owned(),
                None
            ),
        ]
    );
    let stable = rollout(
        json!({}),
        json!({"currentPodHash": "same", "stableRS": "same"}),
    );
    assert!(patches(&Order::PromoteFull, &stable).unwrap().is_empty());
}

#[test]
fn pause_resume_abort_and_retry_are_fixed_bodies() {
    let r = rollout(
        json!({"paused": true}),
        json!({"pauseConditions": [{"reason": "CanaryPauseStep"}]}),
    );
    assert_eq!(
        sent(Order::Pause, &r),
        [(
            BASE.to_owned(),
            r#"{"spec":{"paused":true}}"#.to_owned(),
            None
        )]
    );
    // Resume is the unpause alone: the pause condition stays, no step skipped.
    assert_eq!(
        sent(Order::Resume, &r),
        [(
            BASE.to_owned(),
            r#"{"spec":{"paused":false}}"#.to_owned(),
            None
        )]
    );
    let abort = r#"{"status":{"abort":true}}"#.to_owned();
    assert_eq!(
        sent(Order::Abort, &r),
        [(status_path(), abort.clone(), Some(abort))]
    );
    let retry = r#"{"status":{"abort":false}}"#.to_owned();
    assert_eq!(
        sent(Order::Retry, &r),
        [(status_path(), retry.clone(), Some(retry))]
    );
}

fn rs(name: &str, revision: u64, owner: &str, image: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "namespace": "payments",
            "annotations": {"rollout.argoproj.io/revision": revision.to_string()},
            "labels": {"app": "demo", "rollouts-pod-template-hash": name},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo", "uid": owner, "controller": true}]
        },
        "spec": {"selector": {"matchLabels": {"app": "demo"}}, "template": template(image, Some(name))}
    }))
    .expect("a ReplicaSet")
}

#[test]
fn undo_goes_back_to_the_second_newest_owned_revision() {
    let r = rollout(json!({}), json!({}));
    let rss = [
        rs("aaa", 1, "uid-demo", "demo:0"),
        rs("ccc", 3, "uid-demo", "demo:2"),
        rs("bbb", 2, "uid-demo", "demo:1"),
        rs("zzz", 9, "someone-else", "demo:9"),
    ];
    let patch = undo_patch(&r, &rss, None).unwrap().expect("a patch");
    assert_eq!(patch.request.path, BASE);
    assert_eq!(patch.request.content_type, JSON_PATCH);
    let body: Value = serde_json::from_str(&patch.request.body).unwrap();
    assert_eq!(
        body,
        json!([{"op": "replace", "path": "/spec/template", "value": template("demo:1", None)}]),
        "revision 2's template without its hash label"
    );
    let to_one = undo_patch(&r, &rss, Some(1)).unwrap().unwrap();
    assert!(to_one.request.body.contains("demo:0"));
    assert_eq!(
        undo_patch(&r, &rss, Some(7)).unwrap_err(),
        "unable to find specified revision 7 in history"
    );
}

#[test]
fn undo_without_a_previous_revision_or_to_the_same_template() {
    let r = rollout(json!({}), json!({}));
    assert_eq!(
        undo_patch(&r, &[rs("ccc", 3, "uid-demo", "demo:2")], None).unwrap_err(),
        r#"no revision found for rollout "demo""#
    );
    // Revision 2 already has the Rollout's template (demo:2): nothing to send.
    let same = [
        rs("ccc", 3, "uid-demo", "demo:3"),
        rs("bbb", 2, "uid-demo", "demo:2"),
    ];
    assert_eq!(undo_patch(&r, &same, None).unwrap(), None);
}

#[test]
fn selectors_are_written_as_kubernetes_writes_them() {
    let sel: LabelSelector = serde_json::from_value(json!({
        "matchLabels": {"tier": "web", "app": "demo"},
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["b", "a"]},
            {"key": "canary", "operator": "DoesNotExist"}
        ]
    }))
    .unwrap();
    assert_eq!(
        selector_string(&sel),
        "app=demo,!canary,tier=web,zone in (a,b)"
    );
}
