//! The console in a real terminal (a pseudo-terminal whose screen a VT
//! parser keeps), driven by keys as a person would: it draws, it answers
//! keys, and however it ends — q, SIGTERM, SIGHUP, SIGINT, a panic — it
//! leaves the terminal as it found it.

mod common;

use common::terminal::{Input, Signal, key};
use common::{Console, Server, scratch, shipdeck};
use std::time::Duration;

#[test]
fn q_quits_and_leaves_the_terminal_as_it_found_it() {
    let home = scratch();
    let mut console = Console::open(home.path(), (80, 24), &["--speed", "30"], &[]);
    console.keys("q");
    console.ends_restored(0);
}

/// Stops the console with `signal`; it says so, and ends with `status`.
fn stopped_by(signal: Signal, status: i32) {
    let home = scratch();
    let mut console = Console::open(home.path(), (100, 30), &["--speed", "30"], &[]);
    console.pty.signal(signal);
    console.ends_restored(status);
    let screen = console.screen();
    assert!(
        screen.contains("the terminal is restored"),
        "{signal:?}: {screen}"
    );
}

#[test]
fn sigterm_leaves_the_terminal_as_it_found_it() {
    stopped_by(Signal::TERM, 143);
}

#[test]
fn sighup_and_sigint_leave_the_terminal_as_they_found_it() {
    stopped_by(Signal::HUP, 129);
    stopped_by(Signal::INT, 130);
}

#[test]
fn a_panic_leaves_the_terminal_as_it_found_it() {
    let home = scratch();
    let mut console = Console::start(
        home.path(),
        (100, 30),
        &["--speed", "30"],
        &[("SHIPDECK_DEBUG_PANIC", "1")],
    );
    console.ends_restored(101);
    let screen = console.screen();
    assert!(
        screen.contains("panicking after the first frame"),
        "the panic is reported:\n{screen}"
    );
}

/// A release that waits at its gate for frank, then at a pause.
const GATE_SCENARIO: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 50 }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: approval, kind: approval, gate: production }
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 1h }
gates:
  - { id: production, name: Production deploy approval, approvers: [frank] }
";

#[test]
fn keys_sign_the_gate_advance_the_canary_and_roll_back() {
    let home = scratch();
    let scenario = home.path().join("gate.yaml");
    std::fs::write(&scenario, GATE_SCENARIO).unwrap();
    let mut console = Console::open(
        home.path(),
        (160, 45),
        &["--scenario", scenario.to_str().unwrap()],
        &[],
    );
    console.wait_for("you may sign");
    console.sign(
        "Production deploy approval",
        "frank",
        "Ledger reconciliation checked on staging.",
    );
    console.wait_for("50% traffic");

    console.keys("a");
    console.wait_for("100% traffic");
    console.wait_for("advance: accepted");

    console.roll_back("frank", "monitoring looked wrong");
    console.keys("q");
    console.ends_restored(0);
}

#[test]
fn a_recorded_window_replays_read_only_with_pause_and_seek() {
    let home = scratch();
    let recorded = shipdeck(home.path())
        .args([
            "events",
            "--scenario",
            "canary-regression",
            "--speed",
            "max",
            "--autopilot",
        ])
        .output()
        .unwrap();
    assert!(recorded.status.success());
    let mut console = Console::start(
        home.path(),
        (160, 45),
        &["replay", "latest", "--speed", "30"],
        &[],
    );
    console.wait_for(" REPLAY ");
    console.keys("a");
    console.wait_for("nothing can be changed");
    console.keys(" ");
    console.wait_for("REPLAY · PAUSED");
    for _ in 0..25 {
        console.keys(key::RIGHT);
    }
    console.wait_for("ROLLED BACK (rule:ErrorRateRollback)");
    let screen = console.wait_for("end of recording");
    assert!(!screen.contains("lost"), "{screen}");
    console.keys("q");
    console.ends_restored(0);
}

/// A journal whose events include ones that cannot be (255 % of traffic,
/// step 251 of 7, a time at the calendar's end) replays without them: the
/// screen never draws them, and the recording plays to its end.
#[test]
fn a_journal_of_impossible_events_replays_without_them() {
    let home = scratch();
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/journals/impossible-events.jsonl"
    ))
    .unwrap();
    // The whole recording, and the recording cut off after the impossible
    // events (so they would be the last thing drawn).
    let cut: String = fixture.lines().take(65).map(|l| format!("{l}\n")).collect();
    for (name, text, end) in [("whole", &fixture, "SUCCEEDED"), ("cut", &cut, "step 2/7")] {
        let journal = home.path().join(format!("{name}.jsonl"));
        std::fs::write(&journal, text).unwrap();
        let mut console = Console::start(
            home.path(),
            (160, 45),
            &["replay", journal.to_str().unwrap(), "--speed", "max"],
            &[],
        );
        console.wait_for(" REPLAY ");
        console.wait_for("end of recording");
        let screen = console.wait_for(end);
        for never in ["255", "251", "9999", "end of time"] {
            assert!(!screen.contains(never), "{name}: {never}: {screen}");
        }
        console.keys("q");
        console.ends_restored(0);
    }
}

#[test]
fn keys_rebound_in_the_config_are_the_keys_help_shows() {
    let home = scratch();
    let config = home.path().join("config.yaml");
    std::fs::write(&config, "keys:\n  help: h\n  rollback: ctrl+r\n").unwrap();
    let mut console = Console::open(
        home.path(),
        (160, 45),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    console.keys("h");
    console.wait_for("show or hide this help");
    let screen = console.wait_for("roll back now");
    assert!(
        screen
            .lines()
            .any(|l| l.contains(" h ") && l.contains("show or hide this help")),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains("Ctrl+R") && l.contains("roll back now")),
        "{screen}"
    );
    console.keys(key::ESCAPE);
    // Esc and q read together are Alt+q: let the help close first.
    console.wait_gone("show or hide this help");
    console.keys("q");
    console.ends_restored(0);
}

#[test]
fn two_consoles_share_a_served_window_and_see_each_other_sign() {
    let dir = scratch();
    let scenario = common::two_person(dir.path());
    let served = ["--speed", "30", "--scenario", scenario.to_str().unwrap()];
    let mut server = Server::start(dir.path(), &served);
    let open = |who: &str| {
        Console::open(
            &dir.path().join(who),
            (160, 45),
            &["--backend", &server.url],
            &[("SHIPDECK_OPERATOR", who)],
        )
    };
    let mut dave = open("dave");
    let mut erin = open("erin");
    dave.wait_for("operator dave (with erin)");
    erin.wait_for("operator erin (with dave)");

    dave.sign(
        "Production deploy approval",
        "dave",
        "Ledger checks pass on staging.",
    );
    erin.wait_for("✓ dave");
    erin.sign(
        "Production deploy approval",
        "erin",
        "Reconciliation verified.",
    );
    dave.wait_for("✓ erin");
    dave.wait_for("50% traffic");

    // The server dies: both say so; it comes back: both go on from where
    // they were, the window taken up from its journal.
    let listen = server.address().to_string();
    server.kill();
    erin.wait_for("✗");
    let mut again = served.to_vec();
    again.extend(["--listen", &listen]);
    let _server = Server::start(dir.path(), &again);
    erin.wait_for("● ");
    let screen = erin.wait_for("50% traffic");
    assert!(
        screen.contains("✓ dave") && screen.contains("✓ erin"),
        "{screen}"
    );

    dave.keys("q");
    dave.ends_restored(0);
    erin.wait_gone("(with dave)");
    erin.keys("q");
    erin.ends_restored(0);
}

#[test]
fn followed_logs_join_the_pane_cleaned_of_escape_sequences() {
    let home = scratch();
    let log = home.path().join("app.log");
    std::fs::write(
        &log,
        "first line\n\u{1b}]0;pwned\u{7}ERROR boom \u{1b}[31mred\u{1b}[0m\u{1b}[2J\u{1b}[H after\n",
    )
    .unwrap();
    let mut console = Console::open(
        home.path(),
        (160, 45),
        &[
            "--logs",
            log.to_str().unwrap(),
            "--logs-cmd",
            "echo \"from a command; not a shell\"",
        ],
        &[],
    );
    console.wait_for("ERROR app.log");
    let screen = console.wait_for("ERROR boom red after");
    assert!(screen.contains("from a command; not a shell"), "{screen}");
    // Appended lines follow.
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(file, "WARN appended later").unwrap();
    console.wait_for("appended later");
    assert!(
        console.pty.titles().iter().all(|t| !t.contains("pwned")),
        "a log line retitled the window: {:?}",
        console.pty.titles()
    );
    console.keys("q");
    console.ends_restored(0);
}

#[test]
fn a_token_never_reaches_the_screen_or_the_log_file() {
    use std::os::unix::fs::PermissionsExt;
    const TOKEN: &str = "alice-5f0c9e1d2b7a4c63";
    let dir = scratch();
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(&tokens, format!("alice: {TOKEN}\n")).unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let scenario = common::two_person(dir.path());
    let server = Server::start(
        &dir.path().join("served"),
        &[
            "--tokens",
            tokens.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
    );
    // Named `frank` locally; the token says alice, and the server decides.
    let home = dir.path().join("console");
    let mut console = Console::start(
        &home,
        (160, 45),
        &["--backend", &server.url],
        &[("SHIPDECK_TOKEN", TOKEN)],
    );
    console.pty.keep_transcript();
    console.wait_for("operator alice");
    console.wait_for("the server knows you as alice");
    console.keys("q");
    console.ends_restored(0);
    // Everything the console wrote to the terminal, its journal, the
    // server's, and the console's log file.
    let mut seen = String::from_utf8_lossy(console.pty.transcript()).into_owned();
    for journals in [home.join("journal"), dir.path().join("served/journal")] {
        for entry in std::fs::read_dir(journals).unwrap() {
            seen.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    seen.push_str(&server.stderr());
    let log = std::fs::read_to_string(home.join("state/shipdeck/shipdeck.log")).unwrap();
    assert!(log.contains("console starting"), "the log file was read");
    seen.push_str(&log);
    assert!(!console.pty.transcript().is_empty(), "the screen was read");
    assert!(!seen.contains(TOKEN), "the token leaked");
    // The console's journal says who the server says this is, from its
    // first line on: alice, never the frank the console was started as.
    let journals: Vec<_> = std::fs::read_dir(home.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let journal = std::fs::read_to_string(&journals[0]).unwrap();
    let first: serde_json::Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(first["operator"], "alice", "{journal}");
    assert!(!journal.contains("\"operator\":\"frank\""), "{journal}");
    let read = shipdeck::journal::read(&journals[0]).unwrap();
    assert_eq!(read.operator().map(|o| o.as_str()), Some("alice"));
    let report = shipdeck::journal::report::build(&read, Vec::new());
    assert_eq!(report.recorded_by, "alice (console)");
}

#[test]
fn logs_on_standard_input_leave_the_keys_to_the_terminal() {
    let home = scratch();
    let mut console =
        Console::start_with(home.path(), (160, 45), &["--logs", "-"], &[], Input::Pipe);
    use std::io::Write;
    writeln!(console.pty.input(), "WARN piped in").unwrap();
    console.wait_for("WARN  stdin");
    console.wait_for("piped in");
    // Keys still come from the terminal while the pipe stays open.
    console.keys("?");
    console.wait_for("show or hide this help");
    writeln!(console.pty.input(), "tick").unwrap();
    console.keys("?");
    console.wait_gone("show or hide this help");
    console.keys("q");
    console.ends_restored(0);
}

/// A release whose canary slows down at its pause, so an alert fires and
/// stays firing: the rollout holds until someone advances it.
const ALERT_SCENARIO: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 50 }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 1h }
rules:
  - { name: SlowLedger, condition: \"latency_p95 > 500ms\", for: 30s, severity: warning }
incidents:
  - name: ledger queries slow on the new version
    when: { step: 1, after: 15s }
    cohort: canary
    series: latency_p95
    to: 900ms
    ramp: 15s
";

/// On a served window, `A` acknowledges the firing alert as this operator:
/// the console says by whom, its journal holds it, the report tells it and a
/// replay of the journal shows it again.
#[test]
fn an_alert_acknowledged_over_a_served_window_is_on_the_record() {
    let dir = scratch();
    let scenario = dir.path().join("alert.yaml");
    std::fs::write(&scenario, ALERT_SCENARIO).unwrap();
    let _server = Server::start(
        dir.path(),
        &["--speed", "30", "--scenario", scenario.to_str().unwrap()],
    );
    let home = dir.path().join("dave");
    let mut console = Console::open(
        &home,
        (160, 45),
        &["--backend", &_server.url],
        &[("SHIPDECK_OPERATOR", "dave")],
    );
    console.wait_for("▲ SlowLedger breaching since");
    console.wait_for("A acknowledge");
    console.keys("A");
    console.wait_for("acknowledge SlowLedger: accepted");
    console.wait_for("⚠ SlowLedger fired at");
    console.wait_for("acknowledged by dave");
    console.keys("q");
    console.ends_restored(0);

    let report = shipdeck(&home).args(["report", "latest"]).output().unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("| SlowLedger | warning | acknowledged by dave |"),
        "{report}"
    );
    assert!(
        report.contains("Alert SlowLedger acknowledged by dave"),
        "{report}"
    );

    let mut replay = Console::start(
        &home,
        (160, 45),
        &["replay", "latest", "--speed", "30"],
        &[],
    );
    replay.wait_for(" REPLAY ");
    replay.wait_for("acknowledged by dave");
    replay.keys("A");
    replay.wait_for("nothing can be changed");
    replay.keys("q");
    replay.ends_restored(0);
}

/// The times of day (`HH:MM:SS`) a line of the screen shows, as seconds
/// since midnight.
fn times_of_day(line: &str) -> Vec<i64> {
    let chars: Vec<char> = line.chars().collect();
    chars
        .windows(8)
        .filter(|w| {
            w.iter().enumerate().all(|(i, c)| match i {
                2 | 5 => *c == ':',
                _ => c.is_ascii_digit(),
            })
        })
        .map(|w| {
            let n = |i: usize| {
                i64::from(w[i].to_digit(10).unwrap() * 10 + w[i + 1].to_digit(10).unwrap())
            };
            n(0) * 3600 + n(3) * 60 + n(6)
        })
        .collect()
}

/// How far `b` is after `a` on the clock face, in seconds (0 to a day).
fn later_by(a: i64, b: i64) -> i64 {
    (b - a).rem_euclid(86_400)
}

fn time_of_day(t: jiff::Timestamp) -> i64 {
    t.as_second().rem_euclid(86_400)
}

/// One window, one clock. The release runs on virtual time seven hours off
/// the wall clock: a line from `--logs`, the operator's sign-off in the
/// journal, the report's timeline and the replay all tell the release's
/// time, the wall clock's only beside it in the journal.
#[test]
fn a_window_keeps_one_time_base_live_in_the_journal_the_report_and_the_replay() {
    let home = scratch();
    let scenario = home.path().join("gate.yaml");
    std::fs::write(&scenario, GATE_SCENARIO).unwrap();
    let log = home.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(7 * 60 + 13);
    let start_text = start.round(jiff::Unit::Second).unwrap().to_string();
    let mut console = Console::open(
        home.path(),
        (160, 45),
        &[
            "--scenario",
            scenario.to_str().unwrap(),
            "--start",
            &start_text,
            "--speed",
            "20",
            "--logs",
            log.to_str().unwrap(),
        ],
        &[],
    );
    console.wait_for("you may sign");
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(file, "WARN disk nearly full").unwrap();
    let screen = console.wait_for("disk nearly full");
    let line = screen
        .lines()
        .find(|l| l.contains("disk nearly full"))
        .unwrap();
    let stamped = times_of_day(line)[0];
    let now = screen.lines().find(|l| l.contains(" now ")).unwrap();
    let header_now = *times_of_day(now).last().unwrap();
    // The release's clock at arrival: beside the header's (which ticks a
    // real second, twenty virtual ones, at a time), minutes after the
    // window's start, nowhere near the wall clock.
    assert!(
        later_by(stamped, header_now) <= 40 || later_by(header_now, stamped) <= 40,
        "{line}\n{now}"
    );
    assert!(later_by(time_of_day(start), stamped) < 600, "{line}");

    console.sign("Production deploy approval", "frank", "Disk checked.");
    console.keys("q");
    console.ends_restored(0);

    // The journal: the sign-off is stamped on the release's clock, beside
    // the event that answers it; the wall clock's time is kept apart.
    let journal_dir = home.path().join("journal");
    let path = std::fs::read_dir(&journal_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stamp = |v: &serde_json::Value, key: &str| -> jiff::Timestamp {
        v[key].as_str().unwrap().parse().unwrap()
    };
    let command = records
        .iter()
        .find(|r| r["record"] == "command" && r["command"]["kind"] == "approve")
        .expect("the sign-off is on the record");
    let accepted = records
        .iter()
        .find(|r| {
            r["record"] == "event"
                && r["event"]["type"] == "command_accepted"
                && r["event"]["command"]["id"] == command["command"]["id"]
        })
        .expect("the sign-off was answered")["event"]
        .clone();
    let (at, wall, answered) = (
        stamp(command, "at"),
        stamp(command, "wall"),
        stamp(&accepted, "at"),
    );
    assert!(
        answered.duration_since(at).abs() <= jiff::SignedDuration::from_secs(5),
        "command at {at}, answered at {answered}"
    );
    assert!(
        wall.duration_since(jiff::Timestamp::now()).abs() < jiff::SignedDuration::from_mins(5),
        "{wall}"
    );
    assert!(wall.duration_since(at) > jiff::SignedDuration::from_hours(7));
    for closed in records.iter().filter(|r| r["record"] == "closed") {
        assert!(stamp(closed, "at").duration_since(answered) < jiff::SignedDuration::from_mins(10));
    }

    // The report tells the sign-off at the release's time.
    let signed = format!(
        "| {} | frank signed off Production deploy approval",
        answered.strftime("%H:%M:%S")
    );
    let report = shipdeck(home.path())
        .args(["report", "latest"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains(&signed), "{signed}\n{report}");

    // The replay, stepped moment by moment to the sign-off, stands at the
    // same time: in the status line and the header's clock.
    let mut replay = Console::start(home.path(), (160, 45), &["replay", "latest"], &[]);
    replay.wait_for(" REPLAY ");
    let told = format!(
        "{} · frank signed off Production deploy approval",
        answered.strftime("%H:%M:%S")
    );
    for _ in 0..20 {
        if replay.screen().contains(&told) {
            break;
        }
        replay.keys("]");
        replay.pty.settle(std::time::Duration::from_millis(200));
    }
    let screen = replay.wait_for(&told);
    let screen = if screen.contains(&format!("now {}", answered.strftime("%H:%M:%S"))) {
        screen
    } else {
        replay.wait_for(&format!("now {}", answered.strftime("%H:%M:%S")))
    };
    // Stepping pauses the player there (a short recording may also have
    // reached its end, which the header says instead of "⏸ paused").
    assert!(screen.contains("REPLAY · PAUSED"), "{screen}");
    replay.keys("q");
    replay.ends_restored(0);
}

/// The log pane's title's counts: lines kept that pass, lines received.
fn counts(screen: &str) -> (u64, u64) {
    let title = screen.lines().find(|row| row.contains(" Logs · "));
    let counts = title
        .and_then(|t| t.split(" · ").find(|part| part.contains(" lines")))
        .and_then(|part| part.split_whitespace().next())
        .and_then(|n| n.split_once('/'));
    counts.map_or((0, 0), |(kept, total)| {
        (kept.parse().unwrap_or(0), total.parse().unwrap_or(0))
    })
}

/// The rows of the log pane as the terminal shows them, below its title.
fn log_pane(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|row| !row.contains(" Logs · "))
        .skip(1)
        .take_while(|row| !row.contains('╰') && !row.contains('┗'))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_flood_of_logs_leaves_the_pipeline_findable_and_a_held_view_still() {
    let home = scratch();
    let mut console = Console::open(
        home.path(),
        (160, 45),
        &[
            "--log-ring",
            "2000",
            "--logs-cmd",
            "sh -c 'i=0; while :; do i=$((i+1)); echo \"flood $i\"; done'",
        ],
        &[],
    );
    console.wait_for("flood ");
    // Until the flood has filled its ring and dropped lines.
    let dropped = console.pty.wait_until(Duration::from_secs(20), |s| {
        let (kept, total) = counts(&s.contents());
        total > kept + 10_000
    });
    assert!(dropped.is_some(), "{}", console.screen());
    console.keys("/");
    console.keys("src:build");
    console.keys("\r");
    let screen = console.wait_for("logs filtered by \"src:build\"");
    let pane = log_pane(&screen);
    assert!(
        pane.iter()
            .any(|row| row.contains("checking out checkout-api")),
        "{screen}"
    );
    assert!(pane.iter().all(|row| !row.contains("flood ")), "{screen}");
    // Held (f off), the pane keeps its lines while the flood goes on.
    console.keys(key::ESCAPE);
    console.wait_gone("/src:build");
    console.keys("f");
    let held = log_pane(&console.wait_for("held, "));
    assert!(held.iter().any(|row| row.contains("flood ")), "{held:#?}");
    console.pty.pump(Duration::from_millis(500));
    assert_eq!(log_pane(&console.screen()), held);
    // Its bottom line, whole, in a box.
    console.keys("\r");
    console.wait_for("Log line");
    console.keys(key::ESCAPE);
    console.wait_gone("Log line");
    console.keys("q");
    console.ends_restored(0);
}
