//! A sparkline with a threshold: bars scaled so the threshold sits at a
//! fixed height, the threshold drawn as a dashed rule (other rules' lines
//! in their own glyph and style), and bars past it in the alert colour. Samples missing from the series leave gaps: a metrics
//! source that had no number, or did not answer, shows as nothing rather
//! than as a zero.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use jiff::Timestamp;

use crate::model::Sample;

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Samples used to learn a series' cadence.
const CADENCE_FROM: usize = 16;

/// The newest `width` columns of a series, oldest first, with a gap (`NaN`)
/// for each sample missing at the series' usual cadence, between samples
/// and since the last one up to `now`.
pub fn columns<'s, I>(samples: I, now: Option<Timestamp>, width: usize) -> Vec<f64>
where
    I: DoubleEndedIterator<Item = &'s Sample> + Clone,
{
    // The cadence: the median spacing of the newest samples (on the stack:
    // this runs for every sparkline of every frame).
    let mut spacings = [0.0_f64; CADENCE_FROM];
    let mut found = 0;
    let mut newer: Option<Timestamp> = None;
    for sample in samples.clone().rev().take(CADENCE_FROM + 1) {
        if let Some(newer) = newer {
            let spacing = newer.duration_since(sample.at).as_secs_f64();
            if spacing > 0.0 {
                spacings[found] = spacing;
                found += 1;
            }
        }
        newer = Some(sample.at);
    }
    let spacings = &mut spacings[..found];
    spacings.sort_by(f64::total_cmp);
    let cadence = spacings.get(spacings.len() / 2).copied();
    let last = samples.clone().next_back().map(|s| s.at);
    // Samples missing over `seconds`, at most a pane's width.
    let missing = |seconds: f64| -> usize {
        match cadence {
            Some(c) if seconds >= 1.5 * c => ((seconds / c).round() as usize - 1).min(width),
            _ => 0,
        }
    };
    let mut out: Vec<f64> = Vec::with_capacity(width);
    let mut later = None;
    if let (Some(now), Some(last), Some(c)) = (now, last, cadence) {
        // A trailing gap only once a whole sample is late, not one in flight.
        let since = now.duration_since(last).as_secs_f64();
        if since >= 2.0 * c {
            out.extend(std::iter::repeat_n(
                f64::NAN,
                ((since / c) as usize - 1).min(width),
            ));
        }
    }
    for sample in samples.rev() {
        if out.len() >= width {
            break;
        }
        if let Some(later) = later {
            let gap = missing(Timestamp::duration_since(later, sample.at).as_secs_f64());
            out.extend(std::iter::repeat_n(f64::NAN, gap));
        }
        out.push(sample.value);
        later = Some(sample.at);
    }
    out.truncate(width);
    out.reverse();
    out
}

/// Another rule's line on a sparkline: drawn where no bar covers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mark {
    pub value: f64,
    pub glyph: char,
    pub style: Style,
}

pub struct Spark<'a> {
    /// Values oldest first; the newest are drawn at the right edge.
    pub values: &'a [f64],
    pub threshold: Option<f64>,
    /// Whether exceeding the threshold is bad (error rate) or falling below
    /// it (availability).
    pub breach_above: bool,
    pub style: Style,
    pub breach_style: Style,
    pub threshold_style: Style,
    /// Other rules' lines; the threshold's own wins a row they share.
    pub marks: &'a [Mark],
    /// The value drawn as a full column (see [`scale`]).
    pub top: f64,
}

/// A common top for several series, so they can be compared by eye: the
/// threshold at about two thirds of the height, unless the data goes higher.
pub fn scale<'v>(series: impl IntoIterator<Item = &'v [f64]>, threshold: Option<f64>) -> f64 {
    let top = series
        .into_iter()
        .flat_map(|s| s.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    match threshold {
        Some(t) if t > 0.0 => top.max(t * 1.5),
        _ => top,
    }
    .max(f64::MIN_POSITIVE)
}

impl Widget for Spark<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let width = area.width as usize;
        let height = area.height as usize;
        let scale = self.top;
        let shown = &self.values[self.values.len().saturating_sub(width)..];
        let offset = width - shown.len();
        let levels = height * 8;
        let row_of = |t: f64| {
            let eighths = ((t / scale) * levels as f64).round().max(0.0) as usize;
            (eighths / 8).min(height - 1)
        };
        // What an empty cell of each row shows: a rule's line, or nothing.
        let mut rules: Vec<Option<(char, Style)>> = vec![None; height];
        for mark in self.marks.iter().filter(|m| m.value.is_finite()) {
            rules[row_of(mark.value)] = Some((mark.glyph, mark.style));
        }
        if let Some(t) = self.threshold {
            rules[row_of(t)] = Some(('┄', self.threshold_style));
        }
        for (col, value) in shown.iter().enumerate() {
            let x = area.x + (offset + col) as u16;
            let breach = self.threshold.is_some_and(|t| {
                if self.breach_above {
                    *value > t
                } else {
                    *value < t
                }
            });
            let style = if breach {
                self.breach_style
            } else {
                self.style
            };
            let eighths = ((value / scale) * levels as f64)
                .round()
                .max(if *value > 0.0 { 1.0 } else { 0.0 }) as usize;
            for (row, rule) in rules.iter().enumerate() {
                let y = area.bottom() - 1 - row as u16;
                let fill = eighths.saturating_sub(row * 8).min(8);
                let cell = &mut buf[(x, y)];
                match rule {
                    Some((glyph, rule_style)) if fill == 0 => {
                        cell.set_char(*glyph).set_style(*rule_style);
                    }
                    _ => {
                        cell.set_char(BARS[fill]).set_style(style);
                    }
                }
            }
        }
        // The rules run under the gap before the data starts, too.
        for (row, rule) in rules.iter().enumerate() {
            let Some((glyph, rule_style)) = rule else {
                continue;
            };
            let y = area.bottom() - 1 - row as u16;
            for col in 0..offset {
                buf[(area.x + col as u16, y)]
                    .set_char(*glyph)
                    .set_style(*rule_style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(values: &[f64], threshold: Option<f64>, w: u16, h: u16) -> Vec<String> {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        Spark {
            values,
            threshold,
            breach_above: true,
            style: Style::default(),
            breach_style: Style::default(),
            threshold_style: Style::default(),
            marks: &[],
            top: scale([values], threshold),
        }
        .render(area, &mut buf);
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect()
    }

    #[test]
    fn bars_rise_with_values_and_the_threshold_shows_where_there_is_room() {
        let rows = draw(&[0.01, 0.05, 0.15], Some(0.10), 5, 2);
        assert_eq!(
            rows[0], "┄┄┄┄█",
            "threshold on the upper row, crossed by the breach"
        );
        assert!(rows[1].ends_with('█'));
    }

    #[test]
    fn another_rules_line_is_drawn_in_its_own_glyph_under_the_bars() {
        let area = Rect::new(0, 0, 6, 4);
        let mut buf = Buffer::empty(area);
        let values = [0.01, 0.01, 0.07, 0.14];
        let marks = [Mark {
            value: 0.05,
            glyph: '·',
            style: Style::default(),
        }];
        Spark {
            values: &values,
            threshold: Some(0.10),
            breach_above: true,
            style: Style::default(),
            breach_style: Style::default(),
            threshold_style: Style::default(),
            marks: &marks,
            top: scale([values.as_slice()], Some(0.10)),
        }
        .render(area, &mut buf);
        let rows: Vec<String> = (0..4)
            .map(|y| (0..6).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect();
        // 15% is the top: the rollback's 10% on the third row from the
        // bottom, the alert's 5% on the second; bars cover the lines.
        assert_eq!(rows[1], "┄┄┄┄┄█", "{rows:#?}");
        assert_eq!(rows[2], "····▇█", "{rows:#?}");
        assert_eq!(rows[3], "  ▂▂██", "{rows:#?}");
    }

    #[test]
    fn missing_samples_are_gaps_not_zeros() {
        let t0 = Timestamp::from_second(1_800_000_000).unwrap();
        let at = |secs: i64| t0 + jiff::SignedDuration::from_secs(secs);
        // Every 15s, but nothing at 45s and 60s (Prometheus had no number).
        let samples: Vec<Sample> = [0, 15, 30, 75, 90]
            .into_iter()
            .map(|s| Sample {
                at: at(s),
                value: 0.01,
            })
            .collect();
        let cols = columns(samples.iter(), Some(at(95)), 20);
        let shown: Vec<bool> = cols.iter().map(|v| v.is_finite()).collect();
        assert_eq!(shown, [true, true, true, false, false, true, true]);
        // Nothing for a minute since: the newest columns are a gap too.
        let cols = columns(samples.iter(), Some(at(150)), 20);
        assert_eq!(cols.iter().rev().take_while(|v| v.is_nan()).count(), 3);
        // Only the newest fit; a gap is never wider than the pane.
        let cols = columns(samples.iter(), Some(at(100_000)), 4);
        assert_eq!(cols.len(), 4);
        assert!(cols.iter().all(|v| v.is_nan()));
        // A gap draws as nothing but the threshold's rule.
        let rows = draw(&[0.05, f64::NAN, 0.05], Some(0.10), 3, 2);
        assert_eq!(rows[0], "┄┄┄");
        assert_eq!(rows[1], "▅ ▅");
    }

    #[test]
    fn only_the_newest_values_fit_and_a_tiny_area_is_fine() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        let rows = draw(&values, None, 3, 1);
        assert_eq!(rows[0], "███");
        assert_eq!(rows[0].chars().last(), Some('█'));
        let rows = draw(&values, Some(5.0), 1, 1);
        assert_eq!(rows.len(), 1);
        let _ = draw(&[], Some(1.0), 0, 0);
    }
}
