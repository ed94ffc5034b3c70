//! The log pane: a live tail drawn from the visible lines only.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{clock, fit, fit_end, pane_block, styled};
use crate::model::Level;
use crate::theme::Slot;
use crate::tui::app::{App, Pane};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let logs = app.release.logs();
    let view = &app.logs;
    let follow = if view.follow {
        "following".to_string()
    } else {
        format!("held, {} newer below", view.below())
    };
    let filter = if view.is_filtered() {
        format!(" · /{}", view.filter_text)
    } else {
        String::new()
    };
    let title = format!(
        " Logs · {follow} · ≥{}{filter} · {}/{} lines ",
        view.min_level,
        view.matching(),
        logs.total()
    );
    let block = pane_block(app, title, Some(Pane::Logs));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    // Narrow panes give the message more of the line.
    let narrow = width < 100;
    let source_width = if narrow { 9 } else { 14 };
    let shown = view.visible(logs, inner.height as usize);
    // A held view's bottom line is the one the read key opens.
    let marked = (!view.follow).then(|| shown.len().saturating_sub(1));
    let lines: Vec<Line> = shown
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let style = match line.level {
                Level::Trace => theme[Slot::LogTrace],
                Level::Debug => theme[Slot::LogDebug],
                Level::Info => theme[Slot::LogInfo],
                Level::Warn => theme[Slot::LogWarn],
                Level::Error => theme[Slot::LogError],
            };
            let source = fit_end(&line.source, source_width);
            let level_width = if narrow { 1 } else { 5 };
            let level = line.level.name().to_uppercase();
            let prefix = format!(
                "{} {level:<level_width$.level_width$} {source:<source_width$} ",
                clock(line.at)
            );
            let rest = width.saturating_sub(prefix.chars().count());
            let mut message = fit(&line.message, rest);
            let (muted, style) = if marked == Some(i) {
                // The whole row, so it reads as the selection.
                let pad = rest.saturating_sub(message.chars().count());
                message.extend(std::iter::repeat_n(' ', pad));
                (theme[Slot::Selected], theme[Slot::Selected])
            } else {
                (theme[Slot::Muted], style)
            };
            Line::from(vec![styled(prefix, muted), Span::styled(message, style)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
