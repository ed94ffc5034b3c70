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
    let ring = &app.release.logs();
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
        ring.total()
    );
    let block = pane_block(app, title, Some(Pane::Logs));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    // Narrow panes give the message more of the line.
    let narrow = width < 100;
    let source_width = if narrow { 9 } else { 14 };
    let lines: Vec<Line> = view
        .visible(ring, inner.height as usize)
        .into_iter()
        .map(|line| {
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
            Line::from(vec![
                styled(prefix, theme[Slot::Muted]),
                Span::styled(fit(&line.message, rest), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
