//! shipdeck on a GitHub Actions run end to end, against the fake GitHub on
//! loopback: `shipdeck runs`, `shipdeck do …` and `shipdeck events
//! --github` through the binary as an operator runs them (their output,
//! exit status, the exact requests GitHub received, the journal), the
//! backend through a rate limit that runs out mid-window, and the console
//! in a real terminal. No token appears in anything shipdeck writes.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{BIN, Console, PATIENCE, isolate, scratch};
use fake_github::{
    FakeGithub, Options, RUN_ID, TOKEN_HUBOT, TOKEN_INSTALLATION, TOKEN_OCTOCAT, TOKEN_OUTSIDER,
};
use serde_json::{Value, json};

const REPO: &str = "octo-org/octo-repo";
const TOKENS: [&str; 4] = [
    TOKEN_OCTOCAT,
    TOKEN_HUBOT,
    TOKEN_INSTALLATION,
    TOKEN_OUTSIDER,
];

/// A fake GitHub, a home for shipdeck's files and a config naming it.
struct Github {
    fake: FakeGithub,
    home: tempfile::TempDir,
    config: PathBuf,
}

fn github(extra: &str) -> Github {
    github_scaled(0.01, extra)
}

/// The fake at `scale` (0.01: jobs take a few hundredths of their time).
fn github_scaled(scale: f64, extra: &str) -> Github {
    github_with(scale, fake_github::Scenario::default(), extra)
}

fn github_with(scale: f64, scenario: fake_github::Scenario, extra: &str) -> Github {
    let fake = FakeGithub::start_with(Options {
        time_scale: scale,
        scenario,
        ..Options::default()
    })
    .expect("the fake starts");
    let home = scratch();
    let config = home.path().join("shipdeck.yaml");
    let text = format!(
        "backend:\n  pipeline:\n    kind: github-actions\n    repo: {REPO}\n    api_url: {}\n{extra}",
        fake.url()
    );
    std::fs::write(&config, text).unwrap();
    fake.clear_requests();
    Github { fake, home, config }
}

impl Github {
    /// `shipdeck ARGS --config …` with `token`, as frank.
    fn command(&self, token: &str, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        isolate(&mut command, self.home.path());
        command
            .env("HOME", self.home.path())
            .env("SHIPDECK_OPERATOR", "frank")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN")
            // A loopback API is an Enterprise host to gh, as to shipdeck.
            .env("GH_ENTERPRISE_TOKEN", token)
            .args(args)
            .args(["--config", self.config.to_str().unwrap()]);
        command
    }

    fn run(&self, token: &str, args: &[&str]) -> Output {
        self.command(token, args).output().expect("shipdeck runs")
    }

    fn journal_text(&self) -> String {
        let dir = self.home.path().join("journal");
        let mut text = String::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
        }
        text
    }

    fn journal_lines(&self) -> Vec<Value> {
        self.journal_text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The requests to `path` (without query) by `method`.
    fn sent(&self, method: &str, path: &str) -> Vec<fake_github::Request> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path_only() == path)
            .collect()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Nothing shipdeck wrote holds a token.
fn no_token_in(what: &str, written: &str) {
    for token in TOKENS {
        assert!(!written.contains(token), "{what} holds a token:\n{written}");
    }
}

fn pending_path() -> String {
    format!("/repos/{REPO}/actions/runs/{RUN_ID}/pending_deployments")
}

// ------------------------------------------------------------------- runs

#[test]
fn runs_lists_the_run_waiting_on_my_review_first() {
    let g = github("");
    let out = g.run(TOKEN_OCTOCAT, &["runs", REPO]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() > 3, "{shown}");
    let first = lines[1];
    assert!(
        first.contains(&RUN_ID.to_string()),
        "waiting run first:\n{shown}"
    );
    assert!(first.contains("staging"), "{shown}");
    assert!(shown.contains("you may review"), "{shown}");
    no_token_in("runs' output", &shown);

    // Every request carries what gh sends.
    let requests = g.fake.requests();
    assert!(!requests.is_empty());
    for r in requests.iter().filter(|r| !r.is_log_download()) {
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            auth == format!("token {TOKEN_OCTOCAT}") || auth == format!("Bearer {TOKEN_OCTOCAT}"),
            "{r:?}"
        );
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
        assert!(r.header("user-agent").unwrap().starts_with("shipdeck/"));
    }

    let json = g.run(TOKEN_OCTOCAT, &["runs", REPO, "--format", "json"]);
    assert!(json.status.success(), "{}", text(&json));
    let rows: Value = serde_json::from_slice(&json.stdout).expect("runs --format json is JSON");
    assert!(rows.as_array().is_some_and(|r| !r.is_empty()), "{rows}");
}

#[test]
fn a_token_github_refuses_is_said_plainly_and_never_shown() {
    let g = github("");
    let bad = "ghp_notAToken0000000000000000000000000";
    let out = g.run(bad, &["runs", REPO]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.to_lowercase().contains("token"), "{shown}");
    assert!(
        shown.contains("401") || shown.contains("Bad credentials"),
        "{shown}"
    );
    assert!(!shown.contains(bad), "{shown}");
}

// --------------------------------------------------------------------- do

#[test]
fn do_approve_sends_githubs_review_and_journals_it() {
    let g = github("");
    let staging = g.fake.environment_id("staging").unwrap();
    let out = g.run(
        TOKEN_OCTOCAT,
        &[
            "do",
            "approve",
            "--github",
            REPO,
            "--run",
            &RUN_ID.to_string(),
            "--gate",
            "staging",
            "--comment",
            "dashboards clean",
        ],
    );
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("approve accepted"), "{shown}");
    let posts = g.sent("POST", &pending_path());
    assert_eq!(posts.len(), 1, "one review sent");
    assert_eq!(
        posts[0].body_json().unwrap(),
        json!({"environment_ids": [staging], "state": "approved", "comment": "dashboards clean"})
    );
    assert!(
        posts[0]
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        posts[0].headers
    );
    let journal = g.journal_text();
    assert!(journal.contains("\"command\""), "{journal}");
    assert!(journal.contains("dashboards clean"), "{journal}");
    no_token_in("the journal", &journal);
    no_token_in("do's output", &shown);
}

#[test]
fn a_reviewer_of_one_environment_is_refused_the_other_before_anything_is_sent() {
    let g = github("");
    let out = g.run(
        TOKEN_OCTOCAT,
        &[
            "do",
            "approve",
            "--github",
            REPO,
            "--gate",
            "production",
            "--comment",
            "go",
        ],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(shown.contains("may not review production"), "{shown}");
    assert!(shown.contains("hubot"), "{shown}");
    assert!(g.sent("POST", &pending_path()).is_empty(), "nothing sent");
    // Two environments wait: a review must say which.
    let out = g.run(TOKEN_OCTOCAT, &["do", "approve", "--github", REPO]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("name one"), "{}", text(&out));
}

#[test]
fn an_installation_token_is_told_github_will_not_let_it_review() {
    let g = github("");
    let out = g.run(
        TOKEN_INSTALLATION,
        &["do", "approve", "--github", REPO, "--gate", "staging"],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(shown.contains("installation token"), "{shown}");
    assert!(g.sent("POST", &pending_path()).is_empty());
    no_token_in("do's output", &shown);
}

#[test]
fn rollback_without_a_rollback_workflow_is_refused_with_the_reason() {
    let g = github("");
    // Staging approved: a deployment has gone out.
    g.fake
        .review(RUN_ID, "octocat", "staging", true, "ok")
        .unwrap();
    let out = g.run(TOKEN_OCTOCAT, &["do", "rollback", "--github", REPO]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "{shown}");
    assert!(
        shown.contains("no rollback workflow is configured"),
        "{shown}"
    );
    let dispatches = g
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/dispatches"))
        .count();
    assert_eq!(dispatches, 0);
}

#[test]
fn rollback_dispatches_the_configured_workflow_with_its_inputs() {
    let extra = "    rollback_workflow:\n      workflow: rollback.yml\n      ref: main\n      inputs: { version: previous, reason: p99 }\n";
    let g = github(extra);
    g.fake
        .review(RUN_ID, "octocat", "staging", true, "ok")
        .unwrap();
    let out = g.run(
        TOKEN_OCTOCAT,
        &[
            "do",
            "rollback",
            "--github",
            REPO,
            "--comment",
            "p99 regression",
        ],
    );
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let sent = g.sent(
        "POST",
        &format!("/repos/{REPO}/actions/workflows/rollback.yml/dispatches"),
    );
    assert_eq!(sent.len(), 1, "{:?}", g.fake.requests());
    assert_eq!(
        sent[0].body_json().unwrap(),
        json!({"ref": "main", "inputs": {"version": "previous", "reason": "p99"}})
    );
    // The run still ran: it was cancelled first.
    assert_eq!(
        g.sent(
            "POST",
            &format!("/repos/{REPO}/actions/runs/{RUN_ID}/cancel")
        )
        .len(),
        1
    );
}

#[test]
fn abort_cancels_the_run() {
    let g = github("");
    let out = g.run(TOKEN_OCTOCAT, &["do", "abort", "--github", REPO]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        g.sent(
            "POST",
            &format!("/repos/{REPO}/actions/runs/{RUN_ID}/cancel")
        )
        .len(),
        1
    );
}

// ----------------------------------------------------------------- events

/// `shipdeck events --github` running, its lines read as they come.
struct Events {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Events {
    fn start(g: &Github, token: &str) -> Events {
        Events::spawn(g.command(token, &["events", "--github", REPO]))
    }

    fn spawn(mut command: Command) -> Events {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Ok(value) = serde_json::from_str(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        Events {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(value) => self.seen.push(value),
                Err(_) => panic!("waited for {what}; saw:\n{:#?}", self.seen),
            }
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn gate_is(e: &Value, gate: &str, state: &str) -> bool {
    e["type"] == "gate_changed" && e["gate"] == gate && e["state"] == state
}

#[test]
fn events_follow_the_run_as_someone_else_approves_and_it_finishes() {
    let g = github("");
    let mut events = Events::start(&g, TOKEN_OCTOCAT);
    events.until("the plan and the two open gates", |seen| {
        seen.iter().any(|e| gate_is(e, "staging", "open"))
            && seen.iter().any(|e| gate_is(e, "production", "open"))
    });
    let plan = &events.seen[0];
    assert_eq!(plan["type"], "release_started");
    let stages: Vec<&str> = plan["plan"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages[..2], ["build", "test"], "{stages:?}");

    // Someone else signs both while shipdeck watches.
    g.fake
        .review(RUN_ID, "octocat", "staging", true, "staging looks fine")
        .unwrap();
    g.fake
        .review(RUN_ID, "hubot", "production", true, "ship it")
        .unwrap();
    events.until("production approved by hubot", |seen| {
        seen.iter().any(|e| {
            gate_is(e, "production", "approved")
                && e["signoffs"][0]["operator"] == "hubot"
                && e["signoffs"][0]["comment"] == "ship it"
        })
    });
    events.until("the run's end", |seen| {
        seen.iter().any(|e| e["type"] == "release_finished")
    });
    let finished = events
        .seen
        .iter()
        .find(|e| e["type"] == "release_finished")
        .unwrap();
    assert_eq!(finished["outcome"], "succeeded");
    let status = events.child.wait().unwrap();
    assert!(status.success());

    // Conditional requests: the unchanged answers were 304s, which GitHub
    // does not count.
    let requests = g.fake.requests();
    let conditional = requests
        .iter()
        .filter(|r| r.header("if-none-match").is_some())
        .count();
    assert!(conditional > 0, "no conditional requests");
    assert!(
        g.fake.charged() < requests.len() as u64,
        "every request was charged: {} of {}",
        g.fake.charged(),
        requests.len()
    );
    // The job logs came by the redirect, without the token.
    let downloads: Vec<_> = requests.iter().filter(|r| r.is_log_download()).collect();
    assert!(!downloads.is_empty(), "no log was read");
    assert!(
        downloads
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
    let logged = events
        .seen
        .iter()
        .any(|e| e["type"] == "log" && e["source"] == "build");
    assert!(logged, "the build job's log joins the log pane");
    no_token_in("the journal", &g.journal_text());
    no_token_in(
        "events' output",
        &serde_json::to_string(&events.seen).unwrap(),
    );
    // The journal reads back whole: every event, the grown plan's included.
    let dir = g.home.path().join("journal");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read(&file).unwrap();
    let journal = shipdeck::journal::Journal::from_reader(&text[..]).unwrap();
    assert!(journal.damaged.is_empty(), "{:?}", journal.damaged);
    assert_eq!(journal.events.len(), events.seen.len());
    let report = g.run(TOKEN_OCTOCAT, &["report", file.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&report.stdout).to_string();
    assert!(report.contains("| production | hubot |"), "{report}");
}

#[test]
fn a_rejection_fails_the_release() {
    let g = github("");
    let mut events = Events::start(&g, TOKEN_HUBOT);
    events.until("production open", |seen| {
        seen.iter().any(|e| gate_is(e, "production", "open"))
    });
    let out = g.run(
        TOKEN_HUBOT,
        &[
            "do",
            "reject",
            "--github",
            REPO,
            "--gate",
            "production",
            "--comment",
            "p99 too high",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    events.until("production rejected by hubot", |seen| {
        seen.iter()
            .any(|e| gate_is(e, "production", "rejected") && e["rejection"]["operator"] == "hubot")
    });
    let posts = g.sent("POST", &pending_path());
    assert_eq!(posts[0].body_json().unwrap()["state"], "rejected");
    assert_eq!(posts[0].body_json().unwrap()["comment"], "p99 too high");
}

// ---------------------------------------------------------- rate limits

#[test]
fn a_rate_limit_spent_mid_window_holds_every_request_and_says_so() {
    use shipdeck::backend::Update;
    use shipdeck::github::client::Api;
    let g = github_scaled(100.0, "");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let token = shipdeck::github::token::Token::new(TOKEN_OCTOCAT).unwrap();
        let api = Api::new(g.fake.url(), token).unwrap();
        let target = shipdeck::github::backend::Target {
            repo: REPO.parse().unwrap(),
            run: RUN_ID,
            rollback: None,
            token: shipdeck::github::token::TokenKind::User,
            freezes: Vec::new(),
        };
        let mut handle = shipdeck::github::backend::spawn(api, target, "gh".into(), 1000, None);
        let mut until = async |what: &str, done: &dyn Fn(&Update) -> bool| {
            let deadline = tokio::time::Instant::now() + PATIENCE;
            loop {
                let update = tokio::time::timeout_at(deadline, handle.updates.recv())
                    .await
                    .unwrap_or_else(|_| panic!("waited for {what}"))
                    .expect("the backend runs");
                if done(&update) {
                    return update;
                }
            }
        };
        until("the first events", &|u| matches!(u, Update::Events(_))).await;
        // A job running: looks come every 5 s.
        g.fake
            .review(RUN_ID, "octocat", "staging", true, "ok")
            .unwrap();
        let staging_runs = |u: &Update| match u {
            Update::Events(events) => events.iter().any(|e| {
                matches!(&e.kind, shipdeck::model::EventKind::StageChanged { stage, state, .. }
                    if stage == "deploy-staging" && *state == shipdeck::model::StageState::Running)
            }),
            _ => false,
        };
        until("deploy-staging running", &staging_runs).await;
        // The limit runs out for 12 s; meanwhile someone approves production.
        g.fake.set_rate_limit(0, Duration::from_secs(12));
        g.fake
            .review(RUN_ID, "hubot", "production", true, "go")
            .unwrap();
        let slowed = until("the header told of the limit", &|u| {
            matches!(u, Update::Slowed(Some(_)))
        })
        .await;
        let Update::Slowed(Some(why)) = slowed else {
            unreachable!()
        };
        assert!(why.contains("rate limit"), "{why}");
        // Longer than a busy look's pause: nothing is sent while it holds.
        let held_at = g.fake.requests().len();
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert_eq!(
            g.fake.requests().len(),
            held_at,
            "requests went on while the limit held"
        );
        // Once it lifts: the approval given meanwhile, and the header clear.
        let approved = |u: &Update| match u {
            Update::Events(events) => events.iter().any(|e| {
                matches!(&e.kind, shipdeck::model::EventKind::GateChanged { gate, state, .. }
                    if gate == "production" && *state == shipdeck::model::GateState::Approved)
            }),
            _ => false,
        };
        let first = until("the approval or the lifted limit", &|u| {
            approved(u) || matches!(u, Update::Slowed(None))
        })
        .await;
        match first {
            Update::Slowed(None) => until("production approved", &approved).await,
            _ => until("the limit lifted", &|u| matches!(u, Update::Slowed(None))).await,
        };
    });
}

// ---------------------------------------------------------------- console

#[test]
fn the_console_signs_one_environment_and_is_refused_the_other() {
    let g = github_scaled(100.0, "");
    let home = g.home.path().to_path_buf();
    let config = g.config.to_str().unwrap().to_string();
    let args = ["--github", REPO, "--config", &config];
    let env = [("GH_ENTERPRISE_TOKEN", TOKEN_OCTOCAT)];
    let mut console = Console::open(&home, (160, 40), &args, &env);
    let screen = console.wait_for("GitHub knows you as octocat");
    assert!(screen.contains("build"), "{screen}");
    // A workflow's jobs have no traffic to tell of.
    assert!(!screen.contains("% traffic"), "{screen}");
    console.wait_for("waiting for staging (deploy-staging)");
    no_token_in("the screen", &console.screen());
    // The cursor is on what waits on me: staging. Sign it with a comment.
    console.keys("s");
    console.wait_for("comment");
    console.keys("lgtm\x13");
    console.wait_for("approved staging on GitHub");
    let posts = g.sent("POST", &pending_path());
    assert_eq!(posts.len(), 1, "{:?}", g.fake.requests());
    assert_eq!(posts[0].body_json().unwrap()["comment"], "lgtm");
    // Each waiting job shows its own gate: the running staging job no
    // longer says anything of production's.
    let screen = console.wait_for("▶ deploy-staging");
    let rows: Vec<&str> = screen.lines().collect();
    let at = rows
        .iter()
        .position(|r| r.contains("▶ deploy-staging"))
        .unwrap();
    assert!(!rows[at + 1].contains("waiting for production"), "{screen}");
    // Production is not mine to sign: refused here, nothing sent.
    console.keys("j");
    console.keys("s");
    console.wait_for("octocat may not approve production (approvers: hubot, @octo-org/sre)");
    assert_eq!(g.sent("POST", &pending_path()).len(), 1);
    console.keys("\x1b");
    console.wait_gone("Esc close");
    console.keys("q");
    console.ends_restored(0);
    let journal = g.journal_lines();
    assert!(
        journal
            .iter()
            .any(|l| l["record"] == "operator" && l["operator"] == "octocat"),
        "the journal says GitHub knows frank as octocat"
    );
    no_token_in("the journal", &g.journal_text());
}

#[test]
fn a_tiny_terminal_on_a_run_does_not_panic() {
    let g = github("");
    let config = g.config.to_str().unwrap().to_string();
    let args = ["--github", REPO, "--config", &config];
    let env = [("GH_ENTERPRISE_TOKEN", TOKEN_OCTOCAT)];
    let mut console = Console::start(g.home.path(), (20, 5), &args, &env);
    console.pty.pump(Duration::from_secs(2));
    console.keys("q");
    console.ends_restored(0);
}

// ------------------------------------------------------- a joined window

#[test]
fn a_run_hands_its_canary_to_a_rollout() {
    let kube = fake_kube::FakeKube::start();
    kube.controller(true);
    kube.time_scale(10.0);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/argo");
    kube.load_dir(fixtures.join("canary-paused-step")).unwrap();
    let extra = "    canary:\n      rollout: canary-demo\n      namespace: jesse-test\n      after: deploy-production\n";
    // Jobs of 20 s: the canary runs while deploy-production does.
    let scenario = fake_github::Scenario {
        job_seconds: 20.0,
        production_wait_timer: 0,
        ..Default::default()
    };
    let g = github_with(1.0, scenario, extra);
    let kubeconfig = kube.kubeconfig(g.home.path());
    let mut child = g.command(TOKEN_OCTOCAT, &["events", "--github", REPO]);
    child.env("KUBECONFIG", &kubeconfig);
    let mut events = Events::spawn(child);
    events.until("the two open gates", |seen| {
        seen.iter().any(|e| gate_is(e, "production", "open"))
    });
    let plan = &events.seen[0]["plan"];
    let stages: Vec<&str> = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    let at = stages
        .iter()
        .position(|s| *s == "canary")
        .expect("a canary row");
    assert_eq!(stages[at - 1], "deploy-production", "{stages:?}");
    assert_eq!(
        plan["steps"].as_array().map(Vec::len),
        Some(8),
        "the Rollout's steps: {plan}"
    );
    g.fake
        .review(RUN_ID, "octocat", "staging", true, "ok")
        .unwrap();
    g.fake
        .review(RUN_ID, "hubot", "production", true, "ok")
        .unwrap();
    events.until("deploy-production running", |seen| {
        seen.iter().any(|e| {
            e["type"] == "stage_changed"
                && e["stage"] == "deploy-production"
                && e["state"] == "running"
        })
    });
    // The Rollout's revision in flight is not the canary: nothing joins.
    std::thread::sleep(Duration::from_secs(2));
    while let Ok(value) = events.lines.try_recv() {
        events.seen.push(value);
    }
    assert!(
        !events.seen.iter().any(|e| e["type"] == "canary_step"),
        "the Rollout's earlier revision joined the window: {:#?}",
        events
            .seen
            .iter()
            .map(|e| format!(
                "{} {} {} {} {}",
                e["seq"], e["at"], e["type"], e["stage"], e["state"]
            ))
            .collect::<Vec<_>>()
    );
    // The job sets the new image, as `kubectl argo rollouts set image` does
    // (a merge patch of the spec, which the controller sees).
    let rollout = kube.get("Rollout", "jesse-test", "canary-demo").unwrap();
    let mut containers = rollout["spec"]["template"]["spec"]["containers"].clone();
    containers[0]["image"] = json!("argoproj/rollouts-demo:purple");
    let body = json!({"spec": {"template": {"spec": {"containers": containers}}}});
    patch(
        kube.url(),
        "/apis/argoproj.io/v1alpha1/namespaces/jesse-test/rollouts/canary-demo",
        &body,
    );
    events.until("the canary row running with the Rollout's step", |seen| {
        let running = seen.iter().any(|e| {
            e["type"] == "stage_changed" && e["stage"] == "canary" && e["state"] == "running"
        });
        running && seen.iter().any(|e| e["type"] == "canary_step")
    });
    events.until("the run's end", |seen| {
        seen.iter().any(|e| e["type"] == "release_finished")
    });
    // One window: seqs rise by one from the plan to the end.
    for (i, e) in events.seen.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1, "{e}");
    }
}

/// A merge patch to the fake cluster, as kubectl sends one.
fn patch(base: &str, path: &str, body: &Value) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let body = body.to_string();
    let request = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/merge-patch+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
