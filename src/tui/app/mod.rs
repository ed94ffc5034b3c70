//! The console's state and `App::update`: a pure step from a message to a
//! new state and a list of effects for the runtime to carry out. No I/O, no
//! awaiting, no clocks: time arrives as a message like everything else.
//!
//! `update` is the only way in; what to do next — send a command, steer a
//! replay, draw, quit — only comes out as effects, which the runtime's one
//! dispatch carries out (`runtime::Runtime::dispatch`).

mod hints;
mod keys;
mod waiting;

pub use waiting::Waiting;

use std::collections::BTreeMap;
use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind};
use jiff::Timestamp;
use ratatui::layout::Rect;
use ratatui_textarea::TextArea;

use super::keymap::{KeyMap, UiAction};
use super::layout;
use super::logview::LogView;
use super::theme::Theme;
use crate::api::Presence;
use crate::backend::{Connection, ReplayControl, Update};
use crate::engine::{Refusal, Verdict, policy};
use crate::model::{
    Action, AlertState, Checklist, Command, Event, EventKind, GateState, LogLine, Outcome, Person,
    Release,
};

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

/// What takes the keys: the console itself, or a box over the screen that
/// takes them until it closes. Moved by value: a key's handler takes the
/// mode and gives the next one.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    #[default]
    Normal,
    Help,
    ConfirmPromote,
    /// A promote after the release's window has closed asks first, naming
    /// when it closed; `y` sends it meant late (and journaled so).
    ConfirmLate {
        action: Action,
        what: String,
        closed: Timestamp,
    },
    /// Undo asks first: it changes the Rollout's pod template.
    ConfirmUndo,
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
    /// The inbox over the window.
    Inbox,
    /// A log line read whole, wrapped: a copy, so it stays as the rings move
    /// on. `scroll` is the first of its rows shown.
    ReadLine {
        line: LogLine,
        scroll: usize,
    },
}

impl Mode {
    /// Whether a box is open over the screen.
    pub fn is_modal(&self) -> bool {
        !matches!(self, Mode::Normal)
    }

    /// Whether the box takes typed text (a comment, a reason, a filter).
    pub fn takes_text(&self) -> bool {
        matches!(
            self,
            Mode::SignOff { .. }
                | Mode::Reject { .. }
                | Mode::RollbackReason { .. }
                | Mode::Filter { .. }
        )
    }
}

/// How the last thing the operator did turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Pending,
    Accepted,
    Refused,
}

/// A command sent and not answered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// What was asked, in words: `sign off Production deploy approval`.
    pub what: String,
    pub action: Action,
    /// Not delivered yet, as the backend last said.
    pub queued: Option<Queued>,
    /// Delivered this long after it was given (it had to wait).
    pub late: Option<Duration>,
}

/// A command the backend has not delivered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub waited: Duration,
    /// Until it expires and is not sent; `None`: a rollback, sent when the
    /// link returns.
    pub expires_in: Option<Duration>,
    pub why: String,
}

impl Pending {
    /// What the operator is told of it while it waits: a rollback is sent
    /// when the link returns; anything else expires.
    pub fn queued_words(&self, queued: &Queued) -> String {
        let waited = seconds(queued.waited);
        match queued.expires_in {
            None if self.is_rollback() => {
                format!("rollback queued — will be sent when the server is back · {waited}")
            }
            None => format!("{}: queued — not delivered · {waited}", self.what),
            Some(left) => format!(
                "{}: queued — not delivered · {waited} · expires in {}",
                self.what,
                seconds_left(left)
            ),
        }
    }

    pub fn is_rollback(&self) -> bool {
        matches!(self.action, Action::Rollback { .. })
    }

    /// The gate a sign-off or rejection is for.
    pub fn gate(&self) -> Option<&str> {
        match &self.action {
            Action::Approve { gate, .. } | Action::Reject { gate, .. } => gate.as_deref(),
            _ => None,
        }
    }
}

/// How many clock updates a new window is announced for in the header.
const NEW_WINDOW_SHOWN: u32 = 60;

#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    pub tone: Tone,
    pub text: String,
    /// The refusal the line reports — who, what, and the policy's reason —
    /// asked again as the release changes: once the answer is another, the
    /// line no longer holds and goes.
    holds_while: Option<(Person, Action, String)>,
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
    /// A source of the inbox said what waits now.
    Inbox(crate::inbox::Feed),
}

/// How soon a change must be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Redraw {
    /// Data changed: draw within the frame cap.
    Soon,
    /// The operator did something: draw at once.
    Now,
}

/// What the runtime must do.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "the runtime carries out every effect"]
pub enum Effect {
    /// Journal the command, then send it.
    Send(Command),
    /// Steer a replay.
    Replay(ReplayControl),
    /// What is on screen changed.
    Redraw(Redraw),
    /// Ring the terminal's bell: something started to wait on this operator.
    Bell,
    /// Write this desktop notification escape (OSC 9 / OSC 777), with the
    /// bell.
    Notify(Vec<u8>),
    Quit,
    /// Leave this window for another (an inbox item's) or for the inbox.
    Leave(Leave),
}

/// Where the console goes when it leaves its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leave {
    /// The window of an inbox item's release.
    Open(crate::inbox::Place),
    /// Back to `shipdeck inbox`'s screen.
    Inbox,
}

/// A recorded window being played back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    pub paused: bool,
    /// The window's timeline (the report's: commands, gates, alerts,
    /// stages …), in order: what `[` and `]` step between.
    pub moments: Vec<(Timestamp, String)>,
    /// The moment last stepped to, while the replay holds there.
    pub(crate) stepped: Option<Timestamp>,
}

impl Replay {
    /// A replay that steps between `moments` (in order of time).
    pub fn new(moments: Vec<(Timestamp, String)>) -> Replay {
        Replay {
            moments,
            ..Replay::default()
        }
    }
}

/// How far ← and → move a replay, in seconds of the window's time.
pub const SEEK_STEP: i64 = 60;

/// The console's state.
#[derive(Debug)]
pub struct App {
    pub release: Release,
    pub operator: Person,
    pub backend: String,
    /// The backend keeps earlier revisions: `U` may undo to one.
    pub keeps_revisions: bool,
    /// The backend's own picture of what it runs (a Rollout's revisions),
    /// for the side pane.
    pub picture: Vec<crate::backend::Detail>,
    /// What slows the backend down (a rate limit), for the header.
    pub slowed: Option<String>,
    pub connection: Connection,
    /// The backend's time now.
    pub now: Option<Timestamp>,
    pub focus: Pane,
    pub mode: Mode,
    pub logs: LogView,
    /// The selected row of the gates and checklist pane: the row itself, so
    /// the cursor stays on it when rows come and go.
    pub cursor: Option<Row>,
    pub status: Option<StatusLine>,
    /// Clock updates since the status line was set; old news fades.
    status_age: u32,
    /// Commands sent and not yet answered, by id.
    pub pending: BTreeMap<String, Pending>,
    /// How long the last rollback this operator gave waited for the link
    /// before it was sent.
    pub rollback_late: Option<Duration>,
    /// Clock updates since the server began a new window, while that is
    /// still news.
    pub new_window: Option<u32>,
    pub keymap: KeyMap,
    pub theme: Theme,
    /// The screen's size.
    pub area: Rect,
    /// Lines of log a page holds at this size (from the layout, on resize).
    log_page: usize,
    /// Set when this console plays a recorded window back (read-only).
    pub replay: Option<Replay>,
    /// A journal write failed: the operator must know.
    pub journal_problem: Option<String>,
    /// Who watches the release (a shared window), this operator too.
    pub presence: Presence,
    client: String,
    sent: u64,
    /// Ring the bell when something starts to wait on this operator.
    pub bell: bool,
    /// The desktop notification sent then, if any.
    pub notify: crate::config::Notify,
    /// What the notification says, when one is due.
    notice: Option<String>,
    /// What waited on this operator when last looked (what, stage, key).
    waited: Vec<(String, String, UiAction)>,
    /// The rows of what waited on this operator when last looked.
    waited_rows: Vec<Row>,
    /// Clock updates since the operator last moved the cursor or scrolled.
    since_moved: u32,
    bell_due: bool,
    /// The inbox (`i`), when the console has sources for one: what waits on
    /// this operator in every release, kept up to date as they change.
    pub inbox: Option<crate::tui::inbox::InboxList>,
    /// The window was opened from `shipdeck inbox`: Esc goes back to it.
    pub from_inbox: bool,
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
        operator: Person,
        backend: impl Into<String>,
        keymap: KeyMap,
        theme: Theme,
        log_capacity: usize,
        client: impl Into<String>,
    ) -> App {
        let area = Rect::new(0, 0, 80, 24);
        App {
            release: Release::new("", log_capacity),
            operator,
            backend: backend.into(),
            keeps_revisions: false,
            picture: Vec::new(),
            slowed: None,
            connection: Connection::Connecting,
            now: None,
            focus: Pane::Gates,
            mode: Mode::Normal,
            logs: LogView::default(),
            cursor: None,
            status: None,
            status_age: 0,
            pending: BTreeMap::new(),
            rollback_late: None,
            new_window: None,
            keymap,
            theme,
            area,
            log_page: layout::log_page(area),
            replay: None,
            journal_problem: None,
            presence: Presence::default(),
            client: client.into(),
            sent: 0,
            bell: true,
            notify: crate::config::Notify::Off,
            notice: None,
            waited: Vec::new(),
            waited_rows: Vec::new(),
            since_moved: u32::MAX,
            bell_due: false,
            inbox: None,
            from_inbox: false,
        }
    }

    /// The one step: a message in, effects out.
    #[must_use = "the runtime carries out every effect"]
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) if key.kind == KeyEventKind::Release => Vec::new(),
            Msg::Key(key) => {
                let mut effects = self.on_key(key);
                effects.push(Effect::Redraw(Redraw::Now));
                effects
            }
            Msg::Backend(update) => {
                let mut effects = match self.on_update(update) {
                    true => vec![Effect::Redraw(Redraw::Soon)],
                    false => Vec::new(),
                };
                self.ring(&mut effects);
                effects
            }
            Msg::BackendGone(reason) => {
                self.connection = Connection::Lost(reason.clone());
                for (_, pending) in std::mem::take(&mut self.pending) {
                    let what = pending.what;
                    self.say(Tone::Refused, format!("{what}: no answer; {reason}"));
                }
                vec![Effect::Redraw(Redraw::Now)]
            }
            Msg::Inbox(feed) => {
                let Some(list) = self.inbox.as_mut() else {
                    return Vec::new();
                };
                let mut effects = vec![Effect::Redraw(Redraw::Soon)];
                // Something new for this operator in another release rings
                // as this window's own does.
                if let Some(notice) = list.take(feed)
                    && self.replay.is_none()
                {
                    self.bell_due = true;
                    self.notice = Some(notice);
                    self.ring(&mut effects);
                }
                effects
            }
            Msg::JournalFailed(reason) => {
                self.say(
                    Tone::Refused,
                    format!("the journal cannot be written: {reason}"),
                );
                self.journal_problem = Some(reason);
                vec![Effect::Redraw(Redraw::Now)]
            }
            Msg::NotSent { id, reason } => {
                let what = self.answered(&id);
                self.say(Tone::Refused, format!("{what}: not sent — {reason}"));
                vec![Effect::Redraw(Redraw::Now)]
            }
            Msg::Resize { width, height } => {
                self.area = Rect::new(0, 0, width, height);
                self.log_page = layout::log_page(self.area);
                self.logs.resize(self.release.logs(), self.log_page);
                vec![Effect::Redraw(Redraw::Now)]
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
            holds_while: None,
        });
        self.status_age = 0;
    }

    /// Says a refusal of `operator`'s `action`, for as long as the policy
    /// would refuse it for the same reason.
    fn say_refused(
        &mut self,
        tone: Tone,
        text: impl Into<String>,
        operator: &Person,
        action: Action,
    ) {
        let reason = self
            .check_as(operator, action.clone())
            .err()
            .map(|r| r.reason);
        self.say(tone, text);
        if let (Some(status), Some(reason)) = (self.status.as_mut(), reason) {
            status.holds_while = Some((operator.clone(), action, reason));
        }
    }

    /// A refusal said earlier that the policy would no longer give, after
    /// the release changed, is taken off the key bar.
    fn drop_what_no_longer_holds(&mut self) {
        let Some((operator, action, reason)) =
            self.status.as_ref().and_then(|s| s.holds_while.clone())
        else {
            return;
        };
        let still = self.check_as(&operator, action).err().map(|r| r.reason);
        if still.as_deref() != Some(reason.as_str()) {
            self.status = None;
        }
    }

    /// Tells the operator about what others (people, rules) did that changes
    /// the release as a whole.
    fn announce(&mut self, events: &[Event]) {
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
                    let text = format!("{}: {what} refused — {reason}", command.operator);
                    self.say_refused(Tone::Info, text, &command.operator, command.action.clone());
                }
                EventKind::RollbackStarted { by, reason } if *by != self.operator => {
                    let text = if by.rule_name().is_some() {
                        format!("automatic rollback: {reason}")
                    } else {
                        format!("rollback started by {by}: {reason}")
                    };
                    self.say(Tone::Refused, text);
                }
                EventKind::ReleaseStopped { by, reason } if *by != self.operator => {
                    self.say(Tone::Refused, format!("{by} stopped the release: {reason}"));
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
                    let tone = if *outcome == Outcome::Succeeded {
                        Tone::Accepted
                    } else {
                        Tone::Refused
                    };
                    let outcome = outcome.words();
                    self.say(tone, format!("the release has finished: {outcome}"));
                }
                _ => {}
            }
        }
    }

    /// Takes in what the backend said; whether anything on screen changed.
    fn on_update(&mut self, update: Update) -> bool {
        match update {
            Update::Events(events) => {
                let Some(last) = events.last() else {
                    return false;
                };
                self.now = Some(self.now.map_or(last.at, |n| n.max(last.at)));
                for event in &events {
                    self.release.apply(event);
                }
                self.logs.sync(self.release.logs());
                self.drop_what_no_longer_holds();
                self.announce(&events);
                self.keep_cursor();
                self.point_at_what_waits();
            }
            Update::Verdict { id, verdict } => self.on_verdict(id, verdict),
            Update::Clock(now) => return self.on_clock(now),
            Update::Connection(connection) => {
                // Who watches is unknown while the line is down.
                if matches!(connection, Connection::Lost(_)) {
                    self.presence = Presence::default();
                }
                self.connection = connection;
            }
            Update::Identity(operator) => {
                // The server's word, as it writes the name, is who this is.
                if operator != self.operator {
                    let github = self.release.plan().and_then(|p| p.decided_by.as_deref())
                        == Some(crate::model::names::GITHUB);
                    let who = if github { "GitHub" } else { "the server" };
                    self.say(
                        Tone::Info,
                        format!("{who} knows you as {operator}; your commands are theirs"),
                    );
                }
                self.operator = operator;
            }
            Update::Presence(presence) => self.presence = presence,
            Update::Logs(lines) => {
                for line in lines {
                    self.release.apply(line);
                }
                self.logs.sync(self.release.logs());
            }
            Update::Undelivered { id, reason } => {
                let what = self.answered(&id);
                self.say(Tone::Refused, format!("{what}: not confirmed — {reason}"));
            }
            Update::Queued {
                id,
                waited,
                expires_in,
                why,
            } => {
                let Some(pending) = self.pending.get_mut(&id) else {
                    return false;
                };
                pending.queued = Some(Queued {
                    waited,
                    expires_in,
                    why,
                });
            }
            Update::Expired { id, reason, .. } => {
                let what = self.answered(&id);
                self.say(Tone::Refused, format!("{what}: expired — {reason}"));
            }
            Update::SentLate { id, late } => {
                let Some(pending) = self.pending.get_mut(&id) else {
                    return false;
                };
                pending.queued = None;
                pending.late = Some(late);
                if pending.is_rollback() {
                    self.rollback_late = Some(late);
                }
            }
            Update::Reset => self.on_reset(),
            // What a served service exports; the console shows the release's
            // metrics instead.
            Update::Traffic(_) => return false,
            Update::Picture(lines) => {
                if self.picture == lines {
                    return false;
                }
                self.picture = lines;
            }
            Update::Slowed(why) => {
                if self.slowed == why {
                    return false;
                }
                self.slowed = why;
            }
        }
        true
    }

    /// A new run of the release: nothing said about the old one holds for
    /// it, and the operator is told plainly that its state is gone. (A
    /// replay seeking back resets too, and says nothing.)
    fn on_reset(&mut self) {
        if self.replay.is_none() {
            self.mode = Mode::Normal;
            self.rollback_late = None;
            self.new_window = Some(0);
            // Commands given for the old window stay listed until the
            // backend says they were not sent.
            self.say(
                Tone::Refused,
                "the server began a new window: the old one's state is gone; the release starts over",
            );
        }
        self.release = Release::new("", self.release.logs().capacity());
        self.logs = LogView::default();
        self.cursor = None;
    }

    /// Forgets an answered command; what it asked, in words.
    fn answered(&mut self, id: &str) -> String {
        match self.pending.remove(id) {
            Some(pending) => pending.what,
            None => format!("command {id}"),
        }
    }

    /// Commands not delivered yet, the longest waiting first; a rollback
    /// (which the header shows) after the rest.
    pub fn queued(&self) -> Vec<(&Pending, &Queued)> {
        let mut queued: Vec<_> = self
            .pending
            .values()
            .filter_map(|p| p.queued.as_ref().map(|q| (p, q)))
            .collect();
        queued.sort_by_key(|(p, q)| (p.is_rollback(), std::cmp::Reverse(q.waited)));
        queued
    }

    fn on_verdict(&mut self, id: String, verdict: Verdict) {
        let late = self.pending.get(&id).and_then(|p| p.late);
        // A refused rollback has no reason to add: its box closes, so the
        // refusal is what the operator reads.
        let rollback = self
            .pending
            .get(&id)
            .is_some_and(|p| matches!(p.action, Action::Rollback { .. }));
        if rollback && !verdict.is_accepted() && matches!(self.mode, Mode::RollbackReason { .. }) {
            self.mode = Mode::Normal;
        }
        let mut what = self.answered(&id);
        if let Some(late) = late {
            what = format!("{what} (sent {} late)", seconds(late));
        }
        match verdict {
            Verdict::Accepted { note: Some(note) } => {
                self.say(Tone::Accepted, format!("{what}: accepted — {note}"));
            }
            Verdict::Accepted { note: None } => {
                self.say(Tone::Accepted, format!("{what}: accepted"))
            }
            Verdict::Refused(refusal) => {
                self.say(Tone::Refused, format!("{what}: refused — {refusal}"));
            }
        }
    }

    /// The backend's clock; whether the screen must be drawn again.
    fn on_clock(&mut self, now: Timestamp) -> bool {
        let before = self.now;
        self.now = Some(now);
        self.status_age += 1;
        self.since_moved = self.since_moved.saturating_add(1);
        let fades_after = match self.status.as_ref().map(|s| s.tone) {
            Some(Tone::Info) => 8,
            Some(Tone::Accepted) => 15,
            Some(Tone::Refused) => 30,
            Some(Tone::Pending) | None => u32::MAX,
        };
        let faded = self.status_age > fades_after;
        if faded {
            self.status = None;
        }
        if let Some(age) = &mut self.new_window {
            *age += 1;
            if *age > NEW_WINDOW_SHOWN {
                self.new_window = None;
            }
        }
        // Drawn again for the clock only while something on screen counts.
        let counting = self.release.status().in_flight();
        let minute_changed = before.map(|b| b.as_second() / 60) != Some(now.as_second() / 60);
        faded || counting || minute_changed
    }

    /// The firing alert nobody has acknowledged that fired longest ago.
    pub fn alert_to_acknowledge(&self) -> Option<&str> {
        self.release
            .alerts()
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .min_by_key(|a| a.since)
            .map(|a| a.rule.as_str())
    }

    /// How many others watch: everyone but this operator.
    pub fn others_count(&self) -> usize {
        let me = self
            .presence
            .watchers
            .iter()
            .any(|w| w.operator == self.operator);
        let people = self.presence.people();
        // In a crowd this console is counted, if not named.
        match me || people > self.presence.watchers.len() {
            true => people.saturating_sub(1),
            false => people,
        }
    }

    /// The others watching whom the server names: everyone but this
    /// operator, while few watch.
    pub fn others_watching(&self) -> impl Iterator<Item = &str> {
        self.presence
            .watchers
            .iter()
            .filter(|w| w.operator != self.operator)
            .map(|w| w.operator.as_str())
    }

    /// The checklist the operator is working through now.
    pub fn active_checklist(&self) -> Option<&Checklist> {
        crate::engine::waiting::active_checklist(&self.release)
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

    /// The row under the cursor, when the gates pane has the focus.
    pub fn selected_row(&self) -> Option<&Row> {
        self.cursor.as_ref().filter(|_| self.focus == Pane::Gates)
    }

    /// Keeps the cursor on its row as rows come and go; when its row is
    /// gone (a new checklist), it goes to the first item still to tick.
    fn keep_cursor(&mut self) {
        let rows = self.rows();
        let kept = self.cursor.as_ref().is_some_and(|row| rows.contains(row));
        if kept {
            return;
        }
        let first_open = || {
            rows.iter().find(|r| match r {
                Row::Item { list, item } => self
                    .release
                    .checklist(list)
                    .and_then(|c| c.item(item))
                    .is_some_and(|i| i.ticked.is_none() && !i.plan.automatic),
                Row::Gate(_) => false,
            })
        };
        let next = match &self.cursor {
            Some(_) => first_open().or(rows.first()),
            None => rows.first(),
        };
        self.cursor = next.cloned();
    }

    /// Moves the cursor by `by` rows (up when negative), within the rows.
    fn move_cursor(&mut self, by: isize) {
        let rows = self.rows();
        let at = self
            .cursor
            .as_ref()
            .and_then(|row| rows.iter().position(|r| r == row))
            .unwrap_or(0);
        let to = at
            .saturating_add_signed(by)
            .min(rows.len().saturating_sub(1));
        self.cursor = rows.get(to).cloned();
    }

    fn send(&mut self, action: Action, what: impl Into<String>) -> Vec<Effect> {
        self.send_meant(action, what, false)
    }

    /// Sends a command; `late`: a promote the operator confirmed after the
    /// window closed.
    fn send_meant(&mut self, action: Action, what: impl Into<String>, late: bool) -> Vec<Effect> {
        let what = what.into();
        if self.replay.is_some() {
            self.say(
                Tone::Refused,
                format!("{what}: this is a replay of a recorded window; nothing can be changed"),
            );
            return Vec::new();
        }
        self.sent += 1;
        let id = format!("{}-{}", self.client, self.sent);
        self.pending.insert(
            id.clone(),
            Pending {
                what: what.clone(),
                action: action.clone(),
                queued: None,
                late: None,
            },
        );
        let text = match self.connection {
            // Not "sent": nothing can be while the server is out of reach.
            Connection::Lost(_) => format!("{what}: queued — the server is out of reach"),
            _ => format!("{what}: sent, waiting for the backend…"),
        };
        self.say(Tone::Pending, text);
        // What the operator saw goes with it: the engine refuses it if what
        // it acts on has changed since.
        let mut command = Command::new(id, self.operator.clone(), action);
        command.late = late;
        vec![Effect::Send(command.seen_at(self.release.last_seq()))]
    }

    /// The gate a sign-off or rejection is for: the selected one, or the one
    /// open gate.
    fn target_gate(&self) -> Option<(String, String)> {
        if let Some(Row::Gate(id)) = self.selected_row()
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

    /// What the engine's policy would say to this operator's command now.
    /// A Rollout's cluster decides this release's commands, not shipdeck's
    /// engine: its promote also unpauses, and it keeps earlier revisions to
    /// undo to. Known from the backend (a Rollout followed here) or from the
    /// plan (a Rollout served by `serve --rollout`).
    pub fn cluster_decides(&self) -> bool {
        // Only a rollout has promotes to decide (a workflow's jobs have none).
        let rolls_out = self.release.rollout_stage().is_some();
        let decided = self.release.plan().is_some_and(|p| p.decided_by.is_some());
        rolls_out && (self.keeps_revisions || decided)
    }

    fn prospect(&self, action: Action) -> policy::Checked {
        self.check_as(&self.operator, action)
    }

    /// What the policy would say to a promote this console confirms late
    /// when the window has closed (it asks the operator before sending).
    fn prospect_promote(&self, action: Action) -> policy::Checked {
        let probe = Command::new("probe", self.operator.clone(), action).late();
        policy::check(&self.release, &probe, self.moment())
    }

    /// The release's time as this console has it.
    fn moment(&self) -> Timestamp {
        self.now
            .unwrap_or_else(|| self.release.last_at().unwrap_or(Timestamp::UNIX_EPOCH))
    }

    /// What the engine's policy would say to `operator`'s command now.
    fn check_as(&self, operator: &Person, action: Action) -> policy::Checked {
        let probe = Command::new("probe", operator.clone(), action);
        policy::check(&self.release, &probe, self.moment())
    }

    /// When the release's window closed, once it has (and the release is
    /// still in flight).
    pub fn window_closed(&self) -> Option<Timestamp> {
        let end = self.release.plan()?.window?.end();
        let in_flight = self.release.status().in_flight();
        (in_flight && self.moment() >= end).then_some(end)
    }

    /// The freeze promotes are in now, in words with when it reopens.
    pub fn frozen(&self) -> Option<crate::model::Frozen<'_>> {
        let plan = self.release.plan()?;
        crate::model::freeze::frozen(&plan.freezes, self.moment())
    }

    /// Whether this operator may sign a gate now; if not, why.
    pub fn gate_prospect(&self, gate: &str) -> Result<(), Refusal> {
        self.prospect(Action::Approve {
            gate: Some(gate.to_string()),
            comment: None,
        })
        .map(|_| ())
    }

    /// Whether this operator may reject a gate now; if not, why.
    fn reject_prospect(&self, gate: &str) -> Result<(), Refusal> {
        self.prospect(Action::Reject {
            gate: Some(gate.to_string()),
            reason: "probe".into(),
        })
        .map(|_| ())
    }
}

/// Whole seconds, as an operator reads a wait: `42s`.
pub fn seconds(duration: Duration) -> String {
    crate::model::units::format_duration(jiff::SignedDuration::from_secs(duration.as_secs() as i64))
}

/// Whole seconds left, rounded up: `expires in 1s` until it has.
pub fn seconds_left(duration: Duration) -> String {
    seconds(Duration::from_secs(duration.as_secs_f64().ceil() as u64))
}

#[cfg(test)]
pub(crate) mod tests;
