//! The HTTP contract's messages (v1), shared by `shipdeck serve` and the
//! `http` backend. `docs/http-api.md` describes them for people.
//!
//! Events travel as the model's [`Event`](crate::model::Event) envelope; what
//! is here is everything around them: the stream's control messages, the
//! answer to a command, the list of releases and errors.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{Outcome, Person, Release, Status};

/// The path prefix of version 1.
pub const PREFIX: &str = "/api/v1";

/// The header a client names itself with on a server without tokens.
pub const OPERATOR_HEADER: &str = "shipdeck-operator";

/// Longest command id a server takes.
pub const MAX_ID: usize = 200;

/// Longest operator name a server takes.
pub const MAX_NAME: usize = crate::model::names::MAX_NAME;

/// Longest free text (comment, reason) in a command.
pub const MAX_TEXT: usize = 4000;

/// Largest request body a server reads.
pub const MAX_BODY: usize = 64 * 1024;

/// The first message of every event stream (SSE `event: hello`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// Names one run of the release on the server. When it changes between
    /// two connections the server started the release afresh: forget what
    /// was shown and read from seq 1.
    pub window: String,
    /// The seq of the newest event the server holds now.
    pub last_seq: u64,
    /// Who the server takes this client to be (from its token, or from
    /// the `Shipdeck-Operator` header on a server without tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Person>,
}

/// `GET /api/v1/whoami`: who the server takes this client to be, before
/// any stream is open (a console names its journal by it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// From the token, or from `Shipdeck-Operator` on a server without
    /// tokens; absent when the client gave no name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Person>,
}

/// The backend's clock (SSE `event: clock`): the simulator's virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Clock {
    pub at: Timestamp,
}

/// Who is watching a release (SSE `event: presence`): how many, and by
/// name the few that matter. A crowd is counted, not listed, so the message
/// stays small however many watch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Presence {
    /// The people the release names (its deployer, its approvers) first,
    /// then the others in the order they came: everyone while at most
    /// [`Presence::NAMED`] people watch, and [`Presence::NAMED`] in a
    /// crowd.
    pub watchers: Vec<Watcher>,
    /// How many people watch, each once (0 from a server that lists them
    /// all: then it is the list's length).
    #[serde(default)]
    pub people: u32,
    /// Their open streams.
    #[serde(default)]
    pub streams: u32,
}

impl Presence {
    /// The most people a presence message names.
    pub const NAMED: usize = 12;

    /// How many people watch.
    pub fn people(&self) -> usize {
        (self.people as usize).max(self.watchers.len())
    }
}

/// A stream far behind the release (SSE `event: behind`): what it missed
/// is being sent, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behind {
    /// Events between the last one sent and the newest.
    pub behind: u64,
    /// The seq of the newest event the server holds now.
    pub last_seq: u64,
}

/// One person watching, however many consoles they have open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watcher {
    pub operator: Person,
    /// When their first open stream connected.
    pub since: Timestamp,
    /// Their open streams.
    pub streams: u32,
}

/// A command's outcome, the body of 202, 403 and 409 answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandReply {
    pub id: String,
    /// The operator the server applied the command as.
    pub operator: Person,
    pub verdict: VerdictName,
    /// Accepted: an optional note (`1 more sign-off needed on …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Refused: why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictName {
    Accepted,
    Refused,
}

/// Every error answer's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// One entry of `GET /api/v1/releases`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseSummary {
    pub id: String,
    pub window: String,
    pub service: String,
    pub version_from: String,
    pub version_to: String,
    pub environment: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub last_seq: u64,
}

impl ReleaseSummary {
    pub fn of(release: &Release, window: &str) -> ReleaseSummary {
        let plan = release.plan.as_ref();
        let field = |f: fn(&crate::model::ReleasePlan) -> &String| {
            plan.map(|p| f(p).clone()).unwrap_or_default()
        };
        ReleaseSummary {
            id: release.id.clone(),
            window: window.to_string(),
            service: field(|p| &p.service),
            version_from: field(|p| &p.version_from),
            version_to: field(|p| &p.version_to),
            environment: field(|p| &p.environment),
            status: release.status,
            outcome: release.outcome(),
            last_seq: release.last_seq,
        }
    }
}

/// `GET /api/v1/releases/{id}`: the release folded from its events.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot<'a> {
    pub window: &'a str,
    pub last_seq: u64,
    pub release: &'a Release,
}

/// The media type of JSON bodies.
pub const JSON: &str = "application/json";

/// The media type of the event stream.
pub const EVENT_STREAM: &str = "text/event-stream";

/// Whether a `Content-Type` value is the media type `wanted`: compared
/// case-insensitively and whole (`application/jsonx` is not JSON),
/// parameters aside, but for a charset, which must be UTF-8 (the contract's
/// only one). `Application/JSON; charset=utf-8` is JSON.
pub fn is_media_type(value: &str, wanted: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case(wanted) {
        return false;
    }
    parts.all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_type_is_compared_whole_and_without_case() {
        for json in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/json ;charset=\"UTF-8\"",
            "application/json; boundary=x",
        ] {
            assert!(is_media_type(json, JSON), "{json}");
        }
        for not in [
            "application/jsonx",
            "application/json-seq",
            "application/json+x; charset=utf-8",
            "text/json",
            "application/json; charset=latin1",
            "",
            "application",
        ] {
            assert!(!is_media_type(not, JSON), "{not}");
        }
        assert!(is_media_type("Text/Event-Stream", EVENT_STREAM));
        assert!(!is_media_type("text/event-streamx", EVENT_STREAM));
    }
}
