//! Problems found in a file a user wrote, each at a line and column.

use serde_saphyr::{Location, MessageFormatter};

/// One thing wrong with a file, at a place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

impl Problem {
    pub fn at(location: &Location, message: impl Into<String>) -> Problem {
        Problem {
            line: location.line().max(1) as u32,
            column: location.column().max(1) as u32,
            message: message.into(),
        }
    }

    /// A problem the YAML reader found (syntax, unknown key, wrong type).
    pub fn from_yaml(err: &serde_saphyr::Error) -> Problem {
        let (line, column) = err
            .location()
            .map(|l| (l.line() as u32, l.column() as u32))
            .unwrap_or((1, 1));
        let message = serde_saphyr::UserMessageFormatter
            .format_message(err.without_snippet())
            .into_owned();
        // The reader names Rust types; a person wants to know what to write.
        let message = match message.as_str() {
            m if m.starts_with("invalid u") || m.starts_with("invalid i") => {
                "expected a whole number here".to_string()
            }
            m if m.starts_with("invalid f") => "expected a number here".to_string(),
            "expected string scalar" => "expected a plain value (text) here".to_string(),
            _ => message,
        };
        Problem {
            line: line.max(1),
            column: column.max(1),
            message,
        }
    }
}

/// Collects problems while a file is checked, so all are reported at once.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    pub fn problem(&mut self, at: &Location, message: impl Into<String>) {
        self.problems.push(Problem::at(at, message));
    }

    /// How many problems were found so far.
    pub fn len(&self) -> usize {
        self.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The checked value, or every problem found, in the order they appear.
    pub fn finish<T>(mut self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            self.problems.sort_by_key(|p| (p.line, p.column));
            Err(self.problems)
        }
    }
}

/// The largest file shipdeck reads as a scenario, config or theme: far more
/// than any real one, far less than would hurt.
pub const MAX_FILE: u64 = 4 * 1024 * 1024;
