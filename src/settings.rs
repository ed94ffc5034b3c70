//! The effective settings: flags over `SHIPDECK_*` environment over the
//! config file over defaults, each value with where it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{self, PipelineSource};
use crate::model::text::Clean;
use crate::model::{DEFAULT_LOG_CAPACITY, MAX_LOG_CAPACITY, Person, Rule};

mod notify;
pub use notify::WebhookSettings;

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
    /// `--no-bell`: `Some(false)`.
    pub bell: Option<bool>,
    pub log_ring: Option<usize>,
    pub command_expiry: Option<std::time::Duration>,
    pub journal_dir: Option<PathBuf>,
    pub scenario: Option<String>,
    pub seed: Option<u64>,
    pub speed: Option<String>,
    pub autopilot: bool,
    pub backend: Option<String>,
    pub release: Option<String>,
    pub token_file: Option<PathBuf>,
    pub rollout: Option<String>,
    pub namespace: Option<String>,
    pub context: Option<String>,
    pub github: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub run: Option<u64>,
    /// `--github-api URL`: an Enterprise Server's REST API.
    pub github_api: Option<String>,
    /// `shipdeck inbox --server URL …`: replace the config's servers.
    pub inbox_servers: Vec<String>,
    /// `shipdeck inbox --rollouts NS …` (with `--context`).
    pub inbox_rollouts: Vec<String>,
    pub inbox_context: Option<String>,
    /// `shipdeck inbox --github OWNER/REPO …`.
    pub inbox_github: Vec<String>,
}

/// What `shipdeck inbox` looks at: the config's `inbox:` lists, each
/// replaced by its flags when given.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxSettings {
    pub servers: Setting<Vec<InboxServer>>,
    pub rollouts: Setting<Vec<InboxRollouts>>,
    pub github: Setting<Vec<InboxGithub>>,
}

/// A `shipdeck serve` whose windows the inbox reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxServer {
    /// Checked: https://, or http:// on loopback.
    pub url: String,
    /// Where its bearer token is, when not `$SHIPDECK_TOKEN`.
    pub token_file: Option<PathBuf>,
}

/// A namespace whose Rollouts the inbox reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRollouts {
    pub namespace: String,
    /// `None`: the kubeconfig's current context.
    pub context: Option<String>,
}

/// A repository whose waiting runs the inbox reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxGithub {
    /// `OWNER/REPO`, checked.
    pub repo: String,
    pub workflow: Option<String>,
    pub api_url: String,
    pub token_file: Option<PathBuf>,
}

impl InboxSettings {
    /// Whether it names nothing to read.
    pub fn is_empty(&self) -> bool {
        self.servers.value.is_empty()
            && self.rollouts.value.is_empty()
            && self.github.value.is_empty()
    }
}

/// A GitHub Actions run as the backend: `--github OWNER/REPO`, or the
/// config's `github-actions` pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct GithubSettings {
    /// `OWNER/REPO`, checked.
    pub repo: Setting<String>,
    pub workflow: Option<Setting<String>>,
    pub branch: Option<Setting<String>>,
    pub run: Option<Setting<u64>>,
    /// `https://api.github.com`, or a GitHub Enterprise Server's API.
    pub api_url: Setting<String>,
    pub token_file: Option<Setting<PathBuf>>,
    /// What `R` runs once a deployment has gone out.
    pub rollback: Option<Setting<RollbackWorkflow>>,
    /// The Rollout a job hands the canary over to.
    pub canary: Option<Setting<Canary>>,
}

/// A workflow dispatched to roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackWorkflow {
    pub workflow: String,
    /// `None`: the run's branch.
    pub git_ref: Option<String>,
    pub inputs: BTreeMap<String, String>,
}

/// An Argo Rollout that carries the canary once a job hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canary {
    pub rollout: String,
    pub namespace: Option<String>,
    pub context: Option<String>,
    /// The job that hands over.
    pub after: String,
}

pub use crate::github::client::GITHUB_API;

/// An Argo Rollout as the backend: `--rollout`, or the config's
/// `argo-rollouts` pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutSettings {
    pub rollout: Setting<String>,
    /// `None`: the context's namespace.
    pub namespace: Option<Setting<String>>,
    /// `None`: the kubeconfig's current context.
    pub context: Option<Setting<String>>,
    /// Sign-offs a promote needs (the config's `promote_gate`).
    pub promote_gate: Option<Setting<crate::model::GatePlan>>,
}

/// A log source named in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfiguredLogs {
    Command(Vec<String>),
    File(PathBuf),
}

impl From<&config::LogSource> for ConfiguredLogs {
    fn from(source: &config::LogSource) -> ConfiguredLogs {
        match source {
            config::LogSource::Command { argv } => ConfiguredLogs::Command(argv.clone()),
            config::LogSource::File { path } => ConfiguredLogs::File(expand_home(path)),
        }
    }
}

/// A server speaking the HTTP contract, when one is the backend.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSettings {
    pub url: Setting<String>,
    pub release: Option<Setting<String>>,
    /// Where the bearer token is read from, when not `$SHIPDECK_TOKEN`.
    pub token_file: Option<Setting<PathBuf>>,
    /// Whether `$SHIPDECK_TOKEN` may go to it: not to one of several
    /// servers the inbox reads, where it would be another's.
    pub env_token: bool,
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
    /// Who this operator is: a person's name, checked where it was given.
    pub operator: Setting<Person>,
    /// `None`: the production skin for production releases, else the default.
    pub theme: Setting<Option<String>>,
    /// Rebindings by action name; unnamed actions keep their defaults.
    pub keys: BTreeMap<String, Setting<String>>,
    pub log_ring: Setting<usize>,
    pub frame_cap: Setting<u32>,
    /// Ring the terminal's bell when something starts to wait on you.
    pub bell: Setting<bool>,
    /// How long a command may wait undelivered before it expires (a
    /// rollback never does).
    pub command_expiry: Setting<std::time::Duration>,
    pub journal_dir: Setting<PathBuf>,
    /// Rules that replace the runbook's where a scenario names none.
    pub rules: Option<Setting<Vec<Rule>>>,
    /// When no promote goes out (the config's `freezes:`); empty: none.
    pub freezes: Setting<Vec<crate::model::Freeze>>,
    pub sim: SimSettings,
    /// `None`: the embedded simulator is the backend.
    pub remote: Option<RemoteSettings>,
    /// An Argo Rollout on a cluster as the backend.
    pub rollout: Option<RolloutSettings>,
    /// A GitHub Actions run as the backend.
    pub github: Option<GithubSettings>,
    /// The config's own Rollout or run when a flag named a backend of
    /// another kind and set its pipeline aside: what an inbox item's window
    /// on that Rollout or repository keeps of it (a promote gate, a token
    /// file, a rollback workflow).
    pub file_rollout: Option<RolloutSettings>,
    pub file_github: Option<GithubSettings>,
    /// The config's log source (flags `--logs`/`--logs-cmd` replace it).
    pub logs: Option<Setting<ConfiguredLogs>>,
    /// Where the release's metrics come from, when not the pipeline.
    pub metrics: Option<Setting<crate::config::PrometheusSource>>,
    /// What the inbox reads.
    pub inbox: InboxSettings,
    /// Where `serve` posts what starts and stops waiting on someone.
    pub webhooks: Vec<Setting<WebhookSettings>>,
    /// The console's desktop notification escape, sent with the bell.
    pub notify: Setting<crate::config::Notify>,
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
                let path = Clean(path.display());
                write!(f, "cannot read the config file {path}: {}", Clean(err))
            }
            SettingsError::Invalid(lines) => {
                let lines: Vec<String> = lines.iter().map(|l| Clean(l).to_string()).collect();
                f.write_str(&lines.join("\n"))
            }
            SettingsError::BadEnv(message) => write!(f, "{}", Clean(message)),
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

/// Where one setting may come from, in order: a flag, a `SHIPDECK_*`
/// variable, the config file. Each setting is written as one chain of its
/// layers (`flag(..).or(env)..`), so the order is stated once, here.
struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    /// What a value from the config file is said to come from.
    file: Source,
}

/// A flag's value, if it was given.
fn flag<T: Clone>(value: &Option<T>, name: &'static str) -> Option<Setting<T>> {
    value.clone().map(|v| Setting::new(v, Source::Flag(name)))
}

impl Layers<'_> {
    /// A variable's text, if set and not empty.
    fn env(&self, var: &'static str) -> Option<Setting<String>> {
        (self.env)(var).map(|v| Setting::new(v, Source::Env(var)))
    }

    /// A variable naming a path.
    fn env_path(&self, var: &'static str) -> Option<Setting<PathBuf>> {
        (self.env)(var).map(|v| Setting::new(v.into(), Source::Env(var)))
    }

    /// A variable's value, read as a `T` that `ok` accepts; a value that
    /// does not read is an error, not ignored.
    fn env_parsed<T: std::str::FromStr>(
        &self,
        var: &'static str,
        ok: impl Fn(&T) -> bool,
        what: &str,
    ) -> Result<Option<Setting<T>>, SettingsError> {
        let Some(text) = (self.env)(var) else {
            return Ok(None);
        };
        match text.trim().parse::<T>() {
            Ok(v) if ok(&v) => Ok(Some(Setting::new(v, Source::Env(var)))),
            _ => Err(SettingsError::BadEnv(format!(
                "${var}={text:?} is not {what}"
            ))),
        }
    }

    /// A variable holding a command expiry (`30s`).
    fn env_expiry(
        &self,
        var: &'static str,
    ) -> Result<Option<Setting<std::time::Duration>>, SettingsError> {
        let Some(text) = (self.env)(var) else {
            return Ok(None);
        };
        match config::command_expiry(&text) {
            Ok(expiry) => Ok(Some(Setting::new(expiry, Source::Env(var)))),
            Err(why) => Err(SettingsError::BadEnv(format!("${var}={text:?}: {why}"))),
        }
    }

    /// A value from the config file, if it names one.
    fn file<T>(&self, value: Option<T>) -> Option<Setting<T>> {
        value.map(|v| Setting::new(v, self.file.clone()))
    }
}

/// A setting nobody gave: its default.
fn default<T>(value: T) -> Setting<T> {
    Setting::new(value, Source::Default)
}

/// The config file to read, how it was chosen, and what it says (checked).
struct Config {
    file: Option<Setting<PathBuf>>,
    default: Option<PathBuf>,
    checked: config::Checked,
}

fn read_config(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, SettingsError> {
    let default = dirs().map(|d| d.config_dir().join("config.yaml"));
    let file = flag(&flags.config, "--config")
        .or_else(|| {
            env("SHIPDECK_CONFIG").map(|p| Setting::new(p.into(), Source::Env("SHIPDECK_CONFIG")))
        })
        .or_else(|| {
            let found = default.as_ref().filter(|p| p.is_file());
            found.map(|p| Setting::new(p.clone(), Source::Default))
        });
    let checked = match &file {
        None => config::Checked::default(),
        Some(setting) => {
            let path = &setting.value;
            let text = crate::files::read_text(path)
                .map_err(|e| SettingsError::Unreadable(path.clone(), e))?;
            config::parse(&text).map_err(|problems| {
                SettingsError::Invalid(
                    problems
                        .iter()
                        .map(|p| {
                            format!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message)
                        })
                        .collect(),
                )
            })?
        }
    };
    Ok(Config {
        file,
        default,
        checked,
    })
}

/// Resolves the settings. `env` reads an environment variable (injected so
/// tests need not touch the process's environment). One chain per setting,
/// in the order `shipdeck config` shows them.
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
    let config = read_config(flags, env)?;
    let layers = Layers {
        env,
        file: match &config.file {
            Some(s) => Source::File(s.value.clone()),
            None => Source::Default,
        },
    };
    let file = &config.checked.file;
    let operator = flag(&flags.operator, "--operator")
        .or_else(|| layers.env("SHIPDECK_OPERATOR"))
        .or_else(|| layers.file(file.operator.as_ref().map(|n| n.value.clone())))
        .unwrap_or_else(|| default(login_name(env)));
    let operator = checked_operator(operator)?;
    let theme = flag(&flags.theme, "--theme")
        .or_else(|| layers.env("SHIPDECK_THEME"))
        .or_else(|| layers.file(file.theme.as_ref().map(|t| t.value.clone())))
        .map(checked_theme)
        .transpose()?
        .unwrap_or_else(|| default(None));
    let keys = file
        .keys
        .iter()
        .map(|(action, key)| {
            (
                action.clone(),
                Setting::new(key.value.clone(), layers.file.clone()),
            )
        })
        .collect();
    let lines = format!("a number of lines from 1 to {MAX_LOG_CAPACITY}");
    let log_ring = flag(&flags.log_ring, "--log-ring")
        .or(layers.env_parsed(
            "SHIPDECK_LOG_RING",
            |n| (1..=MAX_LOG_CAPACITY).contains(n),
            &lines,
        )?)
        .or_else(|| layers.file(file.log_ring.as_ref().map(|n| n.value as usize)))
        .unwrap_or_else(|| default(DEFAULT_LOG_CAPACITY));
    let fps = "frames per second from 1 to 240";
    let frame_cap = flag(&flags.frame_cap, "--frame-cap")
        .or(layers.env_parsed("SHIPDECK_FRAME_CAP", |n| (1..=240).contains(n), fps)?)
        .or_else(|| layers.file(file.frame_cap.as_ref().map(|n| n.value)))
        .unwrap_or_else(|| default(30));
    let bell = flag(&flags.bell, "--no-bell")
        .or(layers.env_parsed("SHIPDECK_BELL", |_| true, "true or false")?)
        .or_else(|| layers.file(file.bell.as_ref().map(|b| b.value)))
        .unwrap_or_else(|| default(true));
    let command_expiry = flag(&flags.command_expiry, "--command-expiry")
        .or(layers.env_expiry("SHIPDECK_COMMAND_EXPIRY")?)
        .or_else(|| {
            let written = file.command_expiry.as_ref();
            layers.file(written.and_then(|t| config::command_expiry(&t.value).ok()))
        })
        .unwrap_or_else(|| default(crate::backend::http::DEFAULT_EXPIRY));
    let journal_dir = flag(&flags.journal_dir, "--journal-dir")
        .or_else(|| layers.env_path("SHIPDECK_JOURNAL_DIR"))
        .or_else(|| layers.file(file.journal_dir.as_deref().map(expand_home)))
        .unwrap_or_else(|| {
            default(
                dirs()
                    .map(|d| d.data_dir().join("journal"))
                    .unwrap_or_else(|| PathBuf::from(".shipdeck/journal")),
            )
        });
    let backend = file.backend.as_ref();
    let in_file = backend.map(|b| &b.pipeline.value);
    let aside = in_file.is_some_and(|p| set_aside(flags, env, p));
    let pipeline = in_file.filter(|_| !aside);
    // The file's log source is its pipeline's: set aside with it.
    let logs = backend
        .filter(|_| !aside)
        .and_then(|b| b.logs.as_ref())
        .and_then(|source| layers.file(Some(ConfiguredLogs::from(source))));
    let (file_rollout, file_github) = match aside {
        true => (
            rollout_settings(&Flags::default(), in_file, &layers)?,
            github_settings(&Flags::default(), in_file, &layers)?,
        ),
        false => (None, None),
    };
    Ok(Settings {
        operator,
        theme,
        keys,
        log_ring,
        frame_cap,
        bell,
        command_expiry,
        journal_dir,
        rules: layers.file(config.checked.rules.clone()),
        freezes: layers
            .file(Some(config.checked.freezes.clone()).filter(|f| !f.is_empty()))
            .unwrap_or_else(|| default(Vec::new())),
        sim: sim_settings(flags, pipeline, &layers),
        remote: remote_settings(flags, pipeline, &layers)?,
        rollout: rollout_settings(flags, pipeline, &layers)?,
        github: github_settings(flags, pipeline, &layers)?,
        file_rollout,
        file_github,
        logs,
        metrics: layers.file(config.checked.metrics.clone()),
        inbox: inbox_settings(flags, file.inbox.as_ref(), &layers)?,
        webhooks: notify::webhooks(file, &layers),
        notify: notify::notify(file, &layers)?,
        config_file: config.file,
        default_config: config.default,
    })
}

/// The freezes for `shipdeck config`: each one, and whether promotes are
/// frozen now.
fn freezes_words(freezes: &[crate::model::Freeze], now: jiff::Timestamp) -> String {
    use crate::model::Freeze;
    use crate::model::units::format_duration;
    if freezes.is_empty() {
        return "none".into();
    }
    let each: Vec<String> = freezes
        .iter()
        .map(|f| match f {
            Freeze::Period(p) => format!(
                "{} ({} to {})",
                p.reason,
                p.from.strftime("%Y-%m-%d %H:%M UTC"),
                p.to.strftime("%Y-%m-%d %H:%M UTC")
            ),
            Freeze::Recurring(r) => format!(
                "{} ({} from {} for {}, {})",
                r.reason,
                r.rrule,
                r.start.strftime("%H:%M"),
                format_duration(r.duration),
                r.tz.as_deref().unwrap_or("UTC")
            ),
        })
        .collect();
    let now = match crate::model::freeze::frozen(freezes, now) {
        Some(frozen) => format!(" · now {frozen}"),
        None => String::new(),
    };
    format!("{}{now}", each.join("; "))
}

/// A theme named by a flag, the environment or the file must exist.
fn checked_theme(theme: Setting<String>) -> Result<Setting<Option<String>>, SettingsError> {
    let name = &theme.value;
    if crate::theme::BUNDLED.iter().any(|(n, _)| n == name) || Path::new(name).is_file() {
        return Ok(Setting::new(Some(theme.value), theme.source));
    }
    let names: Vec<&str> = crate::theme::BUNDLED.iter().map(|(n, _)| *n).collect();
    Err(SettingsError::BadEnv(format!(
        "theme from {}: no theme named \"{name}\" and no such file (bundled: {})",
        theme.source,
        names.join(", ")
    )))
}

/// Whether a flag (or `$SHIPDECK_BACKEND`) names a backend of another kind
/// than the config's pipeline: flags and the environment come before the
/// file, so `shipdeck --rollout x` is a Rollout's console even where the
/// config names a GitHub Actions run, and `--scenario` the simulator's.
/// Flags of two kinds are still two backends, and refused as such.
fn set_aside(
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
    pipeline: &PipelineSource,
) -> bool {
    let server = flags.backend.is_some() || env("SHIPDECK_BACKEND").is_some();
    let named = [
        (server, matches!(pipeline, PipelineSource::Http { .. })),
        (
            flags.rollout.is_some(),
            matches!(pipeline, PipelineSource::ArgoRollouts { .. }),
        ),
        (
            flags.github.is_some(),
            matches!(pipeline, PipelineSource::GithubActions(_)),
        ),
        (
            flags.scenario.is_some(),
            matches!(pipeline, PipelineSource::Sim { .. }),
        ),
    ];
    let flagged = named.iter().any(|(given, _)| *given);
    flagged && !named.iter().any(|(given, same)| *given && *same)
}

/// The simulator's settings: flags over the config's `sim` pipeline.
fn sim_settings(flags: &Flags, pipeline: Option<&PipelineSource>, layers: &Layers) -> SimSettings {
    let (scenario, seed, speed, autopilot) = match pipeline {
        Some(PipelineSource::Sim {
            scenario,
            speed,
            seed,
            autopilot,
        }) => (scenario.clone(), *seed, *speed, *autopilot),
        _ => (None, None, None, None),
    };
    SimSettings {
        scenario: flag(&flags.scenario, "--scenario")
            .or_else(|| layers.file(scenario))
            .unwrap_or_else(|| default("happy-canary".into())),
        seed: flag(&flags.seed, "--seed")
            .or_else(|| layers.file(seed))
            .unwrap_or_else(|| default(1)),
        speed: flag(&flags.speed, "--speed").or_else(|| layers.file(speed.map(|s| s.to_string()))),
        autopilot: flag(&flags.autopilot.then_some(true), "--autopilot")
            .or_else(|| layers.file(autopilot))
            .unwrap_or_else(|| default(false)),
    }
}

/// The operator's name, refused (saying where it came from and why) when
/// no person can have it: an invisible or reordering character, or one of
/// shipdeck's own names.
fn checked_operator(given: Setting<String>) -> Result<Setting<Person>, SettingsError> {
    match Person::new(&given.value) {
        Ok(person) => Ok(Setting::new(person, given.source)),
        // A service account named `shipdeck` or `prometheus` still lists,
        // reports and serves: it is marked as a login, not one of
        // shipdeck's own names, and acts (if it does) under that.
        Err(_) if given.source == Source::Default => {
            let login = format!("{} (login)", given.value.trim());
            let person = Person::new(&login).map_err(|why| {
                SettingsError::BadEnv(format!(
                    "your login name cannot be an operator's name ({why}); give one with --operator or $SHIPDECK_OPERATOR"
                ))
            })?;
            Ok(Setting::new(person, given.source))
        }
        Err(why) => Err(SettingsError::BadEnv(format!(
            "the operator's name from {}: {why}",
            given.source
        ))),
    }
}

/// A Rollout as the backend: `--rollout` (with `--namespace` and
/// `--context`) over the config's `argo-rollouts` pipeline.
fn rollout_settings(
    flags: &Flags,
    pipeline: Option<&PipelineSource>,
    layers: &Layers,
) -> Result<Option<RolloutSettings>, SettingsError> {
    let (rollout, namespace, context, gate) = match pipeline {
        Some(PipelineSource::ArgoRollouts {
            rollout,
            namespace,
            context,
            promote_gate,
        }) => (
            Some(rollout.clone()),
            namespace.clone(),
            context.clone(),
            promote_gate.as_ref().and_then(|g| g.gate().ok()),
        ),
        _ => (None, None, None, None),
    };
    let Some(rollout) = flag(&flags.rollout, "--rollout").or_else(|| layers.file(rollout)) else {
        return Ok(None);
    };
    let namespace = flag(&flags.namespace, "--namespace").or_else(|| layers.file(namespace));
    let checks = [
        config::kube_name(&rollout.value, "the rollout", true)
            .map_err(|why| format!("{why} (from {})", rollout.source)),
        namespace.as_ref().map_or(Ok(()), |ns| {
            config::kube_name(&ns.value, "the namespace", false)
                .map_err(|why| format!("{why} (from {})", ns.source))
        }),
    ];
    if let Some(why) = checks.into_iter().find_map(Result::err) {
        return Err(SettingsError::BadEnv(why));
    }
    Ok(Some(RolloutSettings {
        rollout,
        namespace,
        context: flag(&flags.context, "--context").or_else(|| layers.file(context)),
        promote_gate: layers.file(gate),
    }))
}

/// A GitHub Actions run as the backend: `--github` (with `--workflow`,
/// `--branch`, `--run`) over the config's `github-actions` pipeline.
fn github_settings(
    flags: &Flags,
    pipeline: Option<&PipelineSource>,
    layers: &Layers,
) -> Result<Option<GithubSettings>, SettingsError> {
    let file = match pipeline {
        Some(PipelineSource::GithubActions(file)) => Some(file),
        _ => None,
    };
    let Some(repo) =
        flag(&flags.github, "--github").or_else(|| layers.file(file.map(|f| f.repo.clone())))
    else {
        return Ok(None);
    };
    if let Err(why) = config::github_repo(&repo.value) {
        return Err(SettingsError::BadEnv(format!(
            "{why} (from {})",
            repo.source
        )));
    }
    // The file's run, workflow and branch are for the file's repository.
    let same_repo = file.filter(|f| f.repo.eq_ignore_ascii_case(&repo.value));
    let workflow = flag(&flags.workflow, "--workflow")
        .or_else(|| layers.file(same_repo.and_then(|f| f.workflow.clone())));
    let branch = flag(&flags.branch, "--branch")
        .or_else(|| layers.file(same_repo.and_then(|f| f.branch.clone())));
    let run = flag(&flags.run, "--run").or_else(|| layers.file(same_repo.and_then(|f| f.run)));
    // The file's api_url is its repository's host: another repository
    // named by --github is GitHub's unless --github-api says otherwise.
    let api_url = flag(&flags.github_api, "--github-api")
        .or_else(|| layers.file(same_repo.and_then(|f| f.api_url.clone())))
        .unwrap_or_else(|| default(GITHUB_API.to_string()));
    if let Err(why) = config::github_api_url(&api_url.value) {
        return Err(SettingsError::BadEnv(format!(
            "{why} (from {})",
            api_url.source
        )));
    }
    let rollback = same_repo
        .and_then(|f| f.rollback_workflow.as_ref())
        .map(|r| RollbackWorkflow {
            workflow: r.workflow.clone(),
            git_ref: r.git_ref.clone(),
            inputs: r.inputs.clone(),
        });
    let canary = same_repo.and_then(|f| f.canary.as_ref()).map(|c| Canary {
        rollout: c.rollout.clone(),
        namespace: c.namespace.clone(),
        context: c.context.clone(),
        after: c.after.clone(),
    });
    Ok(Some(GithubSettings {
        repo,
        workflow,
        branch,
        run,
        api_url,
        token_file: layers.file(file.and_then(|f| f.token_file.as_deref()).map(expand_home)),
        rollback: layers.file(rollback),
        canary: layers.file(canary),
    }))
}

/// A server as the backend: `--backend`, `$SHIPDECK_BACKEND`, or the
/// config's `http` pipeline; `None` for the embedded simulator.
fn remote_settings(
    flags: &Flags,
    pipeline: Option<&PipelineSource>,
    layers: &Layers,
) -> Result<Option<RemoteSettings>, SettingsError> {
    let (url, release, token_file) = match pipeline {
        Some(PipelineSource::Http {
            url,
            release,
            token_file,
        }) => (Some(url.clone()), release.clone(), token_file.clone()),
        _ => (None, None, None),
    };
    let Some(url) = flag(&flags.backend, "--backend")
        .or_else(|| layers.env("SHIPDECK_BACKEND"))
        .or_else(|| layers.file(url))
    else {
        return Ok(None);
    };
    // Shown by `config` and in the header, journaled: no credentials.
    if let Err(why) = config::http_url(&url.value, config::SERVER_TOKEN) {
        return Err(SettingsError::BadEnv(format!(
            "the backend from {}: {why}",
            url.source
        )));
    }
    let token_file = flag(&flags.token_file, "--token-file")
        .or_else(|| layers.env_path("SHIPDECK_TOKEN_FILE"))
        .or_else(|| layers.file(token_file.as_deref().map(expand_home)));
    Ok(Some(RemoteSettings {
        url,
        release: flag(&flags.release, "--release").or_else(|| layers.file(release)),
        token_file,
        env_token: true,
    }))
}

/// The inbox's lists: each flag's over the config's `inbox:` list. The
/// file's entries were checked with the file; the flags' are checked here.
fn inbox_settings(
    flags: &Flags,
    file: Option<&config::InboxFile>,
    layers: &Layers,
) -> Result<InboxSettings, SettingsError> {
    let bad = |flag: &str, why: String| SettingsError::BadEnv(format!("{flag}: {why}"));
    let servers = match flags.inbox_servers.as_slice() {
        [] => layers.file(file.map(|f| {
            f.servers
                .iter()
                .map(|s| InboxServer {
                    url: s.value.url().trim().to_string(),
                    token_file: s.value.token_file().map(expand_home),
                })
                .collect()
        })),
        given => {
            let mut servers = Vec::new();
            for url in given {
                config::inbox_server(url).map_err(|why| bad("--server", why))?;
                let token_file = None;
                servers.push(InboxServer {
                    url: url.trim().to_string(),
                    token_file,
                });
            }
            Some(Setting::new(servers, Source::Flag("--server")))
        }
    };
    let rollouts = match flags.inbox_rollouts.as_slice() {
        [] => layers.file(file.map(|f| {
            f.rollouts
                .iter()
                .map(|r| InboxRollouts {
                    namespace: r.value.namespace().to_string(),
                    context: r.value.context().map(str::to_string),
                })
                .collect()
        })),
        given => {
            let mut rollouts = Vec::new();
            for ns in given {
                config::kube_name(ns, "the namespace", false)
                    .map_err(|why| bad("--rollouts", why))?;
                rollouts.push(InboxRollouts {
                    namespace: ns.clone(),
                    context: flags.inbox_context.clone(),
                });
            }
            Some(Setting::new(rollouts, Source::Flag("--rollouts")))
        }
    };
    let github = match flags.inbox_github.as_slice() {
        [] => layers.file(file.map(|f| f.github.iter().map(|g| inbox_github(&g.value)).collect())),
        given => {
            let mut github = Vec::new();
            for repo in given {
                config::github_repo(repo).map_err(|why| bad("--github", why))?;
                github.push(inbox_github(&config::InboxGithubFile::Repo(repo.clone())));
            }
            Some(Setting::new(github, Source::Flag("--github")))
        }
    };
    Ok(InboxSettings {
        servers: servers.unwrap_or_else(|| default(Vec::new())),
        rollouts: rollouts.unwrap_or_else(|| default(Vec::new())),
        github: github.unwrap_or_else(|| default(Vec::new())),
    })
}

fn inbox_github(file: &config::InboxGithubFile) -> InboxGithub {
    let (workflow, api_url, token_file) = file.options();
    InboxGithub {
        repo: file.repo().to_string(),
        workflow: workflow.map(str::to_string),
        api_url: api_url.unwrap_or(GITHUB_API).trim().to_string(),
        token_file: token_file.map(expand_home),
    }
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
        let mut rows = Rows::default();
        self.describe_you(&mut rows);
        self.describe_limits(&mut rows);
        self.describe_notify(&mut rows);
        self.describe_backend(&mut rows);
        self.describe_sim(&mut rows);
        self.describe_inbox(&mut rows);
        rows.render()
    }

    /// The config file, who you are, the theme and the keys.
    fn describe_you(&self, rows: &mut Rows) {
        match &self.config_file {
            Some(file) => rows.add(
                "config file",
                file.value.display().to_string(),
                &file.source,
            ),
            None => rows.add(
                "config file",
                match &self.default_config {
                    Some(p) => format!("none (would read {})", p.display()),
                    None => "none".into(),
                },
                &Source::Default,
            ),
        }
        rows.add(
            "operator",
            self.operator.value.to_string(),
            &self.operator.source,
        );
        rows.add(
            "theme",
            self.theme
                .value
                .clone()
                .unwrap_or_else(|| "default (production skin for production releases)".into()),
            &self.theme.source,
        );
        // The whole key map in effect: rebindings, and the defaults kept.
        for (action, defaults) in crate::keys::defaults() {
            match self.keys.get(action) {
                Some(key) => rows.add(&format!("keys.{action}"), key.value.clone(), &key.source),
                None => rows.add(
                    &format!("keys.{action}"),
                    defaults.join(" / "),
                    &Source::Default,
                ),
            }
        }
    }

    /// The log ring, the frame cap, the journal and the rules.
    fn describe_limits(&self, rows: &mut Rows) {
        rows.add(
            "log_ring",
            format!("{} lines a source", self.log_ring.value),
            &self.log_ring.source,
        );
        rows.add(
            "frame_cap",
            format!("{} fps", self.frame_cap.value),
            &self.frame_cap.source,
        );
        rows.add(
            "bell",
            if self.bell.value { "on" } else { "off" }.to_string(),
            &self.bell.source,
        );
        rows.add(
            "command_expiry",
            format!(
                "{}s (with a server; a rollback never expires)",
                self.command_expiry.value.as_secs()
            ),
            &self.command_expiry.source,
        );
        rows.add(
            "journal_dir",
            self.journal_dir.value.display().to_string(),
            &self.journal_dir.source,
        );
        match &self.rules {
            Some(rules) => rows.add(
                "rules",
                rules
                    .value
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                &rules.source,
            ),
            None => rows.add(
                "rules",
                "the runbook's six (or the scenario's own)".into(),
                &Source::Default,
            ),
        }
        rows.add(
            "freezes",
            freezes_words(&self.freezes.value, jiff::Timestamp::now()),
            &self.freezes.source,
        );
    }

    /// A GitHub Actions run as the backend, and what surrounds it.
    fn describe_github(&self, github: &GithubSettings, rows: &mut Rows) {
        let repo = &github.repo;
        rows.add(
            "backend",
            format!("github-actions: {}", repo.value),
            &repo.source,
        );
        let or_default =
            |rows: &mut Rows, name, value: &Option<Setting<String>>, none: &str| match value {
                Some(v) => rows.add(name, v.value.clone(), &v.source),
                None => rows.add(name, none.into(), &Source::Default),
            };
        or_default(rows, "workflow", &github.workflow, "any");
        or_default(rows, "branch", &github.branch, "any");
        match &github.run {
            Some(run) => rows.add("run", run.value.to_string(), &run.source),
            None => rows.add(
                "run",
                "the latest matching run, waiting ones first".into(),
                &Source::Default,
            ),
        }
        rows.add(
            "api_url",
            github.api_url.value.clone(),
            &github.api_url.source,
        );
        // As gh: a GitHub Enterprise host has variables of its own.
        let vars = match github.api_url.value == GITHUB_API {
            true => "$GH_TOKEN, $GITHUB_TOKEN",
            false => "$GH_ENTERPRISE_TOKEN, $GITHUB_ENTERPRISE_TOKEN",
        };
        match &github.token_file {
            Some(t) => rows.add(
                "token_file",
                format!("{} (unless {vars} is set)", t.value.display()),
                &t.source,
            ),
            None => rows.add(
                "token",
                format!("{vars}, else `gh auth token`"),
                &Source::Default,
            ),
        }
        match &github.rollback {
            Some(r) => rows.add(
                "rollback_workflow",
                format!(
                    "{} on {}",
                    r.value.workflow,
                    r.value.git_ref.as_deref().unwrap_or("the run's branch")
                ),
                &r.source,
            ),
            None => rows.add(
                "rollback_workflow",
                "none: R is refused once a deployment has gone out".into(),
                &Source::Default,
            ),
        }
        if let Some(canary) = &github.canary {
            let c = &canary.value;
            rows.add(
                "canary",
                format!(
                    "the Rollout {}{} after job {}",
                    c.namespace
                        .as_deref()
                        .map(|n| format!("{n}/"))
                        .unwrap_or_default(),
                    c.rollout,
                    c.after
                ),
                &canary.source,
            );
        }
    }

    /// The backend, and the metrics and log sources beside it.
    fn describe_backend(&self, rows: &mut Rows) {
        if let Some(rollout) = &self.rollout {
            let r = &rollout.rollout;
            rows.add(
                "backend",
                format!("argo-rollouts: the Rollout {}", r.value),
                &r.source,
            );
            match &rollout.namespace {
                Some(ns) => rows.add("namespace", ns.value.clone(), &ns.source),
                None => rows.add(
                    "namespace",
                    "the context's (else default)".into(),
                    &Source::Default,
                ),
            }
            match &rollout.context {
                Some(c) => rows.add("context", c.value.clone(), &c.source),
                None => rows.add(
                    "context",
                    "the kubeconfig's current one ($KUBECONFIG, ~/.kube/config, or in-cluster)"
                        .into(),
                    &Source::Default,
                ),
            }
        }
        if let Some(github) = &self.github {
            self.describe_github(github, rows);
        }
        match &self.remote {
            None if self.rollout.is_some() || self.github.is_some() => {}
            Some(remote) => {
                rows.add("backend", remote.url.value.clone(), &remote.url.source);
                match &remote.release {
                    Some(r) => rows.add("release", r.value.clone(), &r.source),
                    None => rows.add(
                        "release",
                        "the server's only release".into(),
                        &Source::Default,
                    ),
                }
                match &remote.token_file {
                    Some(t) => rows.add("token_file", t.value.display().to_string(), &t.source),
                    None => rows.add(
                        "token_file",
                        "none ($SHIPDECK_TOKEN if set)".into(),
                        &Source::Default,
                    ),
                }
            }
            None => rows.add(
                "backend",
                "sim (the embedded simulator)".into(),
                &Source::Default,
            ),
        }
        match &self.metrics {
            Some(metrics) => {
                let m = &metrics.value;
                let range = jiff::SignedDuration::from_secs(m.range.as_secs() as i64);
                let text = format!(
                    "prometheus at {}, every {}s, {} queries, {} of history",
                    m.url,
                    m.step.as_secs(),
                    m.queries.len(),
                    crate::model::units::format_duration(range)
                );
                rows.add("metrics", text, &metrics.source);
            }
            None => rows.add("metrics", "the backend's own".into(), &Source::Default),
        }
        match &self.logs {
            Some(logs) => rows.add(
                "logs",
                match &logs.value {
                    ConfiguredLogs::Command(argv) => format!("command: {}", argv.join(" ")),
                    ConfiguredLogs::File(path) => format!("file: {}", path.display()),
                },
                &logs.source,
            ),
            None => rows.add("logs", "the backend's own".into(), &Source::Default),
        }
    }

    fn describe_sim(&self, rows: &mut Rows) {
        let sim = &self.sim;
        rows.add(
            "sim.scenario",
            sim.scenario.value.clone(),
            &sim.scenario.source,
        );
        rows.add("sim.seed", sim.seed.value.to_string(), &sim.seed.source);
        match &sim.speed {
            Some(s) => rows.add("sim.speed", s.value.clone(), &s.source),
            None if self.metrics.is_some() => rows.add(
                "sim.speed",
                "1 (metrics from Prometheus follow the wall clock)".into(),
                &Source::Default,
            ),
            None => rows.add(
                "sim.speed",
                "10 in the console, 1 for events".into(),
                &Source::Default,
            ),
        }
        rows.add(
            "sim.autopilot",
            on_off(sim.autopilot.value),
            &sim.autopilot.source,
        );
    }

    /// What the inbox reads: one row a list, `none` when empty.
    fn describe_inbox(&self, rows: &mut Rows) {
        let inbox = &self.inbox;
        let list = |items: Vec<String>| match items.is_empty() {
            true => "none".to_string(),
            false => items.join(", "),
        };
        let servers = inbox.servers.value.iter().map(|s| match &s.token_file {
            Some(file) => format!("{} (token from {})", s.url, file.display()),
            None => s.url.clone(),
        });
        rows.add(
            "inbox.servers",
            list(servers.collect()),
            &inbox.servers.source,
        );
        let rollouts = inbox.rollouts.value.iter().map(|r| match &r.context {
            Some(context) => format!("{} ({context})", r.namespace),
            None => r.namespace.clone(),
        });
        rows.add(
            "inbox.rollouts",
            list(rollouts.collect()),
            &inbox.rollouts.source,
        );
        let github = inbox.github.value.iter().map(|g| {
            let mut text = g.repo.clone();
            if let Some(workflow) = &g.workflow {
                text.push_str(&format!(" ({workflow})"));
            }
            if g.api_url != GITHUB_API {
                text.push_str(&format!(" at {}", g.api_url));
            }
            text
        });
        rows.add("inbox.github", list(github.collect()), &inbox.github.source);
    }

    /// The journal folder, created if need be.
    pub fn journal_folder(&self) -> std::io::Result<&Path> {
        std::fs::create_dir_all(&self.journal_dir.value)?;
        Ok(&self.journal_dir.value)
    }
}

/// The table `shipdeck config` prints: name, value, and where from.
#[derive(Default)]
struct Rows(Vec<(String, String, String)>);

impl Rows {
    /// A row; its value and where it came from are cleaned: a flag, a
    /// variable or a file may hold anything.
    fn add(&mut self, name: &str, value: String, source: &Source) {
        let value = Clean(&value).to_string();
        self.0
            .push((name.to_string(), value, Clean(source).to_string()));
    }

    fn render(self) -> String {
        let width = self.0.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let value_width = self
            .0
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        let mut out = String::new();
        for (name, value, source) in self.0 {
            out.push_str(&format!(
                "{name:<width$}  {value:<value_width$}  from {source}\n"
            ));
        }
        out
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
    fn a_backend_flag_of_another_kind_sets_the_files_pipeline_aside() {
        let (_dir, path) = config_file(
            "backend:\n  pipeline: {kind: github-actions, repo: octo-org/octo-repo, api_url: \"http://127.0.0.1:9\"}\n  logs: {kind: command, argv: [gh, run, watch]}\n",
        );
        let with = |more: &dyn Fn(&mut Flags), env: &[(&str, &str)]| {
            let mut flags = Flags {
                config: Some(path.clone()),
                ..Flags::default()
            };
            more(&mut flags);
            resolve(&flags, &env_of(env)).unwrap()
        };
        // The file alone: its run, and its logs.
        let s = with(&|_| {}, &[]);
        assert_eq!(s.github.unwrap().repo.value, "octo-org/octo-repo");
        assert!(s.logs.is_some());
        // `kubectl shipdeck rollout checkout`: the Rollout, the file's run
        // set aside, and the logs of that run with it.
        let s = with(&|f| f.rollout = Some("checkout".into()), &[]);
        assert!(s.github.is_none() && s.rollout.is_some());
        assert!(s.logs.is_none(), "the run's logs are not the Rollout's");
        // ... kept apart, for an inbox item's window on that repository.
        assert_eq!(s.file_github.unwrap().api_url.value, "http://127.0.0.1:9");
        // --scenario is the simulator's; $SHIPDECK_BACKEND a server's.
        let s = with(&|f| f.scenario = Some("two-person".into()), &[]);
        assert!(s.github.is_none() && s.remote.is_none());
        assert_eq!(s.sim.scenario.source, Source::Flag("--scenario"));
        let s = with(&|_| {}, &[("SHIPDECK_BACKEND", "http://127.0.0.1:7070")]);
        assert!(s.github.is_none() && s.remote.is_some());
        // A flag of the same kind keeps what the file says of the same
        // repository; the file's API is not another repository's.
        let s = with(&|f| f.github = Some("Octo-Org/octo-repo".into()), &[]);
        assert_eq!(s.github.unwrap().api_url.value, "http://127.0.0.1:9");
        let s = with(&|f| f.github = Some("octo-org/other".into()), &[]);
        assert_eq!(s.github.unwrap().api_url.value, GITHUB_API);
        // --github-api is checked as the file's api_url is: no token in
        // the clear off this machine.
        let flags = Flags {
            config: Some(path.clone()),
            github: Some("octo-org/other".into()),
            github_api: Some("http://ghe.example.com/api/v3".into()),
            ..Flags::default()
        };
        let err = resolve(&flags, &env_of(&[])).unwrap_err().to_string();
        assert!(
            err.contains("http:// would send the token unencrypted")
                && err.contains("--github-api"),
            "{err}"
        );
        // Two kinds named by flags are still two backends.
        let s = with(
            &|f| {
                f.rollout = Some("checkout".into());
                f.github = Some("octo-org/other".into());
            },
            &[],
        );
        assert!(s.github.is_some() && s.rollout.is_some());
    }

    #[test]
    fn the_inbox_lists_come_from_the_file_unless_a_flag_replaces_one() {
        let (_dir, path) = config_file(
            "inbox:\n  servers: [ {url: \"http://127.0.0.1:7070\", token_file: /t/tok} ]\n  rollouts: [ payments ]\n  github: [ {repo: octo-org/api, workflow: deploy.yml} ]\n",
        );
        let flags = Flags {
            config: Some(path.clone()),
            inbox_rollouts: vec!["checkout".into()],
            inbox_context: Some("prod".into()),
            ..Flags::default()
        };
        let s = resolve(&flags, &env_of(&[])).unwrap();
        let servers = &s.inbox.servers;
        assert_eq!(servers.source, Source::File(path.clone()));
        assert_eq!(servers.value[0].token_file, Some(PathBuf::from("/t/tok")));
        let rollouts = &s.inbox.rollouts;
        assert_eq!(rollouts.source, Source::Flag("--rollouts"));
        assert_eq!(
            rollouts.value,
            [InboxRollouts {
                namespace: "checkout".into(),
                context: Some("prod".into())
            }]
        );
        assert_eq!(s.inbox.github.value[0].api_url, GITHUB_API);
        let described = s.describe();
        assert!(
            described.contains("http://127.0.0.1:7070 (token from /t/tok)"),
            "{described}"
        );
        assert!(described.contains("checkout (prod)"), "{described}");
        assert!(
            described.contains("octo-org/api (deploy.yml)"),
            "{described}"
        );
        let bad = Flags {
            inbox_github: vec!["not a repo".into()],
            ..flags
        };
        let err = resolve(&bad, &env_of(&[])).unwrap_err().to_string();
        assert!(err.starts_with("--github: the repository"), "{err}");
        let empty = resolve(&Flags::default(), &env_of(&[])).unwrap();
        assert!(empty.inbox.is_empty() || empty.config_file.is_some());
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
            Setting::new(crate::person("from-flag"), Source::Flag("--operator"))
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
            Setting::new(crate::person("login"), Source::Default)
        );
        // A service account named as shipdeck names itself still lists,
        // reports and serves: it is marked as a login, and is no rule's
        // or the autopilot's.
        for account in ["autopilot", "shipdeck", "prometheus"] {
            let s = resolve(
                &Flags::default(),
                &env_of(&[("USER", account), ("HOME", "/nonexistent")]),
            )
            .unwrap();
            assert_eq!(s.operator.value.as_str(), format!("{account} (login)"));
            assert!(!s.operator.value.is_reserved());
        }
        // A login name no person can have is refused, with what to do.
        let err = resolve(
            &Flags::default(),
            &env_of(&[("USER", "carol\u{200b}"), ("HOME", "/nonexistent")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("your login name") && err.contains("--operator"),
            "{err}"
        );
        let err = resolve(
            &Flags::default(),
            &env_of(&[
                ("SHIPDECK_OPERATOR", "Carol\u{200b}"),
                ("HOME", "/nonexistent"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("$SHIPDECK_OPERATOR") && err.contains("U+200B"),
            "{err}"
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
    fn the_bell_is_on_unless_a_flag_the_environment_or_the_file_says_off() {
        let (_dir, path) = config_file("bell: false\n");
        let with_file = |bell| Flags {
            config: Some(path.clone()),
            bell,
            ..Flags::default()
        };
        let s = resolve(&Flags::default(), &env_of(&[("HOME", "/nonexistent")])).unwrap();
        assert_eq!(s.bell, Setting::new(true, Source::Default));
        let s = resolve(&with_file(None), &env_of(&[])).unwrap();
        assert_eq!(s.bell, Setting::new(false, Source::File(path.clone())));
        let s = resolve(&with_file(None), &env_of(&[("SHIPDECK_BELL", "true")])).unwrap();
        assert_eq!(s.bell, Setting::new(true, Source::Env("SHIPDECK_BELL")));
        let on_env = env_of(&[("SHIPDECK_BELL", "true")]);
        let s = resolve(&with_file(Some(false)), &on_env).unwrap();
        assert_eq!(s.bell, Setting::new(false, Source::Flag("--no-bell")));
        assert!(s.describe().contains("bell"));
        let err = resolve(&Flags::default(), &env_of(&[("SHIPDECK_BELL", "loud")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "$SHIPDECK_BELL=\"loud\" is not true or false"
        );
    }

    #[test]
    fn the_command_expiry_is_layered_like_every_setting_and_checked() {
        use std::time::Duration;
        let (_dir, path) = config_file("command_expiry: 45s\n");
        let with_file = |command_expiry| Flags {
            config: Some(path.clone()),
            command_expiry,
            ..Flags::default()
        };
        let env = env_of(&[("SHIPDECK_COMMAND_EXPIRY", "2m")]);
        let s = resolve(&with_file(Some(Duration::from_secs(5))), &env).unwrap();
        assert_eq!(
            s.command_expiry,
            Setting::new(Duration::from_secs(5), Source::Flag("--command-expiry"))
        );
        let s = resolve(&with_file(None), &env).unwrap();
        assert_eq!(s.command_expiry.value, Duration::from_secs(120));
        let s = resolve(&with_file(None), &env_of(&[])).unwrap();
        assert_eq!(
            s.command_expiry,
            Setting::new(Duration::from_secs(45), Source::File(path.clone()))
        );
        let s = resolve(&Flags::default(), &env_of(&[("HOME", "/nonexistent")])).unwrap();
        assert_eq!(
            s.command_expiry,
            Setting::new(Duration::from_secs(30), Source::Default)
        );
        assert!(s.describe().contains("command_expiry"));
        let err = resolve(
            &Flags::default(),
            &env_of(&[("SHIPDECK_COMMAND_EXPIRY", "0s")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "$SHIPDECK_COMMAND_EXPIRY=\"0s\": command_expiry `0s` is not from 1s to 1h"
        );
        let (_bad, bad) = config_file("command_expiry: soon\n");
        let err = resolve(
            &Flags {
                config: Some(bad.clone()),
                ..Flags::default()
            },
            &env_of(&[]),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "{}:1:17: command_expiry: `soon` is not a duration",
                bad.display()
            )),
            "{err}"
        );
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
