//! The release engine: applies operator commands under policy, walks stages
//! and rollout steps, watches rules, and emits events.
//!
//! Every change goes out as an [`Event`] and is folded into the engine's own
//! [`Release`] with the same `Release::apply` every other reader uses, so the
//! engine can never hold a state its events do not describe.
//!
//! The engine has no clock: every call says what time it is. It knows nothing
//! of terminals, HTTP or async runtimes.

pub mod policy;
mod rules;
pub mod waiting;

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::model::time::Saturating;
use crate::model::{
    Action, AlertState, Cohort, Command, Event, EventKind, GateState, Level, Outcome, Person,
    Release, ReleasePlan, Rollback, RuleAction, RuleState, Series, SignOff, StageKind, StageState,
    Status, StepKind, StepState, Stopped, Tick, units::format_duration,
};

pub use policy::{Grounds, Permit, Refusal, Target, Verdict};
pub use rules::{RuleMonitor, Transition};

/// Runs one release.
#[derive(Debug)]
pub struct Engine {
    release: Release,
    plan: ReleasePlan,
    pending: Vec<Event>,
    /// Verdicts by command id: the same id twice is applied once.
    verdicts: BTreeMap<String, Verdict>,
    monitors: Vec<RuleMonitor>,
}

impl Engine {
    pub fn new(plan: ReleasePlan, log_capacity: usize) -> Engine {
        Engine {
            release: Release::new(plan.id.clone(), log_capacity),
            monitors: plan.rules.iter().cloned().map(RuleMonitor::new).collect(),
            plan,
            pending: Vec::new(),
            verdicts: BTreeMap::new(),
        }
    }

    /// The release as the events so far describe it.
    pub fn release(&self) -> &Release {
        &self.release
    }

    /// Events emitted since the last call, in `seq` order.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.pending)
    }

    /// Starts the release: announces the plan and starts the first stage.
    pub fn start(&mut self, now: Timestamp) {
        if self.release.status != Status::NotStarted {
            return;
        }
        self.emit(
            now,
            EventKind::ReleaseStarted {
                plan: Box::new(self.plan.clone()),
            },
        );
        self.progress(now);
    }

    fn emit(&mut self, at: Timestamp, kind: EventKind) {
        let event = Event {
            seq: self.release.last_seq + 1,
            at,
            release: self.release.id.clone(),
            kind,
        };
        self.release.apply(&event);
        self.pending.push(event);
    }

    /// Applies an operator's command, or refuses it with a reason. Either way
    /// the outcome is recorded as an event. A command in one of shipdeck's
    /// own names (`rule:…`, `autopilot`) is refused: no person acts as
    /// shipdeck, so nobody signs, rolls back or gives a reason as a rule.
    pub fn handle(&mut self, command: Command, now: Timestamp) -> Verdict {
        if command.operator.is_reserved() && !self.verdicts.contains_key(&command.id) {
            let refusal = Refusal::who(format!(
                "{} is a name shipdeck uses for itself; a person cannot act under it",
                command.operator
            ));
            return self.refuse(command, refusal, now);
        }
        self.act(command, now)
    }

    /// A command shipdeck gives itself (the autopilot, a metrics source
    /// pausing what it cannot judge), under its own name.
    pub(crate) fn act(&mut self, command: Command, now: Timestamp) -> Verdict {
        if let Some(verdict) = self.verdicts.get(&command.id) {
            return verdict.clone();
        }
        let verdict = match policy::check(&self.release, &command, now) {
            Ok(Permit { note, target }) => {
                self.emit(
                    now,
                    EventKind::CommandAccepted {
                        command: command.clone(),
                        note: note.clone(),
                    },
                );
                self.execute(&command, &target, now);
                Verdict::Accepted { note }
            }
            Err(refusal) => {
                self.emit(
                    now,
                    EventKind::CommandRejected {
                        command: command.clone(),
                        reason: refusal.reason.clone(),
                    },
                );
                Verdict::Refused(refusal)
            }
        };
        self.verdicts.insert(command.id, verdict.clone());
        verdict
    }

    /// Refuses a command before the policy sees it (a person acting under
    /// one of shipdeck's own names), recorded as every refusal is.
    fn refuse(&mut self, command: Command, refusal: Refusal, now: Timestamp) -> Verdict {
        self.emit(
            now,
            EventKind::CommandRejected {
                command: command.clone(),
                reason: refusal.reason.clone(),
            },
        );
        let verdict = Verdict::Refused(refusal);
        self.verdicts.insert(command.id, verdict.clone());
        verdict
    }

    /// The effects of a command the policy accepted, on what it resolved:
    /// one arm per action, the longer ones steps of their own.
    fn execute(&mut self, command: &Command, target: &Target, now: Timestamp) {
        let operator = command.operator.clone();
        match &command.action {
            Action::Advance => {
                if let Some(i) = self.release.rollout.step {
                    self.complete_step(i, now);
                    self.run_steps_from(i + 1, now);
                }
            }
            Action::PromoteFull => self.promote_full(now),
            Action::Pause { reason } => self.emit(
                now,
                EventKind::ReleasePaused {
                    by: operator,
                    reason: reason.clone(),
                },
            ),
            Action::Resume => {
                let until = self.release.rollout.remaining.map(|left| now.plus(left));
                self.emit(
                    now,
                    EventKind::ReleaseResumed {
                        by: operator,
                        until,
                    },
                );
            }
            Action::Approve { comment, .. } => {
                if let Target::Gate(gate) = target {
                    self.approve(gate, operator, comment.as_deref(), now);
                }
            }
            Action::Reject { reason, .. } => {
                if let Target::Gate(gate) = target {
                    self.reject(gate, operator, reason, now);
                }
            }
            Action::Rollback { reason } => {
                let reason = reason.clone().filter(|r| !r.trim().is_empty());
                self.roll_back(target, operator, reason, now);
            }
            Action::Check { list, item } => {
                self.tick_item(
                    list,
                    item,
                    Some(Tick {
                        by: operator,
                        at: now,
                    }),
                    now,
                );
            }
            Action::Uncheck { list, item } => self.tick_item(list, item, None, now),
            Action::Retry { .. } => {
                if let Target::Stage(stage) = target {
                    let stage = stage.clone();
                    self.emit(
                        now,
                        EventKind::StageChanged {
                            stage,
                            state: StageState::Running,
                            note: Some(format!("retried by {operator}")),
                        },
                    );
                }
            }
            // Refused by the policy: nothing to do.
            Action::Undo { .. } => {}
            Action::Ack { rule } => {
                if let Some(alert) = self.release.alerts.iter().find(|a| &a.rule == rule) {
                    let kind = EventKind::Alert {
                        rule: rule.clone(),
                        severity: alert.severity,
                        state: AlertState::Acknowledged,
                        value: alert.value,
                        message: alert.message.clone(),
                        by: Some(operator),
                    };
                    self.emit(now, kind);
                }
            }
        }
    }

    /// A sign-off on an open gate; the release goes on once it is approved.
    fn approve(&mut self, gate: &str, operator: Person, comment: Option<&str>, now: Timestamp) {
        let Some(gate) = self.release.gate(gate) else {
            return;
        };
        let mut signoffs = gate.signoffs.clone();
        signoffs.push(SignOff {
            operator,
            at: now,
            comment: comment.filter(|c| !c.trim().is_empty()).map(str::to_string),
        });
        let state = if signoffs.len() as u32 >= gate.plan.required {
            GateState::Approved
        } else {
            GateState::Open
        };
        let id = gate.plan.id.clone();
        self.emit(
            now,
            EventKind::GateChanged {
                gate: id,
                state,
                signoffs,
                rejection: None,
            },
        );
        self.progress(now);
    }

    /// A rejection: before the rollout it ends the release aborted, after
    /// it rolls back.
    fn reject(&mut self, gate: &str, operator: Person, reason: &str, now: Timestamp) {
        let Some(gate) = self.release.gate(gate) else {
            return;
        };
        let (id, name, signoffs) = (
            gate.plan.id.clone(),
            gate.plan.name.clone(),
            gate.signoffs.clone(),
        );
        self.emit(
            now,
            EventKind::GateChanged {
                gate: id.clone(),
                state: GateState::Rejected,
                signoffs,
                rejection: Some(crate::model::Rejection {
                    operator: operator.clone(),
                    at: now,
                    reason: reason.to_string(),
                }),
            },
        );
        let why = format!("{name} rejected by {operator}: {reason}");
        if self.release.rollout.began {
            self.start_rollback(operator, why, now);
            return;
        }
        if let Some(stage) = self.stage_with_gate(&id) {
            let failed = EventKind::StageChanged {
                stage,
                state: StageState::Failed,
                note: Some(why),
            };
            self.emit(now, failed);
        }
        self.end_pipeline(Outcome::Aborted, now);
    }

    /// A rollback starts, or its starter gives the reason afterwards.
    fn roll_back(
        &mut self,
        target: &Target,
        operator: Person,
        reason: Option<String>,
        now: Timestamp,
    ) {
        let status = self.release.status;
        match (target, reason) {
            (Target::Release, reason) if status.in_flight() && status != Status::RollingBack => {
                let reason = reason.unwrap_or_else(|| Rollback::default_reason(&operator));
                self.start_rollback(operator, reason, now);
            }
            (Target::Stop, reason) if status.in_flight() => {
                let reason = reason.unwrap_or_else(|| Stopped::default_reason(&operator));
                self.emit(
                    now,
                    EventKind::ReleaseStopped {
                        by: operator,
                        reason,
                    },
                );
                self.end_pipeline(Outcome::Aborted, now);
            }
            (Target::RollbackReason, Some(reason)) => {
                let by = operator;
                self.emit(now, EventKind::RollbackReason { by, reason });
            }
            _ => {}
        }
    }

    /// The backend reports a stage's work done (build finished, checks ran).
    pub fn finish_work(&mut self, stage: &str, now: Timestamp) {
        let Some(s) = self.release.stage(stage) else {
            return;
        };
        if s.state != StageState::Running || !self.release.status.in_flight() {
            return;
        }
        self.settle(stage, now);
        self.progress(now);
    }

    /// The backend reports a stage's work failed. A retryable stage holds the
    /// release until an operator retries or rolls back; any other ends it.
    pub fn fail_work(&mut self, stage: &str, reason: &str, now: Timestamp) {
        let Some(s) = self.release.stage(stage) else {
            return;
        };
        if s.state != StageState::Running || !self.release.status.in_flight() {
            return;
        }
        let retryable = s.plan.kind.retryable();
        self.emit(
            now,
            EventKind::StageChanged {
                stage: stage.to_string(),
                state: StageState::Failed,
                note: Some(reason.to_string()),
            },
        );
        if !retryable {
            self.end_pipeline(Outcome::Failed, now);
        }
    }

    /// Automation ticks a checklist item (a check the backend ran).
    pub fn auto_check(&mut self, list: &str, item: &str, by: &Person, now: Timestamp) {
        let ticked = self
            .release
            .checklist(list)
            .and_then(|c| c.item(item))
            .map(|i| i.ticked.is_some());
        if ticked == Some(false) {
            let tick = Tick {
                by: by.clone(),
                at: now,
            };
            self.tick_item(list, item, Some(tick), now);
        }
    }

    /// A log line from the backend.
    pub fn log(
        &mut self,
        level: Level,
        source: &str,
        stage: Option<&str>,
        message: String,
        now: Timestamp,
    ) {
        self.emit(
            now,
            EventKind::Log {
                level,
                source: source.into(),
                stage: stage.map(str::to_string),
                message,
            },
        );
    }

    /// A sample from before the window, shown at its own time; no rule
    /// judges it.
    pub fn backfill(&mut self, series: Series, cohort: Cohort, value: f64, at: Timestamp) {
        if value.is_finite() {
            self.emit(
                at,
                EventKind::Metric {
                    series,
                    cohort,
                    value,
                },
            );
        }
    }

    /// A metric sample from the backend; the rules watching it are evaluated.
    pub fn observe(&mut self, series: Series, cohort: Cohort, value: f64, now: Timestamp) {
        if !value.is_finite() {
            return;
        }
        self.emit(
            now,
            EventKind::Metric {
                series,
                cohort,
                value,
            },
        );
        let mut rollback = None;
        let mut said = Vec::new();
        for monitor in &mut self.monitors {
            if !monitor.watches(series, cohort) {
                continue;
            }
            let judged = judge(monitor, series, cohort, value, now);
            said.extend(judged.event);
            // The first rule to ask is the rollback's reason.
            rollback = rollback.or(judged.rollback);
        }
        for event in said {
            self.emit(now, event);
        }
        // Before any traffic reached the new version there is nothing to roll
        // back: the rule's alert is the whole of its effect.
        if let Some((by, reason)) = rollback
            && self.release.rules_roll_back()
        {
            self.start_rollback(by, reason, now);
        }
    }

    /// The backend reports the rollback done: the release ends rolled back.
    pub fn finish_rollback(&mut self, now: Timestamp) {
        if self.release.status == Status::RollingBack {
            self.emit(now, EventKind::RollbackFinished {});
            self.emit(
                now,
                EventKind::ReleaseFinished {
                    outcome: Outcome::RolledBack,
                },
            );
        }
    }

    /// Lets time pass: timed pauses and analyses that have run out complete.
    pub fn tick(&mut self, now: Timestamp) {
        while self.release.status == Status::Running {
            let Some(until) = self.release.rollout.until else {
                return;
            };
            if until > now {
                return;
            }
            let Some(i) = self.release.rollout.step else {
                return;
            };
            self.complete_step(i, until);
            self.run_steps_from(i + 1, until);
        }
    }

    /// When the engine next has something to do by itself.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match self.release.status {
            Status::Running => self.release.rollout.until,
            _ => None,
        }
    }

    fn stage_with_gate(&self, gate: &str) -> Option<String> {
        self.release
            .stages
            .iter()
            .find(|s| s.plan.gate.as_deref() == Some(gate))
            .map(|s| s.plan.id.clone())
    }

    fn tick_item(&mut self, list: &str, item: &str, ticked: Option<Tick>, now: Timestamp) {
        self.emit(
            now,
            EventKind::ChecklistChanged {
                list: list.to_string(),
                item: item.to_string(),
                ticked,
            },
        );
        self.progress(now);
    }

    /// Moves the pipeline on as far as it can go: completes a waiting stage
    /// whose gate and checklist are done, starts the next, and so on.
    fn progress(&mut self, now: Timestamp) {
        while self.release.status == Status::Running || self.release.status == Status::Paused {
            if self
                .release
                .stages
                .iter()
                .any(|s| s.state == StageState::Failed)
            {
                return; // held until an operator retries or rolls back
            }
            let Some(stage) = self
                .release
                .stages
                .iter()
                .find(|s| !s.state.is_done())
                .cloned()
            else {
                self.emit(
                    now,
                    EventKind::ReleaseFinished {
                        outcome: Outcome::Succeeded,
                    },
                );
                return;
            };
            let id = stage.plan.id.clone();
            match stage.state {
                StageState::Pending => {
                    self.emit(
                        now,
                        EventKind::StageChanged {
                            stage: id.clone(),
                            state: StageState::Running,
                            note: None,
                        },
                    );
                    if let Some(gate) = stage
                        .plan
                        .gate
                        .as_deref()
                        .and_then(|g| self.release.gate(g))
                        && gate.state == GateState::Pending
                    {
                        let kind = EventKind::GateChanged {
                            gate: gate.plan.id.clone(),
                            state: GateState::Open,
                            signoffs: gate.signoffs.clone(),
                            rejection: None,
                        };
                        self.emit(now, kind);
                    }
                    if stage.plan.kind == StageKind::Rollout {
                        self.run_steps_from(0, now);
                        return; // run_steps_from progresses when the steps are done
                    }
                    if stage.plan.kind.has_backend_work() {
                        return;
                    }
                    self.settle(&id, now);
                }
                StageState::Running => return,
                StageState::Waiting => {
                    if !self.settle(&id, now) {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// A stage whose work is done: succeeds if its gate and checklist allow,
    /// else waits for them. Returns whether it succeeded.
    fn settle(&mut self, stage: &str, now: Timestamp) -> bool {
        let Some(s) = self.release.stage(stage) else {
            return false;
        };
        let gate_open = s
            .plan
            .gate
            .as_deref()
            .and_then(|g| self.release.gate(g))
            .filter(|g| g.state != GateState::Approved);
        let list_open = s
            .plan
            .checklist
            .as_deref()
            .and_then(|c| self.release.checklist(c))
            .filter(|c| !c.is_complete());
        if gate_open.is_none() && list_open.is_none() {
            self.emit(
                now,
                EventKind::StageChanged {
                    stage: stage.to_string(),
                    state: StageState::Succeeded,
                    note: None,
                },
            );
            return true;
        }
        // Say what the stage waits for, and say it again when that changes.
        let waiting_for: Vec<String> = gate_open
            .map(|g| format!("sign-off on {}", g.plan.name))
            .into_iter()
            .chain(list_open.map(|c| format!("the {} checklist", c.name)))
            .collect();
        let note = Some(format!("waiting for {}", waiting_for.join(" and ")));
        if s.state != StageState::Waiting || s.note != note {
            self.emit(
                now,
                EventKind::StageChanged {
                    stage: stage.to_string(),
                    state: StageState::Waiting,
                    note,
                },
            );
        }
        false
    }

    /// Starts steps from `first` on, completing those that take no time,
    /// until one holds (a pause or analysis) or the plan is done.
    fn run_steps_from(&mut self, first: usize, now: Timestamp) {
        let steps = self.plan.steps.clone();
        for (i, step) in steps.iter().enumerate().skip(first) {
            let weight = self.release.rollout.weight;
            match step.kind {
                StepKind::SetWeight { weight } => self.emit(
                    now,
                    EventKind::CanaryStep {
                        step: i,
                        state: StepState::Completed,
                        weight,
                        until: None,
                    },
                ),
                StepKind::Preview | StepKind::External { .. } => self.emit(
                    now,
                    EventKind::CanaryStep {
                        step: i,
                        state: StepState::Completed,
                        weight,
                        until: None,
                    },
                ),
                StepKind::Pause { duration } => {
                    self.emit(
                        now,
                        EventKind::CanaryStep {
                            step: i,
                            state: StepState::Started,
                            weight,
                            until: duration.map(|d| now.plus(d)),
                        },
                    );
                    return;
                }
                StepKind::Analysis { duration } => {
                    self.emit(
                        now,
                        EventKind::CanaryStep {
                            step: i,
                            state: StepState::Started,
                            weight,
                            until: Some(now.plus(duration)),
                        },
                    );
                    return;
                }
            }
        }
        self.rollout_done(now);
    }

    fn complete_step(&mut self, step: usize, now: Timestamp) {
        let weight = self.release.rollout.weight;
        self.emit(
            now,
            EventKind::CanaryStep {
                step,
                state: StepState::Completed,
                weight,
                until: None,
            },
        );
    }

    fn promote_full(&mut self, now: Timestamp) {
        let first = match self.release.rollout.step {
            Some(i) if self.release.rollout.step_completed => i + 1,
            Some(i) => i,
            None => 0,
        };
        for i in first..self.plan.steps.len() {
            self.emit(
                now,
                EventKind::CanaryStep {
                    step: i,
                    state: StepState::Skipped,
                    weight: 100,
                    until: None,
                },
            );
        }
        self.rollout_done(now);
    }

    fn rollout_done(&mut self, now: Timestamp) {
        if let Some(stage) = self.release.rollout_stage().map(|s| s.plan.id.clone()) {
            self.settle(&stage, now);
        }
        self.progress(now);
    }

    fn start_rollback(&mut self, by: Person, reason: String, now: Timestamp) {
        self.emit(now, EventKind::RollbackStarted { by, reason });
        self.close_stages(now);
    }

    /// Ends the release before its last stage: cancels the active stage and
    /// skips those not started.
    fn end_pipeline(&mut self, outcome: Outcome, now: Timestamp) {
        self.close_stages(now);
        self.emit(now, EventKind::ReleaseFinished { outcome });
    }

    fn close_stages(&mut self, now: Timestamp) {
        let changes: Vec<(String, StageState)> = self
            .release
            .stages
            .iter()
            .filter_map(|s| match s.state {
                StageState::Running | StageState::Waiting => {
                    Some((s.plan.id.clone(), StageState::Cancelled))
                }
                StageState::Pending => Some((s.plan.id.clone(), StageState::Skipped)),
                _ => None,
            })
            .collect();
        for (stage, state) in changes {
            self.emit(
                now,
                EventKind::StageChanged {
                    stage,
                    state,
                    note: None,
                },
            );
        }
    }
}

/// Formats the time left on a timed step, for reasons and notes.
pub fn time_left(until: Timestamp, now: Timestamp) -> String {
    format_duration(until.duration_since(now).max(jiff::SignedDuration::ZERO))
}

/// What a rule made of a sample it watches.
struct Judged {
    /// It started or stopped breaching (`rule_changed`), fired or resolved
    /// (`alert`).
    event: Option<EventKind>,
    /// A rollback rule asks for a rollback: who (`rule:NAME`) and why.
    rollback: Option<(Person, String)>,
}

/// Hands a sample to a rule's monitor, and says what came of it.
fn judge(
    monitor: &mut RuleMonitor,
    series: Series,
    cohort: Cohort,
    value: f64,
    now: Timestamp,
) -> Judged {
    let rollback_rule = monitor.rule.action == RuleAction::Rollback;
    let transition = monitor.observe(value, now);
    let rule = &monitor.rule;
    let shown = series.format(value);
    let (state, message) = match transition {
        Some(Transition::Fired) => (
            AlertState::Firing,
            format!("{} {series} {shown} ({})", cohort.name(), rule.describe()),
        ),
        Some(Transition::Resolved) => (
            AlertState::Resolved,
            format!("{} {series} back to {shown}", cohort.name()),
        ),
        Some(Transition::Breaching | Transition::Cleared) | None => {
            return held(monitor, transition, series, cohort, value);
        }
    };
    let rollback = (rollback_rule && state == AlertState::Firing).then(|| {
        (
            Person::rule(&rule.name),
            format!("{}: {message}", rule.name),
        )
    });
    Judged {
        event: Some(EventKind::Alert {
            rule: rule.name.clone(),
            severity: rule.severity,
            state,
            value,
            message,
            by: None,
        }),
        rollback,
    }
}

/// A sample that neither fired nor resolved the rule: it may have started
/// or stopped a breach. A rollback rule that fired before the new version
/// had traffic (metrics read from elsewhere can show a canary before this
/// rollout) acts once it has, while it still holds.
fn held(
    monitor: &RuleMonitor,
    transition: Option<Transition>,
    series: Series,
    cohort: Cohort,
    value: f64,
) -> Judged {
    let rule = &monitor.rule;
    let state = match transition {
        Some(Transition::Breaching) => Some(RuleState::Breaching),
        Some(Transition::Cleared) => Some(RuleState::Quiet),
        _ => None,
    };
    let rollback = (rule.action == RuleAction::Rollback && monitor.is_firing()).then(|| {
        (
            Person::rule(&rule.name),
            format!(
                "{}: {} {series} {} ({})",
                rule.name,
                cohort.name(),
                series.format(value),
                rule.describe()
            ),
        )
    });
    Judged {
        event: state.map(|state| EventKind::RuleChanged {
            rule: rule.name.clone(),
            state,
            value,
        }),
        rollback,
    }
}

#[cfg(test)]
mod tests;
