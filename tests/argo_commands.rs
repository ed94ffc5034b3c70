//! shipdeck's Rollout commands sent to the fake API server, asserting the
//! requests as the server recorded them: the plugin's methods, paths (no
//! query), patch types and bodies, its 404 fallback, a 403 as a sentence
//! and a 409 tried again.

use fake_kube::FakeKube;
use serde_json::{Value, json};
use shipdeck::argo::cluster::{Cluster, ClusterError, connect_from};
use shipdeck::argo::commands::{Order, send};
use shipdeck::argo::record::{LAST_ACTION, Recorder};
use shipdeck::argo::refusal::RefusalKind;
use shipdeck::model::names::Person;

const BASE: &str = "/apis/argoproj.io/v1alpha1/namespaces/payments/rollouts/demo";

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "demo"});
    if let Some(h) = hash {
        labels["rollouts-pod-template-hash"] = json!(h);
    }
    json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}})
}

fn rollout(paused: bool, status: Value) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo", "namespace": "payments", "uid": "uid-demo"},
        "spec": {
            "replicas": 4,
            "paused": paused,
            "selector": {"matchLabels": {"app": "demo"}},
            "template": template("demo:2", None),
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "1h"}}, {"setWeight": 80}]}}
        },
        "status": status
    })
}

struct Fixture {
    kube: FakeKube,
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

/// The fake with its controller off (nothing moves unless a test moves
/// it), `rollout` in payments, and a cluster found through its kubeconfig.
async fn fixture(rollout: Value) -> Fixture {
    let kube = FakeKube::start();
    kube.controller(false);
    kube.put(rollout);
    let dir = tempfile::tempdir().unwrap();
    let config = kube.kubeconfig(dir.path());
    let cluster = connect_from(&[config], None, Some("payments"))
        .await
        .expect("the fake is reachable");
    kube.clear_requests();
    Fixture {
        kube,
        cluster,
        _dir: dir,
    }
}

/// (method, path, query, content type, body) of each request.
fn recorded(kube: &FakeKube) -> Vec<(String, String, String, Option<String>, Value)> {
    kube.requests()
        .into_iter()
        .map(|r| {
            let body = r.body_json().unwrap_or(Value::Null);
            (r.method, r.path, r.query, r.content_type, body)
        })
        .collect()
}

fn get() -> (String, String, String, Option<String>, Value) {
    ("GET".into(), BASE.into(), String::new(), None, Value::Null)
}

fn merge_patch(path: &str, body: Value) -> (String, String, String, Option<String>, Value) {
    (
        "PATCH".into(),
        path.into(),
        String::new(),
        Some("application/merge-patch+json".into()),
        body,
    )
}

fn status() -> String {
    format!("{BASE}/status")
}

#[tokio::test]
async fn promote_reads_then_patches_status_then_spec() {
    let f = fixture(rollout(true, json!({"currentStepIndex": 2}))).await;
    let sent = send(&f.cluster, "demo", &Order::Promote)
        .await
        .expect("promoted");
    assert_eq!(
        recorded(&f.kube),
        [
            get(),
            merge_patch(
                &status(),
                json!({"status": {"pauseConditions": null, "currentStepIndex": 3}})
            ),
            merge_patch(BASE, json!({"spec": {"paused": false}})),
        ]
    );
    // Exactly the plugin's bytes, spaces included.
    let raw = f.kube.requests()[1].body.clone();
    assert_eq!(
        String::from_utf8(raw).unwrap(),
        r#"{"status":{"pauseConditions":null, "currentStepIndex":3}}"#
    );
    assert_eq!(sent.note, "promoted: skipped step 3/5");
    assert_eq!(
        sent.requests,
        [
            format!(
                r#"PATCH {BASE}/status {{"status":{{"pauseConditions":null, "currentStepIndex":3}}}}"#
            ),
            format!(r#"PATCH {BASE} {{"spec":{{"paused":false}}}}"#),
        ]
    );
    let stored = f.kube.get("Rollout", "payments", "demo").unwrap();
    assert_eq!(stored["status"]["currentStepIndex"], 3);
    assert_eq!(stored["spec"]["paused"], false);
    assert_eq!(
        sent.rollout.unwrap().metadata.uid.as_deref(),
        Some("uid-demo")
    );
    let agent = f.kube.requests()[0].user_agent.clone().unwrap();
    assert!(agent.starts_with("shipdeck/"), "{agent}");
}

#[tokio::test]
async fn full_promotion_and_a_pause_condition() {
    let f = fixture(rollout(
        false,
        json!({"currentPodHash": "new", "stableRS": "old"}),
    ))
    .await;
    let sent = send(&f.cluster, "demo", &Order::PromoteFull).await.unwrap();
    assert_eq!(
        recorded(&f.kube),
        [
            get(),
            merge_patch(&status(), json!({"status": {"promoteFull": true}}))
        ]
    );
    assert!(sent.note.starts_with("fully promoted"), "{}", sent.note);

    let f = fixture(rollout(
        false,
        json!({"currentStepIndex": 1, "pauseConditions": [{"reason": "CanaryPauseStep"}]}),
    ))
    .await;
    let sent = send(&f.cluster, "demo", &Order::Promote).await.unwrap();
    assert_eq!(
        recorded(&f.kube),
        [
            get(),
            merge_patch(&status(), json!({"status": {"pauseConditions": null}}))
        ]
    );
    assert_eq!(sent.note, "promoted: resumed the pause at step 2/5");
}

#[tokio::test]
async fn pause_resume_abort_and_retry_send_one_patch_without_reading() {
    let f = fixture(rollout(false, json!({"currentStepIndex": 1}))).await;
    for order in [Order::Pause, Order::Resume, Order::Abort, Order::Retry] {
        send(&f.cluster, "demo", &order)
            .await
            .unwrap_or_else(|r| panic!("{order:?}: {r}"));
    }
    assert_eq!(
        recorded(&f.kube),
        [
            merge_patch(BASE, json!({"spec": {"paused": true}})),
            merge_patch(BASE, json!({"spec": {"paused": false}})),
            merge_patch(&status(), json!({"status": {"abort": true}})),
            merge_patch(&status(), json!({"status": {"abort": false}})),
        ]
    );
    let stored = f.kube.get("Rollout", "payments", "demo").unwrap();
    assert_eq!(
        stored["status"]["currentStepIndex"], 1,
        "resume skipped no step"
    );
}

#[tokio::test]
async fn a_missing_status_subresource_falls_back_to_the_main_resource() {
    let f = fixture(rollout(true, json!({"currentStepIndex": 0}))).await;
    f.kube.fail_next("PATCH", "/demo/status", 404);
    let sent = send(&f.cluster, "demo", &Order::Promote)
        .await
        .expect("the fallback lands");
    let unified = json!({"spec": {"paused": false}, "status": {"pauseConditions": null, "currentStepIndex": 1}});
    assert_eq!(
        recorded(&f.kube),
        [
            get(),
            merge_patch(
                &status(),
                json!({"status": {"pauseConditions": null, "currentStepIndex": 1}})
            ),
            merge_patch(BASE, unified),
        ],
        "the unified patch replaces the spec patch"
    );
    assert_eq!(sent.requests.len(), 1);

    f.kube.clear_requests();
    f.kube.fail_next("PATCH", "/demo/status", 404);
    send(&f.cluster, "demo", &Order::Abort).await.unwrap();
    let abort = json!({"status": {"abort": true}});
    assert_eq!(
        recorded(&f.kube),
        [
            merge_patch(&status(), abort.clone()),
            merge_patch(BASE, abort)
        ]
    );
}

#[tokio::test]
async fn undo_lists_the_replica_sets_and_sends_a_json_patch() {
    let f = fixture(rollout(false, json!({}))).await;
    for (name, revision, image) in [
        ("aaa", 1, "demo:0"),
        ("bbb", 2, "demo:1"),
        ("ccc", 3, "demo:2"),
    ] {
        f.kube.put(json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name, "namespace": "payments",
                "labels": {"app": "demo", "rollouts-pod-template-hash": name},
                "annotations": {"rollout.argoproj.io/revision": revision.to_string()},
                "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "demo", "uid": "uid-demo", "controller": true}]
            },
            "spec": {"selector": {"matchLabels": {"app": "demo"}}, "template": template(image, Some(name))}
        }));
    }
    f.kube.clear_requests();
    let sent = send(&f.cluster, "demo", &Order::Undo { to_revision: None })
        .await
        .unwrap();
    let requests = f.kube.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", BASE)
    );
    assert_eq!(
        requests[1].path,
        "/apis/apps/v1/namespaces/payments/replicasets"
    );
    assert_eq!(
        requests[1].param("labelSelector").as_deref(),
        Some("app=demo")
    );
    assert_eq!(
        recorded(&f.kube)[2],
        (
            "PATCH".to_owned(),
            BASE.to_owned(),
            String::new(),
            Some("application/json-patch+json".to_owned()),
            json!([{"op": "replace", "path": "/spec/template", "value": template("demo:1", None)}])
        )
    );
    assert_eq!(sent.note, "undone: back to revision 2");
    let stored = f.kube.get("Rollout", "payments", "demo").unwrap();
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["image"],
        "demo:1"
    );

    // Now the template is revision 2's; going back to 2 again sends nothing.
    f.kube.clear_requests();
    let again = send(
        &f.cluster,
        "demo",
        &Order::Undo {
            to_revision: Some(2),
        },
    )
    .await
    .unwrap();
    assert!(again.requests.is_empty());
    assert_eq!(
        again.note,
        "skipped rollback (the template already matches revision 2)"
    );
    assert!(f.kube.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn a_forbidden_patch_is_one_sentence_naming_the_cause() {
    let f = fixture(rollout(false, json!({}))).await;
    f.kube.forbid("patch", "rollouts/status", "payments");
    let refusal = send(&f.cluster, "demo", &Order::Abort).await.unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::Forbidden);
    assert!(
        refusal.reason.starts_with(
            r#"forbidden: you may not patch rollouts/status in payments (the API server: User "alice" cannot patch resource "rollouts/status" in API group "argoproj.io" in the namespace "payments""#
        ),
        "{}",
        refusal.reason
    );
    assert_eq!(
        f.kube.requests().len(),
        1,
        "a 403 is not a 404: no fallback"
    );

    let gone = send(&f.cluster, "nothere", &Order::Promote)
        .await
        .unwrap_err();
    assert_eq!(
        gone.reason,
        "the Rollout payments/nothere is gone (not found)"
    );
}

#[tokio::test]
async fn a_conflict_is_read_again_and_retried() {
    let f = fixture(rollout(false, json!({"currentStepIndex": 1}))).await;
    f.kube.fail_next("PATCH", "/demo/status", 409);
    let sent = send(&f.cluster, "demo", &Order::Promote)
        .await
        .expect("landed on the second try");
    let skip = merge_patch(
        &status(),
        json!({"status": {"pauseConditions": null, "currentStepIndex": 2}}),
    );
    assert_eq!(recorded(&f.kube), [get(), skip.clone(), get(), skip]);
    assert_eq!(sent.requests.len(), 1);

    f.kube.clear_requests();
    for _ in 0..4 {
        f.kube.fail_next("PATCH", "/demo", 409);
    }
    let refusal = send(&f.cluster, "demo", &Order::Pause).await.unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::Conflict);
    assert_eq!(
        f.kube.requests().len(),
        4,
        "tried once and again three times"
    );
}

#[tokio::test]
async fn who_acted_is_recorded_as_an_event_and_an_annotation() {
    let f = fixture(rollout(false, json!({}))).await;
    let r = send(&f.cluster, "demo", &Order::Abort)
        .await
        .unwrap()
        .rollout
        .unwrap();
    f.kube.clear_requests();
    let dave = Person::new("dave").unwrap();
    let mut recorder = Recorder::new();
    assert_eq!(
        recorder
            .record(&f.cluster, &r, &dave, &Order::Abort, Some("errors up"))
            .await,
        None
    );
    let requests = f.kube.requests();
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/api/v1/namespaces/payments/events");
    let event = requests[0].body_json().unwrap();
    assert_eq!(event["involvedObject"]["uid"], "uid-demo");
    assert_eq!(event["involvedObject"]["kind"], "Rollout");
    assert_eq!(event["reason"], "ShipdeckAbort");
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["message"], "aborted by dave via shipdeck: errors up");
    assert_eq!(event["source"]["component"], "shipdeck");
    assert_eq!(event["count"], 1);
    let stored = f.kube.get("Rollout", "payments", "demo").unwrap();
    let last: Value = serde_json::from_str(
        stored["metadata"]["annotations"][LAST_ACTION]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            last["by"].as_str(),
            last["action"].as_str(),
            last["comment"].as_str()
        ),
        (Some("dave"), Some("abort"), Some("errors up"))
    );

    // Forbidden Events are said once, then no longer tried.
    f.kube.forbid("create", "events", "payments");
    let first = recorder
        .record(&f.cluster, &r, &dave, &Order::Pause, None)
        .await
        .expect("said once");
    assert!(first.starts_with("who acted was not recorded as an Event: forbidden: you may not create events in payments"), "{first}");
    f.kube.clear_requests();
    assert_eq!(
        recorder
            .record(&f.cluster, &r, &dave, &Order::Pause, None)
            .await,
        None
    );
    assert!(f.kube.requests().iter().all(|r| r.method == "PATCH"));
}

#[tokio::test]
async fn finding_the_cluster_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none");
    let err = connect_from(std::slice::from_ref(&missing), None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClusterError::NoKubeconfig { .. }));
    assert!(
        err.to_string().starts_with(&format!(
            "no kubeconfig found (looked in {})",
            missing.display()
        )),
        "{err}"
    );

    let kube = FakeKube::start();
    let config = kube.kubeconfig(dir.path());
    let err = connect_from(&[missing.clone(), config.clone()], Some("prod"), None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"context "prod" not found in the kubeconfig (contexts: fake)"#
    );
    let cluster = connect_from(&[missing, config], None, None).await.unwrap();
    assert_eq!(
        (
            cluster.namespace.as_str(),
            cluster.context.as_deref(),
            cluster.user.as_deref()
        ),
        ("default", Some("fake"), Some("alice"))
    );
    assert_eq!(cluster.server, kube.url());

    // A server that is gone: its URL and the cause.
    let url = kube.url().to_owned();
    let config = dir.path().join("kubeconfig");
    drop(kube);
    let err = connect_from(&[config], None, None).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot reach the API server at {url}: ")),
        "{err}"
    );
}

#[tokio::test]
async fn an_exec_plugin_that_fails_is_named_with_its_stderr() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [\"-c\", \"echo 'token expired: run login' >&2; exit 3\"]\n",
        kube.url()
    );
    std::fs::write(&path, text).unwrap();
    let err = connect_from(&[path], None, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the credential plugin sh -c echo 'token expired: run login' >&2; exit 3 failed: token expired: run login"
    );
}
