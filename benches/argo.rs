//! shipdeck on Argo Rollouts against the budgets, in one table:
//! `cargo bench --bench argo`.
//!
//! A fake Kubernetes API server (`crates/fake-kube`) runs in this process,
//! loaded with 500 Rollouts across 20 namespaces: clones of the fixtures
//! under `fixtures/argo/` (canaries paused at a step, progressing with
//! routed weights, past their progress deadline, in an experiment step;
//! blue-greens waiting for promotion; Rollouts aborted by analysis), each
//! with the last-applied annotation and managed fields a `kubectl apply`d
//! object carries. The release binary runs as a person would run it: the
//! list with its output piped, the console in a pseudo-terminal of 200x60
//! whose screen a VT parser keeps, so "the change shows" means the screen
//! shows it.
//!
//! `SHIPDECK_BENCH_QUICK=1` shortens the idle windows (10 s instead of 60)
//! and the runs for a look, not a record. Exit status 1 when a budget is
//! missed.

// A tool of the house printing its own words, not shipdeck's output.
#![allow(clippy::disallowed_macros)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/measure.rs"]
mod measure;
use measure::*;
#[path = "../tests/common/terminal.rs"]
mod terminal;

use fake_kube::FakeKube;
use serde_json::{Value, json};
use shipdeck::argo::types::Rollout;
use terminal::Pty;

const COLS: u16 = 200;
const ROWS: u16 = 60;
const ROLLOUTS: usize = 500;
const NAMESPACES: usize = 20;
/// Where the console's Rollouts are.
const FOLLOWED_NS: &str = "team-00";
/// The steps of the canary the change latency is measured on.
const WALK_STEPS: usize = 40;

/// The kinds of Rollout the cluster holds, one fixture each, in turn.
const KINDS: [&str; 6] = [
    "canary-paused-step/rollout.yaml",
    "canary-weights/canary-rollout5.yaml",
    "canary-timeout/canary-rollout.yaml",
    "blue-green/bluegreen-rollout.yaml",
    "rollout-aborted/rollout.yaml",
    "experiment-analysis/rollout-experiment-analysis.yaml",
];

/// `p50 …, p99 …, max …` of `samples`.
fn spread(samples: &mut [Duration]) -> (String, Duration, Duration) {
    let p50 = percentile(samples, 0.5);
    let p99 = percentile(samples, 0.99);
    let max = samples.last().copied().unwrap_or_default();
    (
        format!("p50 {}, p99 {}, max {}", ms(p50), ms(p99), ms(max)),
        p99,
        max,
    )
}

/// A fixture object as a cluster serves it.
fn fixture(path: &str) -> Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/argo")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// `fieldsV1` as the apiserver writes it: each key of `value` as `f:key`.
fn fields_of(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (format!("f:{k}"), fields_of(v)))
                .collect(),
        ),
        _ => json!({}),
    }
}

/// `template` as `ns/name`, with a fresh uid and resourceVersion from the
/// fake, and what `kubectl apply` and the controller leave in metadata.
fn clone_as(template: &Value, ns: &str, name: &str) -> Value {
    let mut obj = template.clone();
    let meta = obj["metadata"].as_object_mut().unwrap();
    for field in ["uid", "resourceVersion", "selfLink", "generation"] {
        meta.remove(field);
    }
    meta.insert("name".into(), name.into());
    meta.insert("namespace".into(), ns.into());
    meta.insert("labels".into(), json!({"app": name, "team": ns}));
    obj["spec"]["selector"] = json!({"matchLabels": {"app": name}});
    obj["spec"]["template"]["metadata"]["labels"] = json!({"app": name});
    let applied = json!({
        "apiVersion": obj["apiVersion"], "kind": obj["kind"],
        "metadata": {"name": name, "namespace": ns, "labels": obj["metadata"]["labels"]},
        "spec": obj["spec"],
    });
    let annotations = obj["metadata"]
        .as_object_mut()
        .unwrap()
        .entry("annotations")
        .or_insert_with(|| json!({}));
    annotations["kubectl.kubernetes.io/last-applied-configuration"] = applied.to_string().into();
    let time = "2026-11-30T09:12:44Z";
    obj["metadata"]["managedFields"] = json!([
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "argoproj.io/v1alpha1",
         "time": time, "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": fields_of(&applied["metadata"]), "f:spec": fields_of(&obj["spec"])}},
        {"manager": "rollouts-controller", "operation": "Update", "apiVersion": "argoproj.io/v1alpha1",
         "time": time, "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": fields_of(&obj["status"])}},
    ]);
    obj
}

/// A fake loaded with `count` Rollouts across the namespaces, the kinds in
/// turn, its controller off (nothing moves unless the bench moves it); and
/// the mean size of a Rollout as stored, in bytes.
fn cluster(count: usize) -> (FakeKube, usize) {
    let kube = FakeKube::start();
    kube.controller(false);
    let templates: Vec<Value> = KINDS.iter().map(|k| fixture(k)).collect();
    let mut bytes = 0;
    for i in 0..count {
        let ns = format!("team-{:02}", i % NAMESPACES);
        let name = format!("service-{i:04}");
        let stored = kube.put(clone_as(&templates[i % KINDS.len()], &ns, &name));
        bytes += stored.to_string().len();
    }
    (kube, bytes / count.max(1))
}

/// The canary the change latency walks: `WALK_STEPS` setWeight steps, at
/// step `at`, progressing.
fn walking(at: usize) -> Value {
    let mut obj = clone_as(&fixture(KINDS[0]), FOLLOWED_NS, "checkout");
    let steps: Vec<Value> = (1..=WALK_STEPS)
        .map(|i| json!({"setWeight": i * 2}))
        .collect();
    obj["spec"]["strategy"]["canary"]["steps"] = steps.into();
    let status = obj["status"].as_object_mut().unwrap();
    status.remove("pauseConditions");
    status.remove("controllerPause");
    status.insert("currentStepIndex".into(), at.into());
    status.insert(
        "conditions".into(),
        json!([
            {"type": "Available", "status": "True", "reason": "AvailableReason",
             "message": "Rollout has minimum availability",
             "lastTransitionTime": "2026-11-30T09:12:50Z", "lastUpdateTime": "2026-11-30T09:12:50Z"},
            {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
             "message": "ReplicaSet \"checkout-65fb5ffc84\" is progressing.",
             "lastTransitionTime": "2026-11-30T09:12:50Z", "lastUpdateTime": "2026-11-30T09:12:50Z"}
        ]),
    );
    obj
}

/// A canary paused at step 1: `pause {}` (waits on a person, nothing
/// counts), or a timed pause of an hour that began now (counts down).
fn paused(name: &str, timed: bool) -> Value {
    let mut obj = clone_as(&fixture(KINDS[0]), FOLLOWED_NS, name);
    if timed {
        obj["spec"]["strategy"]["canary"]["steps"][1] = json!({"pause": {"duration": "1h"}});
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        obj["status"]["pauseConditions"][0]["startTime"] = now.into();
    }
    obj
}

fn row(what: &str, measured: String, budget: &str, ok: Option<bool>) -> Row {
    Row {
        what: what.into(),
        measured,
        budget: budget.into(),
        ok,
    }
}

struct Bench {
    bin: String,
    dir: PathBuf,
    quick: bool,
    rows: Vec<Row>,
}

impl Bench {
    /// The release binary, its files in the bench's folder, on `kube`.
    fn command(&self, kube: &FakeKube, args: &[&str]) -> Command {
        let state = self.dir.join("state");
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("KUBECONFIG", kube.kubeconfig(&self.dir))
            .env("SHIPDECK_JOURNAL_DIR", self.dir.join("journal"))
            .env("XDG_STATE_HOME", &state)
            .env("XDG_CONFIG_HOME", &state)
            .env("SHIPDECK_OPERATOR", "bench");
        command
    }

    /// Wall times of `runs` runs of `args`, their output checked.
    fn wall(&self, kube: &FakeKube, args: &[&str], runs: usize, lines: usize) -> Vec<Duration> {
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                let out = self
                    .command(kube, args)
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                let took = started.elapsed();
                assert!(out.status.success(), "{args:?}: {out:?}");
                let printed = String::from_utf8_lossy(&out.stdout).lines().count();
                assert!(printed >= lines, "{args:?} printed {printed} lines");
                took
            })
            .collect()
    }

    /// `shipdeck rollouts -A` over 500 Rollouts: one page of 500 (the
    /// limit it asks, as kubectl), then the fake cutting pages at 100.
    fn list(&mut self) {
        let runs = if self.quick { 10 } else { 30 };
        let (kube, size) = cluster(ROLLOUTS);
        let args = ["rollouts", "-A"];
        let _ = self.wall(&kube, &args, 2, ROLLOUTS + 1);
        kube.clear_requests();
        let mut one_page = self.wall(&kube, &args, runs, ROLLOUTS + 1);
        let pages_asked: Vec<String> = kube
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/rollouts"))
            .filter_map(|r| r.param("limit"))
            .collect();
        assert!(pages_asked.iter().all(|l| l == "500") && pages_asked.len() == runs);
        let (text, p99, max) = spread(&mut one_page);
        let budget = Duration::from_secs(1);
        self.rows.push(row(
            &format!(
                "`rollouts -A`, {ROLLOUTS} Rollouts in {NAMESPACES} namespaces ({:.1} KB each), one page of 500 ({runs} runs)",
                size as f64 / 1000.0
            ),
            text,
            "≤ 1 s",
            Some(p99 <= budget && max <= budget),
        ));
        kube.page_cap(Some(100));
        kube.clear_requests();
        let mut paged = self.wall(&kube, &args, runs, ROLLOUTS + 1);
        let requests = kube
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/rollouts"))
            .count()
            / runs;
        let (text, p99, max) = spread(&mut paged);
        self.rows.push(row(
            &format!("the same, the server cutting pages at 100 ({requests} lists a run, with continue tokens)"),
            text,
            "≤ 1 s",
            Some(p99 <= budget && max <= budget),
        ));
        kube.page_cap(None);
        self.list_parts(&kube, runs);
    }

    /// What a list's time is made of: the process (`--version`), the
    /// kubeconfig and client (an empty cluster), then in this process the
    /// HTTP list alone, its decoding and the table.
    fn list_parts(&mut self, kube: &FakeKube, runs: usize) {
        let mut start = self.wall(kube, &["--version"], runs, 1);
        let empty = FakeKube::start();
        let mut client = self.wall(&empty, &["rollouts", "-A"], runs, 0);
        let mut fetch = Vec::new();
        let mut decode = Vec::new();
        let mut table = Vec::new();
        let mut body_len = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let body = http_get(kube.url(), "/apis/argoproj.io/v1alpha1/rollouts?limit=500");
            fetch.push(started.elapsed());
            body_len = body.len();
            let started = Instant::now();
            let list: kube::core::ObjectList<Rollout> = serde_json::from_slice(&body).unwrap();
            decode.push(started.elapsed());
            let started = Instant::now();
            let rows: Vec<shipdeck::argo::list::Row> = list
                .items
                .iter()
                .map(shipdeck::argo::list::Row::from)
                .collect();
            let text = shipdeck::argo::list::table(&rows, true, jiff::Timestamp::now());
            table.push(started.elapsed());
            assert_eq!(text.lines().count(), ROLLOUTS + 1);
        }
        let mut through_kube = self.kube_list(kube, runs);
        let p50 = |s: &mut Vec<Duration>| ms(percentile(s, 0.5));
        self.rows.push(row(
            "where a list's time goes (p50)",
            format!(
                "process start and exit {}; + kubeconfig, client, an empty list {}; the list over HTTP {} ({:.1} MB, most of it the fake serialising); decoding it {}; both through kube's client {}; rows and table {}",
                p50(&mut start),
                p50(&mut client),
                p50(&mut fetch),
                body_len as f64 / 1e6,
                p50(&mut decode),
                p50(&mut through_kube),
                p50(&mut table),
            ),
            "—",
            None,
        ));
    }

    /// `runs` lists of every Rollout (500 a page) through kube's client in
    /// this process, as `shipdeck rollouts -A` makes them.
    fn kube_list(&self, kube: &FakeKube, runs: usize) -> Vec<Duration> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = kube.kubeconfig(&self.dir);
        runtime.block_on(async {
            let cluster = shipdeck::argo::cluster::connect_from(&[config], None, None)
                .await
                .unwrap();
            let api = kube::Api::<Rollout>::all(cluster.client.clone());
            let params = kube::api::ListParams::default().limit(500);
            let mut samples = Vec::new();
            for _ in 0..runs {
                let started = Instant::now();
                let list = api.list(&params).await.unwrap();
                samples.push(started.elapsed());
                assert_eq!(list.items.len(), ROLLOUTS);
            }
            samples
        })
    }

    /// The console in a 200x60 terminal, following `name` on `kube`.
    fn console(&self, kube: &FakeKube, name: &str) -> Pty {
        let command = self.command(kube, &["--rollout", name, "-n", FOLLOWED_NS]);
        Pty::spawn(command, COLS, ROWS)
    }

    /// A step of the followed canary put on the fake, until the screen
    /// shows it: from the fake writing the watch event, and from `put`.
    fn change(&mut self) {
        let (kube, _) = cluster(ROLLOUTS);
        kube.put(walking(0));
        let mut console = self.console(&kube, "checkout");
        let shown = console.wait_for(&step_text(0), Duration::from_secs(20));
        if shown.is_none() || std::env::var_os("SHIPDECK_BENCH_SHOW").is_some() {
            eprintln!("{}", console.text());
        }
        shown.expect("the console shows the canary's first step");
        console.settle(Duration::from_millis(500));
        let mut from_watch = Vec::new();
        let mut from_put = Vec::new();
        for at in 1..WALK_STEPS {
            kube.mark_watch_writes();
            kube.put(walking(at));
            let put = Instant::now();
            let Some(seen) = console.wait_for(&step_text(at), Duration::from_secs(5)) else {
                eprintln!("{}", console.text());
                panic!("step {at} did not show within 5 s");
            };
            let written = kube
                .first_watch_write()
                .expect("the watch wrote the change");
            from_watch.push(seen.saturating_duration_since(written));
            from_put.push(seen.saturating_duration_since(put));
            console.settle(Duration::from_millis(100));
        }
        console.stop();
        let samples = from_watch.len();
        let (text, p99, max) = spread(&mut from_watch);
        let budget = Duration::from_millis(50);
        self.rows.push(row(
            &format!(
                "Rollout change → screen, from the watch event's write ({samples} steps, 200x60)"
            ),
            text,
            "≤ 50 ms",
            Some(p99 <= budget && max <= budget),
        ));
        let (text, _, _) = spread(&mut from_put);
        self.rows
            .push(row("the same, from `put` returning", text, "—", None));
    }

    /// The console on a Rollout that does not change; CPU over the window
    /// once the screen has settled.
    fn idle(&mut self, timed: bool) {
        let secs = if self.quick { 10 } else { 60 };
        let (kube, _) = cluster(ROLLOUTS);
        let name = if timed {
            "checkout-timed"
        } else {
            "checkout-held"
        };
        kube.put(paused(name, timed));
        let mut console = self.console(&kube, name);
        console
            .wait_for("Paused", Duration::from_secs(20))
            .expect("the console shows the paused canary");
        self.settle(&mut console, timed);
        let _ = console.take_bytes();
        let before = cpu_of(console.pid());
        let started = Instant::now();
        console.pump(Duration::from_secs(secs));
        let used = cpu_of(console.pid()) - before;
        let wall = started.elapsed();
        let (bytes, arrivals) = console.take_bytes();
        console.stop();
        let share = used.as_secs_f64() / wall.as_secs_f64() * 100.0;
        let hz = rustix::param::clock_ticks_per_second() as f64;
        let ticks = format!(
            "{:.0} ticks of {:.0} ms",
            used.as_secs_f64() * hz,
            1000.0 / hz
        );
        let frames = bursts(&arrivals);
        if timed {
            self.rows.push(row(
                &format!("idle over {secs} s, a timed pause counting down"),
                format!(
                    "{share:.3}% of a core ({ticks}); {frames} redraws, {:.1} KB a redraw",
                    bytes as f64 / frames.max(1) as f64 / 1000.0
                ),
                "— (one redraw a second)",
                None,
            ));
        } else {
            self.rows.push(row(
                &format!("idle over {secs} s, a Rollout that does not change"),
                format!("{share:.3}% of a core ({ticks}), {bytes} bytes written, {frames} redraws"),
                "≤ 0.1% of a core",
                Some(share <= 0.1),
            ));
        }
    }

    /// Waits for the news of the start to fade from the status bar: 35 s
    /// without output (or two minutes); with a countdown, a few seconds.
    fn settle(&self, console: &mut Pty, timed: bool) {
        if timed {
            console.pump(Duration::from_secs(3));
            return;
        }
        let give_up = Instant::now() + Duration::from_secs(120);
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < Duration::from_secs(35) && Instant::now() < give_up {
            let _ = console.take_bytes();
            console.pump(Duration::from_secs(1));
            let (bytes, _) = console.take_bytes();
            if bytes > 0 {
                quiet_since = Instant::now();
            }
        }
    }
}

/// What the console shows once the walking canary is at step `at`.
fn step_text(at: usize) -> String {
    format!("step {}/{WALK_STEPS}", at + 1)
}

/// A GET on the fake over one HTTP/1.1 connection; the body.
fn http_get(url: &str, path: &str) -> Vec<u8> {
    let host = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let at = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    response.split_off(at + 4)
}

fn main() {
    // `cargo bench` passes `--bench`; `--list` asks nothing of us.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let scratch = tempfile::Builder::new()
        .prefix("shipdeck-argo-bench-")
        .tempdir()
        .unwrap();
    let mut bench = Bench {
        bin: env!("CARGO_BIN_EXE_shipdeck").to_string(),
        dir: scratch.path().to_path_buf(),
        quick: std::env::var_os("SHIPDECK_BENCH_QUICK").is_some(),
        rows: Vec::new(),
    };
    let date = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string();
    // `cargo bench --bench argo -- list change` runs those parts only.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| part.contains(p.as_str()));
    eprintln!("running: list, change, idle …");
    if wanted("list") {
        bench.list();
    }
    if wanted("change") {
        bench.change();
    }
    if wanted("idle") {
        bench.idle(false);
        bench.idle(true);
    }
    println!(
        "shipdeck on Argo Rollouts — {date} — {}, {COLS}x{ROWS}, release build\n",
        machine()
    );
    drop(scratch);
    table(&bench.rows);
}
