//! Keys: what a key does in the console and in each box over it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, Leave, Mode, Pane, SEEK_STEP, Tone, content, text_area};
use crate::backend::ReplayControl;
use crate::engine::{Permit, Refusal, Target};
use crate::model::text::clean;
use crate::model::{Action, LogLine, Status};
use crate::tui::keymap::UiAction;
use crate::tui::layout;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Effect::Quit];
        }
        if self.mode.is_modal() {
            // Rollback is one keystroke from anywhere: it closes the box.
            if self.rolls_back_in_box(&key) {
                self.mode = Mode::Normal;
                return self.on_action(UiAction::Rollback);
            }
            let mode = std::mem::take(&mut self.mode);
            let (next, effects) = self.on_mode_key(mode, key);
            self.mode = next;
            return effects;
        }
        if let Some(replay) = &mut self.replay {
            let seek = |by| vec![Effect::Replay(ReplayControl::Seek(by))];
            match key.code {
                KeyCode::Char(' ') => {
                    replay.paused = !replay.paused;
                    replay.stepped = None;
                    let state = if replay.paused { "paused" } else { "playing" };
                    self.say(Tone::Info, format!("replay {state}"));
                    return vec![Effect::Replay(ReplayControl::Toggle)];
                }
                KeyCode::Left => {
                    replay.stepped = None;
                    return seek(-SEEK_STEP);
                }
                KeyCode::Right => {
                    replay.stepped = None;
                    return seek(SEEK_STEP);
                }
                _ => {}
            }
        }
        if key.code == KeyCode::Esc {
            if self.logs.is_filtered() {
                self.logs.clear_filter(self.release.logs());
                self.say(Tone::Info, "log filter cleared");
            } else if self.from_inbox {
                return vec![Effect::Leave(Leave::Inbox)];
            }
            return Vec::new();
        }
        match self.keymap.action(&key) {
            Some(action) => self.on_action(action),
            None => Vec::new(),
        }
    }

    /// Whether a key pressed while a box is open rolls back. A box that
    /// takes text takes the rollback key as a letter, so there the key
    /// rolls back with Ctrl (Ctrl+R, or Ctrl with the configured key).
    fn rolls_back_in_box(&self, key: &KeyEvent) -> bool {
        let bound = |key: &KeyEvent| self.keymap.action(key) == Some(UiAction::Rollback);
        if !self.mode.takes_text() {
            return bound(key);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let unmodified = KeyEvent::new(key.code, key.modifiers - KeyModifiers::CONTROL);
        ctrl && (bound(key) || bound(&unmodified))
    }

    fn on_action(&mut self, action: UiAction) -> Vec<Effect> {
        if self.replay.is_some() && action.changes_the_release() {
            self.say(
                Tone::Refused,
                format!(
                    "{}: this is a replay of a recorded window; nothing can be changed",
                    action.words()
                ),
            );
            return Vec::new();
        }
        match action {
            UiAction::Quit => vec![Effect::Quit],
            UiAction::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            UiAction::Inbox => self.open_inbox(),
            UiAction::NextPane => {
                self.moved();
                self.focus = self.focus.step(1);
                Vec::new()
            }
            UiAction::PrevPane => {
                self.moved();
                self.focus = self.focus.step(-1);
                Vec::new()
            }
            UiAction::Up
            | UiAction::Down
            | UiAction::PageUp
            | UiAction::PageDown
            | UiAction::Top
            | UiAction::Bottom => {
                self.navigate(action);
                Vec::new()
            }
            UiAction::Advance => self.promote(Action::Advance),
            UiAction::Promote => self.promote(Action::PromoteFull),
            UiAction::Retry => self.send(Action::Retry { stage: None }, "retry"),
            UiAction::Acknowledge => self.acknowledge(),
            UiAction::Undo => {
                match self.prospect(Action::Undo { revision: None }) {
                    // Only a Rollout keeps earlier revisions; the engine's
                    // policy says so for anything else.
                    Err(refusal) if !self.cluster_decides() => {
                        let text = format!("undo: {refusal}");
                        let me = self.operator.clone();
                        self.say_refused(Tone::Refused, text, &me, Action::Undo { revision: None });
                    }
                    _ => self.mode = Mode::ConfirmUndo,
                }
                Vec::new()
            }
            UiAction::Pause if self.release.status() == Status::Paused => {
                self.send(Action::Resume, "resume")
            }
            UiAction::Pause => self.send(Action::Pause { reason: None }, "pause"),
            UiAction::SignOff => self.open_signing(true),
            UiAction::Reject => self.open_signing(false),
            UiAction::Rollback => self.roll_back(),
            UiAction::Tick => self.tick(),
            UiAction::Filter | UiAction::Follow | UiAction::Level | UiAction::ReadLine => {
                self.on_log_action(action);
                Vec::new()
            }
            UiAction::NextMoment => self.step_moment(true),
            UiAction::PrevMoment => self.step_moment(false),
        }
    }

    /// Advance or promote fully: refused here in a freeze; after the
    /// window has closed, asked first; a full promotion always asked.
    /// A Rollout's cluster decides the rest (its promote also unpauses).
    fn promote(&mut self, action: Action) -> Vec<Effect> {
        let full = matches!(action, Action::PromoteFull);
        let what = if full { "promote fully" } else { "advance" };
        let asks_policy = full || self.window_closed().is_some() || self.frozen().is_some();
        if self.cluster_decides() {
            if let Some(frozen) = self.frozen() {
                let text = format!("{what}: {frozen}");
                self.say(Tone::Refused, text);
                return Vec::new();
            }
        } else if asks_policy && let Err(refusal) = self.prospect_promote(action.clone()) {
            let text = format!("{what}: {refusal}");
            let me = self.operator.clone();
            self.say_refused(Tone::Refused, text, &me, action);
            return Vec::new();
        }
        match self.window_closed() {
            Some(closed) => {
                self.mode = Mode::ConfirmLate {
                    action,
                    what: what.into(),
                    closed,
                };
                Vec::new()
            }
            None if full => {
                self.mode = Mode::ConfirmPromote;
                Vec::new()
            }
            None => self.send(action, what),
        }
    }

    /// `]` and `[` in a replay: to the next (or previous) moment of the
    /// window's timeline, held there, paused, with what happened then in
    /// the status line.
    fn step_moment(&mut self, forward: bool) -> Vec<Effect> {
        let here = self.now.max(self.release.last_at());
        let Some(replay) = &mut self.replay else {
            let keys = format!(
                "{} and {}",
                self.keymap.hint(UiAction::PrevMoment),
                self.keymap.hint(UiAction::NextMoment)
            );
            self.say(
                Tone::Info,
                format!("{keys} step between the moments of a recorded window (shipdeck replay)"),
            );
            return Vec::new();
        };
        let here = replay.stepped.or(here);
        let times = replay.moments.iter().map(|(at, _)| *at);
        let target = if forward {
            times.clone().find(|at| Some(*at) > here)
        } else {
            times.rev().find(|at| here.is_some_and(|h| *at < h))
        };
        let Some(at) = target else {
            let which = if forward { "later" } else { "earlier" };
            self.say(Tone::Info, format!("no {which} moment in this recording"));
            return Vec::new();
        };
        replay.paused = true;
        replay.stepped = Some(at);
        let told: Vec<&str> = replay
            .moments
            .iter()
            .filter(|(when, _)| *when == at)
            .map(|(_, what)| what.as_str())
            .collect();
        let text = format!("{} · {} (paused)", at.strftime("%H:%M:%S"), told.join("; "));
        self.say(Tone::Info, crate::model::text::clean(&text).into_owned());
        vec![Effect::Replay(ReplayControl::Step(at))]
    }

    /// Moving, paging and jumping: the log pane scrolls, the others move
    /// the cursor over the gates and checklist.
    fn navigate(&mut self, action: UiAction) {
        self.moved();
        let page = self.log_page;
        let logs = self.focus == Pane::Logs;
        match action {
            UiAction::Up | UiAction::PageUp if logs => {
                let by = if action == UiAction::Up { 1 } else { page };
                self.logs.scroll_up(by, self.release.logs(), page);
            }
            UiAction::Down | UiAction::PageDown if logs => {
                let by = if action == UiAction::Down { 1 } else { page };
                self.logs.scroll_down(by, self.release.logs(), page);
            }
            UiAction::Top if logs => self.logs.top(self.release.logs(), page),
            UiAction::Bottom if logs => {
                self.logs.follow_end();
                self.say(Tone::Info, "following logs again");
            }
            UiAction::Top => self.move_cursor(isize::MIN),
            UiAction::Bottom => self.move_cursor(isize::MAX),
            _ => {
                let by = match action {
                    UiAction::Up => -1,
                    UiAction::Down => 1,
                    UiAction::PageUp => -(page as isize),
                    _ => page as isize,
                };
                self.move_cursor(by);
                self.focus = Pane::Gates;
            }
        }
    }

    /// `s` and `x`: the box for a comment or a reason, or at once the reason
    /// this operator may not sign — before anything is typed.
    fn open_signing(&mut self, approving: bool) -> Vec<Effect> {
        let Some((gate, name)) = self.target_gate() else {
            // A box all the same, so a comment typed next runs nothing.
            let reason = "no gate is open for sign-off (select one in the gates pane)";
            self.say(Tone::Refused, reason);
            self.mode = Mode::Refusal {
                title: "Nothing to sign now".into(),
                reason: reason.into(),
            };
            return Vec::new();
        };
        let allowed = if approving {
            self.gate_prospect(&gate)
        } else {
            self.reject_prospect(&gate)
        };
        self.mode = match allowed {
            Err(Refusal { reason, .. }) => {
                let verb = if approving { "sign off" } else { "reject" };
                let action = if approving {
                    Action::Approve {
                        gate: Some(gate.clone()),
                        comment: None,
                    }
                } else {
                    Action::Reject {
                        gate: Some(gate.clone()),
                        reason: "probe".into(),
                    }
                };
                let me = self.operator.clone();
                self.say_refused(Tone::Refused, reason.clone(), &me, action);
                Mode::Refusal {
                    title: format!("You cannot {verb} {name} now"),
                    reason,
                }
            }
            Ok(()) if approving => Mode::SignOff {
                gate,
                name,
                text: text_area("a comment for the record (optional)", ""),
            },
            Ok(()) => Mode::Reject {
                gate,
                name,
                text: text_area("why (required)", ""),
            },
        };
        Vec::new()
    }

    /// `R`: sent at once; then a box offers to add the reason.
    fn roll_back(&mut self) -> Vec<Effect> {
        let rollback = Action::Rollback { reason: None };
        match self.prospect(rollback.clone()) {
            Err(refusal) => {
                let me = self.operator.clone();
                self.say_refused(Tone::Refused, format!("rollback: {refusal}"), &me, rollback);
                Vec::new()
            }
            // Already rolling back: say so; there is nothing to explain.
            Ok(Permit { note: Some(_), .. }) => self.send(rollback, "rollback"),
            Ok(Permit { note: None, target }) => {
                let what = match target {
                    Target::Stop => "stop before production",
                    _ => "rollback",
                };
                let effects = self.send(rollback, what);
                self.mode = Mode::RollbackReason {
                    text: text_area("why, for the record (optional)", ""),
                };
                effects
            }
        }
    }

    /// `A`: acknowledges the alert that has fired longest ago and nobody
    /// has acknowledged; pressed again, the next.
    fn acknowledge(&mut self) -> Vec<Effect> {
        let Some(rule) = self.alert_to_acknowledge().map(str::to_string) else {
            self.say(Tone::Info, "acknowledge: no alert is firing unacknowledged");
            return Vec::new();
        };
        let ack = Action::Ack { rule: rule.clone() };
        match self.prospect(ack.clone()) {
            Ok(_) => self.send(ack, format!("acknowledge {rule}")),
            Err(refusal) => {
                self.say(Tone::Refused, format!("acknowledge {rule}: {refusal}"));
                Vec::new()
            }
        }
    }

    /// `Space`: ticks or unticks the checklist item under the cursor.
    fn tick(&mut self) -> Vec<Effect> {
        let Some(super::Row::Item { list, item }) = self.cursor.clone() else {
            self.say(
                Tone::Info,
                "select a checklist item first (↑/↓ in the gates pane)",
            );
            return Vec::new();
        };
        let entry = self.release.checklist(&list).and_then(|c| c.item(&item));
        let text = entry.map_or_else(|| item.clone(), |e| e.plan.text.clone());
        if entry.is_some_and(|e| e.ticked.is_some()) {
            self.send(Action::Uncheck { list, item }, format!("untick \"{text}\""))
        } else {
            self.send(Action::Check { list, item }, format!("tick \"{text}\""))
        }
    }

    fn on_log_action(&mut self, action: UiAction) {
        match action {
            UiAction::Filter => {
                self.mode = Mode::Filter {
                    text: text_area(
                        "regex; stage:ID and src:TEXT narrow it",
                        &self.logs.filter_text,
                    ),
                };
            }
            UiAction::Follow => {
                self.logs.toggle_follow(self.release.logs(), self.log_page);
                let state = if self.logs.follow { "on" } else { "off" };
                self.say(Tone::Info, format!("follow logs {state}"));
            }
            UiAction::ReadLine => match self.logs.current(self.release.logs()) {
                Some(line) => {
                    self.mode = Mode::ReadLine {
                        line: line.clone(),
                        scroll: 0,
                    }
                }
                None => self.say(Tone::Info, "no log line to read yet"),
            },
            _ => {
                self.logs.cycle_level(self.release.logs());
                self.say(
                    Tone::Info,
                    format!("logs at {} and above", self.logs.min_level),
                );
            }
        }
    }

    /// A key while a box is open: the box's next state, and what to do.
    fn on_mode_key(&mut self, mode: Mode, key: KeyEvent) -> (Mode, Vec<Effect>) {
        let submit = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('s') | KeyCode::Char('S'));
        let escape = key.code == KeyCode::Esc;
        let closes = escape || key.code == KeyCode::Enter;
        match mode {
            Mode::Normal => (Mode::Normal, Vec::new()),
            Mode::Help => {
                let asked = matches!(
                    self.keymap.action(&key),
                    Some(UiAction::Help | UiAction::Quit)
                );
                let next = if closes || asked {
                    Mode::Normal
                } else {
                    Mode::Help
                };
                (next, Vec::new())
            }
            Mode::ReadLine { line, scroll } => self.on_read_line_key(line, scroll, key),
            Mode::Inbox => self.on_inbox_key(key),
            Mode::Refusal { .. } if closes => (Mode::Normal, Vec::new()),
            Mode::Refusal { .. } => self.past_refusal(mode, key),
            Mode::ConfirmUndo => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    (
                        Mode::Normal,
                        self.send(Action::Undo { revision: None }, "undo"),
                    )
                } else {
                    self.say(Tone::Info, "undo cancelled");
                    (Mode::Normal, Vec::new())
                }
            }
            Mode::ConfirmLate { action, what, .. } => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    let effects = self.send_meant(action, format!("{what} (late)"), true);
                    (Mode::Normal, effects)
                } else {
                    self.say(
                        Tone::Info,
                        format!("{what} cancelled: the window stays closed"),
                    );
                    (Mode::Normal, Vec::new())
                }
            }
            Mode::ConfirmPromote => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    (
                        Mode::Normal,
                        self.send(Action::PromoteFull, "promote fully"),
                    )
                } else {
                    self.say(Tone::Info, "full promotion cancelled");
                    (Mode::Normal, Vec::new())
                }
            }
            Mode::SignOff { gate, name, text } if submit => {
                let comment = content(&text);
                let approve = Action::Approve {
                    gate: Some(gate),
                    comment: (!comment.is_empty()).then_some(comment),
                };
                (Mode::Normal, self.send(approve, format!("sign off {name}")))
            }
            Mode::SignOff { name, .. } if escape => {
                self.say(Tone::Info, format!("sign-off of {name} cancelled"));
                (Mode::Normal, Vec::new())
            }
            Mode::Reject { gate, name, text } if submit => self.submit_rejection(gate, name, text),
            Mode::Reject { name, .. } if escape => {
                self.say(Tone::Info, format!("rejection of {name} cancelled"));
                (Mode::Normal, Vec::new())
            }
            Mode::RollbackReason { text } if submit && !content(&text).is_empty() => {
                let reason = Some(content(&text));
                let effects = self.send(Action::Rollback { reason }, "rollback reason");
                (Mode::Normal, effects)
            }
            Mode::RollbackReason { .. } if submit || escape => {
                let what = match self.release.stopped() {
                    Some(_) => "stop",
                    None => "rollback",
                };
                let landed = self.release.rollback().is_some() || self.release.stopped().is_some();
                if landed {
                    self.say(Tone::Info, format!("{what} sent; no reason added"));
                } else {
                    // Sent, not answered: never said as done. (A refusal
                    // closes this box as it arrives.)
                    self.say(
                        Tone::Info,
                        format!("{what} sent, not answered yet; no reason added"),
                    );
                }
                (Mode::Normal, Vec::new())
            }
            Mode::Filter { .. } if escape => (Mode::Normal, Vec::new()),
            Mode::Filter { text } if submit || key.code == KeyCode::Enter => {
                (self.apply_filter(text), Vec::new())
            }
            Mode::SignOff { .. }
            | Mode::Reject { .. }
            | Mode::RollbackReason { .. }
            | Mode::Filter { .. } => (typed(mode, key), Vec::new()),
        }
    }

    /// A key while a refusal is shown. What may have been meant as a comment
    /// (a printable character) runs nothing while the box is open; a key
    /// that only looks (Tab, the arrows, paging) closes the box and does
    /// what it does. (Rollback is taken before this, from every box.)
    fn past_refusal(&mut self, mode: Mode, key: KeyEvent) -> (Mode, Vec<Effect>) {
        let typed = matches!(key.code, KeyCode::Char(_))
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self.keymap.action(&key) {
            Some(action) if !typed && !action.changes_the_release() => {
                self.mode = Mode::Normal;
                let effects = self.on_action(action);
                (std::mem::take(&mut self.mode), effects)
            }
            _ => (mode, Vec::new()),
        }
    }

    /// A key in the box a log line is read in: it scrolls the line, or
    /// closes the box; any other key closes it and does what it does on the
    /// console (`R` rolls back).
    fn on_read_line_key(
        &mut self,
        line: LogLine,
        scroll: usize,
        key: KeyEvent,
    ) -> (Mode, Vec<Effect>) {
        let action = self.keymap.action(&key);
        let closes = matches!(key.code, KeyCode::Esc | KeyCode::Enter)
            || matches!(action, Some(UiAction::ReadLine | UiAction::Quit));
        if closes {
            return (Mode::Normal, Vec::new());
        }
        let (page, last) = {
            let message = clean(&line.message);
            let geometry = layout::line_box(self.area, &message);
            (geometry.shown.max(1), geometry.scroll(usize::MAX))
        };
        let wanted = match action {
            Some(UiAction::Up) => scroll.saturating_sub(1),
            Some(UiAction::Down) => scroll + 1,
            Some(UiAction::PageUp) => scroll.saturating_sub(page),
            Some(UiAction::PageDown) => scroll + page,
            Some(UiAction::Top) => 0,
            Some(UiAction::Bottom) => usize::MAX,
            _ => {
                self.mode = Mode::Normal;
                let effects = self.on_key(key);
                return (std::mem::take(&mut self.mode), effects);
            }
        };
        let scroll = wanted.min(last);
        (Mode::ReadLine { line, scroll }, Vec::new())
    }

    fn submit_rejection(
        &mut self,
        gate: String,
        name: String,
        text: ratatui_textarea::TextArea<'static>,
    ) -> (Mode, Vec<Effect>) {
        let reason = content(&text);
        if reason.is_empty() {
            self.say(Tone::Refused, "a rejection needs a reason for the record");
            return (Mode::Reject { gate, name, text }, Vec::new());
        }
        let reject = Action::Reject {
            gate: Some(gate),
            reason,
        };
        (Mode::Normal, self.send(reject, format!("reject {name}")))
    }

    /// Applies the filter typed; the box stays open on a bad regex.
    fn apply_filter(&mut self, text: ratatui_textarea::TextArea<'static>) -> Mode {
        let filter = content(&text);
        if filter.is_empty() {
            self.logs.clear_filter(self.release.logs());
            self.say(Tone::Info, "log filter cleared");
        } else if let Err(err) = self.logs.set_filter(&filter, self.release.logs()) {
            self.say(Tone::Refused, format!("filter {filter:?}: {err}"));
            return Mode::Filter { text };
        } else {
            let lines = self.logs.matching();
            self.say(
                Tone::Info,
                format!("logs filtered by {filter:?}: {lines} lines"),
            );
        }
        Mode::Normal
    }
}

/// A key typed into a box's text.
fn typed(mut mode: Mode, key: KeyEvent) -> Mode {
    if let Mode::SignOff { text, .. }
    | Mode::Reject { text, .. }
    | Mode::RollbackReason { text }
    | Mode::Filter { text } = &mut mode
    {
        text.input(key);
    }
    mode
}

impl App {
    /// `i`: the inbox over the window; from `shipdeck inbox`, back to it.
    fn open_inbox(&mut self) -> Vec<Effect> {
        if self.from_inbox {
            return vec![Effect::Leave(Leave::Inbox)];
        }
        match &self.inbox {
            Some(_) => self.mode = Mode::Inbox,
            None => self.say(
                Tone::Info,
                "no inbox: name its sources in the config (inbox: servers, rollouts, github)",
            ),
        }
        Vec::new()
    }

    /// A key while the inbox is over the window. Enter on another
    /// release's item leaves for its window; leaving a window whose
    /// release lives only here (the simulator's, a replay) asks for a
    /// second Enter, as it ends it.
    fn on_inbox_key(&mut self, key: KeyEvent) -> (Mode, Vec<Effect>) {
        use crate::tui::inbox::Choice;
        let sure = self.inbox.as_ref().is_some_and(|l| l.here.is_some());
        let Some(list) = self.inbox.as_mut() else {
            return (Mode::Normal, Vec::new());
        };
        match list.key(&key, &self.keymap, sure) {
            Choice::Stay => (Mode::Inbox, Vec::new()),
            Choice::Back => (Mode::Normal, Vec::new()),
            Choice::Quit => (Mode::Normal, vec![Effect::Quit]),
            Choice::Open(place) => (Mode::Normal, vec![Effect::Leave(Leave::Open(place))]),
        }
    }
}
