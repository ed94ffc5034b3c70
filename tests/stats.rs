//! `shipdeck stats` on a journal folder with a known answer: releases run
//! through the real engine at chosen times, journaled by the real writer.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use shipdeck::engine::Engine;
use shipdeck::journal::Writer;
use shipdeck::model::{
    Action, Approvers, Command, GatePlan, Outcome, Person, ReleasePlan, Rule, StageKind, StagePlan,
    Status, Step, StepKind, Strategy,
};

mod common;

/// The period's end: every release below is dated back from it.
const UNTIL: &str = "2026-11-30T12:00:00Z";

fn until() -> Timestamp {
    UNTIL.parse().unwrap()
}

fn days_ago(days: i64) -> Timestamp {
    until() - SignedDuration::from_hours(24 * days)
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn person(name: &str) -> Person {
    Person::new(name).unwrap()
}

/// A release of `service`: a production gate (anyone may sign it), then a
/// canary to 50%, a pause until advanced, and 100%.
fn plan(service: &str, id: &str) -> ReleasePlan {
    let strategy = Strategy::Canary {
        steps: vec![
            Step::plain(StepKind::SetWeight { weight: 50 }),
            Step::plain(StepKind::Pause { duration: None }),
            Step::plain(StepKind::SetWeight { weight: 100 }),
        ],
    };
    let stage = |id: &str, kind| StagePlan {
        id: id.into(),
        name: id.into(),
        kind,
        expected: None,
        gate: None,
        checklist: None,
    };
    ReleasePlan {
        id: id.into(),
        service: service.into(),
        version_from: "v1".into(),
        version_to: "v2".into(),
        environment: "production".into(),
        deployer: person("carol"),
        steps: strategy.steps(),
        strategy,
        stages: vec![
            StagePlan {
                gate: Some("production".into()),
                ..stage("approval", StageKind::Approval)
            },
            stage("canary", StageKind::Rollout),
        ],
        gates: vec![GatePlan {
            id: "production".into(),
            name: "Production".into(),
            required: 1,
            approvers: Approvers::any(),
            self_approval: true,
        }],
        checklists: Vec::new(),
        rules: Vec::<Rule>::new(),
        rollback_checklist: None,
        window: None,
        decided_by: None,
        freezes: Vec::new(),
    }
}

/// How a release goes after it starts.
enum Story {
    /// Signed after this long, and advanced at once.
    Succeeds(SignedDuration),
    /// Signed, then rolled back, the rollback done `(signed, rolled, done)`.
    RollsBack(SignedDuration, SignedDuration, SignedDuration),
    /// Rejected at the gate after this long: aborted.
    Rejected(SignedDuration),
}

/// Runs one release through the engine and journals it in `dir`; gives
/// its events and when it ended.
fn run(
    dir: &Path,
    service: &str,
    id: &str,
    start: Timestamp,
    story: &Story,
) -> (Vec<shipdeck::model::Event>, Timestamp, Status) {
    let mut engine = Engine::new(plan(service, id), 1000);
    engine.start(start);
    let dave = person("dave");
    let give = |engine: &mut Engine, n: u32, action: Action, at: Timestamp| {
        let verdict = engine.handle(Command::new(format!("{id}-{n}"), dave.clone(), action), at);
        assert!(verdict.is_accepted(), "{verdict:?}");
    };
    let approve = Action::Approve {
        gate: None,
        comment: None,
    };
    match story {
        Story::Succeeds(signed) => {
            give(&mut engine, 1, approve, start + *signed);
            give(&mut engine, 2, Action::Advance, start + *signed);
        }
        Story::RollsBack(signed, rolled, done) => {
            give(&mut engine, 1, approve, start + *signed);
            let rollback = Action::Rollback {
                reason: Some("p99 doubled".into()),
            };
            give(&mut engine, 2, rollback, start + *rolled);
            engine.finish_rollback(start + *done);
        }
        Story::Rejected(after) => {
            let reject = Action::Reject {
                gate: None,
                reason: "not today".into(),
            };
            give(&mut engine, 1, reject, start + *after);
        }
    }
    let ended = engine.release().finished_at().expect("the release ended");
    let status = engine.release().status();
    let events = engine.take_events();
    let mut writer = Writer::create(dir, &person("erin"), &format!("sim:{id}"), "console").unwrap();
    writer.events(&events).unwrap();
    writer.close("ended").unwrap();
    (events, ended, status)
}

fn stats(dir: &Path, args: &[&str]) -> (String, String) {
    let out = common::shipdeck(dir)
        .args(["stats", "--journal-dir"])
        .arg(dir.join("journal"))
        .args(["--until", UNTIL])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn stats_count_each_release_once_and_give_the_known_figures() {
    let scratch = common::scratch();
    let dir = scratch.path();
    let journals = dir.join("journal");
    // payments: signed after 10m, succeeds (9 days ago; recorded twice, by
    // a console and by a server); signed after 20m, rolled back (5 days
    // ago); signed after 30m, succeeds 2h 30m after that rollback ended.
    let succeeded = Status::Finished(Outcome::Succeeded);
    let story = Story::Succeeds(mins(10));
    let (first, _, status) = run(&journals, "payments", "pay-1", days_ago(9), &story);
    assert_eq!(status, succeeded);
    let mut copy = Writer::create(&journals, &person("erin"), "serve", "serve").unwrap();
    copy.events(&first).unwrap();
    drop(copy);
    let story = Story::RollsBack(mins(20), mins(25), mins(30));
    let (_, failed, status) = run(&journals, "payments", "pay-2", days_ago(5), &story);
    assert_eq!(status, Status::Finished(Outcome::RolledBack));
    let third_start = failed + SignedDuration::from_hours(2);
    let story = Story::Succeeds(mins(30));
    let (_, restored, status) = run(&journals, "payments", "pay-3", third_start, &story);
    assert_eq!(status, succeeded);
    assert_eq!(
        restored.duration_since(failed),
        mins(150),
        "restored 2h 30m later"
    );
    // search: rejected at its gate 3 days ago, nothing after it.
    let story = Story::Rejected(mins(5));
    let (_, _, status) = run(&journals, "search", "search-1", days_ago(3), &story);
    assert_eq!(status, Status::Finished(Outcome::Aborted));
    // Before the period: not counted.
    run(
        &journals,
        "search",
        "search-0",
        days_ago(40),
        &Story::Succeeds(mins(1)),
    );
    // A damaged journal counts with what it holds.
    let damaged = std::fs::read_dir(&journals)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains("search-1"))
        .unwrap();
    let mut text = std::fs::read_to_string(&damaged).unwrap();
    text.push_str("{\"record\": \"event\", \"torn\n");
    std::fs::write(&damaged, text).unwrap();

    let (json, said) = stats(dir, &["--format", "json"]);
    assert!(
        said.contains("damaged line(s); counted with what it holds"),
        "{said}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    // Succeeded in the 30 days: pay-1 (once) and pay-3.
    assert_eq!(v["deployment_frequency"]["succeeded"], 2);
    assert_eq!(v["deployment_frequency"]["days"], 30.0);
    let per_day = v["deployment_frequency"]["per_day"].as_f64().unwrap();
    assert!((per_day - 2.0 / 30.0).abs() < 1e-9, "{per_day}");
    // Rolled back or aborted over all that finished: pay-2 and search-1 of four.
    assert_eq!(v["releases"]["finished"], 4);
    assert_eq!(v["change_failure_rate"], 0.5);
    let restore = &v["time_to_restore"];
    assert_eq!(restore["restored"], 1);
    assert_eq!(restore["not_restored"], 1, "search has not succeeded since");
    assert_eq!(restore["median"]["seconds"], 9000);
    assert_eq!(restore["max"]["text"], "2h 30m");
    let wait = &v["approval_wait"];
    assert_eq!(wait["approved"], 3);
    assert_eq!(wait["median"]["seconds"], 1200);
    assert_eq!(wait["p90"]["seconds"], 1800);
    assert_eq!(wait["max"]["text"], "30m");
    let services = v["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    let payments = &services[0];
    assert_eq!(payments["service"], "payments");
    let cfr = payments["change_failure_rate"].as_f64().unwrap();
    assert!((cfr - 1.0 / 3.0).abs() < 1e-9, "{cfr}");
    assert_eq!(services[1]["service"], "search");
    assert_eq!(services[1]["change_failure_rate"], 1.0);
    assert_eq!(services[1]["deployment_frequency"]["succeeded"], 0);

    let (table, _) = stats(dir, &[]);
    let row = |name: &str| -> Vec<String> {
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} row:\n{table}"));
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(
        row("payments"),
        [
            "payments", "3", "2", "0.07", "33%", "2h 30m", "2h 30m", "20m", "30m", "30m"
        ],
        "{table}"
    );
    assert_eq!(
        row("search"),
        [
            "search",
            "1",
            "0",
            "0.00",
            "100%",
            "— (+1 not restored)",
            "—",
            "—",
            "—",
            "—"
        ],
        "{table}"
    );
    assert_eq!(
        row("all"),
        [
            "all",
            "4",
            "2",
            "0.07",
            "50%",
            "2h 30m (+1 not restored)",
            "2h 30m",
            "20m",
            "30m",
            "30m"
        ],
        "{table}"
    );

    let (one, _) = stats(dir, &["--service", "search", "--format", "json"]);
    let v: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(v["service"], "search");
    assert_eq!(v["releases"]["finished"], 1);
    assert!(v["approval_wait"]["median"].is_null());
}

#[test]
fn stats_help_defines_each_figure() {
    let scratch = common::scratch();
    let out = common::shipdeck(scratch.path())
        .args(["stats", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for figure in [
        "deployment frequency",
        "change failure rate",
        "time to restore",
        "approval wait",
        "counts once",
    ] {
        assert!(help.contains(figure), "{figure}:\n{help}");
    }
}
