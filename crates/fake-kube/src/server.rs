//! The HTTP side: routing, RBAC and injected failures, get/list/create/
//! update/patch/delete, and discovery for kubectl.

use std::io::Write;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::status::{self, Failure};
use crate::store::{ResourceDef, Selector, State, metadata_mut};
use crate::{Request, Shared, controller, watch};

pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    tokio::spawn(controller::run(Arc::clone(&shared)));
    let app = axum::Router::new().fallback(handle).with_state(shared);
    tokio::select! {
        _ = axum::serve(listener, app) => {}
        _ = stop => {}
    }
}

/// What a handler answers: a JSON body with a code, or a watch stream.
pub(crate) enum Reply {
    Json(StatusCode, Value),
    Stream(Body),
}

/// A request parsed into the collection it names.
pub(crate) struct Target {
    pub def: ResourceDef,
    /// `""` for all namespaces.
    pub ns: String,
    pub name: String,
    pub sub: String,
}

impl Target {
    /// `rollouts` or `rollouts/status`, as RBAC names it.
    fn resource(&self) -> String {
        if self.sub.is_empty() {
            self.def.plural.clone()
        } else {
            format!("{}/{}", self.def.plural, self.sub)
        }
    }
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |h: header::HeaderName| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let request = Request {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        content_type: header(header::CONTENT_TYPE),
        accept: header(header::ACCEPT),
        user_agent: header(header::USER_AGENT),
        body: body.to_vec(),
    };
    shared.lock().requests.push(request.clone());
    let reply = respond(&shared, &request);
    let (code, response) = match reply {
        Ok(Reply::Json(code, value)) => (code, json_response(code, &value)),
        Ok(Reply::Stream(body)) => (StatusCode::OK, stream_response(body)),
        Err(f) => {
            let code = StatusCode::from_u16(f.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (code, json_response(code, &f.body))
        }
    };
    if shared.log {
        let q = if request.query.is_empty() {
            String::new()
        } else {
            format!("?{}", request.query)
        };
        let ua = request.user_agent.as_deref().unwrap_or("-");
        let line = format!(
            "{} {}{} -> {} ({} bytes, {ua})",
            request.method,
            request.path,
            q,
            code.as_u16(),
            request.body.len()
        );
        let _ = writeln!(std::io::stderr(), "{}", crate::printable(&line));
    }
    response
}

fn json_response(code: StatusCode, value: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn stream_response(body: Body) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn respond(shared: &Arc<Shared>, req: &Request) -> Result<Reply, Failure> {
    let segments: Vec<&str> = req
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if let (
        "POST",
        [
            "apis",
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
        ],
    ) = (req.method.as_str(), segments.as_slice())
    {
        return access_review(shared, &req.body);
    }
    let state = shared.lock();
    if let Some(doc) = discovery(&state, &segments) {
        return Ok(Reply::Json(StatusCode::OK, doc));
    }
    let target = parse_target(&state, &segments);
    drop(state);
    take_injected(shared, req, target.as_ref())?;
    let target = target.ok_or_else(status::no_such_path)?;
    let params = query_pairs(&req.query);
    let param = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let watching = matches!(param("watch"), Some("true" | "1"));
    let verb = match (req.method.as_str(), target.name.is_empty()) {
        ("GET", _) if watching => "watch",
        ("GET", true) => "list",
        ("GET", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", _) => "delete",
        _ => return Err(status::method_not_allowed()),
    };
    check_rbac(shared, &target, verb)?;
    if !(target.sub.is_empty() || target.sub == "status" && target.def.status_subresource) {
        return Err(status::no_such_path());
    }
    let selector = Selector::parse(param("labelSelector"), param("fieldSelector"))
        .map_err(status::bad_request)?;
    match verb {
        "watch" => watch::start(shared, &target, selector, &params),
        "list" => list(
            &shared.lock(),
            &target,
            &selector,
            param("limit"),
            param("continue"),
        ),
        "get" => get(&shared.lock(), &target),
        "create" => create(shared, &target, &req.body),
        "update" => update(shared, &target, &req.body),
        "patch" => patch(shared, &target, req.content_type.as_deref(), &req.body),
        _ => delete(shared, &target),
    }
}

/// `[api, v1, …]` or `[apis, group, version, …]`, then
/// `namespaces/{ns}/{plural}[/{name}[/{sub}]]` or `{plural}`.
fn parse_target(state: &State, segments: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (ns, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (*ns, rest),
        _ => ("", rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, "", ""),
        [plural, name] if !ns.is_empty() => (*plural, *name, ""),
        [plural, name, sub] if !ns.is_empty() => (*plural, *name, *sub),
        _ => return None,
    };
    let def = state.find(group, version, plural)?;
    Some(Target {
        def,
        ns: ns.into(),
        name: name.into(),
        sub: sub.into(),
    })
}

fn take_injected(shared: &Shared, req: &Request, target: Option<&Target>) -> Result<(), Failure> {
    let mut state = shared.lock();
    let Some(i) = state
        .injected
        .iter()
        .position(|f| f.method == req.method && req.path.ends_with(&f.path_suffix))
    else {
        return Ok(());
    };
    let injected = state.injected.remove(i);
    let name = target.map_or("", |t| t.name.as_str());
    Err(status::for_code(
        injected.code,
        target.map(|t| &t.def),
        name,
    ))
}

fn check_rbac(shared: &Shared, target: &Target, verb: &str) -> Result<(), Failure> {
    let resource = target.resource();
    let state = shared.lock();
    let denied = state.denials.iter().any(|d| {
        (d.verb == verb || d.verb == "*")
            && (d.resource == resource || d.resource == "*")
            && (d.namespace == target.ns || d.namespace == "*")
    });
    if denied {
        return Err(status::forbidden(
            &target.def,
            &resource,
            verb,
            &target.ns,
            &target.name,
        ));
    }
    Ok(())
}

/// `kubectl auth can-i`: a SelfSubjectAccessReview answered from the
/// denials, as the apiserver answers it (201, the review back with its
/// `status`). A review of a non-resource URL is allowed.
fn access_review(shared: &Shared, body: &[u8]) -> Result<Reply, Failure> {
    let mut review: Value = serde_json::from_slice(body)
        .map_err(|e| status::bad_request(format!("the review is not JSON: {e}")))?;
    let attributes = &review["spec"]["resourceAttributes"];
    let field = |name: &str| attributes[name].as_str().unwrap_or("").to_string();
    let (verb, namespace) = (field("verb"), field("namespace"));
    let resource = match field("subresource").as_str() {
        "" => field("resource"),
        sub => format!("{}/{sub}", field("resource")),
    };
    let denied = attributes.is_object()
        && shared.lock().denials.iter().any(|d| {
            (d.verb == verb || d.verb == "*")
                && (d.resource == resource || d.resource == "*")
                && (d.namespace == namespace || d.namespace == "*")
        });
    review["apiVersion"] = "authorization.k8s.io/v1".into();
    review["kind"] = "SelfSubjectAccessReview".into();
    review["metadata"] = json!({"creationTimestamp": null});
    review["status"] = match denied {
        true => json!({"allowed": false}),
        false => json!({
            "allowed": true,
            "reason": "RBAC: allowed by ClusterRoleBinding \"fake-kube-admin\" of ClusterRole \"cluster-admin\" to User \"alice\""
        }),
    };
    Ok(Reply::Json(StatusCode::CREATED, review))
}

fn get(state: &State, t: &Target) -> Result<Reply, Failure> {
    let obj = state
        .get(&t.def, &t.ns, &t.name)
        .ok_or_else(|| status::not_found(&t.def, &t.name))?;
    Ok(Reply::Json(StatusCode::OK, obj.clone()))
}

/// A page of the collection. A continue token is `{rv}:{ns}/{name}` of
/// the last item sent, hex-encoded.
fn list(
    state: &State,
    t: &Target,
    sel: &Selector,
    limit: Option<&str>,
    cont: Option<&str>,
) -> Result<Reply, Failure> {
    let limit = limit
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX)
        .min(state.page_cap.unwrap_or(usize::MAX));
    let (rv, after) = match cont.filter(|c| !c.is_empty()) {
        Some(token) => decode_continue(token)
            .ok_or_else(|| status::bad_request("continue key is not valid".into()))?,
        None => (state.rv, None),
    };
    if rv < state.floor {
        return Err(status::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to get a consistent list.".into()));
    }
    let mut items = Vec::new();
    let mut next = String::new();
    for ((group, plural, ns, name), obj) in &state.objects {
        if *group != t.def.group
            || *plural != t.def.plural
            || (!t.ns.is_empty() && *ns != t.ns)
            || !sel.matches(obj)
        {
            continue;
        }
        if after
            .as_ref()
            .is_some_and(|a| (ns.as_str(), name.as_str()) <= (a.0.as_str(), a.1.as_str()))
        {
            continue;
        }
        if items.len() == limit {
            next = encode_continue(rv, &items);
            break;
        }
        items.push(obj.clone());
    }
    let list = json!({
        "apiVersion": t.def.api_version(),
        "kind": format!("{}List", t.def.kind),
        "metadata": {"resourceVersion": rv.to_string(), "continue": next},
        "items": items,
    });
    Ok(Reply::Json(StatusCode::OK, list))
}

fn encode_continue(rv: u64, items: &[Value]) -> String {
    let last = items.last().and_then(|o| o.get("metadata"));
    let field = |f: &str| {
        last.and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let plain = format!("{rv}:{}/{}", field("namespace"), field("name"));
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_continue(token: &str) -> Option<(u64, Option<(String, String)>)> {
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let (rv, key) = plain.split_once(':')?;
    let (ns, name) = key.split_once('/')?;
    Some((rv.parse().ok()?, Some((ns.into(), name.into()))))
}

fn parse_body(body: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| status::bad_request(format!("the request body is not JSON: {e}")))
}

fn create(shared: &Shared, t: &Target, body: &[u8]) -> Result<Reply, Failure> {
    if t.ns.is_empty() || !t.name.is_empty() {
        return Err(status::method_not_allowed());
    }
    let mut obj = parse_body(body)?;
    let meta = metadata_mut(&mut obj);
    if meta
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|ns| ns != t.ns)
    {
        return Err(status::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    let mut state = shared.lock();
    let name = match (
        meta.get("name").and_then(Value::as_str),
        meta.get("generateName").and_then(Value::as_str),
    ) {
        (Some(name), _) if !name.is_empty() => name.to_string(),
        (_, Some(prefix)) => format!("{prefix}{:05x}", state.rv),
        _ => {
            return Err(status::invalid(
                &t.def,
                "",
                "metadata.name: Required value: name or generateName is required".into(),
            ));
        }
    };
    if state.get(&t.def, &t.ns, &name).is_some() {
        return Err(status::already_exists(&t.def, &name));
    }
    let stored = state.store(&t.def, &t.ns, &name, obj);
    drop(state);
    shared.notify();
    Ok(Reply::Json(StatusCode::CREATED, stored))
}

fn update(shared: &Shared, t: &Target, body: &[u8]) -> Result<Reply, Failure> {
    let new = parse_body(body)?;
    write_over(shared, t, |_| Ok(new))
}

fn patch(
    shared: &Shared,
    t: &Target,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Reply, Failure> {
    let media = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let strategic_on_builtin =
        media == "application/strategic-merge-patch+json" && !t.def.is_custom();
    if media != "application/merge-patch+json"
        && media != "application/json-patch+json"
        && !strategic_on_builtin
    {
        return Err(status::unsupported_media_type());
    }
    let doc = parse_body(body)?;
    write_over(shared, t, |old| {
        let mut new = old.clone();
        if media == "application/json-patch+json" {
            crate::patch::json_patch(&mut new, &doc)
                .map_err(|e| status::invalid(&t.def, &t.name, e))?;
        } else {
            crate::patch::merge(&mut new, &doc);
        }
        Ok(new)
    })
}

/// The common part of PUT and PATCH: the status subresource split, the
/// resourceVersion precondition, a no-op writing nothing, the controller.
fn write_over(
    shared: &Shared,
    t: &Target,
    change: impl FnOnce(&Value) -> Result<Value, Failure>,
) -> Result<Reply, Failure> {
    let mut state = shared.lock();
    let old = state
        .get(&t.def, &t.ns, &t.name)
        .cloned()
        .ok_or_else(|| status::not_found(&t.def, &t.name))?;
    let mut new = change(&old)?;
    let sent_rv = new
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    let old_rv = old
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str);
    if sent_rv.as_deref().is_some_and(|rv| Some(rv) != old_rv) {
        return Err(status::conflict(&t.def, &t.name));
    }
    if t.sub == "status" {
        let status = new.get("status").cloned();
        new = old.clone();
        set_or_remove(&mut new, "status", status);
    } else if t.def.status_subresource {
        set_or_remove(&mut new, "status", old.get("status").cloned());
    }
    let keep = |new: &mut Value, field: &str| {
        let value = old.pointer(&format!("/metadata/{field}")).cloned();
        let meta = metadata_mut(new);
        match value {
            Some(v) => meta.insert(field.into(), v),
            None => meta.remove(field),
        };
    };
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "resourceVersion",
        "generation",
    ] {
        keep(&mut new, field);
    }
    if new == old {
        return Ok(Reply::Json(StatusCode::OK, old));
    }
    let stored = state.store(&t.def, &t.ns, &t.name, new);
    if t.def.kind == "Rollout" && state.controller {
        controller::react(&mut state, &t.ns, &t.name, &old);
    }
    drop(state);
    shared.notify();
    Ok(Reply::Json(StatusCode::OK, stored))
}

fn set_or_remove(obj: &mut Value, field: &str, value: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        match value {
            Some(v) => map.insert(field.into(), v),
            None => map.remove(field),
        };
    }
}

fn delete(shared: &Shared, t: &Target) -> Result<Reply, Failure> {
    if t.name.is_empty() || !t.sub.is_empty() {
        return Err(status::method_not_allowed());
    }
    let gone = shared
        .lock()
        .remove(&t.def, &t.ns, &t.name)
        .ok_or_else(|| status::not_found(&t.def, &t.name))?;
    shared.notify();
    Ok(Reply::Json(StatusCode::OK, gone))
}

/// Legacy discovery documents, enough for kubectl to find the kinds.
fn discovery(state: &State, segments: &[&str]) -> Option<Value> {
    let groups = || {
        let mut gvs: Vec<(String, String)> = state
            .resources
            .iter()
            .filter(|r| !r.group.is_empty())
            .map(|r| (r.group.clone(), r.version.clone()))
            .collect();
        gvs.dedup();
        gvs
    };
    let resources = |group: &str, version: &str| {
        let mut out = Vec::new();
        for r in state
            .resources
            .iter()
            .filter(|r| r.group == group && r.version == version)
        {
            let verbs = [
                "create", "delete", "get", "list", "patch", "update", "watch",
            ];
            out.push(json!({"name": r.plural, "singularName": r.kind.to_ascii_lowercase(), "namespaced": true, "kind": r.kind, "verbs": verbs}));
            if r.status_subresource {
                out.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": true, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
            }
        }
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out})
    };
    match segments {
        ["version"] => Some(
            json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake-kube", "platform": "linux/amd64"}),
        ),
        ["api"] => Some(
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        ["apis"] => {
            let list: Vec<Value> = groups()
                .into_iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
                })
                .collect();
            Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}))
        }
        ["api", "v1"] => Some(resources("", "v1")),
        ["apis", group, version] => Some(resources(group, version)),
        _ => None,
    }
}

/// Query pairs, percent-decoded (`+` is a space).
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
