//! Who did what, written on the cluster itself: the API server knows only
//! the credentials a command came with (often one shared account), so
//! after a command lands shipdeck leaves two traces naming the person:
//!
//! - a core/v1 Event on the Rollout (`kubectl describe rollout` and
//!   `kubectl get events` show it; it expires with the cluster's event TTL,
//!   an hour by default), needing `create` on `events` in the core group;
//! - the annotation `shipdeck.dev/last-action` on the Rollout, a small JSON
//!   `{"by","action","at","comment"}` that stays until the next action, so
//!   another console (or `kubectl get -o yaml`) sees who acted last after
//!   the Event is gone; it needs the `patch` on `rollouts` the command
//!   itself needed, and changes metadata only (no new generation).
//!
//! Both are written; when one is refused the other is still tried.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::argo::cluster::Cluster;
use crate::argo::commands::Order;
use crate::argo::refusal::{Asked, Refusal, RefusalKind, refusal_on};
use crate::argo::types::Rollout;
use crate::model::names::Person;
use crate::model::text::clip;

/// The annotation that names who acted last on a Rollout.
pub const LAST_ACTION: &str = "shipdeck.dev/last-action";
/// The component shipdeck's Events come from.
pub const COMPONENT: &str = "shipdeck";
/// The longest comment an Event or the annotation carries (client-go's
/// recorder clips an Event's message at 1024 bytes).
const COMMENT_MAX: usize = 900;

/// The Event's reason for an order: `ShipdeckPromote`, `ShipdeckAbort`, …
pub fn reason(order: &Order) -> &'static str {
    match order {
        Order::Promote => "ShipdeckPromote",
        Order::PromoteFull => "ShipdeckPromoteFull",
        Order::Pause => "ShipdeckPause",
        Order::Resume => "ShipdeckResume",
        Order::Abort => "ShipdeckAbort",
        Order::Retry => "ShipdeckRetry",
        Order::Undo { .. } => "ShipdeckUndo",
    }
}

/// What the order did, as the Event's message says it: `promoted`.
pub fn done(order: &Order) -> &'static str {
    match order {
        Order::Promote => "promoted",
        Order::PromoteFull => "fully promoted",
        Order::Pause => "paused",
        Order::Resume => "resumed",
        Order::Abort => "aborted",
        Order::Retry => "retried",
        Order::Undo { .. } => "undone",
    }
}

/// `promoted by dave via shipdeck: <comment>`.
pub fn message(who: &Person, order: &Order, comment: Option<&str>) -> String {
    match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => format!(
            "{} by {who} via shipdeck: {}",
            done(order),
            clip(c, COMMENT_MAX)
        ),
        None => format!("{} by {who} via shipdeck", done(order)),
    }
}

/// The Event shipdeck writes for `order` on `rollout`, at `now`.
pub fn event(
    rollout: &Rollout,
    namespace: &str,
    who: &Person,
    order: &Order,
    comment: Option<&str>,
    now: Timestamp,
) -> Event {
    let name = rollout.metadata.name.clone().unwrap_or_default();
    let warning = matches!(order, Order::Abort | Order::Undo { .. });
    Event {
        metadata: ObjectMeta {
            // client-go's recorder names an Event `<object>.<unix nanos, hex>`.
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("argoproj.io/v1alpha1".to_owned()),
            kind: Some("Rollout".to_owned()),
            name: Some(name),
            namespace: Some(namespace.to_owned()),
            uid: rollout.metadata.uid.clone(),
            resource_version: rollout.metadata.resource_version.clone(),
            field_path: None,
        },
        reason: Some(reason(order).to_owned()),
        message: Some(message(who, order, comment)),
        type_: Some(if warning { "Warning" } else { "Normal" }.to_owned()),
        source: Some(EventSource {
            component: Some(COMPONENT.to_owned()),
            host: None,
        }),
        reporting_component: Some(COMPONENT.to_owned()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        action: Some(order.word().to_owned()),
        ..Event::default()
    }
}

/// The merge patch that sets [`LAST_ACTION`].
pub fn annotation_patch(
    who: &Person,
    order: &Order,
    comment: Option<&str>,
    now: Timestamp,
) -> serde_json::Value {
    let comment = comment
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| clip(c, COMMENT_MAX));
    let value = json!({
        "by": who.as_str(),
        "action": order.word(),
        "at": now.to_string(),
        "comment": comment,
    });
    json!({"metadata": {"annotations": {LAST_ACTION: value.to_string()}}})
}

/// Writes the Event and the annotation for `order`, done by `who`. The
/// first refusal is returned, after both were tried.
pub async fn record(
    cluster: &Cluster,
    rollout: &Rollout,
    who: &Person,
    order: &Order,
    comment: Option<&str>,
) -> Result<(), Refusal> {
    let event = write_event(cluster, rollout, who, order, comment).await;
    let note = write_annotation(cluster, rollout, who, order, comment).await;
    event.and(note)
}

async fn write_event(
    cluster: &Cluster,
    rollout: &Rollout,
    who: &Person,
    order: &Order,
    comment: Option<&str>,
) -> Result<(), Refusal> {
    let ns = cluster.namespace.as_str();
    let api: kube::Api<Event> = kube::Api::namespaced(cluster.client.clone(), ns);
    let event = event(rollout, ns, who, order, comment, Timestamp::now());
    match api.create(&PostParams::default(), &event).await {
        Ok(_) => Ok(()),
        Err(e) => Err(refusal_on(
            cluster,
            &e,
            Asked {
                verb: "create",
                resource: "events",
                namespace: ns,
                name: "",
            },
        )),
    }
}

async fn write_annotation(
    cluster: &Cluster,
    rollout: &Rollout,
    who: &Person,
    order: &Order,
    comment: Option<&str>,
) -> Result<(), Refusal> {
    let ns = cluster.namespace.as_str();
    let name = rollout.metadata.name.as_deref().unwrap_or_default();
    let api: kube::Api<Rollout> = kube::Api::namespaced(cluster.client.clone(), ns);
    let patch = Patch::Merge(annotation_patch(who, order, comment, Timestamp::now()));
    match api.patch(name, &PatchParams::default(), &patch).await {
        Ok(_) => Ok(()),
        Err(e) => Err(refusal_on(
            cluster,
            &e,
            Asked {
                verb: "patch",
                resource: "rollouts",
                namespace: ns,
                name,
            },
        )),
    }
}

/// Records every command and says a refusal to record once: after the
/// cluster forbids the Events (or the annotation), that one is not tried
/// again and its sentence is not repeated; any other failure is said each
/// time.
#[derive(Debug, Default)]
pub struct Recorder {
    events_forbidden: bool,
    annotation_forbidden: bool,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Records `order`; the sentence to show when this record was refused
    /// in a way not said before, else `None`.
    pub async fn record(
        &mut self,
        cluster: &Cluster,
        rollout: &Rollout,
        who: &Person,
        order: &Order,
        comment: Option<&str>,
    ) -> Option<String> {
        let mut said = Vec::new();
        if !self.events_forbidden
            && let Err(r) = write_event(cluster, rollout, who, order, comment).await
        {
            self.events_forbidden |= r.kind == RefusalKind::Forbidden;
            said.push(format!("who acted was not recorded as an Event: {r}"));
        }
        if !self.annotation_forbidden
            && let Err(r) = write_annotation(cluster, rollout, who, order, comment).await
        {
            self.annotation_forbidden |= r.kind == RefusalKind::Forbidden;
            said.push(format!("who acted was not recorded on the Rollout: {r}"));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// Whether the cluster forbade both records, so none is tried.
    pub fn silenced(&self) -> bool {
        self.events_forbidden && self.annotation_forbidden
    }
}
