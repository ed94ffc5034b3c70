//! Log lines and the bounded ring that holds them.

use std::collections::VecDeque;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumIter, IntoStaticStr};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    EnumIter,
    IntoStaticStr,
    Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One line of output from a stage, a pod, or a request log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: Timestamp,
    pub level: Level,
    /// Where the line came from: `build`, `pod/checkout-api-7f9c-2xkq`,
    /// `ingress`. Shared by the lines of one source.
    pub source: Arc<str>,
    /// The stage the line belongs to, when there is one. Shared, and no
    /// wider than a pointer and a length: a ring holds many lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Arc<str>>,
    pub message: String,
}

/// Lines kept by default in each ring (the release's own, and each source
/// of the reader's); older lines are dropped first.
pub const DEFAULT_LOG_CAPACITY: usize = 100_000;

/// The most lines a ring may be asked to keep: more than anyone reads back,
/// and already gigabytes of memory for one busy source.
pub const MAX_LOG_CAPACITY: usize = 10_000_000;

/// A bounded ring of log lines: memory does not grow with the window. Each
/// line carries its number in the order lines arrived (see [`Logs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRing {
    lines: VecDeque<(u64, LogLine)>,
    capacity: usize,
    /// Lines ever pushed, including those since dropped.
    total: u64,
}

// A kept line and its number fill 88 bytes, as a line alone did before
// lines were numbered: the budget's memory after a flood stays where it was.
const _: () = assert!(std::mem::size_of::<(u64, LogLine)>() <= 88);

// The console reads the ring line by line as logs pour in: its small
// methods are inlined across the crate boundary.
impl LogRing {
    pub fn with_capacity(capacity: usize) -> LogRing {
        LogRing {
            // Room for the whole ring at once: growing by doubling would
            // copy it and leave a third of it unused. Untouched room costs
            // no memory.
            lines: VecDeque::with_capacity(capacity.clamp(1, 1_000_000)),
            capacity: capacity.max(1),
            total: 0,
        }
    }

    /// Adds a line, numbered by how many this ring has had.
    #[inline]
    pub fn push(&mut self, line: LogLine) {
        self.push_numbered(self.total, line);
    }

    /// Adds a line numbered `n`; numbers must rise.
    #[inline]
    fn push_numbered(&mut self, n: u64, line: LogLine) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back((n, line));
        self.total += 1;
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Lines dropped because the ring was full.
    #[inline]
    pub fn dropped(&self) -> u64 {
        self.total - self.lines.len() as u64
    }

    #[inline]
    pub fn get(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index).map(|(_, line)| line)
    }

    /// The number of the oldest line kept.
    #[inline]
    pub fn first_number(&self) -> Option<u64> {
        self.lines.front().map(|(n, _)| *n)
    }

    /// The newest line kept, with its number.
    #[inline]
    pub fn newest(&self) -> Option<(u64, &LogLine)> {
        self.lines.back().map(|(n, line)| (*n, line))
    }

    /// The line numbered `n`, while it is kept.
    #[inline]
    pub fn find(&self, n: u64) -> Option<&LogLine> {
        let i = self.lines.binary_search_by_key(&n, |(m, _)| *m).ok()?;
        self.lines.get(i).map(|(_, line)| line)
    }

    /// The lines in `range` (indexes into what is kept) with their numbers,
    /// without copying.
    #[inline]
    pub fn numbered(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = (u64, &LogLine)> {
        let end = range.end.min(self.lines.len());
        let start = range.start.min(end);
        self.lines.range(start..end).map(|(n, line)| (*n, line))
    }

    /// The lines in `range` (indexes into what is kept), without copying.
    #[inline]
    pub fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &LogLine> {
        self.numbered(range).map(|(_, line)| line)
    }

    #[inline]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.lines.iter().map(|(_, line)| line)
    }
}

/// Lines a serialized ring carries: the newest, enough to fill a screen.
pub const SERIALIZED_TAIL: usize = 200;

/// A ring serializes as its newest lines and the counts, never as its
/// whole history.
impl Serialize for LogRing {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let skip = self.lines.len().saturating_sub(SERIALIZED_TAIL);
        let tail: Vec<&LogLine> = self.iter().skip(skip).collect();
        let mut ring = serializer.serialize_struct("LogRing", 4)?;
        ring.serialize_field("capacity", &self.capacity)?;
        ring.serialize_field("total", &self.total)?;
        ring.serialize_field("kept", &self.lines.len())?;
        ring.serialize_field("tail", &tail)?;
        ring.end()
    }
}

impl Default for LogRing {
    fn default() -> LogRing {
        LogRing::with_capacity(DEFAULT_LOG_CAPACITY)
    }
}

/// Source rings kept at most; lines of any further source share the last.
pub const MAX_SOURCES: usize = 32;

/// Every log line a reader holds, in rings of their own: the release's own
/// lines (its stages, the engine, the rollout, the rules) in one, and each
/// log source of the reader's (by its label) in another, each bounded by
/// the same capacity. A flood from one source drops only that source's
/// oldest lines.
///
/// Lines are numbered across all rings in the order they arrived, so the
/// rings can be read merged, newest last.
#[derive(Debug, Clone, PartialEq)]
pub struct Logs {
    own: LogRing,
    sources: Vec<(Arc<str>, LogRing)>,
    capacity: usize,
    /// Lines ever received, in every ring: the next line's number.
    arrived: u64,
    /// The source ring the last line went to: a batch is one source's.
    last: usize,
}

impl Logs {
    /// Rings of `capacity` lines each.
    pub fn with_capacity(capacity: usize) -> Logs {
        Logs {
            own: LogRing::with_capacity(capacity),
            sources: Vec::new(),
            capacity: capacity.max(1),
            arrived: 0,
            last: 0,
        }
    }

    /// A line of the release's own.
    #[inline]
    pub fn push_own(&mut self, line: LogLine) {
        self.own.push_numbered(self.arrived, line);
        self.arrived += 1;
    }

    /// A line of one of the reader's sources, into that source's ring.
    #[inline]
    pub fn push_source(&mut self, line: LogLine) {
        let i = self.source_index(&line.source);
        self.sources[i].1.push_numbered(self.arrived, line);
        self.arrived += 1;
    }

    fn source_index(&mut self, label: &Arc<str>) -> usize {
        if let Some((known, _)) = self.sources.get(self.last)
            && (Arc::ptr_eq(known, label) || known == label)
        {
            return self.last;
        }
        let i = match self.sources.iter().position(|(known, _)| known == label) {
            Some(i) => i,
            None if self.sources.len() < MAX_SOURCES => {
                let ring = LogRing::with_capacity(self.capacity);
                self.sources.push((label.clone(), ring));
                self.sources.len() - 1
            }
            None => MAX_SOURCES - 1,
        };
        self.last = i;
        i
    }

    /// The release's own lines.
    #[inline]
    pub fn own(&self) -> &LogRing {
        &self.own
    }

    /// The ring of the reader's source labelled `label`.
    pub fn source(&self, label: &str) -> Option<&LogRing> {
        self.sources
            .iter()
            .find(|(known, _)| &**known == label)
            .map(|(_, ring)| ring)
    }

    /// Every ring: the release's own first, then the sources in the order
    /// their first lines came. A ring keeps its place.
    #[inline]
    pub fn rings(&self) -> impl Iterator<Item = &LogRing> {
        std::iter::once(&self.own).chain(self.sources.iter().map(|(_, ring)| ring))
    }

    /// The ring at `index` in [`Logs::rings`]' order.
    #[inline]
    pub fn ring(&self, index: usize) -> Option<&LogRing> {
        match index {
            0 => Some(&self.own),
            i => self.sources.get(i - 1).map(|(_, ring)| ring),
        }
    }

    /// Lines each ring keeps at most.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lines ever received, in every ring.
    #[inline]
    pub fn total(&self) -> u64 {
        self.arrived
    }

    /// Lines kept, in every ring.
    pub fn len(&self) -> usize {
        self.rings().map(LogRing::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.arrived == 0
    }

    /// The line that arrived last, of any ring.
    pub fn newest(&self) -> Option<&LogLine> {
        self.rings()
            .filter_map(LogRing::newest)
            .max_by_key(|(n, _)| *n)
            .map(|(_, line)| line)
    }
}

/// Logs serialize as the release's own ring: a reader's sources are its
/// own business.
impl Serialize for Logs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.own.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: i64) -> LogLine {
        LogLine {
            at: Timestamp::from_second(n).unwrap(),
            level: Level::Info,
            source: "test".into(),
            stage: None,
            message: format!("line {n}"),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_lines_and_counts_the_dropped() {
        let mut ring = LogRing::with_capacity(3);
        for n in 0..10 {
            ring.push(line(n));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.total(), 10);
        assert_eq!(ring.dropped(), 7);
        let kept: Vec<&str> = ring.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(kept, ["line 7", "line 8", "line 9"]);
        assert_eq!(ring.range(1..99).count(), 2);
    }

    fn from(source: &str, n: i64) -> LogLine {
        LogLine {
            source: source.into(),
            ..line(n)
        }
    }

    #[test]
    fn a_flood_from_one_source_drops_only_that_sources_old_lines() {
        let mut logs = Logs::with_capacity(1_000);
        for n in 0..50 {
            logs.push_own(line(n));
        }
        logs.push_source(from("deploy.log", 50));
        for n in 0..300_000 {
            logs.push_source(from("kubectl", n));
        }
        assert_eq!(logs.own().len(), 50, "the release's own lines are all kept");
        assert_eq!(logs.own().dropped(), 0);
        assert_eq!(logs.source("deploy.log").map(LogRing::len), Some(1));
        let flood = logs.source("kubectl").unwrap();
        assert_eq!(flood.len(), 1_000, "the flood keeps its ring's size");
        assert_eq!(flood.dropped(), 299_000);
        assert_eq!(flood.iter().next().unwrap().message, "line 299000");
        assert_eq!(logs.total(), 300_051);
        assert_eq!(logs.len(), 1_051);
        assert_eq!(logs.newest().unwrap().message, "line 299999");
    }

    #[test]
    fn lines_are_numbered_in_the_order_they_arrived_across_rings() {
        let mut logs = Logs::with_capacity(10);
        logs.push_own(line(0));
        logs.push_source(from("a", 1));
        logs.push_own(line(2));
        logs.push_source(from("b", 3));
        logs.push_source(from("a", 4));
        let numbers: Vec<Vec<u64>> = logs
            .rings()
            .map(|r| r.numbered(0..r.len()).map(|(n, _)| n).collect())
            .collect();
        assert_eq!(numbers, [vec![0, 2], vec![1, 4], vec![3]]);
        assert_eq!(logs.ring(1).unwrap().find(4).unwrap().message, "line 4");
        assert!(logs.ring(1).unwrap().find(3).is_none());
    }

    #[test]
    fn sources_beyond_the_limit_share_the_last_ring() {
        let mut logs = Logs::with_capacity(10);
        for n in 0..MAX_SOURCES as i64 + 5 {
            logs.push_source(from(&format!("src{n}"), n));
        }
        assert_eq!(logs.rings().count(), MAX_SOURCES + 1);
        assert_eq!(logs.len(), MAX_SOURCES + 5, "no line is lost");
    }
}
