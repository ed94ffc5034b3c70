//! Backends: where the truth about a release lives. A backend runs as a task
//! and talks to the console over channels: it sends what happened
//! ([`Update`]) and takes operator commands.
//!
//! Backends so far: the embedded simulator, a recorded window (replay), a
//! server speaking the HTTP contract (`http`), and an Argo Rollout on a
//! cluster (`crate::argo::backend`).

pub mod clock;
pub mod http;
pub mod metrics;
pub mod prometheus;
pub mod replay;
pub mod sim;
pub mod sse;
pub mod tail;

use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

pub use clock::ReleaseClock;

use crate::engine::Verdict;
use crate::model::{Command, Event};

/// A backend task's listener has gone (the console quit, the hub stopped):
/// nobody listens any more, so the task ends.
pub(crate) struct Gone;

/// Whether the console can trust what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    /// The backend stopped answering; the reason in words.
    Lost(String),
    /// The backend has given all it has: a recording played to its end.
    Ended,
}

/// What a backend tells the console.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// New events, in `seq` order.
    Events(Vec<Event>),
    /// The verdict on a command the console sent.
    Verdict {
        id: String,
        verdict: Verdict,
    },
    /// The backend's time now (virtual time for the simulator).
    Clock(Timestamp),
    Connection(Connection),
    /// Who the backend takes this operator to be (a server with tokens
    /// decides).
    Identity(crate::model::Person),
    /// Who is watching the release, this operator included: how many, and
    /// the few the server names.
    Presence(crate::api::Presence),
    /// Lines from a log source of the operator's (not release events: they
    /// are shown, not journaled).
    Logs(Vec<crate::model::LogLine>),
    /// A command that may not have reached the backend, and why.
    Undelivered {
        id: String,
        reason: String,
    },
    /// A command not delivered yet: how long it has waited, how long it
    /// may still wait before it expires (`None`: a rollback, which waits
    /// for the link however long), and why it has not gone.
    Queued {
        id: String,
        waited: Duration,
        expires_in: Option<Duration>,
        why: String,
    },
    /// A command that waited undelivered past its bound, or was meant for
    /// a window the server no longer runs: it was not sent.
    Expired {
        id: String,
        waited: Duration,
        reason: String,
    },
    /// A command that had to wait is delivered, this long after it was
    /// given; its verdict follows.
    SentLate {
        id: String,
        late: Duration,
    },
    /// Forget the release: what follows starts it again (a replay seeking
    /// backwards).
    Reset,
    /// The simulated service's traffic (what `shipdeck serve` exports at
    /// `/metrics`); not release events.
    Traffic(Vec<crate::model::MetricPoint>),
    /// The backend's own picture of what it runs, for the side pane (a
    /// Rollout's revisions, ReplicaSets, pods and analysis); not release
    /// events, and not journaled. It replaces the last one.
    Picture(Vec<Detail>),
    /// The source slows this backend down (a rate limit spent, a secondary
    /// limit's wait), in words for the header; `None` when it no longer
    /// does. Not journaled.
    Slowed(Option<String>),
}

/// A line of a backend's picture, and how it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// Text from outside: cleaned where it is drawn.
    pub text: String,
    pub tone: Tone,
}

impl Detail {
    pub fn new(text: String, tone: Tone) -> Detail {
        Detail { text, tone }
    }
}

/// How a line of a picture stands: drawn in the theme's colour for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Title,
    Good,
    Busy,
    Bad,
    Muted,
}

/// How a replay is steered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplayControl {
    /// Pause, or go on.
    Toggle,
    /// Jump this many seconds of the window's time (negative: back).
    Seek(i64),
    /// Go to this moment of the window's time and hold there, paused.
    Step(Timestamp),
}

/// The console's end of a running backend.
#[derive(Debug)]
pub struct Handle {
    /// What the backend calls itself in the header: `sim:happy-canary ×10`.
    pub label: String,
    pub commands: mpsc::UnboundedSender<Command>,
    pub updates: mpsc::Receiver<Update>,
    /// For a replay: pause and seek.
    pub controls: Option<mpsc::UnboundedSender<ReplayControl>>,
    /// Lines of the operator's own log sources, kept apart from the
    /// backend's updates and bounded to a few batches: a flood waits at its
    /// source instead of piling up in memory.
    pub logs: Option<mpsc::Receiver<Vec<crate::model::LogLine>>>,
    /// The release's clock as this backend keeps it: what the window's
    /// journal and the operator's log lines are stamped with.
    pub clock: ReleaseClock,
    /// Whether the backend keeps earlier revisions to undo to (a Rollout's
    /// cluster does; a simulated or served release has one).
    pub keeps_revisions: bool,
}

/// A backend task's end of a new [`Handle`]: where it tells the console
/// what happens, and where the console's commands reach it.
pub struct TaskEnd {
    pub updates: mpsc::Sender<Update>,
    pub commands: mpsc::UnboundedReceiver<Command>,
}

impl Handle {
    /// A handle on a task that keeps the release's time on `clock`, and the
    /// task's end of it. No replay controls, no log sources.
    pub fn new(label: String, clock: ReleaseClock, keeps_revisions: bool) -> (Handle, TaskEnd) {
        let (tx, updates) = mpsc::channel(64);
        let (commands, command_rx) = mpsc::unbounded_channel::<Command>();
        let handle = Handle {
            label,
            commands,
            updates,
            controls: None,
            logs: None,
            clock,
            keeps_revisions,
        };
        let end = TaskEnd {
            updates: tx,
            commands: command_rx,
        };
        (handle, end)
    }

    /// The same backend with the lines of `sources` joining its updates.
    /// Call within a tokio runtime.
    pub fn with_logs(mut self, sources: Vec<tail::LogSource>) -> Handle {
        if sources.is_empty() {
            return self;
        }
        let (lines, logs) = mpsc::channel(2);
        for source in sources {
            tracing::info!(?source, "following a log source");
            tail::spawn(source, self.clock.clone(), lines.clone());
        }
        self.logs = Some(logs);
        self
    }
}
