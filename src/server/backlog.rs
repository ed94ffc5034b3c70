//! Events older than a hub keeps in memory, read back from the window's
//! journal: a stream that fell far behind, or a console that joins a long
//! window, resumes from its seq all the same, and the server's memory stays
//! bounded however long the window runs.
//!
//! The hub marks where in the file some events begin (one mark every
//! [`MARK_EVERY`] events as they are written, and as often in what a read
//! passes over: the history of a window taken up again), so a read seeks
//! near its seq instead of reading the file from the top.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use axum::body::Bytes;

use crate::journal::{MAX_LINE, Record};

/// Events between two marks as they are written.
const MARK_EVERY: u64 = 1024;

/// Events between two marks a read makes: where a crowd catching up will
/// read next.
const READ_MARK_EVERY: u64 = 64;

/// Where a window's events are on disk.
#[derive(Debug, Default)]
pub struct Backlog {
    path: Option<PathBuf>,
    /// seq → offset: the line of event `seq` begins at `offset`.
    marks: BTreeMap<u64, u64>,
    /// The newest event marked as it was written.
    written: Option<u64>,
}

impl Backlog {
    pub fn at(path: &Path) -> Backlog {
        Backlog {
            path: Some(path.to_path_buf()),
            ..Backlog::default()
        }
    }

    /// Event `seq`'s line, just written, begins at `offset`.
    pub fn mark(&mut self, seq: u64, offset: u64) {
        if self.written.is_none_or(|marked| seq >= marked + MARK_EVERY) {
            self.written = Some(seq);
            self.marks.insert(seq, offset);
        }
    }

    /// Marks a read found.
    pub fn learn(&mut self, marks: &[(u64, u64)]) {
        self.marks.extend(marks.iter().copied());
    }

    /// What a read of the events after `after` needs: the file, and where
    /// in it to begin.
    pub fn place(&self, after: u64) -> Option<(PathBuf, u64)> {
        let path = self.path.clone()?;
        let offset = self
            .marks
            .range(..=after.saturating_add(1))
            .next_back()
            .map_or(0, |(_, offset)| *offset);
        Some((path, offset))
    }
}

/// What a read found: events as the stream sends them, and marks of where
/// some of them begin.
#[derive(Debug, Default)]
pub struct Found {
    pub events: Vec<(u64, Bytes)>,
    pub marks: Vec<(u64, u64)>,
}

/// Up to `max` events after `after` and before `before`, each as the
/// stream sends it, read from the journal at `path` from `offset` on.
/// Records that are not events, and lines that do not read, are passed
/// over.
pub fn read(
    path: &Path,
    offset: u64,
    after: u64,
    before: u64,
    max: usize,
    frame: impl Fn(&crate::model::Event) -> Bytes,
) -> io::Result<Found> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut found = Found::default();
    let mut line = Vec::new();
    let mut at = offset;
    while found.events.len() < max {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        let begins = at;
        at += n as u64;
        if n == 0 || !line.ends_with(b"\n") {
            break; // the end, or a line being written
        }
        let Ok(Record::Event { event }) = serde_json::from_slice::<Record>(&line) else {
            continue;
        };
        if event.seq >= before {
            break;
        }
        if event.seq % READ_MARK_EVERY == 0 {
            found.marks.push((event.seq, begins));
        }
        // In seq order, each once, as resume reads them: a damaged
        // journal's stray line is passed over.
        let newest = found.events.last().map_or(after, |(seq, _)| *seq);
        if event.seq > newest {
            found.events.push((event.seq, frame(&event)));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_begins_at_the_last_mark_at_or_before_the_seq_wanted() {
        let mut backlog = Backlog::at(Path::new("j.jsonl"));
        assert_eq!(backlog.place(5).unwrap().1, 0);
        backlog.mark(3001, 100);
        backlog.mark(3002, 200); // too close to the last mark: not kept
        backlog.mark(4025, 9000);
        backlog.mark(5049, 18000);
        assert_eq!(backlog.place(0).unwrap().1, 0);
        assert_eq!(backlog.place(3000).unwrap().1, 100);
        assert_eq!(backlog.place(4023).unwrap().1, 100);
        assert_eq!(backlog.place(4024).unwrap().1, 9000);
        assert_eq!(backlog.place(9000).unwrap().1, 18000);
        // A window's history, marked as a read passes over it.
        backlog.learn(&[(1024, 50), (2048, 80)]);
        assert_eq!(backlog.place(1500).unwrap().1, 50);
        assert_eq!(backlog.place(2999).unwrap().1, 80);
        assert_eq!(backlog.place(3000).unwrap().1, 100);
        assert!(Backlog::default().place(1).is_none());
    }
}
