//! `shipdeck events`: the event stream as JSON lines (and a journal).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use crate::model::text::{Clean, json_safe};
use crate::model::{Event, EventKind};
use crate::sim::Simulator;
use clap::Args;

use super::remote::RemoteArgs;
use super::{RecordArgs, SimArgs, Speed, Start};
use crate::backend::{Connection, Update};

/// Exit status when the release cannot go on without a person.
pub const EXIT_WAITING: u8 = 3;

/// Options of `shipdeck events`.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub sim: SimArgs,

    #[command(flatten)]
    pub record: RecordArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,

    #[command(flatten)]
    pub argo: super::argo::RolloutArgs,

    #[command(flatten)]
    pub github: super::github::GithubArgs,
}

pub fn run(args: &EventsArgs) -> ExitCode {
    match stream(args) {
        Ok(code) | Err(code) => code,
    }
}

fn stream(args: &EventsArgs) -> Result<ExitCode, ExitCode> {
    args.argo.stray()?;
    args.github.stray()?;
    let mut settings = super::settings(&args.record, Some(&args.sim), |flags| {
        args.remote.apply(flags);
        args.argo.apply(flags);
        args.github.apply(flags);
    })?;
    if let Some(rollout) = settings.rollout.clone() {
        super::remote::one_backend(&settings)?;
        super::remote::no_sim_flags(&args.sim, &settings)?;
        return super::argo::events(&settings, &rollout);
    }
    if let Some(github) = settings.github.clone() {
        super::remote::one_backend(&settings)?;
        super::remote::no_sim_flags(&args.sim, &settings)?;
        return super::github::events(&settings, &github);
    }
    if settings.remote.is_some() {
        super::remote::no_sim_flags(&args.sim, &settings)?;
        return follow(&settings);
    }
    if let Some(metrics) = settings.metrics.take() {
        crate::errln!(
            "shipdeck: note: events plays the simulator's own metrics; the metrics source (from {}) is read by the console and by serve",
            Clean(&metrics.source)
        );
    }
    let prepared = super::prepare(&settings, &args.sim, Speed::Factor(1.0), Start::Scenario)?;
    let mut journal = super::create_journal(
        &settings,
        &settings.operator.value,
        &prepared.label,
        "events",
    )?;
    let mut sim = Simulator::new(prepared.scenario, prepared.options);
    let mut out = BufWriter::new(io::stdout().lock());
    let started = Instant::now();
    let origin = sim.origin();
    let mut emit =
        |events: &[Event], out: &mut BufWriter<io::StdoutLock>| -> Result<(), ExitCode> {
            journal.events(events).map_err(|err| {
                crate::errln!("shipdeck: the journal cannot be written: {err}");
                ExitCode::FAILURE
            })?;
            // A reader that went away (`| head`) ends the stream quietly.
            write_events(out, events).map_err(|_| ExitCode::SUCCESS)
        };
    emit(&sim.start(), &mut out)?;
    while let Some(due) = sim.next_due() {
        if let Speed::Factor(speed) = prepared.speed {
            let virtual_secs = due.duration_since(origin).as_secs_f64();
            let target = started + crate::backend::clock::real_wait(virtual_secs / speed);
            let now = Instant::now();
            if target > now {
                out.flush().map_err(|_| ExitCode::SUCCESS)?;
                std::thread::sleep(target - now);
            }
        }
        let events = sim.advance_to(due);
        emit(&events, &mut out)?;
        if sim.stalled() {
            let _ = out.flush();
            let why = sim
                .release()
                .waiting_for()
                .unwrap_or_else(|| "an operator".to_string());
            crate::errln!(
                "shipdeck: the release is waiting for people: {}.\n\
                 Nothing more happens without them; run with --autopilot to play it unattended,\n\
                 or open the console to act yourself.",
                Clean(&why)
            );
            let _ = journal.close("waiting for people");
            return Ok(ExitCode::from(EXIT_WAITING));
        }
    }
    out.flush().map_err(|_| ExitCode::SUCCESS)?;
    if let Some(why) = sim.halted() {
        crate::errln!("shipdeck: the simulator stopped before the release finished: {why}");
        let _ = journal.close("the simulator stopped");
        return Ok(ExitCode::FAILURE);
    }
    let _ = journal.close("finished");
    if sim.is_finished() {
        Ok(ExitCode::SUCCESS)
    } else {
        crate::errln!("shipdeck: the simulation stopped before the release finished");
        Ok(ExitCode::FAILURE)
    }
}

/// Each event as a line of JSON: its data as the backend gave it, every
/// character a terminal would act on written as an escape.
pub(super) fn write_events(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    for event in events {
        let line = serde_json::to_string(event)?;
        out.write_all(json_safe(&line).as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// `events --backend`: a server's release as JSON lines, until it finishes.
/// The stream is resumed after its last seq whenever it breaks.
fn follow(settings: &crate::settings::Settings) -> Result<ExitCode, ExitCode> {
    let Some((remote, configured)) = super::remote::connect(settings)? else {
        return Err(ExitCode::FAILURE);
    };
    let wanted = configured.release.as_ref().map(|r| r.value.clone());
    let runtime = super::remote::runtime()?;
    let release = runtime
        .block_on(remote.pick_release(wanted.as_deref()))
        .map_err(|err| super::remote::failed(&err))?
        .id;
    let label = format!("http:{} {release}", remote.address());
    // The server says who this is; the journal keeps its word.
    let operator = runtime
        .block_on(remote.identity())
        .ok()
        .flatten()
        .unwrap_or_else(|| settings.operator.value.clone());
    let mut journal = super::create_journal(settings, &operator, &label, "events")?;
    let outcome = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let follower = tokio::spawn(async move { remote.follow(&release, tx).await });
        let mut out = BufWriter::new(io::stdout().lock());
        let mut lost = false;
        let ending = loop {
            let Some(update) = rx.recv().await else {
                break Err(ExitCode::FAILURE);
            };
            match update {
                Update::Events(events) => {
                    if let Err(err) = journal.events(&events) {
                        crate::errln!("shipdeck: the journal cannot be written: {err}");
                        break Err(ExitCode::FAILURE);
                    }
                    if write_events(&mut out, &events)
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        break Ok(ExitCode::SUCCESS);
                    }
                    if events
                        .iter()
                        .any(|e| matches!(e.kind, EventKind::ReleaseFinished { .. }))
                    {
                        break Ok(ExitCode::SUCCESS);
                    }
                }
                Update::Connection(Connection::Lost(why)) if !lost => {
                    lost = true;
                    crate::errln!("shipdeck: the stream is down: {}", Clean(&why));
                    let reason = why.split(" · ").next().unwrap_or(&why);
                    if let Err(err) = journal.link_lost(reason) {
                        crate::errln!("shipdeck: the journal cannot be written: {err}");
                        break Err(ExitCode::FAILURE);
                    }
                }
                Update::Connection(Connection::Live) if lost => {
                    lost = false;
                    crate::errln!("shipdeck: the stream is back; going on from the last event");
                    if let Err(err) = journal.link_back(&[]) {
                        crate::errln!("shipdeck: the journal cannot be written: {err}");
                        break Err(ExitCode::FAILURE);
                    }
                }
                Update::Identity(operator) => {
                    if let Err(err) = journal.operator_is(&operator) {
                        crate::errln!("shipdeck: the journal cannot be written: {err}");
                        break Err(ExitCode::FAILURE);
                    }
                }
                Update::Reset => {
                    crate::errln!(
                        "shipdeck: the server started the release afresh; its events follow from seq 1"
                    );
                    // The old window's file says the server came back.
                    let back = if lost { journal.link_back(&[]) } else { Ok(()) };
                    lost = false;
                    let again = back
                        .and_then(|()| journal.start_again("the server started the release afresh"));
                    if let Err(err) = again {
                        crate::errln!("shipdeck: the journal cannot be written: {err}");
                        break Err(ExitCode::FAILURE);
                    }
                }
                _ => {}
            }
        };
        follower.abort();
        ending
    });
    let _ = journal.close(match outcome {
        Ok(_) => "finished",
        Err(_) => "stopped",
    });
    outcome
}

/// What `events` says of a backend's new window and of its coming back.
pub(super) struct Words {
    pub new_window: &'static str,
    pub back: &'static str,
}

/// `events` on a backend other than the simulator (a Rollout, a GitHub
/// run): its events as JSON lines, journaled, until the release finishes.
pub(super) fn follow_handle(
    settings: &crate::settings::Settings,
    label: &str,
    runtime: tokio::runtime::Runtime,
    words: Words,
    spawn: impl FnOnce(String) -> crate::backend::Handle,
) -> Result<ExitCode, ExitCode> {
    use crate::backend::{Connection, Update};
    let operator = settings.operator.value.clone();
    let mut journal = super::create_journal(settings, &operator, label, "events")?;
    let ending = runtime.block_on(async {
        let mut handle = spawn(label.to_string());
        let mut out = BufWriter::new(io::stdout().lock());
        let mut lost = false;
        loop {
            let Some(update) = handle.updates.recv().await else {
                return Err(ExitCode::FAILURE);
            };
            let written = match &update {
                Update::Events(events) => journal.events(events),
                Update::Reset => journal.start_again(words.new_window),
                Update::Identity(operator) => journal.operator_is(operator),
                Update::Connection(Connection::Lost(why)) if !lost => {
                    lost = true;
                    crate::errln!("shipdeck: {}", Clean(why));
                    journal.link_lost(why.split(" · ").next().unwrap_or(why))
                }
                Update::Connection(Connection::Live) if lost => {
                    lost = false;
                    crate::errln!("shipdeck: {}", words.back);
                    journal.link_back(&[])
                }
                _ => Ok(()),
            };
            if let Err(err) = written {
                crate::errln!("shipdeck: the journal cannot be written: {err}");
                return Err(ExitCode::FAILURE);
            }
            if let Update::Events(events) = update {
                if write_events(&mut out, &events)
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return Ok(ExitCode::SUCCESS);
                }
                if events
                    .iter()
                    .any(|e| matches!(e.kind, crate::model::EventKind::ReleaseFinished { .. }))
                {
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    });
    runtime.shutdown_background();
    let _ = journal.close(match ending {
        Ok(_) => "finished",
        Err(_) => "stopped",
    });
    ending
}
