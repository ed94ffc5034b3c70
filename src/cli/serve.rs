//! `shipdeck serve`: the embedded simulator over the HTTP contract, so a
//! window can be shared by several consoles and the command line.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::backend;
use crate::journal::Writer;
use crate::model::text::Clean;
use crate::server::hub::Opening;
use crate::server::listen::{self, Limits};
use crate::server::resume::{self, Rebuilt};
use crate::server::tokens::Tokens;
use crate::server::{self, Hub};
use crate::sim::Simulator;
use clap::Args;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use super::{EXIT_BAD_INPUT, RecordArgs, SimArgs, Speed, Start};

/// The runtime `serve` runs on: two worker threads, so that a round of
/// writes to a crowd of followers on one does not hold up the commands on
/// the other.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| {
            crate::errln!("shipdeck: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        })
}

/// The address `serve` listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// Options of `shipdeck serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen: HOST:PORT, or :PORT for loopback. Port 0 takes a free
    /// one. An address other than loopback needs --tokens.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: String,

    /// A YAML file of `operator: token` lines, readable by you alone. With
    /// it every request needs `Authorization: Bearer TOKEN` and the token
    /// decides who the operator is; without it clients name themselves and
    /// only loopback is served.
    #[arg(long, value_name = "PATH")]
    pub tokens: Option<PathBuf>,

    /// Start a new window even when the journal holds an unfinished one of
    /// this scenario (which is otherwise taken up where it stopped).
    #[arg(long)]
    pub fresh: bool,

    /// Let the scenario's scripted people act (carol trying to approve,
    /// dave signing …). Off by default: on a shared window the people are
    /// real, and nobody else may sign in their name.
    #[arg(long)]
    pub actors: bool,

    #[command(flatten)]
    pub sim: SimArgs,

    /// Serve an Argo Rollout instead of the simulator: consoles share it
    /// with tokens, presence and one journal, and only the server holds the
    /// cluster's credentials.
    #[command(flatten)]
    pub argo: super::argo::RolloutArgs,

    #[command(flatten)]
    pub record: RecordArgs,
}

fn bad(message: String) -> ExitCode {
    crate::errln!("shipdeck: {}", Clean(&message));
    ExitCode::from(EXIT_BAD_INPUT)
}

fn listen_address(text: &str) -> Result<SocketAddr, ExitCode> {
    let text = text.trim();
    let full = match text.strip_prefix(':') {
        Some(port) => format!("127.0.0.1:{port}"),
        None => text.replace("localhost:", "127.0.0.1:"),
    };
    full.parse().map_err(|_| {
        bad(format!(
            "--listen {text}: give HOST:PORT, like 127.0.0.1:7878, [::1]:7878 or :7878"
        ))
    })
}

pub fn run(args: &ServeArgs) -> ExitCode {
    match serve(args) {
        Ok(code) | Err(code) => code,
    }
}

fn serve(args: &ServeArgs) -> Result<ExitCode, ExitCode> {
    let (address, tokens) = access(args)?;
    args.argo.stray()?;
    let settings = super::settings(&args.record, Some(&args.sim), |flags| {
        args.argo.apply(flags)
    })?;
    if let Some(rollout) = settings.rollout.clone() {
        super::remote::no_sim_flags(&args.sim, &settings)?;
        return serve_rollout(&settings, &rollout, address, tokens);
    }
    if let Some(remote) = &settings.remote {
        crate::errln!(
            "shipdeck: note: serve runs the embedded simulator; the backend {} (from {}) is not used",
            Clean(&remote.url.value),
            Clean(&remote.url.source)
        );
    }
    let hooks = webhooks(&settings)?;
    let mut prepared = super::prepare(&settings, &args.sim, Speed::Factor(10.0), Start::Now)?;
    if !args.actors {
        prepared.scenario.script.actors.clear();
    }
    // The service's traffic is exported at /metrics.
    prepared.options.keep_traffic = true;
    let metrics = prepared.metrics.take();
    let speed = match prepared.speed {
        Speed::Factor(f) => Some(f),
        Speed::Max => None,
    };
    // Bound before anything is written: a port in use leaves no journal.
    let runtime = runtime()?;
    let listener = runtime
        .block_on(async { listen::bind(address) })
        .map_err(|err| bad(format!("cannot listen on {address}: {err}")))?;
    let dir = journal_dir(&settings)?;
    let label = prepared.label.clone();
    let release_id = prepared.scenario.plan.id.clone();
    let log = super::log_to_file(super::SERVE_LOG);
    let window = open_window(args, &settings.operator.value, &dir, prepared)?;
    let limits = Limits::of_this_process();
    runtime.block_on(async move {
        let bound = listener.local_addr().unwrap_or(address);
        tracing::info!(%bound, release = %release_id, ?limits, "serve listening");
        let (stop_tx, stop_rx) = oneshot::channel();
        let metrics_url = metrics.as_ref().map(|m| m.url().to_string());
        let readings = metrics.map(backend::metrics::spawn);
        let handle = backend::sim::spawn_fed(window.sim, speed, label.clone(), readings);
        let shown: Vec<String> = hooks.iter().map(hook_words).collect();
        let opening = Opening {
            id: release_id,
            window: window.name,
            log_capacity: settings.log_ring.value,
            history: window.history,
            answered: window.answered,
            speed,
            webhooks: outbox(hooks, bound)?,
        };
        let (hub, hub_task) = Hub::start(opening, handle, window.journal, stop_rx);
        let listening = Listening {
            bound,
            label: &label,
            speed,
            taken_up_at: window.resumed.then(|| hub.last_seq()),
            tokens: tokens.as_ref(),
            metrics_url,
            journal: &window.path,
            log: &log,
            limits,
            webhooks: &shown,
        };
        listening.announce(&hub.id);
        let served = Served {
            listener,
            hub,
            hub_task,
            stop: stop_tx,
        };
        Ok(served.until_stopped(tokens, limits, &window.path).await)
    })
}

/// `serve --rollout`: a Rollout behind the HTTP contract. The cluster keeps
/// the state, so there is nothing to take up: each start is a new window,
/// and so is each new revision of the Rollout.
fn serve_rollout(
    settings: &crate::settings::Settings,
    rollout: &crate::settings::RolloutSettings,
    address: SocketAddr,
    tokens: Option<Tokens>,
) -> Result<ExitCode, ExitCode> {
    let hooks = webhooks(settings)?;
    let target = super::argo::target(rollout, &settings.freezes.value);
    let found = super::argo::find(&target)?;
    let metrics = super::metrics_source(settings)?;
    let runtime = runtime()?;
    let listener = runtime
        .block_on(async { listen::bind(address) })
        .map_err(|err| bad(format!("cannot listen on {address}: {err}")))?;
    let dir = journal_dir(settings)?;
    let label = super::argo::label(&target, &found);
    let release_id = crate::argo::translate::release_id(&found.namespace, &target.name);
    let log = super::log_to_file(super::SERVE_LOG);
    let journal =
        Writer::create(&dir, &settings.operator.value, &label, resume::MODE).map_err(|err| {
            bad(format!(
                "cannot write the journal in {}: {err}",
                dir.display()
            ))
        })?;
    let path = journal.path().to_path_buf();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let limits = Limits::of_this_process();
    let capacity = settings.log_ring.value;
    runtime.block_on(async move {
        let bound = listener.local_addr().unwrap_or(address);
        tracing::info!(%bound, release = %release_id, ?limits, "serve listening on a Rollout");
        let (stop_tx, stop_rx) = oneshot::channel();
        let metrics_url = metrics.as_ref().map(|m| m.url().to_string());
        let readings = metrics.map(backend::metrics::spawn);
        let handle = crate::argo::backend::spawn(target, label.clone(), capacity, readings);
        let shown: Vec<String> = hooks.iter().map(hook_words).collect();
        let opening = Opening {
            id: release_id,
            window: name,
            log_capacity: capacity,
            history: Vec::new(),
            answered: Default::default(),
            speed: Some(1.0),
            webhooks: outbox(hooks, bound)?,
        };
        let (hub, hub_task) = Hub::start(opening, handle, journal, stop_rx);
        let listening = Listening {
            bound,
            label: &label,
            speed: Some(1.0),
            taken_up_at: None,
            tokens: tokens.as_ref(),
            metrics_url,
            journal: &path,
            log: &log,
            limits,
            webhooks: &shown,
        };
        listening.announce(&hub.id);
        let served = Served {
            listener,
            hub,
            hub_task,
            stop: stop_tx,
        };
        Ok(served.until_stopped(tokens, limits, &path).await)
    })
}

/// The config's webhooks, each with its secret read (a file its owner
/// alone may read).
fn webhooks(settings: &crate::settings::Settings) -> Result<Vec<server::webhooks::Hook>, ExitCode> {
    settings
        .webhooks
        .iter()
        .map(|hook| {
            let hook = &hook.value;
            let secret = server::webhooks::read_secret(&hook.secret_file).map_err(bad)?;
            Ok(server::webhooks::Hook {
                url: hook.url.clone(),
                shown: hook.shown.clone(),
                format: hook.format,
                secret,
            })
        })
        .collect()
}

/// `https://hooks.example/… (slack)`.
fn hook_words(hook: &server::webhooks::Hook) -> String {
    format!("{} ({})", hook.shown, hook.format)
}

/// The webhooks' outbox, its `act` lines naming the server as a client on
/// this machine reaches it; none without webhooks.
fn outbox(
    hooks: Vec<server::webhooks::Hook>,
    bound: SocketAddr,
) -> Result<Option<server::webhooks::Outbox>, ExitCode> {
    if hooks.is_empty() {
        return Ok(None);
    }
    let host = match bound.ip() {
        ip if ip.is_unspecified() => "THIS-HOST".to_string(),
        _ => bound.to_string(),
    };
    let server = match bound.ip().is_unspecified() {
        true => format!("http://{host}:{}", bound.port()),
        false => format!("http://{host}"),
    };
    let place = server::webhooks::Place { server };
    server::webhooks::Outbox::start(hooks, place)
        .map(Some)
        .map_err(bad)
}

/// The journal's folder, made if need be.
fn journal_dir(settings: &crate::settings::Settings) -> Result<PathBuf, ExitCode> {
    match settings.journal_folder() {
        Ok(dir) => Ok(dir.to_path_buf()),
        Err(err) => {
            crate::errln!(
                "shipdeck: cannot write the journal in {}: {}",
                Clean(settings.journal_dir.value.display()),
                Clean(&err)
            );
            Err(ExitCode::FAILURE)
        }
    }
}

/// Where to listen and who may act: an address other than loopback only
/// with tokens.
fn access(args: &ServeArgs) -> Result<(SocketAddr, Option<Tokens>), ExitCode> {
    let address = listen_address(&args.listen)?;
    let tokens = match &args.tokens {
        Some(path) => Some(Tokens::load(path).map_err(|why| bad(format!("--tokens {why}")))?),
        None => None,
    };
    if tokens.is_none() && !address.ip().is_loopback() {
        return Err(bad(format!(
            "refusing to listen on {address} without --tokens: anyone who reaches it could act as any operator.\n  \
             Give a tokens file (operator: token lines, chmod 600), or listen on loopback (127.0.0.1)."
        )));
    }
    Ok((address, tokens))
}

/// The window served: taken up from the journal where an unfinished one of
/// this scenario is (unless `--fresh`), else a new one.
struct Window {
    sim: Simulator,
    journal: Writer,
    /// Its journal's file, and the name clients know the window by.
    path: PathBuf,
    name: String,
    /// The events recorded before this start.
    history: Vec<crate::model::Event>,
    answered: crate::server::hub::Answered,
    resumed: bool,
}

fn open_window(
    args: &ServeArgs,
    operator: &crate::model::Person,
    dir: &Path,
    prepared: super::Prepared,
) -> Result<Window, ExitCode> {
    let found = if args.fresh {
        None
    } else {
        resume::find(dir, &prepared.label)
    };
    let (sim, mut journal, history, answered, resumed) = match found {
        Some((path, recorded)) => {
            let Rebuilt {
                mut sim,
                answered,
                unrecorded,
            } = resume::rebuild(prepared.scenario, prepared.options, &recorded).map_err(|why| {
                bad(format!(
                    "cannot take up the unfinished window in {}: {why}.\n  \
                     Give the --scenario, --seed and --config (its metrics source) it was recorded with, or start a new window with --fresh.",
                    path.display()
                ))
            })?;
            // The service restarts with the server: its counters start from
            // zero, as a real one's do (Prometheus's rate() copes with that;
            // it would not with counters resuming below what it last read).
            drop(sim.take_traffic());
            let mut journal = Writer::reopen(&path)
                .map_err(|err| bad(format!("cannot go on writing {}: {err}", path.display())))?;
            if let Err(err) = journal.events(&unrecorded) {
                return Err(bad(format!("cannot write {}: {err}", path.display())));
            }
            let mut history = recorded.events;
            history.extend(unrecorded);
            (sim, journal, history, answered, true)
        }
        None => {
            let journal =
                Writer::create(dir, operator, &prepared.label, resume::MODE).map_err(|err| {
                    bad(format!(
                        "cannot write the journal in {}: {err}",
                        dir.display()
                    ))
                })?;
            let sim = Simulator::new(prepared.scenario, prepared.options);
            (sim, journal, Vec::new(), Default::default(), false)
        }
    };
    let path = journal.path().to_path_buf();
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "window".into());
    let _ = journal.sync();
    Ok(Window {
        sim,
        journal,
        path,
        name,
        history,
        answered,
        resumed,
    })
}

/// What `serve` says on standard output once it listens.
struct Listening<'a> {
    bound: SocketAddr,
    label: &'a str,
    speed: Option<f64>,
    /// The seq a window taken up from its journal goes on from.
    taken_up_at: Option<u64>,
    tokens: Option<&'a Tokens>,
    metrics_url: Option<String>,
    journal: &'a Path,
    /// The diagnostics log, or why there is none.
    log: &'a Result<PathBuf, String>,
    limits: Limits,
    /// The webhooks posted to, as shown.
    webhooks: &'a [String],
}

impl Listening<'_> {
    fn announce(&self, release: &str) {
        // Names, paths and the URL come from files and flags: each is
        // cleaned where it is printed.
        let mut out = String::new();
        let bound = self.bound;
        let _ = writeln!(out, "shipdeck serve: listening on http://{bound}");
        let speed = match self.speed {
            Some(f) => format!("×{f}"),
            None => "×max".into(),
        };
        let taken_up = match self.taken_up_at {
            Some(seq) => format!(", taken up at seq {seq}"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "  release {} ({}, {speed}){taken_up}",
            Clean(release),
            Clean(self.label)
        );
        let who = match self.tokens {
            Some(tokens) => {
                let mut names: Vec<&str> = tokens.operators().map(|o| o.as_str()).collect();
                names.dedup();
                let names: Vec<String> = names.iter().map(|n| Clean(n).to_string()).collect();
                format!("tokens for {}", names.join(", "))
            }
            None => "no tokens: loopback only, clients name themselves".into(),
        };
        let _ = writeln!(out, "  {who}");
        if let Some(url) = &self.metrics_url {
            let _ = writeln!(
                out,
                "  the rules read their metrics from Prometheus at {}",
                Clean(url)
            );
        }
        for hook in self.webhooks {
            let _ = writeln!(out, "  posts what waits to the webhook {}", Clean(hook));
        }
        let _ = writeln!(out, "  journal {}", Clean(self.journal.display()));
        let _ = match self.log {
            Ok(path) => writeln!(out, "  diagnostics log {}", Clean(path.display())),
            Err(why) => writeln!(out, "  no diagnostics log: {}", Clean(why)),
        };
        let _ = writeln!(
            out,
            "  at most {} connections ({} of them event streams); a request's head within {}s",
            self.limits.connections,
            self.limits.streams,
            listen::REQUEST_WITHIN.as_secs()
        );
        // Others reach an unspecified address by this machine's name.
        let reach = if bound.ip().is_unspecified() {
            format!("THIS-HOST:{}", bound.port())
        } else {
            bound.to_string()
        };
        let with_token = if self.tokens.is_some() {
            "  (with $SHIPDECK_TOKEN set)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  open a console: shipdeck --backend http://{reach}{with_token}"
        );
        crate::out!("{out}");
    }
}

/// A hub ready to serve, and what it needs to stop.
struct Served {
    listener: tokio::net::TcpListener,
    hub: Arc<Hub>,
    hub_task: tokio::task::JoinHandle<()>,
    stop: oneshot::Sender<String>,
}

impl Served {
    /// Serves the hub until it stops (see [`until_stopped`]), then says why
    /// and where the journal is; the exit status for it.
    async fn until_stopped(
        self,
        tokens: Option<Tokens>,
        limits: Limits,
        journal: &Path,
    ) -> ExitCode {
        let watched = Arc::clone(&self.hub);
        let app = server::router(Arc::new(server::Server::new([self.hub], tokens, limits)));
        let server_task = tokio::spawn(server::listen::serve(self.listener, app, limits));
        let (ending, failed) = until_stopped(server_task, self.hub_task, &watched, self.stop).await;
        crate::errln!(
            "shipdeck serve: {}; the journal is closed: {}",
            Clean(&ending),
            Clean(journal.display())
        );
        if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Serves until a signal, a failed server or a stopped release; why it
/// ended and whether that is a failure. The hub closes the journal, and
/// the streams tell their clients why they end before the server goes.
async fn until_stopped(
    mut server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    mut hub_task: tokio::task::JoinHandle<()>,
    hub: &Hub,
    stop: oneshot::Sender<String>,
) -> (String, bool) {
    let (ending, failed, hub_done) = tokio::select! {
        served = &mut server_task => (format!("the server failed: {served:?}"), true, false),
        name = stopped() => (format!("stopped by {name}"), false, false),
        _ = &mut hub_task => {
            let why = hub.stopped();
            (why.unwrap_or_else(|| "the release stopped".into()), true, true)
        }
    };
    let _ = stop.send(ending.clone());
    if !hub_done {
        let _ = hub_task.await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server_task.abort();
    (ending, failed)
}

/// Waits for the first of SIGTERM, SIGINT and SIGHUP; its name.
async fn stopped() -> &'static str {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
        _ = hup.recv() => "SIGHUP",
    }
}
