//! The configuration file's shape and its checks.
//!
//! `$XDG_CONFIG_HOME/shipdeck/config.yaml` holds the operator's identity, the
//! backend, the theme, key rebindings by action name, limits and rules.
//! Every key is optional: a file names only what it changes.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::model::Rule;
use crate::problem::{Checker, Problem};
use crate::sim::scenario::{RawRule, convert_rules};

type S<T> = Spanned<T>;

/// The configuration file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Who this operator is (what the engine sees and the journal records).
    #[serde(default)]
    pub operator: Option<S<String>>,
    #[serde(default)]
    pub backend: Option<BackendFile>,
    /// A bundled theme's name or a theme file's path.
    #[serde(default)]
    pub theme: Option<S<String>>,
    /// Key rebindings: action name → key (`a`, `R`, `ctrl+s`, `space`, `f1`).
    #[serde(default)]
    pub keys: BTreeMap<String, S<String>>,
    /// Log lines kept in memory.
    #[serde(default)]
    pub log_ring: Option<S<u64>>,
    /// The most frames drawn per second for data-driven redraws.
    #[serde(default)]
    pub frame_cap: Option<S<u32>>,
    /// Where journals are written.
    #[serde(default)]
    pub journal_dir: Option<String>,
    /// Rules that replace the runbook's defaults.
    #[serde(default)]
    pub rules: Option<Vec<RawRule>>,
}

/// A backend: a pipeline source plus optional metrics and log sources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendFile {
    pub pipeline: S<PipelineSource>,
    #[serde(default)]
    pub metrics: Option<MetricsSource>,
    #[serde(default)]
    pub logs: Option<LogSource>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PipelineSource {
    /// The embedded simulator.
    Sim {
        #[serde(default)]
        scenario: Option<String>,
        #[serde(default)]
        speed: Option<f64>,
        #[serde(default)]
        seed: Option<u64>,
        #[serde(default)]
        autopilot: Option<bool>,
    },
    /// A server speaking shipdeck's HTTP contract.
    Http {
        url: String,
        #[serde(default)]
        release: Option<String>,
        /// A file holding the bearer token (never the token itself).
        #[serde(default)]
        token_file: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MetricsSource {
    Prometheus {
        url: String,
        #[serde(default)]
        token_file: Option<String>,
        #[serde(default)]
        step: Option<String>,
        #[serde(default)]
        range: Option<String>,
        /// PromQL per series and cohort: `error_rate: {canary: ..., stable: ...}`.
        #[serde(default)]
        queries: BTreeMap<String, BTreeMap<String, String>>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LogSource {
    /// A command's output, run without a shell.
    Command { argv: Vec<String> },
    /// A file followed like `tail -F`.
    File { path: String },
}

/// Actions a key can be bound to, as named in the key map.
pub const ACTIONS: &[&str] = &[
    "help",
    "quit",
    "next_pane",
    "prev_pane",
    "up",
    "down",
    "page_up",
    "page_down",
    "top",
    "bottom",
    "advance",
    "promote",
    "pause",
    "sign_off",
    "reject",
    "rollback",
    "retry",
    "tick",
    "filter",
    "follow",
    "level",
];

/// The keys each action has until a config rebinds it.
pub const DEFAULT_KEYS: &[(&str, &[&str])] = &[
    ("help", &["?"]),
    ("quit", &["q"]),
    ("next_pane", &["tab"]),
    ("prev_pane", &["backtab"]),
    ("up", &["up", "k"]),
    ("down", &["down", "j"]),
    ("page_up", &["pgup"]),
    ("page_down", &["pgdn"]),
    ("top", &["g", "home"]),
    ("bottom", &["G", "end"]),
    ("advance", &["a"]),
    ("promote", &["F"]),
    ("pause", &["p"]),
    ("sign_off", &["s"]),
    ("reject", &["x"]),
    ("rollback", &["R"]),
    ("retry", &["r"]),
    ("tick", &["space"]),
    ("filter", &["/"]),
    ("follow", &["f"]),
    ("level", &["l"]),
];

/// One spelling per key, for comparing: `Ctrl+S` and `ctrl+s` are one key,
/// `R` and `r` are two.
fn normal_key(spec: &str) -> String {
    let spec = spec.trim();
    if spec.chars().count() == 1 {
        return if spec == " " {
            "space".into()
        } else {
            spec.to_string()
        };
    }
    spec.to_lowercase()
}

const NAMED_KEYS: &[&str] = &[
    "enter",
    "esc",
    "tab",
    "backtab",
    "space",
    "backspace",
    "delete",
    "insert",
    "up",
    "down",
    "left",
    "right",
    "pgup",
    "pgdn",
    "home",
    "end",
];

/// Checks a key as written in the config: `a`, `R`, `?`, `ctrl+s`, `f5`.
pub fn check_key(spec: &str) -> Result<(), String> {
    let mut parts: Vec<&str> = spec.split('+').collect();
    // `+` itself, or `ctrl++`.
    if spec.ends_with("++") || spec == "+" {
        parts.truncate(parts.len().saturating_sub(2));
        parts.push("+");
    }
    let Some((key, modifiers)) = parts.split_last() else {
        return Err("a key binding is empty".into());
    };
    for m in modifiers {
        if !matches!(m.to_ascii_lowercase().as_str(), "ctrl" | "alt" | "shift") {
            return Err(format!(
                "`{m}` in `{spec}` is not a modifier (ctrl, alt, shift)"
            ));
        }
    }
    let lower = key.to_ascii_lowercase();
    let function_key = lower
        .strip_prefix('f')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=12).contains(&n));
    if key.chars().count() == 1 || NAMED_KEYS.contains(&lower.as_str()) || function_key {
        Ok(())
    } else {
        Err(format!(
            "`{spec}` is not a key: use one character, f1-f12, or one of {}",
            NAMED_KEYS.join(", ")
        ))
    }
}

/// A checked configuration file.
#[derive(Debug)]
pub struct Checked {
    pub file: ConfigFile,
    pub rules: Option<Vec<Rule>>,
}

/// Parses and checks a configuration file's text.
pub fn parse(text: &str) -> Result<Checked, Vec<Problem>> {
    // An empty file (or one of comments only) is a valid, empty config.
    let file: ConfigFile = if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        ConfigFile::default()
    } else {
        serde_saphyr::from_str(text).map_err(|e| vec![Problem::from_yaml(&e)])?
    };
    let mut c = Checker::default();
    if let Some(op) = &file.operator
        && op.value.trim().is_empty()
    {
        c.problem(&op.referenced, "the operator's name is empty");
    }
    for (action, key) in &file.keys {
        if !ACTIONS.contains(&action.as_str()) {
            c.problem(
                &key.referenced,
                format!(
                    "`{action}` is not an action (actions: {})",
                    ACTIONS.join(", ")
                ),
            );
        } else if let Err(message) = check_key(&key.value) {
            c.problem(&key.referenced, message);
        }
    }
    for (action, key) in &file.keys {
        if !ACTIONS.contains(&action.as_str()) {
            continue; // reported above
        }
        let wanted = normal_key(&key.value);
        if wanted == "ctrl+c" {
            c.problem(&key.referenced, "Ctrl+C always quits; bind another key");
            continue;
        }
        // Taking another action's key would leave that action without one.
        for (other, defaults) in DEFAULT_KEYS {
            let taken = defaults.iter().any(|d| normal_key(d) == wanted);
            if *other != action && taken && !file.keys.contains_key(*other) {
                c.problem(
                    &key.referenced,
                    format!(
                        "`{}` is {other}'s key; rebind {other} too, or choose another key",
                        key.value
                    ),
                );
            }
        }
    }
    let mut bound: BTreeMap<String, &str> = BTreeMap::new();
    for (action, key) in &file.keys {
        if let Some(other) = bound.insert(normal_key(&key.value), action.as_str()) {
            c.problem(
                &key.referenced,
                format!("`{}` is bound to both {other} and {action}", key.value),
            );
        }
    }
    if let Some(ring) = &file.log_ring
        && ring.value == 0
    {
        c.problem(&ring.referenced, "log_ring must keep at least one line");
    }
    if let Some(cap) = &file.frame_cap
        && !(1..=240).contains(&cap.value)
    {
        c.problem(
            &cap.referenced,
            "frame_cap is frames per second, from 1 to 240",
        );
    }
    if let Some(theme) = &file.theme {
        let name = theme.value.as_str();
        if !crate::theme::BUNDLED.iter().any(|(n, _)| *n == name)
            && !std::path::Path::new(name).is_file()
        {
            let names: Vec<&str> = crate::theme::BUNDLED.iter().map(|(n, _)| *n).collect();
            c.problem(
                &theme.referenced,
                format!(
                    "no theme named \"{name}\" and no such file (bundled: {})",
                    names.join(", ")
                ),
            );
        }
    }
    if let Some(backend) = &file.backend
        && let PipelineSource::Sim {
            scenario, speed, ..
        } = &backend.pipeline.value
    {
        let at = &backend.pipeline.referenced;
        if let Some(speed) = speed
            && !(0.01..=1_000_000.0).contains(speed)
        {
            c.problem(
                at,
                format!("speed {speed} is out of range: from 0.01 to 1000000"),
            );
        }
        if let Some(name) = scenario
            && crate::sim::bundled::get(name).is_none()
            && !std::path::Path::new(name).is_file()
        {
            let names: Vec<&str> = crate::sim::bundled::names().collect();
            c.problem(
                at,
                format!(
                    "no scenario named \"{name}\" and no such file (bundled: {})",
                    names.join(", ")
                ),
            );
        }
    }
    let rules = file.rules.as_deref().map(|raw| convert_rules(raw, &mut c));
    c.finish(Checked { file, rules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_people_write_them() {
        for ok in [
            "a",
            "R",
            "?",
            "ctrl+s",
            "Ctrl+Shift+x",
            "space",
            "f5",
            "pgdn",
            "+",
        ] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in ["hyper+a", "f13", "spacebar", ""] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_partial_config_names_only_what_it_changes() {
        let checked = parse("operator: dave\nkeys:\n  rollback: ctrl+r\n").unwrap();
        assert_eq!(checked.file.operator.unwrap().value, "dave");
        assert!(checked.file.backend.is_none());
        assert!(parse("# nothing yet\n").is_ok());
    }

    #[test]
    fn bad_configs_point_at_the_problem() {
        let problems =
            parse("keys:\n  rollbak: R\n  advance: hyper+a\nframe_cap: 0\n").unwrap_err();
        let lines: Vec<(u32, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].1.starts_with("`rollbak` is not an action"),
            "{lines:?}"
        );
        assert!(lines[1].1.contains("not a modifier"), "{lines:?}");
        assert_eq!(lines[2].0, 4);
        let problems = parse("keys:\n  rollback: s\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "`s` is sign_off's key; rebind sign_off too, or choose another key"
        );
        assert!(
            parse("keys:\n  rollback: s\n  sign_off: S\n").is_ok(),
            "a whole swap is fine"
        );
        assert!(parse("keys:\n  help: ctrl+c\n").is_err());
        let problems = parse("keys:\n  advance: n\n  rollback: n\n").unwrap_err();
        assert_eq!(
            problems[0].message,
            "`n` is bound to both advance and rollback"
        );
        let problems = parse("backend:\n  pipeline: { kind: ftp, url: x }\n").unwrap_err();
        assert!(problems[0].message.contains("ftp"), "{problems:?}");
        let problems = parse(
            "theme: purple\nbackend:\n  pipeline: { kind: sim, scenario: nope, speed: -5 }\n",
        )
        .unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems[0].line, 1);
        assert!(
            messages[0].starts_with("no theme named \"purple\""),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("speed -5 is out of range")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("no scenario named \"nope\"")),
            "{messages:?}"
        );
    }
}
