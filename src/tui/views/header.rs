//! The header: what is being released, where it stands, who is at the keys,
//! and whether the backend is live.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{span_between, styled};
use crate::backend::Connection;
use crate::model::{Status, Strategy};
use crate::tui::app::App;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let release = &app.release;
    let header = theme.header;
    frame.render_widget(ratatui::widgets::Block::new().style(header), area);
    let Some(plan) = &release.plan else {
        let line = Line::from(vec![
            styled(" shipdeck ", header),
            styled(format!(" waiting for {}…", app.backend), header),
        ]);
        frame.render_widget(Paragraph::new(line).style(header), area);
        return;
    };

    // Line 1: what, where, how far.
    let total = release.steps().len();
    let step = match release.rollout.step {
        Some(i) => format!("step {}/{total}", i + 1),
        None => format!("step 0/{total}"),
    };
    let traffic = match plan.strategy {
        Strategy::BlueGreen { active, .. } => {
            if release.rollout.weight == 100 {
                format!("{} live", active.other().name())
            } else {
                format!("{} live", active.name())
            }
        }
        Strategy::Rolling { .. } => format!("{}% of instances", release.rollout.weight),
        Strategy::FeatureFlag { .. } => format!("{}% of users", release.rollout.weight),
        Strategy::Canary { .. } => format!("{}% traffic", release.rollout.weight),
    };
    let left = Line::from(vec![
        styled(
            format!(" {} ", plan.service),
            header.add_modifier(ratatui::style::Modifier::BOLD),
        ),
        styled(
            format!(" {} → {} ", plan.version_from, plan.version_to),
            header,
        ),
        styled(format!(" {} ", plan.environment), theme.danger),
        styled(
            format!(" {} · {step} · {traffic}", plan.strategy.name()),
            header,
        ),
    ]);
    let (dot, state) = match &app.connection {
        Connection::Live => ("●", "live".to_string()),
        Connection::Connecting => ("◌", "connecting".to_string()),
        Connection::Lost(why) => ("✗", format!("lost: {why}")),
    };
    let right = Line::from(vec![styled(
        format!("{dot} {} {state} ", app.backend),
        header,
    )])
    .alignment(Alignment::Right);

    // Line 2: window, operator, the release's state.
    let window = match (plan.window, app.now) {
        (Some(w), Some(now)) => {
            let left = if now < w.end() {
                format!("{} left", span_between(now, w.end()))
            } else {
                "closed".to_string()
            };
            format!(
                " window {}–{} UTC · {left}",
                w.start.strftime("%H:%M"),
                w.end().strftime("%H:%M")
            )
        }
        (Some(w), None) => format!(
            " window {}–{} UTC",
            w.start.strftime("%H:%M"),
            w.end().strftime("%H:%M")
        ),
        _ => " no window".to_string(),
    };
    let (state_text, state_style) = match release.status {
        Status::NotStarted => ("NOT STARTED".to_string(), header),
        Status::Running => match release
            .stages
            .iter()
            .find(|s| s.state == crate::model::StageState::Failed)
        {
            Some(failed) => (format!("HELD: {} failed", failed.plan.name), theme.refused),
            None => ("RUNNING".to_string(), header),
        },
        Status::Paused => (
            format!("PAUSED by {}", release.paused_by.as_deref().unwrap_or("?")),
            theme.stage_waiting,
        ),
        Status::RollingBack => (
            format!(
                "ROLLING BACK ({})",
                release
                    .rollback
                    .as_ref()
                    .map(|r| r.by.as_str())
                    .unwrap_or("?")
            ),
            theme.danger,
        ),
        Status::Finished(outcome) => {
            let style = match outcome {
                crate::model::Outcome::Succeeded => theme.accepted,
                _ => theme.danger,
            };
            (outcome.name().replace('_', " ").to_uppercase(), style)
        }
    };
    let now = app
        .now
        .map(|n| format!(" · {} UTC", n.strftime("%H:%M:%S")))
        .unwrap_or_default();
    let line2 = Line::from(vec![
        styled(window, header),
        styled(now, header),
        styled(format!("   operator {}   ", app.operator), header),
        Span::styled(format!(" {state_text} "), state_style),
    ]);

    let [row1, row2] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(1),
        ratatui::layout::Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(left).style(header), row1);
    let right_width = (right.width() as u16).min(row1.width / 2);
    let right_area = Rect {
        x: row1.right().saturating_sub(right_width),
        width: right_width,
        ..row1
    };
    frame.render_widget(Paragraph::new(right).style(header), right_area);
    frame.render_widget(Paragraph::new(line2).style(header), row2);
}
