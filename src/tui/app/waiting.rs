//! What the release waits on a person for: which item, in which stage, and
//! who may do it — this operator first. The board says it, the header counts
//! what waits on this operator, and the cursor goes to it when it starts to
//! wait.

use super::{App, Row};
use crate::model::{Action, GateState, Stage, StageState, StepKind};
use crate::tui::keymap::UiAction;

/// Clock updates (a second each) after a move during which the cursor is
/// the operator's own: what starts to wait then does not take it.
const MOVING_FOR: u32 = 5;

/// One thing the release waits on a person for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// What must be done: a checklist item's text, a gate's name, a step.
    pub what: String,
    /// The stage it holds up.
    pub stage: String,
    /// Where the cursor goes for it (none for advancing or retrying).
    pub row: Option<Row>,
    /// The key that does it.
    pub action: UiAction,
    /// Whether this operator may do it now.
    pub mine: bool,
    /// This operator has done it: the command is on its way, not answered.
    pub sent: bool,
    /// Who may do it, when not this operator: `dave or erin`.
    pub others: Option<String>,
}

/// What a command answers, for matching what was sent with what waits:
/// the kind and its target, without comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Sign(String),
    Tick(String, String),
    Advance,
    Retry,
}

impl super::Pending {
    /// What this command answers, if it answers something that waits.
    pub fn answers(&self) -> Option<Answer> {
        match &self.action {
            Action::Approve { gate: Some(g), .. } | Action::Reject { gate: Some(g), .. } => {
                Some(Answer::Sign(g.clone()))
            }
            Action::Check { list, item } => Some(Answer::Tick(list.clone(), item.clone())),
            Action::Advance => Some(Answer::Advance),
            Action::Retry { .. } => Some(Answer::Retry),
            _ => None,
        }
    }
}

impl Waiting {
    /// What answers it.
    fn answer(&self) -> Option<Answer> {
        match (&self.row, self.action) {
            (Some(Row::Gate(g)), _) => Some(Answer::Sign(g.clone())),
            (Some(Row::Item { list, item }), _) => Some(Answer::Tick(list.clone(), item.clone())),
            (None, UiAction::Advance) => Some(Answer::Advance),
            (None, UiAction::Retry) => Some(Answer::Retry),
            _ => None,
        }
    }

    fn verb(&self) -> &'static str {
        match self.action {
            UiAction::Tick => "tick it",
            UiAction::SignOff => "sign it",
            UiAction::Advance => "advance it",
            _ => "retry it",
        }
    }

    /// `waiting for Configuration correct (Staging validation) — you may
    /// tick it (Space)`, with the key as bound now.
    pub fn sentence(&self, app: &App) -> String {
        format!("{} — {}", self.what_waits(), self.who(app))
    }

    /// `waiting for Configuration correct (Staging validation)`.
    pub fn what_waits(&self) -> String {
        format!("waiting for {} ({})", self.what, self.stage)
    }

    /// `you may tick it (Space)`, or who else may.
    pub fn who(&self, app: &App) -> String {
        if self.sent {
            return "yours is sent, not answered yet".to_string();
        }
        match (&self.others, self.mine) {
            (_, true) => format!("you may {} ({})", self.verb(), app.keymap.hint(self.action)),
            (Some(others), false) => format!("{others} may {}", self.verb()),
            (None, false) => format!("someone else must {}", self.verb()),
        }
    }
}

impl App {
    /// Everything the release waits on a person for now, this operator's
    /// first, in the order of the gates pane.
    pub fn waiting(&self) -> Vec<Waiting> {
        let release = &self.release;
        let status = release.status();
        // Nothing waits on anyone in a recording.
        if !status.in_flight() || self.replay.is_some() {
            return Vec::new();
        }
        let mut all = Vec::new();
        let rolling_back = status == crate::model::Status::RollingBack;
        // Stages may run side by side (a workflow's jobs), each waiting on
        // its own gate.
        let active = release.stages().iter().filter(|s| s.state.is_active());
        for stage in active.filter(|_| !rolling_back) {
            self.gate_waiting(stage, &mut all);
        }
        self.checklist_waiting(&mut all);
        if rolling_back {
            return all;
        }
        if let Some(stage) = release.current_stage() {
            self.step_waiting(stage, &mut all);
        }
        if let Some(failed) = release
            .stages()
            .iter()
            .find(|s| s.state == StageState::Failed)
        {
            let may = self.prospect(Action::Retry { stage: None }).is_ok();
            all.push(Waiting {
                what: format!("a retry of \"{}\"", failed.plan.name),
                stage: failed.plan.name.clone(),
                row: None,
                action: UiAction::Retry,
                mine: may,
                sent: false,
                others: None,
            });
        }
        for waiting in &mut all {
            let answer = waiting.answer();
            if answer.is_some() && self.pending.values().any(|p| p.answers() == answer) {
                waiting.sent = true;
                waiting.mine = false;
            }
        }
        all.sort_by_key(|w| !w.mine);
        all
    }

    /// After the release changed: when something starts to wait on this
    /// operator, the cursor goes to it (unless they are moving about) and
    /// the bell is due.
    pub(super) fn point_at_what_waits(&mut self) {
        if self.replay.is_some() {
            return;
        }
        let mine: Vec<Waiting> = self.waiting().into_iter().filter(|w| w.mine).collect();
        let key = |w: &Waiting| (w.what.clone(), w.stage.clone(), w.action);
        let new: Vec<&Waiting> = mine
            .iter()
            .filter(|w| !self.waited.contains(&key(w)))
            .collect();
        let moving = self.since_moved < MOVING_FOR || self.mode.is_modal();
        if let Some(first) = new.first() {
            self.bell_due = true;
            if let (false, Some(row)) = (moving, &first.row) {
                self.cursor = Some(row.clone());
                self.focus = super::Pane::Gates;
            }
        } else if !moving && self.cursor_left_behind(&mine) {
            // What the cursor was on is done (ticked, or signed by someone
            // else): it goes on to the next thing waiting on this operator.
            if let Some(row) = mine.iter().find_map(|w| w.row.clone()) {
                self.cursor = Some(row);
            }
        }
        self.waited = mine.iter().map(key).collect();
        self.waited_rows = mine.iter().filter_map(|w| w.row.clone()).collect();
    }

    /// Whether the cursor is on a row that waited on this operator and
    /// waits no more.
    fn cursor_left_behind(&self, mine: &[Waiting]) -> bool {
        let Some(cursor) = &self.cursor else {
            return false;
        };
        let waited_here = self.waited_rows.contains(cursor);
        waited_here && !mine.iter().any(|w| w.row.as_ref() == Some(cursor))
    }

    /// Marks the operator as moving about: for a few seconds, what starts to
    /// wait does not take the cursor.
    pub(super) fn moved(&mut self) {
        self.since_moved = 0;
    }

    /// How many things wait on this operator now.
    pub fn waiting_on_me(&self) -> usize {
        self.waiting().iter().filter(|w| w.mine).count()
    }

    /// The items of the checklist being worked through that a person must
    /// tick (those the checks tick themselves are not for people).
    fn checklist_waiting(&self, all: &mut Vec<Waiting>) {
        let Some(list) = self.active_checklist() else {
            return;
        };
        for item in list
            .items
            .iter()
            .filter(|i| i.ticked.is_none() && !i.plan.automatic)
        {
            let row = Row::Item {
                list: list.id.clone(),
                item: item.plan.id.clone(),
            };
            let check = Action::Check {
                list: list.id.clone(),
                item: item.plan.id.clone(),
            };
            all.push(Waiting {
                what: item.plan.text.clone(),
                stage: list.name.clone(),
                row: Some(row),
                action: UiAction::Tick,
                mine: self.prospect(check).is_ok(),
                sent: false,
                others: None,
            });
        }
    }

    /// The gate of the stage the release is on, while open.
    fn gate_waiting(&self, stage: &Stage, all: &mut Vec<Waiting>) {
        let release = &self.release;
        let name = || stage.plan.name.clone();
        if let Some(gate) = stage.plan.gate.as_deref().and_then(|g| release.gate(g))
            && gate.state == GateState::Open
        {
            let others = release
                .deployer()
                .and_then(|deployer| gate.plan.eligible_named(deployer));
            let others = others.map(|names| {
                let left: Vec<&str> = names
                    .into_iter()
                    .filter(|n| !gate.signed_by(n) && **n != self.operator)
                    .map(|n| n.as_str())
                    .collect();
                or_list(&left)
            });
            all.push(Waiting {
                what: gate.plan.name.clone(),
                stage: name(),
                row: Some(Row::Gate(gate.plan.id.clone())),
                action: UiAction::SignOff,
                mine: self.gate_prospect(&gate.plan.id).is_ok(),
                sent: false,
                others: others.filter(|o| !o.is_empty()),
            });
        }
    }

    /// The rollout holding at a pause until someone advances it.
    fn step_waiting(&self, stage: &Stage, all: &mut Vec<Waiting>) {
        let release = &self.release;
        let name = || stage.plan.name.clone();
        let holding = matches!(
            release.current_step(),
            Some((_, step)) if matches!(step.kind, StepKind::Pause { duration: None })
        ) && !release.rollout().step_completed
            && stage.state == StageState::Running;
        // A controller that paused the rollout for a person (an Argo
        // analysis that could not decide) waits for a promote or an abort.
        let decision = release
            .paused_by()
            .is_some_and(|by| by.canonical() == crate::model::names::CONTROLLER)
            && stage.state == StageState::Running;
        if decision {
            all.push(Waiting {
                what: "a decision: the analysis was inconclusive — promote or roll back".into(),
                stage: name(),
                row: None,
                action: UiAction::Advance,
                mine: true,
                sent: false,
                others: None,
            });
            return;
        }
        if holding && let Some((i, _)) = release.current_step() {
            all.push(Waiting {
                what: format!(
                    "the rollout at step {}/{}",
                    i.saturating_add(1),
                    release.steps().len()
                ),
                stage: name(),
                row: None,
                action: UiAction::Advance,
                mine: self.prospect_promote(Action::Advance).is_ok(),
                sent: false,
                others: None,
            });
        }
    }
}

/// `dave`, `dave or erin`, `carol, dave or erin`.
fn or_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
