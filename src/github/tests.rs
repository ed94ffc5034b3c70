//! A workflow run read from GitHub's own example responses, changed where
//! a case needs it, as the release an operator sees.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::translate::{Observed, Said, Translator, plan};
use super::types::{Approval, Job, PendingDeployment, Run};
use crate::engine::policy;
use crate::model::{
    Action, Approvers, Command, Event, EventKind, GateState, Level, Outcome, Person, Release,
    StageKind, StageState, Status,
};

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// GitHub's example job, renamed and set to a status.
fn job(id: u64, name: &str, status: &str, conclusion: Option<&str>) -> Job {
    let mut v = fixture("job.json");
    v["id"] = json!(id);
    v["name"] = json!(name);
    v["status"] = json!(status);
    v["conclusion"] = json!(conclusion);
    if status != "completed" {
        v["completed_at"] = Value::Null;
        for step in v["steps"].as_array_mut().unwrap() {
            step["status"] = json!("queued");
            step["conclusion"] = Value::Null;
            step["completed_at"] = Value::Null;
            step["started_at"] = Value::Null;
        }
    }
    if status == "waiting" || status == "queued" {
        v["started_at"] = Value::Null;
    }
    serde_json::from_value(v).unwrap()
}

fn run(status: &str, conclusion: Option<&str>, attempt: u32) -> Run {
    let mut v = fixture("workflow-run.json");
    v["status"] = json!(status);
    v["conclusion"] = json!(conclusion);
    v["run_attempt"] = json!(attempt);
    // The run's day, so the jobs' times (2020-01-20) come after its start.
    v["run_started_at"] = json!("2020-01-20T17:40:00Z");
    v["created_at"] = json!("2020-01-20T17:40:00Z");
    v["updated_at"] = json!("2020-01-20T18:00:00Z");
    serde_json::from_value(v).unwrap()
}

/// GitHub's example pending deployment for `environment`.
fn pending(environment: &str, id: u64, can_approve: bool) -> PendingDeployment {
    let mut v = fixture("pending-deployment-items.json")[0].clone();
    v["environment"]["name"] = json!(environment);
    v["environment"]["id"] = json!(id);
    v["current_user_can_approve"] = json!(can_approve);
    v["wait_timer_started_at"] = json!("2020-01-20T17:45:00Z");
    serde_json::from_value(v).unwrap()
}

fn approval(environment: &str, id: u64, state: &str, login: &str, comment: &str) -> Approval {
    let mut v = fixture("environment-approvals-items.json")[0].clone();
    v["environments"][0]["name"] = json!(environment);
    v["environments"][0]["id"] = json!(id);
    v["state"] = json!(state);
    v["user"]["login"] = json!(login);
    v["comment"] = json!(comment);
    serde_json::from_value(v).unwrap()
}

fn seen(run: Run, jobs: Vec<Job>) -> Observed {
    Observed {
        run,
        jobs,
        pending: Vec::new(),
        approvals: Vec::new(),
    }
}

const NOW: &str = "2020-01-20T18:10:00Z";

/// Every event the translator said, each checked as a reader checks what
/// enters from outside: possible in the plan as it stood (folded in a
/// release of its own), its seq one more than the last, its time never
/// earlier than the last one's.
struct Heard {
    release: Release,
    events: Vec<Event>,
    windows: usize,
}

impl Heard {
    fn new() -> Heard {
        Heard {
            release: Release::new("", 10_000),
            events: Vec::new(),
            windows: 0,
        }
    }

    fn take(&mut self, said: Vec<Said>) -> Vec<Event> {
        let mut new = Vec::new();
        for s in said {
            match s {
                Said::NewWindow => {
                    self.windows += 1;
                    self.release = Release::new("", 10_000);
                }
                Said::Events(events) => new.extend(events),
            }
        }
        self.check(&new);
        new
    }

    fn check(&mut self, events: &[Event]) {
        for e in events {
            assert_eq!(e.impossible(self.release.plan()), None, "{e:?}");
            assert_eq!(e.seq, self.release.last_seq() + 1, "{e:?}");
            if let Some(last) = self.release.last_at() {
                assert!(e.at >= last, "time went back: {e:?}");
            }
            self.release.apply(e);
            self.events.push(e.clone());
        }
    }
}

fn types(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !matches!(e.kind, EventKind::Log { .. }))
        .map(|e| match &e.kind {
            EventKind::StageChanged { stage, state, .. } => format!("{stage} {state}"),
            EventKind::GateChanged { gate, state, .. } => format!("gate {gate} {state}"),
            k => k.name().to_string(),
        })
        .collect()
}

fn state(t: &Translator, stage: &str) -> StageState {
    t.release()
        .stages()
        .iter()
        .find(|s| s.plan.id == stage)
        .unwrap()
        .state
}

#[test]
fn the_first_look_is_the_plan_of_the_jobs_in_order_with_githubs_times() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let jobs = vec![
        job(1, "build", "completed", Some("success")),
        job(2, "Run tests", "in_progress", None),
        job(3, "build", "queued", None),
        job(4, "Deploy to production", "queued", None),
    ];
    let events = heard.take(t.observe(&seen(run("in_progress", None, 1), jobs), at(NOW)));
    let plan = t.release().plan().unwrap();
    assert_eq!(plan.id, "octocat/Hello-World/actions/runs/30433642");
    assert_eq!(plan.service, "Hello-World");
    assert_eq!(plan.version_to, "acb5820 (main, run #562 attempt 1)");
    assert_eq!(plan.environment, "Build");
    assert_eq!(plan.deployer, Person::new("octocat").unwrap());
    assert_eq!(plan.decided_by.as_deref(), Some("github"));
    let stages: Vec<(&str, StageKind)> = plan
        .stages
        .iter()
        .map(|s| (s.id.as_str(), s.kind))
        .collect();
    assert_eq!(
        stages,
        [
            ("build", StageKind::Build),
            ("run-tests", StageKind::Test),
            ("build-2", StageKind::Build),
            ("deploy-to-production", StageKind::Deploy)
        ]
    );
    assert_eq!(
        types(&events),
        [
            "release_started",
            "build running",
            "run-tests running",
            "build succeeded"
        ]
    );
    // The board's duration is GitHub's: 17:42:40 to 17:44:39.
    let build = &t.release().stages()[0];
    assert_eq!(build.started_at, Some(at("2020-01-20T17:42:40Z")));
    assert_eq!(build.finished_at, Some(at("2020-01-20T17:44:39Z")));
    assert_eq!(events[0].at, at("2020-01-20T17:40:00Z"));
    assert_eq!(state(&t, "build-2"), StageState::Pending);
    assert_eq!(t.running_jobs(), [2]);
    // Each finished step is a line, at its own time.
    let step = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Log { message, .. } if message.contains("step 7") => Some((e.at, message)),
            _ => None,
        })
        .unwrap();
    assert_eq!(step.0, at("2020-01-20T17:42:59Z"));
    assert_eq!(step.1, "build: step 7 Run Tests ✓ 6s");
    // Nothing changed: nothing said.
    let again = seen(
        run("in_progress", None, 1),
        vec![
            job(1, "build", "completed", Some("success")),
            job(2, "Run tests", "in_progress", None),
            job(3, "build", "queued", None),
            job(4, "Deploy to production", "queued", None),
        ],
    );
    assert!(heard.take(t.observe(&again, at(NOW))).is_empty());
    // A plan without a rollout stage or steps reads as any other.
    assert_eq!(t.release().status(), Status::Running);
    assert!(t.release().current_stage().is_some());
}

#[test]
fn a_run_waiting_on_two_environments_opens_two_gates_bound_to_their_jobs() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let mut look = seen(
        run("waiting", None, 1),
        vec![
            job(1, "build", "completed", Some("success")),
            job(2, "deploy-staging", "waiting", None),
            job(3, "deploy-production", "waiting", None),
        ],
    );
    look.pending = vec![
        pending("production", 20, true),
        pending("staging", 10, true),
    ];
    let events = heard.take(t.observe(&look, at(NOW)));
    let kinds = types(&events);
    assert!(
        kinds.contains(&"gate production open".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"gate staging open".to_string()),
        "{kinds:?}"
    );
    let plan = t.release().plan().unwrap();
    let gate_of = |id: &str| {
        plan.stages
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .gate
            .clone()
    };
    assert_eq!(gate_of("deploy-staging").as_deref(), Some("staging"));
    assert_eq!(gate_of("deploy-production").as_deref(), Some("production"));
    let stage = &t.release().stages()[2];
    assert_eq!(stage.state, StageState::Waiting);
    assert_eq!(
        stage.note.as_deref(),
        Some("waiting for review: production")
    );
    assert_eq!(t.environment_id("production"), Some(20));
    assert_eq!(plan.environment, "production, staging");
}

#[test]
fn an_approval_by_someone_else_signs_the_gate_in_their_name() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let jobs = || {
        vec![
            job(1, "build", "completed", Some("success")),
            job(2, "deploy", "waiting", None),
        ]
    };
    let mut look = seen(run("waiting", None, 1), jobs());
    look.pending = vec![pending("production", 20, true)];
    heard.take(t.observe(&look, at(NOW)));
    // Approved on GitHub's page by hubot: the environment leaves the list.
    let mut look = seen(run("in_progress", None, 1), jobs());
    look.jobs[1] = job(2, "deploy", "in_progress", None);
    look.approvals = vec![approval("production", 20, "approved", "hubot", "LGTM")];
    let later = at("2020-01-20T18:11:00Z");
    heard.take(t.observe(&look, later));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Approved);
    assert_eq!(gate.signoffs[0].operator, Person::new("hubot").unwrap());
    assert_eq!(gate.signoffs[0].comment.as_deref(), Some("LGTM"));
    // GitHub gives no time: before the job it let go started, and after
    // the gate was seen open.
    let signed = gate.signoffs[0].at;
    assert!(signed <= later && signed >= at(NOW), "{signed}");
    assert_eq!(state(&t, "deploy"), StageState::Running);
}

#[test]
fn a_job_that_went_on_before_its_review_is_listed_is_signed_by_someone_until_the_record_comes() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let mut look = seen(
        run("waiting", None, 1),
        vec![job(2, "deploy", "waiting", None)],
    );
    look.pending = vec![pending("production", 20, true)];
    heard.take(t.observe(&look, at(NOW)));
    let mut look = seen(
        run("in_progress", None, 1),
        vec![job(2, "deploy", "in_progress", None)],
    );
    heard.take(t.observe(&look, at(NOW)));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Approved);
    assert_eq!(gate.signoffs[0].operator.as_str(), "someone");
    look.approvals = vec![approval("production", 20, "approved", "hubot", "")];
    heard.take(t.observe(&look, at(NOW)));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(gate.signoffs[0].operator.as_str(), "hubot");
    assert_eq!(gate.signoffs[0].comment, None);
}

#[test]
fn a_rejection_rejects_the_gate_and_the_runs_failure_fails_the_release() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let mut look = seen(
        run("waiting", None, 1),
        vec![job(2, "deploy", "waiting", None)],
    );
    look.pending = vec![pending("production", 20, true)];
    heard.take(t.observe(&look, at(NOW)));
    let mut look = seen(
        run("completed", Some("failure"), 1),
        vec![job(2, "deploy", "completed", Some("failure"))],
    );
    look.approvals = vec![approval(
        "production",
        20,
        "rejected",
        "hubot",
        "not on a Friday",
    )];
    let events = heard.take(t.observe(&look, at(NOW)));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Rejected);
    let rejection = gate.rejection.as_ref().unwrap();
    assert_eq!(rejection.operator.as_str(), "hubot");
    assert_eq!(rejection.reason, "not on a Friday");
    assert_eq!(t.release().status(), Status::Finished(Outcome::Failed));
    assert_eq!(types(&events).last().unwrap(), "release_finished");
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::Log { level: Level::Error, message, .. } if message == "run #562 completed: failure")));
}

#[test]
fn a_job_that_appears_later_extends_the_plan() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let build = || job(1, "build", "completed", Some("success"));
    heard.take(t.observe(&seen(run("in_progress", None, 1), vec![build()]), at(NOW)));
    let look = seen(
        run("in_progress", None, 1),
        vec![build(), job(7, "smoke test", "in_progress", None)],
    );
    let events = heard.take(t.observe(&look, at(NOW)));
    assert_eq!(types(&events), ["plan_extended", "smoke-test running"]);
    let stage = &t.release().stages()[1];
    assert_eq!(stage.plan.name, "smoke test");
    assert_eq!(t.stage_of(7), Some("smoke-test"));
    assert_eq!(t.job_of("smoke-test"), Some(7));
}

#[test]
fn a_re_run_is_a_new_window_and_a_cancel_asked_here_is_the_operators() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let jobs = || vec![job(1, "build", "in_progress", None)];
    heard.take(t.observe(&seen(run("in_progress", None, 1), jobs()), at(NOW)));
    let dave = Person::new("dave").unwrap();
    let cancel = Command::new(
        "c1",
        dave.clone(),
        Action::Rollback {
            reason: Some("wrong branch".into()),
        },
    );
    t.asked(&cancel, at(NOW));
    let done = seen(
        run("completed", Some("cancelled"), 1),
        vec![job(1, "build", "completed", Some("cancelled"))],
    );
    let events = heard.take(t.observe(&done, at(NOW)));
    assert!(events.iter().any(|e| matches!(&e.kind,
        EventKind::ReleaseStopped { by, reason } if *by == dave && reason == "wrong branch")));
    assert_eq!(t.release().status(), Status::Finished(Outcome::Aborted));
    // Re-run: attempt 2 of the same run.
    let said = t.observe(&seen(run("in_progress", None, 2), jobs()), at(NOW));
    assert_eq!(said.first(), Some(&Said::NewWindow));
    let events = heard.take(said);
    assert_eq!(heard.windows, 1);
    assert_eq!(types(&events)[0], "release_started");
    assert_eq!(t.release().status(), Status::Running);
    assert!(
        t.release()
            .plan()
            .unwrap()
            .version_to
            .ends_with("attempt 2)")
    );
}

fn approve(who: &Person) -> Command {
    Command::new(
        "c-approve",
        who.clone(),
        Action::Approve {
            gate: Some("production".into()),
            comment: None,
        },
    )
}

#[test]
fn whether_github_lets_me_review_is_whether_the_policy_lets_me_sign() {
    let me = Person::new("dave").unwrap();
    for can in [true, false] {
        let mut t = Translator::new(1000);
        t.set_operator(me.clone());
        let mut heard = Heard::new();
        let mut look = seen(
            run("waiting", None, 1),
            vec![job(2, "deploy", "waiting", None)],
        );
        let mut p = pending("production", 20, can);
        // dave is listed as a reviewer, yet GitHub says whether he may.
        let mut v = serde_json::to_value(&p).unwrap();
        v["reviewers"][0]["reviewer"]["login"] = json!("dave");
        p = serde_json::from_value(v).unwrap();
        look.pending = vec![p];
        heard.take(t.observe(&look, at(NOW)));
        let checked = policy::check(&heard.release, &approve(&me), at(NOW));
        if can {
            assert!(checked.is_ok(), "{checked:?}");
        } else {
            let why = checked.unwrap_err().reason;
            assert_eq!(
                why,
                "dave may not approve production (approvers: @github/justice-league)"
            );
        }
        let gate = t.release().gate("production").unwrap();
        assert!(matches!(&gate.plan.approvers, Approvers::Named(n) if n.contains(&me) == can));
    }
}

#[test]
fn a_job_log_says_only_its_new_lines_cleaned_at_their_times() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let build = job(1, "build", "in_progress", None);
    heard.take(t.observe(
        &seen(run("in_progress", None, 1), vec![build.clone()]),
        at(NOW),
    ));
    let first = "\u{feff}2020-01-20T17:42:40.1234567Z ##[group]Run cargo test\n\
                 2020-01-20T17:42:41.0000000Z running 3 tests\n\
                 2020-01-20T17:42:42.0000000Z ##[endgroup]\n";
    let events = t.job_log(&build, first, at(NOW));
    heard.check(&events);
    let lines: Vec<(&str, Level)> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Log {
                message,
                level,
                source,
                stage,
            } => {
                assert_eq!(
                    (source.as_str(), stage.as_deref()),
                    ("build", Some("build"))
                );
                (message.as_str(), *level)
            }
            _ => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("▸ Run cargo test", Level::Info),
            ("running 3 tests", Level::Info)
        ]
    );
    assert_eq!(events[0].at, at("2020-01-20T17:42:40.1234567Z"));
    let more = format!(
        "{first}2020-01-20T17:42:43.0000000Z ##[warning]slow test\n\
         2020-01-20T17:42:44.0000000Z ##[error]\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2Jtest failed\n"
    );
    let events = t.job_log(&build, &more, at(NOW));
    heard.check(&events);
    let lines: Vec<(String, Level)> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Log { message, level, .. } => (message.clone(), *level),
            _ => panic!(),
        })
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], ("slow test".into(), Level::Warn));
    assert_eq!(lines[1].1, Level::Error);
    assert!(lines[1].0.ends_with("test failed"), "{lines:?}");
    assert!(!lines[1].0.contains('\u{1b}') && !lines[1].0.contains('\u{7}'));
    assert!(t.job_log(&build, &more, at(NOW)).is_empty());
    // A flood: the newest few hundred, the rest counted in one line.
    let flood: String = (0..1000)
        .map(|i| format!("2020-01-20T17:43:00Z line {i}\n"))
        .collect();
    let events = t.job_log(&build, &format!("{more}{flood}"), at(NOW));
    heard.check(&events);
    assert_eq!(events.len(), 301);
    assert!(matches!(&events[0].kind,
        EventKind::Log { message, .. } if message.starts_with("700 earlier lines")));
    assert!(matches!(&events[300].kind,
        EventKind::Log { message, .. } if message == "line 999"));
}

#[test]
fn a_hostile_login_or_job_name_reaches_the_plan_cleaned_and_never_as_someone_it_is_not() {
    let mut r = run("queued", None, 1);
    r.triggering_actor.as_mut().unwrap().login = "shipdeck".into();
    let j = job(1, "build\u{1b}[31m\u{202e}evil", "queued", None);
    let plan = plan(&seen(r, vec![j]));
    assert_eq!(plan.deployer.as_str(), "someone");
    assert!(!plan.stages[0].name.contains('\u{1b}'));
    assert!(!plan.stages[0].name.contains('\u{202e}'));
    assert_eq!(plan.stages[0].id, "build-31m-evil");
}

#[test]
fn a_rollback_workflow_dispatched_here_rolls_the_release_back_in_the_operators_name() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let jobs = || vec![job(1, "deploy", "in_progress", None)];
    heard.take(t.observe(&seen(run("in_progress", None, 1), jobs()), at(NOW)));
    let erin = Person::new("erin").unwrap();
    let rollback = Command::new(
        "c2",
        erin.clone(),
        Action::Rollback {
            reason: Some("p99 doubled".into()),
        },
    );
    let started = t
        .rollback_dispatched(&rollback, "rollback.yml", at(NOW))
        .unwrap();
    heard.check(std::slice::from_ref(&started));
    assert!(
        matches!(&started.kind, EventKind::RollbackStarted { by, reason }
        if *by == erin && reason == "rollback workflow rollback.yml dispatched: p99 doubled")
    );
    assert_eq!(t.release().status(), Status::RollingBack);
    assert!(
        t.rollback_dispatched(&rollback, "rollback.yml", at(NOW))
            .is_none(),
        "once"
    );
    let done = seen(
        run("completed", Some("success"), 1),
        vec![job(1, "deploy", "completed", Some("success"))],
    );
    heard.take(t.observe(&done, at(NOW)));
    assert_eq!(t.release().status(), Status::Finished(Outcome::RolledBack));
}

#[test]
fn a_run_waiting_for_a_maintainer_says_so_once() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let look = seen(run("completed", Some("action_required"), 1), Vec::new());
    let events = heard.take(t.observe(&look, at(NOW)));
    let warned = events
        .iter()
        .filter(|e| {
            matches!(&e.kind,
        EventKind::Log { level: Level::Warn, message, .. } if message.contains("action_required"))
        })
        .count();
    assert_eq!(warned, 1);
    assert_eq!(
        t.release().status(),
        Status::Running,
        "not over: it has not run"
    );
    assert!(heard.take(t.observe(&look, at(NOW))).is_empty());
}

#[test]
fn a_re_run_waits_for_its_own_review_not_the_first_attempts() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let jobs = |deploy: &str| {
        vec![
            job(1, "build", "completed", Some("success")),
            job(2, "deploy", deploy, None),
        ]
    };
    // Attempt 2 of a run whose attempt 1 hubot approved: the review is on
    // record, but production waits again.
    let mut look = seen(run("waiting", None, 2), jobs("waiting"));
    look.pending = vec![pending("production", 20, true)];
    look.approvals = vec![approval("production", 20, "approved", "hubot", "first")];
    heard.take(t.observe(&look, at(NOW)));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(
        gate.state,
        GateState::Open,
        "attempt 1's review is not this one's"
    );
    assert!(
        !t.release().deployed(),
        "nothing has gone out in this attempt"
    );
    // Erin approves attempt 2: her review is the new one on record.
    let mut look = seen(run("in_progress", None, 2), jobs("in_progress"));
    look.approvals = vec![
        approval("production", 20, "approved", "hubot", "first"),
        approval("production", 20, "approved", "erin", "second"),
    ];
    heard.take(t.observe(&look, at("2020-01-20T18:11:00Z")));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Approved);
    assert_eq!(gate.signoffs[0].operator, Person::new("erin").unwrap());
    assert!(t.release().deployed());
}

#[test]
fn an_environment_with_only_a_wait_timer_is_let_through_by_github() {
    let mut t = Translator::new(1000);
    let mut heard = Heard::new();
    let jobs = |deploy: &str| {
        vec![
            job(1, "build", "completed", Some("success")),
            job(2, "deploy", deploy, None),
        ]
    };
    let mut look = seen(run("waiting", None, 1), jobs("waiting"));
    let mut timer = pending("production", 20, false);
    timer.reviewers.clear();
    look.pending = vec![timer];
    heard.take(t.observe(&look, at(NOW)));
    // The timer ran out: the job goes on, and no review will ever be listed.
    let look = seen(run("in_progress", None, 1), jobs("in_progress"));
    heard.take(t.observe(&look, at("2020-01-20T18:11:00Z")));
    let gate = t.release().gate("production").unwrap();
    assert_eq!(gate.state, GateState::Approved);
    assert_eq!(gate.signoffs[0].operator.as_str(), "github");
    assert_eq!(
        gate.signoffs[0].comment.as_deref(),
        Some("its wait timer ran out")
    );
}

#[test]
fn in_a_freeze_no_deployment_is_approved_and_a_rejection_still_goes_out() {
    use super::commands::{Order, order};
    use crate::model::freeze::{Freeze, Period};
    let mut look = seen(
        run("waiting", None, 1),
        vec![job(3, "deploy-production", "waiting", None)],
    );
    look.pending = vec![pending("production", 20, true)];
    let freezes = [Freeze::Period(Period {
        from: at("2020-01-20T18:00:00Z"),
        to: at("2020-01-21T08:00:00Z"),
        reason: "release train closed".into(),
    })];
    let approve = Action::Approve {
        gate: None,
        comment: None,
    };
    let user = super::token::TokenKind::User;
    let refused = order(
        &approve,
        &look,
        false,
        None,
        user,
        false,
        (&freezes, at(NOW)),
    )
    .unwrap_err();
    assert_eq!(
        refused.reason,
        "frozen: release train closed — reopens Tue 2020-01-21 08:00 UTC"
    );
    assert_eq!(refused.grounds, policy::Grounds::When);
    let after = (&freezes[..], at("2020-01-21T08:00:00Z"));
    assert!(matches!(
        order(&approve, &look, false, None, user, false, after),
        Ok(Order::Review { approve: true, .. })
    ));
    let reject = Action::Reject {
        gate: None,
        reason: "not now".into(),
    };
    assert!(matches!(
        order(
            &reject,
            &look,
            false,
            None,
            user,
            false,
            (&freezes, at(NOW))
        ),
        Ok(Order::Review { approve: false, .. })
    ));
}
