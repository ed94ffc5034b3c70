//! Boxes over the screen: help, the promotion confirmation, a log line read
//! whole, and the text areas for sign-off comments, rejection and rollback
//! reasons, and filters.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph, Wrap};
use ratatui_textarea::TextArea;
use strum::VariantArray;

use super::{key_span, styled};
use crate::model::LogLine;
use crate::model::text::clean;
use crate::theme::Slot;
use crate::tui::app::{App, Mode};
use crate::tui::keymap::UiAction;
use crate::tui::layout;

/// A promote after the window has closed: when it closed, what the
/// promote does, and that it is journaled as late.
fn confirm_late(
    app: &App,
    action: &crate::model::Action,
    closed: jiff::Timestamp,
    frame: &mut Frame,
    area: Rect,
) {
    let rect = centered(area, 64, 8);
    frame.render_widget(Clear, rect);
    let now = app.now.unwrap_or(closed);
    let target = app
        .release
        .plan()
        .map(|p| format!("{} {}", p.service, p.version_to))
        .unwrap_or_default();
    let (what, word) = match action {
        crate::model::Action::PromoteFull => (
            format!("Skip every remaining step and send all traffic to {target} anyway?"),
            " promote fully, late    ",
        ),
        _ => (
            "Advance the rollout past its pause anyway?".to_string(),
            " advance late    ",
        ),
    };
    let closed_words = format!(
        "The deployment window closed at {}, {} ago.",
        crate::engine::policy::closed_at(closed, now),
        crate::model::units::format_duration(
            now.duration_since(closed).max(jiff::SignedDuration::ZERO)
        )
    );
    let text = vec![
        Line::from(styled(closed_words, app.theme[Slot::Refused])),
        Line::from(clean(&what).into_owned()),
        Line::from(styled(
            "The journal records it as late.",
            app.theme[Slot::Muted],
        )),
        Line::default(),
        Line::from(vec![
            key_span(app, "y".into()),
            styled(word, app.theme[Slot::Muted]),
            key_span(app, "any other key".into()),
            styled(" cancel", app.theme[Slot::Muted]),
        ]),
    ];
    let block = frame_block(app, " Window closed: promote late? ".into(), true);
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        rect,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn frame_block<'a>(app: &App, title: String, danger: bool) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Double)
        .border_style(if danger {
            app.theme[Slot::Refused]
        } else {
            app.theme[Slot::BorderFocused]
        })
        .title(Line::from(styled(title, app.theme[Slot::Title])))
        .style(app.theme[Slot::Base])
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    match &app.mode {
        Mode::Normal => {}
        Mode::Help => help(app, frame, area),
        Mode::Inbox => {
            if let Some(list) = &app.inbox {
                // Below the header, above the key bar: the window's state
                // stays in view.
                let below = Rect {
                    y: area.y + 2.min(area.height),
                    height: area.height.saturating_sub(3),
                    ..area
                };
                let rect = centered(below, area.width.saturating_sub(4).min(120), below.height);
                let now = list.now.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let own = app.waiting_on_me();
                super::inbox::render(list, own, &app.theme, &app.keymap, now, frame, rect);
            }
        }
        Mode::ConfirmPromote => {
            let rect = centered(area, 60, 7);
            frame.render_widget(Clear, rect);
            let target = app
                .release
                .plan()
                .map(|p| format!("{} {}", p.service, p.version_to))
                .unwrap_or_default();
            let text = vec![
                Line::from(
                    clean(&format!(
                        "Skip every remaining step and send all traffic to {target}?"
                    ))
                    .into_owned(),
                ),
                Line::default(),
                Line::from(vec![
                    key_span(app, "y".into()),
                    styled(" promote fully    ", app.theme[Slot::Muted]),
                    key_span(app, "any other key".into()),
                    styled(" cancel", app.theme[Slot::Muted]),
                ]),
            ];
            let block = frame_block(app, " Promote fully ".into(), true);
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                rect,
            );
        }
        Mode::ConfirmLate { action, closed, .. } => confirm_late(app, action, *closed, frame, area),
        Mode::ConfirmUndo => {
            let rect = centered(area, 64, 8);
            frame.render_widget(Clear, rect);
            let service = app
                .release
                .plan()
                .map(|p| p.service.clone())
                .unwrap_or_default();
            let text = vec![
                Line::from(
                    clean(&format!(
                        "Put the previous revision's pod template back on {service}? This changes the Rollout's spec: the controller rolls the old version out as a new revision."
                    ))
                    .into_owned(),
                ),
                Line::default(),
                Line::from(vec![
                    key_span(app, "y".into()),
                    styled(" undo    ", app.theme[Slot::Muted]),
                    key_span(app, "any other key".into()),
                    styled(" cancel", app.theme[Slot::Muted]),
                ]),
            ];
            let block = frame_block(app, " Undo ".into(), true);
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                rect,
            );
        }
        Mode::Refusal { title, reason } => {
            let rect = centered(area, 64, 7);
            frame.render_widget(Clear, rect);
            let text = vec![
                Line::from(clean(reason).into_owned()),
                Line::default(),
                Line::from(vec![
                    key_span(app, "Esc".into()),
                    styled(" close  ", app.theme[Slot::Muted]),
                    key_span(app, app.keymap.hint(UiAction::Rollback)),
                    styled(
                        format!(
                            " {}  (letters typed meanwhile do nothing)",
                            app.rollback_word()
                        ),
                        app.theme[Slot::Muted],
                    ),
                ]),
            ];
            let block = frame_block(app, format!(" {title} "), true);
            frame.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                rect,
            );
        }
        Mode::SignOff { name, text, .. } => {
            let title = format!(" Sign off {name} as {} ", app.operator);
            text_box(app, frame, area, title, text, false);
        }
        Mode::Reject { name, text, .. } => {
            let title = format!(" Reject {name} as {} ", app.operator);
            text_box(app, frame, area, title, text, true);
        }
        Mode::RollbackReason { text } => {
            // Before production, the rollback key stops the release instead.
            let queued = app.queued().iter().any(|(p, _)| p.is_rollback());
            let title = match (app.release.rollout().began, queued) {
                (true, false) => " Rollback sent · add a reason to the record? ",
                (true, true) => " Rollback queued, not sent yet · add a reason? ",
                (false, false) => " Stop sent: nothing reached production · add a reason? ",
                (false, true) => " Stop queued, not sent yet · add a reason? ",
            };
            let title = title.to_string();
            text_box(app, frame, area, title, text, true);
        }
        Mode::ReadLine { line, scroll } => read_line(app, frame, area, line, *scroll),
        Mode::Filter { text } => {
            let rect = centered(area, 70, 3);
            frame.render_widget(Clear, rect);
            let block = frame_block(
                app,
                " Filter logs (Enter applies, Esc cancels) ".into(),
                false,
            );
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            frame.render_widget(text, inner);
        }
    }
}

/// A log line whole: when, how loud, from where, and its message wrapped
/// to the box, scrolled when it is longer than the box.
fn read_line(app: &App, frame: &mut Frame, area: Rect, line: &LogLine, scroll: usize) {
    let message = clean(&line.message);
    let geometry = layout::line_box(area, &message);
    let scroll = geometry.scroll(scroll);
    let muted = app.theme[Slot::Muted];
    let mut about = format!(
        "{} · {} · {}",
        line.at.strftime("%Y-%m-%d %H:%M:%S%.3f UTC"),
        line.level.name().to_uppercase(),
        clean(&line.source)
    );
    if let Some(stage) = &line.stage {
        about.push_str(&format!(" · stage {}", clean(stage)));
    }
    let mut text = vec![Line::from(styled(about, muted)), Line::default()];
    let rows = geometry.rows.iter().skip(scroll).take(geometry.shown);
    text.extend(rows.map(|row| Line::from(row.to_string())));
    let mut footer = vec![key_span(app, " Esc".into()), styled(" close ", muted)];
    if geometry.rows.len() > geometry.shown {
        let last = (scroll + geometry.shown).min(geometry.rows.len());
        let rows = geometry.rows.len();
        footer.push(key_span(
            app,
            format!(" {}", app.keymap.hint(UiAction::Down)),
        ));
        footer.push(styled(
            format!(" rows {}–{last} of {rows} ", scroll + 1),
            muted,
        ));
    }
    frame.render_widget(Clear, geometry.rect);
    let block = frame_block(app, " Log line ".into(), false)
        .title_bottom(Line::from(footer))
        .padding(Padding::horizontal(1));
    frame.render_widget(Paragraph::new(text).block(block), geometry.rect);
}

fn text_box(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    title: String,
    text: &TextArea<'_>,
    danger: bool,
) {
    let rect = centered(area, 72, 9);
    frame.render_widget(Clear, rect);
    let block = frame_block(app, title, danger).title_bottom(Line::from(vec![
        key_span(app, " Ctrl+S".into()),
        styled(" submit  ", app.theme[Slot::Muted]),
        key_span(app, "Esc".into()),
        styled(" cancel ", app.theme[Slot::Muted]),
    ]));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    frame.render_widget(text, inner);
}

fn help(app: &App, frame: &mut Frame, area: Rect) {
    let actions = UiAction::VARIANTS;
    let rows = actions.len() as u16;
    // A short screen gets the keys in two columns rather than cut off.
    let columns: u16 = if area.height < rows + 5 && area.width >= 60 {
        2
    } else {
        1
    };
    let per_column = rows.div_ceil(columns);
    let width = if columns == 2 {
        area.width.min(110)
    } else {
        76
    };
    let rect = centered(area, width, per_column + 5);
    // In a short window the notes at the bottom give way to the keys.
    let notes = rect.height >= per_column + 5;
    frame.render_widget(Clear, rect);
    let block = frame_block(app, " Keys ".into(), false);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [keys, rest] =
        Layout::vertical([Constraint::Length(per_column), Constraint::Min(0)]).areas(inner);
    let key_width = if columns == 2 { 11 } else { 15 };
    let parts = Layout::horizontal(vec![
        Constraint::Ratio(1, u32::from(columns));
        columns as usize
    ])
    .split(keys);
    for (column, part) in actions.chunks(per_column as usize).zip(parts.iter()) {
        let lines: Vec<Line> = column
            .iter()
            .map(|action| {
                Line::from(vec![
                    key_span(
                        app,
                        format!(" {:<w$}", app.keymap.label(*action), w = key_width - 1),
                    ),
                    styled(action.describe(), app.theme[Slot::Base]),
                ])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), *part);
    }
    if notes {
        let lines = vec![
            Line::default(),
            Line::from(styled(
                " Keys as bound now. Rebind them by action name under keys: in the config.",
                app.theme[Slot::Muted],
            )),
            Line::from(styled(" Ctrl+C always quits.", app.theme[Slot::Muted])),
        ];
        frame.render_widget(Paragraph::new(lines), rest);
    }
}
