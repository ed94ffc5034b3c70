//! The engine's rules, told as stories.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::model::names::person;
use crate::model::{
    Approvers, ChecklistPlan, GatePlan, ItemPlan, Rule, Severity, StagePlan, Step, Strategy,
};

const T0: &str = "2026-11-24T14:00:00Z";

fn at(secs: i64) -> Timestamp {
    T0.parse::<Timestamp>().unwrap() + SignedDuration::from_secs(secs)
}

fn stage(id: &str, kind: StageKind) -> StagePlan {
    StagePlan {
        id: id.into(),
        name: id.into(),
        kind,
        expected: None,
        gate: None,
        checklist: None,
    }
}

/// payments-api: build, a two-person production gate (carol deployed it),
/// a canary 10% → pause → 50% → 5m pause → 100%, then verification with a
/// checklist.
fn plan() -> ReleasePlan {
    let strategy = Strategy::Canary {
        steps: vec![
            Step::plain(StepKind::SetWeight { weight: 10 }),
            Step::plain(StepKind::Pause { duration: None }),
            Step::plain(StepKind::SetWeight { weight: 50 }),
            Step::plain(StepKind::Pause {
                duration: Some(SignedDuration::from_mins(5)),
            }),
            Step::plain(StepKind::SetWeight { weight: 100 }),
        ],
    };
    ReleasePlan {
        id: "payments-api-v5.5.0".into(),
        service: "payments-api".into(),
        version_from: "v5.4.0".into(),
        version_to: "v5.5.0".into(),
        environment: "production".into(),
        deployer: person("carol"),
        steps: strategy.steps(),
        strategy,
        stages: vec![
            stage("build", StageKind::Build),
            StagePlan {
                gate: Some("production".into()),
                ..stage("approval", StageKind::Approval)
            },
            stage("canary", StageKind::Rollout),
            StagePlan {
                checklist: Some("post-deployment".into()),
                ..stage("verification", StageKind::Verification)
            },
        ],
        gates: vec![GatePlan {
            id: "production".into(),
            name: "Production deploy approval".into(),
            required: 2,
            approvers: Approvers::Named(vec![person("carol"), person("dave"), person("erin")]),
            self_approval: false,
        }],
        checklists: vec![ChecklistPlan {
            id: "post-deployment".into(),
            name: "Post-deployment verification".into(),
            items: vec![
                ItemPlan {
                    id: "smoke".into(),
                    text: "Smoke tests passing".into(),
                    automatic: true,
                },
                ItemPlan {
                    id: "critical-features".into(),
                    text: "Critical features working".into(),
                    automatic: false,
                },
            ],
        }],
        rules: Rule::runbook_defaults(),
        rollback_checklist: None,
        window: None,
        decided_by: None,
        freezes: Vec::new(),
    }
}

struct Story {
    engine: Engine,
    events: Vec<Event>,
    ids: u32,
}

impl Story {
    fn new() -> Story {
        Story::of(plan())
    }

    fn of(plan: ReleasePlan) -> Story {
        let mut engine = Engine::new(plan, 1000);
        engine.start(at(0));
        let events = engine.take_events();
        Story {
            engine,
            events,
            ids: 0,
        }
    }

    fn release(&self) -> &Release {
        self.engine.release()
    }

    fn send(&mut self, secs: i64, operator: &str, action: Action) -> Verdict {
        self.ids += 1;
        let id = format!("cmd-{}", self.ids);
        let verdict = self
            .engine
            .handle(Command::new(id, person(operator), action), at(secs));
        self.events.extend(self.engine.take_events());
        verdict
    }

    /// A command from someone who had seen the release up to `seen`.
    fn send_seen(&mut self, secs: i64, operator: &str, action: Action, seen: u64) -> Verdict {
        self.ids += 1;
        let command =
            Command::new(format!("cmd-{}", self.ids), person(operator), action).seen_at(seen);
        let verdict = self.engine.handle(command, at(secs));
        self.events.extend(self.engine.take_events());
        verdict
    }

    fn approve(&mut self, secs: i64, operator: &str) -> Verdict {
        self.send(
            secs,
            operator,
            Action::Approve {
                gate: Some("production".into()),
                comment: Some(format!("{operator} signs")),
            },
        )
    }

    fn build_done(&mut self, secs: i64) {
        self.engine.finish_work("build", at(secs));
        self.events.extend(self.engine.take_events());
    }

    /// Build done and both approvers signed: the canary is at its first pause.
    fn at_first_pause() -> Story {
        Story::at_first_pause_of(plan())
    }

    fn at_first_pause_of(plan: ReleasePlan) -> Story {
        let mut story = Story::of(plan);
        story.build_done(60);
        story.approve(70, "dave");
        story.approve(80, "erin");
        story
    }

    fn tick(&mut self, secs: i64) {
        self.engine.tick(at(secs));
        self.events.extend(self.engine.take_events());
    }

    fn observe(&mut self, secs: i64, series: Series, cohort: Cohort, value: f64) {
        self.engine.observe(series, cohort, value, at(secs));
        self.events.extend(self.engine.take_events());
    }

    fn stage_state(&self, id: &str) -> StageState {
        self.release().stage(id).unwrap().state
    }
}

fn refusal(verdict: Verdict) -> Refusal {
    match verdict {
        Verdict::Refused(refusal) => refusal,
        Verdict::Accepted { .. } => panic!("expected a refusal, got {verdict:?}"),
    }
}

fn refused(verdict: Verdict) -> String {
    refusal(verdict).reason
}

#[test]
fn the_deployer_cannot_approve_their_own_release() {
    let mut story = Story::new();
    story.build_done(60);
    let reason = refused(story.approve(70, "carol"));
    assert_eq!(reason, "carol deployed this release and cannot approve it");
    assert!(
        story
            .release()
            .gate("production")
            .unwrap()
            .signoffs
            .is_empty()
    );
    let last = story.events.last().unwrap();
    assert!(
        matches!(&last.kind, EventKind::CommandRejected { reason, .. } if reason.contains("cannot approve")),
        "the refusal is on the record: {last:?}"
    );
}

#[test]
fn two_different_people_complete_a_two_person_gate_and_the_same_person_twice_counts_once() {
    let mut story = Story::new();
    story.build_done(60);
    assert!(story.approve(70, "dave").is_accepted());
    let reason = refused(story.approve(75, "dave"));
    assert!(reason.contains("the same person counts once"), "{reason}");
    let gate = story.release().gate("production").unwrap();
    assert_eq!(gate.signoffs.len(), 1);
    assert_eq!(gate.state, GateState::Open);
    assert_eq!(story.stage_state("canary"), StageState::Pending);

    assert!(story.approve(90, "erin").is_accepted());
    let gate = story.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Approved);
    let names: Vec<&str> = gate.signoffs.iter().map(|s| s.operator.as_str()).collect();
    assert_eq!(names, ["dave", "erin"]);
    assert_eq!(story.stage_state("approval"), StageState::Succeeded);
    assert_eq!(story.stage_state("canary"), StageState::Running);
    assert_eq!(story.release().rollout.weight, 10);
}

#[test]
fn only_listed_approvers_may_sign_and_only_once_the_gate_is_open() {
    let mut story = Story::new();
    let reason = refused(story.approve(10, "dave"));
    assert_eq!(
        reason,
        "Production deploy approval is not open yet: it opens when \"approval\" starts"
    );
    story.build_done(60);
    let reason = refused(story.approve(70, "mallory"));
    assert!(
        reason.starts_with("mallory may not approve Production deploy approval"),
        "{reason}"
    );
}

#[test]
fn a_refusal_says_whether_it_is_for_who_asked_or_for_when() {
    let mut story = Story::new();
    // Not open yet: anyone would be refused now.
    assert_eq!(refusal(story.approve(10, "dave")).grounds, Grounds::When);
    story.build_done(60);
    for (operator, why) in [("carol", "the deployer"), ("mallory", "not an approver")] {
        let refusal = refusal(story.approve(70, operator));
        assert_eq!(refusal.grounds, Grounds::Who, "{why}: {}", refusal.reason);
    }
    assert!(story.approve(71, "dave").is_accepted());
    let twice = refusal(story.approve(72, "dave"));
    assert_eq!(twice.grounds, Grounds::Who, "{}", twice.reason);
    // mallory is refused for who she is while the gate is open, whatever
    // the gate does next: the grounds are decided when the command is.
    let mallory = refusal(story.approve(73, "mallory"));
    assert!(story.approve(74, "erin").is_accepted());
    assert_eq!(
        story.release().gate("production").unwrap().state,
        GateState::Approved
    );
    assert_eq!(mallory.grounds, Grounds::Who);
    let late = refusal(story.approve(75, "mallory"));
    assert_eq!(
        late.grounds,
        Grounds::When,
        "the gate is approved now: {}",
        late.reason
    );
    let resume = refusal(story.send(76, "dave", Action::Resume));
    assert_eq!(resume.grounds, Grounds::When, "{}", resume.reason);
}

#[test]
fn a_sign_off_that_names_no_gate_signs_the_one_open_gate() {
    let mut story = Story::new();
    story.build_done(60);
    let verdict = story.send(
        70,
        "dave",
        Action::Approve {
            gate: None,
            comment: Some("looks fine".into()),
        },
    );
    assert!(verdict.is_accepted(), "{verdict:?}");
    let gate = story.release().gate("production").unwrap();
    assert_eq!(gate.signoffs[0].operator, "dave");
    assert_eq!(gate.signoffs[0].comment.as_deref(), Some("looks fine"));
}

#[test]
fn advance_works_only_when_the_rollout_is_holding_at_a_pause() {
    let mut story = Story::new();
    let reason = refused(story.send(5, "carol", Action::Advance));
    assert_eq!(
        reason,
        "the rollout has not started: the release is at \"build\""
    );

    let mut story = Story::at_first_pause();
    assert_eq!(story.release().current_step().unwrap().0, 1);
    assert!(story.send(100, "carol", Action::Advance).is_accepted());
    assert_eq!(story.release().rollout.weight, 50);
    // Now at the timed pause: advancing it early is allowed too.
    assert_eq!(story.release().current_step().unwrap().0, 3);
    assert_eq!(story.release().rollout.until, Some(at(400)));
}

#[test]
fn a_timed_pause_ends_by_itself_and_the_release_moves_on() {
    let mut story = Story::at_first_pause();
    story.send(100, "carol", Action::Advance);
    assert_eq!(story.engine.next_deadline(), Some(at(400)));
    story.tick(399);
    assert_eq!(story.release().rollout.weight, 50);
    story.tick(400);
    assert_eq!(story.release().rollout.weight, 100);
    assert_eq!(story.stage_state("canary"), StageState::Succeeded);
    assert_eq!(story.stage_state("verification"), StageState::Running);
}

#[test]
fn pausing_stops_the_clock_on_a_timed_step_and_resuming_gives_the_time_back() {
    let mut story = Story::at_first_pause();
    story.send(100, "carol", Action::Advance); // 5m pause ends at 400
    assert!(
        story
            .send(
                160,
                "carol",
                Action::Pause {
                    reason: Some("checking a dashboard".into())
                }
            )
            .is_accepted()
    );
    assert_eq!(story.release().status, Status::Paused);
    assert_eq!(story.engine.next_deadline(), None);
    story.tick(1000);
    assert_eq!(
        story.release().rollout.weight,
        50,
        "nothing moves while paused"
    );
    let reason = refused(story.send(1001, "dave", Action::Advance));
    assert_eq!(reason, "the release is paused by carol; resume it first");
    assert!(story.send(1100, "carol", Action::Resume).is_accepted());
    // 240 s were left when it paused.
    assert_eq!(story.release().rollout.until, Some(at(1340)));
}

#[test]
fn rejecting_the_gate_ends_the_release_aborted() {
    let mut story = Story::new();
    story.build_done(60);
    let reason = refused(story.send(
        70,
        "dave",
        Action::Reject {
            gate: None,
            reason: "  ".into(),
        },
    ));
    assert_eq!(reason, "a rejection needs a reason for the record");
    assert!(
        story
            .send(
                80,
                "dave",
                Action::Reject {
                    gate: None,
                    reason: "no rollback plan for migration 0078".into(),
                },
            )
            .is_accepted()
    );
    assert_eq!(story.release().outcome(), Some(Outcome::Aborted));
    assert_eq!(story.stage_state("approval"), StageState::Failed);
    assert_eq!(story.stage_state("canary"), StageState::Skipped);
    let gate = story.release().gate("production").unwrap();
    assert_eq!(gate.rejection.as_ref().unwrap().operator, "dave");
}

#[test]
fn rollback_works_from_any_state_of_the_rollout_and_twice_is_the_same_as_once() {
    for moment in ["mid-canary", "paused"] {
        let mut story = Story::at_first_pause();
        match moment {
            "mid-canary" => {}
            _ => {
                story = Story::at_first_pause();
                story.send(100, "carol", Action::Advance);
                story.send(110, "carol", Action::Pause { reason: None });
            }
        }
        let first = story.send(
            200,
            "erin",
            Action::Rollback {
                reason: Some("p99 looks wrong".into()),
            },
        );
        assert!(first.is_accepted(), "{moment}: {first:?}");
        assert_eq!(story.release().status, Status::RollingBack, "{moment}");
        assert_eq!(
            story.release().rollout.weight,
            0,
            "{moment}: traffic back to stable"
        );
        let second = story.send(205, "dave", Action::Rollback { reason: None });
        match second {
            Verdict::Accepted { note: Some(note) } => {
                assert!(
                    note.starts_with("already rolling back (started by erin"),
                    "{note}"
                )
            }
            other => panic!("{moment}: {other:?}"),
        }
        let starts = story
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::RollbackStarted { .. }))
            .count();
        assert_eq!(starts, 1, "{moment}: one rollback, however often asked");
        story.engine.finish_rollback(at(260));
        story.events.extend(story.engine.take_events());
        assert_eq!(
            story.release().outcome(),
            Some(Outcome::RolledBack),
            "{moment}"
        );
        assert!(
            story
                .send(300, "erin", Action::Rollback { reason: None })
                .is_accepted()
        );
        let rollback = story.release().rollback.clone().unwrap();
        assert_eq!(
            (rollback.by.as_str(), rollback.reason.as_str()),
            ("erin", "p99 looks wrong")
        );
    }
}

#[test]
fn a_rollback_before_the_rollout_began_stops_the_release_aborted() {
    for moment in ["building", "at the gate"] {
        let mut story = Story::new();
        if moment == "at the gate" {
            story.build_done(60);
        }
        let verdict = story.send(200, "erin", Action::Rollback { reason: None });
        assert!(verdict.is_accepted(), "{moment}: {verdict:?}");
        let release = story.release();
        assert_eq!(release.outcome(), Some(Outcome::Aborted), "{moment}");
        assert!(
            release.rollback().is_none(),
            "{moment}: nothing to roll back"
        );
        let stopped = release.stopped().expect("who stopped it");
        assert_eq!(
            (stopped.by.as_str(), stopped.reason.as_str()),
            ("erin", "stopped before production by erin")
        );
        let current = if moment == "building" {
            "build"
        } else {
            "approval"
        };
        assert_eq!(
            story.stage_state(current),
            StageState::Cancelled,
            "{moment}"
        );
        assert_eq!(story.stage_state("canary"), StageState::Skipped, "{moment}");
        // The one who stopped it may give the reason afterwards; nobody else.
        let by_dave = Action::Rollback {
            reason: Some("not mine to explain".into()),
        };
        assert!(!story.send(210, "dave", by_dave).is_accepted());
        let reason = Action::Rollback {
            reason: Some("wrong build tagged".into()),
        };
        assert!(story.send(220, "erin", reason).is_accepted());
        assert_eq!(
            story.release().stopped().unwrap().reason,
            "wrong build tagged"
        );
    }
}

#[test]
fn the_operator_who_rolled_back_can_give_the_reason_afterwards() {
    let mut story = Story::at_first_pause();
    story.send(100, "carol", Action::Rollback { reason: None });
    assert_eq!(
        story.release().rollback.as_ref().unwrap().reason,
        "rolled back by carol"
    );
    match story.send(
        110,
        "carol",
        Action::Rollback {
            reason: Some("checkout 502s on the canary".into()),
        },
    ) {
        Verdict::Accepted { note } => assert_eq!(
            note.as_deref(),
            Some("reason added to the rollback's record")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        story.release().rollback.as_ref().unwrap().reason,
        "checkout 502s on the canary"
    );
    // Someone else's reason does not replace the roller-back's.
    story.send(
        120,
        "dave",
        Action::Rollback {
            reason: Some("me too".into()),
        },
    );
    assert_eq!(
        story.release().rollback.as_ref().unwrap().reason,
        "checkout 502s on the canary"
    );
    let starts = story
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RollbackStarted { .. }))
        .count();
    assert_eq!(starts, 1);
}

#[test]
fn a_finished_release_refuses_rollback_and_every_other_change_with_a_reason() {
    let mut story = Story::at_first_pause();
    story.send(100, "carol", Action::PromoteFull);
    story
        .engine
        .auto_check("post-deployment", "smoke", &person("automation"), at(110));
    story.send(
        120,
        "carol",
        Action::Check {
            list: "post-deployment".into(),
            item: "critical-features".into(),
        },
    );
    story.engine.finish_work("verification", at(130));
    story.events.extend(story.engine.take_events());
    assert_eq!(story.release().outcome(), Some(Outcome::Succeeded));
    let reason = refused(story.send(200, "carol", Action::Rollback { reason: None }));
    assert_eq!(
        reason,
        "the release has finished (succeeded); nothing is in flight to roll back"
    );
    let reason = refused(story.send(201, "carol", Action::Pause { reason: None }));
    assert_eq!(
        reason,
        "the release has finished (succeeded); there is nothing left to pause"
    );
}

/// `approvers: any` with carol deploying: whatever her name looks like,
/// she is carol, and two people are two people.
#[test]
fn a_name_that_looks_like_the_deployers_is_the_deployer_and_signs_nothing() {
    let mut plan = plan();
    plan.gates[0].approvers = Approvers::any();
    let mut story = Story::of(plan);
    story.build_done(60);
    for lookalike in ["Carol", "CAROL", "ｃａｒｏｌ", " carol "] {
        let reason = refused(story.approve(70, lookalike));
        assert!(
            reason.contains("deployed this release") && reason.contains("(as carol)")
                || lookalike.trim() == "carol",
            "{lookalike:?}: {reason}"
        );
    }
    // An invisible character makes no other person: such a name is no name.
    for hidden in [
        "carol\u{200b}",
        "car\u{200d}ol",
        "\u{202e}carol",
        "c\u{430}rol",
    ] {
        let wire = serde_json::json!({"id": "x", "operator": hidden, "kind": "approve"});
        let err = serde_json::from_value::<Command>(wire)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a name may not"), "{hidden:?}: {err}");
    }
    assert!(story.approve(80, "dave").is_accepted());
    let reason = refused(story.approve(85, "DAVE"));
    assert!(
        reason.contains("the same person counts once") && reason.contains("(as dave)"),
        "{reason}"
    );
    let reason = refused(story.approve(86, "ｄａｖｅ"));
    assert!(reason.contains("the same person counts once"), "{reason}");
    let gate = story.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Open, "one person has signed");
    assert_eq!(gate.signoffs.len(), 1);
    assert!(story.approve(90, "erin").is_accepted());
    assert_eq!(
        story.release().gate("production").unwrap().state,
        GateState::Approved
    );
}

#[test]
fn a_named_approver_is_found_whatever_the_case_and_an_impostor_is_not() {
    let mut story = Story::new();
    story.build_done(60);
    assert!(
        story.approve(70, "Dave").is_accepted(),
        "dave is on the list"
    );
    let reason = refused(story.approve(71, "dave"));
    assert!(reason.contains("(as Dave)"), "{reason}");
    assert!(
        Person::new("d\u{3bf}ve").is_err(),
        "a Greek omicron is no o"
    );
}

/// Nobody acts as a rule, or as shipdeck: not to roll back in its name,
/// and not to rewrite the reason it recorded.
#[test]
fn nobody_acts_under_a_rules_name_or_rewrites_what_it_recorded() {
    let mut story = Story::at_first_pause();
    for i in 0..=21 {
        story.observe(400 + i * 15, Series::ErrorRate, Cohort::Canary, 0.14);
    }
    let recorded = story.release().rollback.clone().unwrap();
    assert_eq!(recorded.by, "rule:ErrorRateRollback");
    for name in [
        "rule:ErrorRateRollback",
        "Rule:ErrorRateRollback",
        "rule : ErrorRateRollback",
    ] {
        let reason = Action::Rollback {
            reason: Some("nothing to see here".into()),
        };
        let refusal = refusal(story.send(800, name, reason));
        assert_eq!(refusal.grounds, Grounds::Who, "{name}");
        assert!(
            refusal.reason.contains("shipdeck uses for itself"),
            "{name}: {}",
            refusal.reason
        );
    }
    for name in ["autopilot", "shipdeck", "automation", "prometheus"] {
        let refusal = refusal(story.send(801, name, Action::Pause { reason: None }));
        assert_eq!(refusal.grounds, Grounds::Who, "{name}");
    }
    assert_eq!(
        story.release().rollback.as_ref().unwrap().reason,
        recorded.reason
    );
    let last = story.events.last().unwrap();
    assert!(
        matches!(&last.kind, EventKind::CommandRejected { reason, .. } if reason.contains("shipdeck uses for itself")),
        "refused on the record: {last:?}"
    );
}

#[test]
fn a_reason_given_is_added_to_and_never_replaced() {
    let mut story = Story::at_first_pause();
    let first = Action::Rollback {
        reason: Some("checkout 502s on the canary".into()),
    };
    assert!(story.send(100, "carol", first).is_accepted());
    let again = Action::Rollback {
        reason: Some("and p99 doubled".into()),
    };
    assert!(
        story.send(110, "Carol", again).is_accepted(),
        "the same person"
    );
    assert_eq!(
        story.release().rollback.as_ref().unwrap().reason,
        "checkout 502s on the canary; and p99 doubled"
    );
    let other = Action::Rollback {
        reason: Some("nothing happened".into()),
    };
    story.send(120, "dave", other);
    assert_eq!(
        story.release().rollback.as_ref().unwrap().reason,
        "checkout 502s on the canary; and p99 doubled"
    );
    // Said again, a reason is there once; sent without end, the reason
    // stops growing and its first words stand.
    let again = Action::Rollback {
        reason: Some("and p99 doubled".into()),
    };
    assert!(story.send(130, "carol", again).is_accepted());
    for n in 0..40u32 {
        let more = Action::Rollback {
            reason: Some(format!("{n} {}", "x".repeat(3000))),
        };
        story.send(140 + i64::from(n), "carol", more);
    }
    let reason = &story.release().rollback.as_ref().unwrap().reason;
    assert!(reason.starts_with("checkout 502s on the canary; and p99 doubled; 0 xxx"));
    assert_eq!(reason.matches("and p99 doubled").count(), 1);
    assert!(
        reason.chars().count() <= crate::model::MAX_REASON,
        "{}",
        reason.len()
    );
}

#[test]
fn a_rule_that_holds_for_its_duration_rolls_back_with_the_rule_as_the_reason() {
    let mut story = Story::at_first_pause();
    // A short spike is not enough: 4 minutes over 10 %, then it recovers.
    for i in 0..16 {
        story.observe(100 + i * 15, Series::ErrorRate, Cohort::Canary, 0.14);
    }
    story.observe(100 + 16 * 15, Series::ErrorRate, Cohort::Canary, 0.004);
    assert_eq!(story.release().status, Status::Running);
    // A breach that holds for five minutes fires the rollback rule.
    let start = 400;
    for i in 0..=20 {
        story.observe(start + i * 15, Series::ErrorRate, Cohort::Canary, 0.14);
    }
    assert_eq!(story.release().status, Status::RollingBack);
    let rollback = story.release().rollback.clone().unwrap();
    assert_eq!(rollback.by, "rule:ErrorRateRollback");
    assert!(
        rollback.reason.contains("canary error_rate 14.00%"),
        "{}",
        rollback.reason
    );
    assert!(
        rollback.reason.contains("error_rate > 10% for 5m"),
        "{}",
        rollback.reason
    );
    assert_eq!(rollback.started_at, at(start + 300));
    let alert = story
        .release()
        .alerts
        .iter()
        .find(|a| a.rule == "ErrorRateRollback")
        .unwrap();
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.severity, Severity::Critical);
    // The stable cohort's numbers never trigger a canary rule.
    let mut calm = Story::at_first_pause();
    for i in 0..=40 {
        calm.observe(100 + i * 15, Series::ErrorRate, Cohort::Stable, 0.5);
    }
    assert_eq!(calm.release().status, Status::Running);
}

#[test]
fn the_same_command_id_is_applied_once() {
    let mut story = Story::at_first_pause();
    let command = Command::new("client-7", person("carol"), Action::Advance);
    let first = story.engine.handle(command.clone(), at(100));
    let events_after_first = story.engine.take_events().len();
    let again = story.engine.handle(command, at(101));
    assert_eq!(first, again);
    assert!(events_after_first > 0);
    assert!(
        story.engine.take_events().is_empty(),
        "a repeated id changes nothing"
    );
    assert_eq!(story.release().rollout.weight, 50);
}

#[test]
fn promote_fully_skips_the_remaining_steps() {
    let mut story = Story::at_first_pause();
    match story.send(100, "carol", Action::PromoteFull) {
        Verdict::Accepted { note: Some(note) } => {
            assert_eq!(
                note,
                "4 remaining steps skipped; all traffic to the new version"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(story.release().rollout.weight, 100);
    assert_eq!(story.stage_state("canary"), StageState::Succeeded);
}

#[test]
fn a_stage_waits_for_its_checklist_and_automatic_items_are_not_for_people() {
    let mut story = Story::at_first_pause();
    story.send(100, "carol", Action::PromoteFull);
    story.engine.finish_work("verification", at(150));
    story.events.extend(story.engine.take_events());
    assert_eq!(story.stage_state("verification"), StageState::Waiting);
    let reason = refused(story.send(
        160,
        "carol",
        Action::Check {
            list: "post-deployment".into(),
            item: "smoke".into(),
        },
    ));
    assert_eq!(reason, "\"Smoke tests passing\" is checked automatically");
    story
        .engine
        .auto_check("post-deployment", "smoke", &person("automation"), at(170));
    story.send(
        180,
        "dave",
        Action::Check {
            list: "post-deployment".into(),
            item: "critical-features".into(),
        },
    );
    let item = story
        .release()
        .checklist("post-deployment")
        .unwrap()
        .item("critical-features")
        .unwrap()
        .clone();
    assert_eq!(item.ticked.unwrap().by, "dave");
    assert_eq!(story.release().outcome(), Some(Outcome::Succeeded));
}

#[test]
fn a_failed_stage_holds_the_release_until_someone_retries() {
    let mut story = Story::new();
    story.engine.fail_work("build", "linker error", at(30));
    story.events.extend(story.engine.take_events());
    assert_eq!(story.stage_state("build"), StageState::Failed);
    assert!(story.release().status.in_flight());
    let reason = refused(story.send(
        40,
        "carol",
        Action::Retry {
            stage: Some("approval".into()),
        },
    ));
    assert_eq!(
        reason,
        "\"approval\" has not failed; only a failed stage can be retried"
    );
    assert!(
        story
            .send(50, "carol", Action::Retry { stage: None })
            .is_accepted()
    );
    assert_eq!(story.stage_state("build"), StageState::Running);
    story.build_done(90);
    assert_eq!(story.stage_state("approval"), StageState::Waiting);
}

#[test]
fn seq_rises_by_one_and_folding_the_events_gives_the_engines_own_state() {
    let mut story = Story::at_first_pause();
    story.observe(90, Series::LatencyP95, Cohort::Canary, 0.2);
    story.send(100, "carol", Action::Advance);
    story.tick(400);
    for (i, event) in story.events.iter().enumerate() {
        assert_eq!(event.seq, i as u64 + 1);
    }
    let mut folded = Release::new("payments-api-v5.5.0", 1000);
    for event in &story.events {
        // Through JSON and back, as a client would see it.
        let wire = serde_json::to_string(event).unwrap();
        folded.apply(&serde_json::from_str(&wire).unwrap());
    }
    assert_eq!(&folded, story.release());
    // A repeated event changes nothing.
    folded.apply(&story.events[3].clone());
    assert_eq!(&folded, story.release());
}

#[test]
fn a_name_with_stray_spaces_is_the_same_person() {
    let mut story = Story::new();
    story.build_done(60);
    assert!(story.approve(70, "dave ").is_accepted());
    let reason = refused(story.approve(80, " dave"));
    assert!(reason.contains("the same person counts once"), "{reason}");
    assert_eq!(
        story.release().gate("production").unwrap().signoffs[0].operator,
        "dave"
    );
}

#[test]
fn before_any_traffic_reaches_the_new_version_a_rollback_rule_only_alerts() {
    let mut plan = plan();
    plan.rules[3].cohort = Cohort::Stable; // ErrorRateRollback, on the stable cohort
    let mut engine = Engine::new(plan, 100);
    engine.start(at(0));
    for i in 0..=24 {
        engine.observe(Series::ErrorRate, Cohort::Stable, 0.2, at(i * 15));
    }
    let release = engine.release();
    assert_eq!(
        release.status,
        Status::Running,
        "still building; nothing to roll back"
    );
    let alert = release
        .alerts
        .iter()
        .find(|a| a.rule == "ErrorRateRollback")
        .unwrap();
    assert_eq!(alert.state, AlertState::Firing);
}

#[test]
fn a_checklist_cannot_be_ticked_before_its_stage_starts() {
    let mut story = Story::new();
    let reason = refused(story.send(
        10,
        "carol",
        Action::Check {
            list: "post-deployment".into(),
            item: "critical-features".into(),
        },
    ));
    assert_eq!(
        reason,
        "the Post-deployment verification checklist opens when \"verification\" starts"
    );
}

/// Metrics read from Prometheus can show a bad "canary" before this rollout
/// sends it traffic: the rule fires then, and rolls back as soon as the
/// rollout begins while the breach still holds.
#[test]
fn a_rollback_rule_already_firing_acts_once_the_rollout_begins() {
    let mut story = Story::new();
    for i in 0..=21 {
        story.observe(i * 15, Series::ErrorRate, Cohort::Canary, 0.2);
    }
    assert!(
        story
            .release()
            .alerts
            .iter()
            .any(|a| a.rule == "ErrorRateRollback"),
        "the rule fired before the rollout"
    );
    assert_eq!(story.release().status, Status::Running);
    story.build_done(400);
    story.approve(410, "dave");
    story.approve(420, "erin");
    assert!(story.release().rollout.began);
    story.observe(430, Series::ErrorRate, Cohort::Canary, 0.2);
    assert_eq!(story.release().status, Status::RollingBack);
    assert_eq!(
        story.release().rollback.as_ref().unwrap().by,
        "rule:ErrorRateRollback"
    );
}

#[test]
fn a_line_of_the_readers_own_is_shown_among_the_logs_and_moves_nothing_else() {
    let story = Story::at_first_pause();
    let mut release = story.release().clone();
    let before = (release.last_seq(), release.last_at(), release.logs().len());
    let own = release.logs().own().len();
    release.apply(crate::model::LogLine {
        at: at(5_000),
        level: crate::model::Level::Warn,
        source: "deploy.log".into(),
        stage: None,
        message: "disk at 91%".into(),
    });
    assert_eq!(release.logs().len(), before.2 + 1);
    assert_eq!(
        release.logs().own().len(),
        own,
        "it joins its source's ring"
    );
    assert_eq!(
        release.logs().source("deploy.log").map(|r| r.len()),
        Some(1)
    );
    assert_eq!(
        release.logs().newest().map(|l| l.message.as_str()),
        Some("disk at 91%")
    );
    assert_eq!(
        (release.last_seq(), release.last_at()),
        (before.0, before.1),
        "no seq and no clock move for a line that is no event"
    );
}

/// A rule counting towards firing is in the events: a reader folding them
/// (through JSON, as a server's client or a replay does) knows since when it
/// has breached and when it will act, and that a dip cleared it.
#[test]
fn a_breach_is_an_event_so_every_reader_knows_the_rule_is_counting() {
    use crate::model::{RuleState, Standing};
    let mut story = Story::at_first_pause();
    let rule = story
        .release()
        .plan
        .as_ref()
        .and_then(|p| p.rules.iter().find(|r| r.name == "ErrorRateRollback"))
        .cloned()
        .unwrap();
    let folded = |events: &[Event]| {
        let mut release = Release::new("", 100);
        for event in events {
            let wire = serde_json::to_string(event).unwrap();
            release.apply(&serde_json::from_str::<Event>(&wire).unwrap());
        }
        release
    };
    let breaches = |events: &[Event], state: RuleState| {
        events
            .iter()
            .filter(|e| {
                matches!(&e.kind, EventKind::RuleChanged { rule, state: s, .. }
                    if rule == "ErrorRateRollback" && *s == state)
            })
            .count()
    };
    story.observe(100, Series::ErrorRate, Cohort::Canary, 0.01);
    assert_eq!(folded(&story.events).standing(&rule), Standing::Quiet);
    for secs in [115, 130, 145] {
        story.observe(secs, Series::ErrorRate, Cohort::Canary, 0.14);
    }
    assert_eq!(
        folded(&story.events).standing(&rule),
        Standing::Breaching {
            since: at(115),
            due: at(415)
        }
    );
    assert_eq!(
        breaches(&story.events, RuleState::Breaching),
        1,
        "once, not per sample"
    );
    story.observe(160, Series::ErrorRate, Cohort::Canary, 0.02);
    assert_eq!(folded(&story.events).standing(&rule), Standing::Quiet);
    assert_eq!(breaches(&story.events, RuleState::Quiet), 1);
    for i in 0..=20 {
        story.observe(175 + i * 15, Series::ErrorRate, Cohort::Canary, 0.14);
    }
    let release = folded(&story.events);
    let Standing::Fired(alert) = release.standing(&rule) else {
        panic!("{:?}", release.standing(&rule))
    };
    assert_eq!(alert.since, at(475));
    assert_eq!(release.status, Status::RollingBack);
}

fn approve_production() -> Action {
    Action::Approve {
        gate: Some("production".into()),
        comment: None,
    }
}

#[test]
fn a_sign_off_on_a_gate_that_changed_since_the_operator_saw_it_is_refused_with_why() {
    let mut story = Story::new();
    story.build_done(60);
    // erin looks at the open gate (0 of 2) and signs; her sign-off is held
    // up, and dave signs meanwhile.
    let erin_saw = story.release().last_seq();
    assert!(story.approve(70, "dave").is_accepted());
    let refused = refusal(story.send_seen(90, "erin", approve_production(), erin_saw));
    assert_eq!(refused.grounds, Grounds::When);
    assert_eq!(
        refused.reason,
        "Production deploy approval changed after you last saw it (now 1 of 2 sign-offs: dave); your sign-off is not applied: look at it again"
    );
    let gate = story.release().gate("production").unwrap();
    assert_eq!(gate.signoffs.len(), 1, "erin's signature was not applied");
    assert!(
        matches!(&story.events.last().unwrap().kind, EventKind::CommandRejected { reason, .. } if reason == &refused.reason),
        "the refusal is on the record"
    );
    // Having seen dave's signature, she signs again: accepted.
    let now_seen = story.release().last_seq();
    let verdict = story.send_seen(95, "erin", approve_production(), now_seen);
    assert!(verdict.is_accepted(), "{verdict:?}");
    assert_eq!(
        story.release().gate("production").unwrap().state,
        GateState::Approved
    );
}

#[test]
fn a_rejection_or_a_tick_on_what_changed_meanwhile_is_refused_and_an_unchanged_one_is_not() {
    let mut story = Story::new();
    story.build_done(60);
    let saw = story.release().last_seq();
    // Things elsewhere moving on do not count: only the gate itself.
    story.observe(65, Series::ErrorRate, Cohort::All, 0.01);
    assert!(story.release().last_seq() > saw, "the release moved on");
    let verdict = story.send_seen(
        66,
        "dave",
        Action::Reject {
            gate: Some("production".into()),
            reason: "not today".into(),
        },
        saw,
    );
    assert!(verdict.is_accepted(), "{verdict:?}");

    let mut story = Story::at_first_pause();
    story.send(100, "carol", Action::PromoteFull);
    story.engine.finish_work("verification", at(150));
    story.events.extend(story.engine.take_events());
    let saw = story.release().last_seq();
    let item = || Action::Check {
        list: "post-deployment".into(),
        item: "critical-features".into(),
    };
    let uncheck = Action::Uncheck {
        list: "post-deployment".into(),
        item: "critical-features".into(),
    };
    assert!(story.send(160, "dave", item()).is_accepted());
    // erin saw it unticked and meant to tick it; dave ticked then unticked it.
    let ticked = story.release().last_seq();
    assert!(story.send_seen(161, "dave", uncheck, ticked).is_accepted());
    let refused = refusal(story.send_seen(170, "erin", item(), saw));
    assert_eq!(refused.grounds, Grounds::When);
    assert_eq!(
        refused.reason,
        "\"Critical features working\" changed after you last saw it (it is now not ticked); look at it again"
    );
}

#[test]
fn an_advance_after_the_rollout_moved_on_is_refused_so_a_second_pause_is_not_skipped() {
    let mut story = Story::at_first_pause();
    let saw = story.release().last_seq();
    assert!(
        story
            .send_seen(100, "carol", Action::Advance, saw)
            .is_accepted()
    );
    assert_eq!(story.release().current_step().unwrap().0, 3);
    // The same key pressed twice on the screen as it was: the second would
    // skip the 5m pause nobody has looked at.
    let refused = refusal(story.send_seen(101, "carol", Action::Advance, saw));
    assert_eq!(refused.grounds, Grounds::When);
    assert!(
        refused
            .reason
            .starts_with("the rollout moved on after you last saw it (it is now at step 4/5"),
        "{}",
        refused.reason
    );
    assert_eq!(story.release().current_step().unwrap().0, 3);
}

#[test]
fn a_command_given_on_a_later_seq_than_the_release_has_is_refused_as_another_windows() {
    let mut story = Story::new();
    story.build_done(60);
    let last = story.release().last_seq();
    let refused = refusal(story.send_seen(70, "dave", approve_production(), last + 500));
    assert_eq!(refused.grounds, Grounds::When);
    assert!(
        refused.reason.contains("it was meant for another window"),
        "{}",
        refused.reason
    );
    let rollback = story.send_seen(71, "dave", Action::Rollback { reason: None }, last + 500);
    assert!(!rollback.is_accepted(), "nor is a rollback: {rollback:?}");
    assert!(story.release().status.in_flight());
}

/// What waits on whom, as `waiting::of` tells the console, the inbox and
/// `serve`'s notifications.
mod waits {
    use super::*;
    use crate::engine::waiting::{self, Ask};

    fn waits(story: &Story, who: &str, secs: i64) -> Vec<waiting::Wait> {
        waiting::of(story.release(), &person(who), at(secs))
    }

    #[test]
    fn an_open_gate_waits_on_its_approvers_since_it_opened_and_not_on_the_deployer() {
        let mut story = Story::new();
        assert!(
            waits(&story, "dave", 10).is_empty(),
            "nothing waits while building"
        );
        story.build_done(60);
        let dave = waits(&story, "dave", 90);
        assert_eq!(dave.len(), 1, "{dave:?}");
        let gate = &dave[0];
        assert_eq!(
            gate.ask,
            Ask::Sign {
                gate: "production".into()
            }
        );
        assert!(gate.mine);
        assert_eq!(gate.since, Some(at(60)), "since the gate opened");
        assert_eq!(gate.others.as_deref(), Some("erin"));
        // The deployer may not sign their own release: it waits on others.
        let carol = waits(&story, "carol", 90);
        assert!(!carol[0].mine);
        assert_eq!(carol[0].others.as_deref(), Some("dave or erin"));
        // Once dave signed, it waits on erin alone, and no more on dave.
        story.approve(70, "dave");
        let dave = waits(&story, "dave", 90);
        assert!(!dave[0].mine, "{dave:?}");
        assert_eq!(dave[0].others.as_deref(), Some("erin"));
        assert!(waits(&story, "erin", 90)[0].mine);
    }

    #[test]
    fn a_pause_waits_since_its_step_began_and_the_window_is_its_deadline() {
        let mut plan = plan();
        plan.window = Some(crate::model::Window {
            start: at(0),
            length: SignedDuration::from_hours(1),
        });
        let mut story = Story::of(plan);
        story.build_done(60);
        story.approve(70, "dave");
        story.approve(80, "erin");
        let waits = waits(&story, "dave", 200);
        let pause = waits
            .iter()
            .find(|w| w.ask == Ask::Advance)
            .expect("the rollout holds at its pause");
        assert_eq!(pause.what, "the rollout at step 2/5");
        assert!(pause.since.is_some_and(|s| s >= at(80)), "{pause:?}");
        let deadline = pause.deadline.as_ref().expect("the window's end");
        assert_eq!(deadline.at, at(3600));
        assert_eq!(deadline.what, "the window closes");
    }

    #[test]
    fn nothing_waits_once_the_release_has_ended() {
        let mut story = Story::new();
        story.build_done(60);
        story.send(
            70,
            "dave",
            Action::Reject {
                gate: Some("production".into()),
                reason: "not today".into(),
            },
        );
        assert!(story.release().status().is_final());
        assert!(waits(&story, "erin", 90).is_empty());
    }
}

/// The plan, in a window from 13:30 to 14:00 UTC: closed from `at(0)`.
fn closing_at_t0() -> ReleasePlan {
    ReleasePlan {
        window: Some(crate::model::Window {
            start: at(-1800),
            length: SignedDuration::from_mins(30),
        }),
        ..plan()
    }
}

fn accepted_event_note(story: &Story) -> Option<String> {
    story.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::CommandAccepted { note, .. } => Some(note.clone().unwrap_or_default()),
        _ => None,
    })
}

#[test]
fn a_promote_after_the_window_closed_is_refused_unless_meant_late_and_then_journaled_late() {
    let mut story = Story::at_first_pause_of(closing_at_t0());
    let refusal = refusal(story.send(100, "carol", Action::Advance));
    assert_eq!(refusal.grounds, Grounds::When);
    assert_eq!(
        refusal.reason,
        "the window closed at 14:00 UTC; promote late only if you mean it (the console asks; `shipdeck do advance --late`)"
    );
    assert_eq!(story.release().rollout.weight, 10, "nothing moved");
    let full = refused(story.send(101, "carol", Action::PromoteFull));
    assert!(full.ends_with("`shipdeck do promote --late`)"), "{full}");

    let late = Command::new("late-1", person("carol"), Action::Advance)
        .late()
        .seen_at(story.release().last_seq);
    let verdict = story.engine.handle(late, at(100));
    story.events.extend(story.engine.take_events());
    let said = "late: the window closed at 14:00 UTC, 1m 40s before";
    assert_eq!(
        verdict,
        Verdict::Accepted {
            note: Some(said.into())
        }
    );
    assert_eq!(accepted_event_note(&story).as_deref(), Some(said));
    assert_eq!(story.release().rollout.weight, 50);

    let full = Command::new("late-2", person("carol"), Action::PromoteFull).late();
    story.engine.handle(full, at(200));
    story.events.extend(story.engine.take_events());
    assert_eq!(
        accepted_event_note(&story).as_deref(),
        Some(
            "2 remaining steps skipped; all traffic to the new version; late: the window closed at 14:00 UTC, 3m 20s before"
        )
    );
}

#[test]
fn a_promote_inside_the_window_needs_no_word_and_rollback_never_does() {
    let open = ReleasePlan {
        window: Some(crate::model::Window {
            start: at(-1800),
            length: SignedDuration::from_mins(60),
        }),
        ..plan()
    };
    let mut story = Story::at_first_pause_of(open);
    assert_eq!(
        story.send(100, "carol", Action::Advance),
        Verdict::Accepted { note: None }
    );
    let mut story = Story::at_first_pause_of(closing_at_t0());
    assert!(
        story
            .send(100, "carol", Action::Pause { reason: None })
            .is_accepted()
    );
    assert!(
        story
            .send(110, "carol", Action::Rollback { reason: None })
            .is_accepted()
    );
}

#[test]
fn during_a_freeze_a_promote_is_refused_with_its_reason_and_when_it_reopens() {
    let frozen = ReleasePlan {
        freezes: vec![crate::model::Freeze::Period(crate::model::freeze::Period {
            from: at(90),
            to: at(3600),
            reason: "quarter close".into(),
        })],
        ..closing_at_t0()
    };
    let mut story = Story::at_first_pause_of(frozen);
    let refusal = refusal(story.send(100, "carol", Action::Advance));
    assert_eq!(refusal.grounds, Grounds::When);
    assert_eq!(
        refusal.reason,
        "frozen: quarter close — reopens Tue 2026-11-24 15:00 UTC"
    );
    // Meaning it late does not thaw a freeze.
    let late = Command::new("late", person("carol"), Action::PromoteFull).late();
    let verdict = story.engine.handle(late, at(100));
    assert!(refused(verdict).starts_with("frozen: quarter close"));
    assert_eq!(story.release().rollout.weight, 10);
    // Pause, resume and rollback stay allowed.
    assert!(
        story
            .send(110, "carol", Action::Pause { reason: None })
            .is_accepted()
    );
    assert!(story.send(120, "carol", Action::Resume).is_accepted());
    assert!(
        story
            .send(130, "carol", Action::Rollback { reason: None })
            .is_accepted()
    );
}
