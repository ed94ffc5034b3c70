//! The keys that do something now, for the status bar.

use super::{App, Mode, Pane, Row};
use crate::model::{Action, Status};
use crate::tui::keymap::UiAction;

impl App {
    /// The keys that do something now: in a box, its own; in a replay, the
    /// player's; otherwise those the engine's policy would take now.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        let k = |a| self.keymap.hint(a);
        // Rollback is offered in every box (a box of text takes it with Ctrl).
        let may_roll_back = self.may_roll_back();
        let boxed = |mut hints: Vec<(String, &'static str)>| {
            if may_roll_back {
                let key = if self.mode.takes_text() {
                    self.keymap.hint_in_text(UiAction::Rollback)
                } else {
                    k(UiAction::Rollback)
                };
                hints.push((key, self.rollback_word()));
            }
            hints
        };
        match &self.mode {
            Mode::Normal => {}
            Mode::Help => {
                return boxed(vec![(k(UiAction::Help), "close"), ("Esc".into(), "close")]);
            }
            Mode::ConfirmPromote => {
                return boxed(vec![
                    ("y".into(), "promote fully"),
                    ("any other key".into(), "cancel"),
                ]);
            }
            Mode::ConfirmLate { what, .. } => {
                let word = if what == "advance" {
                    "advance late"
                } else {
                    "promote fully, late"
                };
                return boxed(vec![("y".into(), word), ("any other key".into(), "cancel")]);
            }
            Mode::ConfirmUndo => {
                return boxed(vec![
                    ("y".into(), "undo"),
                    ("any other key".into(), "cancel"),
                ]);
            }
            Mode::Filter { .. } => {
                return boxed(vec![("Enter".into(), "apply"), ("Esc".into(), "cancel")]);
            }
            Mode::Refusal { .. } => return boxed(vec![("Esc".into(), "close")]),
            Mode::Inbox => {
                return boxed(vec![
                    ("Enter".into(), "open"),
                    ("Esc".into(), "back to this window"),
                ]);
            }
            Mode::ReadLine { .. } => return boxed(self.read_line_hints()),
            Mode::SignOff { .. } | Mode::Reject { .. } => {
                return boxed(vec![("Ctrl+S".into(), "submit"), ("Esc".into(), "cancel")]);
            }
            Mode::RollbackReason { .. } => {
                return vec![("Ctrl+S".into(), "submit"), ("Esc".into(), "cancel")];
            }
        }
        if self.replay.is_some() {
            let mut hints = vec![
                ("Space".into(), "pause/play"),
                ("← →".into(), "a minute back/on"),
                (
                    format!("{} {}", k(UiAction::PrevMoment), k(UiAction::NextMoment)),
                    "moment back/on",
                ),
                (k(UiAction::NextPane), "pane"),
                (k(UiAction::Filter), "filter"),
            ];
            hints.extend(self.read_line_hint());
            hints.push((k(UiAction::Help), "help"));
            hints.push((k(UiAction::Quit), "quit"));
            return hints;
        }
        let mut hints = self.command_hints();
        hints.push((k(UiAction::NextPane), "pane"));
        hints.push((k(UiAction::Filter), "filter"));
        hints.extend(self.read_line_hint());
        hints.push((k(UiAction::Help), "help"));
        hints.push((k(UiAction::Quit), "quit"));
        hints
    }

    /// Whether a rollback (or, before production, a stop) is open to this
    /// console now.
    fn may_roll_back(&self) -> bool {
        let status = self.release.status();
        self.replay.is_none() && status.in_flight() && status != Status::RollingBack
    }

    /// What the rollback key does now: before the rollout has begun it
    /// stops the release, since nothing reached production.
    pub fn rollback_word(&self) -> &'static str {
        let began = self.release.deployed();
        if began { "roll back" } else { "stop" }
    }

    /// The key that opens a log line whole, while the log pane has focus.
    fn read_line_hint(&self) -> Option<(String, &'static str)> {
        (self.focus == Pane::Logs).then(|| (self.keymap.hint(UiAction::ReadLine), "read line"))
    }

    /// In the box a log line is read in: scrolling, closing, and the
    /// rollback, which works from it too.
    fn read_line_hints(&self) -> Vec<(String, &'static str)> {
        let k = |a| self.keymap.hint(a);
        vec![
            (
                format!("{}/{}", k(UiAction::Up), k(UiAction::Down)),
                "scroll",
            ),
            ("Esc".into(), "close"),
        ]
    }

    /// A command's key is offered only when the policy would take it now.
    fn command_hints(&self) -> Vec<(String, &'static str)> {
        let k = |a| self.keymap.hint(a);
        let may = |action: Action| self.prospect(action).is_ok();
        // After the window has closed a promote is offered still: the key
        // asks before it sends.
        let may_promote = |action: Action| self.prospect_promote(action).is_ok();
        let mut hints = Vec::new();
        // A Rollout's cluster decides a promote: the plugin's promote also
        // unpauses, so a paused Rollout may still be promoted.
        let promotes = self.cluster_decides() && self.release.status().in_flight();
        let promotes = promotes && self.frozen().is_none();
        if promotes || may_promote(Action::Advance) {
            hints.push((k(UiAction::Advance), "advance"));
        }
        if promotes || may_promote(Action::PromoteFull) {
            hints.push((k(UiAction::Promote), "promote"));
        }
        if may(Action::Resume) {
            hints.push((k(UiAction::Pause), "resume"));
        } else if may(Action::Pause { reason: None }) {
            hints.push((k(UiAction::Pause), "pause"));
        }
        if let Some((gate, _)) = self.target_gate() {
            if self.gate_prospect(&gate).is_ok() {
                hints.push((k(UiAction::SignOff), "sign off"));
            }
            if self.reject_prospect(&gate).is_ok() {
                hints.push((k(UiAction::Reject), "reject"));
            }
        }
        if may(Action::Retry { stage: None }) {
            hints.push((k(UiAction::Retry), "retry"));
        }
        if let Some(rule) = self.alert_to_acknowledge()
            && may(Action::Ack { rule: rule.into() })
        {
            hints.push((k(UiAction::Acknowledge), "acknowledge"));
        }
        if self.may_roll_back() {
            hints.push((k(UiAction::Rollback), self.rollback_word()));
        }
        if let Some(Row::Item { list, item }) = self.selected_row().cloned() {
            let ticked = self
                .release
                .checklist(&list)
                .and_then(|c| c.item(&item))
                .is_some_and(|i| i.ticked.is_some());
            let action = if ticked {
                Action::Uncheck { list, item }
            } else {
                Action::Check { list, item }
            };
            if may(action) {
                hints.push((k(UiAction::Tick), if ticked { "untick" } else { "tick" }));
            }
        }
        hints
    }
}
