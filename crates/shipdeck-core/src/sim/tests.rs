//! The simulator plays whole releases; these tests watch them.

use super::*;
use crate::model::names::person;
use crate::model::{Cohort, GateState, Outcome, Series, StageState, Status};

const DAY: SignedDuration = SignedDuration::from_hours(24);

fn bundled_scenario(name: &str) -> Scenario {
    scenario::parse(bundled::get(name).unwrap()).unwrap_or_else(|p| panic!("{name}: {p:?}"))
}

fn play(name: &str, seed: u64, autopilot: bool) -> (Simulator, Vec<Event>) {
    let options = SimOptions {
        seed,
        autopilot,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(bundled_scenario(name), options);
    let events = run_to_end(&mut sim, DAY);
    (sim, events)
}

#[test]
fn every_bundled_scenario_ends_as_its_story_promises_on_autopilot() {
    let promised = [
        ("happy-canary", Outcome::Succeeded),
        ("canary-regression", Outcome::RolledBack),
        ("blue-green", Outcome::Succeeded),
        ("rolling", Outcome::Succeeded),
        ("approval-rejected", Outcome::Aborted),
        ("two-person", Outcome::Succeeded),
        ("feature-flag", Outcome::Succeeded),
    ];
    assert_eq!(promised.len(), bundled::SCENARIOS.len());
    for (name, outcome) in promised {
        let (sim, events) = play(name, 1, true);
        assert_eq!(sim.release().outcome(), Some(outcome), "{name}");
        let last = events.last().unwrap();
        assert_eq!(last.kind, EventKind::ReleaseFinished { outcome }, "{name}");
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1, "{name}: seq rises by one");
        }
        assert!(
            events.windows(2).all(|w| w[0].at <= w[1].at),
            "{name}: time never runs backwards"
        );
    }
}

#[test]
fn the_same_seed_plays_the_same_release_and_another_seed_another() {
    let (_, a) = play("happy-canary", 42, true);
    let (_, b) = play("happy-canary", 42, true);
    let (_, c) = play("happy-canary", 43, true);
    let json = |events: &[Event]| serde_json::to_string(events).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_ne!(json(&a), json(&c));
}

#[test]
fn the_canary_regression_is_rolled_back_by_the_rule_not_by_a_person() {
    let (sim, events) = play("canary-regression", 1, true);
    let rollback = sim.release().rollback.clone().unwrap();
    assert_eq!(rollback.by, "rule:ErrorRateRollback");
    // The incident starts 30 s into step 3 (25 %), ramps for 90 s, and the
    // rule needs five minutes above 10 %.
    let step3 = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::CanaryStep { step: 2, .. }))
        .unwrap()
        .at;
    let after = rollback.started_at.duration_since(step3);
    assert!(
        after >= SignedDuration::from_mins(5) && after <= SignedDuration::from_mins(8),
        "{after:?}"
    );
    let worst = sim
        .release()
        .metrics
        .get(Series::ErrorRate, Cohort::Canary)
        .unwrap()
        .samples()
        .map(|s| s.value)
        .fold(0.0, f64::max);
    assert!(
        (0.12..0.16).contains(&worst),
        "the canary's error rate climbs to ~14%: {worst}"
    );
    let stable_worst = sim
        .release()
        .metrics
        .get(Series::ErrorRate, Cohort::Stable)
        .unwrap()
        .samples()
        .map(|s| s.value)
        .fold(0.0, f64::max);
    assert!(stable_worst < 0.01, "stable stays healthy: {stable_worst}");
    let rollback_checks = sim.release().checklist("rollback-verification").unwrap();
    assert!(rollback_checks.is_complete(), "the rollback is verified");
}

#[test]
fn without_an_operator_the_release_waits_at_its_manual_steps_and_goes_on_when_told() {
    let mut sim = Simulator::new(bundled_scenario("happy-canary"), SimOptions::default());
    run_to_end(&mut sim, SignedDuration::from_hours(3));
    let release = sim.release();
    assert!(release.status.in_flight(), "nobody ticked the manual items");
    let waiting = release.current_stage().unwrap();
    assert_eq!(waiting.plan.id, "staging-validation");
    assert_eq!(waiting.state, StageState::Waiting);

    let (verdict, _) = sim.submit(Command::new(
        "tick-config",
        person("carol"),
        Action::Check {
            list: "staging-validation".into(),
            item: "config".into(),
        },
    ));
    assert!(verdict.is_accepted(), "{verdict:?}");
    let later = sim.now() + SignedDuration::from_hours(3);
    sim.advance_to(later);
    let release = sim.release();
    assert_eq!(release.current_stage().unwrap().plan.id, "approval");
    assert_eq!(
        release.gate("production").unwrap().state,
        GateState::Approved,
        "dave signed"
    );

    for item in ["bugs", "review", "docs", "release-notes"] {
        let command = Command::new(
            format!("tick-{item}"),
            person("carol"),
            Action::Check {
                list: "pre-deployment".into(),
                item: item.into(),
            },
        );
        let (verdict, _) = sim.submit(command);
        assert!(verdict.is_accepted(), "{item}: {verdict:?}");
    }
    assert_eq!(sim.release().current_stage().unwrap().plan.id, "canary");
    assert_eq!(sim.release().rollout.weight, 5);
}

#[test]
fn the_autopilot_signs_a_gate_nobody_is_scripted_to_sign() {
    let mut scenario = bundled_scenario("happy-canary");
    scenario.script.actors.clear();
    let options = SimOptions {
        autopilot: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(scenario, options);
    run_to_end(&mut sim, DAY);
    let gate = sim.release().gate("production").unwrap();
    assert_eq!(gate.signoffs[0].operator, AUTOPILOT);
    assert_eq!(sim.release().outcome(), Some(Outcome::Succeeded));
    let approvers = &sim.release().plan.as_ref().unwrap().gates[0].approvers;
    assert!(
        approvers.includes(&person(AUTOPILOT)),
        "the plan says the autopilot may sign"
    );
}

#[test]
fn the_two_person_story_refuses_the_deployer_and_counts_dave_once() {
    let (sim, events) = play("two-person", 1, true);
    let refusals: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::CommandRejected { command, reason } => {
                Some(format!("{}: {reason}", command.operator))
            }
            _ => None,
        })
        .collect();
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert_eq!(
        refusals[0],
        "carol: carol deployed this release and cannot approve it"
    );
    assert!(
        refusals[1].starts_with("dave: dave has already signed"),
        "{}",
        refusals[1]
    );
    let gate = sim.release().gate("production").unwrap();
    let names: Vec<&str> = gate.signoffs.iter().map(|s| s.operator.as_str()).collect();
    assert_eq!(names, ["dave", "erin"]);
}

#[test]
fn a_commanded_rollback_mid_canary_drains_the_new_version() {
    let options = SimOptions {
        autopilot: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(bundled_scenario("happy-canary"), options);
    sim.start();
    while sim.release().rollout.weight < 25 {
        let due = sim.next_due().unwrap();
        sim.advance_to(due);
    }
    let (verdict, events) = sim.submit(Command::new(
        "r1",
        person("carol"),
        Action::Rollback {
            reason: Some("checkout p99 doubled on the canary".into()),
        },
    ));
    assert!(verdict.is_accepted());
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::RollbackStarted { .. }))
    );
    let rest = run_to_end(&mut sim, DAY);
    assert_eq!(sim.release().outcome(), Some(Outcome::RolledBack));
    let canary_after = rest.iter().any(|e| {
        matches!(
            e.kind,
            EventKind::Metric {
                cohort: Cohort::Canary,
                ..
            }
        ) && e.at > sim.release().rollback.as_ref().unwrap().started_at
    });
    assert!(
        !canary_after,
        "no traffic reaches the new version after the rollback"
    );
    let cancelled: Vec<&str> = rest
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log {
                stage: Some(stage),
                message,
                ..
            } if sim.release().stage(stage).unwrap().state == StageState::Cancelled => {
                Some(message.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(
        cancelled.is_empty(),
        "a cancelled stage logs on: {cancelled:?}"
    );
}

#[test]
fn the_rollback_key_before_production_stops_the_release_and_its_stage_goes_quiet() {
    let mut sim = Simulator::new(bundled_scenario("happy-canary"), SimOptions::default());
    sim.start();
    while sim.release().current_stage().map(|s| s.plan.id.as_str()) != Some("test") {
        let due = sim.next_due().unwrap();
        sim.advance_to(due);
    }
    let rollback = Action::Rollback { reason: None };
    let (verdict, _) = sim.submit(Command::new("r1", person("erin"), rollback));
    assert!(verdict.is_accepted());
    let rest = run_to_end(&mut sim, DAY);
    assert_eq!(sim.release().outcome(), Some(Outcome::Aborted));
    assert_eq!(sim.release().stopped().unwrap().by, "erin");
    assert!(
        !rest.iter().any(|e| matches!(e.kind, EventKind::Log { .. })),
        "the build's test run logs on after the stop: {rest:?}"
    );
}

#[test]
fn the_autopilot_finds_as_many_distinct_reviewers_as_a_gate_needs() {
    let mut scenario = bundled_scenario("two-person");
    scenario.script.actors.clear();
    let options = SimOptions {
        autopilot: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(scenario, options);
    run_to_end(&mut sim, DAY);
    assert_eq!(sim.release().outcome(), Some(Outcome::Succeeded));
    let gate = sim.release().gate("production").unwrap();
    let names: Vec<&str> = gate.signoffs.iter().map(|s| s.operator.as_str()).collect();
    assert_eq!(names, ["autopilot", "autopilot-2"]);
}

#[test]
fn an_incident_can_start_at_a_time_rather_than_a_step() {
    let text = bundled::get("canary-regression")
        .unwrap()
        .replace("when: { step: 3, after: 30s }", "when: { at: 12m }");
    let scenario = scenario::parse(&text).unwrap();
    let options = SimOptions {
        autopilot: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(scenario, options);
    run_to_end(&mut sim, DAY);
    assert_eq!(sim.release().outcome(), Some(Outcome::RolledBack));
    assert_eq!(
        sim.release().rollback.as_ref().unwrap().by,
        "rule:ErrorRateRollback"
    );
}

#[test]
fn without_people_the_simulator_says_it_is_stalled_and_on_what() {
    let mut sim = Simulator::new(bundled_scenario("happy-canary"), SimOptions::default());
    sim.start();
    assert!(!sim.stalled(), "the build is running");
    while !sim.stalled() {
        let due = sim.next_due().unwrap();
        sim.advance_to(due);
    }
    assert_eq!(
        sim.release().waiting_for().unwrap(),
        "\"Staging validation\" waits: 1 item on Staging validation unticked"
    );
}

/// With metrics from a Prometheus, the simulator's own samples reach no rule
/// and no event; what it is given does, and rolls the canary back. (One
/// story from history to rollback, told in order, so it runs long.)
#[test]
fn external_metrics_are_what_the_rules_judge() {
    let options = SimOptions {
        autopilot: true,
        external_metrics: true,
        keep_traffic: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(bundled_scenario("canary-regression"), options);
    let origin = sim.origin();
    let mut events = sim.start();
    // History from before the window: shown at its own time, judged by no rule.
    let before = origin - SignedDuration::from_mins(5);
    events.extend(sim.backfill(&[
        MetricPoint {
            at: before,
            series: Series::ErrorRate,
            cohort: Cohort::Stable,
            value: 0.5,
        },
        // A point from the window's own time is not history.
        MetricPoint {
            at: origin + SignedDuration::from_secs(1),
            series: Series::ErrorRate,
            cohort: Cohort::Stable,
            value: 0.9,
        },
    ]));
    let history: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Metric { .. }))
        .collect();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].at, before);
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.kind, EventKind::Alert { .. }))
    );
    // Until the canary has traffic, the service runs but reports nothing.
    let mut at = origin;
    while !sim.release().rollout.began {
        at += SignedDuration::from_secs(15);
        events.extend(sim.advance_to(at));
        assert!(at < origin + DAY, "the rollout never began");
    }
    assert!(
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Metric { .. }))
            .count()
            == 1,
        "the simulator's own samples are not the release's metrics"
    );
    assert!(
        sim.take_traffic()
            .iter()
            .any(|p| p.series == Series::Throughput && p.cohort == Cohort::Stable),
        "the service still serves traffic, for /metrics"
    );
    // A bad canary, as Prometheus would report it, for longer than the
    // rule's hold: the rule fires and rolls back.
    while sim.release().status == Status::Running || sim.release().status == Status::Paused {
        at += SignedDuration::from_secs(15);
        events.extend(sim.advance_to(at));
        events.extend(sim.observe(Series::ErrorRate, Cohort::Canary, 0.2));
        events.extend(sim.observe(Series::ErrorRate, Cohort::Stable, 0.003));
        assert!(at < origin + DAY, "no rollback");
    }
    // History read again (a server taken up again asks for it) is not
    // added after what was read live.
    let again = MetricPoint {
        at: before,
        series: Series::ErrorRate,
        cohort: Cohort::Stable,
        value: 0.5,
    };
    assert!(sim.backfill(&[again]).is_empty());
    let rollback = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RollbackStarted { by, reason } => Some((by.clone(), reason.clone())),
            _ => None,
        })
        .expect("the rule rolled back");
    assert!(rollback.0.rule_name().is_some(), "{rollback:?}");
    assert!(rollback.1.contains("20.00%"), "{rollback:?}");
}

/// While Prometheus gives nothing, nothing judges the canary: the rollout
/// holds (paused by the source) and goes on when the queries answer again.
/// A rollout an operator paused stays theirs to resume.
#[test]
fn a_rollout_holds_while_its_metrics_source_gives_nothing() {
    let options = SimOptions {
        autopilot: true,
        external_metrics: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(bundled_scenario("canary-regression"), options);
    let origin = sim.origin();
    sim.start();
    let mut at = origin;
    while !sim.release().rollout.began {
        at += SignedDuration::from_secs(15);
        sim.advance_to(at);
        assert!(at < origin + DAY, "the rollout never began");
    }
    let step = sim.release().rollout.step;
    sim.metrics_said(
        Level::Error,
        "prometheus",
        "metrics: cannot reach Prometheus".into(),
    );
    assert_eq!(sim.release().status, Status::Paused);
    assert_eq!(sim.release().paused_by, Some(person("prometheus")));
    // Time passes; the timed pause does not run out while nothing judges.
    at += SignedDuration::from_mins(30);
    sim.advance_to(at);
    assert_eq!(sim.release().rollout.step, step);
    let events = sim.metrics_said(
        Level::Info,
        "prometheus",
        "metrics: Prometheus answers again".into(),
    );
    assert_eq!(sim.release().status, Status::Running);
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::ReleaseResumed { .. }))
    );
    // An operator's pause is not lifted by the source.
    sim.submit(Command::new(
        "p",
        person("dave"),
        Action::Pause { reason: None },
    ));
    sim.metrics_said(
        Level::Error,
        "prometheus",
        "metrics: cannot reach Prometheus".into(),
    );
    sim.metrics_said(
        Level::Info,
        "prometheus",
        "metrics: Prometheus answers again".into(),
    );
    assert_eq!(sim.release().paused_by, Some(person("dave")));
}

#[test]
fn the_person_at_the_keys_is_among_the_default_approvers_and_their_scripted_self_stands_aside() {
    let approvers = |s: &Scenario| s.plan.gates[0].approvers.clone();
    let mut anyone = bundled_scenario("happy-canary");
    assert_eq!(anyone.seat(&person("root")), Vec::<Person>::new());
    assert!(
        approvers(&anyone).includes(&person("root")),
        "{:?}",
        approvers(&anyone)
    );
    assert!(!approvers(&anyone).includes(&person(scenario::AT_THE_KEYS)));

    let mut dave = bundled_scenario("happy-canary");
    assert_eq!(dave.seat(&person("dave")), vec![person("dave")]);
    assert_eq!(
        approvers(&dave),
        crate::model::Approvers::Named(vec![person("dave"), person("erin")]),
        "dave once"
    );
    // Nobody acts for dave: the release waits for him (first at staging).
    let mut sim = Simulator::new(dave, SimOptions::default());
    let events = run_to_end(&mut sim, DAY);
    let by_dave = events.iter().any(|e| match &e.kind {
        EventKind::CommandAccepted { command, .. } | EventKind::CommandRejected { command, .. } => {
            command.operator == "dave"
        }
        _ => false,
    });
    assert!(!by_dave, "the scripted dave acted for the one at the keys");
    assert!(
        sim.release()
            .gate("production")
            .unwrap()
            .signoffs
            .is_empty()
    );
}

#[test]
fn a_scripted_person_whose_moment_has_passed_does_not_act() {
    let mut scenario = bundled_scenario("happy-canary");
    scenario.seat(&person("root"));
    let mut sim = Simulator::new(scenario, SimOptions::default());
    sim.start();
    while sim.release().gate("production").unwrap().state != GateState::Open {
        if sim.stalled() {
            let tick = Action::Check {
                list: "staging-validation".into(),
                item: "config".into(),
            };
            sim.submit(Command::new("t1", person("frank"), tick));
        }
        let due = sim.next_due().unwrap();
        sim.advance_to(due);
    }
    let approve = Action::Approve {
        gate: Some("production".into()),
        comment: None,
    };
    let (verdict, _) = sim.submit(Command::new("r1", person("root"), approve));
    assert!(verdict.is_accepted());
    // dave was to sign 90s into the stage: the gate is approved by then.
    let rest = run_to_end(&mut sim, DAY);
    let by_dave: Vec<&Event> = rest
        .iter()
        .filter(|e| match &e.kind {
            EventKind::CommandAccepted { command, .. }
            | EventKind::CommandRejected { command, .. } => command.operator == "dave",
            _ => false,
        })
        .collect();
    assert!(by_dave.is_empty(), "{by_dave:?}");
}

/// What the simulator said when it stopped: its last event.
fn stopped_saying(events: &[Event]) -> String {
    match &events.last().unwrap().kind {
        EventKind::Log {
            level: Level::Error,
            source,
            message,
            ..
        } if source == SIMULATOR => message.clone(),
        other => panic!("the last event is {other:?}"),
    }
}

#[test]
fn work_without_end_at_one_moment_stops_the_simulator_and_says_why() {
    // A metric tick rescheduled at the whole second it ran at, for ever:
    // what a sub-second interval did before files were refused it.
    let mut story = bundled_scenario("happy-canary");
    story.script.metrics.interval = SignedDuration::from_millis(100);
    let options = SimOptions {
        autopilot: true,
        ..SimOptions::default()
    };
    let mut sim = Simulator::new(story, options);
    let events = run_to_end(&mut sim, DAY);
    let why = sim.halted().expect("the simulator stopped");
    assert!(
        why.starts_with("more than 100000 jobs and events fell due at 2026-11-24 14:00:00"),
        "{why}"
    );
    assert_eq!(
        stopped_saying(&events),
        format!("the simulator stopped: {why}")
    );
    assert!(events.len() <= MAX_AT_ONE_MOMENT + 100, "{}", events.len());
    assert_eq!(sim.next_due(), None);
    assert!(
        !sim.stalled(),
        "a stopped simulator is not waiting for people"
    );
    assert!(sim.advance_to(sim.now() + DAY).is_empty());
}

#[test]
fn a_clock_that_would_pass_the_latest_time_stops_the_simulator_there() {
    let text = "release: { service: s, from: v1, to: v2, deployer: carol }\n\
                window: { start: \"8999-12-31T23:00:00Z\", length: 30m }\n\
                strategy: { canary: { steps: [ { set_weight: 50 }, { pause: 2h }, { set_weight: 100 } ] } }\n\
                stages: [ { id: rollout, kind: rollout } ]\n";
    let story = scenario::parse(text).unwrap();
    let plan = story.plan.clone();
    let mut sim = Simulator::new(story, SimOptions::default());
    let events = run_to_end(&mut sim, DAY);
    assert_eq!(
        sim.halted(),
        Some("its clock would pass 9000-01-01T00:00:00Z, the latest time shipdeck keeps")
    );
    assert!(events.iter().all(|e| e.at <= time::LATEST));
    assert!(events.iter().all(|e| e.impossible(Some(&plan)).is_none()));
    assert!(stopped_saying(&events).starts_with("the simulator stopped: its clock"));
    assert_eq!(sim.release().status, Status::Running);
}

/// Running the clock up to a moment before the latest time shipdeck keeps
/// does not stop the simulator because a later job would fall after it:
/// only a clock that would really pass it does.
#[test]
fn a_clock_stopped_short_of_the_latest_time_keeps_the_simulator_going() {
    let text = "release: { service: s, from: v1, to: v2, deployer: carol }\n\
                window: { start: \"8999-12-31T23:00:00Z\", length: 30m }\n\
                strategy: { canary: { steps: [ { set_weight: 50 }, { pause: 2h }, { set_weight: 100 } ] } }\n\
                stages: [ { id: rollout, kind: rollout } ]\n\
                metrics: { interval: 7s }\n";
    let mut sim = Simulator::new(scenario::parse(text).unwrap(), SimOptions::default());
    let mut events = sim.start();
    let just_before = time::LATEST - jiff::SignedDuration::from_secs(1);
    events.extend(sim.advance_to(just_before));
    assert!(!events.is_empty());
    // Samples fall every 7s from 23:00: the next after 23:59:56 is past it.
    assert!(sim.next_due().is_some_and(|due| due > time::LATEST));
    assert_eq!(sim.halted(), None);
    assert_eq!(sim.now(), just_before);
    sim.advance_to(time::LATEST + jiff::SignedDuration::from_hours(1));
    assert_eq!(
        sim.halted(),
        Some("its clock would pass 9000-01-01T00:00:00Z, the latest time shipdeck keeps")
    );
}

/// Rules at the edges of what `check` lets a file hold: thresholds with
/// more digits than a screen shows, a hair inside a series' range.
const EDGE_RULES: &str = "rules:\n\
    - { name: Nines, condition: \"availability <= 99.99999%\", for: 1m }\n\
    - { name: Speck, condition: \"error_rate >= 0.00001%\", for: 1m }\n\
    - { name: Thirds, condition: \"error_rate > 33.333333333333336%\", for: 1m }\n\
    - { name: Blink, condition: \"latency_p95 > 0.0001ms\", for: 1m }\n\
    - { name: Slow, condition: \"latency_p99 >= 3599.99999s\", for: 1m }\n\
    - { name: Fraction, condition: \"availability < 0.123456789012345678\", for: 1m }\n\
    - { name: Trickle, condition: \"throughput < 0.00001rps\", for: 1m }\n";

/// Every event the simulator makes — of every bundled story, and of each
/// with [`EDGE_RULES`] in its plan — reads back from the JSON a stream or
/// a journal carries as exactly the event it was.
#[test]
fn every_event_the_simulator_makes_reads_back_from_json_as_it_was() {
    for (name, text) in bundled::SCENARIOS {
        let edged = format!("{text}\n{EDGE_RULES}");
        for (text, autopilot) in [(*text, true), (*text, false), (edged.as_str(), true)] {
            let story = scenario::parse(text).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            let options = SimOptions {
                autopilot,
                ..SimOptions::default()
            };
            let mut sim = Simulator::new(story, options);
            for event in run_to_end(&mut sim, DAY) {
                let json = serde_json::to_string(&event).unwrap();
                let back: Event = serde_json::from_str(&json)
                    .unwrap_or_else(|e| panic!("{name}: {e} reading back {json}"));
                assert_eq!(back, event, "{name}: {json}");
            }
        }
    }
}

/// What readers refuse as impossible is never what the simulator makes:
/// every event of every bundled story passes the check a server's client
/// and a journal's reader make.
#[test]
fn no_event_the_simulator_makes_is_one_a_reader_refuses() {
    for (name, _) in bundled::SCENARIOS {
        for autopilot in [true, false] {
            let (sim, events) = play(name, 7, autopilot);
            let plan = sim.release().plan().cloned();
            for event in &events {
                assert_eq!(event.impossible(plan.as_ref()), None, "{name}");
            }
        }
    }
}
