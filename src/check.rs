//! Validation of the files a user writes: scenarios, configs and themes.

use std::path::Path;

use crate::problem::Problem;
use crate::sim::scenario;

/// What a file is, judged from its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Scenario,
    Config,
    Theme,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Scenario => "scenario",
            FileKind::Config => "config",
            FileKind::Theme => "theme",
        })
    }
}

/// Tells a scenario (it has `release:` and `stages:`) from a theme (it has
/// `styles:`, or lives in a `themes` folder) from a config (anything else).
pub fn detect(path: &Path, text: &str) -> FileKind {
    let top_level = |key: &str| {
        text.lines().any(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
    };
    if top_level("release") || top_level("stages") {
        FileKind::Scenario
    } else if top_level("styles")
        || path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "themes")
    {
        FileKind::Theme
    } else {
        FileKind::Config
    }
}

/// Checks one file's text; returns its kind and every problem found.
pub fn check_text(path: &Path, text: &str) -> (FileKind, Vec<Problem>) {
    let kind = detect(path, text);
    let problems = match kind {
        FileKind::Scenario => scenario::parse(text).err().unwrap_or_default(),
        FileKind::Config => crate::config::parse(text).err().unwrap_or_default(),
        FileKind::Theme => crate::theme::parse(text).err().unwrap_or_default(),
    };
    (kind, problems)
}
