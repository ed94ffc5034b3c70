//! Validation of the files a user writes: scenarios, configs and themes.

use std::collections::BTreeMap;
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

/// Tells a scenario (it has `release`, `stages` or `strategy`) from a theme
/// (it has `styles`, or lives in a `themes` folder) from a config (anything
/// else), by the file's top-level keys.
pub fn detect(path: &Path, text: &str) -> FileKind {
    let keys: Vec<String> =
        match serde_saphyr::from_str::<BTreeMap<String, serde::de::IgnoredAny>>(text) {
            Ok(map) => map.into_keys().collect(),
            // Unreadable YAML: guess from lines that start a top-level key.
            Err(_) => text
                .lines()
                .filter_map(|l| l.split_once(':').map(|(k, _)| k))
                .filter(|k| !k.starts_with([' ', '\t', '#', '-']))
                .map(str::to_string)
                .collect(),
        };
    let has = |key: &str| keys.iter().any(|k| k == key);
    if has("release") || has("stages") || has("strategy") {
        FileKind::Scenario
    } else if has("styles")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_told_apart_by_their_keys() {
        let p = Path::new("x.yaml");
        assert_eq!(
            detect(p, "{release: {service: a}, stages: []}"),
            FileKind::Scenario
        );
        assert_eq!(detect(p, "strategy:\n  canary: {}\n"), FileKind::Scenario);
        assert_eq!(detect(p, "name: x\nstyles: {}\n"), FileKind::Theme);
        assert_eq!(
            detect(Path::new("themes/mine.yaml"), "name: x\n"),
            FileKind::Theme
        );
        assert_eq!(detect(p, "operator: dave\n"), FileKind::Config);
        assert_eq!(detect(p, "release:\n  from: [v1\n"), FileKind::Scenario);
    }
}
