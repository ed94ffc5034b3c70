//! `metav1.Status` failure bodies worded as the apiserver words them.

use serde_json::{Value, json};

use crate::store::ResourceDef;

/// A failure: the HTTP code and the Status body that goes with it.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub code: u16,
    pub body: Value,
}

fn failure(code: u16, reason: &str, message: String, details: Option<Value>) -> Failure {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    Failure { code, body }
}

fn details(def: &ResourceDef, name: &str) -> Value {
    let mut d = json!({"group": def.group, "kind": def.plural});
    if !name.is_empty() {
        d["name"] = name.into();
    }
    d
}

pub(crate) fn not_found(def: &ResourceDef, name: &str) -> Failure {
    let message = format!("{} \"{name}\" not found", def.qualified());
    failure(404, "NotFound", message, Some(details(def, name)))
}

/// What a path nobody serves (or a missing subresource) gets.
pub(crate) fn no_such_path() -> Failure {
    let message = "the server could not find the requested resource".to_string();
    failure(404, "NotFound", message, Some(json!({})))
}

pub(crate) fn already_exists(def: &ResourceDef, name: &str) -> Failure {
    let message = format!("{} \"{name}\" already exists", def.qualified());
    failure(409, "AlreadyExists", message, Some(details(def, name)))
}

pub(crate) fn conflict(def: &ResourceDef, name: &str) -> Failure {
    let message = format!(
        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
        def.qualified()
    );
    failure(409, "Conflict", message, Some(details(def, name)))
}

/// `resource` is `plural` or `plural/subresource`; an empty namespace is a
/// request at the cluster scope (an all-namespaces list).
pub(crate) fn forbidden(
    def: &ResourceDef,
    resource: &str,
    verb: &str,
    ns: &str,
    name: &str,
) -> Failure {
    let subject = if name.is_empty() {
        def.qualified()
    } else {
        format!("{} \"{name}\"", def.qualified())
    };
    let scope = if ns.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{ns}\"")
    };
    let message = format!(
        "{subject} is forbidden: User \"{}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
        crate::USER,
        def.group
    );
    failure(403, "Forbidden", message, Some(details(def, name)))
}

pub(crate) fn unsupported_media_type() -> Failure {
    let message = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".to_string();
    failure(415, "UnsupportedMediaType", message, None)
}

pub(crate) fn invalid(def: &ResourceDef, name: &str, message: String) -> Failure {
    failure(422, "Invalid", message, Some(details(def, name)))
}

pub(crate) fn bad_request(message: String) -> Failure {
    failure(400, "BadRequest", message, None)
}

pub(crate) fn method_not_allowed() -> Failure {
    failure(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource".into(),
        None,
    )
}

pub(crate) fn expired(message: String) -> Failure {
    failure(410, "Expired", message, None)
}

/// The Status for an injected failure of any code.
pub(crate) fn for_code(code: u16, def: Option<&ResourceDef>, name: &str) -> Failure {
    match (code, def) {
        (404, Some(def)) if !name.is_empty() => not_found(def, name),
        (409, Some(def)) => conflict(def, name),
        (403, Some(def)) => forbidden(def, &def.plural, "get", "default", name),
        (410, _) => expired("too old resource version".into()),
        (429, _) => failure(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later".into(), None),
        (500, _) => failure(500, "InternalError", "Internal error occurred: injected failure".into(), None),
        (503, _) => failure(503, "ServiceUnavailable", "the server is currently unable to handle the request".into(), None),
        (504, _) => failure(504, "Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request".into(), None),
        _ => failure(code, "", format!("injected failure {code}"), None),
    }
}
