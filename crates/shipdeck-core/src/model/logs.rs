//! Log lines and the bounded ring that holds them.

use std::collections::VecDeque;

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
    pub source: std::sync::Arc<str>,
    /// The stage the line belongs to, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    pub message: String,
}

/// Lines kept by default; older lines are dropped first.
pub const DEFAULT_LOG_CAPACITY: usize = 100_000;

/// A bounded ring of log lines: memory does not grow with the window.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRing {
    lines: VecDeque<LogLine>,
    capacity: usize,
    /// Lines ever pushed, including those since dropped.
    total: u64,
}

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

    #[inline]
    pub fn push(&mut self, line: LogLine) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
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
        self.lines.get(index)
    }

    /// The lines in `range` (indexes into what is kept), without copying.
    #[inline]
    pub fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &LogLine> {
        let end = range.end.min(self.lines.len());
        let start = range.start.min(end);
        self.lines.range(start..end)
    }

    #[inline]
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> {
        self.lines.iter()
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
        let tail: Vec<&LogLine> = self.lines.iter().skip(skip).collect();
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
}
