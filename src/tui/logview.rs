//! The log pane's state: filter, minimum level, follow, and where it is
//! scrolled to — kept so that drawing touches only the lines on screen.
//!
//! Lines are numbered absolutely (the n-th line ever received), so the
//! numbers stay valid as the ring drops its oldest lines. The numbers of the
//! lines that pass the filter are kept in order and extended as lines
//! arrive; a new filter rebuilds them once.

use std::collections::VecDeque;

use regex::{Regex, RegexBuilder};

use crate::model::{Level, LogLine, LogRing};

#[derive(Debug, Clone)]
pub struct LogView {
    pub follow: bool,
    pub min_level: Level,
    /// The filter as typed: `stage:canary src:ingress 5\d\d`.
    pub filter_text: String,
    pattern: Option<Regex>,
    stage: Option<String>,
    source: Option<String>,
    /// Absolute numbers of the lines that pass, oldest first.
    matches: VecDeque<u64>,
    /// Lines examined so far (absolute).
    scanned: u64,
    /// While not following: the absolute number of the bottom line shown.
    anchor: Option<u64>,
}

impl Default for LogView {
    fn default() -> LogView {
        LogView {
            follow: true,
            min_level: Level::Debug,
            filter_text: String::new(),
            pattern: None,
            stage: None,
            source: None,
            matches: VecDeque::new(),
            scanned: 0,
            anchor: None,
        }
    }
}

impl LogView {
    fn passes(&self, line: &LogLine) -> bool {
        line.level >= self.min_level
            && self
                .stage
                .as_ref()
                .is_none_or(|s| line.stage.as_deref() == Some(s.as_str()))
            && self
                .source
                .as_ref()
                .is_none_or(|s| line.source.contains(s.as_str()))
            && self
                .pattern
                .as_ref()
                .is_none_or(|p| p.is_match(&line.message) || p.is_match(&line.source))
    }

    /// Takes in lines that arrived since the last call.
    pub fn sync(&mut self, ring: &LogRing) {
        let dropped = ring.dropped();
        self.scanned = self.scanned.max(dropped);
        while let Some(&first) = self.matches.front() {
            if first >= dropped {
                break;
            }
            self.matches.pop_front();
        }
        let start = (self.scanned - dropped) as usize;
        let mut n = self.scanned;
        for line in ring.range(start..ring.len()) {
            if self.passes(line) {
                self.matches.push_back(n);
            }
            n += 1;
        }
        self.scanned = n;
    }

    fn rebuild(&mut self, ring: &LogRing) {
        self.matches.clear();
        self.scanned = ring.dropped();
        self.anchor = None;
        self.follow = true;
        self.sync(ring);
    }

    /// Sets the filter: `stage:ID` and `src:TEXT` tokens pick lines by stage
    /// and source, the rest is a case-insensitive regex on the message.
    pub fn set_filter(&mut self, text: &str, ring: &LogRing) -> Result<(), String> {
        let mut stage = None;
        let mut source = None;
        let mut rest = Vec::new();
        for token in text.split_whitespace() {
            if let Some(s) = token.strip_prefix("stage:") {
                stage = Some(s.to_string());
            } else if let Some(s) = token
                .strip_prefix("src:")
                .or_else(|| token.strip_prefix("source:"))
            {
                source = Some(s.to_string());
            } else {
                rest.push(token);
            }
        }
        let pattern = if rest.is_empty() {
            None
        } else {
            let joined = rest.join(" ");
            Some(
                RegexBuilder::new(&joined)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| {
                        format!(
                            "not a valid regex: {}",
                            e.to_string().lines().last().unwrap_or("")
                        )
                    })?,
            )
        };
        self.filter_text = text.trim().to_string();
        self.pattern = pattern;
        self.stage = stage;
        self.source = source;
        self.rebuild(ring);
        Ok(())
    }

    pub fn clear_filter(&mut self, ring: &LogRing) {
        self.filter_text.clear();
        self.pattern = None;
        self.stage = None;
        self.source = None;
        self.rebuild(ring);
    }

    pub fn is_filtered(&self) -> bool {
        !self.filter_text.is_empty()
    }

    /// Cycles the minimum level: debug → info → warn → error → trace → debug.
    pub fn cycle_level(&mut self, ring: &LogRing) {
        self.min_level = match self.min_level {
            Level::Trace => Level::Debug,
            Level::Debug => Level::Info,
            Level::Info => Level::Warn,
            Level::Warn => Level::Error,
            Level::Error => Level::Trace,
        };
        self.rebuild(ring);
    }

    pub fn matching(&self) -> usize {
        self.matches.len()
    }

    /// Position (in `matches`) of the bottom line shown.
    fn bottom(&self) -> Option<usize> {
        if self.matches.is_empty() {
            return None;
        }
        match (self.follow, self.anchor) {
            (false, Some(anchor)) => {
                let i = self.matches.partition_point(|&n| n <= anchor);
                Some(i.saturating_sub(1))
            }
            _ => Some(self.matches.len() - 1),
        }
    }

    /// The lines to draw in a pane `height` rows tall, oldest first.
    pub fn visible<'r>(&self, ring: &'r LogRing, height: usize) -> Vec<&'r LogLine> {
        let Some(bottom) = self.bottom() else {
            return Vec::new();
        };
        // A view anchored near the top still fills the pane.
        let bottom = bottom.max(height.min(self.matches.len()).saturating_sub(1));
        let dropped = ring.dropped();
        let first = (bottom + 1).saturating_sub(height);
        (first..=bottom)
            .filter_map(|i| self.matches.get(i))
            .filter_map(|&n| ring.get((n - dropped) as usize))
            .collect()
    }

    /// How many matching lines lie below the view (0 while following).
    pub fn below(&self) -> usize {
        self.bottom().map_or(0, |b| self.matches.len() - 1 - b)
    }

    /// Scrolls back `n` lines; scrolling stops following.
    pub fn scroll_up(&mut self, n: usize, height: usize) {
        let Some(bottom) = self.bottom() else {
            return;
        };
        // Never scroll so far that the pane has blank rows at the top.
        let lowest_bottom = height.saturating_sub(1).min(self.matches.len() - 1);
        let target = bottom.saturating_sub(n).max(lowest_bottom);
        self.anchor = self.matches.get(target).copied();
        self.follow = false;
    }

    /// Scrolls forward `n` lines; reaching the end follows again.
    pub fn scroll_down(&mut self, n: usize) {
        let Some(bottom) = self.bottom() else {
            return;
        };
        let target = bottom + n;
        if target + 1 >= self.matches.len() {
            self.follow_end();
        } else {
            self.anchor = self.matches.get(target).copied();
        }
    }

    pub fn top(&mut self, height: usize) {
        self.scroll_up(usize::MAX, height);
    }

    pub fn follow_end(&mut self) {
        self.follow = true;
        self.anchor = None;
    }

    /// Follow on/off; turning it off holds the view where it is.
    pub fn toggle_follow(&mut self) {
        if self.follow {
            self.anchor = self.bottom().and_then(|b| self.matches.get(b).copied());
            self.follow = false;
        } else {
            self.follow_end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn ring_with(n: usize, capacity: usize) -> LogRing {
        let mut ring = LogRing::with_capacity(capacity);
        for i in 0..n {
            ring.push(LogLine {
                at: Timestamp::from_second(i as i64).unwrap(),
                level: if i % 10 == 0 {
                    Level::Error
                } else {
                    Level::Info
                },
                source: if i % 2 == 0 {
                    "ingress".into()
                } else {
                    "pod/a".into()
                },
                stage: Some("canary".into()),
                message: format!("line {i}"),
            });
        }
        ring
    }

    fn shown(view: &LogView, ring: &LogRing, height: usize) -> Vec<String> {
        view.visible(ring, height)
            .iter()
            .map(|l| l.message.clone())
            .collect()
    }

    #[test]
    fn following_shows_the_newest_lines() {
        let ring = ring_with(100, 1000);
        let mut view = LogView::default();
        view.sync(&ring);
        assert_eq!(shown(&view, &ring, 3), ["line 97", "line 98", "line 99"]);
    }

    #[test]
    fn scrolled_back_the_view_holds_still_while_lines_arrive() {
        let mut ring = ring_with(100, 1000);
        let mut view = LogView::default();
        view.sync(&ring);
        view.scroll_up(10, 3);
        assert_eq!(shown(&view, &ring, 3), ["line 87", "line 88", "line 89"]);
        for i in 100..150 {
            ring.push(LogLine {
                at: Timestamp::from_second(i).unwrap(),
                level: Level::Info,
                source: "x".into(),
                stage: None,
                message: format!("line {i}"),
            });
        }
        view.sync(&ring);
        assert_eq!(shown(&view, &ring, 3), ["line 87", "line 88", "line 89"]);
        assert_eq!(view.below(), 60);
        view.scroll_down(1000);
        assert!(view.follow);
        assert_eq!(shown(&view, &ring, 1), ["line 149"]);
    }

    #[test]
    fn filters_by_regex_level_stage_and_source() {
        let ring = ring_with(100, 1000);
        let mut view = LogView::default();
        view.set_filter("LINE 9\\d", &ring).unwrap();
        assert_eq!(view.matching(), 10);
        view.set_filter("src:pod line 9", &ring).unwrap();
        assert_eq!(shown(&view, &ring, 2), ["line 97", "line 99"]);
        view.clear_filter(&ring);
        view.cycle_level(&ring); // debug → info
        view.cycle_level(&ring); // info → warn
        assert_eq!(view.matching(), 10, "only the errors");
        assert!(view.set_filter("line (", &ring).is_err());
        assert_eq!(
            view.matching(),
            10,
            "a bad regex leaves the filter as it was"
        );
    }

    #[test]
    fn dropped_lines_leave_the_view_cleanly() {
        let mut ring = ring_with(50, 50);
        let mut view = LogView::default();
        view.sync(&ring);
        view.scroll_up(5, 3);
        for i in 50..200 {
            ring.push(LogLine {
                at: Timestamp::from_second(i).unwrap(),
                level: Level::Info,
                source: "x".into(),
                stage: None,
                message: format!("line {i}"),
            });
        }
        view.sync(&ring);
        assert_eq!(view.matching(), 50);
        let lines = shown(&view, &ring, 3);
        assert_eq!(lines.len(), 3, "{lines:?}");
    }
}
