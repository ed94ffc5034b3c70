//! Journals written, cut, and read back.

use std::io::Write;

use super::*;
use crate::engine::{Refusal, Verdict};
use crate::journal;
use crate::model::Action;
use crate::sim::{SimOptions, Simulator, bundled, run_to_end, scenario};

fn recorded(name: &str, dir: &Path) -> PathBuf {
    let scenario = scenario::parse(bundled::get(name).unwrap()).unwrap();
    let mut sim = Simulator::new(
        scenario,
        SimOptions {
            autopilot: true,
            ..SimOptions::default()
        },
    );
    let mut writer = Writer::create(
        dir,
        &crate::person("dave"),
        &format!("sim:{name}"),
        "events",
    )
    .unwrap();
    let events = run_to_end(&mut sim, SignedDuration::from_hours(24));
    writer.events(&events).unwrap();
    writer.close("finished").unwrap();
    writer.path().to_path_buf()
}

use jiff::SignedDuration;

#[test]
fn a_journal_reads_back_to_the_same_release() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = recorded("canary-regression", dir);
    let journal = journal::read(&path).unwrap();
    assert!(journal.damaged.is_empty());
    assert_eq!(journal.operator().map(|o| o.as_str()), Some("dave"));
    let release = journal.release();
    assert_eq!(release.outcome(), Some(Outcome::RolledBack));
    assert_eq!(journal.closed.as_ref().unwrap().1, "finished");
}

#[test]
fn commands_and_verdicts_are_on_the_record() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let mut writer = Writer::create(dir, &crate::person("erin"), "sim:x", "console").unwrap();
    let command = Command::new("c-1", crate::person("erin"), Action::Advance);
    writer.command(&command).unwrap();
    writer
        .verdict("c-1", &Verdict::Refused(Refusal::when("not at a pause")))
        .unwrap();
    // No close: a window that ended abruptly.
    let journal = journal::read(writer.path()).unwrap();
    assert_eq!(journal.commands[0].1, command);
    assert_eq!(journal.verdicts[0].id, "c-1");
    assert_eq!(
        journal.verdicts[0].verdict,
        Verdict::Refused(Refusal::when("not at a pause"))
    );
    assert!(journal.closed.is_none());
}

#[test]
fn a_file_cut_anywhere_stays_readable_and_says_so() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = recorded("happy-canary", dir);
    let whole = std::fs::read(&path).unwrap();
    let lines = whole.iter().filter(|b| **b == b'\n').count();
    // Cut at many points, including mid-line and right after a newline.
    for cut in (200..whole.len()).step_by(whole.len() / 97) {
        let cut_path = dir.join(format!("cut-{cut}.jsonl"));
        std::fs::File::create(&cut_path)
            .unwrap()
            .write_all(&whole[..cut])
            .unwrap();
        let journal = journal::read(&cut_path).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        // Torn: the cut left part of a line that is not a whole record.
        let tail_start = whole[..cut]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let tail = &whole[tail_start..cut];
        let torn = !tail.is_empty() && serde_json::from_slice::<Record>(tail).is_err();
        assert_eq!(journal.torn_tail, torn, "cut at {cut}");
        assert!(journal.events.len() < lines);
        // The report can still be written.
        let report = report::build(&journal, journal.warnings(&cut_path));
        assert!(report.markdown().contains("# Deployment Report"));
    }
}

#[test]
fn windows_are_listed_newest_first() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let first = recorded("approval-rejected", dir);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = recorded("canary-regression", dir);
    std::fs::write(dir.join("garbage.jsonl"), "not json at all\n").unwrap();
    let (windows, problems) = list(dir).unwrap();
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0].path, second);
    assert_eq!(windows[1].path, first);
    assert_eq!(windows[0].outcome, Some(Outcome::RolledBack));
    assert_eq!(windows[1].outcome, Some(Outcome::Aborted));
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn the_report_answers_who_approved_who_rolled_back_and_what_the_metrics_did() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = recorded("canary-regression", dir);
    let journal = journal::read(&path).unwrap();
    let report = report::build(&journal, Vec::new());
    assert_eq!(report.outcome, "rolled_back");
    assert_eq!(report.approvals[0].operator, "erin");
    let rollback = report.rollback.as_ref().unwrap();
    assert!(rollback.automatic);
    assert_eq!(rollback.by, "rule:ErrorRateRollback");
    let canary_errors = report
        .metrics
        .iter()
        .find(|m| {
            m.series == crate::model::Series::ErrorRate && m.cohort == crate::model::Cohort::Canary
        })
        .unwrap();
    assert!(canary_errors.worst.unwrap() > 0.10);
    assert_eq!(
        canary_errors.before, None,
        "the new version had no traffic before the rollout"
    );
    let md = report.markdown();
    for needle in [
        "**Version**: v2.14.0 → v2.15.0",
        "- Status: Rolled back",
        "- Rolled back automatically by rule ErrorRateRollback",
        "| Production deploy approval | erin |",
        "## Issues Encountered",
        "## Lessons Learned",
        "| Error rate | new version | — |",
        "### Rollback verification (5/5)",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rollback"]["by"], "rule:ErrorRateRollback");
}

#[test]
fn a_command_recorded_just_before_a_crash_is_in_the_report() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = recorded("happy-canary", dir);
    // The file as a crash would leave it: a rollback on the record, and
    // nothing after it.
    let mut text = std::fs::read_to_string(&path).unwrap();
    let cut = text.find("\"type\":\"release_finished\"").unwrap();
    text.truncate(text[..cut].rfind('\n').unwrap() + 1);
    let command = Record::Command {
        at: jiff::Timestamp::now(),
        wall: None,
        command: Command::new(
            "c-9",
            crate::person("ops"),
            Action::Rollback {
                reason: Some("p99 <b>doubled</b>\n# not a heading".into()),
            },
        ),
    };
    text.push_str(&serde_json::to_string(&command).unwrap());
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    let journal = journal::read(&path).unwrap();
    let report = report::build(&journal, Vec::new());
    let unanswered = report
        .commands
        .iter()
        .find(|c| c.operator == "ops")
        .unwrap();
    assert_eq!(unanswered.command.name(), "rollback");
    let md = report.markdown();
    assert!(
        md.contains("ops asked to rollback; no answer is on the record (the window ended first)"),
        "{md}"
    );
    assert!(md.contains("**Recorded by**: dave (events)"));
    assert!(
        !md.contains("### Rollback verification"),
        "no rollback, no rollback checklist"
    );
}

#[test]
fn what_operators_type_cannot_become_markup_in_the_report() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let mut writer = Writer::create(dir, &crate::person("erin"), "sim:x", "console").unwrap();
    let scenario = scenario::parse(bundled::get("approval-rejected").unwrap()).unwrap();
    let mut sim = Simulator::new(
        scenario,
        SimOptions {
            autopilot: true,
            ..SimOptions::default()
        },
    );
    let mut events = sim.start();
    while !sim
        .release()
        .gates()
        .iter()
        .any(|g| g.state == crate::model::GateState::Open)
    {
        let due = sim.next_due().unwrap();
        events.extend(sim.advance_to(due));
    }
    let reject = Command::new(
        "r1",
        crate::person("dave"),
        Action::Reject {
            gate: None,
            reason: "bad\n\n# Heading\n| a | b |\n<script>x</script> *now*".into(),
        },
    );
    events.extend(sim.submit(reject).1);
    writer.events(&events).unwrap();
    let journal = journal::read(writer.path()).unwrap();
    let md = report::build(&journal, Vec::new()).markdown();
    assert!(!md.contains("\n# Heading"), "{md}");
    assert!(md.contains("\\<script\\>"), "{md}");
    assert!(md.contains("\\*now\\*"), "{md}");
}

#[test]
fn at_the_end_means_after_traffic_last_moved_and_only_with_traffic() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let path = recorded("canary-regression", dir);
    let report = report::build(&journal::read(&path).unwrap(), Vec::new());
    let row = |cohort| {
        report
            .metrics
            .iter()
            .find(|m| m.series == crate::model::Series::ErrorRate && m.cohort == cohort)
            .unwrap()
            .clone()
    };
    assert_eq!(
        row(crate::model::Cohort::Canary).after,
        None,
        "the new version was drained"
    );
    let all = row(crate::model::Cohort::All).after.unwrap();
    assert!(
        all < 0.01,
        "after the rollback all traffic is healthy again: {all}"
    );
}

/// A metrics source's history from before the window (another release's
/// bad hour, say) is a baseline for "before the rollout", never this
/// window's worst.
#[test]
fn history_from_before_the_window_is_never_its_worst() {
    use crate::model::{Cohort, EventKind, Series};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/journals/prometheus-canary-regression.jsonl");
    let mut journal = journal::read(&path).unwrap();
    let stable_errors = |journal: &Journal| {
        report::build(journal, Vec::new())
            .metrics
            .into_iter()
            .find(|r| r.series == Series::ErrorRate && r.cohort == Cohort::Stable)
            .unwrap()
    };
    let without = stable_errors(&journal);
    let mut history = journal.events[0].clone();
    history.at -= jiff::SignedDuration::from_mins(5);
    history.kind = EventKind::Metric {
        series: Series::ErrorRate,
        cohort: Cohort::Stable,
        value: 0.5,
    };
    journal.events.insert(1, history);
    for (n, event) in journal.events.iter_mut().enumerate() {
        event.seq = n as u64 + 1;
    }
    let with = stable_errors(&journal);
    assert_eq!(with.worst, without.worst);
    assert!(with.worst.unwrap() < 0.01, "{with:?}");
    assert!(with.before.unwrap() > without.before.unwrap(), "{with:?}");
}

/// An alert acknowledged from the console is on the record: the command
/// with who and when, the alert's acknowledgement in the report's alerts
/// and timeline; a rule that counted before it fired is in the timeline.
#[test]
fn an_acknowledged_alert_is_in_the_journal_and_the_report_with_who() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let mut writer = Writer::create(
        dir,
        &crate::person("erin"),
        "sim:canary-regression",
        "console",
    )
    .unwrap();
    let scenario = scenario::parse(bundled::get("canary-regression").unwrap()).unwrap();
    let options = SimOptions {
        autopilot: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(scenario, options);
    let mut events = sim.start();
    while sim.release().alerts().is_empty() {
        let due = sim.next_due().unwrap();
        events.extend(sim.advance_to(due));
    }
    let rule = sim.release().alerts()[0].rule.clone();
    let ack = Command::new(
        "erin-1",
        crate::person("erin"),
        Action::Ack { rule: rule.clone() },
    );
    writer.events(&events).unwrap();
    writer.command(&ack).unwrap();
    let (verdict, answered) = sim.submit(ack.clone());
    writer.verdict("erin-1", &verdict).unwrap();
    writer.events(&answered).unwrap();
    writer
        .events(&run_to_end(&mut sim, SignedDuration::from_hours(24)))
        .unwrap();
    writer.close("quit").unwrap();

    let journal = journal::read(writer.path()).unwrap();
    assert_eq!(journal.commands[0].1, ack);
    assert!(matches!(
        journal.verdicts[0].verdict,
        Verdict::Accepted { .. }
    ));
    let report = report::build(&journal, Vec::new());
    let acked = report
        .alerts
        .iter()
        .find(|a| a.state == crate::model::AlertState::Acknowledged)
        .expect("the acknowledgement is among the alerts");
    assert_eq!(
        (acked.rule.as_str(), acked.by.as_ref().map(|b| b.as_str())),
        ("HighErrorRate", Some("erin"))
    );
    assert!(
        report
            .commands
            .iter()
            .any(|c| c.operator == "erin" && c.command.name() == "ack" && c.accepted),
        "{:?}",
        report.commands
    );
    let md = report.markdown();
    for needle in [
        "| HighErrorRate | critical | acknowledged by erin |",
        "| 10:18:00 | Alert HighErrorRate acknowledged by erin: canary error\\_rate 14.23%",
        "| 10:13:30 | Rule ErrorRateRollback breaching: canary error\\_rate 11.56%",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
    }
}

/// A window on virtual time: the simulator's clock runs far from the wall
/// clock's. Every stamp the journal writes is on the release's clock, the
/// wall clock's only beside it, so commands sit among the events they answer.
#[test]
fn the_journal_stamps_its_records_with_the_release_clock_and_the_wall_clock_beside_it() {
    use crate::backend::ReleaseClock;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let scenario = scenario::parse(bundled::get("happy-canary").unwrap()).unwrap();
    let origin: jiff::Timestamp = "2026-11-24T14:00:00Z".parse().unwrap();
    let mut sim = Simulator::new(
        scenario,
        SimOptions {
            origin: Some(origin),
            ..SimOptions::default()
        },
    );
    let mut writer =
        Writer::create(dir, &crate::person("erin"), "sim:happy-canary", "console").unwrap();
    let events = sim.start();
    let last = events.last().unwrap().at;
    writer.events(&events).unwrap();
    // Before the backend's clock is given, the events recorded set it.
    writer
        .command(&Command::new("c-1", crate::person("erin"), Action::Advance))
        .unwrap();
    // Then the backend's own clock, four minutes on and standing.
    let clock = ReleaseClock::default();
    let later = origin + SignedDuration::from_mins(4);
    clock.pace(later, std::time::Instant::now(), 0.0, None);
    writer.keep_time(clock);
    writer
        .verdict("c-1", &Verdict::Refused(Refusal::when("not at a pause")))
        .unwrap();
    writer.close("quit").unwrap();
    let text = std::fs::read_to_string(writer.path()).unwrap();
    let records: Vec<Record> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let wall_now = jiff::Timestamp::now();
    let mut stamped = 0;
    for record in &records {
        let (at, wall) = match record {
            Record::Command { at, wall, .. }
            | Record::Verdict { at, wall, .. }
            | Record::Closed { at, wall, .. } => (*at, wall.unwrap()),
            _ => continue,
        };
        stamped += 1;
        assert!(at == last || at == later, "{record:?}");
        assert!(
            wall_now.duration_since(wall).abs() < SignedDuration::from_mins(1),
            "{record:?}"
        );
    }
    assert_eq!(stamped, 3);
    let journal = journal::read(writer.path()).unwrap();
    assert_eq!(journal.commands[0].0, last);
    assert_eq!(journal.verdicts[0].at, later);
    assert_eq!(journal.closed.unwrap().0, later);
}

/// A console that opened its window before the server said who it is
/// journals the server's word, and a window begun afresh is opened as it.
#[test]
fn the_journal_keeps_the_servers_word_on_who_the_operator_is() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let mut writer =
        Writer::create(dir, &crate::person("root"), "http:127.0.0.1 x", "console").unwrap();
    let dave = crate::person("dave");
    writer.operator_is(&dave).unwrap();
    writer.operator_is(&dave).unwrap();
    let text = std::fs::read_to_string(writer.path()).unwrap();
    let said: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(r#""record":"operator""#))
        .collect();
    assert_eq!(said.len(), 1, "said once: {text}");
    assert!(said[0].contains(r#""operator":"dave""#), "{text}");
    let journal = journal::read(writer.path()).unwrap();
    assert!(journal.damaged.is_empty(), "{:?}", journal.damaged);
    assert_eq!(journal.operator().map(|o| o.as_str()), Some("dave"));
    let report = journal::report::build(&journal, Vec::new());
    assert_eq!(report.recorded_by, "dave (console)");
    // The server starts the release afresh: the new file is dave's from
    // its first line.
    let old = writer.path().to_path_buf();
    writer
        .start_again("the backend started the release afresh")
        .unwrap();
    assert_ne!(writer.path(), old);
    let fresh = journal::read(writer.path()).unwrap();
    match &fresh.window {
        Some(Record::Window { operator, .. }) => assert_eq!(operator.as_str(), "dave"),
        other => panic!("{other:?}"),
    }
}

/// What the journal holds as a name is a name: a line naming someone no
/// person can be (an invisible character) is damaged, not believed.
#[test]
fn a_journal_line_with_a_name_no_person_can_have_is_damaged() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let mut writer = Writer::create(dir, &crate::person("erin"), "sim:x", "console").unwrap();
    writer.close("quit").unwrap();
    let path = writer.path().to_path_buf();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writeln!(
        file,
        r#"{{"record":"operator","at":"2026-11-24T14:00:00Z","operator":"dave\u200b"}}"#
    )
    .unwrap();
    let journal = journal::read(&path).unwrap();
    assert_eq!(journal.damaged.len(), 1, "{:?}", journal.damaged);
    assert!(
        journal.damaged[0].1.contains("U+200B"),
        "{:?}",
        journal.damaged
    );
    assert_eq!(journal.operator().map(|o| o.as_str()), Some("erin"));
}

#[test]
fn a_journal_that_is_not_a_regular_file_is_refused_not_read_forever() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("endless.jsonl");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let err = super::read(&zero).expect_err("a device is no journal");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let fifo = dir.path().join("pipe.jsonl");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        assert!(
            super::read(&fifo).is_err(),
            "a pipe is refused before it is opened"
        );
    }
}

#[test]
fn a_line_longer_than_any_record_is_damage_not_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = recorded("happy-canary", dir.path());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let long = vec![b'x'; shipdeck_core::journal::MAX_LINE + 10];
    file.write_all(&long).unwrap();
    file.write_all(b"\n").unwrap();
    let journal = super::read(&path).unwrap();
    assert_eq!(journal.damaged.len(), 1, "{:?}", journal.damaged);
    assert!(journal.damaged[0].1.contains("longer than 16 MiB"));
}
