//! The log pane's state: filter, minimum level, follow, and where it is
//! scrolled to — kept so that drawing touches only the lines on screen.
//!
//! The release's own lines and each of the operator's log sources have a
//! ring of their own (`model::Logs`); lines are numbered in the order they
//! arrived, across the rings, so the numbers stay valid as a ring drops its
//! oldest lines. For each ring, the numbers of its lines that pass the
//! filter are kept in order and extended as lines arrive; a new filter
//! rebuilds them once. The pane shows the rings merged by number, newest
//! last, walking only as many lines as it moves or shows.
//!
//! A held view (scrolled back, or follow off) keeps a copy of the page it
//! shows, so the page stays as it was while rings drop the lines on it.

use std::collections::VecDeque;

use regex::{Regex, RegexBuilder};

use crate::model::{Level, LogLine, LogRing, Logs};

/// The numbers of one ring's lines that pass the filter.
#[derive(Debug, Clone, Default)]
struct Matches {
    /// Oldest first.
    numbers: VecDeque<u64>,
    /// Lines of the ring examined so far, of all it ever had.
    scanned: u64,
}

/// A place between two lines of the merged matches: how many of each
/// ring's matches lie before it.
#[derive(Debug, Clone)]
struct Place(Vec<usize>);

/// A matching line: its ring and its number.
type Match = (usize, u64);

#[derive(Debug, Clone)]
pub struct LogView {
    pub follow: bool,
    pub min_level: Level,
    /// The filter as typed: `stage:canary src:ingress 5\d\d`.
    pub filter_text: String,
    pattern: Option<Regex>,
    stage: Option<String>,
    source: Option<String>,
    /// Per ring, in `Logs::rings` order.
    rings: Vec<Matches>,
    /// While not following: the number of the bottom line shown.
    anchor: Option<u64>,
    /// While not following: the page shown, oldest first, as it was when
    /// it was held, and the rows it was taken for.
    held: Vec<LogLine>,
    held_rows: usize,
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
            rings: Vec::new(),
            anchor: None,
            held: Vec::new(),
            held_rows: 0,
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

    /// Takes in lines that arrived since the last call, and lets go of
    /// those the rings dropped.
    pub fn sync(&mut self, logs: &Logs) {
        let mut rings = std::mem::take(&mut self.rings);
        for (i, ring) in logs.rings().enumerate() {
            if rings.len() == i {
                rings.push(Matches::default());
            }
            self.scan(&mut rings[i], ring);
        }
        self.rings = rings;
    }

    fn scan(&self, matches: &mut Matches, ring: &LogRing) {
        if let Some(first) = ring.first_number() {
            while matches.numbers.front().is_some_and(|&n| n < first) {
                matches.numbers.pop_front();
            }
        }
        let dropped = ring.dropped();
        let from = matches.scanned.max(dropped) - dropped;
        for (n, line) in ring.numbered(from as usize..ring.len()) {
            if self.passes(line) {
                matches.numbers.push_back(n);
            }
        }
        matches.scanned = ring.total();
    }

    fn rebuild(&mut self, logs: &Logs) {
        self.rings.clear();
        self.follow_end();
        self.sync(logs);
    }

    /// Sets the filter: `stage:ID` and `src:TEXT` tokens pick lines by stage
    /// and source, the rest is a case-insensitive regex on the message.
    pub fn set_filter(&mut self, text: &str, logs: &Logs) -> Result<(), String> {
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
        self.rebuild(logs);
        Ok(())
    }

    pub fn clear_filter(&mut self, logs: &Logs) {
        self.filter_text.clear();
        self.pattern = None;
        self.stage = None;
        self.source = None;
        self.rebuild(logs);
    }

    pub fn is_filtered(&self) -> bool {
        !self.filter_text.is_empty()
    }

    /// Cycles the minimum level: debug → info → warn → error → trace → debug.
    pub fn cycle_level(&mut self, logs: &Logs) {
        self.min_level = match self.min_level {
            Level::Trace => Level::Debug,
            Level::Debug => Level::Info,
            Level::Info => Level::Warn,
            Level::Warn => Level::Error,
            Level::Error => Level::Trace,
        };
        self.rebuild(logs);
    }

    /// Lines kept that pass the filter, in every ring.
    pub fn matching(&self) -> usize {
        self.rings.iter().map(|m| m.numbers.len()).sum()
    }

    /// The number of the bottom line shown.
    fn bottom(&self) -> Option<u64> {
        match (self.follow, self.anchor) {
            (false, Some(anchor)) => Some(anchor),
            _ => self
                .rings
                .iter()
                .filter_map(|m| m.numbers.back().copied())
                .max(),
        }
    }

    /// The place just after line `n`.
    fn after(&self, n: u64) -> Place {
        Place(
            self.rings
                .iter()
                .map(|m| m.numbers.partition_point(|&x| x <= n))
                .collect(),
        )
    }

    fn position(place: &Place) -> usize {
        place.0.iter().sum()
    }

    /// The match just before `place`, which moves to before it.
    fn back(&self, place: &mut Place) -> Option<Match> {
        let (ring, n) = self
            .rings
            .iter()
            .zip(&place.0)
            .enumerate()
            .filter_map(|(r, (m, &at))| Some((r, *m.numbers.get(at.checked_sub(1)?)?)))
            .max_by_key(|&(_, n)| n)?;
        place.0[ring] -= 1;
        Some((ring, n))
    }

    /// The match just after `place`, which moves to after it.
    fn forward(&self, place: &mut Place) -> Option<Match> {
        let (ring, n) = self
            .rings
            .iter()
            .zip(&place.0)
            .enumerate()
            .filter_map(|(r, (m, &at))| Some((r, *m.numbers.get(at)?)))
            .min_by_key(|&(_, n)| n)?;
        place.0[ring] += 1;
        Some((ring, n))
    }

    /// The number of the match at `index` (oldest 0), walked to from the
    /// nearest of the start, the end, and `near` (a match's number and
    /// index).
    fn nth(&self, index: usize, near: Option<(u64, usize)>) -> Option<u64> {
        let total = self.matching();
        if index >= total {
            return None;
        }
        let (mut place, steps, backwards) = match near {
            Some((n, at)) if at.abs_diff(index) < index.min(total - 1 - index) => {
                if index <= at {
                    (self.after(n), at - index + 1, true)
                } else {
                    (self.after(n), index - at, false)
                }
            }
            _ if index < total - index => (Place(vec![0; self.rings.len()]), index + 1, false),
            _ => {
                let end = self.rings.iter().map(|m| m.numbers.len()).collect();
                (Place(end), total - index, true)
            }
        };
        let mut last = None;
        for _ in 0..steps {
            last = if backwards {
                self.back(&mut place)
            } else {
                self.forward(&mut place)
            };
        }
        last.map(|(_, n)| n)
    }

    /// The page ending at the bottom line, `height` rows, oldest first.
    fn page(&self, height: usize) -> Vec<Match> {
        let Some(bottom) = self.bottom() else {
            return Vec::new();
        };
        let mut up = self.after(bottom);
        let mut down = up.clone();
        let mut page = Vec::with_capacity(height);
        while page.len() < height
            && let Some(m) = self.back(&mut up)
        {
            page.push(m);
        }
        page.reverse();
        // A view anchored near the top still fills the pane.
        while page.len() < height
            && let Some(m) = self.forward(&mut down)
        {
            page.push(m);
        }
        page
    }

    /// The lines to draw in a pane `height` rows tall, oldest first.
    pub fn visible<'a>(&'a self, logs: &'a Logs, height: usize) -> Vec<&'a LogLine> {
        if !self.follow && !self.held.is_empty() && height <= self.held_rows {
            let skip = self.held.len().saturating_sub(height);
            return self.held[skip..].iter().collect();
        }
        self.page(height)
            .into_iter()
            .filter_map(|(ring, n)| logs.ring(ring)?.find(n))
            .collect()
    }

    /// The line an operator points at: the bottom line of a held view, or
    /// the newest line that passes while following.
    pub fn current<'a>(&'a self, logs: &'a Logs) -> Option<&'a LogLine> {
        self.visible(logs, 1).pop()
    }

    /// How many matching lines lie below the view (0 while following).
    pub fn below(&self) -> usize {
        match (self.follow, self.anchor) {
            (false, Some(anchor)) => self.matching() - Self::position(&self.after(anchor)),
            _ => 0,
        }
    }

    /// Holds the view with line `n` at the bottom, keeping the page.
    fn hold_at(&mut self, n: u64, logs: &Logs, height: usize) {
        self.anchor = Some(n);
        self.follow = false;
        self.held.clear();
        let page = self.page(height);
        let held = page
            .into_iter()
            .filter_map(|(ring, n)| logs.ring(ring)?.find(n).cloned());
        self.held.extend(held);
        self.held_rows = height;
    }

    /// Scrolls back `n` lines; scrolling stops following.
    pub fn scroll_up(&mut self, n: usize, logs: &Logs, height: usize) {
        let (Some(bottom), Some(last)) = (self.bottom(), self.matching().checked_sub(1)) else {
            return;
        };
        let before = Self::position(&self.after(bottom));
        let at = before.saturating_sub(1);
        // Never scroll so far that the pane has blank rows at the top.
        let lowest = height.saturating_sub(1).min(last);
        let target = at.saturating_sub(n).max(lowest);
        let near = before.checked_sub(1).map(|at| (bottom, at));
        if let Some(number) = self.nth(target, near) {
            self.hold_at(number, logs, height);
        }
    }

    /// Scrolls forward `n` lines; reaching the end follows again.
    pub fn scroll_down(&mut self, n: usize, logs: &Logs, height: usize) {
        let Some(bottom) = self.bottom() else {
            return;
        };
        let before = Self::position(&self.after(bottom));
        let target = (before + n).saturating_sub(1);
        let near = before.checked_sub(1).map(|at| (bottom, at));
        match self.nth(target, near) {
            Some(number) if target + 1 < self.matching() => self.hold_at(number, logs, height),
            _ => self.follow_end(),
        }
    }

    pub fn top(&mut self, logs: &Logs, height: usize) {
        self.scroll_up(usize::MAX, logs, height);
    }

    pub fn follow_end(&mut self) {
        self.follow = true;
        self.anchor = None;
        self.held.clear();
    }

    /// Follow on/off; turning it off holds the view where it is.
    pub fn toggle_follow(&mut self, logs: &Logs, height: usize) {
        if !self.follow {
            self.follow_end();
        } else if let Some(bottom) = self.bottom() {
            self.hold_at(bottom, logs, height);
        } else {
            self.follow = false;
        }
    }

    /// The pane is now `height` rows: a held view taller than the page it
    /// kept takes its page again, from what the rings still hold.
    pub fn resize(&mut self, logs: &Logs, height: usize) {
        if let (false, Some(anchor)) = (self.follow, self.anchor)
            && height > self.held_rows
        {
            self.hold_at(anchor, logs, height);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn numbered(i: usize, source: &str) -> LogLine {
        LogLine {
            at: Timestamp::from_second(i as i64).unwrap(),
            level: if i.is_multiple_of(10) {
                Level::Error
            } else {
                Level::Info
            },
            source: source.into(),
            stage: Some("canary".into()),
            message: format!("line {i}"),
        }
    }

    /// `n` of the release's own lines, alternating two sources.
    fn logs_with(n: usize, capacity: usize) -> Logs {
        let mut logs = Logs::with_capacity(capacity);
        for i in 0..n {
            let source = if i.is_multiple_of(2) {
                "ingress"
            } else {
                "pod/a"
            };
            logs.push_own(numbered(i, source));
        }
        logs
    }

    fn flood(logs: &mut Logs, source: &str, range: std::ops::Range<usize>) {
        for i in range {
            logs.push_source(LogLine {
                stage: None,
                ..numbered(i, source)
            });
        }
    }

    fn shown(view: &LogView, logs: &Logs, height: usize) -> Vec<String> {
        view.visible(logs, height)
            .iter()
            .map(|l| format!("{} {}", l.source, l.message))
            .collect()
    }

    fn messages(view: &LogView, logs: &Logs, height: usize) -> Vec<String> {
        view.visible(logs, height)
            .iter()
            .map(|l| l.message.clone())
            .collect()
    }

    #[test]
    fn following_shows_the_newest_lines() {
        let logs = logs_with(100, 1000);
        let mut view = LogView::default();
        view.sync(&logs);
        assert_eq!(messages(&view, &logs, 3), ["line 97", "line 98", "line 99"]);
    }

    #[test]
    fn scrolled_back_the_view_holds_still_while_lines_arrive() {
        let mut logs = logs_with(100, 1000);
        let mut view = LogView::default();
        view.sync(&logs);
        view.scroll_up(10, &logs, 3);
        assert_eq!(messages(&view, &logs, 3), ["line 87", "line 88", "line 89"]);
        flood(&mut logs, "x", 100..150);
        view.sync(&logs);
        assert_eq!(messages(&view, &logs, 3), ["line 87", "line 88", "line 89"]);
        assert_eq!(view.below(), 60);
        view.scroll_down(1000, &logs, 3);
        assert!(view.follow);
        assert_eq!(messages(&view, &logs, 1), ["line 149"]);
    }

    #[test]
    fn filters_by_regex_level_stage_and_source() {
        let logs = logs_with(100, 1000);
        let mut view = LogView::default();
        view.set_filter("LINE 9\\d", &logs).unwrap();
        assert_eq!(view.matching(), 10);
        view.set_filter("src:pod line 9", &logs).unwrap();
        assert_eq!(messages(&view, &logs, 2), ["line 97", "line 99"]);
        view.clear_filter(&logs);
        view.cycle_level(&logs); // debug → info
        view.cycle_level(&logs); // info → warn
        assert_eq!(view.matching(), 10, "only the errors");
        assert!(view.set_filter("line (", &logs).is_err());
        assert_eq!(
            view.matching(),
            10,
            "a bad regex leaves the filter as it was"
        );
    }

    #[test]
    fn sources_are_shown_merged_in_the_order_their_lines_came() {
        let mut logs = logs_with(2, 100);
        flood(&mut logs, "kubectl", 2..4);
        logs.push_own(numbered(4, "build"));
        flood(&mut logs, "deploy.log", 5..6);
        flood(&mut logs, "kubectl", 6..7);
        let mut view = LogView::default();
        view.sync(&logs);
        assert_eq!(
            shown(&view, &logs, 10),
            [
                "ingress line 0",
                "pod/a line 1",
                "kubectl line 2",
                "kubectl line 3",
                "build line 4",
                "deploy.log line 5",
                "kubectl line 6",
            ]
        );
        view.scroll_up(2, &logs, 3);
        assert_eq!(
            shown(&view, &logs, 3),
            ["kubectl line 2", "kubectl line 3", "build line 4"]
        );
        assert_eq!(view.below(), 2);
        view.scroll_down(1, &logs, 3);
        assert_eq!(
            shown(&view, &logs, 3),
            ["kubectl line 3", "build line 4", "deploy.log line 5"]
        );
        view.top(&logs, 3);
        assert_eq!(
            shown(&view, &logs, 3),
            ["ingress line 0", "pod/a line 1", "kubectl line 2"]
        );
    }

    #[test]
    fn a_flood_leaves_the_releases_own_lines_findable() {
        let mut logs = logs_with(500, 1_000);
        let mut view = LogView::default();
        view.sync(&logs);
        for start in (0..300_000).step_by(4096) {
            flood(&mut logs, "flood.log", start..(start + 4096).min(300_000));
            view.sync(&logs);
        }
        assert_eq!(
            view.matching(),
            1_500,
            "500 own lines and the flood's last 1000"
        );
        view.set_filter("src:pod", &logs).unwrap();
        assert_eq!(view.matching(), 250, "every own line from pod/a");
        assert_eq!(messages(&view, &logs, 1), ["line 499"]);
        view.top(&logs, 1);
        assert_eq!(messages(&view, &logs, 1), ["line 1"]);
    }

    #[test]
    fn a_held_view_keeps_its_page_while_a_flood_drops_the_lines_on_it() {
        let mut logs = logs_with(10, 100);
        flood(&mut logs, "flood.log", 10..60);
        logs.push_own(numbered(60, "build"));
        flood(&mut logs, "flood.log", 61..100);
        let mut view = LogView::default();
        view.sync(&logs);
        view.scroll_up(38, &logs, 4);
        let page = shown(&view, &logs, 4);
        assert_eq!(
            page,
            [
                "flood.log line 58",
                "flood.log line 59",
                "build line 60",
                "flood.log line 61"
            ]
        );
        flood(&mut logs, "flood.log", 100..10_000);
        view.sync(&logs);
        assert!(logs.source("flood.log").unwrap().find(61).is_none());
        assert_eq!(shown(&view, &logs, 4), page, "the held page stays");
        assert_eq!(view.below(), 100, "the flood's kept lines are all newer");
        view.toggle_follow(&logs, 4);
        assert_eq!(messages(&view, &logs, 1), ["line 9999"]);
        // Held again with follow off, the page stays through the next flood.
        view.toggle_follow(&logs, 4);
        let page = shown(&view, &logs, 4);
        flood(&mut logs, "flood.log", 10_000..10_500);
        view.sync(&logs);
        assert_eq!(shown(&view, &logs, 4), page);
        assert_eq!(view.current(&logs).unwrap().message, "line 9999");
    }

    #[test]
    fn dropped_lines_leave_the_view_cleanly() {
        let mut logs = logs_with(50, 50);
        let mut view = LogView::default();
        view.sync(&logs);
        view.scroll_up(5, &logs, 3);
        for i in 50..200 {
            logs.push_own(numbered(i, "x"));
        }
        view.sync(&logs);
        assert_eq!(view.matching(), 50);
        assert_eq!(
            messages(&view, &logs, 3),
            ["line 42", "line 43", "line 44"],
            "the held page, though its lines are gone"
        );
        view.scroll_up(1, &logs, 3);
        assert_eq!(
            messages(&view, &logs, 3),
            ["line 150", "line 151", "line 152"],
            "moving on from it starts at the oldest line kept"
        );
    }
}
