//! The journal: an append-only JSON-lines record of one window — every event
//! and every operator command with its outcome.
//!
//! A command's record is written, flushed and synced to disk before the
//! command is sent, so a crash never loses what an operator did. A file cut
//! off mid-line (a `kill -9`) stays readable: the torn last line is reported,
//! never fatal.

pub use shipdeck_core::journal::*;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};

use crate::backend::ReleaseClock;
use crate::engine::Verdict;
use crate::model::{Command, Event, Outcome, Person};

/// Writes one window's journal. Its records are stamped with the release's
/// clock (the backend's: virtual under the simulator), the wall clock's
/// time beside it as `wall`, so a record sits among the events it answers.
#[derive(Debug)]
pub struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
    /// The release's clock; until a backend's is given, the one the
    /// recorded events move on.
    clock: ReleaseClock,
    /// Who the window's operator is, as last recorded (`None`: not known,
    /// for a window taken up again).
    operator: Option<Person>,
    /// Where the next record begins in the file.
    position: u64,
}

impl Writer {
    /// Creates a new journal file in `dir` and writes its first line.
    pub fn create(dir: &Path, operator: &Person, backend: &str, mode: &str) -> io::Result<Writer> {
        std::fs::create_dir_all(dir)?;
        let opened_at = Timestamp::now();
        let stamp = opened_at.strftime("%Y%m%dT%H%M%SZ").to_string();
        let base = format!("{stamp}-{}", sanitise(backend));
        // A second window in the same second gets its own file, even when
        // another process makes one at the same moment.
        let mut path = dir.join(format!("{base}.jsonl"));
        let mut n = 1;
        let file = loop {
            match OpenOptions::new().create_new(true).append(true).open(&path) {
                Ok(file) => break file,
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && n < 10_000 => {
                    n += 1;
                    path = dir.join(format!("{base}-{n}.jsonl"));
                }
                Err(err) => return Err(err),
            }
        };
        // Held while the window is written: no second writer takes it up.
        let _ = file.try_lock();
        let mut writer = Writer {
            path,
            out: BufWriter::new(file),
            clock: ReleaseClock::default(),
            operator: Some(operator.clone()),
            position: 0,
        };
        writer.append(&Record::Window {
            version: FORMAT_VERSION,
            opened_at,
            operator: operator.clone(),
            backend: backend.to_string(),
            mode: mode.to_string(),
        })?;
        writer.sync()?;
        Ok(writer)
    }

    /// Opens an existing journal to go on writing it (a resumed window).
    /// A line cut off by a crash is ended first, so what follows reads.
    pub fn reopen(path: &Path) -> io::Result<Writer> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = OpenOptions::new().read(true).append(true).open(path)?;
        if let Err(std::fs::TryLockError::WouldBlock) = file.try_lock() {
            return Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                "another shipdeck process is writing this journal",
            ));
        }
        let length = file.metadata()?.len();
        let ends_cleanly = if length == 0 {
            true
        } else {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            last[0] == b'\n'
        };
        let mut writer = Writer {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            clock: ReleaseClock::default(),
            operator: None,
            position: length,
        };
        if !ends_cleanly {
            writer.out.write_all(b"\n")?;
            writer.position += 1;
        }
        writer.sync()?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the next record will begin in the file, in bytes.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Stamps what follows with `clock`: the backend's, which the window
    /// runs on.
    pub fn keep_time(&mut self, clock: ReleaseClock) {
        self.clock = clock;
    }

    /// The moment of a record written now: the release's time, and the
    /// wall clock's for the audit.
    fn stamp(&self) -> (Timestamp, Option<Timestamp>) {
        (self.clock.now_or_wall(), Some(Timestamp::now()))
    }

    /// One record, one line. Its strings are kept as they came (the
    /// journal is the record), but every character a terminal would act
    /// on is written as a `\u` escape, so the file is safe to `cat`.
    fn append(&mut self, record: &Record) -> io::Result<()> {
        let line = serde_json::to_string(record)?;
        let line = crate::model::text::json_safe(&line);
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.position += line.len() as u64 + 1;
        Ok(())
    }

    /// Flushes what is buffered and makes it durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }

    /// Records events; flushed to the file, not synced (events can be had
    /// again from the backend; commands cannot).
    pub fn events(&mut self, events: &[Event]) -> io::Result<()> {
        if let Some(last) = events.last() {
            self.clock.heard(last.at);
        }
        for event in events {
            self.append(&Record::Event {
                event: event.clone(),
            })?;
        }
        self.out.flush()
    }

    /// Records a command and makes it durable. Call before sending it.
    pub fn command(&mut self, command: &Command) -> io::Result<()> {
        self.command_unsynced(command)?;
        self.sync()
    }

    /// Records a command, to be made durable by a [`Writer::sync`] before
    /// it is sent: commands that arrive together share one sync.
    pub fn command_unsynced(&mut self, command: &Command) -> io::Result<()> {
        let (at, wall) = self.stamp();
        self.append(&Record::Command {
            at,
            wall,
            command: command.clone(),
        })
    }

    pub fn verdict(&mut self, id: &str, verdict: &Verdict) -> io::Result<()> {
        self.verdict_unsynced(id, verdict)?;
        self.sync()
    }

    /// Records a verdict, to be made durable by a [`Writer::sync`] before
    /// it is answered.
    pub fn verdict_unsynced(&mut self, id: &str, verdict: &Verdict) -> io::Result<()> {
        let (at, wall) = self.stamp();
        self.append(&Record::Verdict {
            at,
            wall,
            id: id.to_string(),
            verdict: verdict.clone(),
        })
    }

    /// The link to the backend went down, and why.
    pub fn link_lost(&mut self, reason: &str) -> io::Result<()> {
        let (at, wall) = self.stamp();
        self.append(&Record::LinkLost {
            at,
            wall,
            reason: reason.to_string(),
        })?;
        self.sync()
    }

    /// The link came back; the commands (ids) that waited meanwhile.
    pub fn link_back(&mut self, queued: &[String]) -> io::Result<()> {
        let (at, wall) = self.stamp();
        self.append(&Record::LinkBack {
            at,
            wall,
            queued: queued.to_vec(),
        })?;
        self.sync()
    }

    /// A command that waited `waited` undelivered and was not sent.
    pub fn expired(&mut self, id: &str, waited: SignedDuration, reason: &str) -> io::Result<()> {
        self.append(&Record::Expired {
            at: self.stamp().0,
            id: id.to_string(),
            waited,
            reason: reason.to_string(),
        })?;
        self.sync()
    }

    /// A command sent `late` after it was given: it waited for the link.
    pub fn sent_late(&mut self, id: &str, late: SignedDuration) -> io::Result<()> {
        self.append(&Record::SentLate {
            at: self.stamp().0,
            id: id.to_string(),
            late,
        })?;
        self.sync()
    }

    /// What became of one try to post a notice to a webhook. Flushed, not
    /// synced, like events: a webhook's outcome never holds the release up.
    pub fn delivery(&mut self, delivery: &crate::journal::WebhookDelivery) -> io::Result<()> {
        let (at, wall) = self.stamp();
        self.append(&Record::Delivery {
            at,
            wall,
            delivery: delivery.clone(),
        })?;
        self.out.flush()
    }

    /// Records who the backend says this window's operator is, when that is
    /// news: a server decides who a client is, and the journal keeps its
    /// word, not the name the console was started with.
    pub fn operator_is(&mut self, operator: &Person) -> io::Result<()> {
        let known = self.operator.as_ref();
        if known.is_some_and(|k| k == operator && k.as_str() == operator.as_str()) {
            return Ok(());
        }
        let (at, wall) = self.stamp();
        self.append(&Record::Operator {
            at,
            wall,
            operator: operator.clone(),
        })?;
        self.operator = Some(operator.clone());
        self.sync()
    }

    /// Closes this window's file with `reason` and goes on in a new one in
    /// the same folder: the backend started the release afresh, and one
    /// file holds one window.
    pub fn start_again(&mut self, reason: &str) -> io::Result<()> {
        let header = std::fs::File::open(&self.path).ok().and_then(|file| {
            let mut first = String::new();
            BufReader::new(file).read_line(&mut first).ok()?;
            match serde_json::from_str::<Record>(&first).ok()? {
                Record::Window {
                    operator,
                    backend,
                    mode,
                    ..
                } => Some((operator, backend, mode)),
                _ => None,
            }
        });
        let (operator, backend, mode) = header.unwrap_or_else(|| {
            (
                Person::own(crate::model::names::SOMEONE),
                "?".into(),
                "?".into(),
            )
        });
        // The operator as last heard, not as the old window was opened.
        let operator = self.operator.clone().unwrap_or(operator);
        self.close(reason)?;
        let dir = self.path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let clock = self.clock.clone();
        *self = Writer::create(&dir, &operator, &backend, &mode)?;
        self.clock = clock;
        Ok(())
    }

    /// The last line of a window that ends in order.
    pub fn close(&mut self, reason: &str) -> io::Result<()> {
        let (at, wall) = self.stamp();
        self.append(&Record::Closed {
            at,
            wall,
            reason: reason.to_string(),
        })?;
        self.sync()
    }
}

fn sanitise(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

/// Reads a journal file. Only an unreadable file is an error; damaged lines
/// are reported in `damaged` and `torn_tail`.
/// Only a regular file is read: a device, a pipe or a socket named like a
/// journal (or a link to one) would never end, or never begin.
pub fn read(path: &Path) -> io::Result<Journal> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Journal::from_reader(BufReader::new(File::open(path)?))
}

/// Whether a live process is writing the journal at `path`.
pub fn in_use(path: &Path) -> bool {
    File::open(path).is_ok_and(|file| {
        matches!(
            file.try_lock_shared(),
            Err(std::fs::TryLockError::WouldBlock)
        )
    })
}

/// One recorded window, for `shipdeck journal list`.
#[derive(Debug, Clone)]
pub struct Summary {
    pub path: PathBuf,
    pub opened_at: Option<Timestamp>,
    pub service: String,
    pub versions: String,
    pub outcome: Option<Outcome>,
    pub in_flight: bool,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub damaged: bool,
}

/// The windows recorded in `dir`, newest first; unreadable files are
/// returned as errors beside the rest.
pub fn list(dir: &Path) -> io::Result<(Vec<Summary>, Vec<String>)> {
    let mut summaries = Vec::new();
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok((summaries, problems)),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        match read(&path) {
            Ok(journal) => {
                let release = journal.release();
                let plan = release.plan();
                summaries.push(Summary {
                    opened_at: journal.opened_at(),
                    service: plan
                        .map(|p| p.service.clone())
                        .unwrap_or_else(|| "?".into()),
                    versions: plan
                        .map(|p| format!("{} → {}", p.version_from, p.version_to))
                        .unwrap_or_default(),
                    outcome: release.outcome(),
                    in_flight: release.status().in_flight(),
                    started: release.started_at(),
                    ended: release.finished_at().or(release.last_at()),
                    damaged: !journal.damaged.is_empty(),
                    path,
                });
            }
            Err(err) => problems.push(format!("{}: {err}", path.display())),
        }
    }
    summaries.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(b.path.cmp(&a.path)));
    Ok((summaries, problems))
}

#[cfg(test)]
mod tests;
