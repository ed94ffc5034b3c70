//! Where each part of the screen goes, for a screen size: what the views
//! draw into, and what the console's state needs to know of it (a page of
//! log lines), computed once per resize.

use ratatui::layout::{Constraint, Layout, Rect};

/// The smallest screen the full console is drawn on.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    pub board: Option<Rect>,
    pub metrics: Option<Rect>,
    pub gates: Option<Rect>,
    pub logs: Option<Rect>,
    pub status: Rect,
}

/// Lays the screen out: three panes over the logs when wide, two over logs
/// and gates side by side when narrow, and only a notice when tiny.
pub fn layout(area: Rect) -> Areas {
    let [header, body, status] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Areas {
            header,
            board: None,
            metrics: None,
            gates: None,
            logs: None,
            status,
        };
    }
    let (board, metrics, gates, logs) = if area.width >= 120 {
        let [top, logs] =
            Layout::vertical([Constraint::Percentage(52), Constraint::Min(4)]).areas(body);
        let [board, metrics, gates] = Layout::horizontal([
            Constraint::Percentage(31),
            Constraint::Percentage(37),
            Constraint::Percentage(32),
        ])
        .areas(top);
        (board, metrics, gates, logs)
    } else {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Min(4)]).areas(body);
        let [board, metrics] =
            Layout::horizontal([Constraint::Percentage(48), Constraint::Percentage(52)]).areas(top);
        let [logs, gates] =
            Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)])
                .areas(bottom);
        (board, metrics, gates, logs)
    };
    Areas {
        header,
        board: Some(board),
        metrics: Some(metrics),
        gates: Some(gates),
        logs: Some(logs),
        status,
    }
}

/// Lines of log a page holds on a screen of this size: what PgUp and PgDn
/// move by in the log pane.
pub fn log_page(area: Rect) -> usize {
    layout(area)
        .logs
        .map_or(10, |r| r.height.saturating_sub(2).max(1) as usize)
}

/// The box a log line is read whole in, for a screen and the line's
/// (cleaned) message: where it goes, the message's rows wrapped to its
/// width, and how many of them it shows at once.
pub struct LineBox<'t> {
    pub rect: Rect,
    pub rows: Vec<&'t str>,
    pub shown: usize,
}

/// Rows of a line box that are not the message: two borders, the line's
/// time, level and source, and a blank row.
const LINE_BOX_CHROME: u16 = 4;

pub fn line_box<'t>(area: Rect, message: &'t str) -> LineBox<'t> {
    let width = area.width.saturating_sub(4).max(area.width.min(10));
    // Borders and a column of margin on each side.
    let rows = wrap(message, width.saturating_sub(4).max(1) as usize);
    let room = area
        .height
        .saturating_sub(2)
        .max(area.height.min(LINE_BOX_CHROME + 1));
    let height = (rows.len() as u16)
        .saturating_add(LINE_BOX_CHROME)
        .min(room);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let shown = height.saturating_sub(LINE_BOX_CHROME) as usize;
    LineBox { rect, rows, shown }
}

impl LineBox<'_> {
    /// The first row shown, for a wanted one: the last page at most.
    pub fn scroll(&self, wanted: usize) -> usize {
        wanted.min(self.rows.len().saturating_sub(self.shown))
    }
}

/// `text` in rows at most `width` columns wide, broken after a space near
/// the end of a row when there is one, else where the row is full.
pub fn wrap(text: &str, width: usize) -> Vec<&str> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut used = 0;
        let mut end = rest.len();
        let mut space = None;
        for (i, c) in rest.char_indices() {
            let w = ratatui::text::Span::raw(&rest[i..i + c.len_utf8()]).width();
            if used + w > width && i > 0 {
                end = i;
                break;
            }
            used += w;
            if c == ' ' {
                space = Some(i + 1);
            }
        }
        // Break at the last space when it leaves most of the row used.
        if end < rest.len()
            && let Some(at) = space.filter(|&at| at * 4 >= end * 3)
        {
            end = at;
        }
        rows.push(&rest[..end]);
        rest = &rest[end..];
    }
    rows
}
