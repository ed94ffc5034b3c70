//! A Rollout as the backend: `--rollout NAME [--namespace NS] [--context
//! CTX] [--kubeconfig FILE]` for the console, `events`, `do` and `serve`,
//! and `shipdeck rollouts`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clap_complete::engine::ArgValueCompleter;
use jiff::Timestamp;
use kube::Api;
use kube::api::ListParams;

use super::EXIT_BAD_INPUT;
use crate::argo::backend::Target;
use crate::argo::cluster::{self, Cluster};
use crate::argo::types::Rollout;
use crate::model::text::Clean;
use crate::settings::{Flags, RolloutSettings};

/// Where a Rollout is: shared by the console, `events`, `do` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct RolloutArgs {
    /// An Argo Rollouts Rollout to follow and drive, on the cluster kubectl
    /// would use ($KUBECONFIG, ~/.kube/config, or the pod's service account),
    /// instead of the embedded simulator.
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(super::complete::rollouts))]
    pub rollout: Option<String>,

    /// The Rollout's namespace [default: the context's, else default].
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,

    /// The kubeconfig context to use [default: its current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig file to use, alone, as kubectl's --kubeconfig
    /// [default: $KUBECONFIG's files, else ~/.kube/config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

impl RolloutArgs {
    pub fn apply(&self, flags: &mut Flags) {
        flags.rollout = self.rollout.clone();
        flags.namespace = self.namespace.clone();
        flags.context = self.context.clone();
    }

    /// `--namespace`, `--context` or `--kubeconfig` without `--rollout`
    /// would be ignored: refused instead. Takes `--kubeconfig` for the run.
    pub fn stray(&self) -> Result<(), ExitCode> {
        let given = self.namespace.is_some() || self.context.is_some() || self.kubeconfig.is_some();
        if self.rollout.is_none() && given {
            crate::errln!(
                "shipdeck: --namespace, --context and --kubeconfig say where a Rollout is: give --rollout NAME too"
            );
            return Err(ExitCode::from(EXIT_BAD_INPUT));
        }
        take_kubeconfig(self.kubeconfig.as_deref())
    }
}

/// `--kubeconfig FILE`: that file, alone, for every connection of the run;
/// one that cannot be read is said now.
fn take_kubeconfig(file: Option<&Path>) -> Result<(), ExitCode> {
    let Some(file) = file else {
        return Ok(());
    };
    if let Err(err) = std::fs::File::open(file) {
        crate::errln!(
            "shipdeck: --kubeconfig {}: {}",
            Clean(file.display()),
            Clean(&err)
        );
        return Err(ExitCode::from(EXIT_BAD_INPUT));
    }
    cluster::use_kubeconfig(file.to_path_buf());
    Ok(())
}

/// The Rollout the settings name.
pub fn target(settings: &RolloutSettings, freezes: &[crate::model::Freeze]) -> Target {
    Target {
        freezes: freezes.to_vec(),
        name: settings.rollout.value.clone(),
        namespace: settings.namespace.as_ref().map(|s| s.value.clone()),
        context: settings.context.as_ref().map(|s| s.value.clone()),
        gate: settings.promote_gate.as_ref().map(|g| g.value.clone()),
    }
}

/// A runtime for one look at the cluster from the command line.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| {
            crate::errln!("shipdeck: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        })
}

/// The cluster, or why not, said and as an exit status.
async fn reach(context: Option<&str>, namespace: Option<&str>) -> Result<Cluster, ExitCode> {
    cluster::connect_interactive(context, namespace)
        .await
        .map_err(|err| {
            crate::errln!("shipdeck: {}", Clean(&err));
            ExitCode::from(EXIT_BAD_INPUT)
        })
}

/// Where the Rollout was found: its namespace and the cluster's address.
#[derive(Debug, Clone)]
pub struct Found {
    pub namespace: String,
    pub server: String,
    pub context: Option<String>,
}

/// Looks for the Rollout once before the console takes the terminal, so a
/// wrong name, context or permission is said plainly, with a clean exit.
pub fn find(target: &Target) -> Result<Found, ExitCode> {
    let runtime = runtime()?;
    let found = runtime.block_on(async {
        let cluster = reach(target.context.as_deref(), target.namespace.as_deref()).await?;
        let api = Api::<Rollout>::namespaced(cluster.client.clone(), &cluster.namespace);
        match api.get_opt(&target.name).await {
            Ok(Some(_)) => Ok(Found {
                namespace: cluster.namespace.clone(),
                server: cluster.server.clone(),
                context: cluster.context.clone(),
            }),
            Ok(None) => {
                let names: Vec<String> = api
                    .list(&ListParams::default().limit(20))
                    .await
                    .map(|list| {
                        list.items
                            .iter()
                            .filter_map(|r| r.metadata.name.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let there = if names.is_empty() {
                    "it has none".to_string()
                } else {
                    format!("it has {}", Clean(&names.join(", ")))
                };
                crate::errln!(
                    "shipdeck: no Rollout \"{}\" in namespace {} ({there}); see {}",
                    Clean(&target.name),
                    Clean(&cluster.namespace),
                    super::list_rollouts_command()
                );
                Err(ExitCode::from(EXIT_BAD_INPUT))
            }
            Err(err) => {
                let refusal = crate::argo::refusal::refusal(
                    &err,
                    "get",
                    "rollouts",
                    &cluster.namespace,
                    &target.name,
                );
                crate::errln!("shipdeck: {}", Clean(&refusal.reason));
                Err(ExitCode::from(EXIT_BAD_INPUT))
            }
        }
    });
    runtime.shutdown_background();
    found
}

/// The header's name for the Rollout: `argo:payments/checkout`.
pub fn label(target: &Target, found: &Found) -> String {
    format!("argo:{}/{}", found.namespace, target.name)
}

/// How `shipdeck rollouts` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Options of `shipdeck rollouts`.
#[derive(Debug, Clone, Args)]
pub struct RolloutsArgs {
    /// The namespace to list [default: the context's, else default].
    #[arg(
        long,
        short = 'n',
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// List the Rollouts of every namespace.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,

    /// The kubeconfig context to use [default: its current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The kubeconfig file to use, alone [default: $KUBECONFIG's files,
    /// else ~/.kube/config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// A table for people, or JSON for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `shipdeck rollouts`: the Rollouts there are, those waiting on a person
/// first.
pub fn rollouts(args: &RolloutsArgs) -> ExitCode {
    if let Err(code) = take_kubeconfig(args.kubeconfig.as_deref()) {
        return code;
    }
    if let Some(ns) = &args.namespace
        && let Err(why) = crate::config::kube_name(ns, "the namespace", false)
    {
        crate::errln!("shipdeck: {why}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let listed = runtime.block_on(async {
        let cluster = reach(args.context.as_deref(), args.namespace.as_deref()).await?;
        let api = if args.all_namespaces {
            Api::<Rollout>::all(cluster.client.clone())
        } else {
            Api::<Rollout>::namespaced(cluster.client.clone(), &cluster.namespace)
        };
        let namespace = (!args.all_namespaces).then(|| cluster.namespace.clone());
        list_all(&api)
            .await
            .map_err(|err| {
                let refusal = crate::argo::refusal::refusal(
                    &err,
                    "list",
                    "rollouts",
                    namespace.as_deref().unwrap_or(""),
                    "",
                );
                crate::errln!("shipdeck: {}", Clean(&refusal.reason));
                ExitCode::from(EXIT_BAD_INPUT)
            })
            .map(|items| (items, namespace))
    });
    runtime.shutdown_background();
    let (items, namespace) = match listed {
        Ok(listed) => listed,
        Err(code) => return code,
    };
    let now = Timestamp::now();
    let rows: Vec<crate::argo::list::Row> =
        items.iter().map(crate::argo::list::Row::from).collect();
    if rows.is_empty() {
        match &namespace {
            Some(ns) => crate::errln!("No resources found in {} namespace.", Clean(ns)),
            None => crate::errln!("No resources found."),
        }
        return ExitCode::SUCCESS;
    }
    match args.format {
        Format::Table => crate::out!(
            "{}",
            crate::argo::list::table(&rows, args.all_namespaces, now)
        ),
        Format::Json => crate::outln!("{}", crate::argo::list::json(&rows, now)),
    }
    ExitCode::SUCCESS
}

/// Every Rollout the API lists, page by page (500 a page, as kubectl).
async fn list_all(api: &Api<Rollout>) -> Result<Vec<Rollout>, kube::Error> {
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(500);
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
        // Enough for any screen, and a bound on a server that never ends.
        if items.len() >= 100_000 {
            return Ok(items);
        }
    }
}

/// `shipdeck do VERB --rollout NAME`: one command sent as the kubectl plugin
/// sends it, journaled, and recorded on the cluster with who gave it.
/// 0 accepted, 3 refused by the cluster, 2 usage or no cluster.
pub fn send(
    settings: &crate::settings::Settings,
    rollout: &RolloutSettings,
    command: crate::model::Command,
    what: &str,
) -> Result<ExitCode, ExitCode> {
    let target = target(rollout, &settings.freezes.value);
    if let Some(gate) = &target.gate
        && matches!(
            command.action,
            crate::model::Action::Advance | crate::model::Action::PromoteFull
        )
    {
        crate::errln!(
            "shipdeck: {what}: this Rollout's config asks for {} sign-offs on {} before a promote, and one shell command cannot keep them: promote through `shipdeck serve --rollout {}`, where they are kept",
            gate.required,
            Clean(&gate.name),
            Clean(&target.name)
        );
        return Err(ExitCode::from(super::remote::EXIT_REFUSED));
    }
    // No promote in a freeze: refused before anything is sent.
    if matches!(
        command.action,
        crate::model::Action::Advance | crate::model::Action::PromoteFull
    ) && let Err(refusal) = crate::engine::policy::calendar(
        &settings.freezes.value,
        None,
        &command.action,
        command.late,
        jiff::Timestamp::now(),
    ) {
        crate::errln!("shipdeck: {what} refused: {}", Clean(&refusal.reason));
        return Err(ExitCode::from(super::remote::EXIT_REFUSED));
    }
    let order = crate::argo::backend::order_for(&command.action).map_err(|why| {
        crate::errln!("shipdeck: {what}: {why}");
        ExitCode::from(EXIT_BAD_INPUT)
    })?;
    // A Rollout that is not there is bad usage (exit 2), said as the
    // console says it, not a refusal by the cluster.
    find(&target)?;
    let runtime = runtime()?;
    let outcome = runtime.block_on(async {
        let cluster = reach(target.context.as_deref(), target.namespace.as_deref()).await?;
        let label = format!("argo:{}/{}", cluster.namespace, target.name);
        let mut journal = super::create_journal(settings, &command.operator, &label, "do")?;
        if let Err(err) = journal.command(&command) {
            crate::errln!("shipdeck: the journal cannot be written ({err}); nothing was sent");
            return Err(ExitCode::FAILURE);
        }
        let sent = crate::argo::commands::send(&cluster, &target.name, &order).await;
        let verdict = match &sent {
            Ok(sent) => crate::engine::Verdict::Accepted {
                note: Some(sent.note.clone()),
            },
            Err(refusal) => crate::engine::Verdict::Refused(crate::engine::policy::Refusal {
                grounds: crate::engine::policy::Grounds::When,
                reason: refusal.reason.clone(),
            }),
        };
        let written = journal.verdict(&command.id, &verdict);
        let mut recorded = None;
        if sent.is_ok()
            && let Ok(Some(rollout)) =
                Api::<Rollout>::namespaced(cluster.client.clone(), &cluster.namespace)
                    .get_opt(&target.name)
                    .await
        {
            let comment = crate::argo::backend::comment(&command.action);
            recorded = crate::argo::record::Recorder::default()
                .record(
                    &cluster,
                    &rollout,
                    &command.operator,
                    &order,
                    comment.as_deref(),
                )
                .await;
        }
        let _ = journal.close("sent");
        if let Err(err) = written {
            crate::errln!("shipdeck: the journal cannot be written: {err}");
        }
        Ok((cluster.namespace.clone(), sent, recorded))
    });
    runtime.shutdown_background();
    let (namespace, sent, recorded) = outcome?;
    let name = Clean(&target.name);
    let operator = Clean(&command.operator);
    if let Some(why) = recorded {
        crate::errln!("shipdeck: note: {}", Clean(&why));
    }
    match sent {
        Ok(sent) => {
            crate::outln!(
                "rollout '{name}' in {}: {what} (as {operator}): {}",
                Clean(&namespace),
                Clean(&sent.note)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(refusal) => {
            crate::errln!(
                "rollout '{name}' in {}: {what} refused (as {operator}): {}",
                Clean(&namespace),
                Clean(&refusal.reason)
            );
            Ok(ExitCode::from(super::remote::EXIT_REFUSED))
        }
    }
}

/// `shipdeck events --rollout NAME`: the Rollout's release as JSON lines,
/// journaled, until the window reaches a final state (succeeded, or rolled
/// back by an abort), as `events` does for any release.
pub fn events(
    settings: &crate::settings::Settings,
    rollout: &RolloutSettings,
) -> Result<ExitCode, ExitCode> {
    let target = target(rollout, &settings.freezes.value);
    let found = find(&target)?;
    let label = label(&target, &found);
    let capacity = settings.log_ring.value;
    let runtime = runtime()?;
    let words = super::events::Words {
        new_window: "a new window of the Rollout began",
        back: "the cluster answers again",
    };
    super::events::follow_handle(settings, &label, runtime, words, |label| {
        crate::argo::backend::spawn(target, label, capacity, None)
    })
}
