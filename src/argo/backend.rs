//! The Argo Rollouts backend: one Rollout watched on its cluster (list,
//! then watch from the list's resourceVersion; a dropped watch resumes, a
//! 410 lists again), its ReplicaSets, pods and AnalysisRuns beside it, all
//! turned into release events by the [`Translator`]; and the console's
//! commands sent as the kubectl plugin sends them, each recorded on the
//! cluster with who gave it.
//!
//! Nothing here polls: the task sleeps until a watch delivers, a command
//! arrives, or a second of a counting step passes.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{FutureExt, Stream, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as Watched, watcher};
use tokio::sync::mpsc;

use super::cluster::{self, Cluster};
use super::commands::{self, Order};
use super::record::Recorder;
use super::refusal::Refusal as ClusterRefusal;
use super::translate::{Observed, Said, Translator};
use super::types::{AnalysisRun, Rollout};
use crate::backend::metrics::Reading;
use crate::backend::{Connection, Gone, Handle, ReleaseClock, Update};
use crate::engine::Verdict;
use crate::engine::policy::{Grounds, Refusal};
use crate::model::{Action, Command, EventKind, Level};

/// Which Rollout to follow, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub name: String,
    pub namespace: Option<String>,
    pub context: Option<String>,
    /// Sign-offs a promote needs (a config's `promote_gate`).
    pub gate: Option<crate::model::GatePlan>,
    /// When no promote goes out (the config's `freezes:`): in the plan,
    /// and checked before a promote is sent.
    pub freezes: Vec<crate::model::Freeze>,
}

/// The longest wait before connecting to the cluster again.
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// Starts following `target`. Call within a tokio runtime.
pub fn spawn(
    target: Target,
    label: String,
    log_capacity: usize,
    readings: Option<mpsc::Receiver<Reading>>,
) -> Handle {
    let (handle, end) = Handle::new(label, ReleaseClock::wall(), true);
    let gate = target.gate.clone();
    let freezes = target.freezes.clone();
    let task = Follower {
        target,
        tx: end.updates,
        translator: Translator::new(log_capacity)
            .with_gate(gate)
            .with_freezes(freezes),
        recorder: Recorder::default(),
        store: Store::default(),
        live: false,
        failing: None,
        readings,
        picture: Vec::new(),
        watch_failing: false,
        watch_refused: false,
        ever_live: false,
        rebuild: false,
    };
    tokio::spawn(task.run(end.commands));
    handle
}

/// What the watches have delivered so far.
#[derive(Debug, Default)]
struct Store {
    /// The Rollout's own watch (one object, by name).
    rollouts: Kept<Rollout>,
    replicasets: Kept<ReplicaSet>,
    pods: Kept<Pod>,
    runs: Kept<AnalysisRun>,
    /// The Rollout's own watch has listed at least once.
    listed: bool,
    /// The watches of other kinds that failed, and were said so.
    refused: std::collections::BTreeSet<String>,
}

/// One kind's objects by name, with the list being read again after an
/// `Init` (swapped in at `InitDone`, so a re-list never shows half).
#[derive(Debug)]
struct Kept<K> {
    now: BTreeMap<String, K>,
    relisting: Option<BTreeMap<String, K>>,
    /// Listed once (or given up on): the picture may be drawn without
    /// waiting for it.
    listed: bool,
}

impl Store {
    /// The Rollout, once listed and while it is there.
    fn rollout(&self) -> Option<&Rollout> {
        self.rollouts.now.values().next()
    }

    /// Every kind has been listed once: a window's plan is made from the
    /// whole picture (the stable version's image is its ReplicaSet's).
    fn complete(&self) -> bool {
        self.rollouts.listed && self.replicasets.listed && self.pods.listed && self.runs.listed
    }
}

impl<K> Default for Kept<K> {
    fn default() -> Self {
        Kept {
            now: BTreeMap::new(),
            relisting: None,
            listed: false,
        }
    }
}

impl<K: kube::Resource> Kept<K> {
    /// Takes one watch event; whether what is kept changed.
    fn take(&mut self, event: Watched<K>) -> bool {
        let name = |k: &K| k.meta().name.clone().unwrap_or_default();
        match event {
            Watched::Init => {
                self.relisting = Some(BTreeMap::new());
                false
            }
            Watched::InitApply(k) => {
                let list = self.relisting.get_or_insert_with(BTreeMap::new);
                list.insert(name(&k), k);
                false
            }
            Watched::InitDone => {
                self.now = self.relisting.take().unwrap_or_default();
                self.listed = true;
                true
            }
            Watched::Apply(k) => {
                self.now.insert(name(&k), k);
                true
            }
            Watched::Delete(k) => self.now.remove(&name(&k)).is_some(),
        }
    }

    /// Takes one watch event of a kind where only some objects matter (a
    /// Rollout's ReplicaSets and pods, in a namespace of many): the others
    /// are not kept, and their changes change nothing. What is kept is
    /// kept without its managed fields, which nothing here reads.
    fn take_some(&mut self, event: Watched<K>, wanted: impl Fn(&K) -> bool) -> bool {
        let event = match event {
            Watched::InitApply(k) if !wanted(&k) => return false,
            Watched::Apply(k) if !wanted(&k) => Watched::Delete(k),
            Watched::InitApply(mut k) => {
                k.meta_mut().managed_fields = None;
                Watched::InitApply(k)
            }
            Watched::Apply(mut k) => {
                k.meta_mut().managed_fields = None;
                Watched::Apply(k)
            }
            other => other,
        };
        self.take(event)
    }
}

/// A ReplicaSet a Rollout controls.
fn of_a_rollout(meta: &kube::api::ObjectMeta) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "Rollout" && o.controller == Some(true))
}

/// What woke the follower.
enum Heard {
    Rollout(Box<Result<Watched<Rollout>, watcher::Error>>),
    ReplicaSet(Box<Result<Watched<ReplicaSet>, watcher::Error>>),
    Pod(Box<Result<Watched<Pod>, watcher::Error>>),
    Run(Box<Result<Watched<AnalysisRun>, watcher::Error>>),
}

type Watches = futures_util::stream::SelectAll<Pin<Box<dyn Stream<Item = Heard> + Send>>>;

/// A command's answer from the cluster.
struct Answered {
    command: Command,
    result: Result<commands::Sent, ClusterRefusal>,
}

struct Follower {
    target: Target,
    tx: mpsc::Sender<Update>,
    translator: Translator,
    recorder: Recorder,
    store: Store,
    live: bool,
    /// The request (verb, resource) a watch last failed on, until the
    /// cluster is seen to allow it again: till then the console is not
    /// live, however much else answers.
    failing: Option<(&'static str, &'static str)>,
    /// A metrics source's readings (Prometheus), when one is configured.
    readings: Option<mpsc::Receiver<Reading>>,
    /// The picture last sent.
    picture: Vec<crate::backend::Detail>,
    /// The Rollout's own watch failed and has not delivered since: nothing
    /// else (a pod's change, a look) makes the header say live.
    watch_failing: bool,
    /// It failed because the API server refused it (not a lost link): a
    /// look that works does not mean the watch does.
    watch_refused: bool,
    /// The header has said live once: a later live is the cluster back.
    ever_live: bool,
    /// The watches must be made anew (one was refused as too old as it
    /// started).
    rebuild: bool,
}

/// The next reading of a metrics source; never, when there is none.
async fn next_reading(readings: &mut Option<mpsc::Receiver<Reading>>) -> Option<Reading> {
    match readings {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Follower {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut wait = Duration::from_secs(1);
        // Answers outlive a connection made anew: a command in flight when
        // the watches are rebuilt still gets its verdict.
        let (answers_tx, mut answers) = mpsc::unbounded_channel::<Answered>();
        loop {
            if self
                .say(Update::Connection(Connection::Connecting))
                .await
                .is_err()
            {
                return;
            }
            let cluster = match cluster::connect(
                self.target.context.as_deref(),
                self.target.namespace.as_deref(),
            )
            .await
            {
                Ok(cluster) => cluster,
                Err(err) => {
                    let why = format!("{err} · trying again in {}s", wait.as_secs());
                    if self.lost(why).await.is_err()
                        || self.refuse_while_away(&mut commands, wait).await.is_err()
                    {
                        return;
                    }
                    wait = (wait * 2).min(MOST_BACKOFF);
                    continue;
                }
            };
            wait = Duration::from_secs(1);
            let channel = (&answers_tx, &mut answers);
            if self.follow(&cluster, &mut commands, channel).await.is_err() {
                return;
            }
        }
    }

    async fn say(&self, update: Update) -> Result<(), Gone> {
        self.tx.send(update).await.map_err(|_| Gone)
    }

    async fn lost(&mut self, why: String) -> Result<(), Gone> {
        let why = crate::model::text::clip(&why, 500);
        if self.live {
            // Also a line of the release's own: journaled, and seen by
            // consoles on `serve --rollout`, whose header is the server's.
            let what = why.split(" · ").next().unwrap_or(&why).to_string();
            self.note(Level::Error, format!("lost the cluster: {what}"))
                .await?;
        }
        self.live = false;
        self.say(Update::Connection(Connection::Lost(why))).await
    }

    /// The cluster answers again: the header says live, and the log so.
    async fn back(&mut self) -> Result<(), Gone> {
        let was_lost = self.ever_live;
        self.live = true;
        self.ever_live = true;
        self.say(Update::Connection(Connection::Live)).await?;
        if was_lost {
            self.note(Level::Info, "the cluster answers again".into())
                .await?;
        }
        Ok(())
    }

    /// While there is no cluster, every command is refused at once: none
    /// waits to land on a Rollout the operator can no longer see.
    async fn refuse_while_away(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        wait: Duration,
    ) -> Result<(), Gone> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Ok(()),
                command = commands.recv() => {
                    let Some(command) = command else { return Err(Gone) };
                    let reason = "the cluster cannot be reached now; nothing was sent".to_string();
                    self.refused(&command, Refusal { grounds: Grounds::When, reason }).await?;
                }
            }
        }
    }

    /// Follows the Rollout on a connected cluster until the connection
    /// must be made again.
    async fn follow(
        &mut self,
        cluster: &Cluster,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        (answers_tx, answers): (
            &mpsc::UnboundedSender<Answered>,
            &mut mpsc::UnboundedReceiver<Answered>,
        ),
    ) -> Result<(), Gone> {
        let ns = cluster.namespace.clone();
        let name = self.target.name.clone();
        let mut watches = watches(cluster, &ns, &name);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // After a failed watch, a look at the Rollout says when the cluster
        // answers again (a resumed watch says nothing until a change).
        let mut probe = tokio::time::interval(Duration::from_secs(3));
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                heard = watches.next() => {
                    let Some(heard) = heard else { return Ok(()) };
                    let mut changed = self.hear(heard, &ns).await?;
                    // Everything already delivered is taken before drawing:
                    // a burst is one look, not one per object.
                    while let Some(Some(more)) = watches.next().now_or_never() {
                        changed |= self.hear(more, &ns).await?;
                    }
                    if changed {
                        self.look().await?;
                    }
                    if std::mem::take(&mut self.rebuild) {
                        self.store = Store::default();
                        return Ok(());
                    }
                }
                command = commands.recv() => {
                    let Some(command) = command else { return Err(Gone) };
                    self.command(cluster, command, answers_tx).await?;
                }
                Some(answered) = answers.recv() => self.answered(cluster, answered).await?,
                _ = tick.tick(), if self.counting() => {
                    self.say(Update::Clock(Timestamp::now())).await?;
                }
                reading = next_reading(&mut self.readings) => match reading {
                    Some(reading) => self.reading(reading).await?,
                    None => self.readings = None,
                },
                _ = probe.tick(), if !self.live && self.store.rollout().is_some() => {
                    self.probe(cluster).await?;
                }
            }
        }
    }

    /// The cluster answers again after a failed watch: the console is live.
    async fn probe(&mut self, cluster: &Cluster) -> Result<(), Gone> {
        let api = Api::<Rollout>::namespaced(cluster.client.clone(), &cluster.namespace);
        let Ok(got) = tokio::time::timeout(LOOK_WAIT, api.get_opt(&self.target.name)).await else {
            return self
                .lost(format!(
                    "the API server at {} gave no answer in {}s · trying again",
                    cluster.server,
                    LOOK_WAIT.as_secs()
                ))
                .await;
        };
        match got {
            Ok(Some(_)) => {
                // The request the watch failed on must be allowed again:
                // a look that works does not mean the watch does.
                if let Some((verb, resource)) = self.failing {
                    let asked =
                        tokio::time::timeout(LOOK_WAIT, allowed(cluster, verb, resource)).await;
                    match asked {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => {
                            let why = super::refusal::refusal(
                                &err,
                                verb,
                                resource,
                                &cluster.namespace,
                                "",
                            );
                            return self.lost(format!("{} · watching again", why.reason)).await;
                        }
                        Err(_) => return Ok(()),
                    }
                    self.failing = None;
                }
                self.watch_failing = false;
                self.watch_refused = false;
                self.back().await
            }
            Ok(_) => Ok(()),
            Err(err) => {
                let why = super::refusal::refusal(
                    &err,
                    "get",
                    "rollouts",
                    &cluster.namespace,
                    &self.target.name,
                );
                self.lost(format!("{} · trying again", why.reason)).await
            }
        }
    }

    /// A metrics source's reading: samples of the canary and the stable
    /// version beside what Argo's analysis measured.
    async fn reading(&mut self, reading: Reading) -> Result<(), Gone> {
        let now = Timestamp::now();
        let events =
            crate::backend::metrics::reading_events(reading, |kind| self.translator.say(kind, now));
        if events.is_empty() {
            return Ok(());
        }
        self.say(Update::Events(events)).await
    }

    /// Whether anything on screen counts seconds: a timed step.
    fn counting(&self) -> bool {
        let release = self.translator.release();
        release.status().in_flight() && release.rollout().until.is_some()
    }

    /// Takes one thing a watch said; whether the Rollout's picture changed.
    async fn hear(&mut self, heard: Heard, ns: &str) -> Result<bool, Gone> {
        let changed = match heard {
            Heard::Rollout(e) => match *e {
                Ok(event) => {
                    self.store.listed |= matches!(event, Watched::InitDone);
                    self.watch_failing = false;
                    self.watch_refused = false;
                    // Delivered: live again, even when nothing changed.
                    self.store.rollouts.take(event) || !self.live
                }
                Err(err) => return self.failed(&err, "rollouts", ns).await,
            },
            Heard::ReplicaSet(e) => match *e {
                Ok(event) => self
                    .store
                    .replicasets
                    .take_some(event, |rs| of_a_rollout(&rs.metadata)),
                Err(err) => {
                    self.store.replicasets.listed = true;
                    return self.beside(&err, "replicasets", ns).await;
                }
            },
            Heard::Pod(e) => match *e {
                Ok(event) => self.store.pods.take_some(event, |pod| {
                    super::types::pod_template_hash(&pod.metadata).is_some()
                }),
                Err(err) => {
                    self.store.pods.listed = true;
                    return self.beside(&err, "pods", ns).await;
                }
            },
            Heard::Run(e) => match *e {
                Ok(event) => self.store.runs.take(event),
                Err(err) => {
                    self.store.runs.listed = true;
                    return self.beside(&err, "analysisruns", ns).await;
                }
            },
        };
        Ok(changed)
    }

    /// A watch failed: the console says why (it is tried again, backing off).
    async fn failed(
        &mut self,
        err: &watcher::Error,
        resource: &'static str,
        ns: &str,
    ) -> Result<bool, Gone> {
        tracing::warn!("watch of {resource} failed: {err}");
        // A watch the server ended as too old is listed again at once:
        // routine, not an outage.
        if expired(err) {
            return Ok(false);
        }
        self.rebuild |= stale_start(err);
        self.watch_failing = true;
        let verb = match err {
            watcher::Error::InitialListFailed(_) => "list",
            _ => "watch",
        };
        self.failing = Some((verb, resource));
        self.watch_refused = matches!(
            err,
            watcher::Error::InitialListFailed(kube::Error::Api(_))
                | watcher::Error::WatchStartFailed(kube::Error::Api(_))
                | watcher::Error::WatchFailed(kube::Error::Api(_))
                | watcher::Error::WatchError(_)
        );
        self.lost(watch_failure(err, resource, ns)).await?;
        Ok(false)
    }

    /// A watch beside the Rollout's failed (pods forbidden, say): the
    /// Rollout is still followed; the console says once what it lacks.
    async fn beside(
        &mut self,
        err: &watcher::Error,
        resource: &str,
        ns: &str,
    ) -> Result<bool, Gone> {
        tracing::warn!("watch of {resource} failed: {err}");
        if expired(err) {
            return Ok(false);
        }
        self.rebuild |= stale_start(err);
        if !self.store.refused.contains(resource) {
            let why = watch_failure(err, resource, ns);
            let why = why.split(" · ").next().unwrap_or(&why).to_string();
            let line = format!("{why}; the Rollout is shown without its {resource}");
            // Said once the window has begun (the watch fails again on its
            // next try until then).
            if let Some(event) = self.translator.note(Level::Warn, line, Timestamp::now()) {
                self.store.refused.insert(resource.to_string());
                self.say(Update::Events(vec![event])).await?;
            }
        }
        // The picture may now be drawn without them.
        Ok(true)
    }

    /// Says what the Rollout now looks like.
    async fn look(&mut self) -> Result<(), Gone> {
        if !self.store.complete() {
            return Ok(());
        }
        let Some(rollout) = self.store.rollout().cloned() else {
            if self.store.listed {
                let why = format!(
                    "no Rollout \"{}\" in namespace {} (it may not exist yet, or was deleted); watching for it",
                    self.target.name,
                    self.target
                        .namespace
                        .as_deref()
                        .unwrap_or("(the context's)")
                );
                return self.lost(why).await;
            }
            return Ok(());
        };
        if !self.live && !self.watch_failing {
            self.back().await?;
        }
        let seen = Observed {
            rollout,
            replicasets: self.store.replicasets.now.values().cloned().collect(),
            pods: self.store.pods.now.values().cloned().collect(),
            runs: self.store.runs.now.values().cloned().collect(),
        };
        let now = Timestamp::now();
        for said in self.translator.observe(&seen, now) {
            match said {
                Said::NewWindow => self.say(Update::Reset).await?,
                Said::Events(events) => self.say(Update::Events(events)).await?,
            }
        }
        let picture = super::picture::picture(&seen, now);
        if picture != self.picture {
            self.picture = picture.clone();
            self.say(Update::Picture(picture)).await?;
        }
        Ok(())
    }

    /// A command from the console: sent to the cluster by a task of its
    /// own, so a slow API server never holds up the watches.
    async fn command(
        &mut self,
        cluster: &Cluster,
        command: Command,
        answers: &mpsc::UnboundedSender<Answered>,
    ) -> Result<(), Gone> {
        if self.target.gate.is_some() {
            match &command.action {
                Action::Approve { .. } | Action::Reject { .. } => {
                    return self.sign(cluster, command, answers).await;
                }
                Action::Advance | Action::PromoteFull => {
                    if let Err(reason) = self.translator.may_promote() {
                        let refusal = Refusal {
                            grounds: Grounds::When,
                            reason,
                        };
                        return self.refused(&command, refusal).await;
                    }
                }
                _ => {}
            }
        }
        // No promote in a freeze, nor after the window without `late`.
        if let (Action::Advance | Action::PromoteFull, Some(plan)) =
            (&command.action, self.translator.release().plan())
            && let Err(refusal) = crate::engine::policy::calendar(
                &plan.freezes,
                plan.window,
                &command.action,
                command.late,
                Timestamp::now(),
            )
        {
            return self.refused(&command, refusal).await;
        }
        // The plugin sends a retry whatever the state; a Rollout that is not
        // aborted has nothing to retry, and saying "retried" would mislead.
        if matches!(command.action, Action::Retry { .. })
            && self.store.rollout().is_some_and(|r| !r.status.abort)
        {
            let refusal = Refusal {
                grounds: Grounds::When,
                reason: "the Rollout is not aborted: there is nothing to retry".into(),
            };
            return self.refused(&command, refusal).await;
        }
        let order = match order_for(&command.action) {
            Ok(order) => order,
            Err(reason) => {
                let refusal = Refusal {
                    grounds: Grounds::When,
                    reason,
                };
                return self.refused(&command, refusal).await;
            }
        };
        self.translator
            .asked(&command, comment(&command.action), Timestamp::now());
        // The sign-offs go with this promote: a second one needs its own.
        if matches!(command.action, Action::Advance | Action::PromoteFull) {
            self.translator.spend_gate();
        }
        dispatch(cluster, &self.target.name, order, command, answers);
        Ok(())
    }

    /// A sign-off or rejection of the promote gate, kept here: the engine's
    /// policy judges it, and a rejection aborts the Rollout.
    async fn sign(
        &mut self,
        cluster: &Cluster,
        command: Command,
        answers: &mpsc::UnboundedSender<Answered>,
    ) -> Result<(), Gone> {
        match self.translator.sign(&command, Timestamp::now()) {
            Err(refusal) => self.refused(&command, refusal).await,
            Ok(events) => {
                self.say(Update::Events(events)).await?;
                let note = match &command.action {
                    Action::Reject { .. } => Some("rejected: aborting the Rollout".to_string()),
                    _ => None,
                };
                self.accepted(&command, note).await?;
                if let Action::Reject { reason, .. } = &command.action {
                    let abort = Command::new(
                        format!("{}-abort", command.id),
                        command.operator.clone(),
                        Action::Rollback {
                            reason: Some(reason.clone()),
                        },
                    );
                    self.translator
                        .asked(&abort, Some(reason.clone()), Timestamp::now());
                    dispatch(cluster, &self.target.name, Order::Abort, abort, answers);
                }
                Ok(())
            }
        }
    }

    async fn answered(&mut self, cluster: &Cluster, answered: Answered) -> Result<(), Gone> {
        let Answered { command, result } = answered;
        match result {
            Ok(sent) => {
                self.accepted(&command, Some(sent.note)).await?;
                self.record(cluster, &command).await
            }
            Err(refusal) => {
                let grounds = match refusal.kind {
                    super::refusal::RefusalKind::Forbidden => Grounds::Who,
                    _ => Grounds::When,
                };
                let refusal = Refusal {
                    grounds,
                    reason: refusal.reason,
                };
                self.refused(&command, refusal).await
            }
        }
    }

    /// Writes who did it on the cluster, where colleagues look.
    async fn record(&mut self, cluster: &Cluster, command: &Command) -> Result<(), Gone> {
        let Some(rollout) = self.store.rollout().cloned() else {
            return Ok(());
        };
        let Ok(order) = order_for(&command.action) else {
            return Ok(());
        };
        let comment = comment(&command.action);
        let recording = self.recorder.record(
            cluster,
            &rollout,
            &command.operator,
            &order,
            comment.as_deref(),
        );
        let said = match tokio::time::timeout(LOOK_WAIT, recording).await {
            Ok(said) => said,
            Err(_) => Some(format!(
                "who did it was not recorded on the cluster: the API server gave no answer in {}s",
                LOOK_WAIT.as_secs()
            )),
        };
        if let Some(why) = said {
            self.note(Level::Warn, why).await?;
        }
        Ok(())
    }

    /// An accepted command: `command_accepted` on the record, then its
    /// verdict.
    async fn accepted(&mut self, command: &Command, note: Option<String>) -> Result<(), Gone> {
        let kind = EventKind::CommandAccepted {
            command: command.clone(),
            note: note.clone(),
        };
        self.event(kind).await?;
        self.say(Update::Verdict {
            id: command.id.clone(),
            verdict: Verdict::Accepted { note },
        })
        .await
    }

    async fn refused(&mut self, command: &Command, refusal: Refusal) -> Result<(), Gone> {
        self.translator.refused(&command.id);
        // A rejection's abort that did not land leaves the gate to sign.
        if matches!(command.action, Action::Rollback { .. })
            && let Some(event) = self.translator.reopen_gate(Timestamp::now())
        {
            self.say(Update::Events(vec![event])).await?;
        }
        let kind = EventKind::CommandRejected {
            command: command.clone(),
            reason: refusal.reason.clone(),
        };
        self.event(kind).await?;
        self.say(Update::Verdict {
            id: command.id.clone(),
            verdict: Verdict::Refused(refusal),
        })
        .await
    }

    async fn event(&mut self, kind: EventKind) -> Result<(), Gone> {
        match self.translator.say(kind, Timestamp::now()) {
            Some(event) => self.say(Update::Events(vec![event])).await,
            None => Ok(()),
        }
    }

    async fn note(&mut self, level: Level, message: String) -> Result<(), Gone> {
        match self.translator.note(level, message, Timestamp::now()) {
            Some(event) => self.say(Update::Events(vec![event])).await,
            None => Ok(()),
        }
    }
}

/// How long a command may wait for the API server before it is answered
/// for: "no answer" rather than a verdict that never comes.
const COMMAND_WAIT: Duration = Duration::from_secs(30);

/// How long a look at the Rollout, or the record of who acted, may take.
const LOOK_WAIT: Duration = Duration::from_secs(10);

/// Sends an order by a task of its own; its answer comes back on `answers`,
/// within [`COMMAND_WAIT`].
fn dispatch(
    cluster: &Cluster,
    name: &str,
    order: Order,
    command: Command,
    answers: &mpsc::UnboundedSender<Answered>,
) {
    let client = cluster.clone();
    let name = name.to_string();
    let answers = answers.clone();
    tokio::spawn(async move {
        let result = match tokio::time::timeout(
            COMMAND_WAIT,
            commands::send(&client, &name, &order),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(super::refusal::Refusal::new(
                super::refusal::RefusalKind::Unreachable,
                format!(
                    "the API server at {} gave no answer in {}s; the command may or may not have landed: look at the Rollout before you try again",
                    client.server,
                    COMMAND_WAIT.as_secs()
                ),
            )),
        };
        let _ = answers.send(Answered { command, result });
    });
}

/// The comment a command carries to the cluster's record: a pause's or an
/// abort's reason.
pub fn comment(action: &Action) -> Option<String> {
    match action {
        Action::Pause { reason } | Action::Rollback { reason } => reason.clone(),
        _ => None,
    }
}

/// The order a console command stands for on a Rollout.
pub fn order_for(action: &Action) -> Result<Order, String> {
    Ok(match action {
        Action::Advance => Order::Promote,
        Action::PromoteFull => Order::PromoteFull,
        Action::Pause { .. } => Order::Pause,
        Action::Resume => Order::Resume,
        Action::Rollback { .. } => Order::Abort,
        Action::Retry { .. } => Order::Retry,
        Action::Undo { revision } => Order::Undo {
            to_revision: *revision,
        },
        Action::Approve { .. } | Action::Reject { .. } => {
            return Err("a Rollout has no gates to sign: promote (a) or abort (R) it".into());
        }
        Action::Check { .. } | Action::Uncheck { .. } => {
            return Err("a Rollout has no checklists".into());
        }
        Action::Ack { .. } => {
            return Err("a Rollout's analysis raises no alerts to acknowledge".into());
        }
    })
}

/// The watches of one Rollout: itself by name, and its namespace's
/// ReplicaSets, pods and AnalysisRuns (the translator keeps the Rollout's
/// own, by owner).
fn watches(cluster: &Cluster, ns: &str, name: &str) -> Watches {
    let client = cluster.client.clone();
    let by_name = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let rollouts = watcher(Api::<Rollout>::namespaced(client.clone(), ns), by_name)
        .default_backoff()
        .map(|e| Heard::Rollout(Box::new(e)));
    let rss = watcher(
        Api::<ReplicaSet>::namespaced(client.clone(), ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .map(|e| Heard::ReplicaSet(Box::new(e)));
    let pods = watcher(
        Api::<Pod>::namespaced(client.clone(), ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .map(|e| Heard::Pod(Box::new(e)));
    let runs = watcher(
        Api::<AnalysisRun>::namespaced(client, ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .map(|e| Heard::Run(Box::new(e)));
    let mut all: Watches = futures_util::stream::SelectAll::new();
    all.push(Box::pin(rollouts));
    all.push(Box::pin(rss));
    all.push(Box::pin(pods));
    all.push(Box::pin(runs));
    all
}

/// A watch the API server ended because its resourceVersion is too old
/// (410): kube's watcher lists again at once.
fn expired(err: &watcher::Error) -> bool {
    matches!(err, watcher::Error::WatchError(status) if status.code == 410)
}

/// A watch refused with an HTTP 410 as it starts: kube's watcher would ask
/// again with the same resourceVersion for ever; the watches are made anew.
fn stale_start(err: &watcher::Error) -> bool {
    matches!(err, watcher::Error::WatchStartFailed(kube::Error::Api(status)) if status.code == 410)
}

/// Whether the cluster now allows the request a watch failed on: a list
/// of one, or a watch started (and dropped at once).
async fn allowed(cluster: &Cluster, verb: &str, resource: &str) -> Result<(), kube::Error> {
    let client = cluster.client.clone();
    let ns = &cluster.namespace;
    match resource {
        "replicasets" => allows(Api::<ReplicaSet>::namespaced(client, ns), verb).await,
        "pods" => allows(Api::<Pod>::namespaced(client, ns), verb).await,
        "analysisruns" => allows(Api::<AnalysisRun>::namespaced(client, ns), verb).await,
        _ => allows(Api::<Rollout>::namespaced(client, ns), verb).await,
    }
}

async fn allows<K>(api: Api<K>, verb: &str) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + 'static,
{
    if verb == "list" {
        return api
            .list(&kube::api::ListParams::default().limit(1))
            .await
            .map(drop);
    }
    let params = kube::api::WatchParams::default().timeout(1);
    api.watch(&params, "0").await.map(drop)
}

/// Why a watch failed, in the operator's words.
pub(crate) fn watch_failure(err: &watcher::Error, resource: &str, ns: &str) -> String {
    let (verb, api) = match err {
        watcher::Error::InitialListFailed(e) => ("list", Some(e)),
        watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => ("watch", Some(e)),
        watcher::Error::WatchError(status) => {
            return format!(
                "the watch was ended by the API server: {} · watching again",
                crate::model::text::clip(&status.message, 300)
            );
        }
        watcher::Error::NoResourceVersion => ("watch", None),
    };
    match api {
        Some(e) => {
            let refusal = super::refusal::refusal(e, verb, resource, ns, "");
            format!("{} · watching again", refusal.reason)
        }
        None => "the API server's list carries no resourceVersion: it cannot be watched".into(),
    }
}
