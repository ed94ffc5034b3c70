//! `shipdeck config`: the effective configuration and where each value came from.

use std::process::ExitCode;

use super::RecordArgs;

pub fn run(record: &RecordArgs) -> ExitCode {
    match super::settings(record, None, |_| {}) {
        Ok(settings) => {
            crate::out!("{}", settings.describe());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
