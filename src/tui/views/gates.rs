//! Gates and the checklist at hand: required and received sign-offs with
//! names, times and comments; what this operator may do; who ticked what.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{clock, fit, key_span, pane_block, styled};
use crate::model::GateState;
use crate::theme::Slot;
use crate::tui::app::{App, Pane, Row};
use crate::tui::keymap::UiAction;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let release = &app.release;
    let block = pane_block(app, " Gates & checklist ", Some(Pane::Gates));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let selected = app.selected_row();
    let mark = |row: &Row, style: Style| -> Style {
        if selected == Some(row) {
            theme[Slot::Selected]
        } else {
            style
        }
    };
    let mut lines: Vec<Line> = Vec::new();
    // The line the selection is on, to keep it in view.
    let mut selected_line = 0;

    for gate in release.gates() {
        let row = Row::Gate(gate.plan.id.clone());
        if selected == Some(&row) {
            selected_line = lines.len();
        }
        let (state, style) = match gate.state {
            GateState::Pending => ("not open yet", theme[Slot::StagePending]),
            GateState::Open => ("open", theme[Slot::StageWaiting]),
            GateState::Approved => ("approved", theme[Slot::StageSucceeded]),
            GateState::Rejected => ("rejected", theme[Slot::StageFailed]),
        };
        let count = format!(" {}/{} ", gate.signoffs.len(), gate.plan.required);
        lines.push(Line::from(vec![
            styled(
                fit(
                    &format!(" {}", gate.plan.name),
                    width.saturating_sub(count.len() + state.len() + 1),
                ),
                mark(&row, theme[Slot::Title]),
            ),
            styled(count, style),
            styled(state, style),
        ]));
        for signoff in &gate.signoffs {
            let comment = signoff
                .comment
                .as_deref()
                .map(|c| format!(" “{}”", c.replace('\n', " ")))
                .unwrap_or_default();
            lines.push(Line::from(vec![
                styled("   ✓ ", theme[Slot::Accepted]),
                styled(signoff.operator.clone(), theme[Slot::Accepted]),
                styled(format!(" {}", clock(signoff.at)), theme[Slot::Muted]),
                styled(
                    fit(&comment, width.saturating_sub(signoff.operator.len() + 14)),
                    theme[Slot::Muted],
                ),
            ]));
        }
        if let Some(rejection) = &gate.rejection {
            lines.push(Line::from(vec![
                styled("   ✗ ", theme[Slot::Refused]),
                styled(rejection.operator.clone(), theme[Slot::Refused]),
                styled(format!(" {}", clock(rejection.at)), theme[Slot::Muted]),
                styled(
                    fit(
                        &format!(" “{}”", rejection.reason),
                        width.saturating_sub(rejection.operator.len() + 14),
                    ),
                    theme[Slot::Muted],
                ),
            ]));
        }
        if gate.state == GateState::Open && app.replay.is_none() {
            let line = match app.gate_prospect(&gate.plan.id) {
                Ok(()) => Line::from(vec![
                    styled("   you may sign: ", theme[Slot::Muted]),
                    key_span(app, app.keymap.hint(UiAction::SignOff)),
                    styled(" sign off, ", theme[Slot::Muted]),
                    key_span(app, app.keymap.hint(UiAction::Reject)),
                    styled(" reject", theme[Slot::Muted]),
                ]),
                Err(reason) => Line::from(styled(
                    format!("   {}", fit(&reason.reason, width.saturating_sub(3))),
                    theme[Slot::Muted],
                )),
            };
            lines.push(line);
        }
    }

    if let Some(list) = app.active_checklist() {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.push(Line::from(vec![
            styled(format!(" {} ", list.name), theme[Slot::Title]),
            styled(
                format!("{}/{}", list.ticked_count(), list.items.len()),
                theme[Slot::Muted],
            ),
        ]));
        for item in &list.items {
            let row = Row::Item {
                list: list.id.clone(),
                item: item.plan.id.clone(),
            };
            if selected == Some(&row) {
                selected_line = lines.len();
            }
            let (boxed, style) = match &item.ticked {
                Some(_) => ("[x]", theme[Slot::StageSucceeded]),
                None => ("[ ]", theme[Slot::StagePending]),
            };
            // Narrow panes keep who ticked it and drop when.
            let roomy = width >= 48;
            let who = match &item.ticked {
                Some(t) if roomy => format!(" {} {}", t.by, clock(t.at)),
                Some(t) => format!(" {}", t.by),
                None if item.plan.automatic => " auto".to_string(),
                None => String::new(),
            };
            let text_width = width.saturating_sub(5 + who.chars().count());
            lines.push(Line::from(vec![
                styled(format!(" {boxed} "), style),
                Span::styled(
                    fit(&item.plan.text, text_width),
                    mark(&row, Style::default()),
                ),
                styled(who, theme[Slot::Muted]),
            ]));
        }
    } else if release.gates().is_empty() {
        lines.push(Line::from(styled(
            " no gates or checklists yet",
            theme[Slot::Muted],
        )));
    }
    let scroll = (selected_line + 1).saturating_sub(inner.height as usize) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}
