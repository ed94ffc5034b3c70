//! Gates and the checklist at hand: required and received sign-offs with
//! names, times and comments; what this operator may do; who ticked what.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{clock, fit, key_span, pane_block, styled};
use crate::model::{Checklist, Gate, GateState};
use crate::theme::Slot;
use crate::tui::app::{App, Pane, Row, seconds, seconds_left};
use crate::tui::keymap::UiAction;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let title = if app.picture.is_empty() || !app.release.gates().is_empty() {
        " Gates & checklist "
    } else {
        " Rollout "
    };
    let block = pane_block(app, title, Some(Pane::Gates));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut out = Lines {
        app,
        width: inner.width as usize,
        selected: app.selected_row(),
        lines: Vec::new(),
        selected_line: 0,
    };
    for gate in app.release.gates() {
        out.gate(gate);
    }
    if let Some(list) = app.active_checklist() {
        out.checklist(list);
    } else if app.release.gates().is_empty() && app.picture.is_empty() {
        let none = styled(" no gates or checklists yet", app.theme[Slot::Muted]);
        out.lines.push(Line::from(none));
    }
    out.picture(&app.picture);
    // Scrolled to keep the selection in view.
    let scroll = (out.selected_line + 1).saturating_sub(inner.height as usize) as u16;
    frame.render_widget(
        Paragraph::new(out.lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

/// The pane's lines as they are built, and where the selection is.
struct Lines<'a> {
    app: &'a App,
    width: usize,
    selected: Option<&'a Row>,
    lines: Vec<Line<'a>>,
    /// The line the selection is on.
    selected_line: usize,
}

impl<'a> Lines<'a> {
    /// The backend's picture (a Rollout's revisions, pods, analysis), below
    /// the gates: each line cut to the pane, text from outside cleaned.
    fn picture(&mut self, picture: &[crate::backend::Detail]) {
        use crate::backend::Tone;
        if picture.is_empty() {
            return;
        }
        if !self.lines.is_empty() {
            self.lines.push(Line::default());
        }
        let theme = &self.app.theme;
        for detail in picture {
            let slot = match detail.tone {
                Tone::Title => Slot::Title,
                Tone::Good => Slot::StageSucceeded,
                Tone::Busy => Slot::StageWaiting,
                Tone::Bad => Slot::StageFailed,
                Tone::Muted => Slot::Muted,
            };
            let text = fit(&format!(" {}", detail.text), self.width);
            self.lines.push(Line::from(styled(text, theme[slot])));
        }
    }

    /// The row's own style, or the selection's when it is selected (and
    /// remembered as the line to keep in view).
    fn mark(&mut self, row: &Row, style: Style) -> Style {
        if self.selected == Some(row) {
            self.selected_line = self.lines.len();
            self.app.theme[Slot::Selected]
        } else {
            style
        }
    }

    /// A gate: its count and state, who signed (when, with what comment),
    /// who rejected, and whether this operator may sign.
    fn gate(&mut self, gate: &Gate) {
        let theme = &self.app.theme;
        let width = self.width;
        let (state, style) = match gate.state {
            GateState::Pending => ("not open yet", theme[Slot::StagePending]),
            GateState::Open => ("open", theme[Slot::StageWaiting]),
            GateState::Approved => ("approved", theme[Slot::StageSucceeded]),
            GateState::Rejected => ("rejected", theme[Slot::StageFailed]),
        };
        let count = format!(" {}/{} ", gate.signoffs.len(), gate.plan.required);
        let name = fit(
            &format!(" {}", gate.plan.name),
            width.saturating_sub(count.len() + state.len() + 1),
        );
        let name_style = self.mark(&Row::Gate(gate.plan.id.clone()), theme[Slot::Title]);
        self.lines.push(Line::from(vec![
            styled(name, name_style),
            styled(count, style),
            styled(state, style),
        ]));
        for signoff in &gate.signoffs {
            let comment = signoff
                .comment
                .as_deref()
                .map(|c| format!(" “{}”", c.replace('\n', " ")))
                .unwrap_or_default();
            self.lines.push(Line::from(vec![
                styled("   ✓ ", theme[Slot::Accepted]),
                styled(signoff.operator.to_string(), theme[Slot::Accepted]),
                styled(format!(" {}", clock(signoff.at)), theme[Slot::Muted]),
                styled(
                    fit(
                        &comment,
                        width.saturating_sub(signoff.operator.as_str().len() + 14),
                    ),
                    theme[Slot::Muted],
                ),
            ]));
        }
        if let Some(rejection) = &gate.rejection {
            let reason = format!(" “{}”", rejection.reason);
            self.lines.push(Line::from(vec![
                styled("   ✗ ", theme[Slot::Refused]),
                styled(rejection.operator.to_string(), theme[Slot::Refused]),
                styled(format!(" {}", clock(rejection.at)), theme[Slot::Muted]),
                styled(
                    fit(
                        &reason,
                        width.saturating_sub(rejection.operator.as_str().len() + 14),
                    ),
                    theme[Slot::Muted],
                ),
            ]));
        }
        if gate.state == GateState::Open && self.app.replay.is_none() {
            let lines = self
                .waiting(gate)
                .unwrap_or_else(|| vec![self.may_sign(gate)]);
            self.lines.extend(lines);
        }
    }

    /// This operator's sign-off or rejection of the gate, while it is not
    /// answered: sent, or queued and not delivered (and when it expires).
    fn waiting(&self, gate: &Gate) -> Option<Vec<Line<'a>>> {
        let app = self.app;
        let pending = app
            .pending
            .values()
            .find(|p| p.gate() == Some(gate.plan.id.as_str()))?;
        let what = match pending.action {
            crate::model::Action::Approve { .. } => "sign-off",
            _ => "rejection",
        };
        let mut text = Vec::new();
        match &pending.queued {
            Some(queued) => {
                // Short lines: the pane is narrow, and the age must show.
                let waited = seconds(queued.waited);
                text.push(format!("   queued — not delivered · {waited}"));
                text.push(match queued.expires_in {
                    Some(left) => format!("   your {what} expires in {}", seconds_left(left)),
                    None => format!("   your {what} waits for the server"),
                });
            }
            None => text.push(format!("   your {what} is sent; waiting for the answer")),
        }
        let style = app.theme[Slot::StageWaiting];
        let lines = text
            .iter()
            .map(|t| Line::from(styled(fit(t, self.width), style)));
        Some(lines.collect())
    }

    /// Whether this operator may sign an open gate: the keys, or why not.
    fn may_sign(&self, gate: &Gate) -> Line<'a> {
        let app = self.app;
        let muted = app.theme[Slot::Muted];
        match app.gate_prospect(&gate.plan.id) {
            Ok(()) => Line::from(vec![
                styled("   you may sign: ", muted),
                key_span(app, app.keymap.hint(UiAction::SignOff)),
                styled(" sign off, ", muted),
                key_span(app, app.keymap.hint(UiAction::Reject)),
                styled(" reject", muted),
            ]),
            Err(refusal) => Line::from(styled(
                format!("   {}", fit(&refusal.reason, self.width.saturating_sub(3))),
                muted,
            )),
        }
    }

    /// The checklist at hand: how far, and each item with who ticked it.
    fn checklist(&mut self, list: &Checklist) {
        let theme = &self.app.theme;
        let width = self.width;
        if !self.lines.is_empty() {
            self.lines.push(Line::default());
        }
        self.lines.push(Line::from(vec![
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
            let text_style = self.mark(&row, Style::default());
            self.lines.push(Line::from(vec![
                styled(format!(" {boxed} "), style),
                Span::styled(fit(&item.plan.text, text_width), text_style),
                styled(who, theme[Slot::Muted]),
            ]));
        }
    }
}
