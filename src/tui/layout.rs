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
