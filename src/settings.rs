//! The effective settings: flags over `SHIPDECK_*` environment over the
//! config file over defaults, each value with where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{self, PipelineSource};
use crate::model::{DEFAULT_LOG_CAPACITY, Rule};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Env(var) => write!(f, "${var}"),
            Source::Flag(flag) => write!(f, "{flag}"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Setting<T> {
        Setting { value, source }
    }
}

/// What the command line said (`None`: not given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub config: Option<PathBuf>,
    pub operator: Option<String>,
    pub theme: Option<String>,
    pub frame_cap: Option<u32>,
    pub log_ring: Option<usize>,
    pub journal_dir: Option<PathBuf>,
    pub scenario: Option<String>,
    pub seed: Option<u64>,
    pub speed: Option<String>,
    pub autopilot: bool,
    pub backend: Option<String>,
    pub release: Option<String>,
    pub token_file: Option<PathBuf>,
}

/// A log source named in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfiguredLogs {
    Command(Vec<String>),
    File(PathBuf),
}

/// A server speaking the HTTP contract, when one is the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSettings {
    pub url: Setting<String>,
    pub release: Option<Setting<String>>,
    /// Where the bearer token is read from, when not `$SHIPDECK_TOKEN`.
    pub token_file: Option<Setting<PathBuf>>,
}

/// The simulator's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSettings {
    pub scenario: Setting<String>,
    pub seed: Setting<u64>,
    /// As written (`10`, `max`); the command line parses it.
    pub speed: Option<Setting<String>>,
    pub autopilot: Setting<bool>,
}

/// Everything shipdeck runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file read, if any, and how it was chosen.
    pub config_file: Option<Setting<PathBuf>>,
    /// Where a config file would be looked for by default.
    pub default_config: Option<PathBuf>,
    pub operator: Setting<String>,
    /// `None`: the production skin for production releases, else the default.
    pub theme: Setting<Option<String>>,
    /// Rebindings by action name; unnamed actions keep their defaults.
    pub keys: BTreeMap<String, Setting<String>>,
    pub log_ring: Setting<usize>,
    pub frame_cap: Setting<u32>,
    pub journal_dir: Setting<PathBuf>,
    /// Rules that replace the runbook's where a scenario names none.
    pub rules: Option<Setting<Vec<Rule>>>,
    pub sim: SimSettings,
    /// `None`: the embedded simulator is the backend.
    pub remote: Option<RemoteSettings>,
    /// The config's log source (flags `--logs`/`--logs-cmd` replace it).
    pub logs: Option<Setting<ConfiguredLogs>>,
    /// Where the release's metrics come from, when not the pipeline.
    pub metrics: Option<Setting<crate::config::PrometheusSource>>,
}

/// Why settings could not be resolved.
#[derive(Debug)]
pub enum SettingsError {
    /// The config file could not be read.
    Unreadable(PathBuf, std::io::Error),
    /// The config file has problems: `path:line:col: message` each.
    Invalid(Vec<String>),
    /// An environment variable holds something unusable.
    BadEnv(String),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::Unreadable(path, err) => {
                write!(f, "cannot read the config file {}: {err}", path.display())
            }
            SettingsError::Invalid(lines) => f.write_str(&lines.join("\n")),
            SettingsError::BadEnv(message) => f.write_str(message),
        }
    }
}

/// XDG folders for shipdeck, if the system has a home.
fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "shipdeck")
}

/// The login name: `$USER`, `$LOGNAME`, or the name of the account this
/// process runs as, as the system's user database knows it.
fn login_name(env: &dyn Fn(&str) -> Option<String>) -> String {
    let named = |var| env(var).filter(|n: &String| !n.trim().is_empty());
    named("USER")
        .or_else(|| named("LOGNAME"))
        .or_else(|| whoami::username().ok())
        .unwrap_or_else(|| "operator".to_string())
}

fn parse_env<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    ok: impl Fn(&T) -> bool,
    what: &str,
) -> Result<Option<T>, SettingsError> {
    match env(var) {
        None => Ok(None),
        Some(text) => match text.trim().parse::<T>() {
            Ok(v) if ok(&v) => Ok(Some(v)),
            _ => Err(SettingsError::BadEnv(format!(
                "${var}={text:?} is not {what}"
            ))),
        },
    }
}

/// Resolves the settings. `env` reads an environment variable (injected so
/// tests need not touch the process's environment).
pub fn resolve(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, SettingsError> {
    // An empty variable is an unset one.
    let env = |var: &str| env(var).filter(|v| !v.trim().is_empty());
    let env: &dyn Fn(&str) -> Option<String> = &env;
    if flags
        .operator
        .as_deref()
        .is_some_and(|o| o.trim().is_empty())
    {
        return Err(SettingsError::BadEnv("--operator needs a name".into()));
    }
    let default_config = dirs().map(|d| d.config_dir().join("config.yaml"));
    let config_file = match (&flags.config, env("SHIPDECK_CONFIG")) {
        (Some(path), _) => Some(Setting::new(path.clone(), Source::Flag("--config"))),
        (None, Some(path)) => Some(Setting::new(
            PathBuf::from(path),
            Source::Env("SHIPDECK_CONFIG"),
        )),
        (None, None) => default_config
            .as_ref()
            .filter(|p| p.is_file())
            .map(|p| Setting::new(p.clone(), Source::Default)),
    };
    let (file, checked_rules, checked_metrics) = match &config_file {
        None => (config::ConfigFile::default(), None, None),
        Some(setting) => {
            let path = &setting.value;
            let text = crate::files::read_text(path)
                .map_err(|e| SettingsError::Unreadable(path.clone(), e))?;
            let checked = config::parse(&text).map_err(|problems| {
                SettingsError::Invalid(
                    problems
                        .iter()
                        .map(|p| {
                            format!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message)
                        })
                        .collect(),
                )
            })?;
            (checked.file, checked.rules, checked.metrics)
        }
    };
    let from_file = || match &config_file {
        Some(s) => Source::File(s.value.clone()),
        None => Source::Default,
    };

    let operator = match (&flags.operator, env("SHIPDECK_OPERATOR"), &file.operator) {
        (Some(name), _, _) => Setting::new(name.clone(), Source::Flag("--operator")),
        (None, Some(name), _) if !name.trim().is_empty() => {
            Setting::new(name, Source::Env("SHIPDECK_OPERATOR"))
        }
        (None, _, Some(name)) => Setting::new(name.value.clone(), from_file()),
        _ => Setting::new(login_name(env), Source::Default),
    };
    let operator = Setting::new(operator.value.trim().to_string(), operator.source);

    let theme = match (&flags.theme, env("SHIPDECK_THEME"), &file.theme) {
        (Some(t), _, _) => Setting::new(Some(t.clone()), Source::Flag("--theme")),
        (None, Some(t), _) => Setting::new(Some(t), Source::Env("SHIPDECK_THEME")),
        (None, None, Some(t)) => Setting::new(Some(t.value.clone()), from_file()),
        _ => Setting::new(None, Source::Default),
    };

    if let Some(name) = &theme.value
        && !crate::theme::BUNDLED.iter().any(|(n, _)| n == name)
        && !Path::new(name).is_file()
    {
        let names: Vec<&str> = crate::theme::BUNDLED.iter().map(|(n, _)| *n).collect();
        return Err(SettingsError::BadEnv(format!(
            "theme from {}: no theme named \"{name}\" and no such file (bundled: {})",
            theme.source,
            names.join(", ")
        )));
    }
    let keys = file
        .keys
        .iter()
        .map(|(action, key)| (action.clone(), Setting::new(key.value.clone(), from_file())))
        .collect();

    let log_ring = match (
        flags.log_ring,
        parse_env::<usize>(
            env,
            "SHIPDECK_LOG_RING",
            |n| *n > 0,
            "a number of lines above zero",
        )?,
        &file.log_ring,
    ) {
        (Some(n), _, _) => Setting::new(n, Source::Flag("--log-ring")),
        (None, Some(n), _) => Setting::new(n, Source::Env("SHIPDECK_LOG_RING")),
        (None, None, Some(n)) => Setting::new(n.value as usize, from_file()),
        _ => Setting::new(DEFAULT_LOG_CAPACITY, Source::Default),
    };

    let frame_cap = match (
        flags.frame_cap,
        parse_env::<u32>(
            env,
            "SHIPDECK_FRAME_CAP",
            |n| (1..=240).contains(n),
            "frames per second from 1 to 240",
        )?,
        &file.frame_cap,
    ) {
        (Some(n), _, _) => Setting::new(n, Source::Flag("--frame-cap")),
        (None, Some(n), _) => Setting::new(n, Source::Env("SHIPDECK_FRAME_CAP")),
        (None, None, Some(n)) => Setting::new(n.value, from_file()),
        _ => Setting::new(30, Source::Default),
    };

    let default_journal = dirs()
        .map(|d| d.data_dir().join("journal"))
        .unwrap_or_else(|| PathBuf::from(".shipdeck/journal"));
    let journal_dir = match (
        &flags.journal_dir,
        env("SHIPDECK_JOURNAL_DIR"),
        &file.journal_dir,
    ) {
        (Some(p), _, _) => Setting::new(p.clone(), Source::Flag("--journal-dir")),
        (None, Some(p), _) => Setting::new(PathBuf::from(p), Source::Env("SHIPDECK_JOURNAL_DIR")),
        (None, None, Some(p)) => Setting::new(expand_home(p), from_file()),
        _ => Setting::new(default_journal, Source::Default),
    };

    let rules = checked_rules.map(|rules| Setting::new(rules, from_file()));

    let mut sim_file = (None, None, None, None);
    let mut http_file: Option<(String, Option<String>, Option<String>)> = None;
    let mut logs = None;
    if let Some(backend) = &file.backend {
        match &backend.pipeline.value {
            PipelineSource::Sim {
                scenario,
                speed,
                seed,
                autopilot,
            } => sim_file = (scenario.clone(), *seed, *speed, *autopilot),
            PipelineSource::Http {
                url,
                release,
                token_file,
            } => http_file = Some((url.clone(), release.clone(), token_file.clone())),
        }
        logs = backend.logs.as_ref().map(|source| {
            Setting::new(
                match source {
                    config::LogSource::Command { argv } => ConfiguredLogs::Command(argv.clone()),
                    config::LogSource::File { path } => ConfiguredLogs::File(expand_home(path)),
                },
                from_file(),
            )
        });
    }
    let (file_scenario, file_seed, file_speed, file_autopilot) = sim_file;
    let sim = SimSettings {
        scenario: match (&flags.scenario, file_scenario) {
            (Some(s), _) => Setting::new(s.clone(), Source::Flag("--scenario")),
            (None, Some(s)) => Setting::new(s, from_file()),
            _ => Setting::new("happy-canary".into(), Source::Default),
        },
        seed: match (flags.seed, file_seed) {
            (Some(s), _) => Setting::new(s, Source::Flag("--seed")),
            (None, Some(s)) => Setting::new(s, from_file()),
            _ => Setting::new(1, Source::Default),
        },
        speed: match (&flags.speed, file_speed) {
            (Some(s), _) => Some(Setting::new(s.clone(), Source::Flag("--speed"))),
            (None, Some(s)) => Some(Setting::new(s.to_string(), from_file())),
            _ => None,
        },
        autopilot: match (flags.autopilot, file_autopilot) {
            (true, _) => Setting::new(true, Source::Flag("--autopilot")),
            (false, Some(a)) => Setting::new(a, from_file()),
            _ => Setting::new(false, Source::Default),
        },
    };

    let (file_url, file_release, file_token) = match http_file {
        Some((url, release, token)) => (Some(url), release, token),
        None => (None, None, None),
    };
    let url = match (&flags.backend, env("SHIPDECK_BACKEND"), file_url) {
        (Some(url), _, _) => Some(Setting::new(url.clone(), Source::Flag("--backend"))),
        (None, Some(url), _) => Some(Setting::new(url, Source::Env("SHIPDECK_BACKEND"))),
        (None, None, url) => url.map(|u| Setting::new(u, from_file())),
    };
    let remote = url.map(|url| RemoteSettings {
        url,
        release: match (&flags.release, file_release) {
            (Some(r), _) => Some(Setting::new(r.clone(), Source::Flag("--release"))),
            (None, r) => r.map(|r| Setting::new(r, from_file())),
        },
        token_file: match (&flags.token_file, env("SHIPDECK_TOKEN_FILE"), file_token) {
            (Some(p), _, _) => Some(Setting::new(p.clone(), Source::Flag("--token-file"))),
            (None, Some(p), _) => Some(Setting::new(
                PathBuf::from(p),
                Source::Env("SHIPDECK_TOKEN_FILE"),
            )),
            (None, None, p) => p.map(|p| Setting::new(expand_home(&p), from_file())),
        },
    });

    let metrics = checked_metrics.map(|m| Setting::new(m, from_file()));
    Ok(Settings {
        config_file,
        default_config,
        operator,
        theme,
        keys,
        log_ring,
        frame_cap,
        journal_dir,
        rules,
        sim,
        remote,
        logs,
        metrics,
    })
}

/// `~/x` to the home folder's `x`.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(base)) => base.home_dir().join(rest),
        _ => PathBuf::from(path),
    }
}

impl Settings {
    /// What `shipdeck config` prints: each value and where it came from.
    pub fn describe(&self) -> String {
        let mut rows: Vec<(String, String, String)> = Vec::new();
        let mut row = |name: &str, value: String, source: &Source| {
            rows.push((name.to_string(), value, source.to_string()));
        };
        match &self.config_file {
            Some(file) => row(
                "config file",
                file.value.display().to_string(),
                &file.source,
            ),
            None => row(
                "config file",
                match &self.default_config {
                    Some(p) => format!("none (would read {})", p.display()),
                    None => "none".into(),
                },
                &Source::Default,
            ),
        }
        row(
            "operator",
            self.operator.value.clone(),
            &self.operator.source,
        );
        row(
            "theme",
            self.theme
                .value
                .clone()
                .unwrap_or_else(|| "default (production skin for production releases)".into()),
            &self.theme.source,
        );
        // The whole key map in effect: rebindings, and the defaults kept.
        for (action, defaults) in config::DEFAULT_KEYS {
            match self.keys.get(*action) {
                Some(key) => row(&format!("keys.{action}"), key.value.clone(), &key.source),
                None => row(
                    &format!("keys.{action}"),
                    defaults.join(" / "),
                    &Source::Default,
                ),
            }
        }
        row(
            "log_ring",
            format!("{} lines", self.log_ring.value),
            &self.log_ring.source,
        );
        row(
            "frame_cap",
            format!("{} fps", self.frame_cap.value),
            &self.frame_cap.source,
        );
        row(
            "journal_dir",
            self.journal_dir.value.display().to_string(),
            &self.journal_dir.source,
        );
        match &self.rules {
            Some(rules) => row(
                "rules",
                rules
                    .value
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                &rules.source,
            ),
            None => row(
                "rules",
                "the runbook's six (or the scenario's own)".into(),
                &Source::Default,
            ),
        }
        match &self.remote {
            Some(remote) => {
                row("backend", remote.url.value.clone(), &remote.url.source);
                match &remote.release {
                    Some(r) => row("release", r.value.clone(), &r.source),
                    None => row(
                        "release",
                        "the server's only release".into(),
                        &Source::Default,
                    ),
                }
                match &remote.token_file {
                    Some(t) => row("token_file", t.value.display().to_string(), &t.source),
                    None => row(
                        "token_file",
                        "none ($SHIPDECK_TOKEN if set)".into(),
                        &Source::Default,
                    ),
                }
            }
            None => row(
                "backend",
                "sim (the embedded simulator)".into(),
                &Source::Default,
            ),
        }
        if let Some(metrics) = &self.metrics {
            let m = &metrics.value;
            row(
                "metrics",
                format!(
                    "prometheus at {}, every {}s, {} queries, {} of history",
                    m.url,
                    m.step.as_secs(),
                    m.queries.len(),
                    crate::model::units::format_duration(jiff::SignedDuration::from_secs(
                        m.range.as_secs() as i64
                    ))
                ),
                &metrics.source,
            );
        } else {
            row("metrics", "the backend's own".into(), &Source::Default);
        }
        match &self.logs {
            Some(logs) => row(
                "logs",
                match &logs.value {
                    ConfiguredLogs::Command(argv) => format!("command: {}", argv.join(" ")),
                    ConfiguredLogs::File(path) => format!("file: {}", path.display()),
                },
                &logs.source,
            ),
            None => row("logs", "the backend's own".into(), &Source::Default),
        }
        row(
            "sim.scenario",
            self.sim.scenario.value.clone(),
            &self.sim.scenario.source,
        );
        row(
            "sim.seed",
            self.sim.seed.value.to_string(),
            &self.sim.seed.source,
        );
        match &self.sim.speed {
            Some(s) => row("sim.speed", s.value.clone(), &s.source),
            None if self.metrics.is_some() => row(
                "sim.speed",
                "1 (metrics from Prometheus follow the wall clock)".into(),
                &Source::Default,
            ),
            None => row(
                "sim.speed",
                "10 in the console, 1 for events".into(),
                &Source::Default,
            ),
        }
        row(
            "sim.autopilot",
            on_off(self.sim.autopilot.value),
            &self.sim.autopilot.source,
        );
        let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let value_width = rows
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        let mut out = String::new();
        for (name, value, source) in rows {
            out.push_str(&format!(
                "{name:<width$}  {value:<value_width$}  from {source}\n"
            ));
        }
        out
    }

    /// The journal folder, created if need be.
    pub fn journal_folder(&self) -> std::io::Result<&Path> {
        std::fs::create_dir_all(&self.journal_dir.value)?;
        Ok(&self.journal_dir.value)
    }
}

fn on_off(b: bool) -> String {
    if b { "on".into() } else { "off".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// A config file in a folder of its own, removed with the folder.
    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file_which_beats_defaults() {
        let (_dir, path) =
            config_file("operator: from-file\nframe_cap: 20\nlog_ring: 500\ntheme: light\n");
        let flags = Flags {
            config: Some(path.clone()),
            operator: Some("from-flag".into()),
            ..Flags::default()
        };
        let env = env_of(&[
            ("SHIPDECK_OPERATOR", "from-env"),
            ("SHIPDECK_FRAME_CAP", "60"),
            ("USER", "login"),
        ]);
        let s = resolve(&flags, &env).unwrap();
        assert_eq!(
            s.operator,
            Setting::new("from-flag".to_string(), Source::Flag("--operator"))
        );
        assert_eq!(
            s.frame_cap,
            Setting::new(60, Source::Env("SHIPDECK_FRAME_CAP"))
        );
        assert_eq!(s.log_ring, Setting::new(500, Source::File(path.clone())));
        assert_eq!(s.theme.value.as_deref(), Some("light"));
        assert_eq!(s.journal_dir.source, Source::Default);

        let s = resolve(
            &Flags {
                config: Some(path.clone()),
                ..Flags::default()
            },
            &env,
        )
        .unwrap();
        assert_eq!(s.operator.value, "from-env");
        let s = resolve(
            &Flags {
                config: Some(path),
                ..Flags::default()
            },
            &env_of(&[("USER", "login")]),
        )
        .unwrap();
        assert_eq!(s.operator.value, "from-file");
        let s = resolve(
            &Flags::default(),
            &env_of(&[("USER", "login"), ("HOME", "/nonexistent")]),
        )
        .unwrap();
        assert_eq!(
            s.operator,
            Setting::new("login".to_string(), Source::Default)
        );
    }

    #[test]
    fn the_login_name_is_user_then_logname_then_the_account() {
        let name = |pairs: &[(&str, &str)]| login_name(&env_of(pairs));
        assert_eq!(name(&[("USER", "dave"), ("LOGNAME", "erin")]), "dave");
        assert_eq!(name(&[("LOGNAME", "erin")]), "erin");
        assert_eq!(name(&[("USER", " "), ("LOGNAME", "erin")]), "erin");
        // Neither set: the account, as `id -un` names it (an account the
        // system has no name for is "operator").
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .expect("id runs");
        let account = String::from_utf8(id.stdout).unwrap();
        let account = if id.status.success() {
            account.trim()
        } else {
            "operator"
        };
        assert_eq!(name(&[]), account);
        assert_eq!(name(&[("USER", ""), ("LOGNAME", "")]), account);
    }

    #[test]
    fn a_partial_key_map_names_only_what_it_changes() {
        let (_dir, path) = config_file("keys:\n  rollback: ctrl+r\n");
        let s = resolve(
            &Flags {
                config: Some(path),
                ..Flags::default()
            },
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(s.keys.len(), 1);
        assert_eq!(s.keys["rollback"].value, "ctrl+r");
        assert!(s.describe().contains("keys.rollback"));
    }

    #[test]
    fn a_bad_config_or_environment_is_reported_not_ignored() {
        let (_dir, path) = config_file("keys:\n  rollbak: R\n");
        let err = resolve(
            &Flags {
                config: Some(path.clone()),
                ..Flags::default()
            },
            &env_of(&[]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{}:2:12: `rollbak` is not an action",
                path.display()
            )),
            "{text}"
        );
        let err = resolve(
            &Flags::default(),
            &env_of(&[("SHIPDECK_FRAME_CAP", "fast")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "$SHIPDECK_FRAME_CAP=\"fast\" is not frames per second from 1 to 240"
        );
        let missing = resolve(
            &Flags {
                config: Some("/no/such/config.yaml".into()),
                ..Flags::default()
            },
            &env_of(&[]),
        );
        assert!(matches!(missing, Err(SettingsError::Unreadable(..))));
    }
}
