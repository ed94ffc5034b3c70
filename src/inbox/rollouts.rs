//! The inbox's Argo Rollouts: a namespace's Rollouts listed and watched
//! (kube's watcher: one list, then a watch that is silent while nothing
//! changes), an item for each the Rollout waits on a person for
//! ([`info::waiting_on_person`]). Whether this operator may act is asked
//! of the API server as `kubectl auth can-i patch rollouts.argoproj.io`
//! asks it (a SelfSubjectAccessReview), kept a few minutes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use jiff::SignedDuration;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::Api;
use kube::api::PostParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as Watched, watcher};
use tokio::time::Instant;

use super::{Feeder, Gone, Item, Place, backoff, do_line};
use crate::argo::cluster::{self, Cluster};
use crate::argo::info;
use crate::argo::types::{Rollout, pause_reason};
use crate::engine::waiting::Deadline;
use crate::settings::InboxRollouts;

/// How long the API server's word on whether this operator may patch
/// Rollouts is kept.
const CAN_I_FOR: Duration = Duration::from_secs(300);

/// A namespace to watch.
#[derive(Debug, Clone)]
pub(super) struct Namespace {
    namespace: String,
    context: Option<String>,
}

impl Namespace {
    pub(super) fn new(settings: &InboxRollouts) -> Namespace {
        Namespace {
            namespace: settings.namespace.clone(),
            context: settings.context.clone(),
        }
    }

    pub(super) fn name(&self) -> String {
        match &self.context {
            Some(context) => format!("rollouts in {} ({context})", self.namespace),
            None => format!("rollouts in {}", self.namespace),
        }
    }
}

/// Watches one namespace until nobody reads its feeds: connects (again,
/// backing off, when the cluster cannot be found or reached) and follows.
pub(super) async fn run(namespace: Namespace, mut feeder: Feeder) {
    let mut failures = 0;
    loop {
        let context = namespace.context.as_deref();
        match cluster::connect(context, Some(namespace.namespace.as_str())).await {
            Ok(cluster) => {
                failures = 0;
                let mut watch = Watch {
                    namespace: &namespace,
                    cluster,
                    rollouts: BTreeMap::new(),
                    can_i: None,
                };
                if watch.follow(&mut feeder).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                failures += 1;
                if feeder.trouble(&err.to_string()).await.is_err() {
                    return;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff(failures)) => {}
            () = feeder.closed() => return,
        }
    }
}

struct Watch<'a> {
    namespace: &'a Namespace,
    cluster: Cluster,
    rollouts: BTreeMap<String, Rollout>,
    /// Whether this operator may patch Rollouts here, and when asked.
    can_i: Option<(bool, Instant)>,
}

impl Watch<'_> {
    /// Follows the namespace's Rollouts; the watcher lists again and backs
    /// off by itself when the watch fails, each failure said.
    async fn follow(&mut self, feeder: &mut Feeder) -> Result<(), Gone> {
        let ns = self.namespace.namespace.clone();
        let api = Api::<Rollout>::namespaced(self.cluster.client.clone(), &ns);
        let stream = watcher(api, watcher::Config::default()).default_backoff();
        tokio::pin!(stream);
        let mut listing: Option<BTreeMap<String, Rollout>> = None;
        loop {
            let heard = tokio::select! {
                heard = stream.next() => heard,
                () = feeder.closed() => return Err(Gone),
            };
            let Some(heard) = heard else {
                return Ok(());
            };
            let settled = match heard {
                Ok(Watched::Init) => {
                    listing = Some(BTreeMap::new());
                    false
                }
                Ok(Watched::InitApply(r)) => {
                    if let Some(list) = listing.as_mut() {
                        list.insert(key(&r), r);
                    }
                    false
                }
                Ok(Watched::InitDone) => {
                    self.rollouts = listing.take().unwrap_or_default();
                    true
                }
                Ok(Watched::Apply(r)) => {
                    self.rollouts.insert(key(&r), r);
                    true
                }
                Ok(Watched::Delete(r)) => {
                    self.rollouts.remove(&key(&r));
                    true
                }
                Err(err) => {
                    let why = crate::argo::backend::watch_failure(&err, "rollouts", &ns);
                    feeder
                        .trouble(why.split(" · ").next().unwrap_or(&why))
                        .await?;
                    false
                }
            };
            if settled {
                let items = self.items().await;
                feeder.items(items).await?;
            }
        }
    }

    async fn items(&mut self) -> Vec<Item> {
        let waiting: Vec<(&Rollout, info::Wait)> = self
            .rollouts
            .values()
            .filter_map(|r| Some((r, info::waiting_on_person(r)?)))
            .collect();
        if waiting.is_empty() {
            return Vec::new();
        }
        let waiting: Vec<(Rollout, info::Wait)> =
            waiting.into_iter().map(|(r, w)| (r.clone(), w)).collect();
        let mine = self.may_patch().await;
        waiting
            .iter()
            .map(|(r, wait)| self.item(r, wait, mine))
            .collect()
    }

    fn item(&self, r: &Rollout, wait: &info::Wait, mine: bool) -> Item {
        let name = crate::model::text::clip(r.metadata.name.as_deref().unwrap_or_default(), 253);
        let ns = &self.namespace.namespace;
        let verb = if r.spec.paused { "resume" } else { "promote" };
        let mut options = vec![("--rollout", name.as_str()), ("--namespace", ns.as_str())];
        if let Some(context) = &self.namespace.context {
            options.push(("--context", context));
        }
        Item {
            place: Place::Rollout {
                context: self.namespace.context.clone(),
                namespace: ns.clone(),
                name: name.clone(),
            },
            release: format!("Rollout {name} ({ns})"),
            what: wait.reason.clone(),
            stage: info::step_text(r)
                .map(|s| format!("step {s}"))
                .unwrap_or_else(|| info::strategy(r).to_string()),
            since: wait.since,
            deadline: timed_pause_ends(r),
            mine,
            others: None,
            act: Some(do_line(verb, &options)),
        }
    }

    /// Whether this operator may patch Rollouts in the namespace, as the
    /// API server says; an API server that does not answer the question
    /// (404) or cannot be asked leaves it to the promote itself: yes.
    async fn may_patch(&mut self) -> bool {
        if let Some((may, asked)) = self.can_i
            && asked.elapsed() < CAN_I_FOR
        {
            return may;
        }
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(self.namespace.namespace.clone()),
                    verb: Some("patch".into()),
                    group: Some("argoproj.io".into()),
                    resource: Some("rollouts".into()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api = Api::<SelfSubjectAccessReview>::all(self.cluster.client.clone());
        let may = match api.create(&PostParams::default(), &review).await {
            Ok(answer) => answer.status.is_none_or(|s| s.allowed),
            Err(err) => {
                tracing::info!("cannot ask whether Rollouts may be patched: {err}");
                true
            }
        };
        self.can_i = Some((may, Instant::now()));
        may
    }
}

fn key(r: &Rollout) -> String {
    r.metadata.name.clone().unwrap_or_default()
}

/// When a timed pause step ends, for a Rollout held there (and paused by
/// hand besides).
fn timed_pause_ends(r: &Rollout) -> Option<Deadline> {
    let started = r
        .status
        .pause_conditions
        .iter()
        .find(|c| c.reason == pause_reason::CANARY_PAUSE_STEP)?
        .start_time?;
    let step = &r.spec.strategy.canary.as_ref()?.steps[info::current_step(r)?];
    let seconds = info::pause_seconds(step.pause.as_ref()?)?.ok()?;
    Some(Deadline {
        at: started
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()?,
        what: "the timed pause ends".into(),
    })
}
