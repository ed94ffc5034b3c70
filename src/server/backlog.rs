//! Events older than a hub keeps in memory, read back from the window's
//! journal: a stream that fell far behind, or a console that joins a long
//! window, resumes from its seq all the same, and the server's memory stays
//! bounded however long the window runs.
//!
//! The hub marks where in the file some events begin (one mark every
//! [`MARK_EVERY`] events), so a read seeks near its seq instead of reading
//! the file from the top.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use axum::body::Bytes;

use crate::journal::{MAX_LINE, Record};

/// Events between two marks.
const MARK_EVERY: u64 = 1024;

/// Where a window's events are on disk.
#[derive(Debug, Default)]
pub struct Backlog {
    path: Option<PathBuf>,
    /// (seq, offset): the line of event `seq` begins at `offset`.
    marks: Vec<(u64, u64)>,
}

impl Backlog {
    pub fn at(path: &Path) -> Backlog {
        Backlog {
            path: Some(path.to_path_buf()),
            marks: Vec::new(),
        }
    }

    /// Event `seq`'s line begins at `offset`.
    pub fn mark(&mut self, seq: u64, offset: u64) {
        if self
            .marks
            .last()
            .is_none_or(|(marked, _)| seq >= marked + MARK_EVERY)
        {
            self.marks.push((seq, offset));
        }
    }

    /// What a read of the events after `after` needs: the file, and where
    /// in it to begin.
    pub fn place(&self, after: u64) -> Option<(PathBuf, u64)> {
        let path = self.path.clone()?;
        let marked = self.marks.partition_point(|(seq, _)| *seq <= after + 1);
        let offset = marked.checked_sub(1).map_or(0, |i| self.marks[i].1);
        Some((path, offset))
    }
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
) -> io::Result<Vec<(u64, Bytes)>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut found = Vec::new();
    let mut line = Vec::new();
    while found.len() < max {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 || !line.ends_with(b"\n") {
            break; // the end, or a line being written
        }
        let Ok(Record::Event { event }) = serde_json::from_slice::<Record>(&line) else {
            continue;
        };
        if event.seq >= before {
            break;
        }
        if event.seq > after {
            found.push((event.seq, frame(&event)));
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
        backlog.mark(1, 100);
        backlog.mark(2, 200); // too close to the last mark: not kept
        backlog.mark(1025, 9000);
        backlog.mark(2049, 18000);
        assert_eq!(backlog.place(0).unwrap().1, 100);
        assert_eq!(backlog.place(1023).unwrap().1, 100);
        assert_eq!(backlog.place(1024).unwrap().1, 9000);
        assert_eq!(backlog.place(5000).unwrap().1, 18000);
        assert!(Backlog::default().place(1).is_none());
    }
}
