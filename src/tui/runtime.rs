//! The one loop: terminal events, backend updates and the frame clock in a
//! `tokio::select!`, and one dispatch that every message goes through:
//! `App::update`, then every effect it returns carried out. Keys are drawn
//! at once; data-driven redraws are capped; nothing is drawn when nothing
//! changed.
//!
//! The runtime is also where the journal is written: every event as it
//! arrives, every command before it is sent (a command that cannot be
//! recorded is not sent), every verdict as it comes back.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::app::{App, Effect, Msg, Redraw};
use super::terminal::Term;
use super::views;
use crate::backend::{Connection, Handle, Update};
use crate::journal::Writer;
use crate::model::{Command, LogLine};

/// Why the console stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Quit,
    /// For another window, or the inbox.
    Leave(crate::tui::app::Leave),
    /// A signal: its name and the exit status it calls for (128 + number).
    Signal(&'static str, u8),
}

/// Runs the console until the operator quits or a signal arrives.
pub async fn run(
    terminal: &mut Term,
    app: &mut App,
    backend: Handle,
    journal: Option<&mut Writer>,
    frame_cap: u32,
    inbox: Option<mpsc::Receiver<crate::inbox::Feed>>,
) -> io::Result<Ending> {
    let mut journal = journal;
    app.keeps_revisions = backend.keeps_revisions;
    // One time base: the journal stamps what it writes with the release's
    // clock, as the backend keeps it.
    if let Some(writer) = journal.as_deref_mut() {
        writer.keep_time(backend.clock.clone());
    }
    let mut runtime = Runtime {
        terminal,
        app,
        backend,
        journal,
        frame: Duration::from_secs_f64(1.0 / f64::from(frame_cap.clamp(1, 240))),
        last_draw: Instant::now(),
        draw_at: None,
        outage: None,
        inbox,
    };
    runtime.run().await
}

/// What woke the loop.
enum Wake {
    Msg(Msg),
    /// The frame a capped redraw waited for has come.
    Draw,
    /// Nothing to do (a terminal event the console does not use).
    Idle,
    End(Ending),
}

struct Runtime<'a> {
    terminal: &'a mut Term,
    app: &'a mut App,
    backend: Handle,
    journal: Option<&'a mut Writer>,
    /// The shortest time between two data-driven frames.
    frame: Duration,
    last_draw: Instant,
    /// When a change waiting for the frame cap is drawn.
    draw_at: Option<Instant>,
    /// While the link to the backend is down (as journaled): the commands
    /// that waited meanwhile.
    outage: Option<Vec<String>>,
    /// The inbox's sources' feeds, when the console has an inbox.
    inbox: Option<mpsc::Receiver<crate::inbox::Feed>>,
}

impl Runtime<'_> {
    async fn run(&mut self) -> io::Result<Ending> {
        let mut keys = EventStream::new();
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let size = self.terminal.size()?;
        let (width, height) = (size.width, size.height);
        if let Some(ending) = self.dispatch(Msg::Resize { width, height })? {
            return Ok(ending);
        }
        // A test hook: proves a panic mid-session still restores the terminal.
        if std::env::var_os("SHIPDECK_DEBUG_PANIC").is_some() {
            panic!("SHIPDECK_DEBUG_PANIC is set: panicking after the first frame, as asked");
        }
        let mut backend_open = true;
        loop {
            let draw_at = self.draw_at;
            let wake = tokio::select! {
                event = keys.next() => match event {
                    Some(Ok(TermEvent::Key(key))) => Wake::Msg(Msg::Key(key)),
                    Some(Ok(TermEvent::Resize(width, height))) => {
                        Wake::Msg(Msg::Resize { width, height })
                    }
                    Some(Ok(_)) => Wake::Idle,
                    Some(Err(err)) => return Err(err),
                    None => Wake::End(Ending::Quit),
                },
                update = self.backend.updates.recv(), if backend_open => match update {
                    Some(update) => Wake::Msg(Msg::Backend(update)),
                    None => {
                        backend_open = false;
                        Wake::Msg(Msg::BackendGone("the backend stopped".into()))
                    }
                },
                lines = next_lines(&mut self.backend.logs), if self.backend.logs.is_some() => {
                    match lines {
                        Some(lines) => Wake::Msg(Msg::Backend(Update::Logs(lines))),
                        None => {
                            self.backend.logs = None;
                            Wake::Idle
                        }
                    }
                }
                feed = next_feed(&mut self.inbox), if self.inbox.is_some() => match feed {
                    Some(feed) => Wake::Msg(Msg::Inbox(feed)),
                    None => {
                        self.inbox = None;
                        Wake::Idle
                    }
                },
                _ = sleep_until(draw_at.unwrap_or_else(Instant::now)), if draw_at.is_some() => {
                    Wake::Draw
                }
                _ = terminate.recv() => Wake::End(Ending::Signal("SIGTERM", 143)),
                _ = hangup.recv() => Wake::End(Ending::Signal("SIGHUP", 129)),
                _ = interrupt.recv() => Wake::End(Ending::Signal("SIGINT", 130)),
            };
            match wake {
                Wake::Msg(msg) => {
                    if let Some(ending) = self.dispatch(msg)? {
                        return Ok(ending);
                    }
                }
                Wake::Draw => self.draw()?,
                Wake::Idle => {}
                Wake::End(ending) => return Ok(ending),
            }
        }
    }

    /// The one dispatch. A message goes to `App::update` (a backend's
    /// update is journaled first); every effect it returns is carried out;
    /// a message an effect gives back (a command that could not be
    /// journaled or sent) goes round again. What changed is drawn once, at
    /// the end, as soon as the most urgent change asks.
    fn dispatch(&mut self, msg: Msg) -> io::Result<Option<Ending>> {
        // The inbox's ages and deadlines are the wall clock's.
        if let Some(list) = self.app.inbox.as_mut() {
            list.now = Some(jiff::Timestamp::now());
        }
        let mut queue = VecDeque::from([msg]);
        let mut redraw = None;
        while let Some(msg) = queue.pop_front() {
            if let Msg::Backend(update) = &msg {
                queue.extend(self.record(update));
            }
            for effect in self.app.update(msg) {
                match effect {
                    Effect::Quit => return Ok(Some(Ending::Quit)),
                    Effect::Leave(to) => return Ok(Some(Ending::Leave(to))),
                    Effect::Send(command) => queue.extend(self.send(command)),
                    Effect::Replay(control) => {
                        if let Some(controls) = &self.backend.controls {
                            let _ = controls.send(control);
                        }
                    }
                    Effect::Redraw(when) => redraw = redraw.max(Some(when)),
                    Effect::Bell => self.ring(b"\x07")?,
                    Effect::Notify(escape) => self.ring(&escape)?,
                }
            }
        }
        match redraw {
            None => {}
            Some(Redraw::Now) => self.draw()?,
            Some(Redraw::Soon) => {
                let due = self.last_draw + self.frame;
                if Instant::now() >= due {
                    self.draw()?;
                } else if self.draw_at.is_none() {
                    self.draw_at = Some(due);
                }
            }
        }
        Ok(None)
    }

    /// The terminal's bell (BEL) or a desktop notification's escape,
    /// between frames.
    fn ring(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        let out = self.terminal.backend_mut();
        out.write_all(bytes)?;
        out.flush()
    }

    fn draw(&mut self) -> io::Result<()> {
        let app = &*self.app;
        self.terminal.draw(|frame| views::render(app, frame))?;
        self.last_draw = Instant::now();
        self.draw_at = None;
        Ok(())
    }

    /// Records what a backend said; a failure comes back as a message, so
    /// it is shown, never swallowed.
    fn record(&mut self, update: &Update) -> Option<Msg> {
        self.backend.clock.hear(update);
        let writer = self.journal.as_deref_mut()?;
        let written = match update {
            Update::Events(events) => writer.events(events),
            Update::Verdict { id, verdict } => {
                tracing::info!(command = %id, ?verdict, "verdict");
                writer.verdict(id, verdict)
            }
            // A server that starts the release afresh starts a new window: a
            // new file, once the old one says the link came back. (A replay
            // seeking back resets too, but writes nothing.)
            Update::Reset => outage(writer, &mut self.outage, update)
                .and_then(|()| writer.start_again("the backend started the release afresh")),
            Update::Connection(_) | Update::Queued { .. } => {
                outage(writer, &mut self.outage, update)
            }
            Update::Expired { id, waited, reason } => outage(writer, &mut self.outage, update)
                .and_then(|()| writer.expired(id, whole_seconds(*waited), reason)),
            Update::SentLate { id, late } => writer.sent_late(id, whole_seconds(*late)),
            // Who the server says this is: the journal keeps its word.
            Update::Identity(operator) => writer.operator_is(operator),
            Update::Clock(_)
            | Update::Presence(_)
            | Update::Logs(_)
            | Update::Traffic(_)
            | Update::Picture(_)
            | Update::Slowed(_)
            | Update::Undelivered { .. } => Ok(()),
        };
        written.err().map(|err| {
            tracing::error!("journal write failed: {err}");
            Msg::JournalFailed(err.to_string())
        })
    }

    /// Journals a command, then sends it: a command that cannot be written
    /// down is not sent. What went wrong comes back as a message.
    fn send(&mut self, command: Command) -> Option<Msg> {
        tracing::info!(
            command = %crate::model::text::Clean(&command.id),
            operator = %crate::model::text::Clean(&command.operator),
            kind = command.action.name(),
            "command sent"
        );
        if let Some(writer) = self.journal.as_deref_mut()
            && let Err(err) = writer.command(&command)
        {
            tracing::error!("journal write failed: {err}");
            return Some(Msg::NotSent {
                id: command.id,
                reason: format!("the journal cannot be written ({err})"),
            });
        }
        if self.backend.commands.send(command).is_err() {
            tracing::warn!("the backend is gone; a command could not be sent");
            return Some(Msg::BackendGone("the backend is not running".into()));
        }
        None
    }
}

/// Journals the link to the backend going down and coming back, with the
/// commands that waited meanwhile (`down`, while it is down).
fn outage(writer: &mut Writer, down: &mut Option<Vec<String>>, update: &Update) -> io::Result<()> {
    match (update, down.as_mut()) {
        (Update::Connection(Connection::Lost(why)), None) => {
            // What went wrong, without the countdown to the next try.
            let reason = why.split(" · ").next().unwrap_or(why);
            writer.link_lost(reason)?;
            *down = Some(Vec::new());
        }
        (Update::Connection(Connection::Live) | Update::Reset, Some(queued)) => {
            writer.link_back(queued)?;
            *down = None;
        }
        (Update::Queued { id, .. } | Update::Expired { id, .. }, Some(queued))
            if !queued.contains(id) =>
        {
            queued.push(id.clone());
        }
        _ => {}
    }
    Ok(())
}

fn whole_seconds(duration: Duration) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(duration.as_secs() as i64)
}

/// The next batch of the operator's own log lines; `None` when every
/// source has ended.
async fn next_lines(logs: &mut Option<mpsc::Receiver<Vec<LogLine>>>) -> Option<Vec<LogLine>> {
    match logs {
        Some(logs) => logs.recv().await,
        None => std::future::pending().await,
    }
}

/// The inbox's next feed (never, without one).
async fn next_feed(
    feeds: &mut Option<mpsc::Receiver<crate::inbox::Feed>>,
) -> Option<crate::inbox::Feed> {
    match feeds {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
