//! The console's state and `App::update`: a pure step from a message to a
//! new state and a list of effects for the runtime to carry out. No I/O, no
//! awaiting, no clocks: time arrives as a message like everything else.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use jiff::Timestamp;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::keymap::{KeyMap, UiAction};
use super::logview::LogView;
use super::theme::Theme;
use crate::api::Watcher;
use crate::backend::{Connection, ReplayControl, Update};
use crate::engine::{Verdict, policy};
use crate::model::{Action, Checklist, Command, GateState, Release, Status};

/// The panes Tab moves between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Board,
    Gates,
    Logs,
}

impl Pane {
    const ORDER: [Pane; 3] = [Pane::Board, Pane::Gates, Pane::Logs];

    fn step(self, by: isize) -> Pane {
        let i = Pane::ORDER.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Pane::ORDER[(i + by).rem_euclid(Pane::ORDER.len() as isize) as usize]
    }
}

/// A box over the screen that takes the keys until it closes.
#[derive(Debug, Clone)]
pub enum Dialog {
    Help,
    ConfirmPromote,
    SignOff {
        gate: String,
        name: String,
        text: TextArea<'static>,
    },
    Reject {
        gate: String,
        name: String,
        text: TextArea<'static>,
    },
    RollbackReason {
        text: TextArea<'static>,
    },
    Filter {
        text: TextArea<'static>,
    },
    /// An action this operator may not take now, and why. It takes the keys
    /// until closed, so what they meant to type cannot run as commands.
    Refusal {
        title: String,
        reason: String,
    },
}

/// How the last thing the operator did turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Pending,
    Accepted,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub tone: Tone,
    pub text: String,
}

/// A row of the gates and checklist pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Gate(String),
    Item { list: String, item: String },
}

/// Everything the console reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Backend(Update),
    /// The backend can no longer be reached (its task ended or a send failed).
    BackendGone(String),
    /// The journal could not be written.
    JournalFailed(String),
    /// A command was not sent, and why.
    NotSent {
        id: String,
        reason: String,
    },
    Resize {
        width: u16,
        height: u16,
    },
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send(Command),
    /// Steer a replay.
    Replay(ReplayControl),
    Quit,
}

/// A recorded window being played back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replay {
    pub paused: bool,
}

/// How far ← and → move a replay, in seconds of the window's time.
pub const SEEK_STEP: i64 = 60;

/// The console's state.
#[derive(Debug)]
pub struct App {
    pub release: Release,
    pub operator: String,
    pub backend: String,
    pub connection: Connection,
    /// The backend's time now.
    pub now: Option<Timestamp>,
    pub focus: Pane,
    pub dialog: Option<Dialog>,
    pub logs: LogView,
    /// The selected row of the gates and checklist pane.
    pub selected: usize,
    pub status: Option<StatusLine>,
    /// Clock updates since the status line was set; old news fades.
    status_age: u32,
    /// The selected row itself, so the cursor follows it when rows move.
    selected_row: Option<Row>,
    /// Commands sent and not yet answered: id → what was asked.
    pub pending: BTreeMap<String, String>,
    pub keymap: KeyMap,
    pub theme: Theme,
    /// The screen's size.
    pub area: Rect,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// Set when this console plays a recorded window back (read-only).
    pub replay: Option<Replay>,
    /// A journal write failed: the operator must know.
    pub journal_problem: Option<String>,
    /// Everyone watching the release (a shared window), this operator too.
    pub watchers: Vec<Watcher>,
    client: String,
    sent: u64,
}

fn text_area(placeholder: &str, initial: &str) -> TextArea<'static> {
    let mut text = TextArea::new(if initial.is_empty() {
        vec![String::new()]
    } else {
        initial.lines().map(str::to_string).collect()
    });
    text.set_placeholder_text(placeholder);
    text.move_cursor(ratatui_textarea::CursorMove::End);
    text
}

fn content(text: &TextArea<'_>) -> String {
    text.lines().join("\n").trim().to_string()
}

impl App {
    pub fn new(
        operator: impl Into<String>,
        backend: impl Into<String>,
        keymap: KeyMap,
        theme: Theme,
        log_capacity: usize,
        client: impl Into<String>,
    ) -> App {
        App {
            release: Release::new("", log_capacity),
            operator: operator.into(),
            backend: backend.into(),
            connection: Connection::Connecting,
            now: None,
            focus: Pane::Gates,
            dialog: None,
            logs: LogView::default(),
            selected: 0,
            status: None,
            status_age: 0,
            selected_row: None,
            pending: BTreeMap::new(),
            keymap,
            theme,
            area: Rect::new(0, 0, 80, 24),
            dirty: true,
            replay: None,
            journal_problem: None,
            watchers: Vec::new(),
            client: client.into(),
            sent: 0,
        }
    }

    /// The one step: a message in, effects out.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => {
                if key.kind == KeyEventKind::Release {
                    return Vec::new();
                }
                self.dirty = true;
                self.on_key(key)
            }
            Msg::Backend(update) => {
                self.on_update(update);
                Vec::new()
            }
            Msg::BackendGone(reason) => {
                self.connection = Connection::Lost(reason.clone());
                for (_, what) in std::mem::take(&mut self.pending) {
                    self.say(Tone::Refused, format!("{what}: no answer; {reason}"));
                }
                self.dirty = true;
                Vec::new()
            }
            Msg::JournalFailed(reason) => {
                self.say(
                    Tone::Refused,
                    format!("the journal cannot be written: {reason}"),
                );
                self.journal_problem = Some(reason);
                self.dirty = true;
                Vec::new()
            }
            Msg::NotSent { id, reason } => {
                let what = self.pending.remove(&id).unwrap_or(id);
                self.say(Tone::Refused, format!("{what}: not sent — {reason}"));
                self.dirty = true;
                Vec::new()
            }
            Msg::Resize { width, height } => {
                self.area = Rect::new(0, 0, width, height);
                self.dirty = true;
                Vec::new()
            }
        }
    }

    /// Tells the operator something from outside the release (a setting
    /// that could not be honoured, say).
    pub fn note(&mut self, text: &str) {
        self.say(Tone::Info, text);
    }

    fn say(&mut self, tone: Tone, text: impl Into<String>) {
        self.status = Some(StatusLine {
            tone,
            text: text.into(),
        });
        self.status_age = 0;
    }

    /// Tells the operator about what others (people, rules) did that changes
    /// the release as a whole.
    fn announce(&mut self, events: &[crate::model::Event]) {
        use crate::model::EventKind;
        // Others at their keys (not the simulator's scripted people).
        let me = self.operator.clone();
        let someone_else =
            |command: &Command| command.operator != me && !command.id.starts_with("sim-");
        for event in events {
            match &event.kind {
                EventKind::CommandAccepted { command, note } if someone_else(command) => {
                    let what = command.action.words();
                    let text = match note {
                        Some(note) => format!("{}: {what} accepted — {note}", command.operator),
                        None => format!("{}: {what} accepted", command.operator),
                    };
                    self.say(Tone::Info, text);
                }
                EventKind::CommandRejected { command, reason } if someone_else(command) => {
                    let what = command.action.words();
                    self.say(
                        Tone::Info,
                        format!("{}: {what} refused — {reason}", command.operator),
                    );
                }
                EventKind::RollbackStarted { by, reason } if *by != self.operator => {
                    let text = if by.starts_with("rule:") {
                        format!("automatic rollback: {reason}")
                    } else {
                        format!("rollback started by {by}: {reason}")
                    };
                    self.say(Tone::Refused, text);
                }
                EventKind::GateChanged {
                    state: GateState::Rejected,
                    rejection: Some(r),
                    gate,
                    ..
                } if r.operator != self.operator => {
                    self.say(
                        Tone::Refused,
                        format!("{gate} rejected by {}: {}", r.operator, r.reason),
                    );
                }
                EventKind::ReleaseFinished { outcome } => {
                    let tone = if *outcome == crate::model::Outcome::Succeeded {
                        Tone::Accepted
                    } else {
                        Tone::Refused
                    };
                    self.say(
                        tone,
                        format!("the release has finished: {}", outcome.words()),
                    );
                }
                _ => {}
            }
        }
    }

    fn on_update(&mut self, update: Update) {
        match update {
            Update::Events(events) => {
                if events.is_empty() {
                    return;
                }
                for event in &events {
                    self.release.apply(event);
                }
                if let Some(last) = events.last() {
                    self.now = Some(self.now.map_or(last.at, |n| n.max(last.at)));
                }
                self.logs.sync(self.release.logs());
                self.announce(&events);
                self.clamp_selection();
                self.dirty = true;
            }
            Update::Verdict { id, verdict } => {
                let what = self
                    .pending
                    .remove(&id)
                    .unwrap_or_else(|| format!("command {id}"));
                match verdict {
                    Verdict::Accepted { note } => {
                        let text = match note {
                            Some(note) => format!("{what}: accepted — {note}"),
                            None => format!("{what}: accepted"),
                        };
                        self.say(Tone::Accepted, text);
                    }
                    Verdict::Refused { reason } => {
                        self.say(Tone::Refused, format!("{what}: refused — {reason}"));
                    }
                }
                self.dirty = true;
            }
            Update::Clock(now) => {
                let before = self.now;
                self.now = Some(now);
                self.status_age += 1;
                let fades_after = match self.status.as_ref().map(|s| s.tone) {
                    Some(Tone::Info) => 8,
                    Some(Tone::Accepted) => 15,
                    Some(Tone::Refused) => 30,
                    Some(Tone::Pending) | None => u32::MAX,
                };
                if self.status_age > fades_after {
                    self.status = None;
                    self.dirty = true;
                }
                // Redraw for the clock only while something on screen counts.
                let counting = self.release.status().in_flight();
                let minute_changed =
                    before.map(|b| b.as_second() / 60) != Some(now.as_second() / 60);
                if counting || minute_changed {
                    self.dirty = true;
                }
            }
            Update::Connection(connection) => {
                // Who watches is unknown while the line is down.
                if matches!(connection, Connection::Lost(_)) {
                    self.watchers.clear();
                }
                self.connection = connection;
                self.dirty = true;
            }
            Update::Identity(operator) => {
                if operator != self.operator {
                    self.say(
                        Tone::Info,
                        format!("the server knows you as {operator}; your commands are theirs"),
                    );
                    self.operator = operator;
                }
                self.dirty = true;
            }
            Update::Presence(watchers) => {
                self.watchers = watchers;
                self.dirty = true;
            }
            Update::Logs(lines) => {
                for line in lines {
                    self.release.apply(line);
                }
                self.logs.sync(self.release.logs());
                self.dirty = true;
            }
            Update::Undelivered { id, reason } => {
                let what = self.pending.remove(&id).unwrap_or(id);
                self.say(Tone::Refused, format!("{what}: not confirmed — {reason}"));
                self.dirty = true;
            }
            Update::Reset => {
                // Nothing said about the old release holds for the new one.
                if self.replay.is_none() {
                    self.dialog = None;
                    self.status = None;
                    self.pending.clear();
                }
                self.release = Release::new("", self.release.logs().capacity());
                self.logs = LogView::default();
                self.dirty = true;
            }
            // What a served service exports; the console shows the release's
            // metrics instead.
            Update::Traffic(_) => {}
        }
    }

    /// The others watching: everyone but this operator.
    pub fn others_watching(&self) -> impl Iterator<Item = &str> {
        self.watchers
            .iter()
            .map(|w| w.operator.as_str())
            .filter(|o| *o != self.operator)
    }

    /// The checklist the operator is working through now.
    pub fn active_checklist(&self) -> Option<&Checklist> {
        let release = &self.release;
        let rollback_list = release.plan().and_then(|p| p.rollback_checklist.as_deref());
        if release.rollback().is_some()
            && let Some(list) = rollback_list.and_then(|l| release.checklist(l))
        {
            return Some(list);
        }
        let from_stage = |s: &crate::model::Stage| {
            s.plan
                .checklist
                .as_deref()
                .and_then(|l| release.checklist(l))
        };
        if let Some(list) = release.current_stage().and_then(from_stage) {
            return Some(list);
        }
        // Otherwise the latest stage that has started and has a checklist.
        release
            .stages()
            .iter()
            .rev()
            .filter(|s| s.started_at.is_some())
            .find_map(from_stage)
    }

    /// The rows of the gates and checklist pane, in order.
    pub fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .release
            .gates()
            .iter()
            .map(|g| Row::Gate(g.plan.id.clone()))
            .collect();
        if let Some(list) = self.active_checklist() {
            rows.extend(list.items.iter().map(|i| Row::Item {
                list: list.id.clone(),
                item: i.plan.id.clone(),
            }));
        }
        rows
    }

    /// Keeps the cursor on the same row as rows come and go; when its row
    /// is gone (a new checklist), it goes to the first item still to tick.
    fn clamp_selection(&mut self) {
        let rows = self.rows();
        let found = self
            .selected_row
            .as_ref()
            .and_then(|row| rows.iter().position(|r| r == row));
        self.selected = match found {
            Some(i) => i,
            None if self.selected_row.is_some() => {
                let first_open = rows.iter().position(|r| match r {
                    Row::Item { list, item } => self
                        .release
                        .checklist(list)
                        .and_then(|c| c.item(item))
                        .is_some_and(|i| i.ticked.is_none() && !i.plan.automatic),
                    Row::Gate(_) => false,
                });
                first_open.unwrap_or(0)
            }
            None => self.selected.min(rows.len().saturating_sub(1)),
        };
        self.selected_row = rows.get(self.selected).cloned();
    }

    fn select(&mut self, index: usize) {
        let rows = self.rows();
        self.selected = index.min(rows.len().saturating_sub(1));
        self.selected_row = rows.get(self.selected).cloned();
    }

    /// The height of the log pane's text area, for paging.
    fn log_page(&self) -> usize {
        super::views::layout(self.area)
            .logs
            .map_or(10, |r| r.height.saturating_sub(2).max(1) as usize)
    }

    fn send(&mut self, action: Action, what: impl Into<String>) -> Vec<Effect> {
        if self.replay.is_some() {
            self.say(
                Tone::Refused,
                format!(
                    "{}: this is a replay of a recorded window; nothing can be changed",
                    what.into()
                ),
            );
            return Vec::new();
        }
        self.sent += 1;
        let id = format!("{}-{}", self.client, self.sent);
        let what = what.into();
        self.pending.insert(id.clone(), what.clone());
        self.say(
            Tone::Pending,
            format!("{what}: sent, waiting for the backend…"),
        );
        vec![Effect::Send(Command::new(
            id,
            self.operator.clone(),
            action,
        ))]
    }

    /// The gate a sign-off or rejection is for: the selected one, or the one
    /// open gate.
    fn target_gate(&self) -> Option<(String, String)> {
        let rows = self.rows();
        if self.focus == Pane::Gates
            && let Some(Row::Gate(id)) = rows.get(self.selected)
            && let Some(gate) = self.release.gate(id)
        {
            return Some((gate.plan.id.clone(), gate.plan.name.clone()));
        }
        let open: Vec<_> = self
            .release
            .gates()
            .iter()
            .filter(|g| g.state == GateState::Open)
            .collect();
        match open.as_slice() {
            [one] => Some((one.plan.id.clone(), one.plan.name.clone())),
            _ => None,
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Effect::Quit];
        }
        if let Some(dialog) = self.dialog.take() {
            return self.on_dialog_key(dialog, key);
        }
        if let Some(replay) = self.replay {
            match key.code {
                KeyCode::Char(' ') => {
                    self.replay = Some(Replay {
                        paused: !replay.paused,
                    });
                    let state = if replay.paused { "playing" } else { "paused" };
                    self.say(Tone::Info, format!("replay {state}"));
                    return vec![Effect::Replay(ReplayControl::Toggle)];
                }
                KeyCode::Left => return vec![Effect::Replay(ReplayControl::Seek(-SEEK_STEP))],
                KeyCode::Right => return vec![Effect::Replay(ReplayControl::Seek(SEEK_STEP))],
                _ => {}
            }
        }
        if key.code == KeyCode::Esc {
            if self.logs.is_filtered() {
                self.logs.clear_filter(self.release.logs());
                self.say(Tone::Info, "log filter cleared");
            }
            return Vec::new();
        }
        let Some(action) = self.keymap.action(&key) else {
            return Vec::new();
        };
        self.on_action(action)
    }

    fn on_action(&mut self, action: UiAction) -> Vec<Effect> {
        let page = self.log_page();
        let changes_the_release = matches!(
            action,
            UiAction::Advance
                | UiAction::Promote
                | UiAction::Pause
                | UiAction::SignOff
                | UiAction::Reject
                | UiAction::Rollback
                | UiAction::Retry
                | UiAction::Tick
        );
        if self.replay.is_some() && changes_the_release {
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
            UiAction::Quit => return vec![Effect::Quit],
            UiAction::Help => self.dialog = Some(Dialog::Help),
            UiAction::NextPane => self.focus = self.focus.step(1),
            UiAction::PrevPane => self.focus = self.focus.step(-1),
            UiAction::Up | UiAction::Down | UiAction::PageUp | UiAction::PageDown => {
                let (by, up) = match action {
                    UiAction::Up => (1, true),
                    UiAction::Down => (1, false),
                    UiAction::PageUp => (page, true),
                    _ => (page, false),
                };
                match self.focus {
                    Pane::Logs if up => self.logs.scroll_up(by, page),
                    Pane::Logs => self.logs.scroll_down(by),
                    Pane::Gates | Pane::Board => {
                        let target = if up {
                            self.selected.saturating_sub(by)
                        } else {
                            self.selected + by
                        };
                        self.select(target);
                        self.focus = Pane::Gates;
                    }
                }
            }
            UiAction::Top => match self.focus {
                Pane::Logs => self.logs.top(page),
                _ => self.select(0),
            },
            UiAction::Bottom => match self.focus {
                Pane::Logs => {
                    self.logs.follow_end();
                    self.say(Tone::Info, "following logs again");
                }
                _ => self.select(usize::MAX),
            },
            UiAction::Advance => return self.send(Action::Advance, "advance"),
            UiAction::Promote => match self.prospect(Action::PromoteFull) {
                Ok(_) => self.dialog = Some(Dialog::ConfirmPromote),
                Err(reason) => self.say(Tone::Refused, format!("promote fully: {reason}")),
            },
            UiAction::Retry => return self.send(Action::Retry { stage: None }, "retry"),
            UiAction::Pause => {
                return if self.release.status() == Status::Paused {
                    self.send(Action::Resume, "resume")
                } else {
                    self.send(Action::Pause { reason: None }, "pause")
                };
            }
            UiAction::SignOff | UiAction::Reject => {
                let Some((gate, name)) = self.target_gate() else {
                    // A box all the same, so a comment typed next runs nothing.
                    let reason = "no gate is open for sign-off (select one in the gates pane)";
                    self.say(Tone::Refused, reason);
                    self.dialog = Some(Dialog::Refusal {
                        title: "Nothing to sign now".into(),
                        reason: reason.into(),
                    });
                    return Vec::new();
                };
                // Say now what the backend would say, rather than after the typing.
                let verdict = if action == UiAction::SignOff {
                    self.gate_prospect(&gate)
                } else {
                    self.reject_prospect(&gate)
                };
                if let Err(reason) = verdict {
                    let verb = if action == UiAction::SignOff {
                        "sign off"
                    } else {
                        "reject"
                    };
                    self.say(Tone::Refused, reason.clone());
                    self.dialog = Some(Dialog::Refusal {
                        title: format!("You cannot {verb} {name} now"),
                        reason,
                    });
                    return Vec::new();
                }
                self.dialog = Some(if action == UiAction::SignOff {
                    Dialog::SignOff {
                        gate,
                        name,
                        text: text_area("a comment for the record (optional)", ""),
                    }
                } else {
                    Dialog::Reject {
                        gate,
                        name,
                        text: text_area("why (required)", ""),
                    }
                });
            }
            UiAction::Rollback => {
                return match self.prospect(Action::Rollback { reason: None }) {
                    Err(reason) => {
                        self.say(Tone::Refused, format!("rollback: {reason}"));
                        Vec::new()
                    }
                    // Already rolling back: say so; there is nothing to explain.
                    Ok(Some(_)) => self.send(Action::Rollback { reason: None }, "rollback"),
                    Ok(None) => {
                        let effects = self.send(Action::Rollback { reason: None }, "rollback");
                        self.dialog = Some(Dialog::RollbackReason {
                            text: text_area("why, for the record (optional)", ""),
                        });
                        effects
                    }
                };
            }
            UiAction::Tick => {
                let rows = self.rows();
                let Some(Row::Item { list, item }) = rows.get(self.selected).cloned() else {
                    self.say(
                        Tone::Info,
                        "select a checklist item first (↑/↓ in the gates pane)",
                    );
                    return Vec::new();
                };
                let entry = self.release.checklist(&list).and_then(|c| c.item(&item));
                let text = entry
                    .map(|e| e.plan.text.clone())
                    .unwrap_or_else(|| item.clone());
                let ticked = entry.is_some_and(|e| e.ticked.is_some());
                return if ticked {
                    self.send(Action::Uncheck { list, item }, format!("untick \"{text}\""))
                } else {
                    self.send(Action::Check { list, item }, format!("tick \"{text}\""))
                };
            }
            UiAction::Filter => {
                self.dialog = Some(Dialog::Filter {
                    text: text_area(
                        "regex; stage:ID and src:TEXT narrow it",
                        &self.logs.filter_text,
                    ),
                });
            }
            UiAction::Follow => {
                self.logs.toggle_follow();
                let state = if self.logs.follow { "on" } else { "off" };
                self.say(Tone::Info, format!("follow logs {state}"));
            }
            UiAction::Level => {
                self.logs.cycle_level(self.release.logs());
                self.say(
                    Tone::Info,
                    format!("logs at {} and above", self.logs.min_level),
                );
            }
        }
        Vec::new()
    }

    fn on_dialog_key(&mut self, dialog: Dialog, key: KeyEvent) -> Vec<Effect> {
        let submit = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('s') | KeyCode::Char('S'));
        let escape = key.code == KeyCode::Esc;
        match dialog {
            Dialog::Help => {
                let closes = escape
                    || key.code == KeyCode::Enter
                    || matches!(
                        self.keymap.action(&key),
                        Some(UiAction::Help | UiAction::Quit)
                    );
                if !closes {
                    self.dialog = Some(Dialog::Help);
                }
                Vec::new()
            }
            Dialog::Refusal { title, reason } => {
                if !(escape || key.code == KeyCode::Enter) {
                    self.dialog = Some(Dialog::Refusal { title, reason });
                }
                Vec::new()
            }
            Dialog::ConfirmPromote => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    self.send(Action::PromoteFull, "promote fully")
                } else {
                    self.say(Tone::Info, "full promotion cancelled");
                    Vec::new()
                }
            }
            Dialog::SignOff {
                gate,
                name,
                mut text,
            } => {
                if escape {
                    self.say(Tone::Info, format!("sign-off of {name} cancelled"));
                } else if submit {
                    let comment = content(&text);
                    return self.send(
                        Action::Approve {
                            gate: Some(gate),
                            comment: (!comment.is_empty()).then_some(comment),
                        },
                        format!("sign off {name}"),
                    );
                } else {
                    text.input(key);
                    self.dialog = Some(Dialog::SignOff { gate, name, text });
                }
                Vec::new()
            }
            Dialog::Reject {
                gate,
                name,
                mut text,
            } => {
                if escape {
                    self.say(Tone::Info, format!("rejection of {name} cancelled"));
                } else if submit {
                    let reason = content(&text);
                    if reason.is_empty() {
                        self.say(Tone::Refused, "a rejection needs a reason for the record");
                        self.dialog = Some(Dialog::Reject { gate, name, text });
                    } else {
                        return self.send(
                            Action::Reject {
                                gate: Some(gate),
                                reason,
                            },
                            format!("reject {name}"),
                        );
                    }
                } else {
                    text.input(key);
                    self.dialog = Some(Dialog::Reject { gate, name, text });
                }
                Vec::new()
            }
            Dialog::RollbackReason { mut text } => {
                if escape {
                    self.say(Tone::Info, "rollback sent; no reason added");
                } else if submit {
                    let reason = content(&text);
                    if !reason.is_empty() {
                        return self.send(
                            Action::Rollback {
                                reason: Some(reason),
                            },
                            "rollback reason",
                        );
                    }
                    self.say(Tone::Info, "rollback sent; no reason added");
                } else {
                    text.input(key);
                    self.dialog = Some(Dialog::RollbackReason { text });
                }
                Vec::new()
            }
            Dialog::Filter { mut text } => {
                if escape {
                    return Vec::new();
                }
                if submit || key.code == KeyCode::Enter {
                    let filter = content(&text);
                    if filter.is_empty() {
                        self.logs.clear_filter(self.release.logs());
                        self.say(Tone::Info, "log filter cleared");
                    } else if let Err(err) = self.logs.set_filter(&filter, self.release.logs()) {
                        self.say(Tone::Refused, format!("filter {filter:?}: {err}"));
                        self.dialog = Some(Dialog::Filter { text });
                    } else {
                        self.say(
                            Tone::Info,
                            format!(
                                "logs filtered by {filter:?}: {} lines",
                                self.logs.matching()
                            ),
                        );
                    }
                } else {
                    text.input(key);
                    self.dialog = Some(Dialog::Filter { text });
                }
                Vec::new()
            }
        }
    }

    /// The keys that do something now, for the status bar.
    pub fn hints(&self) -> Vec<(String, &'static str)> {
        let k = |a| self.keymap.hint(a);
        match &self.dialog {
            Some(Dialog::Help) => {
                return vec![(k(UiAction::Help), "close"), ("Esc".into(), "close")];
            }
            Some(Dialog::ConfirmPromote) => {
                return vec![
                    ("y".into(), "promote fully"),
                    ("any other key".into(), "cancel"),
                ];
            }
            Some(Dialog::Filter { .. }) => {
                return vec![("Enter".into(), "apply"), ("Esc".into(), "cancel")];
            }
            Some(Dialog::Refusal { .. }) => return vec![("Esc".into(), "close")],
            Some(_) => return vec![("Ctrl+S".into(), "submit"), ("Esc".into(), "cancel")],
            None => {}
        }
        if self.replay.is_some() {
            return vec![
                ("Space".into(), "pause/play"),
                ("← →".into(), "a minute back/on"),
                (k(UiAction::NextPane), "pane"),
                (k(UiAction::Filter), "filter"),
                (k(UiAction::Help), "help"),
                (k(UiAction::Quit), "quit"),
            ];
        }
        // A key is offered only when the engine's policy would take it now.
        let may = |action: Action| self.prospect(action).is_ok();
        let mut hints = Vec::new();
        if may(Action::Advance) {
            hints.push((k(UiAction::Advance), "advance"));
        }
        if may(Action::PromoteFull) {
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
        if self.release.status().in_flight() && self.release.status() != Status::RollingBack {
            hints.push((k(UiAction::Rollback), "roll back"));
        }
        if self.focus == Pane::Gates
            && let Some(Row::Item { list, item }) = self.rows().get(self.selected).cloned()
        {
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
        hints.push((k(UiAction::NextPane), "pane"));
        hints.push((k(UiAction::Filter), "filter"));
        hints.push((k(UiAction::Help), "help"));
        hints.push((k(UiAction::Quit), "quit"));
        hints
    }

    /// What the engine's policy would say to this operator's command now:
    /// the note it would be accepted with, or the reason it would be refused.
    fn prospect(&self, action: Action) -> Result<Option<String>, String> {
        let probe = Command::new("probe", self.operator.clone(), action);
        let now = self
            .now
            .unwrap_or_else(|| self.release.last_at().unwrap_or(Timestamp::UNIX_EPOCH));
        policy::check(&self.release, &probe, now)
    }

    /// Whether this operator may sign a gate now; if not, why.
    pub fn gate_prospect(&self, gate: &str) -> Result<(), String> {
        self.prospect(Action::Approve {
            gate: Some(gate.to_string()),
            comment: None,
        })
        .map(|_| ())
    }

    /// Whether this operator may reject a gate now; if not, why.
    fn reject_prospect(&self, gate: &str) -> Result<(), String> {
        self.prospect(Action::Reject {
            gate: Some(gate.to_string()),
            reason: "probe".into(),
        })
        .map(|_| ())
    }
}

#[cfg(test)]
pub(crate) mod tests;
