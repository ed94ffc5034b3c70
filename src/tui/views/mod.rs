//! Views: functions of the console's state. No I/O, no locks, and no work
//! that grows with history: the log view formats only the lines it shows.

mod board;
mod dialogs;
mod gates;
mod header;
pub mod inbox;
mod logs;
mod metrics;
mod rules;
mod spark;
mod status;

use jiff::{SignedDuration, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::app::{App, Pane};
use super::layout::{MIN_HEIGHT, MIN_WIDTH, layout};
use crate::model::text::{clean, clean_in_place};
use crate::model::units::format_duration;
use crate::theme::Slot;

/// Draws the whole console.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    frame.render_widget(Block::new().style(app.theme[Slot::Base]), area);
    let areas = layout(area);
    header::render(app, frame, areas.header);
    if let Some(rect) = areas.board {
        board::render(app, frame, rect);
    }
    if let Some(rect) = areas.metrics {
        metrics::render(app, frame, rect);
    }
    if let Some(rect) = areas.gates {
        gates::render(app, frame, rect);
    }
    if let Some(rect) = areas.logs {
        logs::render(app, frame, rect);
    }
    if areas.board.is_none() {
        let body = Rect {
            y: areas.header.bottom(),
            height: areas.status.y.saturating_sub(areas.header.bottom()),
            ..area
        };
        let notice = Paragraph::new(format!(
            "Window too small ({}x{}): enlarge it to at least {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        ))
        .style(app.theme[Slot::Muted])
        .wrap(Wrap { trim: true });
        frame.render_widget(notice, body);
    }
    status::render(app, frame, areas.status);
    dialogs::render(app, frame, area);
    guard(frame.buffer_mut());
}

/// Draws `shipdeck inbox`'s screen: the list, full size.
pub fn inbox_screen(
    list: &crate::tui::inbox::InboxList,
    theme: &crate::tui::theme::Theme,
    keymap: &crate::tui::keymap::KeyMap,
    now: Timestamp,
    frame: &mut Frame,
) {
    let area = frame.area();
    frame.render_widget(Block::new().style(theme[Slot::Base]), area);
    inbox::render(list, 0, theme, keymap, now, frame, area);
    guard(frame.buffer_mut());
}

/// The last word on what reaches the screen. Names, notes and messages
/// come from a scenario file, a server or a journal; ratatui drops control
/// characters, but not bidirectional controls or invisible characters,
/// which it appends to the cell before them. Whatever a view drew, no
/// cell keeps one.
fn guard(buffer: &mut ratatui::buffer::Buffer) {
    use crate::model::text::is_unsafe;
    for cell in &mut buffer.content {
        let symbol = cell.symbol();
        let plain = symbol.len() == 1 && (0x20..0x7f).contains(&symbol.as_bytes()[0]);
        if plain || !symbol.chars().any(is_unsafe) {
            continue;
        }
        let kept: String = symbol.chars().filter(|&c| !is_unsafe(c)).collect();
        cell.set_symbol(if kept.is_empty() { " " } else { &kept });
    }
}

/// A pane's frame: focused panes get the focused border.
fn pane_block<'a>(app: &App, title: impl Into<Line<'a>>, pane: Option<Pane>) -> Block<'a> {
    let focused = pane.is_some_and(|p| p == app.focus) && !app.mode.is_modal();
    Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if focused {
            app.theme[Slot::BorderFocused]
        } else {
            app.theme[Slot::Border]
        })
        .title(title.into().style(app.theme[Slot::Title]))
}

/// `14:02:05` in UTC.
fn clock(t: Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// Time between two instants, never negative, for people.
fn span_between(from: Timestamp, to: Timestamp) -> String {
    format_duration(to.duration_since(from).max(SignedDuration::ZERO))
}

/// Cuts `text`, cleaned, to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    let text = clean(text);
    if text.chars().count() <= width {
        return text.into_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// Cuts `text`, cleaned, to `width` characters from the left, keeping its
/// end: pod names differ at the end.
fn fit_end(text: &str, width: usize) -> String {
    let text = clean(text);
    let count = text.chars().count();
    if count <= width {
        return text.into_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::from("…");
    out.extend(text.chars().skip(count - (width - 1)));
    out
}

fn key_span<'a>(app: &App, key: String) -> Span<'a> {
    Span::styled(key, app.theme[Slot::KeyHint])
}

/// A span of `text`, cleaned: views put names and notes from a scenario, a
/// server or a journal into what they draw.
fn styled<'a>(text: impl Into<String>, style: Style) -> Span<'a> {
    let mut text = text.into();
    clean_in_place(&mut text);
    Span::styled(text, style)
}

#[cfg(test)]
pub(crate) mod tests;
