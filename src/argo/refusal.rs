//! What the cluster said when it did not do what shipdeck asked, as one
//! sentence that names the cause: who may not do what where (403), which
//! object is gone (404), that it changed meanwhile (409), what the server
//! found invalid (422), that the server cannot be reached and where it is.
//! Everything the server wrote is cleaned and clipped before it is quoted.

use std::fmt;
use std::sync::LazyLock;

use kube::core::Status;
use regex::Regex;

use crate::argo::cluster::Cluster;
use crate::model::text::clip;

/// How much of the server's own words a sentence quotes.
const QUOTE: usize = 240;
/// The reason kube gives a reply whose body is not a Kubernetes Status.
const NOT_A_STATUS: &str = "Failed to parse error data";

/// Why a command did not land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The sentence for the operator.
    pub reason: String,
    pub kind: RefusalKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// 401 or 403: the credentials, or what they allow.
    Forbidden,
    /// 404: the object (or its kind) is not there.
    NotFound,
    /// 409: the object changed meanwhile.
    Conflict,
    /// 400 or 422: the server found the request invalid; also a command
    /// that cannot apply to the Rollout as it is (undo with no revision).
    Invalid,
    /// No answer from the server.
    Unreachable,
    Other,
}

impl Refusal {
    pub fn new(kind: RefusalKind, reason: impl Into<String>) -> Refusal {
        Refusal {
            reason: reason.into(),
            kind,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Refusal {}

/// What a request shipdeck sent was about: the verb (`get`, `patch`,
/// `list`, `create`), the resource as RBAC writes it (`rollouts`,
/// `rollouts/status`, `replicasets`, `events`), the namespace and the name
/// (empty for a list or a create).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// The sentence for `err`, which answered `verb` on `resource`
/// `namespace/name`. A server that cannot be reached is said without its
/// URL; [`refusal_on`] adds it.
pub fn refusal(
    err: &kube::Error,
    verb: &str,
    resource: &str,
    namespace: &str,
    name: &str,
) -> Refusal {
    let asked = Asked {
        verb,
        resource,
        namespace,
        name,
    };
    explain(err, asked, None)
}

/// [`refusal`] for a request sent to `cluster`, whose URL an unreachable
/// server's sentence names.
pub fn refusal_on(cluster: &Cluster, err: &kube::Error, asked: Asked<'_>) -> Refusal {
    explain(err, asked, Some(&cluster.server))
}

fn explain(err: &kube::Error, asked: Asked<'_>, server: Option<&str>) -> Refusal {
    match err {
        kube::Error::Api(status) => from_status(status, asked),
        kube::Error::Auth(e) => Refusal::new(
            RefusalKind::Forbidden,
            format!(
                "the credentials could not be obtained: {}",
                clip(&e.to_string(), QUOTE)
            ),
        ),
        kube::Error::SerdeError(e) => Refusal::new(
            RefusalKind::Other,
            format!(
                "the API server's answer to {} {} could not be read: {}",
                asked.verb,
                asked.resource,
                clip(&e.to_string(), QUOTE)
            ),
        ),
        other => {
            let cause = clip(&transport_cause(other), QUOTE);
            let reason = match server {
                Some(url) => format!(
                    "the API server at {} cannot be reached: {cause}",
                    clip(url, QUOTE)
                ),
                None => format!("the API server cannot be reached: {cause}"),
            };
            Refusal::new(RefusalKind::Unreachable, reason)
        }
    }
}

fn from_status(status: &Status, asked: Asked<'_>) -> Refusal {
    let message = clip(status.message.trim(), QUOTE);
    if status.reason == NOT_A_STATUS {
        let body = if message.is_empty() {
            "an empty body".to_owned()
        } else {
            format!("“{message}”")
        };
        return Refusal::new(
            RefusalKind::Other,
            format!(
                "the API server answered {} {} with HTTP {} and {body}, not a Kubernetes Status",
                asked.verb, asked.resource, status.code
            ),
        );
    }
    match status.code {
        401 => Refusal::new(
            RefusalKind::Forbidden,
            format!("unauthorized: the API server does not accept these credentials ({message})"),
        ),
        403 => forbidden(status, asked),
        404 => not_found(status, asked),
        409 => Refusal::new(
            RefusalKind::Conflict,
            format!(
                "the {} changed while shipdeck wrote it (conflict): {message}",
                object(asked)
            ),
        ),
        400 | 422 => Refusal::new(
            RefusalKind::Invalid,
            format!(
                "the API server refused the change to the {} as invalid: {message}",
                object(asked)
            ),
        ),
        code => Refusal::new(
            RefusalKind::Other,
            format!(
                "the API server refused to {} {} (HTTP {code}{}): {message}",
                asked.verb,
                object(asked),
                if status.reason.is_empty() {
                    String::new()
                } else {
                    format!(", {}", clip(&status.reason, 40))
                }
            ),
        ),
    }
}

/// `User "alice" cannot patch resource "rollouts/status" in API group
/// "argoproj.io" in the namespace "payments"`, or `… at the cluster scope`.
static FORBIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"cannot (\S+) resource "([^"]*)" in API group "([^"]*)" (?:in the namespace "([^"]*)"|at the cluster scope)"#,
    )
    .expect("the forbidden pattern is a valid regex")
});

fn forbidden(status: &Status, asked: Asked<'_>) -> Refusal {
    let text = status.message.trim();
    // The server's words after its `<resource> "<name>" is forbidden: `.
    let said = text
        .split_once(" is forbidden: ")
        .map_or(text, |(_, rest)| rest);
    let (verb, resource, group, namespace) = match FORBIDDEN.captures(text) {
        Some(c) => (
            c[1].to_owned(),
            c[2].to_owned(),
            c[3].to_owned(),
            c.get(4).map(|m| m.as_str().to_owned()),
        ),
        None => (
            asked.verb.to_owned(),
            asked.resource.to_owned(),
            String::new(),
            Some(asked.namespace.to_owned()).filter(|n| !n.is_empty()),
        ),
    };
    let what = match group.as_str() {
        "" | "argoproj.io" | "apps" => resource,
        group => format!("{resource} ({group})"),
    };
    let place = match namespace {
        Some(ns) => format!("in {ns}"),
        None => "at the cluster scope".to_owned(),
    };
    Refusal::new(
        RefusalKind::Forbidden,
        format!(
            "forbidden: you may not {} {} {} (the API server: {})",
            clip(&verb, 40),
            clip(&what, 80),
            clip(&place, 80),
            clip(said, QUOTE)
        ),
    )
}

fn not_found(status: &Status, asked: Asked<'_>) -> Refusal {
    // A path the server does not serve at all: the kind is not installed.
    if status
        .message
        .contains("could not find the requested resource")
    {
        return Refusal::new(
            RefusalKind::NotFound,
            format!(
                "the API server has no {} (is Argo Rollouts installed on this cluster?)",
                base(asked.resource)
            ),
        );
    }
    let reason = if asked.name.is_empty() {
        format!(
            "no {} in {} (not found)",
            base(asked.resource),
            asked.namespace
        )
    } else {
        format!("the {} is gone (not found)", object(asked))
    };
    Refusal::new(RefusalKind::NotFound, clip(&reason, QUOTE))
}

/// `Rollout payments/demo`, or the resource alone for a list.
fn object(asked: Asked<'_>) -> String {
    let kind = kind_of(asked.resource);
    let text = match (asked.namespace, asked.name) {
        (_, "") => format!("{kind}s in {}", asked.namespace),
        ("", name) => format!("{kind} {name}"),
        (ns, name) => format!("{kind} {ns}/{name}"),
    };
    clip(&text, QUOTE)
}

/// The resource without its subresource: `rollouts/status` → `rollouts`.
fn base(resource: &str) -> &str {
    resource.split('/').next().unwrap_or(resource)
}

/// The kind a resource's objects are, as people name them.
fn kind_of(resource: &str) -> String {
    match base(resource) {
        "rollouts" => "Rollout".to_owned(),
        "replicasets" => "ReplicaSet".to_owned(),
        "deployments" => "Deployment".to_owned(),
        "podtemplates" => "PodTemplate".to_owned(),
        "events" => "Event".to_owned(),
        other => other.trim_end_matches('s').to_owned(),
    }
}

/// The innermost cause of an error that is not the server's answer: for a
/// refused connection `Connection refused (os error 111)`, for a credential
/// plugin that failed on a token refresh what the plugin said.
pub fn transport_cause(err: &kube::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    let mut last = err.to_string();
    while let Some(next) = cause.source() {
        if let Some(auth) = next.downcast_ref::<kube::client::AuthError>() {
            return format!("the credentials could not be obtained: {auth}");
        }
        let text = next.to_string();
        if !text.trim().is_empty() {
            last = text;
        }
        cause = next;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Status::failure(message, reason).with_code(code).boxed())
    }

    #[test]
    fn a_namespaced_forbidden_names_verb_resource_and_namespace() {
        let err = api(
            403,
            "Forbidden",
            r#"rollouts.argoproj.io "demo" is forbidden: User "alice" cannot patch resource "rollouts/status" in API group "argoproj.io" in the namespace "payments""#,
        );
        let r = refusal(&err, "patch", "rollouts", "other", "demo");
        assert_eq!(r.kind, RefusalKind::Forbidden);
        assert_eq!(
            r.reason,
            r#"forbidden: you may not patch rollouts/status in payments (the API server: User "alice" cannot patch resource "rollouts/status" in API group "argoproj.io" in the namespace "payments")"#
        );
    }

    #[test]
    fn a_cluster_scope_forbidden_and_a_core_group_one() {
        let err = api(
            403,
            "Forbidden",
            r#"rollouts.argoproj.io is forbidden: User "system:serviceaccount:ci:deploy" cannot list resource "rollouts" in API group "argoproj.io" at the cluster scope"#,
        );
        let r = refusal(&err, "list", "rollouts", "", "");
        assert!(
            r.reason.starts_with("forbidden: you may not list rollouts at the cluster scope (the API server: User \"system:serviceaccount:ci:deploy\""),
            "{}",
            r.reason
        );
        let events = api(
            403,
            "Forbidden",
            r#"events is forbidden: User "alice" cannot create resource "events" in API group "" in the namespace "payments""#,
        );
        assert!(
            refusal(&events, "create", "events", "payments", "")
                .reason
                .starts_with("forbidden: you may not create events in payments (")
        );
    }

    #[test]
    fn a_forbidden_in_other_words_falls_back_to_what_was_asked() {
        let err = api(
            403,
            "Forbidden",
            "admission webhook \"policy\" denied the request\u{1b}[31m",
        );
        let r = refusal(&err, "patch", "rollouts/status", "payments", "demo");
        assert_eq!(
            r.reason,
            "forbidden: you may not patch rollouts/status in payments (the API server: admission webhook \"policy\" denied the request)"
        );
    }

    #[test]
    fn not_found_conflict_and_invalid() {
        let gone = api(404, "NotFound", r#"rollouts.argoproj.io "demo" not found"#);
        let r = refusal(&gone, "patch", "rollouts/status", "payments", "demo");
        assert_eq!(
            (r.kind, r.reason.as_str()),
            (
                RefusalKind::NotFound,
                "the Rollout payments/demo is gone (not found)"
            )
        );
        let no_kind = api(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        assert_eq!(
            refusal(&no_kind, "get", "rollouts", "payments", "demo").reason,
            "the API server has no rollouts (is Argo Rollouts installed on this cluster?)"
        );
        let conflict = api(
            409,
            "Conflict",
            r#"Operation cannot be fulfilled on rollouts.argoproj.io "demo": the object has been modified; please apply your changes to the latest version and try again"#,
        );
        let r = refusal(&conflict, "patch", "rollouts", "payments", "demo");
        assert_eq!(r.kind, RefusalKind::Conflict);
        assert!(r.reason.starts_with(
            "the Rollout payments/demo changed while shipdeck wrote it (conflict): Operation cannot"
        ));
        let invalid = api(
            422,
            "Invalid",
            r#"Rollout.argoproj.io "demo" is invalid: spec.replicas: Invalid value: -1"#,
        );
        let r = refusal(&invalid, "patch", "rollouts", "payments", "demo");
        assert_eq!(r.kind, RefusalKind::Invalid);
        assert!(r.reason.ends_with(
            "as invalid: Rollout.argoproj.io \"demo\" is invalid: spec.replicas: Invalid value: -1"
        ));
    }

    #[test]
    fn a_body_that_is_not_a_status_says_so_with_the_code() {
        // What kube makes of a proxy's HTML page.
        let err = api(502, NOT_A_STATUS, "<html>Bad Gateway</html>");
        let r = refusal(&err, "patch", "rollouts", "payments", "demo");
        assert_eq!(r.kind, RefusalKind::Other);
        assert_eq!(
            r.reason,
            "the API server answered patch rollouts with HTTP 502 and “<html>Bad Gateway</html>”, not a Kubernetes Status"
        );
        let long = api(500, NOT_A_STATUS, &"x".repeat(5000));
        assert!(
            refusal(&long, "get", "rollouts", "payments", "demo")
                .reason
                .chars()
                .count()
                < 400
        );
    }
}
