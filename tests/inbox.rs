//! `shipdeck inbox --json` end to end, as an operator runs it: three
//! served windows where dave may sign one gate and not another, a gate
//! signed by someone else while the inbox watches, a Rollout paused on the
//! fake cluster with and without the right to patch it, a GitHub run
//! waiting on two environments, a server that is down, and no token in
//! anything shipdeck prints.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{Server, free_port, scratch, shipdeck};
use serde_json::Value;

/// A window waiting at one gate that one of `approvers` must sign.
fn window(dir: &Path, service: &str, approvers: &str) -> PathBuf {
    let text = format!(
        "\
release: {{ service: {service}, from: v1.0.0, to: v1.1.0, deployer: carol }}
strategy:
  canary:
    steps: [ {{ set_weight: 100 }} ]
stages:
  - {{ id: approval, kind: approval, gate: production }}
  - {{ id: canary, kind: rollout }}
  - {{ id: monitoring, kind: monitoring, duration: 1h }}
gates:
  - {{ id: production, name: Production deploy approval, required: 1, approvers: [{approvers}] }}
"
    );
    let path = dir.join(format!("{service}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `shipdeck serve` of a window, in a folder of its own under `dir`.
fn serve(dir: &Path, service: &str, approvers: &str, more: &[&str]) -> Server {
    let scenario = window(dir, service, approvers);
    let mut args = vec!["--scenario", scenario.to_str().unwrap()];
    args.extend(more);
    Server::start(&dir.join(service), &args)
}

fn inbox(dir: &Path, args: &[&str]) -> (Output, Value) {
    let out = shipdeck(dir)
        .args(["inbox", "--json"])
        .args(args)
        .output()
        .expect("shipdeck runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, json)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn field<'a>(items: &'a Value, name: &str) -> Vec<&'a str> {
    items["items"]
        .as_array()
        .map(|all| all.iter().filter_map(|i| i[name].as_str()).collect())
        .unwrap_or_default()
}

fn sign(dir: &Path, server: &Server, who: &str) {
    let out = shipdeck(dir)
        .args(["do", "approve", "--gate", "production", "--comment", "ok"])
        .args(["--backend", &server.url, "--operator", who])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn three_windows_list_mine_first_and_exit_3_until_nothing_waits_on_me() {
    let tmp = scratch();
    let dir = tmp.path();
    let ledger = serve(dir, "ledger-api", "dave, erin", &[]);
    let payments = serve(dir, "payments", "erin, frank", &[]);
    let search = serve(dir, "search", "dave", &[]);
    let all = [
        "--operator",
        "dave",
        "--server",
        &ledger.url,
        "--server",
        &payments.url,
        "--server",
        &search.url,
    ];
    let (out, json) = inbox(dir, &all);
    assert_eq!(out.status.code(), Some(3), "{}{json}", stderr(&out));
    let releases = field(&json, "release");
    assert_eq!(releases.len(), 3, "{json}");
    let mine: Vec<bool> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["mine"].as_bool().unwrap())
        .collect();
    assert_eq!(mine, [true, true, false], "{json}");
    assert!(
        releases[2].starts_with("payments v1.0.0 → v1.1.0"),
        "{json}"
    );
    let theirs = &json["items"][2];
    assert_eq!(theirs["others"], "erin or frank");
    assert_eq!(theirs["what"], "sign Production deploy approval");
    assert_eq!(theirs["source"], payments.url.as_str());
    let act = json["items"][0]["act"].as_str().unwrap();
    assert!(
        act.starts_with("shipdeck do approve --backend http://127.0.0.1:")
            && act.contains(" --release ")
            && act.ends_with(" --gate production"),
        "{act}"
    );
    assert!(
        json["items"][0]["waited_seconds"].as_i64().is_some(),
        "{json}"
    );
    assert_eq!(json["troubles"], Value::Array(Vec::new()));

    // dave signs his two; only the one waiting on others is left.
    sign(dir, &ledger, "dave");
    sign(dir, &search, "dave");
    let (out, json) = inbox(dir, &all);
    assert_eq!(out.status.code(), Some(0), "{}{json}", stderr(&out));
    assert_eq!(field(&json, "source"), [payments.url.as_str()], "{json}");
    assert_eq!(json["mine"], 0);

    // A server that is down is a trouble said on stderr; with nothing
    // waiting elsewhere, the answer is not "all clear" (1), since it may
    // hold something.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let (out, json) = inbox(
        dir,
        &[
            "--operator",
            "dave",
            "--server",
            &dead,
            "--server",
            &payments.url,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}{json}", stderr(&out));
    assert_eq!(json["troubles"][0]["source"], dead.as_str(), "{json}");
    assert!(stderr(&out).contains(&dead), "{}", stderr(&out));
    assert_eq!(field(&json, "source"), [payments.url.as_str()], "{json}");
}

#[tokio::test]
async fn a_gate_signed_by_someone_else_leaves_the_list_at_once() {
    use shipdeck::inbox::{Sources, watch};
    let tmp = scratch();
    let dir = tmp.path();
    let ledger = serve(dir, "ledger-api", "dave, erin", &[]);
    let config = dir.join("empty.yaml");
    std::fs::write(&config, "").unwrap();
    let flags = shipdeck::settings::Flags {
        config: Some(config),
        operator: Some("dave".into()),
        inbox_servers: vec![ledger.url.clone()],
        ..Default::default()
    };
    let settings = shipdeck::settings::resolve(&flags, &|_| None).unwrap();
    let sources = Sources::from_settings(&settings).unwrap();
    let mut feeds = watch(sources, settings.operator.value.clone());
    let within = Duration::from_secs(20);
    let first = tokio::time::timeout(within, feeds.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.source, ledger.url);
    assert_eq!(first.items.len(), 1, "{first:?}");
    assert!(first.items[0].mine);
    // The window runs on (its clock, its metrics): nothing changes for dave.
    let quiet = tokio::time::timeout(Duration::from_secs(3), feeds.recv()).await;
    assert!(quiet.is_err(), "a feed with nothing new: {quiet:?}");
    let url = ledger.url.clone();
    let home = dir.to_path_buf();
    let signed = tokio::task::spawn_blocking(move || {
        let out = shipdeck(&home)
            .args([
                "do",
                "approve",
                "--gate",
                "production",
                "--operator",
                "erin",
            ])
            .args(["--backend", &url])
            .output()
            .unwrap();
        (out.status.success(), std::time::Instant::now())
    });
    let (ok, at) = signed.await.unwrap();
    assert!(ok);
    let next = tokio::time::timeout(Duration::from_secs(5), feeds.recv())
        .await
        .expect("the list changes at once")
        .unwrap();
    assert!(next.items.is_empty(), "{next:?}");
    assert!(next.trouble.is_none(), "{next:?}");
    assert!(at.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_server_with_tokens_is_read_with_its_token_file_which_is_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    const TOKEN: &str = "dave-5b1f0c9e7a2d4c3b8e61";
    let tmp = scratch();
    let dir = tmp.path();
    let tokens = dir.join("tokens.yaml");
    std::fs::write(&tokens, format!("dave: {TOKEN}\n")).unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let ledger = serve(
        dir,
        "ledger-api",
        "dave, erin",
        &["--tokens", tokens.to_str().unwrap()],
    );
    let token_file = dir.join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "inbox:\n  servers: [ {{url: \"{}\", token_file: \"{}\"}} ]\n",
            ledger.url,
            token_file.display()
        ),
    )
    .unwrap();
    // The token says who: not the name given.
    let cfg = [
        "--config",
        config.to_str().unwrap(),
        "--operator",
        "mallory",
    ];
    let (out, json) = inbox(dir, &cfg);
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{printed}");
    assert!(!printed.contains(TOKEN), "{printed}");
    let act = json["items"][0]["act"].as_str().unwrap();
    assert!(act.contains("--token-file"), "{act}");
    let described = shipdeck(dir)
        .args(["config", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let described = String::from_utf8_lossy(&described.stdout).into_owned();
    assert!(described.contains("inbox.servers"), "{described}");
    assert!(!described.contains(TOKEN), "{described}");
    // Without the token the server refuses, said as a trouble.
    let (out, json) = inbox(dir, &["--server", &ledger.url]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        json["troubles"][0]["trouble"]
            .as_str()
            .is_some_and(|t| t.contains("401")),
        "{json}"
    );
}

#[test]
fn nothing_to_read_is_bad_input_that_says_how_to_configure_it() {
    let tmp = scratch();
    let out = shipdeck(tmp.path())
        .args(["inbox", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("inbox: { servers:"),
        "{}",
        stderr(&out)
    );
    let out = shipdeck(tmp.path())
        .args(["inbox", "--json", "--server", "http://deploy.example:7070"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unencrypted"), "{}", stderr(&out));
}

#[test]
fn a_paused_rollout_waits_on_me_when_i_may_patch_it() {
    use fake_kube::FakeKube;
    let kube = FakeKube::start();
    kube.controller(false);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/argo/canary-paused-step");
    kube.load_dir(fixture).unwrap();
    let home = scratch();
    let kubeconfig = kube.kubeconfig(home.path());
    let run = || {
        let out = shipdeck(home.path())
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", home.path())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .args([
                "inbox",
                "--json",
                "--rollouts",
                "jesse-test",
                "--operator",
                "frank",
            ])
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, json)
    };
    let (out, json) = run();
    assert_eq!(out.status.code(), Some(3), "{}{json}", stderr(&out));
    let item = &json["items"][0];
    assert_eq!(item["release"], "Rollout canary-demo (jesse-test)");
    assert_eq!(item["what"], "pause step — promote or abort");
    assert_eq!(item["source"], "rollouts in jesse-test");
    assert_eq!(item["place"]["kind"], "rollout");
    assert_eq!(
        item["act"],
        "shipdeck do promote --rollout canary-demo --namespace jesse-test"
    );
    assert!(item["since"].is_string(), "{item}");
    let asked = kube
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/selfsubjectaccessreviews"))
        .count();
    assert_eq!(asked, 1);

    kube.forbid("patch", "rollouts", "jesse-test");
    let (out, json) = run();
    assert_eq!(out.status.code(), Some(0), "{}{json}", stderr(&out));
    assert_eq!(json["items"][0]["mine"], false, "{json}");
    assert_eq!(json["items"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_run_waiting_on_two_environments_is_mine_for_the_one_i_may_review() {
    use fake_github::{FakeGithub, Options, RUN_ID, TOKEN_OCTOCAT};
    let fake = FakeGithub::start_with(Options::default()).expect("the fake starts");
    let home = scratch();
    let config = home.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "inbox:\n  github: [ {{repo: octo-org/octo-repo, api_url: \"{}\"}} ]\n",
            fake.url()
        ),
    )
    .unwrap();
    let out = shipdeck(home.path())
        .env("HOME", home.path())
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env("GH_ENTERPRISE_TOKEN", TOKEN_OCTOCAT)
        .args(["inbox", "--json", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{printed}");
    assert!(!printed.contains(TOKEN_OCTOCAT), "{printed}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stages = field(&json, "stage");
    assert_eq!(stages, ["staging", "production"], "{json}");
    let (staging, production) = (&json["items"][0], &json["items"][1]);
    assert_eq!(staging["mine"], true);
    assert_eq!(production["mine"], false);
    assert!(
        production["others"]
            .as_str()
            .is_some_and(|o| o.contains("hubot")),
        "{json}"
    );
    assert_eq!(
        staging["act"].as_str().unwrap(),
        format!("shipdeck do approve --github octo-org/octo-repo --run {RUN_ID} --gate staging")
    );
    assert_eq!(staging["place"]["run"], RUN_ID);
    assert!(staging["deadline"]["at"].is_string(), "{json}");
}

/// The screen as an operator meets it: two windows wait on dave; Enter
/// opens the first one's console, he signs there, Esc brings him back to
/// the list, where it is gone; erin signs the other from her shell and it
/// leaves the list at once; q ends it with the terminal restored.
#[test]
fn the_inbox_screen_opens_a_window_and_comes_back_to_a_list_that_keeps_up() {
    use common::Console;
    let tmp = scratch();
    let dir = tmp.path();
    let ledger = serve(dir, "ledger-api", "dave, erin", &[]);
    let search = serve(dir, "search", "dave, erin", &[]);
    let home = dir.join("dave");
    let args = [
        "inbox",
        "--operator",
        "dave",
        "--server",
        &ledger.url,
        "--server",
        &search.url,
    ];
    let mut console = Console::start(&home, (140, 36), &args, &[]);
    let screen = console.wait_for("Inbox — 2 things wait on you");
    assert!(screen.contains("ledger-api v1.0.0 → v1.1.0"), "{screen}");
    assert!(screen.contains("search v1.0.0 → v1.1.0"), "{screen}");
    assert!(screen.contains("also erin"), "{screen}");
    // The first item is under the cursor; Enter opens its window.
    let first = if screen.find("ledger-api").unwrap() < screen.find("search v").unwrap() {
        "ledger-api"
    } else {
        "search"
    };
    console.keys("\r");
    let window = console.wait_for("Stages");
    assert!(window.lines().next().unwrap().contains(first), "{window}");
    console.sign("Production deploy approval", "dave", "ship it");
    console.keys(common::terminal::key::ESCAPE);
    let screen = console.wait_for("Inbox — 1 thing waits on you");
    assert!(!screen.contains(&format!("{first} v1.0.0")), "{screen}");
    // erin signs the other from her shell: it leaves the list at once.
    let other = if first == "search" { &ledger } else { &search };
    sign(dir, other, "erin");
    console.wait_for("Inbox — nothing waits on you");
    console.keys("q");
    console.ends_restored(0);
}
