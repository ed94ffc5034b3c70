//! `shipdeck events`: the event stream as JSON lines (and a journal).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use shipdeck::journal::Writer;
use shipdeck::model::Event;
use shipdeck::sim::Simulator;

use super::{RecordArgs, SimArgs, Speed, Start};

/// Exit status when the release cannot go on without a person.
pub const EXIT_WAITING: u8 = 3;

/// Options of `shipdeck events`.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub sim: SimArgs,

    #[command(flatten)]
    pub record: RecordArgs,
}

pub fn run(args: &EventsArgs) -> ExitCode {
    match stream(args) {
        Ok(code) | Err(code) => code,
    }
}

fn stream(args: &EventsArgs) -> Result<ExitCode, ExitCode> {
    let settings = super::settings(&args.record, Some(&args.sim), |_| {})?;
    let prepared = super::prepare(&settings, &args.sim, Speed::Factor(1.0), Start::Scenario)?;
    let mut journal = settings
        .journal_folder()
        .and_then(|dir| Writer::create(dir, &settings.operator.value, &prepared.label, "events"))
        .map_err(|err| {
            eprintln!(
                "shipdeck: cannot write the journal in {}: {err}",
                settings.journal_dir.value.display()
            );
            ExitCode::FAILURE
        })?;
    let mut sim = Simulator::new(prepared.scenario, prepared.options);
    let mut out = BufWriter::new(io::stdout().lock());
    let started = Instant::now();
    let origin = sim.origin();
    let mut emit =
        |events: &[Event], out: &mut BufWriter<io::StdoutLock>| -> Result<(), ExitCode> {
            journal.events(events).map_err(|err| {
                eprintln!("shipdeck: the journal cannot be written: {err}");
                ExitCode::FAILURE
            })?;
            // A reader that went away (`| head`) ends the stream quietly.
            write_events(out, events).map_err(|_| ExitCode::SUCCESS)
        };
    emit(&sim.start(), &mut out)?;
    while let Some(due) = sim.next_due() {
        if let Speed::Factor(speed) = prepared.speed {
            let virtual_secs = due.duration_since(origin).as_secs_f64().max(0.0);
            let target = started + Duration::from_secs_f64(virtual_secs / speed);
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
            eprintln!(
                "shipdeck: the release is waiting for people: {why}.\n\
                 Nothing more happens without them; run with --autopilot to play it unattended,\n\
                 or open the console to act yourself."
            );
            let _ = journal.close("waiting for people");
            return Ok(ExitCode::from(EXIT_WAITING));
        }
    }
    out.flush().map_err(|_| ExitCode::SUCCESS)?;
    let _ = journal.close("finished");
    if sim.is_finished() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("shipdeck: the simulation stopped before the release finished");
        Ok(ExitCode::FAILURE)
    }
}

fn write_events(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut *out, event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
