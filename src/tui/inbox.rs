//! The inbox on screen: the list's state (what is shown, the cursor), the
//! keys that move it, and `shipdeck inbox`'s own screen, a small loop of
//! its own over the keys, the sources' feeds and a clock for the ages.
//! The console shows the same list over its window (`i`).

use std::collections::BTreeSet;
use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyModifiers};
use futures_util::StreamExt;
use jiff::Timestamp;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::keymap::{KeyMap, UiAction};
use super::terminal::Term;
use super::theme::Theme;
use crate::inbox::{Feed, Inbox, Item, Place};

/// The inbox as the screen shows it.
#[derive(Debug, Clone, Default)]
pub struct InboxList {
    pub inbox: Inbox,
    /// The item under the cursor, as an index into `inbox.items()`.
    pub cursor: usize,
    /// The release of the window the list is shown over, if any: its items
    /// say so, and Enter on one goes back to it.
    pub here: Option<Place>,
    /// The sources heard from: what they hold at first is not news.
    heard: BTreeSet<String>,
    /// What waits on this operator in other releases than `here`, as of
    /// the last feed: to tell what is new, and to count it.
    mine: BTreeSet<(Place, String, String)>,
    /// An item chosen once while leaving needs a second Enter: the place.
    pub leaving: Option<Place>,
    /// The wall clock's time, for ages and deadlines (the runtime sets it).
    pub now: Option<Timestamp>,
    /// The operator has moved the cursor: it stays on its item as the list
    /// changes. Until then it stays on the most urgent.
    moved: bool,
}

/// What a key in the list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Nothing beyond a move.
    Stay,
    /// Open this release's window.
    Open(Place),
    /// Close the list (the console) or go back (the screen).
    Back,
    Quit,
}

impl InboxList {
    /// The list shown over the window of the release at `here`.
    pub fn over(here: Option<Place>) -> InboxList {
        InboxList {
            here,
            ..InboxList::default()
        }
    }

    /// Takes a source's word; says what new now waits on this operator in
    /// another window than this one (for the bell and the desktop
    /// notification), not counting what a source holds when it is first
    /// heard from: `payments v1.4 → v1.5 (production): sign Production
    /// approval (Approval)`, and how many more came with it.
    pub fn take(&mut self, feed: Feed) -> Option<String> {
        // A source's first word with something to say is not news (a
        // source in trouble at the start has not said what waits yet).
        let first = feed.trouble.is_none() && self.heard.insert(feed.source.clone());
        let selected = self.selected().map(key);
        self.inbox.take(feed);
        let elsewhere: Vec<&Item> = self
            .inbox
            .items()
            .into_iter()
            .filter(|i| i.mine && Some(&i.place) != self.here.as_ref())
            .collect();
        let new: Vec<&Item> = elsewhere
            .iter()
            .copied()
            .filter(|i| !first && !self.mine.contains(&key(i)))
            .collect();
        let notice = new.first().map(|item| {
            let more = match new.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            format!("{}: {} ({}){more}", item.release, item.what, item.stage)
        });
        self.mine = elsewhere.into_iter().map(key).collect();
        // The cursor stays on the item it was on, wherever it went.
        let items = self.inbox.items();
        self.cursor = match selected.filter(|_| self.moved) {
            Some(k) => items
                .iter()
                .position(|i| key(i) == k)
                .unwrap_or(self.cursor.min(items.len().saturating_sub(1))),
            None => 0,
        };
        notice
    }

    /// How many items wait on this operator in other releases than this
    /// window's.
    pub fn mine_elsewhere(&self) -> usize {
        self.mine.len()
    }

    pub fn selected(&self) -> Option<&Item> {
        self.inbox.nth(self.cursor).map(|(_, item)| item)
    }

    /// What a key does to the list. `sure` says whether leaving this window
    /// needs no second Enter.
    pub fn key(&mut self, key: &KeyEvent, keymap: &KeyMap, sure: bool) -> Choice {
        let count = self.inbox.len();
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c {
            return Choice::Quit;
        }
        let chosen = self.leaving.take();
        let action = keymap.action(key);
        if matches!(
            action,
            Some(UiAction::Up | UiAction::Down | UiAction::Top | UiAction::Bottom)
        ) {
            self.moved = true;
        }
        match (key.code, action) {
            (KeyCode::Esc, _) | (_, Some(UiAction::Inbox)) => Choice::Back,
            (_, Some(UiAction::Quit)) => Choice::Quit,
            (KeyCode::Enter, _) => match self.selected().map(|i| i.place.clone()) {
                Some(place) if Some(&place) == self.here.as_ref() => Choice::Back,
                Some(place) if sure || chosen.as_ref() == Some(&place) => Choice::Open(place),
                Some(place) => {
                    self.leaving = Some(place);
                    Choice::Stay
                }
                None => Choice::Stay,
            },
            (_, Some(UiAction::Up)) => {
                self.cursor = self.cursor.saturating_sub(1);
                Choice::Stay
            }
            (_, Some(UiAction::Down)) => {
                self.cursor = (self.cursor + 1).min(count.saturating_sub(1));
                Choice::Stay
            }
            (_, Some(UiAction::Top)) => {
                self.cursor = 0;
                Choice::Stay
            }
            (_, Some(UiAction::Bottom)) => {
                self.cursor = count.saturating_sub(1);
                Choice::Stay
            }
            _ => Choice::Stay,
        }
    }
}

/// What tells one item from another across feeds.
fn key(item: &Item) -> (Place, String, String) {
    (item.place.clone(), item.what.clone(), item.stage.clone())
}

/// How `shipdeck inbox`'s screen ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Open(Place),
    Quit,
    /// A signal: its name and the exit status it calls for.
    Signal(&'static str, u8),
}

/// `shipdeck inbox`'s screen, until the operator opens an item's window or
/// quits. `list` is kept by the caller, so coming back shows it at once.
pub async fn run(
    terminal: &mut Term,
    list: &mut InboxList,
    feeds: &mut mpsc::Receiver<Feed>,
    theme: &Theme,
    keymap: &KeyMap,
    ring: Ring,
) -> io::Result<Ending> {
    let mut keys = EventStream::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut feeds_open = true;
    loop {
        terminal.draw(|frame| {
            super::views::inbox_screen(list, theme, keymap, Timestamp::now(), frame)
        })?;
        tokio::select! {
            event = keys.next() => match event {
                Some(Ok(TermEvent::Key(key))) => match list.key(&key, keymap, true) {
                    Choice::Open(place) => return Ok(Ending::Open(place)),
                    Choice::Back | Choice::Quit => return Ok(Ending::Quit),
                    Choice::Stay => {}
                },
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err),
                None => return Ok(Ending::Quit),
            },
            feed = feeds.recv(), if feeds_open => match feed {
                Some(feed) => {
                    if let Some(notice) = list.take(feed) {
                        tell(terminal, &notice, ring)?;
                    }
                }
                None => feeds_open = false,
            },
            _ = tick.tick() => {}
            _ = terminate.recv() => return Ok(Ending::Signal("SIGTERM", 143)),
            _ = hangup.recv() => return Ok(Ending::Signal("SIGHUP", 129)),
            _ = interrupt.recv() => return Ok(Ending::Signal("SIGINT", 130)),
        }
    }
}

/// How the screen tells the operator something new waits on them: the
/// bell, and the desktop notification, as configured.
#[derive(Debug, Clone, Copy)]
pub struct Ring {
    pub bell: bool,
    pub notify: crate::config::Notify,
}

/// Rings for `notice`, between frames.
fn tell(terminal: &mut Term, notice: &str, ring: Ring) -> io::Result<()> {
    use std::io::Write;
    let out = terminal.backend_mut();
    if let Some(bytes) = super::notify::escape(ring.notify, notice) {
        out.write_all(&bytes)?;
    }
    if ring.bell {
        out.write_all(b"\x07")?;
    }
    out.flush()
}
