//! The one loop: terminal events, backend updates and the frame clock in a
//! `tokio::select!`. Keys are answered at once; data-driven redraws are
//! capped; nothing is drawn when nothing changed.
//!
//! The runtime is also where the journal is written: every event as it
//! arrives, every command before it is sent (a command that cannot be
//! recorded is not sent), every verdict as it comes back.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, sleep_until};

use super::app::{App, Effect, Msg};
use super::terminal::Term;
use super::views;
use crate::backend::{Handle, Update};
use crate::journal::Writer;

/// Why the console stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Quit,
    /// A signal: its name and the exit status it calls for (128 + number).
    Signal(&'static str, u8),
}

fn draw(terminal: &mut Term, app: &mut App) -> io::Result<()> {
    terminal.draw(|frame| views::render(app, frame))?;
    app.dirty = false;
    Ok(())
}

/// Records what a backend said; a failure is shown, never swallowed.
fn record(journal: &mut Option<&mut Writer>, app: &mut App, update: &Update) {
    let Some(writer) = journal.as_deref_mut() else {
        return;
    };
    let written = match update {
        Update::Events(events) => writer.events(events),
        Update::Verdict { id, verdict } => {
            tracing::info!(command = %id, ?verdict, "verdict");
            writer.verdict(id, verdict)
        }
        // A server that starts the release afresh starts a new window: a
        // new file. (A replay seeking back resets too, but writes nothing.)
        Update::Reset => writer.start_again("the backend started the release afresh"),
        Update::Clock(_)
        | Update::Connection(_)
        | Update::Identity(_)
        | Update::Presence(_)
        | Update::Logs(_)
        | Update::Traffic(_)
        | Update::Undelivered { .. } => Ok(()),
    };
    if let Err(err) = written {
        tracing::error!("journal write failed: {err}");
        app.update(Msg::JournalFailed(err.to_string()));
    }
}

/// The next batch of the operator's own log lines; `None` when every
/// source has ended.
async fn next_lines(
    logs: &mut Option<tokio::sync::mpsc::Receiver<Vec<crate::model::LogLine>>>,
) -> Option<Vec<crate::model::LogLine>> {
    match logs {
        Some(logs) => logs.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs the console until the operator quits or a signal arrives.
pub async fn run(
    terminal: &mut Term,
    app: &mut App,
    mut backend: Handle,
    mut journal: Option<&mut Writer>,
    frame_cap: u32,
) -> io::Result<Ending> {
    let frame = Duration::from_secs_f64(1.0 / f64::from(frame_cap.clamp(1, 240)));
    let mut keys = EventStream::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let size = terminal.size()?;
    app.update(Msg::Resize {
        width: size.width,
        height: size.height,
    });
    draw(terminal, app)?;
    // A test hook: proves a panic mid-session still restores the terminal.
    if std::env::var_os("SHIPDECK_DEBUG_PANIC").is_some() {
        panic!("SHIPDECK_DEBUG_PANIC is set: panicking after the first frame, as asked");
    }
    let mut last_draw = Instant::now();
    let mut draw_at: Option<Instant> = None;
    let mut backend_open = true;
    loop {
        let mut effects = Vec::new();
        let mut urgent = false;
        tokio::select! {
            event = keys.next() => match event {
                Some(Ok(TermEvent::Key(key))) => {
                    effects = app.update(Msg::Key(key));
                    urgent = true;
                }
                Some(Ok(TermEvent::Resize(width, height))) => {
                    app.update(Msg::Resize { width, height });
                    urgent = true;
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err),
                None => return Ok(Ending::Quit),
            },
            update = backend.updates.recv(), if backend_open => match update {
                Some(update) => {
                    record(&mut journal, app, &update);
                    app.update(Msg::Backend(update));
                }
                None => {
                    backend_open = false;
                    app.update(Msg::BackendGone("the backend stopped".into()));
                    urgent = true;
                }
            },
            lines = next_lines(&mut backend.logs), if backend.logs.is_some() => match lines {
                Some(lines) => {
                    app.update(Msg::Backend(Update::Logs(lines)));
                }
                None => backend.logs = None,
            },
            _ = sleep_until(draw_at.unwrap_or_else(Instant::now)), if draw_at.is_some() => {
                draw_at = None;
            }
            _ = terminate.recv() => return Ok(Ending::Signal("SIGTERM", 143)),
            _ = hangup.recv() => return Ok(Ending::Signal("SIGHUP", 129)),
            _ = interrupt.recv() => return Ok(Ending::Signal("SIGINT", 130)),
        }
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(Ending::Quit),
                Effect::Send(command) => {
                    tracing::info!(
                        command = %command.id,
                        operator = %command.operator,
                        kind = command.action.name(),
                        "command sent"
                    );
                    // On the record first: a command that cannot be written
                    // down is not sent.
                    if let Some(writer) = journal.as_deref_mut()
                        && let Err(err) = writer.command(&command)
                    {
                        tracing::error!("journal write failed: {err}");
                        app.update(Msg::NotSent {
                            id: command.id.clone(),
                            reason: format!("the journal cannot be written ({err})"),
                        });
                        continue;
                    }
                    if backend.commands.send(command).is_err() {
                        tracing::warn!("the backend is gone; a command could not be sent");
                        app.update(Msg::BackendGone("the backend is not running".into()));
                    }
                }
                Effect::Replay(control) => {
                    if let Some(controls) = &backend.controls {
                        let _ = controls.send(control);
                    }
                }
            }
        }
        if !app.dirty {
            continue;
        }
        let now = Instant::now();
        if urgent || now >= last_draw + frame {
            draw(terminal, app)?;
            last_draw = now;
            draw_at = None;
        } else if draw_at.is_none() {
            draw_at = Some(last_draw + frame);
        }
    }
}
