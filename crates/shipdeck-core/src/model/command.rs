//! What an operator asks of a release.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumDiscriminants, EnumIter, IntoStaticStr};

use super::names::{Person, Words};

/// A command: a client-chosen id (the same id twice is applied once), who
/// gives it, what it asks for, and what the operator had seen when they
/// gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub id: String,
    pub operator: Person,
    #[serde(flatten)]
    pub action: Action,
    /// The seq of the last event the operator had seen when they gave the
    /// command. A sign-off, rejection, tick or advance on a gate, an item
    /// or a rollout step that changed after that seq is refused, as is any
    /// command given on a later seq than the release has (another window's).
    /// Absent: judged on the release as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u64>,
    /// The operator means a promote after the release's window has closed
    /// (the console asked them; `shipdeck do advance --late`). Without it
    /// such a promote is refused; with it, its note says it was late.
    /// Absent on the wire when not set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
}

/// What a command asks for. The `kind` on the wire is the variant's name;
/// its [`CommandKind`] names it without its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, EnumDiscriminants, EnumIter)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[strum_discriminants(
    name(CommandKind),
    derive(PartialOrd, Ord, Hash, Serialize, EnumIter, IntoStaticStr, Display),
    serde(rename_all = "snake_case"),
    strum(serialize_all = "snake_case")
)]
pub enum Action {
    /// Finish the pause the rollout is holding at and go on.
    Advance,
    /// Skip the remaining steps and send all traffic to the new version.
    PromoteFull,
    Pause {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Resume,
    /// Sign off a gate (the only open one when `gate` is absent).
    Approve {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    Reject {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gate: Option<String>,
        reason: String,
    },
    Rollback {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Check {
        list: String,
        item: String,
    },
    Uncheck {
        list: String,
        item: String,
    },
    /// Run a failed stage again.
    Retry {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
    },
    /// Acknowledge a firing alert.
    Ack {
        rule: String,
    },
    /// Put the previous revision's pod template back (a Rollout's undo):
    /// the revision given, or the one before the current.
    Undo {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<u64>,
    },
}

impl Action {
    /// The command's name as an operator types it.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    pub fn kind(&self) -> CommandKind {
        self.into()
    }

    /// The command's name for people: `promote full`.
    pub fn words(&self) -> Words {
        self.kind().words()
    }
}

impl CommandKind {
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The name for people: `promote full`.
    pub fn words(self) -> Words {
        Words(self.name())
    }
}

impl Command {
    pub fn new(id: impl Into<String>, operator: Person, action: Action) -> Command {
        Command {
            id: id.into(),
            operator,
            action,
            seen: None,
            late: false,
        }
    }

    /// The same command, meant even after the window has closed.
    pub fn late(mut self) -> Command {
        self.late = true;
        self
    }

    /// The same command, given by someone who had seen the release up to
    /// `seq`.
    pub fn seen_at(mut self, seq: u64) -> Command {
        self.seen = Some(seq);
        self
    }
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    #[test]
    fn every_command_kind_is_named_as_serde_writes_it() {
        for action in Action::iter() {
            let wire = serde_json::to_value(Command::new("1", Person::own("dave"), action.clone()))
                .unwrap();
            assert_eq!(wire["kind"], action.name(), "{action:?}");
            assert_eq!(serde_json::to_value(action.kind()).unwrap(), action.name());
        }
        assert_eq!(Action::iter().count(), CommandKind::iter().count());
        assert_eq!(Action::PromoteFull.words().to_string(), "promote full");
    }
}
