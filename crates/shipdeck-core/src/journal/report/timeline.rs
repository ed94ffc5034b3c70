//! The report's timeline: what happened, told from the journal's events.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::Moment;
use crate::journal::{Delivery, Journal};
use crate::model::units::format_duration;
use crate::model::{
    Action, Command, Event, EventKind, GateState, Person, Release, RuleState, SignOff, StageState,
    StepState, Stopped,
};

/// What happened, told from the events in order (unsorted).
pub(super) fn told(journal: &Journal, release: &Release) -> Vec<Moment> {
    let mut narrator = Narrator {
        release,
        at: Timestamp::UNIX_EPOCH,
        signed: BTreeMap::new(),
        weight: 0,
        moments: Vec::new(),
    };
    for e in &journal.events {
        narrator.tell(e);
    }
    narrator.moments
}

/// The link to the backend: each time it was down, from when to when and
/// what waited meanwhile, and each command sent late for it.
pub(super) fn link(journal: &Journal) -> Vec<Moment> {
    let mut moments = Vec::new();
    for outage in &journal.outages {
        let lost = format!("Connection to the server lost: {}", outage.reason);
        let Some(back) = outage.back else {
            moments.push(Moment {
                at: outage.from,
                what: format!("{lost}; it was not back when the record ends"),
            });
            continue;
        };
        moments.push(Moment {
            at: outage.from,
            what: lost,
        });
        let queued = match outage.queued.as_slice() {
            [] => "nothing was queued".to_string(),
            ids => format!(
                "queued meanwhile: {}",
                queued_words(journal, ids).join(", ")
            ),
        };
        let lasted = outage.lasted().unwrap_or(back.duration_since(outage.from));
        moments.push(Moment {
            at: back,
            what: format!(
                "Connection back after {}; {queued}",
                format_duration(lasted)
            ),
        });
    }
    let late: Vec<(&crate::journal::Delivered, jiff::SignedDuration)> = journal
        .deliveries
        .iter()
        .filter_map(|d| match d.delivery {
            Delivery::Late(late) => Some((d, late)),
            Delivery::Expired { .. } => None,
        })
        .collect();
    let ids: Vec<String> = late.iter().map(|(d, _)| d.id.clone()).collect();
    for ((delivered, late), what) in late.iter().zip(queued_words(journal, &ids)) {
        moments.push(Moment {
            at: delivered.at,
            what: format!(
                "The {what} was sent {} late: it waited for the connection",
                format_duration(*late)
            ),
        });
    }
    moments
}

/// Each notice a webhook never took: given up after its tries, or dropped
/// from a full queue (those it took are not moments of the release).
pub(super) fn webhooks(journal: &Journal) -> Vec<Moment> {
    use crate::journal::HookState;
    let mut moments = Vec::new();
    for (at, d) in &journal.webhooks {
        let tries = match d.attempt {
            1 => "1 try".to_string(),
            n => format!("{n} tries"),
        };
        let why = d
            .why
            .as_deref()
            .map(|w| format!(": {w}"))
            .unwrap_or_default();
        let what = match d.state {
            HookState::GivenUp => format!(
                "The webhook {} was not sent the {} notice {} (given up after {tries}{why})",
                d.hook, d.notice, d.id
            ),
            HookState::Dropped => format!(
                "The webhook {} was not sent the {} notice {}: {}",
                d.hook,
                d.notice,
                d.id,
                d.why.as_deref().unwrap_or("its queue was full")
            ),
            HookState::Sent | HookState::Failed => continue,
        };
        moments.push(Moment { at: *at, what });
    }
    moments
}

/// The commands that waited, in words: a rollback's reason given after the
/// rollback by the same operator is said as such, not as a second rollback.
fn queued_words(journal: &Journal, ids: &[String]) -> Vec<String> {
    let mut rolled_back: Vec<&Person> = Vec::new();
    ids.iter()
        .map(|id| match journal.command(id) {
            Some(c) => match &c.action {
                Action::Rollback { reason: Some(_) } if rolled_back.contains(&&c.operator) => {
                    format!("the rollback's reason by {}", c.operator)
                }
                Action::Rollback { .. } => {
                    rolled_back.push(&c.operator);
                    format!("{} by {}", c.action.words(), c.operator)
                }
                action => format!("{} by {}", action.words(), c.operator),
            },
            None => format!("command {id}"),
        })
        .collect()
}

/// Tells events as moments of the timeline, remembering what it told.
struct Narrator<'a> {
    release: &'a Release,
    /// The time of the event being told.
    at: Timestamp,
    /// How many sign-offs of each gate were told already.
    signed: BTreeMap<String, usize>,
    /// The new version's share of traffic as last told.
    weight: u8,
    moments: Vec<Moment>,
}

impl Narrator<'_> {
    fn say(&mut self, what: String) {
        self.moments.push(Moment { at: self.at, what });
    }

    fn stage_name(&self, id: &str) -> String {
        self.release
            .stage(id)
            .map(|s| s.plan.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn gate_name(&self, id: &str) -> String {
        self.release
            .gate(id)
            .map(|g| g.plan.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn tell(&mut self, e: &Event) {
        self.at = e.at;
        match &e.kind {
            EventKind::ReleaseStarted { plan } => self.say(format!(
                "Release started: {} {} ({}), deployed by {}",
                plan.service,
                plan.versions(),
                plan.strategy_words(),
                plan.deployer
            )),
            EventKind::StageChanged { stage, state, note } => {
                self.stage_changed(stage, *state, note.as_deref())
            }
            EventKind::GateChanged {
                gate,
                state,
                signoffs,
                rejection,
            } => self.gate_changed(gate, *state, signoffs, rejection.as_ref()),
            EventKind::CanaryStep { weight, state, .. } => self.canary_step(*weight, *state),
            EventKind::Alert {
                rule,
                state,
                message,
                by,
                ..
            } => {
                let by = by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default();
                self.say(format!("Alert {rule} {}{by}: {message}", state.verb()))
            }
            EventKind::RuleChanged { rule, state, value } => {
                self.rule_changed(rule, *state, *value)
            }
            EventKind::CommandAccepted { command, note } => {
                self.command_accepted(command, note.as_deref())
            }
            EventKind::CommandRejected { command, reason } => self.say(format!(
                "{}'s {} refused: {reason}",
                command.operator,
                command.action.words()
            )),
            EventKind::ReleasePaused { by, .. } => self.say(format!("Paused by {by}")),
            EventKind::ReleaseResumed { by, .. } => self.say(format!("Resumed by {by}")),
            EventKind::RollbackStarted { by, reason } if by.rule_name().is_some() => {
                self.say(format!("Automatic rollback: {reason}"))
            }
            EventKind::RollbackStarted { by, reason } => {
                self.say(format!("Rollback started by {by}: {reason}"))
            }
            EventKind::RollbackReason { by, reason } if self.release.stopped().is_some() => {
                self.say(format!("{by} gave the stop's reason: {reason}"))
            }
            EventKind::RollbackReason { by, reason } => {
                self.say(format!("{by} gave the rollback's reason: {reason}"))
            }
            EventKind::ReleaseStopped { by, reason } if *reason == Stopped::default_reason(by) => {
                self.say(format!("Release stopped before production by {by}"))
            }
            EventKind::ReleaseStopped { by, reason } => self.say(format!(
                "Release stopped before production by {by}: {reason}"
            )),
            EventKind::RollbackFinished {} => self.say("Rollback finished".to_string()),
            EventKind::ReleaseFinished { outcome } => {
                self.say(format!("Release finished: {}", outcome.words()))
            }
            EventKind::PlanExtended { stages, gates, .. } => {
                let names: Vec<&str> = stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .chain(gates.iter().map(|g| g.name.as_str()))
                    .collect();
                if !names.is_empty() {
                    self.say(format!("The plan grew: {}", names.join(", ")))
                }
            }
            EventKind::Log { .. }
            | EventKind::Metric { .. }
            | EventKind::ChecklistChanged { .. } => {}
        }
    }

    fn stage_changed(&mut self, stage: &str, state: StageState, note: Option<&str>) {
        let name = self.stage_name(stage);
        let note = note.map(|n| format!(": {n}")).unwrap_or_default();
        match state {
            StageState::Running => self.say(format!("{name} started{note}")),
            StageState::Succeeded => self.say(format!("{name} succeeded")),
            StageState::Failed => self.say(format!("{name} failed{note}")),
            StageState::Cancelled => self.say(format!("{name} cancelled")),
            _ => {}
        }
    }

    /// A rule that started counting towards firing, or stopped before it
    /// fired.
    fn rule_changed(&mut self, name: &str, state: RuleState, value: f64) {
        let rule = self
            .release
            .plan
            .as_ref()
            .and_then(|p| p.rules.iter().find(|r| r.name == name));
        let Some(rule) = rule else {
            return self.say(format!("Rule {name} {state}"));
        };
        let shown = rule.condition.series.format(value);
        let cohort = rule.cohort.name();
        let series = rule.condition.series;
        match state {
            RuleState::Breaching => self.say(format!(
                "Rule {name} breaching: {cohort} {series} {shown} ({})",
                rule.describe()
            )),
            RuleState::Quiet => self.say(format!(
                "Rule {name} quiet again before firing: {cohort} {series} {shown}"
            )),
        }
    }

    /// Each sign-off not told yet, then the gate's decision.
    fn gate_changed(
        &mut self,
        gate: &str,
        state: GateState,
        signoffs: &[SignOff],
        rejection: Option<&crate::model::Rejection>,
    ) {
        let name = self.gate_name(gate);
        let before = self
            .signed
            .insert(gate.to_string(), signoffs.len())
            .unwrap_or(0);
        for s in signoffs.iter().skip(before) {
            let comment = s
                .comment
                .as_deref()
                .map(|c| format!(": “{c}”"))
                .unwrap_or_default();
            self.say(format!("{} signed off {name}{comment}", s.operator));
        }
        match (state, rejection) {
            (GateState::Approved, _) => self.say(format!("{name} approved")),
            (GateState::Rejected, Some(r)) => {
                self.say(format!("{name} rejected by {}: {}", r.operator, r.reason))
            }
            _ => {}
        }
    }

    /// A step that moved traffic, once it has.
    fn canary_step(&mut self, weight: u8, state: StepState) {
        if weight != self.weight && state != StepState::Started {
            let to = self
                .release
                .plan
                .as_ref()
                .map_or("the new version", |p| p.version_to.as_str());
            self.say(format!("Traffic to {to}: {weight}%"));
        }
        self.weight = weight;
    }

    fn command_accepted(&mut self, command: &Command, note: Option<&str>) {
        // A rollback accepted with a note changed nothing new (it was
        // already under way, or only added its reason).
        let repeated = matches!(command.action, Action::Rollback { .. }) && note.is_some();
        let told = matches!(
            command.action,
            Action::Advance
                | Action::PromoteFull
                | Action::Pause { .. }
                | Action::Resume
                | Action::Retry { .. }
                | Action::Rollback { .. }
        );
        if told && !repeated {
            let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
            self.say(format!(
                "{} asked to {}{note}",
                command.operator,
                command.action.words()
            ));
        }
    }
}
