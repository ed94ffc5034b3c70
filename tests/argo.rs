//! shipdeck on an Argo Rollout end to end, against the fake API server:
//! `shipdeck rollouts`, `shipdeck do …` and `shipdeck events --rollout`
//! through the binary as an operator runs them (their output, exit status,
//! the requests the cluster received, the journal), the backend's watches
//! through drops, compaction, refusals and a deleted Rollout, its commands,
//! and the console in a real terminal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{BIN, Console, PATIENCE, isolate, scratch};
use fake_kube::FakeKube;
use serde_json::{Value, json};
use shipdeck::argo::backend::{Target, spawn};
use shipdeck::backend::{Connection, Handle, Update};
use shipdeck::engine::Verdict;
use shipdeck::model::names::Person;
use shipdeck::model::{Action, Command as Order, Event, EventKind};

const NS: &str = "jesse-test";
const ROLLOUT: &str = "/apis/argoproj.io/v1alpha1/namespaces/jesse-test/rollouts/canary-demo";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/argo")
        .join(name)
}

/// A fake cluster holding some fixtures, and a home for shipdeck's files.
struct Cluster {
    kube: FakeKube,
    home: tempfile::TempDir,
    config: PathBuf,
}

/// The fake with `fixtures` loaded and its controller `on` or off.
fn cluster(fixtures: &[&str], on: bool) -> Cluster {
    let kube = FakeKube::start();
    kube.controller(on);
    kube.time_scale(0.01);
    for name in fixtures {
        kube.load_dir(fixture(name)).expect("the fixture loads");
    }
    let home = scratch();
    let config = kube.kubeconfig(home.path());
    kube.clear_requests();
    Cluster { kube, home, config }
}

impl Cluster {
    /// `shipdeck ARGS` as frank, on this cluster.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        isolate(&mut command, self.home.path());
        command
            .env("KUBECONFIG", &self.config)
            .env("HOME", self.home.path())
            .env("SHIPDECK_OPERATOR", "frank")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("shipdeck runs")
    }

    fn journal_lines(&self) -> Vec<Value> {
        let dir = self.home.path().join("journal");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("a journal line is JSON"))
                    .collect::<Vec<Value>>()
            })
            .collect()
    }

    /// (method, path, content type, JSON body) of the PATCHes received.
    fn patches(&self) -> Vec<(String, String, Option<String>, Value)> {
        self.kube
            .requests()
            .into_iter()
            .filter(|r| r.method == "PATCH")
            .map(|r| {
                let body = r.body_json().unwrap_or(Value::Null);
                (r.method, r.path, r.content_type, body)
            })
            .collect()
    }

    /// The bodies of the core Events POSTed.
    fn events_posted(&self) -> Vec<Value> {
        self.kube
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/events"))
            .map(|r| r.body_json().unwrap())
            .collect()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn merge(path: &str, body: Value) -> (String, String, Option<String>, Value) {
    (
        "PATCH".into(),
        path.into(),
        Some("application/merge-patch+json".into()),
        body,
    )
}

fn status_path() -> String {
    format!("{ROLLOUT}/status")
}

// ---------------------------------------------------------------- rollouts

#[test]
fn rollouts_lists_every_fixture_waiting_first() {
    let c = cluster(
        &[
            "blue-green",
            "canary-timeout",
            "canary-weights",
            "experiment-analysis",
            "rollout-aborted",
            "rollout-invalid",
        ],
        true,
    );
    let out = c.run(&["rollouts", "-A"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, TABLE_HEADER, "{text}");
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names, WAITING_FIRST, "{text}");
    for (line, (columns, wait)) in lines[1..].iter().zip(ROWS) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..10].join(" "), *columns, "{text}");
        assert!(words[10..].join(" ").starts_with(wait), "{line}");
    }
    let json = c.run(&["rollouts", "-A", "--format", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let rows: Value = serde_json::from_str(&stdout(&json)).expect("JSON");
    let rows = rows.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, WAITING_FIRST);
    for (row, (columns, _)) in rows.iter().zip(ROWS) {
        assert_eq!(row["status"], columns.split(' ').nth(3).unwrap(), "{row}");
    }
}

const TABLE_HEADER: &[&str] = &[
    "NAMESPACE",
    "NAME",
    "STRATEGY",
    "STATUS",
    "STEP",
    "SET-WEIGHT",
    "READY",
    "DESIRED",
    "UP-TO-DATE",
    "AVAILABLE",
    "WAITING",
];

/// Those waiting on a person, longest wait first; then by namespace and
/// name.
const WAITING_FIRST: &[&str] = &[
    "bluegreen-demo",
    "rollout-experiment-analysis",
    "rollout-background-analysis",
    "rollout-invalid",
    "canary-demo",
    "canary-demo-weights",
];

/// The columns of each row (namespace … available), then its wait.
const ROWS: &[(&str, &str)] = &[
    (
        "jesse-test bluegreen-demo BlueGreen Paused - - 6/6 3 3 3",
        "preview ready — promote or abort · ",
    ),
    (
        "jesse-test rollout-experiment-analysis Canary Degraded 1/2 25 4/4 4 1 4",
        "analysis inconclusive — promote or abort · ",
    ),
    (
        "default rollout-background-analysis Canary Degraded 0/2 0 1/1 1 0 1",
        "-",
    ),
    (
        "default rollout-invalid Canary Degraded - 100 0/0 1 0 0",
        "-",
    ),
    (
        "jesse-test canary-demo Canary Degraded 0/8 20 5/6 5 1 5",
        "-",
    ),
    (
        "jesse-test canary-demo-weights Canary Degraded 0/8 20 5/6 5 1 5",
        "-",
    ),
];

/// Fixtures taken from a cluster come with their status: loading them
/// must not have the fake's controller rewrite it.
#[test]
fn fixtures_with_a_status_are_listed_as_loaded() {
    let c = cluster(&["rollout-invalid", "canary-paused-step"], true);
    let invalid = c.kube.get("Rollout", "default", "rollout-invalid").unwrap();
    assert!(invalid["status"].get("phase").is_none(), "{invalid}");
    assert_eq!(invalid["status"]["observedGeneration"], "3", "{invalid}");
    let paused = c.kube.get("Rollout", NS, "canary-demo").unwrap();
    assert_eq!(paused["status"]["currentStepIndex"], 1);
    assert_eq!(
        paused["status"]["pauseConditions"][0]["reason"],
        "CanaryPauseStep"
    );
    let out = c.run(&["rollouts", "-A"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[0].starts_with(
            "jesse-test canary-demo Canary Paused 1/8 20 6/6 5 1 6 pause step — promote or abort · "
        ),
        "{text}"
    );
    assert_eq!(
        rows[1], "default rollout-invalid Canary Degraded - 100 0/0 1 0 0 -",
        "{text}"
    );
}

#[test]
fn an_empty_namespace_says_so_and_succeeds() {
    let c = cluster(&["canary-paused-step"], true);
    let out = c.run(&["rollouts", "-n", "nobody-here"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "No resources found in nobody-here namespace.\n"
    );
}

#[test]
fn a_forbidden_list_names_the_verb_and_the_scope() {
    let c = cluster(&["canary-paused-step"], true);
    c.kube.forbid("list", "rollouts", "");
    let out = c.run(&["rollouts", "-A"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "shipdeck: forbidden: you may not list rollouts at the cluster scope (the API server: \
         User \"alice\" cannot list resource \"rollouts\" in API group \"argoproj.io\" at the \
         cluster scope)\n"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn no_kubeconfig_and_a_wrong_context_are_said_plainly() {
    let c = cluster(&[], true);
    let missing = c.home.path().join("no-such-kubeconfig");
    let out = c
        .command(&["rollouts", "-A"])
        .env("KUBECONFIG", &missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "shipdeck: no kubeconfig found (looked in {}) and not running in a cluster \
             (KUBERNETES_SERVICE_HOST is not set)\n",
            missing.display()
        )
    );

    let out = c.run(&["rollouts", "-A", "--context", "prod"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "shipdeck: context \"prod\" not found in the kubeconfig (contexts: fake)\n"
    );
    assert_eq!(stdout(&out), "");
}

// ---------------------------------------------------------------- do

/// `shipdeck do ARGS --rollout NAME -n NS` on `c`.
fn act_on(c: &Cluster, name: &str, ns: &str, args: &[&str]) -> Output {
    let mut all = vec!["do"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--rollout", name, "-n", ns]);
    c.run(&all)
}

/// `shipdeck do ARGS` on canary-demo.
fn act(c: &Cluster, args: &[&str]) -> Output {
    act_on(c, "canary-demo", NS, args)
}

type Patch = (String, String, Option<String>, Value);

/// Runs `do ARGS` on a fresh paused canary (controller off); its output
/// and the PATCHes received.
fn patched(args: &[&str]) -> (Cluster, Output, Vec<Patch>) {
    let c = cluster(&["canary-paused-step"], false);
    let out = act(&c, args);
    let patches = c.patches();
    (c, out, patches)
}

/// The PATCH bodies as sent, byte for byte.
fn raw_patches(c: &Cluster) -> Vec<String> {
    c.kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect()
}

/// The command's own PATCHes are `expected`; one more, the last, is the
/// annotation naming frank; none has a query string.
fn sent_as_the_plugin(c: &Cluster, what: &str, patches: &[Patch], expected: &[Patch]) {
    assert_eq!(patches.len(), expected.len() + 1, "{what}: {patches:#?}");
    assert_eq!(patches[..expected.len()], expected[..], "{what}");
    let last = patches.last().unwrap();
    assert_eq!(
        last.1,
        expected.first().map_or(ROLLOUT, |_| last.1.as_str())
    );
    let annotation = last.3["metadata"]["annotations"]["shipdeck.dev/last-action"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: the annotation: {last:?}"));
    let annotation: Value = serde_json::from_str(annotation).unwrap();
    assert_eq!(annotation["by"], "frank", "{what}: {annotation}");
    let queries: Vec<String> = c
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.query)
        .collect();
    assert!(queries.iter().all(String::is_empty), "{what}: {queries:?}");
}

#[test]
fn promote_on_a_pause_step_clears_its_pause_condition() {
    let (c, out, patches) = patched(&["promote"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = [merge(
        &status_path(),
        json!({"status": {"pauseConditions": null}}),
    )];
    sent_as_the_plugin(&c, "promote", &patches, &expected);
    assert_eq!(raw_patches(&c)[0], r#"{"status":{"pauseConditions":null}}"#);
    let get = &c.kube.requests()[1];
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", ROLLOUT));
    assert_eq!(
        stdout(&out),
        "rollout 'canary-demo' in jesse-test: promote (as frank): promoted: resumed the pause at step 2/8\n"
    );
    let stored = c.kube.get("Rollout", NS, "canary-demo").unwrap();
    assert_eq!(stored["status"]["pauseConditions"], Value::Null);
    who_acted(&c, "ShipdeckPromote", "advance");
}

#[test]
fn promote_on_other_fixtures_is_the_plugins_patch() {
    // A blue-green pause and an inconclusive analysis pause: the pause
    // conditions are cleared; a canary with none skips to the next step.
    let cases = [
        (
            "blue-green",
            "bluegreen-demo",
            r#"{"status":{"pauseConditions":null}}"#,
        ),
        (
            "experiment-analysis",
            "rollout-experiment-analysis",
            r#"{"status":{"pauseConditions":null}}"#,
        ),
        (
            "canary-timeout",
            "canary-demo",
            r#"{"status":{"pauseConditions":null, "currentStepIndex":1}}"#,
        ),
    ];
    for (fixture, name, body) in cases {
        let c = cluster(&[fixture], false);
        let out = act_on(&c, name, NS, &["promote"]);
        assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
        let path = format!("/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/{name}/status");
        let expected = [merge(&path, serde_json::from_str(body).unwrap())];
        sent_as_the_plugin(&c, fixture, &c.patches(), &expected);
        assert_eq!(raw_patches(&c)[0], body, "{fixture}");
    }
}

#[test]
fn each_command_sends_the_plugins_patch() {
    let status = status_path();
    let cases: Vec<(&[&str], &str, Vec<Patch>, &str)> = vec![
        (
            &["promote", "--full"],
            "promote_full",
            vec![merge(&status, json!({"status": {"promoteFull": true}}))],
            "ShipdeckPromoteFull",
        ),
        (
            &["pause"],
            "pause",
            vec![merge(ROLLOUT, json!({"spec": {"paused": true}}))],
            "ShipdeckPause",
        ),
        (
            &["resume"],
            "resume",
            vec![merge(ROLLOUT, json!({"spec": {"paused": false}}))],
            "ShipdeckResume",
        ),
        (
            &["abort"],
            "rollback",
            vec![merge(&status, json!({"status": {"abort": true}}))],
            "ShipdeckAbort",
        ),
        (
            &["retry"],
            "retry",
            vec![merge(&status, json!({"status": {"abort": false}}))],
            "ShipdeckRetry",
        ),
    ];
    for (args, kind, expected, reason) in cases {
        let (c, out, patches) = patched(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        sent_as_the_plugin(&c, kind, &patches, &expected);
        let line = stdout(&out);
        let prefix = format!(
            "rollout 'canary-demo' in jesse-test: {} (as frank): ",
            args[0]
        );
        assert!(line.starts_with(&prefix), "{args:?}: {line}");
        assert_eq!(line.lines().count(), 1, "{line}");
        who_acted(&c, reason, kind);
    }
}

#[test]
fn undo_puts_back_the_previous_revisions_template() {
    let (c, out, patches) = patched(&["undo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = c
        .kube
        .requests()
        .into_iter()
        .find(|r| r.path == "/apis/apps/v1/namespaces/jesse-test/replicasets")
        .expect("the ReplicaSets are listed");
    assert_eq!(
        listed.param("labelSelector").as_deref(),
        Some("app=canary-demo")
    );
    let (method, path, content_type, body) = &patches[0];
    assert_eq!((method.as_str(), path.as_str()), ("PATCH", ROLLOUT));
    assert_eq!(content_type.as_deref(), Some("application/json-patch+json"));
    let ops = body.as_array().expect("a JSON patch");
    assert_eq!(ops.len(), 1, "{body}");
    assert_eq!(ops[0]["op"], "replace");
    assert_eq!(ops[0]["path"], "/spec/template");
    let value = &ops[0]["value"];
    assert_eq!(
        value["spec"]["containers"][0]["image"], "argoproj/rollouts-demo:green",
        "revision 30's (the stable) image: {body}"
    );
    assert_eq!(
        value["metadata"]["labels"],
        json!({"app": "canary-demo"}),
        "without the pod template hash"
    );
    who_acted(&c, "ShipdeckUndo", "undo");
    let out = act(&c, &["undo", "--to-revision", "99"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stderr(&out).contains("99"), "{}", stderr(&out));
}

#[test]
fn a_refused_command_exits_3_and_is_journaled() {
    let c = cluster(&["canary-paused-step"], false);
    c.kube.forbid("patch", "rollouts/status", NS);
    let out = act(&c, &["promote"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(
        err,
        "rollout 'canary-demo' in jesse-test: promote refused (as frank): forbidden: you may not \
         patch rollouts/status in jesse-test (the API server: User \"alice\" cannot patch resource \
         \"rollouts/status\" in API group \"argoproj.io\" in the namespace \"jesse-test\")\n"
    );
    assert_eq!(stdout(&out), "");
    assert!(
        c.events_posted().is_empty(),
        "nothing done, nothing recorded"
    );
    let journal = c.journal_lines();
    let command = journal.iter().find(|l| l["record"] == "command").unwrap();
    assert_eq!(command["command"]["operator"], "frank");
    let verdict = journal
        .iter()
        .find(|l| l["record"] == "verdict")
        .unwrap_or_else(|| panic!("a verdict: {journal:?}"));
    assert_eq!(verdict["id"], command["command"]["id"]);
    assert_eq!(verdict["accepted"], false);
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("patch rollouts/status in jesse-test"),
        "{verdict}"
    );
}

/// The journal holds frank's command of `kind` with its accepted verdict,
/// and the cluster one Event naming frank, with `reason`.
fn who_acted(c: &Cluster, reason: &str, kind: &str) {
    let journal = c.journal_lines();
    let command = journal
        .iter()
        .find(|l| l["record"] == "command")
        .unwrap_or_else(|| panic!("a command in the journal: {journal:?}"));
    assert_eq!(command["command"]["operator"], "frank", "{command}");
    assert_eq!(command["command"]["kind"], kind, "{command}");
    let verdict = journal
        .iter()
        .find(|l| l["record"] == "verdict" && l["id"] == command["command"]["id"])
        .unwrap_or_else(|| panic!("its verdict: {journal:?}"));
    assert_eq!(verdict["accepted"], true, "{verdict}");
    let posted = c.events_posted();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0]["reason"], reason);
    assert!(
        posted[0]["message"].as_str().unwrap().contains("frank"),
        "{}",
        posted[0]
    );
    assert_eq!(posted[0]["involvedObject"]["name"], "canary-demo");
    assert_eq!(posted[0]["involvedObject"]["kind"], "Rollout");
}

// ---------------------------------------------------------------- events

/// `shipdeck events --rollout NAME -n NS` running, its JSON lines read
/// as they come. Killed when dropped.
struct Events {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Events {
    fn start(c: &Cluster, name: &str, ns: &str) -> Events {
        let mut child = c
            .command(&["events", "--rollout", name, "-n", ns])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Events {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until `done` holds of all read so far.
    fn until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(value) => self.seen.push(value),
                Err(_) => panic!("waited for {what}; saw {:#?}", self.seen),
            }
        }
    }

    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("events is still running");
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The steps started, in order, in `events`.
fn steps_started(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e["type"] == "canary_step" && e["state"] == "started")
        .map(|e| e["step"].as_u64().unwrap())
        .collect()
}

fn finished(events: &[Value]) -> bool {
    events.iter().any(|e| e["type"] == "release_finished")
}

#[test]
fn events_follow_the_rollout_to_its_end() {
    let c = cluster(&["canary-paused-step"], true);
    let mut events = Events::start(&c, "canary-demo", NS);
    events.until("step 1 started", |s| steps_started(s).contains(&1));
    let started = &events.seen[0];
    assert_eq!(started["type"], "release_started", "{started}");
    // The version it replaces is named by the stable ReplicaSet's image,
    // whichever of the watches answered first.
    assert_eq!(
        started["plan"]["version_from"],
        "argoproj/rollouts-demo:green"
    );
    // The version rolled out, with its revision.
    assert_eq!(
        started["plan"]["version_to"],
        "argoproj/rollouts-demo:yellow (revision 31)"
    );
    let labels: Vec<&str> = started["plan"]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("the plan's steps: {started}"))
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "setWeight: 20",
            "pause",
            "setWeight: 40",
            "pause: 10s",
            "setWeight: 60",
            "pause: 10s",
            "setWeight: 80",
            "pause: 10s"
        ]
    );
    assert_eq!(steps_started(&events.seen), [0, 1], "up to where it stands");

    let out = act(&c, &["promote"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    events.until("release_finished", finished);
    let seen = &events.seen;
    assert_eq!(steps_started(seen), (0..8).collect::<Vec<u64>>());
    let seqs: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let last = seen.last().unwrap();
    assert_eq!(last["outcome"], "succeeded", "{last}");
    for event in seen {
        assert_eq!(
            event["release"], "jesse-test/canary-demo",
            "every event names the release: {event}"
        );
    }
    assert_eq!(events.exit_code(), Some(0));
}

/// What `events` says of each fixture's phase and message, as the plugin
/// words them.
const PHASE_MESSAGES: &[(&str, &str, &str, &str)] = &[
    (
        "canary-paused-step",
        "canary-demo",
        NS,
        "Paused: CanaryPauseStep",
    ),
    (
        "canary-timeout",
        "canary-demo",
        NS,
        r#"Degraded: ProgressDeadlineExceeded: ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing."#,
    ),
    (
        "canary-weights",
        "canary-demo-weights",
        NS,
        r#"Degraded: ProgressDeadlineExceeded: ReplicaSet "canary-demo-65fb5ffc84" has timed out progressing."#,
    ),
    ("blue-green", "bluegreen-demo", NS, "Paused: BlueGreenPause"),
    (
        "rollout-aborted",
        "rollout-background-analysis",
        "default",
        r#"Degraded: RolloutAborted: metric "web" assessed Failed due to failed (1) > failureLimit (0)"#,
    ),
    (
        "rollout-invalid",
        "rollout-invalid",
        "default",
        "Degraded: InvalidSpec: The Rollout \"rollout-invalid\" is invalid: spec.template.metadata.labels: \
         Invalid value: map[string]string{\"app\":\"doesnt-match\"}: `selector` does not match \
         template `labels`",
    ),
    (
        "experiment-analysis",
        "rollout-experiment-analysis",
        NS,
        r#"Degraded: ProgressDeadlineExceeded: ReplicaSet "rollout-experiment-analysis-6f646bf7b7" has timed out progressing."#,
    ),
];

#[test]
fn events_say_each_fixtures_phase_and_message() {
    for (fixture, name, ns, said) in PHASE_MESSAGES {
        let c = cluster(&[fixture], true);
        let mut events = Events::start(&c, name, ns);
        let phase = |e: &Value| e["type"] == "log" && e["source"] == "argo-rollouts";
        events.until(fixture, |seen| seen.iter().any(phase));
        let first = events.seen.iter().find(|e| phase(e)).unwrap();
        assert_eq!(first["message"], *said, "{fixture}");
        assert_eq!(events.seen[0]["type"], "release_started", "{fixture}");
        assert!(
            c.patches().is_empty(),
            "{fixture}: following writes nothing"
        );
    }
}

#[test]
fn events_of_a_rollout_that_is_not_there() {
    let c = cluster(&["canary-paused-step"], true);
    let out = c.run(&["events", "--rollout", "canary-dmeo", "-n", NS]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no Rollout \"canary-dmeo\" in namespace jesse-test"),
        "{err}"
    );
    assert!(err.contains("canary-demo"), "names what is there: {err}");
}

// ---------------------------------------------------------------- backend

/// A kubeconfig file of this test process's own `$KUBECONFIG` list, one
/// per backend test (each with its own context), so tests running at once
/// never share one.
fn kube_slot(kube: &FakeKube) -> String {
    const SLOTS: usize = 32;
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = DIR.get_or_init(|| {
        let dir = scratch();
        let list: Vec<PathBuf> = (0..SLOTS)
            .map(|n| dir.path().join(format!("slot-{n}")))
            .collect();
        // SAFETY: set once, before any backend of this process reads it;
        // the binaries these tests run are given their own.
        unsafe { std::env::set_var("KUBECONFIG", std::env::join_paths(list).unwrap()) };
        dir
    });
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    assert!(n < SLOTS, "more backend tests than kubeconfig slots");
    let name = format!("fake-{n}");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {}\n\
         contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n\
         users:\n- name: {name}\n  user:\n    token: fake-token\n",
        kube.url()
    );
    let path = dir.path().join(format!("slot-{n}"));
    let partial = dir.path().join(format!("slot-{n}.partial"));
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(partial, path).unwrap();
    name
}

/// The backend following canary-demo on `kube`, under the config's
/// freezes.
fn follow_with(kube: &FakeKube, freezes: Vec<shipdeck::model::Freeze>) -> Handle {
    let context = kube_slot(kube);
    let target = Target {
        name: "canary-demo".into(),
        namespace: Some(NS.into()),
        context: Some(context),
        gate: None,
        freezes,
    };
    spawn(target, "argo:jesse-test/canary-demo".into(), 200, None)
}

/// What a backend said, kept as it comes.
#[derive(Default)]
struct Heard {
    events: Vec<Event>,
    updates: Vec<Update>,
}

impl Heard {
    fn take(&mut self, update: Update) {
        if let Update::Events(events) = &update {
            self.events.extend(events.iter().cloned());
        }
        self.updates.push(update);
    }

    fn started(&self) -> Vec<usize> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::CanaryStep {
                    step,
                    state: shipdeck::model::StepState::Started,
                    ..
                } => Some(*step),
                _ => None,
            })
            .collect()
    }

    fn last_connection(&self) -> Option<&Connection> {
        self.updates.iter().rev().find_map(|u| match u {
            Update::Connection(c) => Some(c),
            _ => None,
        })
    }

    /// No event twice, no seq skipped, one release.
    fn whole(&self) {
        let seqs: Vec<u64> = self.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
        let mut started = self.started();
        let count = started.len();
        started.dedup();
        assert_eq!(started.len(), count, "each step once: {:?}", self.started());
        let releases = self
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ReleaseStarted { .. }))
            .count();
        assert_eq!(releases, 1);
        assert!(!self.updates.iter().any(|u| matches!(u, Update::Reset)));
    }
}

/// Reads updates until `done` holds (at most [`PATIENCE`]).
async fn until(handle: &mut Handle, heard: &mut Heard, what: &str, done: impl Fn(&Heard) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done(heard) {
        match tokio::time::timeout_at(deadline, handle.updates.recv()).await {
            Ok(Some(update)) => heard.take(update),
            Ok(None) => panic!("the backend ended while waiting for {what}"),
            Err(_) => panic!(
                "waited for {what}; heard {:#?}",
                heard.updates.iter().rev().take(12).collect::<Vec<_>>()
            ),
        }
    }
}

fn live(heard: &Heard) -> bool {
    matches!(heard.last_connection(), Some(Connection::Live))
}

fn lost(heard: &Heard) -> Option<&str> {
    match heard.last_connection() {
        Some(Connection::Lost(why)) => Some(why),
        _ => None,
    }
}

fn frank() -> Person {
    Person::new("frank").unwrap()
}

/// The paused canary (controller on, pauses 100× faster) and a backend
/// following it, up to step 1.
async fn followed() -> (Cluster, Handle, Heard) {
    followed_with(Vec::new()).await
}

async fn followed_with(freezes: Vec<shipdeck::model::Freeze>) -> (Cluster, Handle, Heard) {
    let c = cluster(&["canary-paused-step"], true);
    let mut handle = follow_with(&c.kube, freezes);
    let mut heard = Heard::default();
    until(&mut handle, &mut heard, "step 1", |h| {
        h.started().contains(&1)
    })
    .await;
    assert!(live(&heard));
    (c, handle, heard)
}

/// Sends `action` as frank; its verdict.
async fn command(handle: &mut Handle, heard: &mut Heard, id: &str, action: Action) -> Verdict {
    handle
        .commands
        .send(Order::new(id, frank(), action))
        .unwrap();
    until(handle, heard, "the verdict", |h| {
        h.updates
            .iter()
            .any(|u| matches!(u, Update::Verdict { id: v, .. } if v == id))
    })
    .await;
    heard
        .updates
        .iter()
        .find_map(|u| match u {
            Update::Verdict { id: v, verdict } if v == id => Some(verdict.clone()),
            _ => None,
        })
        .unwrap()
}

/// The lists and the watches of the Rollout the cluster received.
fn rollout_reads(kube: &FakeKube) -> (Vec<fake_kube::Request>, Vec<fake_kube::Request>) {
    let path = "/apis/argoproj.io/v1alpha1/namespaces/jesse-test/rollouts";
    kube.requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .partition(|r| r.param("watch").is_none_or(|w| w == "false" || w == "0"))
}

#[tokio::test]
async fn a_dropped_watch_resumes_with_no_event_lost_or_doubled() {
    let (c, mut handle, mut heard) = followed().await;
    c.kube.time_scale(1.0);
    // The list is followed by a watch from its resourceVersion.
    let deadline = Instant::now() + PATIENCE;
    while rollout_reads(&c.kube).1.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (lists, watches) = rollout_reads(&c.kube);
    assert_eq!((lists.len(), watches.len()), (1, 1));
    c.kube.drop_watches();
    let verdict = command(&mut handle, &mut heard, "c1", Action::Advance).await;
    assert!(verdict.is_accepted(), "{verdict:?}");
    until(&mut handle, &mut heard, "step 3", |h| {
        h.started().contains(&3)
    })
    .await;
    c.kube.drop_watches();
    c.kube.drop_watches();
    c.kube.time_scale(0.001);
    let verdict = command(&mut handle, &mut heard, "c2", Action::PromoteFull).await;
    assert!(verdict.is_accepted(), "{verdict:?}");
    until(&mut handle, &mut heard, "the end", |h| {
        h.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::ReleaseFinished { .. }))
    })
    .await;
    heard.whole();
    assert_eq!(heard.started()[..4], [0, 1, 2, 3]);
    // Resumed from where it was, never listed again.
    let (lists, watches) = rollout_reads(&c.kube);
    assert_eq!(lists.len(), 1);
    assert!(watches.len() >= 3, "{watches:?}");
    let versions: Vec<u64> = watches
        .iter()
        .map(|w| w.param("resourceVersion").unwrap().parse().unwrap())
        .collect();
    assert!(versions.windows(2).all(|v| v[0] <= v[1]), "{versions:?}");
}

#[tokio::test]
async fn after_compaction_the_list_is_read_again_without_a_new_release() {
    let (c, mut handle, mut heard) = followed().await;
    c.kube.time_scale(1.0);
    c.kube.compact();
    c.kube.drop_watches();
    // A write the compacted watch cannot resume over: the re-list has it.
    let verdict = command(&mut handle, &mut heard, "c1", Action::Advance).await;
    assert!(verdict.is_accepted(), "{verdict:?}");
    until(&mut handle, &mut heard, "step 3", |h| {
        h.started().contains(&3)
    })
    .await;
    c.kube.compact();
    c.kube.drop_watches();
    let mut paused = c.kube.get("Rollout", NS, "canary-demo").unwrap();
    paused["spec"]["paused"] = json!(true);
    paused["status"]["phase"] = json!("Paused");
    paused["status"]["message"] = json!("manually paused");
    c.kube.put(paused);
    until(&mut handle, &mut heard, "the manual pause", |h| {
        h.events
            .iter()
            .any(|e| matches!(e.kind, EventKind::ReleasePaused { .. }))
    })
    .await;
    heard.whole();
    assert_eq!(heard.started(), [0, 1, 2, 3]);
    let (lists, _) = rollout_reads(&c.kube);
    assert!(
        lists.len() >= 3,
        "listed again after each compaction: {lists:?}"
    );
}

#[tokio::test]
async fn a_forbidden_watch_is_lost_with_a_sentence_then_live_again() {
    let (c, mut handle, mut heard) = followed().await;
    c.kube.forbid("watch", "rollouts", NS);
    c.kube.drop_watches();
    until(&mut handle, &mut heard, "lost", |h| lost(h).is_some()).await;
    let why = lost(&heard).unwrap().to_string();
    assert!(
        why.starts_with("forbidden: you may not watch rollouts in jesse-test"),
        "{why}"
    );
    assert!(why.contains("User \"alice\""), "{why}");
    // While the watch is refused the console does not say it is live.
    let until_later = tokio::time::Instant::now() + Duration::from_secs(4);
    while let Ok(Some(update)) = tokio::time::timeout_at(until_later, handle.updates.recv()).await {
        heard.take(update);
        assert!(
            !live(&heard),
            "live while the watch is refused: {:?}",
            heard
                .updates
                .iter()
                .filter(|u| matches!(u, Update::Connection(_)))
                .collect::<Vec<_>>()
        );
    }
    c.kube.allow_all();
    until(&mut handle, &mut heard, "live again", live).await;
    let verdict = command(&mut handle, &mut heard, "c1", Action::Advance).await;
    assert!(verdict.is_accepted(), "{verdict:?}");
    until(&mut handle, &mut heard, "step 2", |h| {
        h.started().contains(&2)
    })
    .await;
    heard.whole();
}

#[tokio::test]
async fn a_deleted_rollout_is_lost_saying_it_is_not_there() {
    let (c, mut handle, mut heard) = followed().await;
    c.kube.delete("Rollout", NS, "canary-demo").unwrap();
    until(&mut handle, &mut heard, "lost", |h| lost(h).is_some()).await;
    let why = lost(&heard).unwrap();
    assert!(
        why.starts_with("no Rollout \"canary-demo\" in namespace jesse-test"),
        "{why}"
    );
}

#[tokio::test]
async fn in_a_freeze_a_rollouts_promote_is_refused_before_anything_is_sent() {
    let now = jiff::Timestamp::now();
    let freeze = shipdeck::model::Freeze::Period(shipdeck::model::freeze::Period {
        from: now - jiff::SignedDuration::from_hours(1),
        to: now + jiff::SignedDuration::from_hours(1),
        reason: "change freeze".into(),
    });
    let (c, mut handle, mut heard) = followed_with(vec![freeze]).await;
    c.kube.controller(false);
    c.kube.clear_requests();
    for (id, action) in [("f1", Action::Advance), ("f2", Action::PromoteFull)] {
        match command(&mut handle, &mut heard, id, action).await {
            Verdict::Refused(r) => assert!(
                r.reason.starts_with("frozen: change freeze — reopens "),
                "{}",
                r.reason
            ),
            other => panic!("{other:?}"),
        }
    }
    assert!(c.patches().is_empty(), "nothing was sent");
    let pause = Action::Pause { reason: None };
    let verdict = command(&mut handle, &mut heard, "f3", pause).await;
    assert!(verdict.is_accepted(), "a pause still goes out: {verdict:?}");
}

#[tokio::test]
async fn commands_through_the_backend_are_the_plugins_patches() {
    let (c, mut handle, mut heard) = followed().await;
    c.kube.controller(false);
    c.kube.clear_requests();
    let verdict = command(&mut handle, &mut heard, "c1", Action::Advance).await;
    assert!(verdict.is_accepted(), "{verdict:?}");
    let patches = c.patches();
    assert_eq!(
        patches[0],
        merge(&status_path(), json!({"status": {"pauseConditions": null}}))
    );

    let approve = Action::Approve {
        gate: None,
        comment: None,
    };
    match command(&mut handle, &mut heard, "c2", approve).await {
        Verdict::Refused(r) => assert!(r.reason.contains("no gates"), "{}", r.reason),
        other => panic!("{other:?}"),
    }

    c.kube.forbid("patch", "rollouts/status", NS);
    c.kube.clear_requests();
    match command(&mut handle, &mut heard, "c3", Action::Advance).await {
        Verdict::Refused(r) => assert!(
            r.reason.contains("patch rollouts/status in jesse-test"),
            "{}",
            r.reason
        ),
        other => panic!("{other:?}"),
    }
    assert!(c.events_posted().is_empty());
    let rejected = heard
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::CommandRejected { .. }))
        .count();
    assert_eq!(rejected, 2);
}

// ---------------------------------------------------------------- console

#[test]
fn the_console_drives_the_paused_canary_with_single_keys() {
    let c = cluster(&["canary-paused-step"], true);
    // Timed pauses of 100 s: the canary holds where the keys put it.
    c.kube.time_scale(10.0);
    let config = c.config.to_str().unwrap().to_string();
    let args = ["--rollout", "canary-demo", "-n", NS];
    // Wide enough for the header's longest form.
    let mut console = Console::open(c.home.path(), (180, 32), &args, &[("KUBECONFIG", &config)]);
    let screen = console.wait_for("canary · step 2/8 · 20% traffic");
    assert!(
        screen.contains("step 2/8: waiting for an operator"),
        "{screen}"
    );
    assert!(screen.contains("a advance"), "{screen}");
    assert!(
        screen.contains("argoproj/rollouts-demo:green → argoproj/rollouts-demo:yellow"),
        "{screen}"
    );

    console.keys("a");
    let screen = console.wait_for("canary · step 4/8 · 40% traffic");
    assert!(screen.contains("step 4/8 pause"), "{screen}");
    console.keys("p");
    console.wait_for("PAUSED by frank");
    assert_eq!(
        c.kube.get("Rollout", NS, "canary-demo").unwrap()["spec"]["paused"],
        true
    );

    console.keys("U");
    console.wait_for("Put the previous revision's pod template back on canary-demo?");
    console.keys("n");
    console.wait_for("undo cancelled");
    let undone = c
        .kube
        .requests()
        .iter()
        .any(|r| r.content_type.as_deref() == Some("application/json-patch+json"));
    assert!(!undone, "a cancelled undo sends nothing");

    console.keys("q");
    console.ends_restored(0);
    let paused: Vec<Value> = c
        .journal_lines()
        .into_iter()
        .filter(|l| l["event"]["type"] == "release_paused")
        .collect();
    assert_eq!(paused.len(), 1, "{paused:?}");
    assert_eq!(paused[0]["event"]["by"], "frank");
}

#[test]
fn a_tiny_terminal_on_a_rollout_does_not_panic() {
    let c = cluster(&["canary-paused-step"], true);
    let config = c.config.to_str().unwrap().to_string();
    let args = ["--rollout", "canary-demo", "-n", NS];
    let mut console = Console::start(c.home.path(), (20, 5), &args, &[("KUBECONFIG", &config)]);
    let drawn = console.pty.wait_until(PATIENCE, |s| {
        s.alternate_screen() && !s.contents().trim().is_empty()
    });
    assert!(drawn.is_some(), "{}", console.screen());
    // The Rollout arrives and is drawn; keys at that size too.
    console.pty.pump(Duration::from_millis(500));
    console.keys("a");
    console.keys("\t");
    console.pty.pump(Duration::from_millis(300));
    console.keys("q");
    console.ends_restored(0);
}
