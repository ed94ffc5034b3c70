//! The console (the next milestone); until it lands, say so plainly.

use std::process::ExitCode;

use super::SimArgs;

pub fn run(args: &SimArgs) -> ExitCode {
    if let Err(code) = super::load_scenario(&args.scenario) {
        return code;
    }
    eprintln!(
        "shipdeck: the interactive console is not built yet.\n\
         Meanwhile, watch the same release as JSON lines:\n\n  \
         shipdeck events --scenario {} --speed 60 --autopilot\n\n\
         See `shipdeck --help` for everything that works today.",
        args.scenario
    );
    ExitCode::from(1)
}
