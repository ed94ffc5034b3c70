//! The `shipdeck` binary, run as a user would run it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::scratch;

/// The binary, with its journal and config kept in `dir`.
fn shipdeck(dir: &Path) -> Command {
    Command::from_std(common::shipdeck(dir))
}

fn events(dir: &Path, args: &[&str]) -> (Vec<Value>, String) {
    let output = shipdeck(dir).arg("events").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "events {args:?} failed: {stderr}");
    let lines = String::from_utf8(output.stdout).unwrap();
    let values = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (values, stderr)
}

#[test]
fn every_fixture_scenario_checks_clean() {
    let home = scratch();
    let mut paths: Vec<String> = std::fs::read_dir("fixtures/scenarios")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    paths.sort();
    assert!(paths.len() >= 6);
    let out = shipdeck(home.path())
        .arg("check")
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.ends_with(": ok (scenario)"))
            .count(),
        paths.len()
    );
}

#[test]
fn shipped_themes_and_the_example_config_check_clean() {
    let home = scratch();
    let out = shipdeck(home.path())
        .args([
            "check",
            "themes/default.yaml",
            "themes/light.yaml",
            "themes/high-contrast.yaml",
            "themes/production.yaml",
            "docs/config.example.yaml",
            "docs/prometheus/plain.yaml",
            "docs/prometheus/istio.yaml",
            "docs/prometheus/ingress-nginx.yaml",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("ok (theme)").count(), 4, "{stdout}");
    assert_eq!(stdout.matches("ok (config)").count(), 4, "{stdout}");
}

// Mostly a table of files and what each must be told.
#[test]
fn broken_files_are_reported_as_path_line_col_with_exit_status_2() {
    let home = scratch();
    let cases = [
        (
            "fixtures/broken/unknown-key.yaml",
            "fixtures/broken/unknown-key.yaml:6:3: unknown field `deployr`",
        ),
        (
            "fixtures/broken/wrong-type.yaml",
            "fixtures/broken/wrong-type.yaml:17:15: expected a whole number here",
        ),
        (
            "fixtures/broken/weight-140.yaml",
            "fixtures/broken/weight-140.yaml:12:21: a canary weight of 140 is out of range: it must be between 0 and 100",
        ),
        (
            "fixtures/broken/unknown-series.yaml",
            "fixtures/broken/unknown-series.yaml:15:16: unknown series `cpu_usage`",
        ),
        (
            "fixtures/broken/unknown-series.yaml",
            "fixtures/broken/unknown-series.yaml:19:16: latency_p95 is a latency: write the threshold like 500ms or 2s",
        ),
        (
            "fixtures/broken/nobody-may-approve.yaml",
            "fixtures/broken/nobody-may-approve.yaml:19:16: nobody is allowed to approve gate \"production\": its only approver, carol, deployed this release and may not approve it",
        ),
        (
            "fixtures/broken/nobody-may-approve.yaml",
            "fixtures/broken/nobody-may-approve.yaml:24:16: gate \"finance\" needs 2 sign-offs but only 1 person may approve it (frank)",
        ),
        (
            "fixtures/broken/config-bad.yaml",
            "fixtures/broken/config-bad.yaml:5:12: `rollbak` is not an action",
        ),
        (
            "fixtures/broken/config-bad.yaml",
            "fixtures/broken/config-bad.yaml:6:12: `hyper` in `hyper+a` is not a modifier",
        ),
        (
            "fixtures/broken/config-bad.yaml",
            "fixtures/broken/config-bad.yaml:8:33: unknown series `cpu_usage`",
        ),
        (
            "fixtures/broken/theme-bad.yaml",
            "fixtures/broken/theme-bad.yaml:4:17: `#12345` is not a colour",
        ),
        (
            "fixtures/broken/theme-bad.yaml",
            "fixtures/broken/theme-bad.yaml:5:11: `hedaer` is not a style",
        ),
        (
            "fixtures/broken/metrics-bad.yaml",
            "fixtures/broken/metrics-bad.yaml:6:5: metrics step must be at least 1s",
        ),
        (
            "fixtures/broken/metrics-bad.yaml",
            "fixtures/broken/metrics-bad.yaml:6:5: error_rate: one query for every cohort needs $selector",
        ),
        (
            "fixtures/broken/bad-yaml.yaml",
            "fixtures/broken/bad-yaml.yaml:3:9: ",
        ),
    ];
    for (path, expected) in cases {
        let out = shipdeck(home.path())
            .args(["check", path])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.starts_with(expected)),
            "{path}: expected a line starting {expected:?}, got:\n{stderr}"
        );
    }
    // A good file among bad ones is still reported good, and the run still fails.
    let out = shipdeck(home.path())
        .args([
            "check",
            "fixtures/scenarios/happy-canary.yaml",
            "fixtures/broken/weight-140.yaml",
            "no/such/file.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("happy-canary.yaml: ok"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.yaml: cannot read"));
}

/// One run tells every problem of every file: the eight typos of one
/// (its syntax error last), and the next file is still checked.
#[test]
fn check_lists_every_problem_of_every_file_in_one_run() {
    let home = scratch();
    let out = shipdeck(home.path())
        .args([
            "check",
            "fixtures/broken/eight-typos.yaml",
            "fixtures/broken/theme-bad.yaml",
            "fixtures/scenarios/happy-canary.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let told: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("fixtures/broken/eight-typos.yaml:"))
        .collect();
    let places: Vec<String> = told
        .iter()
        .map(|l| l.splitn(3, ':').take(2).collect::<Vec<_>>().join(":"))
        .collect();
    assert_eq!(
        places,
        [
            "7:3", "12:16", "13:21", "16:24", "22:15", "24:5", "26:36", "32:3"
        ],
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("fixtures/broken/theme-bad.yaml:").count(),
        2,
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("happy-canary.yaml: ok (scenario)"));
}

#[test]
fn every_bundled_scenario_runs_to_its_promised_outcome_on_autopilot() {
    let home = scratch();
    let promised = [
        ("happy-canary", "succeeded"),
        ("canary-regression", "rolled_back"),
        ("blue-green", "succeeded"),
        ("rolling", "succeeded"),
        ("approval-rejected", "aborted"),
        ("two-person", "succeeded"),
        ("feature-flag", "succeeded"),
    ];
    for (name, outcome) in promised {
        let (events, _) = events(
            home.path(),
            &["--scenario", name, "--speed", "max", "--autopilot"],
        );
        let last = events.last().unwrap();
        assert_eq!(last["type"], "release_finished", "{name}");
        assert_eq!(last["outcome"], outcome, "{name}");
        assert_eq!(events[0]["type"], "release_started", "{name}");
        for (i, e) in events.iter().enumerate() {
            assert_eq!(
                e["seq"].as_u64(),
                Some(i as u64 + 1),
                "{name}: seq rises by one"
            );
            assert!(
                e["at"].is_string() && e["release"].is_string(),
                "{name}: envelope {e}"
            );
        }
    }
}

#[test]
fn the_same_seed_prints_the_same_stream() {
    let home = scratch();
    let run = |seed: &str| {
        shipdeck(home.path())
            .args([
                "events",
                "--scenario",
                "canary-regression",
                "--speed",
                "max",
                "--autopilot",
                "--seed",
                seed,
            ])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run("9"), run("9"));
    assert_ne!(run("9"), run("10"));
}

#[test]
fn a_scenario_file_by_path_works_like_a_bundled_name() {
    let home = scratch();
    let (by_path, _) = events(
        home.path(),
        &[
            "--scenario",
            "fixtures/scenarios/rolling.yaml",
            "--speed",
            "max",
            "--autopilot",
        ],
    );
    let (by_name, _) = events(
        home.path(),
        &["--scenario", "rolling", "--speed", "max", "--autopilot"],
    );
    assert_eq!(by_path, by_name);
}

#[test]
fn speed_paces_the_stream_against_the_wall_clock() {
    let home = scratch();
    // approval-rejected covers about nine virtual minutes: at 1200x, ~0.45 s.
    let started = Instant::now();
    let (events, _) = events(
        home.path(),
        &[
            "--scenario",
            "approval-rejected",
            "--speed",
            "1200",
            "--autopilot",
        ],
    );
    let elapsed = started.elapsed();
    let first: jiff::Timestamp = events[0]["at"].as_str().unwrap().parse().unwrap();
    let last: jiff::Timestamp = events.last().unwrap()["at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let virtual_secs = last.duration_since(first).as_secs_f64();
    assert!(virtual_secs > 300.0);
    assert!(
        elapsed >= Duration::from_secs_f64(virtual_secs / 1200.0 * 0.9),
        "{elapsed:?} for {virtual_secs}s of virtual time"
    );
}

#[test]
fn unknown_scenarios_and_bad_flags_get_a_clear_message_and_status_2() {
    let home = scratch();
    let out = shipdeck(home.path())
        .args(["events", "--scenario", "happy-canray"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no scenario named \"happy-canray\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("happy-canary"),
        "lists what exists: {stderr}"
    );

    let out = shipdeck(home.path())
        .args(["events", "--speed", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a speed"));

    let out = shipdeck(home.path())
        .args(["events", "--scenario", "fixtures/broken/weight-140.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("weight-140.yaml:12:21:"));
}

#[test]
fn a_reader_that_goes_away_ends_the_stream_quietly() {
    let home = scratch();
    let mut child = common::shipdeck(home.path())
        .args(["events", "--speed", "max", "--autopilot"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("release_started"));
    // stdout is dropped here, like `| head -1`.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn the_console_without_a_terminal_says_what_to_run_instead() {
    let home = scratch();
    let out = shipdeck(home.path())
        .args(["--scenario", "rolling"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the console needs a terminal"), "{stderr}");
    assert!(
        stderr.contains("shipdeck events --scenario rolling"),
        "{stderr}"
    );
}

#[test]
fn scenarios_lists_the_bundled_stories() {
    let home = scratch();
    let out = shipdeck(home.path()).arg("scenarios").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in [
        "happy-canary",
        "canary-regression",
        "blue-green",
        "rolling",
        "approval-rejected",
        "two-person",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(name)),
            "{name}: {stdout}"
        );
    }
}

#[test]
fn without_the_autopilot_events_stops_where_only_a_person_can_go_on() {
    let home = scratch();
    let out = shipdeck(home.path())
        .args(["events", "--scenario", "happy-canary", "--speed", "max"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("waiting for people: \"Staging validation\" waits: 1 item on Staging validation unticked"),
        "{stderr}"
    );
    assert!(stderr.contains("--autopilot"), "{stderr}");
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(!last.contains("release_finished"));
}

#[test]
fn every_headless_window_is_journaled_and_reported() {
    let home = scratch();
    let dir = home.path().join("reported");
    let run = |args: &[&str]| {
        shipdeck(home.path())
            .env("SHIPDECK_JOURNAL_DIR", &dir)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        run(&[
            "events",
            "--scenario",
            "canary-regression",
            "--speed",
            "max",
            "--autopilot"
        ])
        .status
        .success()
    );
    let list = run(&["journal", "list"]);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(
        listing.contains("checkout-api") && listing.contains("rolled_back"),
        "{listing}"
    );
    let report = run(&["report", "latest"]);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let md = String::from_utf8_lossy(&report.stdout);
    assert!(
        md.contains("- Rolled back automatically by rule ErrorRateRollback"),
        "{md}"
    );
    let out = dir.join("report.json");
    let json = run(&[
        "report",
        "latest",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(json.status.success());
    let value: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(value["outcome"], "rolled_back");
    let missing = run(&["report", "/no/such/journal.jsonl"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn a_window_killed_at_any_moment_leaves_a_journal_that_reports() {
    let home = scratch();
    let dir = home.path().join("killed");
    for (i, after_ms) in [150_u64, 700, 1500].into_iter().enumerate() {
        let sub = dir.join(i.to_string());
        let mut child = common::shipdeck(home.path())
            .env("SHIPDECK_JOURNAL_DIR", &sub)
            .args(["events", "--speed", "300", "--autopilot"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let out = shipdeck(home.path())
            .env("SHIPDECK_JOURNAL_DIR", &sub)
            .args(["report", "latest"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "killed after {after_ms}ms: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let md = String::from_utf8_lossy(&out.stdout);
        assert!(
            md.contains("# Deployment Report: checkout-api v2.14.0"),
            "{md}"
        );
        assert!(
            md.contains("Unfinished: the journal ends before the release did"),
            "{md}"
        );
        let list = shipdeck(home.path())
            .env("SHIPDECK_JOURNAL_DIR", &sub)
            .args(["journal", "list"])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&list.stdout).contains("unfinished"));
    }
}

#[test]
fn config_shows_each_value_and_where_it_came_from() {
    let home = scratch();
    let dir = home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        "operator: dave\nkeys:\n  rollback: ctrl+r\nframe_cap: 20\n",
    )
    .unwrap();
    let out = shipdeck(home.path())
        .env("SHIPDECK_FRAME_CAP", "60")
        .args(["config", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("operator ").contains("dave")
            && line("operator ").ends_with(&format!("from {}", config.display())),
        "{text}"
    );
    assert!(
        line("frame_cap").contains("60 fps")
            && line("frame_cap").ends_with("from $SHIPDECK_FRAME_CAP"),
        "{text}"
    );
    assert!(line("keys.rollback").contains("ctrl+r"), "{text}");
    let out = shipdeck(home.path())
        .env("SHIPDECK_OPERATOR", "erin")
        .args([
            "config",
            "--config",
            config.to_str().unwrap(),
            "--operator",
            "frank",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("operator")
                && l.contains("frank")
                && l.ends_with("from --operator"))
    );

    std::fs::write(&config, "operator: dave\nkeys:\n  rollbak: R\n").unwrap();
    let out = shipdeck(home.path())
        .args(["config", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:3:12: `rollbak` is not an action",
            config.display()
        )),
        "{stderr}"
    );
}

#[test]
fn the_journal_folder_defaults_and_the_flag_wins() {
    let home = scratch();
    let run = |command: &mut Command, flags: &[&str]| {
        let out = command
            .args([
                "events",
                "--scenario",
                "approval-rejected",
                "--speed",
                "max",
                "--autopilot",
            ])
            .args(flags)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flags:?}");
    };
    let count = |folder: &Path| std::fs::read_dir(folder).map_or(0, |d| d.count());
    // Without a flag or $SHIPDECK_JOURNAL_DIR: under $XDG_DATA_HOME.
    run(
        shipdeck(home.path()).env_remove("SHIPDECK_JOURNAL_DIR"),
        &[],
    );
    let default = home.path().join("data/shipdeck/journal");
    assert_eq!(count(&default), 1);
    // The flag beats the environment, which names another folder.
    let flagged = home.path().join("flagged");
    run(
        &mut shipdeck(home.path()),
        &["--journal-dir", flagged.to_str().unwrap()],
    );
    assert_eq!(count(&flagged), 1);
    assert_eq!(count(&home.path().join("journal")), 0);
    assert_eq!(count(&default), 1);
}

/// Files no one should have to survive, and shipdeck survives: every one gets
/// exit status 2 and a message, quickly, never a panic or a hang. (Mostly a
/// table of cases.)
#[test]
fn broken_files_of_every_kind_get_a_clear_refusal() {
    let home = scratch();
    let dir = home.path().join("hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..8 {
        bomb.push_str(&format!(
            "a{}: &a{} [{}]\n",
            i + 1,
            i + 1,
            vec![format!("*a{i}"); 10].join(", ")
        ));
    }
    bomb.push_str("release: *a8\n");
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            write("huge.yaml", &b"# filler line\n".repeat(4_000_000)),
            "too large",
        ),
        (
            write("utf8.yaml", b"release:\n  service: \xff\xfe\n"),
            "UTF-8",
        ),
        (
            write(
                "deep.yaml",
                format!("release: {}{}\n", "[".repeat(50_000), "]".repeat(50_000)).as_bytes(),
            ),
            ":1:",
        ),
        (
            write(
                "truncated.yaml",
                b"release:\n  service: checkout\n  from: \"v1",
            ),
            "unclosed",
        ),
        (write("types.yaml", b"release: 42\nstages: {a: b}\n"), ":1:"),
        (write("bomb.yaml", bomb.as_bytes()), ":1:"),
        (write("theme.yaml", b"colors: [1, 2]\n"), ":1:"),
    ];
    for (path, says) in &cases {
        let out = shipdeck(home.path())
            .arg("check")
            .arg(path)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", path.display());
        assert!(err.contains(says), "{}: {err}", path.display());
        assert!(!err.contains("panicked"), "{err}");
    }
    // The same files as what they claim to be.
    for (path, _) in &cases[..4] {
        let out = shipdeck(home.path())
            .args(["events", "--speed", "max", "--scenario"])
            .arg(path)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
        let out = shipdeck(home.path())
            .arg("config")
            .env("SHIPDECK_CONFIG", path)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", path.display());
    }
    // Journals: noise, and a file cut off in its first line.
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for journal in [
        write("noise.jsonl", &noise),
        write("torn.jsonl", b"{\"record\":\"window\",\"vers"),
    ] {
        let out = shipdeck(home.path())
            .arg("report")
            .arg(&journal)
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("not a shipdeck journal"), "{err}");
    }
}

/// What `shipdeck ARGS` says on stderr, and its exit status; a run that
/// takes longer than a person would wait is killed and fails the test.
fn bounded(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let started = Instant::now();
    let out = shipdeck(home)
        .args(args)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{args:?} did not end: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code(), stdout, stderr)
}

/// Files `check` once passed that then made the simulator work without end
/// at one second, panicked at the calendar's end, or asked for what no one
/// would mean: `check` and every loader refuse each, with every reason, at
/// once. (Mostly a table of files and what each must be told.)
#[test]
fn files_no_release_could_keep_are_refused_by_check_and_every_loader() {
    let home = scratch();
    let cases: [(&str, &[&str]); 6] = [
        (
            "fixtures/broken/sub-second.yaml",
            &[
                "9:16: `499ms` is under a second: shipdeck keeps time in whole seconds (write 1s or more)",
                "10:19: `1500ms` is not a whole number of seconds: shipdeck keeps time in whole seconds (write 1s or 2s)",
                "13:41: `250ms` is under a second",
                "15:23: `0.5s` is under a second",
                "17:56: `100ms` is under a second",
                "19:13: `100ms` is under a second",
                "21:44: `10ms` is under a second",
                "21:87: `999ms` is under a second",
            ],
        ),
        (
            "fixtures/broken/calendar-end.yaml",
            &[
                "5:10: the window's start `9999-12-30T22:00:00Z` is out of range: shipdeck keeps times from 1970-01-01 to 9000-01-01",
            ],
        ),
        (
            "fixtures/broken/past-the-calendar.yaml",
            &[
                "4:18: the window's start `9999-12-31T00:00:00Z` is out of range: shipdeck keeps times from 1970-01-01 to 9000-01-01",
            ],
        ),
        (
            "fixtures/broken/window-ends-late.yaml",
            &[
                "3:50: the window would end at 9000-01-01T01:00:00Z, out of range: shipdeck keeps times from 1970-01-01 to 9000-01-01",
            ],
        ),
        (
            "fixtures/broken/meant-by-no-one.yaml",
            &[
                "10:21: the canary weight goes down from 50% to 25%",
                "16:51: a gate needing 1000 sign-offs could not be signed in a window: at most 20",
                "18:34: condition `error_rate > -5%` would fire at once: error_rate is never below zero",
                "19:35: condition `latency_p95 < 0ms` would never fire",
                "20:36: condition `latency_p99 > 0ms` would fire at once: every request takes some time",
                "21:36: condition `availability <= 100%` would fire at once: availability is never above 100%",
                "22:32: condition `error_rate > 150%` would never fire",
                "24:15: throughput must be more than zero requests per second, and at most a billion",
                "25:28: `7200s` is out of range for latency_p95: from 0ms to 1h",
            ],
        ),
        (
            "fixtures/broken/rolling-back-down.yaml",
            &["6:23: the batch goes down from 75% to 50%"],
        ),
    ];
    for (path, told) in cases {
        let loaders: [&[&str]; 4] = [
            &["check", path],
            &[
                "events",
                "--speed",
                "max",
                "--autopilot",
                "--scenario",
                path,
            ],
            &["serve", "--listen", "127.0.0.1:0", "--scenario", path],
            &["--scenario", path],
        ];
        for args in loaders {
            let (code, _, stderr) = bounded(home.path(), args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            for line in told {
                let expected = format!("{path}:{line}");
                assert!(
                    stderr.lines().any(|l| l.starts_with(&expected)),
                    "{args:?}: expected a line starting {expected:?}, got:\n{stderr}"
                );
            }
            assert_eq!(stderr.lines().count(), told.len(), "{args:?}: {stderr}");
        }
    }
    // A config asking for a ring of 2^64-1 lines and times the clock
    // cannot keep: check and every reader of the config refuse it.
    let config = "fixtures/broken/config-huge.yaml";
    let (code, _, stderr) = bounded(home.path(), &["check", config]);
    assert_eq!(code, Some(2), "{stderr}");
    for line in [
        "3:11: log_ring of 18446744073709551615 lines is more than memory holds: at most 10000000 lines a source",
        "4:17: command_expiry: `1500ms` is not a whole number of seconds",
        "8:5: metrics step: `500ms` is under a second",
    ] {
        assert!(stderr.contains(&format!("{config}:{line}")), "{stderr}");
    }
    for args in [&["config"][..], &["events", "--speed", "max"]] {
        let out = shipdeck(home.path())
            .args(args)
            .env("SHIPDECK_CONFIG", config)
            .timeout(Duration::from_secs(20))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("log_ring of 18446744073709551615"),
            "{stderr}"
        );
    }
    let out = shipdeck(home.path())
        .args(["events", "--speed", "max"])
        .env("SHIPDECK_LOG_RING", "18446744073709551615")
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("from 1 to 10000000"));
}

/// A scenario that passes its check and plays until its clock would pass
/// the latest time shipdeck keeps: the simulator stops there and says why,
/// `events` ends with status 1, and the journal it wrote reports and
/// replays whole.
#[test]
fn a_simulator_whose_clock_would_pass_the_latest_time_stops_and_says_why() {
    let home = scratch();
    let path = home.path().join("late.yaml");
    std::fs::write(
        &path,
        "release: { service: s, from: v1, to: v2, deployer: carol }\n\
         window: { start: \"8999-12-31T23:00:00Z\", length: 30m }\n\
         strategy: { canary: { steps: [ { set_weight: 50 }, { pause: 2h }, { set_weight: 100 } ] } }\n\
         stages: [ { id: rollout, kind: rollout } ]\n",
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let (code, _, stderr) = bounded(home.path(), &["check", path]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = bounded(
        home.path(),
        &[
            "events",
            "--speed",
            "max",
            "--autopilot",
            "--scenario",
            path,
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "shipdeck: the simulator stopped before the release finished: its clock would pass 9000-01-01T00:00:00Z, the latest time shipdeck keeps"
    );
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["at"], "9000-01-01T00:00:00Z");
    assert_eq!(last["level"], "error");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .starts_with("the simulator stopped: its clock would pass")
    );
    let (code, report, stderr) = bounded(home.path(), &["report", "latest"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.is_empty(),
        "every line of the journal is used: {stderr}"
    );
    assert!(
        report.contains(
            "- Status: Unfinished: the window closed before the release did (the simulator stopped)"
        ),
        "{report}"
    );
}

/// Journals holding events that cannot be — 255 % of traffic, step 251 of
/// 7, a time at the calendar's end, a seq that goes back, a command from
/// the year 9500 — report and replay without them, naming each line.
#[test]
fn a_journal_of_impossible_events_is_used_without_them_and_says_which() {
    let home = scratch();
    let path = "fixtures/journals/impossible-events.jsonl";
    let (code, report, stderr) = bounded(home.path(), &["report", path]);
    assert_eq!(code, Some(0), "{stderr}");
    for line in [
        "61: not used: the canary_step event at seq 60 gives the new version 255% of traffic",
        "62: not used: the canary_step event at seq 61 is about step 251 of a rollout of 7",
        "63: not used: the log event at seq 62 is at 9999-12-30T22:00:00Z, out of the range shipdeck keeps (1970-01-01 to 9000-01-01)",
        "64: not used: the event at seq 30 comes after seq 59: seqs only rise",
        "65: not used: a command record at 9500-01-01T00:00:00Z, out of the range shipdeck keeps",
    ] {
        assert!(
            stderr.contains(&format!("shipdeck: warning: {path}:{line}")),
            "{line}: {stderr}"
        );
        // The report is Markdown: the event's name is escaped there.
        let in_markdown = line.replace('_', "\\_");
        assert!(
            report.contains(&format!("{path}:{in_markdown}")),
            "{report}"
        );
    }
    assert!(report.contains("Status: Succeeded"), "{report}");
    // Named as not used, and nowhere else.
    assert!(
        report
            .lines()
            .filter(|l| l.contains("255%") || l.contains("step 251"))
            .all(|l| l.contains("not used")),
        "{report}"
    );
    // What a server's stream wrote at the calendar's end: nothing in it can
    // be used, and report and replay say so instead of panicking.
    let path = "fixtures/journals/calendar-end.jsonl";
    for command in ["report", "replay"] {
        let (code, _, stderr) = bounded(home.path(), &[command, path]);
        assert_eq!(code, Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{path}:2: not used: the release_started event at seq 1 is at 9999-12-30T22:00:00Z"
            )),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("and 14 more damaged lines"), "{stderr}");
        assert!(
            stderr.contains(&format!("shipdeck: {path} holds no events to use")),
            "{command}: {stderr}"
        );
    }
}

/// A journal an older shipdeck wrote, whose plan holds a rule `check` now
/// refuses (`availability <= 100%`) and a gate needing 25 sign-offs,
/// reports every line of it.
#[test]
fn a_journal_with_rules_and_gates_an_older_shipdeck_allowed_still_reports() {
    let home = scratch();
    let path = "fixtures/journals/older-rules.jsonl";
    let (code, report, stderr) = bounded(home.path(), &["report", path]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!report.contains("not used"), "{report}");
    assert!(report.contains("**Version**: v5.4.0 → v5.5.0"), "{report}");
}

/// A password in a backend URL is refused wherever a URL is taken, and
/// never repeated; so is a name no person can have, wherever it is given.
#[test]
fn a_backend_url_with_a_password_and_a_name_no_person_can_have_are_refused() {
    let home = scratch();
    let dir = home.path().join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        "backend:\n  pipeline: { kind: http, url: 'http://ops:hunter2@127.0.0.1:7878' }\n",
    )
    .unwrap();
    let refused = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = shipdeck(home.path());
        for (var, value) in env {
            command.env(var, value);
        }
        let out = command.args(args).output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{args:?} was taken: {said}");
        said
    };
    let config = config.to_str().unwrap();
    for said in [
        refused(&["check", config], &[]),
        refused(&["config", "--config", config], &[]),
    ] {
        assert!(said.contains("user or password"), "{said}");
        assert!(
            !said.contains("hunter2"),
            "the password was repeated: {said}"
        );
    }
    let url = "http://ops:hunter2@127.0.0.1:7878";
    for said in [
        refused(&["config"], &[("SHIPDECK_BACKEND", url)]),
        refused(&["events", "--backend", url], &[]),
        refused(&["do", "advance", "--backend", url], &[]),
    ] {
        assert!(
            said.contains("user or password") && said.contains("token"),
            "{said}"
        );
        assert!(
            !said.contains("hunter2"),
            "the password was repeated: {said}"
        );
    }
    for name in [
        "rule:ErrorRateRollback",
        "Shipdeck",
        "carol\u{200b}",
        "\u{202e}lorac",
    ] {
        let said = refused(&["config", "--operator", name], &[]);
        assert!(
            said.contains("the operator's name from --operator"),
            "{name:?}: {said}"
        );
        let said = refused(
            &["events", "--scenario", "happy-canary"],
            &[("SHIPDECK_OPERATOR", name)],
        );
        assert!(said.contains("$SHIPDECK_OPERATOR"), "{name:?}: {said}");
    }
    let scenario = dir.join("lookalike.yaml");
    let two_person = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/two-person.yaml"),
    )
    .unwrap();
    std::fs::write(
        &scenario,
        two_person.replace("deployer: carol", "deployer: \"carol\\u200b\""),
    )
    .unwrap();
    let said = refused(&["check", scenario.to_str().unwrap()], &[]);
    assert!(
        said.contains(
            "the deployer's name: a name may not hold an invisible formatting character (U+200B)"
        ),
        "{said}"
    );
    // The fuzzer's seed of lookalike names: every one is told.
    let seed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/yaml_files/lookalike-names.yaml");
    let said = refused(&["check", seed.to_str().unwrap()], &[]);
    for problem in [
        ":4:53: an approver's name: a name may not hold an invisible formatting character (U+200B)",
        ":4:53: approvers `Carol` and `ｃａｒｏｌ` are one person",
        ":4:53: an approver's name: a name may not mix letters of Latin and Cyrillic",
        ":4:53: an approver's name: a name may not hold a bidirectional control",
        ":9:13: a scripted person's name: `rule:ErrorRateRollback` is a name shipdeck uses for itself",
        ":10:13: a scripted person's name: `Autopilot-2` is a name shipdeck uses for itself",
        ":12:13: the rule's name: a name may not hold an invisible formatting character (U+200B)",
    ] {
        assert!(said.contains(problem), "{problem}: {said}");
    }
}
