//! The journal's format: an append-only JSON-lines record of one window —
//! every event and every operator command with its outcome — and how it
//! reads back. Writing it (and syncing it to disk) is the binary's work.
//!
//! A file cut off mid-line (a `kill -9`) stays readable: the torn last line
//! is reported, never fatal.

pub mod report;
pub mod stats;

use std::io::{self, BufRead, Read};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::engine::Verdict;
use crate::model::units::duration_serde;
use crate::model::{Command, Event, Person, Release};

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "record", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Record {
    /// The first line: who opened the window, where, with what.
    Window {
        version: u32,
        /// The wall clock's time the file was opened; every other stamp is
        /// the release's time.
        opened_at: Timestamp,
        operator: Person,
        backend: String,
        /// `console`, `events` (headless) …
        mode: String,
    },
    Event {
        event: Event,
    },
    /// Who the backend (a server, in its hello) says this window's
    /// operator is, when that is not who the window was opened as: the
    /// server decides, and its word is what the window's commands carry.
    Operator {
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        operator: Person,
    },
    /// An operator's command, recorded before it is sent.
    Command {
        /// The release's time (the backend's clock), as the events'.
        at: Timestamp,
        /// The wall clock's time, for the audit (absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        command: Command,
    },
    /// The backend's answer to a command.
    Verdict {
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        id: String,
        #[serde(flatten)]
        verdict: Verdict,
    },
    /// The link to the backend (a server) went down, and why.
    LinkLost {
        at: Timestamp,
        /// The wall clock's time: how long the link was down is measured on
        /// it, since the release's time is not heard while it is down.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        reason: String,
    },
    /// The link came back; the commands (ids) that waited while it was down.
    LinkBack {
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        queued: Vec<String>,
    },
    /// A command that waited undelivered past its bound: it was not sent.
    Expired {
        at: Timestamp,
        id: String,
        #[serde(with = "duration_serde")]
        waited: SignedDuration,
        reason: String,
    },
    /// A command (a rollback) that waited for the link and was sent late.
    SentLate {
        at: Timestamp,
        id: String,
        #[serde(with = "duration_serde")]
        late: SignedDuration,
    },
    /// What became of one try to post a notice to a webhook (`serve`).
    Delivery {
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        #[serde(flatten)]
        delivery: WebhookDelivery,
    },
    /// The last line of a window that ended in order.
    Closed {
        at: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<Timestamp>,
        reason: String,
    },
}

impl Record {
    /// The `record` field, as written.
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// One outcome of posting a notice to a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The delivery's id: the same on every try (`Shipdeck-Delivery`).
    pub id: String,
    /// The webhook's address as shown (no query, no key in its path).
    pub hook: String,
    /// The notice's type: waiting, done, rolled_back, finished.
    #[serde(rename = "type")]
    pub notice: String,
    pub state: HookState,
    /// The receiver's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Which try this was, from 1 (0 for one dropped unsent).
    pub attempt: u32,
    /// What went wrong, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// What became of a try to post to a webhook.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum HookState {
    /// The receiver took it (2xx).
    Sent,
    /// This try failed; another follows.
    Failed,
    /// No more tries: the last failed, or the receiver refused it for good.
    GivenUp,
    /// Never sent: the queue was full and it was the oldest.
    Dropped,
}

/// A time the link to the backend was down, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    pub from: Timestamp,
    pub reason: String,
    /// When it came back; `None`: not before the record ends.
    pub back: Option<Timestamp>,
    /// The commands (ids) that waited meanwhile.
    pub queued: Vec<String>,
    /// The wall clock's times it went and came back, when recorded.
    pub from_wall: Option<Timestamp>,
    pub back_wall: Option<Timestamp>,
}

/// A link back for less than this before it went again was no return: the
/// two are one outage (a server going down says hello once more).
const BLIP: jiff::SignedDuration = jiff::SignedDuration::from_secs(5);

impl Outage {
    /// How long the link was down: on the wall clock where both ends have
    /// it, else on the release's.
    pub fn lasted(&self) -> Option<jiff::SignedDuration> {
        match (self.from_wall, self.back_wall, self.back) {
            (Some(from), Some(back), _) => Some(back.duration_since(from)),
            (_, _, Some(back)) => Some(back.duration_since(self.from)),
            _ => None,
        }
    }

    /// Whether it came back only for a moment before `at` (`wall`).
    fn blipped_before(&self, at: Timestamp, wall: Option<Timestamp>) -> bool {
        match (self.back_wall, wall, self.back) {
            (Some(back), Some(now), _) => now.duration_since(back) < BLIP,
            (_, _, Some(back)) => at.duration_since(back) < BLIP,
            _ => false,
        }
    }
}

/// What became of a command that waited for the link.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Not sent: it waited this long, and expired.
    Expired {
        waited: SignedDuration,
        reason: String,
    },
    /// Sent this late.
    Late(SignedDuration),
}

/// A command's delivery, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub at: Timestamp,
    /// The command's id.
    pub id: String,
    pub delivery: Delivery,
}

pub const FORMAT_VERSION: u32 = 1;

/// How many damaged lines of a journal are named, one by one.
pub const WARNINGS_SHOWN: usize = 10;

/// A command's answer, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub at: Timestamp,
    /// The command's id.
    pub id: String,
    pub verdict: Verdict,
}

/// The longest line a journal's reader takes: far beyond any record (a
/// plan is the largest), and a bound on what one line can cost.
pub const MAX_LINE: usize = 16 << 20;

/// Reads past the rest of a line without keeping it.
fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let all = buffer.len();
                reader.consume(all);
            }
        }
    }
}

/// A journal read back.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub window: Option<Record>,
    /// Who the server last said the operator is, if it said.
    pub server_operator: Option<Person>,
    pub events: Vec<Event>,
    pub commands: Vec<(Timestamp, Command)>,
    pub verdicts: Vec<Answer>,
    /// The times the link to the backend was down, in order.
    pub outages: Vec<Outage>,
    /// Commands that waited for the link: expired, or sent late.
    pub deliveries: Vec<Delivered>,
    /// What became of each try to post to a webhook (`serve`).
    pub webhooks: Vec<(Timestamp, WebhookDelivery)>,
    pub closed: Option<(Timestamp, String)>,
    /// Lines that could not be read: (line number, what was wrong).
    pub damaged: Vec<(usize, String)>,
    /// The last line was cut off mid-write (a crash, a `kill -9`).
    pub torn_tail: bool,
    /// The release's plan as its events have grown it so far: what the
    /// next event is checked against.
    pub plan: Option<crate::model::ReleasePlan>,
}

impl Journal {
    /// Reads a journal from any source of bytes. Only a source that cannot
    /// be read is an error; damaged lines are reported in `damaged` and
    /// `torn_tail`.
    pub fn from_reader(mut reader: impl BufRead) -> io::Result<Journal> {
        let mut journal = Journal::default();
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            number += 1;
            // No record is this long: what is, is not read into memory
            // whole (a file that never ends, a line with no end).
            if line.len() > MAX_LINE {
                skip_line(&mut reader)?;
                journal
                    .damaged
                    .push((number, format!("a line longer than {} MiB", MAX_LINE >> 20)));
                continue;
            }
            let complete = line.ends_with(b"\n");
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end();
            if text.is_empty() {
                continue;
            }
            // A line without its newline that still parses is a whole record
            // (the crash came between the brace and the newline).
            match (serde_json::from_str::<Record>(text), complete) {
                (Ok(record), _) => match journal.impossible(&record) {
                    None => journal.take(record),
                    Some(why) => journal.damaged.push((number, format!("not used: {why}"))),
                },
                (Err(_), false) => {
                    journal.torn_tail = true;
                    journal
                        .damaged
                        .push((number, "the last line was cut off mid-write".into()));
                }
                (Err(err), true) => journal
                    .damaged
                    .push((number, format!("not a journal record: {err}"))),
            }
        }
        if journal.window.is_none() && journal.events.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a shipdeck journal (no window record and no events)",
            ));
        }
        Ok(journal)
    }

    /// Why a record that reads cannot be in this journal after what came
    /// before it, if it cannot: a time out of the range a release carries,
    /// an event that cannot be in its release, or one out of order.
    fn impossible(&self, record: &Record) -> Option<String> {
        let (at, wall) = match record {
            Record::Event { event } => {
                // A release's plan comes with its first event, and grows.
                if let Some(why) = event.impossible(self.plan.as_ref()) {
                    return Some(why);
                }
                return match self.events.last() {
                    Some(last) if event.seq <= last.seq => Some(format!(
                        "the event at seq {} comes after seq {}: seqs only rise",
                        event.seq, last.seq
                    )),
                    _ => None,
                };
            }
            Record::Window { opened_at, .. } => (*opened_at, None),
            Record::Command { at, wall, .. }
            | Record::Operator { at, wall, .. }
            | Record::Verdict { at, wall, .. }
            | Record::LinkLost { at, wall, .. }
            | Record::LinkBack { at, wall, .. }
            | Record::Delivery { at, wall, .. }
            | Record::Closed { at, wall, .. } => (*at, *wall),
            Record::Expired { at, .. } | Record::SentLate { at, .. } => (*at, None),
        };
        let bad = std::iter::once(at)
            .chain(wall)
            .find(|t| !crate::model::time::is_carried(*t))?;
        Some(format!(
            "a {} record at {bad}, out of the range shipdeck keeps ({})",
            record.name(),
            crate::model::time::range()
        ))
    }

    fn take(&mut self, record: Record) {
        // A window closed and then taken up again (a restarted server) is
        // closed only if nothing follows its last `closed`.
        if !matches!(record, Record::Closed { .. }) {
            self.closed = None;
        }
        match record {
            Record::Window { .. } => self.window = Some(record),
            Record::Operator { operator, .. } => self.server_operator = Some(operator),
            Record::Event { event } => {
                crate::model::ReleasePlan::follow(&mut self.plan, &event);
                self.events.push(event)
            }
            Record::Command { at, command, .. } => self.commands.push((at, command)),
            Record::Verdict {
                at, id, verdict, ..
            } => self.verdicts.push(Answer { at, id, verdict }),
            Record::LinkLost { at, wall, reason } => match self.outages.last_mut() {
                Some(last) if last.back.is_none() => {}
                Some(last) if last.blipped_before(at, wall) => {
                    last.back = None;
                    last.back_wall = None;
                }
                _ => self.outages.push(Outage {
                    from: at,
                    reason,
                    back: None,
                    queued: Vec::new(),
                    from_wall: wall,
                    back_wall: None,
                }),
            },
            Record::LinkBack { at, wall, queued } => {
                if let Some(outage) = self.outages.last_mut().filter(|o| o.back.is_none()) {
                    outage.back = Some(at);
                    outage.back_wall = wall;
                    for id in queued {
                        if !outage.queued.contains(&id) {
                            outage.queued.push(id);
                        }
                    }
                }
            }
            Record::Expired {
                at,
                id,
                waited,
                reason,
            } => self.deliveries.push(Delivered {
                at,
                id,
                delivery: Delivery::Expired { waited, reason },
            }),
            Record::SentLate { at, id, late } => self.deliveries.push(Delivered {
                at,
                id,
                delivery: Delivery::Late(late),
            }),
            Record::Delivery { at, delivery, .. } => self.webhooks.push((at, delivery)),
            Record::Closed { at, reason, .. } => self.closed = Some((at, reason)),
        }
    }

    /// The command recorded with this id.
    pub fn command(&self, id: &str) -> Option<&Command> {
        self.commands.iter().map(|(_, c)| c).find(|c| c.id == id)
    }

    /// What became of the command with this id, if it waited for the link.
    pub fn delivery(&self, id: &str) -> Option<&Delivered> {
        self.deliveries.iter().find(|d| d.id == id)
    }

    /// The release as its events describe it.
    pub fn release(&self) -> Release {
        let id = self
            .events
            .first()
            .map(|e| e.release.clone())
            .unwrap_or_default();
        let mut release = Release::new(id, crate::model::DEFAULT_LOG_CAPACITY);
        for event in &self.events {
            release.apply(event);
        }
        release
    }

    /// Who ran the window: the server's word on it when it gave one, else
    /// who the window was opened as.
    pub fn operator(&self) -> Option<&Person> {
        match &self.window {
            _ if self.server_operator.is_some() => self.server_operator.as_ref(),
            Some(Record::Window { operator, .. }) => Some(operator),
            _ => None,
        }
    }

    pub fn opened_at(&self) -> Option<Timestamp> {
        match &self.window {
            Some(Record::Window { opened_at, .. }) => Some(*opened_at),
            _ => None,
        }
    }

    /// Warnings about the file, for people.
    /// The first [`WARNINGS_SHOWN`] damaged lines are named; the rest are
    /// counted.
    pub fn warnings(&self, path: &Path) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .damaged
            .iter()
            .take(WARNINGS_SHOWN)
            .map(|(line, what)| format!("{}:{line}: {what}", path.display()))
            .collect();
        if let Some(more) = self.damaged.len().checked_sub(WARNINGS_SHOWN)
            && more > 0
        {
            let s = if more == 1 { "" } else { "s" };
            warnings.push(format!(
                "{}: and {more} more damaged line{s}",
                path.display()
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Grounds, Refusal};

    fn verdict_of(line: &str) -> Verdict {
        match serde_json::from_str::<Record>(line).unwrap() {
            Record::Verdict { verdict, .. } => verdict,
            other => panic!("not a verdict: {other:?}"),
        }
    }

    #[test]
    fn a_verdict_is_recorded_with_its_grounds_and_reads_back_the_same() {
        for verdict in [
            Verdict::Accepted { note: None },
            Verdict::Accepted {
                note: Some("1 more sign-off needed".into()),
            },
            Verdict::Refused(Refusal::who("dave has already signed")),
            Verdict::Refused(Refusal::when("the release is not paused")),
        ] {
            let record = Record::Verdict {
                at: Timestamp::UNIX_EPOCH,
                wall: None,
                id: "c-1".into(),
                verdict: verdict.clone(),
            };
            let line = serde_json::to_string(&record).unwrap();
            assert_eq!(verdict_of(&line), verdict, "{line}");
        }
        let line = serde_json::to_string(&Record::Verdict {
            at: Timestamp::UNIX_EPOCH,
            wall: None,
            id: "c-2".into(),
            verdict: Verdict::Refused(Refusal::who("not an approver")),
        })
        .unwrap();
        assert!(
            line.contains(r#""accepted":false,"message":"not an approver","grounds":"who""#),
            "{line}"
        );
    }

    #[test]
    fn a_verdict_from_a_journal_older_than_grounds_still_reads() {
        let old = r#"{"record":"verdict","at":"2026-11-24T14:00:00Z","id":"c-1","accepted":false,"message":"not at a pause"}"#;
        let Verdict::Refused(refusal) = verdict_of(old) else {
            panic!("a refusal");
        };
        assert_eq!(refusal.grounds, Grounds::When);
        assert_eq!(refusal.reason, "not at a pause");
        let old = r#"{"record":"verdict","at":"2026-11-24T14:00:00Z","id":"c-1","accepted":true}"#;
        assert_eq!(verdict_of(old), Verdict::Accepted { note: None });
    }

    /// A played two-person window as an older shipdeck could have written
    /// it: a rule that fires at once (`availability <= 100%`) and a gate
    /// needing 25 sign-offs in its plan, which `check` now refuses in a
    /// file but a journal still holds.
    fn an_older_journal() -> String {
        use crate::sim::{SimOptions, Simulator, bundled, run_to_end, scenario};
        let text = bundled::get("two-person").unwrap();
        let options = SimOptions {
            autopilot: true,
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(scenario::parse(text).unwrap(), options);
        let events = run_to_end(&mut sim, SignedDuration::from_hours(24));
        let mut lines = String::new();
        for event in events {
            let line = serde_json::to_string(&Record::Event { event }).unwrap();
            let older = line
                .replace(r#""availability < 99.5%""#, r#""availability <= 100%""#)
                .replace(r#""required":2,"#, r#""required":25,"#);
            lines.push_str(&older);
            lines.push('\n');
        }
        assert!(lines.contains(r#""condition":"availability <= 100%""#));
        assert!(lines.contains(r#""required":25,"#));
        lines
    }

    #[test]
    fn a_journal_with_rules_and_gates_an_older_shipdeck_allowed_still_reports() {
        let journal = Journal::from_reader(an_older_journal().as_bytes()).unwrap();
        assert_eq!(journal.damaged, Vec::new());
        let release = journal.release();
        let plan = release.plan().unwrap();
        assert!(
            plan.rules
                .iter()
                .any(|r| r.condition.to_string() == "availability <= 100%")
        );
        assert_eq!(plan.gates[0].required, 25);
        let report = report::build(&journal, Vec::new());
        assert_eq!(report.outcome, "succeeded");
        assert_eq!(report.approvals.len(), 2);
        assert!(report.journal_warnings.is_empty());
    }
}
