//! What the release waits on a person for: which item, in which stage, and
//! who may do it — this operator first. The board says it, the header counts
//! what waits on this operator, and the cursor goes to it when it starts to
//! wait.

use super::{App, Row};
use crate::engine::waiting::{self, Ask, Wait};
use crate::model::Action;
use crate::tui::keymap::UiAction;

/// Clock updates (a second each) after a move during which the cursor is
/// the operator's own: what starts to wait then does not take it.
const MOVING_FOR: u32 = 5;

/// One thing the release waits on a person for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// What is asked, as the core says it.
    pub ask: Ask,
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

impl From<Wait> for Waiting {
    fn from(wait: Wait) -> Waiting {
        let (row, action) = match &wait.ask {
            Ask::Sign { gate } => (Some(Row::Gate(gate.clone())), UiAction::SignOff),
            Ask::Tick { list, item } => (
                Some(Row::Item {
                    list: list.clone(),
                    item: item.clone(),
                }),
                UiAction::Tick,
            ),
            Ask::Advance | Ask::Decide => (None, UiAction::Advance),
            Ask::Retry { .. } => (None, UiAction::Retry),
        };
        Waiting {
            ask: wait.ask,
            what: wait.what,
            stage: wait.stage,
            row,
            action,
            mine: wait.mine,
            sent: false,
            others: wait.others,
        }
    }
}

impl Waiting {
    /// What answers it.
    fn answer(&self) -> Answer {
        match &self.ask {
            Ask::Sign { gate } => Answer::Sign(gate.clone()),
            Ask::Tick { list, item } => Answer::Tick(list.clone(), item.clone()),
            Ask::Advance | Ask::Decide => Answer::Advance,
            Ask::Retry { .. } => Answer::Retry,
        }
    }

    fn verb(&self) -> &'static str {
        self.ask.doing()
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
    /// first, in the order of the gates pane (the core's account, with the
    /// console's rows and keys, and what this console has sent).
    pub fn waiting(&self) -> Vec<Waiting> {
        // Nothing waits on anyone in a recording.
        if self.replay.is_some() {
            return Vec::new();
        }
        let now = self.now.unwrap_or_else(|| {
            self.release
                .last_at()
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        });
        let mut all: Vec<Waiting> = waiting::of(&self.release, &self.operator, now)
            .into_iter()
            .map(Waiting::from)
            .collect();
        for waiting in &mut all {
            let answer = Some(waiting.answer());
            if self.pending.values().any(|p| p.answers() == answer) {
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
            self.notice = Some(self.notice_of(first, new.len()));
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

    /// What the desktop notification says of what started to wait:
    /// `ledger-api: waiting for Production deploy approval (Approval) —
    /// you may sign it (a)`, and how many more did with it.
    fn notice_of(&self, first: &Waiting, new: usize) -> String {
        let service = self.release.plan().map(|p| p.service.as_str());
        let mut text = match service {
            Some(service) if !service.is_empty() => format!("{service}: {}", first.sentence(self)),
            _ => first.sentence(self),
        };
        if new > 1 {
            text.push_str(&format!(" (and {} more)", new - 1));
        }
        text
    }

    /// The bell and the desktop notification, when something started to
    /// wait on this operator: the notification whether or not the bell
    /// rings, each as configured.
    pub(super) fn ring(&mut self, effects: &mut Vec<super::Effect>) {
        let notice = self.notice.take();
        if !std::mem::take(&mut self.bell_due) {
            return;
        }
        if let Some(bytes) = notice.and_then(|n| crate::tui::notify::escape(self.notify, &n)) {
            effects.push(super::Effect::Notify(bytes));
        }
        if self.bell {
            effects.push(super::Effect::Bell);
        }
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
}
