//! The fake server driven by the real `kube` client, as shipdeck drives a
//! cluster.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

use fake_kube::FakeKube;
use futures_util::StreamExt;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use serde_json::{Value, json};

fn rollout(ns: &str, name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "app", "image": "demo:1"}]}},
            "strategy": {"canary": {"steps": [
                {"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "10s"}}, {"setWeight": 80}
            ]}}
        }
    })
}

async fn client_from(kubeconfig: &std::path::Path) -> kube::Client {
    let config = Kubeconfig::read_from(kubeconfig).expect("kubeconfig reads");
    let config = kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default())
        .await
        .expect("config");
    assert_eq!(config.default_namespace, "default");
    kube::Client::try_from(config).expect("client")
}

async fn rollouts(kube: &FakeKube, dir: &tempfile::TempDir, ns: &str) -> Api<DynamicObject> {
    let client = client_from(&kube.kubeconfig(dir.path())).await;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"));
    Api::namespaced_with(client, ns, &ar)
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn lists_page_by_limit_and_select_by_label() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    for (ns, name, app) in [
        ("payments", "a", "web"),
        ("payments", "b", "api"),
        ("payments", "c", "web"),
        ("other", "d", "web"),
    ] {
        kube.put(rollout(ns, name, app));
    }
    let api = rollouts(&kube, &dir, "payments").await;
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    let names = |l: &kube::core::ObjectList<DynamicObject>| {
        l.items
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["a", "b"]);
    let token = first.metadata.continue_.clone().unwrap();
    assert!(!token.is_empty());
    let rest = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(&rest), ["c"]);
    assert_eq!(rest.metadata.continue_.as_deref(), Some(""));
    assert_eq!(
        first.metadata.resource_version,
        Some(kube.resource_version().to_string())
    );
    let web = api
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(names(&web), ["a", "c"]);
    let all: Api<DynamicObject> = Api::all_with(api.clone().into_client(), &rollout_ar());
    assert_eq!(
        all.list(&ListParams::default().fields("metadata.name=d"))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn a_page_cap_splits_a_list_into_continued_pages() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c", "d", "e"] {
        kube.put(rollout("payments", name, "web"));
    }
    kube.page_cap(Some(2));
    let api = rollouts(&kube, &dir, "payments").await;
    let mut pages = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await.unwrap();
        pages.push(page.items.len());
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    assert_eq!(pages, [2, 2, 1]);
    kube.page_cap(None);
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        5
    );
}

#[tokio::test]
async fn the_first_watch_write_after_a_mark_is_the_change_written() {
    let kube = FakeKube::start();
    kube.controller(false);
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "a", "web"));
    let mut events = spawn_watcher(rollouts(&kube, &dir, "payments").await);
    next_events(&mut events, 3).await;
    kube.mark_watch_writes();
    assert_eq!(kube.first_watch_write(), None);
    let before = std::time::Instant::now();
    image(&kube, "a", "demo:2");
    assert_eq!(next_events(&mut events, 1).await, ["Apply a demo:2"]);
    let written = kube.first_watch_write().expect("the change was written");
    assert!(written >= before && written <= std::time::Instant::now());
}

fn rollout_ar() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"))
}

/// Events as `kind name image` strings, for comparing sequences.
fn describe(event: &watcher::Event<DynamicObject>) -> String {
    let line = |kind: &str, o: &DynamicObject| {
        let image = o
            .data
            .pointer("/spec/template/spec/containers/0/image")
            .and_then(Value::as_str)
            .unwrap_or("");
        format!(
            "{kind} {} {image}",
            o.metadata.name.clone().unwrap_or_default()
        )
    };
    match event {
        watcher::Event::Init => "Init".into(),
        watcher::Event::InitApply(o) => line("InitApply", o),
        watcher::Event::InitDone => "InitDone".into(),
        watcher::Event::Apply(o) => line("Apply", o),
        watcher::Event::Delete(o) => line("Delete", o),
    }
}

/// The watcher runs in its own task (a watcher only moves when polled),
/// sending each event described as a string.
type Events = tokio::sync::mpsc::UnboundedReceiver<String>;

fn spawn_watcher(api: Api<DynamicObject>) -> Events {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        while let Some(event) = stream.next().await {
            // A failed attempt is retried by the watcher itself.
            if let Ok(event) = event
                && tx.send(describe(&event)).is_err()
            {
                return;
            }
        }
    });
    rx
}

async fn next_events(events: &mut Events, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
            Ok(Some(e)) => out.push(e),
            other => panic!("watch ended or stalled after {out:?}: {other:?}"),
        }
    }
    out
}

async fn assert_quiet(events: &mut Events) {
    let more = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
    assert!(more.is_err(), "unexpected event: {more:?}");
}

fn image(kube: &FakeKube, name: &str, image: &str) {
    let mut obj = kube.get("Rollout", "payments", name).unwrap();
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = image.into();
    kube.put(obj);
}

async fn wait_for_watches(kube: &FakeKube, n: usize) -> Vec<fake_kube::Request> {
    for _ in 0..200 {
        let watches: Vec<_> = kube
            .requests()
            .into_iter()
            .filter(|r| r.param("watch").is_some())
            .collect();
        if watches.len() >= n {
            return watches;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} watch requests");
}

#[tokio::test]
async fn watcher_sees_changes_and_resumes_after_dropped_streams_without_loss_or_doubles() {
    let kube = FakeKube::start();
    kube.controller(false);
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "demo", "demo"));
    let api = rollouts(&kube, &dir, "payments").await;
    let mut events = spawn_watcher(api);
    assert_eq!(
        next_events(&mut events, 3).await,
        ["Init", "InitApply demo demo:1", "InitDone"]
    );
    image(&kube, "demo", "demo:2");
    assert_eq!(next_events(&mut events, 1).await, ["Apply demo demo:2"]);
    let seen_rv = kube.resource_version();
    kube.drop_watches();
    image(&kube, "demo", "demo:3");
    kube.put(rollout("payments", "second", "x"));
    kube.delete("Rollout", "payments", "second");
    let after = next_events(&mut events, 3).await;
    assert_eq!(
        after,
        [
            "Apply demo demo:3",
            "Apply second demo:1",
            "Delete second demo:1"
        ]
    );
    assert_quiet(&mut events).await;
    let watches = wait_for_watches(&kube, 2).await;
    assert_eq!(
        watches[1].param("resourceVersion"),
        Some(seen_rv.to_string())
    );
    assert_eq!(
        watches[0].param("allowWatchBookmarks").as_deref(),
        Some("true")
    );
    let lists = kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.param("watch").is_none())
        .count();
    assert_eq!(lists, 1, "resuming must not re-list");
}

#[tokio::test]
async fn watcher_relists_after_compaction() {
    let kube = FakeKube::start();
    kube.controller(false);
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "demo", "demo"));
    let api = rollouts(&kube, &dir, "payments").await;
    let mut events = spawn_watcher(api);
    assert_eq!(
        next_events(&mut events, 3).await,
        ["Init", "InitApply demo demo:1", "InitDone"]
    );
    wait_for_watches(&kube, 1).await;
    kube.compact();
    kube.drop_watches();
    assert_eq!(
        next_events(&mut events, 3).await,
        ["Init", "InitApply demo demo:1", "InitDone"]
    );
    let lists = kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.param("watch").is_none())
        .count();
    assert_eq!(lists, 2);
}

#[tokio::test]
async fn bookmarks_move_the_watchers_resource_version_on() {
    let kube = FakeKube::start();
    kube.controller(false);
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "demo", "demo"));
    let api = rollouts(&kube, &dir, "payments").await;
    let mut events = spawn_watcher(api);
    assert_eq!(
        next_events(&mut events, 3).await,
        ["Init", "InitApply demo demo:1", "InitDone"]
    );
    let listed = kube.resource_version();
    wait_for_watches(&kube, 1).await;
    kube.put(rollout("elsewhere", "other", "x"));
    kube.bookmark();
    assert_quiet(&mut events).await;
    kube.drop_watches();
    let watches = wait_for_watches(&kube, 2).await;
    let resumed = watches[1].param("resourceVersion").unwrap();
    assert_ne!(resumed, listed.to_string());
    assert_eq!(resumed, kube.resource_version().to_string());
}

#[tokio::test]
async fn status_merge_patch_lands_only_status_and_the_main_resource_ignores_it() {
    let kube = FakeKube::start();
    kube.controller(false);
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "demo", "demo"));
    let api = rollouts(&kube, &dir, "payments").await;
    let both = json!({"spec": {"paused": true}, "status": {"abort": true}});
    let after = api
        .patch_status("demo", &PatchParams::default(), &Patch::Merge(&both))
        .await
        .unwrap();
    assert_eq!(after.data.pointer("/status/abort"), Some(&json!(true)));
    assert_eq!(after.data.pointer("/spec/paused"), None);
    assert_eq!(after.metadata.generation, Some(1));
    let request = kube.requests().pop().unwrap();
    assert_eq!(
        request.path,
        "/apis/argoproj.io/v1alpha1/namespaces/payments/rollouts/demo/status"
    );
    assert_eq!(request.query, "");
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let spec = json!({"spec": {"paused": true}, "status": {"abort": false}});
    let after = api
        .patch("demo", &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .unwrap();
    assert_eq!(after.data.pointer("/spec/paused"), Some(&json!(true)));
    assert_eq!(after.data.pointer("/status/abort"), Some(&json!(true)));
    assert_eq!(after.metadata.generation, Some(2));
    let again = api
        .patch("demo", &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .unwrap();
    assert_eq!(
        again.metadata.resource_version, after.metadata.resource_version,
        "a no-op patch writes nothing"
    );
}

#[tokio::test]
async fn denials_and_failures_come_back_as_api_errors_worded_like_the_apiserver() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "demo", "demo"));
    let api = rollouts(&kube, &dir, "payments").await;
    kube.forbid("patch", "rollouts/status", "payments");
    let body = json!({"status": {"abort": true}});
    let denied = api_error(
        api.patch_status("demo", &PatchParams::default(), &Patch::Merge(&body))
            .await,
    );
    assert_eq!((denied.code, denied.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        denied.message,
        r#"rollouts.argoproj.io "demo" is forbidden: User "alice" cannot patch resource "rollouts/status" in API group "argoproj.io" in the namespace "payments""#
    );
    assert!(
        api.patch(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"paused": true}}))
        )
        .await
        .is_ok()
    );
    kube.forbid("list", "rollouts", "");
    let all: Api<DynamicObject> = Api::all_with(api.clone().into_client(), &rollout_ar());
    let cluster = api_error(all.list(&ListParams::default()).await);
    assert_eq!(
        cluster.message,
        r#"rollouts.argoproj.io is forbidden: User "alice" cannot list resource "rollouts" in API group "argoproj.io" at the cluster scope"#
    );
    let missing = api_error(api.get("nope").await);
    assert!(missing.is_not_found());
    assert_eq!(missing.message, r#"rollouts.argoproj.io "nope" not found"#);
    kube.fail_next("PATCH", "/rollouts/demo", 409);
    let conflict = api_error(
        api.patch(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"paused": false}})),
        )
        .await,
    );
    assert!(conflict.is_conflict());
    assert!(conflict.message.starts_with(r#"Operation cannot be fulfilled on rollouts.argoproj.io "demo": the object has been modified"#));
    assert!(
        api.patch(
            "demo",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"paused": false}}))
        )
        .await
        .is_ok()
    );
}

fn step(obj: &DynamicObject) -> (i64, i64, String) {
    let d = &obj.data;
    let idx = d
        .pointer("/status/currentStepIndex")
        .and_then(Value::as_i64)
        .unwrap();
    let weight = d
        .pointer("/status/canary/weights/canary/weight")
        .and_then(Value::as_i64)
        .unwrap();
    let phase = d.pointer("/status/phase").and_then(Value::as_str).unwrap();
    let message = d
        .pointer("/status/message")
        .and_then(Value::as_str)
        .unwrap();
    (idx, weight, format!("{phase} {message}").trim().to_string())
}

#[tokio::test]
async fn the_controller_walks_steps_on_promote_and_aborts_and_retries() {
    let kube = FakeKube::start();
    kube.time_scale(0.01);
    let dir = tempfile::tempdir().unwrap();
    kube.put(rollout("payments", "demo", "demo"));
    let api = rollouts(&kube, &dir, "payments").await;
    assert_eq!(
        step(&api.get("demo").await.unwrap()),
        (5, 0, "Healthy".into())
    );
    let new_image = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "demo:2"}]}}}});
    api.patch("demo", &PatchParams::default(), &Patch::Merge(&new_image))
        .await
        .unwrap();
    let paused = api.get("demo").await.unwrap();
    assert_eq!(step(&paused), (1, 20, "Paused CanaryPauseStep".into()));
    assert_eq!(
        paused.data.pointer("/status/observedGeneration"),
        Some(&json!("2"))
    );
    assert_ne!(
        paused.data["status"]["currentPodHash"],
        paused.data["status"]["stableRS"]
    );
    let promote = json!({"status": {"pauseConditions": null}});
    api.patch_status("demo", &PatchParams::default(), &Patch::Merge(&promote))
        .await
        .unwrap();
    assert_eq!(
        step(&api.get("demo").await.unwrap()),
        (3, 50, "Paused CanaryPauseStep".into())
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let done = api.get("demo").await.unwrap();
    assert_eq!(step(&done), (5, 0, "Healthy".into()));
    assert_eq!(
        done.data["status"]["currentPodHash"],
        done.data["status"]["stableRS"]
    );
    let third = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "demo:3"}]}}}});
    api.patch("demo", &PatchParams::default(), &Patch::Merge(&third))
        .await
        .unwrap();
    let abort = json!({"status": {"abort": true}});
    api.patch_status("demo", &PatchParams::default(), &Patch::Merge(&abort))
        .await
        .unwrap();
    let aborted = api.get("demo").await.unwrap();
    assert_eq!(
        step(&aborted),
        (
            0,
            0,
            "Degraded RolloutAborted: Rollout aborted update to revision 3".into()
        )
    );
    let condition = &aborted.data["status"]["conditions"][0];
    assert_eq!(
        (condition["type"].as_str(), condition["reason"].as_str()),
        (Some("Progressing"), Some("RolloutAborted"))
    );
    assert!(aborted.data.pointer("/status/abortedAt").is_some());
    let retry = json!({"status": {"abort": false}});
    api.patch_status("demo", &PatchParams::default(), &Patch::Merge(&retry))
        .await
        .unwrap();
    assert_eq!(
        step(&api.get("demo").await.unwrap()),
        (1, 20, "Paused CanaryPauseStep".into())
    );
    api.patch(
        "demo",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"paused": true}})),
    )
    .await
    .unwrap();
    assert_eq!(
        step(&api.get("demo").await.unwrap()).2,
        "Paused manually paused"
    );
    let full = json!({"status": {"promoteFull": true}});
    api.patch(
        "demo",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"paused": false}})),
    )
    .await
    .unwrap();
    api.patch_status("demo", &PatchParams::default(), &Patch::Merge(&full))
        .await
        .unwrap();
    assert_eq!(
        step(&api.get("demo").await.unwrap()),
        (5, 0, "Healthy".into())
    );
}

/// One HTTP/1.1 exchange on a fresh connection: (code, body as JSON).
fn raw(kube: &FakeKube, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let addr = kube.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn undo_json_patch_replaces_the_template_and_other_patch_kinds_are_refused() {
    let kube = FakeKube::start();
    kube.controller(false);
    kube.put(rollout("payments", "demo", "demo"));
    let base = "/apis/argoproj.io/v1alpha1/namespaces/payments/rollouts/demo";
    let template = json!({"metadata": {"creationTimestamp": null, "labels": {"app": "demo"}}, "spec": {"containers": [{"name": "app", "image": "demo:0"}]}});
    let undo = json!([{"op": "replace", "path": "/spec/template", "value": template}]).to_string();
    let (code, obj) = raw(
        &kube,
        "PATCH",
        &format!("{base}?"),
        "application/json-patch+json",
        &undo,
    );
    assert_eq!(code, 200);
    assert_eq!(
        obj.pointer("/spec/template/spec/containers/0/image"),
        Some(&json!("demo:0"))
    );
    assert_eq!(obj.pointer("/metadata/generation"), Some(&json!(2)));
    let add = json!([{"op": "add", "path": "/spec/paused", "value": true}]).to_string();
    let (code, status) = raw(&kube, "PATCH", base, "application/json-patch+json", &add);
    assert_eq!((code, status["reason"].as_str()), (422, Some("Invalid")));
    let (code, status) = raw(
        &kube,
        "PATCH",
        base,
        "application/strategic-merge-patch+json",
        "{}",
    );
    assert_eq!(
        (code, status["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    kube.put(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun", "metadata": {"name": "run", "namespace": "payments"}}));
    let run = "/apis/argoproj.io/v1alpha1/namespaces/payments/analysisruns/run/status";
    let (code, status) = raw(&kube, "PATCH", run, "application/merge-patch+json", "{}");
    assert_eq!((code, status["reason"].as_str()), (404, Some("NotFound")));
}

#[test]
fn a_stale_resource_version_gets_200_then_one_expired_error_event() {
    let kube = FakeKube::start();
    kube.put(rollout("payments", "demo", "demo"));
    kube.compact();
    let addr = kube.url().trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    let path =
        "/apis/argoproj.io/v1alpha1/namespaces/payments/rollouts?watch=true&resourceVersion=1";
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let line = text.lines().find(|l| l.contains("ERROR")).unwrap();
    let event: Value = serde_json::from_str(line).unwrap();
    let expected = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: 1 ({})", kube.resource_version()), "reason": "Expired", "code": 410}});
    assert_eq!(event, expected);
}

/// The binary serves fixtures with no kubectl (and no PATH at all): the
/// kube client reads its kubeconfig and talks to it directly.
#[tokio::test]
async fn kubectl_is_not_needed() {
    let fixtures = tempfile::tempdir().unwrap();
    let text = "# a comment first\n---\n".to_string()
        + &serde_json::to_string(&rollout("default", "one", "a")).unwrap()
        + "\n---\n"
        + &serde_json::to_string(&rollout("default", "two", "b")).unwrap()
        + "\n";
    std::fs::write(fixtures.path().join("rollouts.yaml"), text).unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    let config_path = config_dir.path().join("kubeconfig");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-kube"))
        .env_clear()
        .arg("--kubeconfig")
        .arg(&config_path)
        .arg(fixtures.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"));
    assert_eq!(
        lines.next().unwrap().unwrap(),
        config_path.display().to_string()
    );
    let client = client_from(&config_path).await;
    let api: Api<DynamicObject> = Api::default_namespaced_with(client, &rollout_ar());
    let listed = api.list(&ListParams::default()).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let names: Vec<_> = listed
        .unwrap()
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    assert_eq!(names, ["one", "two"]);
}

#[tokio::test]
async fn events_of_both_groups_and_pods_can_be_created_and_listed() {
    use k8s_openapi::api::core::v1::{Event, ObjectReference, Pod};
    use k8s_openapi::api::events::v1::Event as NewEvent;
    use kube::api::PostParams;
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client_from(&kube.kubeconfig(dir.path())).await;
    let regarding = ObjectReference {
        kind: Some("Rollout".into()),
        name: Some("demo".into()),
        ..Default::default()
    };
    let mut old = Event {
        involved_object: regarding.clone(),
        reason: Some("Promoted".into()),
        ..Default::default()
    };
    old.metadata.generate_name = Some("demo.".into());
    let core: Api<Event> = Api::namespaced(client.clone(), "payments");
    let made = core.create(&PostParams::default(), &old).await.unwrap();
    assert!(made.metadata.name.unwrap().starts_with("demo."));
    let mut new = NewEvent {
        regarding: Some(regarding),
        note: Some("promoted by alice".into()),
        ..Default::default()
    };
    new.metadata.name = Some("demo.1".into());
    let events: Api<NewEvent> = Api::namespaced(client.clone(), "payments");
    events.create(&PostParams::default(), &new).await.unwrap();
    let again = api_error(events.create(&PostParams::default(), &new).await);
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(
        core.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );
    assert_eq!(
        events.list(&ListParams::default()).await.unwrap().items[0]
            .note
            .as_deref(),
        Some("promoted by alice")
    );
    let posts: Vec<_> = kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        posts[..2],
        [
            "/api/v1/namespaces/payments/events",
            "/apis/events.k8s.io/v1/namespaces/payments/events"
        ]
    );
    let mut pod = Pod::default();
    pod.metadata.name = Some("demo-abc".into());
    let pods: Api<Pod> = Api::namespaced(client, "payments");
    pods.create(&PostParams::default(), &pod).await.unwrap();
    assert!(kube.get("Pod", "payments", "demo-abc").is_some());
}

#[tokio::test]
async fn can_i_is_answered_from_the_denials_in_the_apiservers_shape() {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let client = client_from(&kube.kubeconfig(dir.path())).await;
    let reviews: Api<SelfSubjectAccessReview> = Api::all(client);
    let ask = |verb: &str, ns: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(ns.into()),
                verb: Some(verb.into()),
                group: Some("argoproj.io".into()),
                resource: Some("rollouts".into()),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let allowed = |review: SelfSubjectAccessReview| review.status.map(|s| s.allowed);
    let pp = PostParams::default();
    let before = reviews
        .create(&pp, &ask("patch", "payments"))
        .await
        .unwrap();
    assert_eq!(allowed(before.clone()), Some(true));
    let attrs = before.spec.resource_attributes.unwrap();
    assert_eq!(
        attrs.namespace.as_deref(),
        Some("payments"),
        "the review comes back"
    );
    kube.forbid("patch", "rollouts", "payments");
    let denied = reviews
        .create(&pp, &ask("patch", "payments"))
        .await
        .unwrap();
    assert_eq!(allowed(denied), Some(false));
    let elsewhere = reviews
        .create(&pp, &ask("patch", "checkout"))
        .await
        .unwrap();
    assert_eq!(allowed(elsewhere), Some(true));
    let other_verb = reviews.create(&pp, &ask("get", "payments")).await.unwrap();
    assert_eq!(allowed(other_verb), Some(true));
    let asked = kube.requests();
    let last = asked.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
        )
    );
}
