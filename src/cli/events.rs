//! `shipdeck events`: the event stream as JSON lines.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use shipdeck::model::Event;
use shipdeck::sim::Simulator;

use super::{SimArgs, Speed};

/// Exit status when the release cannot go on without a person.
pub const EXIT_WAITING: u8 = 3;

pub fn run(args: &SimArgs) -> ExitCode {
    let scenario = match super::load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut sim = Simulator::new(scenario, args.options(super::Start::Scenario));
    let speed = args.speed.unwrap_or(Speed::Factor(1.0));
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let started = Instant::now();
    let origin = sim.origin();
    let first = sim.start();
    if write_events(&mut out, &first).is_err() {
        return ExitCode::SUCCESS; // the reader went away (`| head`): nothing to report
    }
    while let Some(due) = sim.next_due() {
        if let Speed::Factor(speed) = speed {
            let virtual_secs = due.duration_since(origin).as_secs_f64().max(0.0);
            let target = started + Duration::from_secs_f64(virtual_secs / speed);
            let now = Instant::now();
            if target > now {
                if out.flush().is_err() {
                    return ExitCode::SUCCESS;
                }
                std::thread::sleep(target - now);
            }
        }
        let events = sim.advance_to(due);
        if write_events(&mut out, &events).is_err() {
            return ExitCode::SUCCESS;
        }
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
            return ExitCode::from(EXIT_WAITING);
        }
    }
    if out.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    if sim.is_finished() {
        ExitCode::SUCCESS
    } else {
        eprintln!("shipdeck: the simulation stopped before the release finished");
        ExitCode::FAILURE
    }
}

fn write_events(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut *out, event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
