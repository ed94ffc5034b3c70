//! The object store: collections, the global resourceVersion, the kept
//! watch history, and the test controls' switches.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value, json};

/// How many write events a watch can resume from before it gets a 410.
const HISTORY_LIMIT: usize = 10_000;

/// One kind of object the server serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceDef {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub kind: String,
    pub status_subresource: bool,
}

impl ResourceDef {
    fn new(group: &str, version: &str, plural: &str, kind: &str, status: bool) -> Self {
        ResourceDef {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            kind: kind.into(),
            status_subresource: status,
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `rollouts.argoproj.io`, or `pods` for the core group, as Status
    /// messages name a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Custom resources (CRDs) refuse strategic merge patches.
    pub fn is_custom(&self) -> bool {
        !matches!(self.group.as_str(), "" | "apps" | "events.k8s.io")
    }
}

/// The kinds served from the start; `put` of any other kind adds it.
fn known_resources() -> Vec<ResourceDef> {
    let argo = "argoproj.io";
    vec![
        ResourceDef::new(argo, "v1alpha1", "rollouts", "Rollout", true),
        ResourceDef::new(argo, "v1alpha1", "analysisruns", "AnalysisRun", false),
        ResourceDef::new(argo, "v1alpha1", "experiments", "Experiment", false),
        ResourceDef::new(
            argo,
            "v1alpha1",
            "analysistemplates",
            "AnalysisTemplate",
            false,
        ),
        ResourceDef::new("apps", "v1", "replicasets", "ReplicaSet", true),
        ResourceDef::new("apps", "v1", "deployments", "Deployment", true),
        ResourceDef::new("", "v1", "pods", "Pod", true),
        ResourceDef::new("", "v1", "events", "Event", false),
        ResourceDef::new("events.k8s.io", "v1", "events", "Event", false),
    ]
}

/// Where an object lives: (group, plural, namespace, name).
pub(crate) type Key = (String, String, String, String);

/// A write as watchers see it.
#[derive(Clone, Debug)]
pub(crate) struct HistoryEvent {
    pub rv: u64,
    pub kind: &'static str,
    pub group: String,
    pub plural: String,
    pub namespace: String,
    pub object: Value,
}

/// One RBAC denial set with `FakeKube::forbid`.
#[derive(Clone, Debug)]
pub(crate) struct Denial {
    pub verb: String,
    pub resource: String,
    pub namespace: String,
}

/// One failure set with `FakeKube::fail_next`.
#[derive(Clone, Debug)]
pub(crate) struct Injected {
    pub method: String,
    pub path_suffix: String,
    pub code: u16,
}

pub(crate) struct State {
    pub resources: Vec<ResourceDef>,
    pub objects: BTreeMap<Key, Value>,
    pub rv: u64,
    pub history: VecDeque<HistoryEvent>,
    /// A watch from a resourceVersion below this gets 410 Expired.
    pub floor: u64,
    /// An open watch stream behind this has missed forgotten events.
    pub forgotten: u64,
    pub timers: Vec<crate::controller::Timer>,
    pub uid_counter: u64,
    pub drops: u64,
    pub bookmarks: u64,
    pub denials: Vec<Denial>,
    pub injected: Vec<Injected>,
    pub requests: Vec<crate::Request>,
    pub controller: bool,
    pub time_scale: f64,
    /// The most items a list page holds, whatever `limit` asks.
    pub page_cap: Option<usize>,
}

impl State {
    pub fn new(time_scale: f64) -> Self {
        State {
            resources: known_resources(),
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            floor: 1,
            forgotten: 0,
            timers: Vec::new(),
            uid_counter: 0,
            drops: 0,
            bookmarks: 0,
            denials: Vec::new(),
            injected: Vec::new(),
            requests: Vec::new(),
            controller: true,
            time_scale,
            page_cap: None,
        }
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// The collection an object belongs to, added if its kind is new.
    pub fn def_for(&mut self, api_version: &str, kind: &str) -> ResourceDef {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if let Some(def) = self
            .resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
        {
            return def.clone();
        }
        let plural = format!("{}s", kind.to_ascii_lowercase());
        let def = ResourceDef::new(group, version, &plural, kind, false);
        self.resources.push(def.clone());
        def
    }

    /// A served kind by kind (`Rollout`) or plural (`rollouts`).
    pub fn def_named(&self, name: &str) -> Option<ResourceDef> {
        self.resources
            .iter()
            .find(|r| r.kind == name || r.plural == name)
            .cloned()
    }

    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(def, ns, name))
    }

    /// Stores `obj` (created or replaced) with fresh metadata and tells
    /// watchers. Returns the stored object.
    pub fn store(&mut self, def: &ResourceDef, ns: &str, name: &str, mut obj: Value) -> Value {
        let old = self.objects.get(&key(def, ns, name)).cloned();
        self.rv += 1;
        self.uid_counter += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", self.uid_counter);
        if let Some(map) = obj.as_object_mut() {
            map.insert("apiVersion".into(), def.api_version().into());
            map.insert("kind".into(), def.kind.clone().into());
        }
        let generation = match &old {
            None => 1,
            Some(o) => {
                let g = o.pointer("/metadata/generation").and_then(Value::as_i64);
                g.unwrap_or(1) + i64::from(spec_of(o) != spec_of(&obj))
            }
        };
        let meta = metadata_mut(&mut obj);
        meta.insert("name".into(), name.into());
        meta.insert("namespace".into(), ns.into());
        let old_meta = old.as_ref().and_then(|o| o.get("metadata"));
        for field in ["uid", "creationTimestamp"] {
            if let Some(v) = old_meta.and_then(|m| m.get(field)) {
                meta.entry(field).or_insert_with(|| v.clone());
            }
        }
        meta.entry("uid").or_insert_with(|| uid.into());
        meta.entry("creationTimestamp")
            .or_insert_with(|| now_rfc3339().into());
        meta.insert("resourceVersion".into(), self.rv.to_string().into());
        meta.insert("generation".into(), generation.into());
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        self.objects.insert(key(def, ns, name), obj.clone());
        self.record(kind, def, ns, obj.clone());
        obj
    }

    pub fn remove(&mut self, def: &ResourceDef, ns: &str, name: &str) -> Option<Value> {
        let mut obj = self.objects.remove(&key(def, ns, name))?;
        self.rv += 1;
        metadata_mut(&mut obj).insert("resourceVersion".into(), self.rv.to_string().into());
        self.record("DELETED", def, ns, obj.clone());
        Some(obj)
    }

    fn record(&mut self, kind: &'static str, def: &ResourceDef, ns: &str, object: Value) {
        self.history.push_back(HistoryEvent {
            rv: self.rv,
            kind,
            group: def.group.clone(),
            plural: def.plural.clone(),
            namespace: ns.into(),
            object,
        });
        while self.history.len() > HISTORY_LIMIT {
            if let Some(gone) = self.history.pop_front() {
                self.floor = gone.rv;
                self.forgotten = gone.rv;
            }
        }
    }

    /// The compaction write: the resourceVersion moves on and every
    /// resourceVersion handed out before is too old to watch from.
    pub fn compact(&mut self) {
        self.forgotten = self.rv;
        self.rv += 1;
        self.history.clear();
        self.floor = self.rv;
    }
}

fn key(def: &ResourceDef, ns: &str, name: &str) -> Key {
    (
        def.group.clone(),
        def.plural.clone(),
        ns.into(),
        name.into(),
    )
}

/// Everything outside metadata and status: what metadata.generation counts.
fn spec_of(obj: &Value) -> Map<String, Value> {
    let mut map = obj.as_object().cloned().unwrap_or_default();
    for field in ["metadata", "status", "apiVersion", "kind"] {
        map.remove(field);
    }
    map
}

pub(crate) fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("made an object above");
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().expect("made an object above")
}

pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A parsed `labelSelector` / `fieldSelector` pair.
#[derive(Clone, Debug, Default)]
pub(crate) struct Selector {
    labels: Vec<(String, LabelOp)>,
    fields: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
enum LabelOp {
    Eq(String),
    Ne(String),
    Exists,
    Absent,
}

impl Selector {
    /// Equality (`a=b`, `a==b`), inequality (`a!=b`) and existence (`a`,
    /// `!a`) labels; `metadata.name` and `metadata.namespace` fields.
    pub fn parse(labels: Option<&str>, fields: Option<&str>) -> Result<Self, String> {
        let mut sel = Selector::default();
        for term in labels.unwrap_or("").split(',').filter(|t| !t.is_empty()) {
            let op = if let Some((k, v)) = term.split_once("!=") {
                (k, LabelOp::Ne(v.trim().into()))
            } else if let Some((k, v)) = term.split_once('=') {
                (k, LabelOp::Eq(v.trim_start_matches('=').trim().into()))
            } else if let Some(k) = term.strip_prefix('!') {
                (k, LabelOp::Absent)
            } else {
                (term, LabelOp::Exists)
            };
            sel.labels.push((op.0.trim().into(), op.1));
        }
        for term in fields.unwrap_or("").split(',').filter(|t| !t.is_empty()) {
            let (k, v) = term.split_once('=').unwrap_or((term, ""));
            let k = k.trim_end_matches('=');
            if k != "metadata.name" && k != "metadata.namespace" {
                return Err(format!("field label not supported: {k}"));
            }
            sel.fields
                .push((k.into(), v.trim_start_matches('=').into()));
        }
        Ok(sel)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let label = |k: &str| {
            obj.pointer("/metadata/labels")
                .and_then(|l| l.get(k))
                .and_then(Value::as_str)
        };
        let labels_ok = self.labels.iter().all(|(k, op)| match op {
            LabelOp::Eq(v) => label(k) == Some(v.as_str()),
            LabelOp::Ne(v) => label(k) != Some(v.as_str()),
            LabelOp::Exists => label(k).is_some(),
            LabelOp::Absent => label(k).is_none(),
        });
        let fields_ok = self.fields.iter().all(|(k, v)| {
            let field = k.trim_start_matches("metadata.");
            obj.pointer(&format!("/metadata/{field}"))
                .and_then(Value::as_str)
                == Some(v.as_str())
        });
        labels_ok && fields_ok
    }
}
