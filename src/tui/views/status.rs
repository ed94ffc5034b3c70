//! The status bar: the keys that apply now, and how the last command went.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, key_span, styled};
use crate::theme::Slot;
use crate::tui::app::{App, Tone};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    // A command not delivered must not be missed: it is said before any
    // other news, its age counting.
    let queued = app.queued();
    let waiting = queued.first().map(|(pending, q)| {
        let mut text = pending.queued_words(q);
        if queued.len() > 1 {
            text.push_str(&format!(" (+{} more queued)", queued.len() - 1));
        }
        (text, theme[Slot::StageWaiting])
    });
    let outcome = waiting.or_else(|| {
        app.status.as_ref().map(|s| {
            let style = match s.tone {
                Tone::Info => theme[Slot::Muted],
                Tone::Pending => theme[Slot::StageWaiting],
                Tone::Accepted => theme[Slot::Accepted],
                Tone::Refused => theme[Slot::Refused],
            };
            (s.text.clone(), style)
        })
    });
    // The outcome takes what it needs, the whole bar if need be: it must not
    // be missed. The key hints fill what is left.
    let outcome_width = outcome
        .as_ref()
        .map_or(0, |(t, _)| (t.chars().count() as u16 + 2).min(area.width));
    let [keys_area, outcome_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(outcome_width)]).areas(area);
    let mut spans: Vec<Span> = vec![Span::raw(" ")];
    let mut used = 1;
    for (key, what) in app.hints() {
        let len = key.chars().count() + what.chars().count() + 3;
        if used + len > keys_area.width as usize {
            break;
        }
        used += len;
        spans.push(key_span(app, key));
        spans.push(styled(format!(" {what}  "), theme[Slot::Muted]));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme[Slot::Base]),
        keys_area,
    );
    if let Some((text, style)) = outcome {
        let shown = fit(&text, outcome_area.width.saturating_sub(1) as usize);
        frame.render_widget(
            Paragraph::new(Line::from(styled(format!("{shown} "), style))).right_aligned(),
            outcome_area,
        );
    }
}
