//! Finding the cluster as kubectl does: the kubeconfig files of
//! `$KUBECONFIG` (a list, the first file to set a value wins; files that do
//! not exist are skipped) or `~/.kube/config`, the `--context` or the
//! current one, and the pod's service account when there is no kubeconfig
//! at all. The namespace is the flag's, else the context's, else
//! `default`.

use std::fmt;
use std::path::{Path, PathBuf};

use hyper::header::{HeaderValue, USER_AGENT};
use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig};

use crate::model::text::{Clean, clip};

/// How much of an exec plugin's stderr a sentence quotes.
const STDERR_CLIP: usize = 300;

/// A cluster shipdeck can talk to, and what the header says about it.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
    /// The kubeconfig context, `None` inside a pod.
    pub context: Option<String>,
    /// The API server's URL, for the header.
    pub server: String,
    /// The kubeconfig user of the context, when it names one.
    pub user: Option<String>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("namespace", &self.namespace)
            .field("context", &self.context)
            .field("server", &self.server)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why shipdeck could not find or reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterError {
    /// No kubeconfig file exists and this is not a pod.
    NoKubeconfig { looked: Vec<PathBuf> },
    /// A kubeconfig file could not be read or parsed, or names a cluster
    /// that is not in it.
    BadKubeconfig { why: String },
    /// The context asked for (or the current one) is not in the kubeconfig.
    NoContext {
        wanted: Option<String>,
        contexts: Vec<String>,
    },
    /// The exec credential plugin failed.
    ExecPlugin { command: String, stderr: String },
    /// The API server did not answer.
    Unreachable { server: String, why: String },
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::NoKubeconfig { looked } => {
                let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "no kubeconfig found (looked in {}) and not running in a cluster \
                     (KUBERNETES_SERVICE_HOST is not set)",
                    Clean(&looked.join(", "))
                )
            }
            ClusterError::BadKubeconfig { why } => write!(f, "kubeconfig: {}", Clean(why)),
            ClusterError::NoContext { wanted, contexts } => {
                match wanted {
                    Some(name) => {
                        write!(f, "context \"{}\" not found in the kubeconfig", Clean(name))?
                    }
                    None => write!(f, "the kubeconfig has no current context; pass --context")?,
                }
                if contexts.is_empty() {
                    write!(f, " (it has no contexts)")
                } else {
                    write!(f, " (contexts: {})", Clean(&contexts.join(", ")))
                }
            }
            ClusterError::ExecPlugin { command, stderr } => {
                write!(f, "the credential plugin {} failed", Clean(command))?;
                if !stderr.is_empty() {
                    write!(f, ": {}", Clean(stderr))?;
                }
                Ok(())
            }
            ClusterError::Unreachable { server, why } => {
                write!(
                    f,
                    "cannot reach the API server at {}: {}",
                    Clean(server),
                    Clean(why)
                )
            }
        }
    }
}

impl std::error::Error for ClusterError {}

/// The cluster the kubeconfig (or the pod) points at, with a client that
/// sends shipdeck's User-Agent. Asks the server for its version once, so
/// that a server that cannot be reached is said here, before the console
/// takes the terminal. An exec credential plugin runs now and never reads
/// the terminal (the console owns it); see [`connect_interactive`].
pub async fn connect(
    context: Option<&str>,
    namespace: Option<&str>,
) -> Result<Cluster, ClusterError> {
    connect_from(&kubeconfig_paths(), context, namespace).await
}

/// [`connect`] from a shell, before any screen is drawn: an exec credential
/// plugin that asks (an MFA code, a device login) may use the terminal, as
/// it may under kubectl; most cache what they get, so the console's own
/// connection after it needs no prompt.
pub async fn connect_interactive(
    context: Option<&str>,
    namespace: Option<&str>,
) -> Result<Cluster, ClusterError> {
    connect_as(&kubeconfig_paths(), context, namespace, true).await
}

/// [`connect`] with the kubeconfig files given (`$KUBECONFIG`'s list, or
/// `~/.kube/config`, in [`connect`]); files that do not exist are skipped.
pub async fn connect_from(
    kubeconfigs: &[PathBuf],
    context: Option<&str>,
    namespace: Option<&str>,
) -> Result<Cluster, ClusterError> {
    connect_as(kubeconfigs, context, namespace, false).await
}

async fn connect_as(
    kubeconfigs: &[PathBuf],
    context: Option<&str>,
    namespace: Option<&str>,
    interactive: bool,
) -> Result<Cluster, ClusterError> {
    let found = find_config(kubeconfigs, context).await?;
    let mut config = found.config;
    config.headers.push((USER_AGENT, user_agent()));
    if let Some(exec) = config.auth_info.exec.as_mut().filter(|_| !interactive) {
        // kube runs the plugin again whenever its token expires, while the
        // console owns the terminal: an interactive plugin would read the
        // keys meant for the console and write over the screen. Never
        // gives it a closed stdin and captures its stderr instead, which
        // also puts that stderr into the error below.
        exec.interactive_mode = Some(ExecInteractiveMode::Never);
    }
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let exec = exec_command(&config);
    let namespace = namespace
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = kube::Client::try_from(config).map_err(|e| client_error(&e, &server, &exec))?;
    if let Err(e) = client.apiserver_version().await {
        // Any answer from the server, even a refusal, means it is there.
        if !matches!(e, kube::Error::Api(_)) {
            return Err(client_error(&e, &server, &exec));
        }
    }
    Ok(Cluster {
        client,
        namespace,
        context: found.context,
        server,
        user: found.user,
    })
}

/// `shipdeck/<version> (<os>/<arch>)`, as kubectl writes its own.
pub fn user_agent() -> HeaderValue {
    let text = format!(
        "shipdeck/{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        go_arch(std::env::consts::ARCH)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("shipdeck"))
}

/// Rust's architecture names in Go's spelling, which kubectl's header uses.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

struct Found {
    config: kube::Config,
    context: Option<String>,
    user: Option<String>,
}

async fn find_config(looked: &[PathBuf], context: Option<&str>) -> Result<Found, ClusterError> {
    let existing: Vec<&PathBuf> = looked.iter().filter(|p| p.is_file()).collect();
    if existing.is_empty() {
        if context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
            let config = kube::Config::incluster().map_err(|e| ClusterError::BadKubeconfig {
                why: format!("in-cluster: {e}"),
            })?;
            return Ok(Found {
                config,
                context: None,
                user: None,
            });
        }
        return Err(ClusterError::NoKubeconfig {
            looked: looked.to_vec(),
        });
    }
    let mut merged = Kubeconfig::default();
    for path in existing {
        merged = merged.merge(read(path)?).map_err(bad)?;
    }
    from_kubeconfig(merged, context).await
}

/// The kubeconfig `--kubeconfig` named, for the whole run.
static GIVEN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// `--kubeconfig FILE`, as kubectl's: that file alone is read, whatever
/// `$KUBECONFIG` says. Said before the first connection; a second call
/// changes nothing.
pub fn use_kubeconfig(path: PathBuf) {
    let _ = GIVEN.set(path);
}

/// The kubeconfig `--kubeconfig` named, else the files `$KUBECONFIG`
/// lists (empty entries skipped), else `~/.kube/config`.
pub fn kubeconfig_paths() -> Vec<PathBuf> {
    if let Some(given) = GIVEN.get() {
        return vec![given.clone()];
    }
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return paths;
        }
    }
    std::env::home_dir()
        .map(|h| vec![h.join(".kube").join("config")])
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<Kubeconfig, ClusterError> {
    Kubeconfig::read_from(path).map_err(|e| ClusterError::BadKubeconfig {
        why: format!("{}: {e}", path.display()),
    })
}

fn bad(e: impl fmt::Display) -> ClusterError {
    ClusterError::BadKubeconfig { why: e.to_string() }
}

async fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    context: Option<&str>,
) -> Result<Found, ClusterError> {
    let contexts: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let wanted = context
        .map(str::to_owned)
        .or_else(|| kubeconfig.current_context.clone().filter(|c| !c.is_empty()));
    let Some(name) = wanted.filter(|w| contexts.contains(w)) else {
        return Err(ClusterError::NoContext {
            wanted: context
                .map(str::to_owned)
                .or(kubeconfig.current_context.clone()),
            contexts,
        });
    };
    let user = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.user.clone());
    let options = KubeConfigOptions {
        context: Some(name.clone()),
        cluster: None,
        user: None,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(bad)?;
    Ok(Found {
        config,
        context: Some(name),
        user,
    })
}

/// A client that could not be built or whose first request failed: the
/// exec plugin's failure when it was that (named by `exec`, its command
/// and arguments), else the server is unreachable.
fn client_error(e: &kube::Error, server: &str, exec: &str) -> ClusterError {
    use kube::client::AuthError;
    let plugin = |stderr: String| ClusterError::ExecPlugin {
        command: exec.to_owned(),
        stderr: clip(stderr.trim(), STDERR_CLIP),
    };
    match e {
        kube::Error::Auth(AuthError::AuthExecRun { out, .. }) => {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if stderr.trim().is_empty() {
                plugin(format!("exit status {}", out.status))
            } else {
                plugin(stderr)
            }
        }
        kube::Error::Auth(AuthError::AuthExecStart(io)) => {
            plugin(format!("could not be started: {io}"))
        }
        kube::Error::Auth(
            other @ (AuthError::AuthExecParse(_)
            | AuthError::AuthExec(_)
            | AuthError::ExecPluginFailed),
        ) => plugin(other.to_string()),
        kube::Error::Auth(other) => ClusterError::BadKubeconfig {
            why: other.to_string(),
        },
        other => ClusterError::Unreachable {
            server: server.to_owned(),
            why: clip(&crate::argo::refusal::transport_cause(other), STDERR_CLIP),
        },
    }
}

/// An exec plugin's command line as the kubeconfig writes it.
fn exec_command(config: &kube::Config) -> String {
    let Some(exec) = &config.auth_info.exec else {
        return String::new();
    };
    let mut words = vec![exec.command.clone().unwrap_or_default()];
    words.extend(exec.args.iter().flatten().cloned());
    words.join(" ")
}
