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

    fn problems(path: &str, text: &str) -> Vec<(u32, u32, String)> {
        check_text(Path::new(path), text)
            .1
            .into_iter()
            .map(|p| (p.line, p.column, p.message))
            .collect()
    }

    /// A file that does not read (an unknown key) is still told every
    /// number and duration no one would mean, beside the key.
    #[test]
    fn a_file_that_does_not_read_is_still_told_what_no_one_would_mean() {
        let text = "release: { service: s, from: v1, to: v2, deployer: carol, colour: red }\n\
                    strategy: { canary: { steps: [ { set_weight: 50 }, { set_weight: 20 }, { set_weight: 100 } ] } }\n\
                    stages: [ { id: rollout, kind: rollout } ]\n\
                    rules: [ { name: Always, condition: \"error_rate > -5%\", for: 500ms } ]\n\
                    metrics: { interval: 100ms }\n";
        let told = problems("scenario.yaml", text);
        let messages: Vec<&str> = told.iter().map(|(_, _, m)| m.as_str()).collect();
        assert_eq!(messages.len(), 5, "{told:?}");
        assert!(
            messages[0].starts_with("unknown field `colour`"),
            "{told:?}"
        );
        assert!(messages[1].starts_with("the canary weight goes down from 50% to 20%"));
        assert!(messages[2].starts_with("condition `error_rate > -5%` would fire at once"));
        assert!(messages[3].starts_with("`500ms` is under a second"));
        assert!(messages[4].starts_with("`100ms` is under a second"));
    }

    /// What an operator's file with eight typos is told, in one run: each
    /// at its line and column, the syntax error last, and nothing else.
    #[test]
    fn a_scenario_with_eight_typos_is_told_all_eight_in_one_run() {
        let text = include_str!("../../../fixtures/broken/eight-typos.yaml");
        let found = problems("eight-typos.yaml", text);
        let expected: [(u32, u32, &str); 8] = [
            (7, 3, "unknown field `deployr`: did you mean `deployer`?"),
            (12, 16, "`5 minuets` is not a duration"),
            (13, 21, "a canary weight of 140 is out of range"),
            (16, 24, "unknown value `biuld`: did you mean `build`?"),
            (22, 15, "expected a whole number here"),
            (
                24,
                5,
                "unknown field `self_aproval`: did you mean `self_approval`?",
            ),
            (26, 36, "unknown series `eror_rate`"),
            (32, 3, "did not find expected '-' indicator"),
        ];
        assert_eq!(found.len(), 8, "{found:#?}");
        for ((line, column, message), (l, c, m)) in found.iter().zip(expected) {
            assert_eq!((*line, *column), (l, c), "{message}");
            assert!(message.contains(m), "{line}:{column}: {message}");
        }
    }

    /// A syntax error ends the reading where it is: what comes before is
    /// still checked, and nothing is said that the unread rest could answer
    /// (the gate the stages name is defined after the error).
    #[test]
    fn after_a_syntax_error_what_came_before_is_checked_and_nothing_the_rest_could_answer() {
        let text = "\
release: { service: a, from: v1, to: v2, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 150 }, { set_weight: 100 } ]
stages:
  - { id: approval, kind: approval, gate: production }
  - { id: rollout, kind: rollout, colour: red }
  - { id: broken, kind: [ }
gates:
  - { id: production, name: Production, approvers: any }
";
        let found = problems("cut.yaml", text);
        let lines: Vec<u32> = found.iter().map(|p| p.0).collect();
        assert_eq!(lines, [4, 7, 8], "{found:#?}");
        assert!(found[0].2.contains("150 is out of range"), "{found:#?}");
        assert!(found[1].2.contains("unknown field `colour`"), "{found:#?}");
        assert!(
            !found.iter().any(|p| p.2.contains("production")),
            "the gate is defined after the error: {found:#?}"
        );
    }

    #[test]
    fn a_config_and_a_theme_are_told_every_problem_too() {
        let config = "\
operator: dave
themes: dark
log_ring: many
frame_cap: 500
keys:
  rollbak: R
";
        let found = problems("config.yaml", config);
        let at: Vec<(u32, u32)> = found.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(at, [(2, 1), (3, 11), (4, 12), (6, 12)], "{found:#?}");
        assert!(
            found[0]
                .2
                .starts_with("unknown field `themes`: did you mean `theme`?")
        );
        assert_eq!(found[1].2, "expected a whole number here");
        let theme = "\
name: mine
colours: {}
styles:
  header: { fg: \"#12345\", bolt: true }
  hedaer: { fg: red }
  base: { fg: [ }
";
        let found = problems("themes/mine.yaml", theme);
        let at: Vec<(u32, u32)> = found.iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(
            at,
            [(2, 1), (4, 17), (4, 27), (5, 11), (6, 15)],
            "{found:#?}"
        );
        assert!(found[2].2.contains("did you mean `bold`?"), "{found:#?}");
    }

    /// A key left out is said once, where its map is; a misspelt one is
    /// not said twice (misspelt, then missing).
    #[test]
    fn a_missing_key_is_told_at_its_map_and_a_misspelt_one_only_once() {
        let text = "\
release: { service: a, from: v1 }
strategy: { canary: { steps: [ { set_weight: 100 } ] } }
stages:
  - { id: rollout, kind: rollout }
  - { idd: verify, kind: verification }
";
        let found = problems("missing.yaml", text);
        let told: Vec<_> = found.iter().map(|p| (p.0, p.1, p.2.as_str())).collect();
        assert_eq!(
            told,
            [
                (1, 10, "missing field `to`"),
                (1, 10, "missing field `deployer`"),
                (5, 7, "unknown field `idd`: did you mean `id`?"),
            ],
            "{found:#?}"
        );
    }

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
