//! The stage board: every stage with its state and time, and the rollout
//! plan as a row of steps with the current one marked.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{fit, pane_block, span_between, styled};
use crate::model::units::format_duration;
use crate::model::{Stage, StageState, Status, StepKind};
use crate::theme::Slot;
use crate::tui::app::{App, Pane};
use crate::tui::keymap::UiAction;
use crate::tui::theme::Theme;

pub fn icon(state: StageState) -> &'static str {
    match state {
        StageState::Pending => "·",
        StageState::Running => "▶",
        StageState::Waiting => "◆",
        StageState::Succeeded => "✓",
        StageState::Failed => "✗",
        StageState::Cancelled => "⊘",
        StageState::Skipped => "–",
    }
}

pub fn stage_style(theme: &Theme, state: StageState) -> Style {
    match state {
        StageState::Pending => theme[Slot::StagePending],
        StageState::Running => theme[Slot::StageRunning],
        StageState::Waiting => theme[Slot::StageWaiting],
        StageState::Succeeded => theme[Slot::StageSucceeded],
        StageState::Failed | StageState::Cancelled => theme[Slot::StageFailed],
        StageState::Skipped => theme[Slot::StageSkipped],
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let release = &app.release;
    let block = pane_block(app, " Stages ", Some(Pane::Board));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    // When the pane is short, the stages already done fold into one line so
    // the current stage and the rollout plan stay in view.
    let done = release
        .stages()
        .iter()
        .take_while(|s| s.state == StageState::Succeeded)
        .count();
    let plan_rows = if release.steps().is_empty() { 0 } else { 4 };
    let fold = done > 1 && release.stages().len() + 1 + plan_rows > inner.height as usize;
    if fold {
        lines.push(Line::from(styled(
            format!(" {} {done} stages done", icon(StageState::Succeeded)),
            theme[Slot::StageSucceeded],
        )));
    }
    for stage in release.stages().iter().skip(if fold { done } else { 0 }) {
        stage_lines(app, stage, width, &mut lines);
    }
    if !release.steps().is_empty() {
        plan_lines(app, width, &mut lines);
    }
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    frame.render_widget(paragraph, inner);
}

/// A stage: its state, name and time (elapsed of expected); a note when it
/// waits or failed.
fn stage_lines<'a>(app: &App, stage: &Stage, width: usize, lines: &mut Vec<Line<'a>>) {
    let theme = &app.theme;
    let now = app.now.or(app.release.last_at());
    let style = stage_style(theme, stage.state);
    let time = match (stage.started_at, now) {
        (Some(start), Some(now)) => {
            let elapsed = span_between(start, stage.finished_at.unwrap_or(now));
            match stage.plan.expected {
                Some(expected) => format!("{elapsed} / {}", format_duration(expected)),
                None => elapsed,
            }
        }
        _ => stage
            .plan
            .expected
            .map(|e| format!("~{}", format_duration(e)))
            .unwrap_or_default(),
    };
    let name_width = width.saturating_sub(time.chars().count() + 4);
    let name = fit(&stage.plan.name, name_width);
    let pad = width.saturating_sub(3 + name.chars().count() + time.chars().count());
    lines.push(Line::from(vec![
        styled(format!(" {} ", icon(stage.state)), style),
        styled(name, style),
        Span::raw(" ".repeat(pad)),
        styled(time, theme[Slot::Muted]),
    ]));
    // What the stage waits on a person for, and who may do it.
    // Stages may run side by side (a workflow's jobs): each shows what
    // waits on it; the current one also what belongs to no other.
    let current = app.release.current_stage().map(|s| &s.plan.id) == Some(&stage.plan.id);
    let other_active = |name: &str| {
        app.release
            .stages()
            .iter()
            .any(|s| s.state.is_active() && s.plan.id != stage.plan.id && s.plan.name == name)
    };
    let waits = match stage.state.is_active() {
        true => app
            .waiting()
            .into_iter()
            .filter(|w| w.action != UiAction::Advance)
            .filter(|w| match current {
                true => !other_active(&w.stage),
                false => w.stage == stage.plan.name,
            })
            .collect::<Vec<_>>(),
        false => Vec::new(),
    };
    if let Some(first) = waits.first() {
        let more = match waits.len() - 1 {
            0 => String::new(),
            n => format!(" · {n} more"),
        };
        let style = if first.mine {
            theme[Slot::StageWaiting].add_modifier(Modifier::BOLD)
        } else {
            theme[Slot::Muted]
        };
        // What, then who: a narrow pane keeps both in view.
        let who = format!("— {}{more}", first.who(app));
        for text in [first.what_waits(), who] {
            lines.push(Line::from(styled(
                format!("   {}", fit(&text, width.saturating_sub(3))),
                style,
            )));
        }
        return;
    }
    let noted = matches!(
        stage.state,
        StageState::Waiting | StageState::Failed | StageState::Cancelled
    );
    if noted && let Some(note) = &stage.note {
        lines.push(Line::from(styled(
            format!("   {}", fit(note, width.saturating_sub(3))),
            theme[Slot::Muted],
        )));
    }
}

/// The rollout plan as a row of steps, the current one marked (in the
/// failure style during a rollback), and what the current step is doing.
fn plan_lines<'a>(app: &App, width: usize, lines: &mut Vec<Line<'a>>) {
    let theme = &app.theme;
    let release = &app.release;
    lines.push(Line::default());
    let title = release
        .rollout_stage()
        .map(|s| s.plan.name.clone())
        .unwrap_or_else(|| "Rollout".into());
    lines.push(Line::from(styled(
        format!(" {title} plan"),
        theme[Slot::Title],
    )));
    let mut chips: Vec<Span> = vec![Span::raw(" ")];
    let current = release.rollout().step;
    let completed = release.rollout().step_completed;
    let rolling_back =
        matches!(release.status(), Status::RollingBack) || release.rollback().is_some();
    for (i, step) in release.steps().iter().enumerate() {
        let label = match &step.kind {
            StepKind::SetWeight { weight } => format!("{weight}%"),
            StepKind::Preview => "preview".into(),
            StepKind::Pause { duration: None } => "‖".into(),
            StepKind::Pause { duration: Some(d) } => format!("‖{}", compact(*d)),
            StepKind::Analysis { duration } => format!("~{}", compact(*duration)),
            StepKind::External { what } => crate::model::text::clip(what, 10),
        };
        let done = current.is_some_and(|c| i < c || (i == c && completed));
        let is_current = current == Some(i) && !completed;
        let style = if is_current && rolling_back {
            theme[Slot::StageFailed].add_modifier(Modifier::REVERSED)
        } else if is_current {
            theme[Slot::Selected]
        } else if done {
            theme[Slot::StageSucceeded]
        } else {
            theme[Slot::StagePending]
        };
        if i > 0 {
            chips.push(styled("›", theme[Slot::Muted]));
        }
        chips.push(styled(label, style));
    }
    lines.push(Line::from(chips));
    let detail = step_detail(app);
    if !detail.is_empty() {
        lines.push(Line::from(styled(
            format!(" {detail}"),
            theme[Slot::StageWaiting],
        )));
    }
    // During a rollback its checklist waits on people: said here, as no
    // stage is on.
    if release.status() == Status::RollingBack
        && let Some(first) = app.waiting().first()
    {
        let style = if first.mine {
            theme[Slot::StageWaiting].add_modifier(Modifier::BOLD)
        } else {
            theme[Slot::Muted]
        };
        for text in [first.what_waits(), format!("— {}", first.who(app))] {
            let text = fit(&text, width.saturating_sub(1));
            lines.push(Line::from(styled(format!(" {text}"), style)));
        }
    }
}

/// `1m30s`: a duration that a line never breaks inside.
fn compact(d: jiff::SignedDuration) -> String {
    format_duration(d).replace(' ', "")
}

/// What the current step is doing, and for how long.
fn step_detail(app: &App) -> String {
    let release = &app.release;
    if release.status() == Status::RollingBack {
        let previous = release.plan().map_or("", |p| p.version_from.as_str());
        return format!("rolling back to {previous}");
    }
    if !matches!(
        release.rollout_stage().map(|s| s.state),
        Some(StageState::Running)
    ) {
        return String::new();
    }
    let Some((i, step)) = release.current_step() else {
        return String::new();
    };
    if release.rollout().step_completed {
        return String::new();
    }
    let n = i + 1;
    let total = release.steps().len();
    if let Some(left) = release.rollout().remaining {
        return format!(
            "step {n}/{total} {} · paused with {} left",
            step.describe(),
            format_duration(left)
        );
    }
    match (release.rollout().until, app.now) {
        (Some(until), Some(now)) => {
            format!(
                "step {n}/{total} {} · {} left",
                step.describe(),
                span_between(now, until)
            )
        }
        _ if matches!(step.kind, StepKind::Pause { duration: None }) => {
            format!(
                "step {n}/{total}: waiting for an operator — {} advances",
                app.keymap.hint(crate::tui::keymap::UiAction::Advance)
            )
        }
        _ => format!("step {n}/{total} {}", step.describe()),
    }
}
