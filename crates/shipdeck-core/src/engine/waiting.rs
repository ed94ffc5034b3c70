//! What a release waits on a person for, and who may give it: a gate to
//! sign, a checklist item to tick, a rollout holding until someone advances
//! it, a controller's pause that wants a decision, a failed stage to retry.
//! Each says since when it has waited and the deadline it has, if any.
//!
//! This is the one account of "what waits on whom": the console's board and
//! header, the inbox and `serve`'s notifications all read it. It is pure:
//! the engine's policy says whether this operator may do each.

use jiff::Timestamp;

use super::policy;
use crate::model::{
    Action, Command, GateState, Person, Release, Stage, StageState, Status, StepKind, names,
};

/// What must be done for a release to move on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ask {
    /// Sign (or reject) a gate.
    Sign { gate: String },
    /// Tick a manual checklist item.
    Tick { list: String, item: String },
    /// Advance a rollout holding at an untimed pause.
    Advance,
    /// A controller paused the rollout for a person (an analysis that could
    /// not decide): promote or roll back.
    Decide,
    /// Retry a failed stage.
    Retry { stage: String },
}

impl Ask {
    /// The command that answers it, as `shipdeck do` names it.
    pub fn verb(&self) -> &'static str {
        match self {
            Ask::Sign { .. } => "approve",
            Ask::Tick { .. } => "check",
            Ask::Advance => "advance",
            Ask::Decide => "promote",
            Ask::Retry { .. } => "retry",
        }
    }

    /// `sign it`, `tick it`: what a person does, for a sentence.
    pub fn doing(&self) -> &'static str {
        match self {
            Ask::Sign { .. } => "sign it",
            Ask::Tick { .. } => "tick it",
            Ask::Advance => "advance it",
            Ask::Decide => "decide",
            Ask::Retry { .. } => "retry it",
        }
    }
}

/// A time by which something must be done, and what happens then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub at: Timestamp,
    /// `the window closes`.
    pub what: String,
}

/// One thing a release waits on a person for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub ask: Ask,
    /// What must be done: a gate's name, an item's text, `the rollout at
    /// step 2/5`.
    pub what: String,
    /// The stage (or checklist) it holds up.
    pub stage: String,
    /// Since when it has waited, where the release knows.
    pub since: Option<Timestamp>,
    pub deadline: Option<Deadline>,
    /// Whether this operator may do it now.
    pub mine: bool,
    /// Who else may, when the plan names them: `dave or erin`.
    pub others: Option<String>,
}

/// Everything `release` waits on a person for at `now`, `operator`'s first,
/// in the order of the gates pane. Nothing waits on anyone once the
/// release has ended.
pub fn of(release: &Release, operator: &Person, now: Timestamp) -> Vec<Wait> {
    let status = release.status();
    if !status.in_flight() {
        return Vec::new();
    }
    let reader = Reader {
        release,
        operator,
        now,
    };
    let mut all = Vec::new();
    let rolling_back = status == Status::RollingBack;
    // Stages may run side by side (a workflow's jobs), each waiting on its
    // own gate.
    if !rolling_back {
        for stage in release.stages().iter().filter(|s| s.state.is_active()) {
            all.extend(reader.gate(stage));
        }
    }
    reader.checklist(&mut all);
    if !rolling_back {
        if let Some(stage) = release.current_stage() {
            all.extend(reader.step(stage));
        }
        all.extend(reader.retry());
    }
    let deadline = release.plan().and_then(|p| p.window).map(|w| Deadline {
        at: w.end(),
        what: "the window closes".to_string(),
    });
    for wait in &mut all {
        wait.deadline = deadline.clone();
    }
    all.sort_by_key(|w| !w.mine);
    all
}

/// The checklist being worked through: the rollback's once a rollback has
/// started, else the current stage's, else the latest started stage's.
pub fn active_checklist(release: &Release) -> Option<&crate::model::Checklist> {
    let rollback_list = release.plan().and_then(|p| p.rollback_checklist.as_deref());
    if release.rollback().is_some()
        && let Some(list) = rollback_list.and_then(|l| release.checklist(l))
    {
        return Some(list);
    }
    let from_stage = |s: &Stage| {
        s.plan
            .checklist
            .as_deref()
            .and_then(|l| release.checklist(l))
    };
    if let Some(list) = release.current_stage().and_then(from_stage) {
        return Some(list);
    }
    release
        .stages()
        .iter()
        .rev()
        .filter(|s| s.started_at.is_some())
        .find_map(from_stage)
}

struct Reader<'a> {
    release: &'a Release,
    operator: &'a Person,
    now: Timestamp,
}

impl Reader<'_> {
    /// Whether the policy lets this operator do `action` now.
    fn may(&self, action: Action) -> bool {
        let probe = Command::new("probe", self.operator.clone(), action);
        policy::check(self.release, &probe, self.now).is_ok()
    }

    /// Whether they may promote, late if the window has closed: that still
    /// waits on them (the console asks before it sends one).
    fn may_promote(&self, action: Action) -> bool {
        let probe = Command::new("probe", self.operator.clone(), action).late();
        policy::check(self.release, &probe, self.now).is_ok()
    }

    fn wait(&self, ask: Ask, what: String, stage: &str, since: Option<Timestamp>) -> Wait {
        Wait {
            ask,
            what,
            stage: stage.to_string(),
            since,
            deadline: None,
            mine: false,
            others: None,
        }
    }

    /// The stage's gate, while open.
    fn gate(&self, stage: &Stage) -> Option<Wait> {
        let release = self.release;
        let gate = stage.plan.gate.as_deref().and_then(|g| release.gate(g))?;
        if gate.state != GateState::Open {
            return None;
        }
        let others = release
            .deployer()
            .and_then(|deployer| gate.plan.eligible_named(deployer))
            .map(|names| {
                let left: Vec<&str> = names
                    .into_iter()
                    .filter(|n| !gate.signed_by(n) && *n != self.operator)
                    .map(|n| n.as_str())
                    .collect();
                or_list(&left)
            });
        let ask = Ask::Sign {
            gate: gate.plan.id.clone(),
        };
        let since = gate.opened_at.or(stage.since);
        let mut wait = self.wait(ask, gate.plan.name.clone(), &stage.plan.name, since);
        wait.mine = self.may(Action::Approve {
            gate: Some(gate.plan.id.clone()),
            comment: None,
        });
        wait.others = others.filter(|o| !o.is_empty());
        Some(wait)
    }

    /// The items of the checklist being worked through that a person must
    /// tick (those the checks tick themselves are not for people).
    fn checklist(&self, all: &mut Vec<Wait>) {
        let release = self.release;
        let Some(list) = active_checklist(release) else {
            return;
        };
        // Since the rollback began, or since the stage holding the list
        // took its present state.
        let since = match release.rollback() {
            Some(rollback) => Some(rollback.started_at),
            None => release
                .stages()
                .iter()
                .find(|s| s.plan.checklist.as_deref() == Some(list.id.as_str()))
                .and_then(|s| s.since.or(s.started_at)),
        };
        for item in list
            .items
            .iter()
            .filter(|i| i.ticked.is_none() && !i.plan.automatic)
        {
            let ask = Ask::Tick {
                list: list.id.clone(),
                item: item.plan.id.clone(),
            };
            let mut wait = self.wait(ask, item.plan.text.clone(), &list.name, since);
            wait.mine = self.may(Action::Check {
                list: list.id.clone(),
                item: item.plan.id.clone(),
            });
            all.push(wait);
        }
    }

    /// The rollout holding at a pause until someone advances it, or a
    /// controller's pause waiting for a decision.
    fn step(&self, stage: &Stage) -> Option<Wait> {
        let release = self.release;
        if stage.state != StageState::Running {
            return None;
        }
        let decision = release
            .paused_by()
            .is_some_and(|by| by.canonical() == names::CONTROLLER);
        if decision {
            let what = "a decision: the analysis was inconclusive — promote or roll back";
            let mut wait = self.wait(
                Ask::Decide,
                what.to_string(),
                &stage.plan.name,
                release.paused_at(),
            );
            // The cluster decides who may; shipdeck's calendar still holds
            // a promote in a freeze.
            wait.mine = release.plan().is_none_or(|plan| {
                policy::calendar(
                    &plan.freezes,
                    plan.window,
                    &Action::PromoteFull,
                    true,
                    self.now,
                )
                .is_ok()
            });
            return Some(wait);
        }
        let (i, step) = release.current_step()?;
        let holding = matches!(step.kind, StepKind::Pause { duration: None })
            && !release.rollout().step_completed;
        if !holding {
            return None;
        }
        let what = format!(
            "the rollout at step {}/{}",
            i.saturating_add(1),
            release.steps().len()
        );
        let since = release.rollout().step_at;
        let mut wait = self.wait(Ask::Advance, what, &stage.plan.name, since);
        wait.mine = self.may_promote(Action::Advance);
        Some(wait)
    }

    /// A failed stage holding the release until it is retried.
    fn retry(&self) -> Option<Wait> {
        let failed = self
            .release
            .stages()
            .iter()
            .find(|s| s.state == StageState::Failed)?;
        let ask = Ask::Retry {
            stage: failed.plan.id.clone(),
        };
        let what = format!("a retry of \"{}\"", failed.plan.name);
        let since = failed.since.or(failed.finished_at);
        let mut wait = self.wait(ask, what, &failed.plan.name, since);
        wait.mine = self.may(Action::Retry { stage: None });
        Some(wait)
    }
}

/// `dave`, `dave or erin`, `carol, dave or erin`.
pub fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
