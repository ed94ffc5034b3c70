//! The plugin's own test objects (fixtures/argo) read as the plugin reads
//! them: the expected words are those of its tests at argo-rollouts
//! 9f8d111d8 (`pkg/kubectl-argo-rollouts/cmd/get/get_test.go`,
//! `pkg/kubectl-argo-rollouts/info/info_test.go`, `cmd/list/list_test.go`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::info::*;
use super::list::{self, Row};
use super::types::*;

#[derive(Default)]
struct Objects {
    rollouts: Vec<Rollout>,
    rss: Vec<ReplicaSet>,
    pods: Vec<Pod>,
    runs: Vec<AnalysisRun>,
}

impl Objects {
    fn rollout(&self) -> &Rollout {
        assert_eq!(self.rollouts.len(), 1, "one Rollout per fixture");
        &self.rollouts[0]
    }

    fn revisions(&self) -> Vec<Revision> {
        revisions(self.rollout(), &self.rss, &self.pods, &self.runs)
    }
}

/// Every file of `fixtures/argo/<case>`, each read by its kind.
fn load(case: &str) -> Objects {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/argo")
        .join(case);
    let mut objects = Objects::default();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with(
                "# From argoproj/argo-rollouts, pkg/kubectl-argo-rollouts/info/testdata/"
            ) || text.starts_with("# Derived by shipdeck from argoproj/argo-rollouts, "),
            "{} names its source",
            path.display()
        );
        assert!(text.lines().next().unwrap().contains("commit 9f8d111d8"));
        let mut value: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The plugin's dumps are from 2019 clusters that served ReplicaSets
        // as extensions/v1beta1; a cluster today serves the same object as
        // apps/v1.
        if value["apiVersion"] == "extensions/v1beta1" && value["kind"] == "ReplicaSet" {
            value["apiVersion"] = "apps/v1".into();
        }
        let kind = value["kind"].as_str().unwrap_or("").to_owned();
        let name = path.display().to_string();
        match kind.as_str() {
            "Rollout" => objects.rollouts.push(typed(value, &name)),
            "ReplicaSet" => objects.rss.push(typed(value, &name)),
            "Pod" => objects.pods.push(typed(value, &name)),
            "AnalysisRun" => objects.runs.push(typed(value, &name)),
            "Experiment" => {
                let _: Experiment = typed(value, &name);
            }
            other => panic!("{}: unexpected kind {other:?}", path.display()),
        }
    }
    objects
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value, name: &str) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// (number, roles, [(rs name, health)], [(pod, status, ready, restarts)]).
type Shape = (
    Option<u64>,
    Vec<&'static str>,
    Vec<(String, &'static str)>,
    Vec<(String, String, String, i32)>,
);

fn shape(revs: &[Revision]) -> Vec<Shape> {
    revs.iter()
        .map(|r| {
            (
                r.number,
                r.roles.clone(),
                r.replicasets
                    .iter()
                    .map(|rs| (rs.name.clone(), rs.health))
                    .collect(),
                r.pods
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            p.status.clone(),
                            p.ready.clone(),
                            p.restarts,
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn pods(
    prefix: &str,
    names: &[&str],
    status: &str,
    ready: &str,
) -> Vec<(String, String, String, i32)> {
    names
        .iter()
        .map(|n| {
            (
                format!("{prefix}-{n}"),
                status.to_owned(),
                ready.to_owned(),
                0,
            )
        })
        .collect()
}

fn rs(name: &str, health: &'static str) -> Vec<(String, &'static str)> {
    vec![(name.to_owned(), health)]
}

#[test]
fn canary_timed_out_without_traffic_routing() {
    // get_test.go:259-305 (TestGetCanaryRollout).
    let o = load("canary-timeout");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!((s.phase, s.phase.icon()), (Phase::Degraded, '✖'));
    assert_eq!(
        s.message,
        r#"ProgressDeadlineExceeded: ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing."#
    );
    assert_eq!(strategy(r), "Canary");
    assert_eq!(step_text(r).as_deref(), Some("0/8"));
    assert_eq!(current_step(r), Some(0));
    assert_eq!(set_weight(r), 20);
    // The canary ReplicaSet has no pod available.
    assert_eq!(actual_weight(r, &o.rss), 0);
    assert_eq!(waiting_on_person(r), None);
    // Oldest pod first, then by name. The plugin's test sets every pod's
    // creationTimestamp to a week ago and so lists them by name; the
    // dumps keep their own times, 6jfpt (08:48:13) to jw5qm (09:14:14).
    let stable = ["6jfpt", "kh7x4", "7jmqw", "j8g2b", "jw5qm"];
    assert_eq!(
        shape(&o.revisions()),
        vec![
            (
                Some(31),
                vec!["canary"],
                rs("canary-demo-65fb5ffc84", "Progressing"),
                pods(
                    "canary-demo-65fb5ffc84",
                    &["9wf5r"],
                    "ImagePullBackOff",
                    "0/1"
                ),
            ),
            (
                Some(30),
                vec!["stable"],
                rs("canary-demo-877894d5b", "Healthy"),
                pods("canary-demo-877894d5b", &stable, "Running", "1/1"),
            ),
            (
                Some(29),
                vec![],
                rs("canary-demo-859c99b45c", "ScaledDown"),
                vec![]
            ),
        ]
    );
    assert_eq!(
        images(r, &o.rss),
        vec![
            (
                "argoproj/rollouts-demo:does-not-exist".to_owned(),
                vec!["canary"]
            ),
            ("argoproj/rollouts-demo:green".to_owned(), vec!["stable"]),
        ]
    );
}

#[test]
fn canary_with_traffic_weights_takes_the_routers_weight() {
    // info_test.go:41-63 (TestCanaryRolloutInfoWeights): ActualWeight is
    // status.canary.weights.canary.weight.
    let o = load("canary-weights");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!(s.phase, Phase::Degraded);
    assert!(s.message.starts_with("ProgressDeadlineExceeded: "));
    assert_eq!(step_text(r).as_deref(), Some("0/8"));
    assert_eq!(set_weight(r), 20);
    assert_eq!(actual_weight(r, &o.rss), 20);
    assert_eq!(max_weight(r), 100);
    assert_eq!(waiting_on_person(r), None);
    let row = Row::new(r);
    assert_eq!(row.actual_weight, Some(20));
    // The same rollout's revisions: its ReplicaSets are the canary-demo
    // ones (same uid).
    assert_eq!(
        o.revisions().iter().map(|r| r.number).collect::<Vec<_>>(),
        vec![Some(31), Some(30), Some(29)]
    );
}

#[test]
fn blue_green_paused_for_promotion() {
    // get_test.go:118-160 (TestGetBlueGreenRollout), info_test.go:94-110.
    let o = load("blue-green");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!(
        (s.phase, s.message.as_str()),
        (Phase::Paused, "BlueGreenPause")
    );
    assert_eq!(s.phase.icon(), '॥');
    assert_eq!(strategy(r), "BlueGreen");
    assert_eq!(step_text(r), None);
    assert_eq!(
        waiting_on_person(r),
        Some(Wait {
            reason: "preview ready — promote or abort".to_owned(),
            since: Some(ts("2019-10-28T04:50:20Z")),
        })
    );
    assert_eq!(
        shape(&o.revisions()),
        vec![
            (
                Some(11),
                vec!["preview"],
                rs("bluegreen-demo-74b948fccb", "Healthy"),
                pods(
                    "bluegreen-demo-74b948fccb",
                    &["5jz59", "mkhrl", "vvj2t"],
                    "Running",
                    "1/1"
                ),
            ),
            (
                Some(10),
                vec!["stable", "active"],
                rs("bluegreen-demo-6cbccd9f99", "Healthy"),
                pods(
                    "bluegreen-demo-6cbccd9f99",
                    &["gk78v", "kxj8g", "t2d4f"],
                    "Running",
                    "1/1"
                ),
            ),
            (
                Some(8),
                vec![],
                rs("bluegreen-demo-746d5fddf6", "ScaledDown"),
                vec![]
            ),
        ]
    );
    assert_eq!(
        images(r, &o.rss),
        vec![
            (
                "argoproj/rollouts-demo:blue".to_owned(),
                vec!["stable", "active"]
            ),
            ("argoproj/rollouts-demo:green".to_owned(), vec!["preview"]),
        ]
    );
    let rev = &o.revisions()[0];
    assert_eq!(rev.hash, "74b948fccb");
    assert_eq!(rev.images, vec!["argoproj/rollouts-demo:green"]);
    let set = &rev.replicasets[0];
    assert_eq!((set.desired, set.ready, set.available), (3, 3, 3));
}

#[test]
fn aborted_by_a_failed_background_analysis() {
    // get_test.go:525-560 (TestGetAbortedRollout), info_test.go:166-171.
    let o = load("rollout-aborted");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!(s.phase, Phase::Degraded);
    assert_eq!(
        s.message,
        r#"RolloutAborted: metric "web" assessed Failed due to failed (1) > failureLimit (0)"#
    );
    assert_eq!(step_text(r).as_deref(), Some("0/2"));
    assert_eq!(set_weight(r), 0);
    assert_eq!(actual_weight(r, &o.rss), 0);
    assert_eq!(waiting_on_person(r), None);
    let revs = o.revisions();
    assert_eq!(
        shape(&revs),
        vec![
            (
                Some(2),
                vec!["canary"],
                rs("rollout-background-analysis-db976bc44", "ScaledDown"),
                vec![]
            ),
            (
                Some(1),
                vec!["stable"],
                rs("rollout-background-analysis-7d84d44bb8", "Healthy"),
                pods(
                    "rollout-background-analysis-7d84d44bb8",
                    &["z5wps"],
                    "Running",
                    "1/1"
                ),
            ),
        ]
    );
    let run = &revs[0].analysis_runs[0];
    assert_eq!(run.name, "rollout-background-analysis-db976bc44-2");
    assert_eq!(run.phase, "Failed");
    // INFO `✖ 1`.
    assert_eq!(
        (run.successful, run.failed, run.inconclusive, run.error),
        (0, 1, 0, 0)
    );
    let web = &run.metrics[0];
    assert_eq!(web.name, "web");
    assert_eq!(
        (
            web.failure_limit,
            web.inconclusive_limit,
            web.consecutive_error_limit
        ),
        (0, 0, 4)
    );
    assert_eq!(
        web.values,
        vec![(
            Some(ts("2020-09-22T09:10:04Z")),
            "false".to_owned(),
            "Failed".to_owned()
        )]
    );
    assert!(revs[1].analysis_runs.is_empty());
}

#[test]
fn invalid_spec() {
    // info_test.go:159-164, get_test.go:492-520 (TestGetInvalidRollout).
    let o = load("rollout-invalid");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!(s.phase, Phase::Degraded);
    assert_eq!(
        s.message,
        "InvalidSpec: The Rollout \"rollout-invalid\" is invalid: spec.template.metadata.labels: \
         Invalid value: map[string]string{\"app\":\"doesnt-match\"}: `selector` does not match \
         template `labels`"
    );
    assert_eq!(step_text(r), None);
    assert_eq!(set_weight(r), 100);
    assert_eq!(actual_weight(r, &o.rss), 100);
    assert_eq!(waiting_on_person(r), None);
    assert!(o.revisions().is_empty());
}

#[test]
fn inconclusive_analysis_behind_a_timeout() {
    // get_test.go:355-411 (TestExperimentRollout): the timeout condition
    // comes before the pause.
    let o = load("experiment-analysis");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!(s.phase, Phase::Degraded);
    assert_eq!(
        s.message,
        r#"ProgressDeadlineExceeded: ReplicaSet "rollout-experiment-analysis-6f646bf7b7" has timed out progressing."#
    );
    assert_eq!(step_text(r).as_deref(), Some("1/2"));
    assert_eq!(
        step_label(&r.spec.strategy.canary.as_ref().unwrap().steps[1]),
        "experiment"
    );
    assert_eq!((set_weight(r), actual_weight(r, &o.rss)), (25, 25));
    // The controller still waits for a promote or an abort.
    assert_eq!(
        waiting_on_person(r),
        Some(Wait {
            reason: "analysis inconclusive — promote or abort".to_owned(),
            since: Some(ts("2019-10-30T16:13:40Z")),
        })
    );
    let revs = o.revisions();
    // Experiment ReplicaSets belong to the Experiment, not the Rollout.
    assert_eq!(
        shape(&revs),
        vec![
            (
                Some(2),
                vec!["canary"],
                rs("rollout-experiment-analysis-6f646bf7b7", "Healthy"),
                pods(
                    "rollout-experiment-analysis-6f646bf7b7",
                    &["wn5w8"],
                    "Running",
                    "1/1"
                ),
            ),
            (
                Some(1),
                vec!["stable"],
                rs("rollout-experiment-analysis-f6db98dff", "Healthy"),
                pods(
                    "rollout-experiment-analysis-f6db98dff",
                    &["8dmnz", "bb6v6", "bq55x"],
                    "Running",
                    "1/1"
                ),
            ),
        ]
    );
    let run = &revs[0].analysis_runs[0];
    assert_eq!(run.phase, "Inconclusive");
    // INFO `✔ 4,✖ 4,? 1,⚠ 1`.
    assert_eq!(
        (run.successful, run.failed, run.inconclusive, run.error),
        (4, 4, 1, 1)
    );
    let metric = &run.metrics[0];
    assert_eq!(metric.name, "random-fail");
    assert_eq!(
        (
            metric.count,
            metric.failure_limit,
            metric.inconclusive_limit
        ),
        (8, 5, 1)
    );
    assert_eq!(metric.values.len(), 8);
    assert_eq!(
        metric.values[0],
        (
            Some(ts("2019-10-30T07:28:40Z")),
            String::new(),
            "Failed".to_owned()
        )
    );
}

#[test]
fn inconclusive_analysis_alone_reads_paused() {
    let o = load("experiment-analysis");
    let mut r = o.rollout().clone();
    r.status
        .conditions
        .retain(|c| c.reason != "ProgressDeadlineExceeded");
    let s = phase(&r);
    assert_eq!(
        (s.phase, s.message.as_str()),
        (Phase::Paused, "InconclusiveAnalysisRun")
    );
    // Promote cleared the conditions; the controller has not caught up.
    r.status.pause_conditions.clear();
    let s = phase(&r);
    assert_eq!(
        (s.phase, s.message.as_str()),
        (Phase::Progressing, "waiting for rollout to unpause")
    );
    assert_eq!(waiting_on_person(&r), None);
}

#[test]
fn canary_paused_at_a_pause_step_waits_on_a_person() {
    let o = load("canary-paused-step");
    let r = o.rollout();
    let s = phase(r);
    assert_eq!(
        (s.phase, s.message.as_str()),
        (Phase::Paused, "CanaryPauseStep")
    );
    assert_eq!(step_text(r).as_deref(), Some("1/8"));
    assert_eq!(
        step_label(&r.spec.strategy.canary.as_ref().unwrap().steps[1]),
        "pause"
    );
    assert_eq!(set_weight(r), 20);
    // One canary pod of six available, no traffic routing: 1*100/6.
    assert_eq!(actual_weight(r, &o.rss), 16);
    let wait = waiting_on_person(r).unwrap();
    assert_eq!(wait.reason, "pause step — promote or abort");
    assert_eq!(wait.since, Some(ts("2019-10-28T04:52:55Z")));
    assert_eq!(
        images(r, &o.rss),
        vec![
            ("argoproj/rollouts-demo:green".to_owned(), vec!["stable"]),
            ("argoproj/rollouts-demo:yellow".to_owned(), vec!["canary"]),
        ]
    );
    // At a timed pause step the pause ends by itself.
    let mut timed = r.clone();
    timed.status.current_step_index = Some(3);
    assert_eq!(
        step_label(&timed.spec.strategy.canary.as_ref().unwrap().steps[3]),
        "pause: 10s"
    );
    assert_eq!(phase(&timed).phase, Phase::Paused);
    assert_eq!(waiting_on_person(&timed), None);
    // Paused by hand: since the pause condition started.
    let mut manual = r.clone();
    manual.spec.paused = true;
    assert_eq!(phase(&manual).message, "manually paused");
    let wait = waiting_on_person(&manual).unwrap();
    assert_eq!(wait.reason, "manually paused — resume or abort");
    assert_eq!(wait.since, Some(ts("2019-10-28T04:52:55Z")));
    // Row without ReplicaSets: no actual weight mid-update without a router.
    assert_eq!(Row::new(r).actual_weight, None);
}

#[test]
fn phase_follows_the_plugins_order() {
    let o = load("canary-paused-step");
    let base = o.rollout().clone();
    let mut r = base.clone();
    r.metadata.generation = Some(430);
    assert_eq!(
        phase(&r).message,
        "waiting for rollout spec update to be observed"
    );
    // A non-numeric observedGeneration (v0.9) counts as observed.
    r.status.observed_generation = Some("7d8f9c".to_owned());
    assert_eq!(phase(&r).phase, Phase::Paused);
    // The controller's own phase wins once it has caught up.
    let mut r = base.clone();
    r.status.phase = Some("Healthy".to_owned());
    r.status.message = Some(String::new());
    assert_eq!(
        phase(&r),
        RolloutState {
            phase: Phase::Healthy,
            message: String::new()
        }
    );
    // Fully promoted, everything available: Healthy.
    let mut r = base.clone();
    r.status.pause_conditions.clear();
    r.status.controller_pause = false;
    r.status.conditions.clear();
    r.status.updated_replicas = 5;
    r.status.replicas = 5;
    r.status.available_replicas = 5;
    assert_eq!(phase(&r).message, "waiting for all steps to complete");
    r.status.stable_rs = r.status.current_pod_hash.clone();
    assert_eq!(
        phase(&r),
        RolloutState {
            phase: Phase::Healthy,
            message: String::new()
        }
    );
    r.status.updated_replicas = 4;
    assert_eq!(phase(&r).message, "more replicas need to be updated");
    r.status.updated_replicas = 6;
    assert_eq!(
        phase(&r).message,
        "updated replicas are still becoming available"
    );
}

#[test]
fn step_labels_for_every_kind() {
    let step = |json: &str| step_label(&serde_json::from_str(json).unwrap());
    assert_eq!(step(r#"{"setWeight":20}"#), "setWeight: 20");
    assert_eq!(step(r#"{"pause":{}}"#), "pause");
    assert_eq!(step(r#"{"pause":{"duration":"10s"}}"#), "pause: 10s");
    assert_eq!(step(r#"{"pause":{"duration":30}}"#), "pause: 30");
    assert_eq!(
        step(r#"{"analysis":{"templates":[{"templateName":"x"}]}}"#),
        "analysis"
    );
    assert_eq!(step(r#"{"experiment":{"templates":[]}}"#), "experiment");
    assert_eq!(
        step(r#"{"setCanaryScale":{"weight":50}}"#),
        "setCanaryScale{weight: 50}"
    );
    assert_eq!(
        step(r#"{"setCanaryScale":{"replicas":3}}"#),
        "setCanaryScale{replicas: 3}"
    );
    assert_eq!(
        step(r#"{"setCanaryScale":{"matchTrafficWeight":true}}"#),
        "setCanaryScale{matchTrafficWeight: true}"
    );
    assert_eq!(step(r#"{"setCanaryScale":{}}"#), "invalid");
    assert_eq!(step(r#"{"plugin":{"name":"gates"}}"#), "plugin: gates");
    assert_eq!(
        step(r#"{"setHeaderRoute":{"name":"hdr"}}"#),
        "setHeaderRoute: hdr"
    );
    assert_eq!(
        step(r#"{"setMirrorRoute":{"name":"mirror"}}"#),
        "setMirrorRoute: mirror"
    );
    assert_eq!(step("{}"), "invalid");
}

#[test]
fn pause_durations_as_go_reads_them() {
    let p = |d: Option<IntOrString>| pause_seconds(&Pause { duration: d });
    let s = |t: &str| p(Some(IntOrString::String(t.to_owned())));
    assert_eq!(p(None), None);
    assert_eq!(p(Some(IntOrString::Int(30))), Some(Ok(30)));
    assert_eq!(s("10"), Some(Ok(10)));
    assert_eq!(s("10s"), Some(Ok(10)));
    assert_eq!(s("1m30s"), Some(Ok(90)));
    assert_eq!(s("1h"), Some(Ok(3600)));
    assert_eq!(s("1.5h"), Some(Ok(5400)));
    assert_eq!(s("2h45m10.9s"), Some(Ok(9910)));
    assert_eq!(s("1500ms"), Some(Ok(1)));
    assert_eq!(s("0"), Some(Ok(0)));
    assert_eq!(s("+5m"), Some(Ok(300)));
    for bad in [
        "",
        "10x",
        "s",
        "1.2.3s",
        "5 m",
        "ten",
        "99999999999999999999h",
        "-",
        ".",
    ] {
        let err = s(bad).unwrap().unwrap_err();
        assert!(err.contains("is not a duration"), "{bad:?}: {err}");
    }
}

#[test]
fn a_measurement_list_is_kept_to_the_newest() {
    let mut o = load("rollout-aborted");
    let run = &mut o.runs[0];
    let one = run.status.metric_results[0].measurements[0].clone();
    run.status.metric_results[0].measurements = (0..500)
        .map(|i| Measurement {
            value: Some(i.to_string()),
            ..one.clone()
        })
        .collect();
    let revs = o.revisions();
    let values = &revs[0].analysis_runs[0].metrics[0].values;
    assert_eq!(values.len(), MAX_MEASUREMENTS);
    assert_eq!(values.last().unwrap().1, "499");
    assert_eq!(values[0].1, "300");
}

#[test]
fn the_list_puts_waits_first_and_matches_the_plugins_columns() {
    let now = ts("2019-10-30T16:25:40Z");
    let mut rows: Vec<Row> = [
        "canary-timeout",
        "blue-green",
        "rollout-aborted",
        "rollout-invalid",
        "experiment-analysis",
        "canary-paused-step",
    ]
    .iter()
    .map(|case| Row::new(load(case).rollout()))
    .collect();
    rows.reverse();
    let text = list::table(&rows, true, now);
    let expected = "\
NAMESPACE   NAME                         STRATEGY   STATUS        STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE  WAITING
jesse-test  bluegreen-demo               BlueGreen  Paused        -     -           6/6    3        3           3          preview ready — promote or abort · 2d 11h
jesse-test  canary-demo                  Canary     Paused        1/8   20          6/6    5        1           6          pause step — promote or abort · 2d 11h
jesse-test  rollout-experiment-analysis  Canary     Degraded      1/2   25          4/4    4        1           4          analysis inconclusive — promote or abort · 12m
default     rollout-background-analysis  Canary     Degraded      0/2   0           1/1    1        0           1          -
default     rollout-invalid              Canary     Degraded      -     100         0/0    1        0           0          -
jesse-test  canary-demo                  Canary     Degraded      0/8   20          5/6    5        1           5          -
";
    assert_eq!(text, expected);
    // Without -A there is no NAMESPACE column.
    let text = list::table(&rows, false, now);
    assert!(
        text.starts_with("NAME                         STRATEGY   STATUS"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&list::json(&rows, now)).unwrap();
    // The blue-green pause began at 04:50:20, the pause step at 04:52:55.
    assert_eq!(json[0]["name"], "bluegreen-demo");
    assert_eq!(
        json[0]["waiting"]["seconds"],
        2 * 86_400 + 11 * 3_600 + 35 * 60 + 20
    );
    assert_eq!(json[0]["waiting"]["since"], "2019-10-28T04:50:20Z");
    assert_eq!(json[0]["setWeight"], serde_json::Value::Null);
    assert_eq!(json[1]["setWeight"], 20);
    assert_eq!(json[5]["status"], "Degraded");
}

#[test]
fn the_plugins_list_columns_for_a_canary() {
    // list_test.go:143-164: the plugin's widths for a short name.
    let mut r = load("canary-timeout").rollout().clone();
    r.metadata.name = Some("can-guestbook".to_owned());
    r.status.conditions.clear();
    r.spec.strategy.canary.as_mut().unwrap().steps.truncate(3);
    r.status.current_step_index = Some(1);
    (r.status.ready_replicas, r.status.replicas) = (1, 4);
    (r.status.updated_replicas, r.status.available_replicas) = (3, 2);
    r.spec.strategy.canary.as_mut().unwrap().steps[0].set_weight = Some(10);
    let text = list::table(&[Row::new(&r)], false, ts("2020-01-01T00:00:00Z"));
    assert_eq!(
        text,
        "NAME           STRATEGY   STATUS        STEP  SET-WEIGHT  READY  DESIRED  UP-TO-DATE  AVAILABLE  WAITING\n\
         can-guestbook  Canary     Progressing   1/3   10          1/4    5        3           2          -\n"
    );
}

#[test]
fn a_hostile_name_is_cleaned_in_the_table_and_the_json() {
    let mut r = load("blue-green").rollout().clone();
    r.metadata.name = Some("evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2Jname".to_owned());
    r.metadata.namespace = Some("ns\u{202e}x".to_owned());
    r.status.pause_conditions[0].reason = "Odd\u{1b}[31mReason".to_owned();
    r.spec
        .strategy
        .blue_green
        .as_mut()
        .unwrap()
        .auto_promotion_enabled = Some(false);
    r.status.pause_conditions.insert(
        0,
        PauseCondition {
            reason: "\u{9b}1;1H".repeat(100),
            start_time: None,
        },
    );
    let rows = [Row::new(&r)];
    let text = list::table(&rows, true, ts("2020-01-01T00:00:00Z"));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
        "{text:?}"
    );
    assert!(!text.contains('\u{202e}'));
    assert!(text.contains("evilname"), "{text}");
    assert!(text.contains("nsx "), "{text}");
    let json = list::json(&rows, ts("2020-01-01T00:00:00Z"));
    assert!(
        !json.contains('\u{1b}') && !json.contains('\u{7}'),
        "{json:?}"
    );
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back[0]["name"], "evil\u{1b}]52;c;aGk=\u{7}\u{1b}[2Jname");
}

#[test]
fn waits_read_in_minutes_hours_and_days_and_long_names_are_cut() {
    let now = ts("2020-01-01T12:00:00Z");
    assert_eq!(list::age(ts("2020-01-01T11:59:15Z"), now), "45s");
    assert_eq!(list::age(ts("2020-01-01T11:48:00Z"), now), "12m");
    assert_eq!(list::age(ts("2020-01-01T08:58:00Z"), now), "3h 2m");
    // A start in the future (clock skew) reads as no wait yet.
    assert_eq!(list::age(ts("2020-01-01T12:05:00Z"), now), "0s");
    let mut r = load("rollout-invalid").rollout().clone();
    r.metadata.name = Some("n".repeat(300));
    let text = list::table(&[Row::new(&r)], false, now);
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!("{}…  Canary", "n".repeat(63))),
        "{row}"
    );
}
