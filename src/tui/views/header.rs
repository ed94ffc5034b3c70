//! The header: what is being released, where it stands, who is at the keys,
//! and whether the backend is live.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{span_between, styled};
use crate::backend::Connection;
use crate::model::{Level, Outcome, ReleasePlan, StageState, Status, Strategy};
use crate::theme::Slot;
use crate::tui::app::{App, seconds};
use crate::tui::keymap::UiAction;

/// The release's state in a word or three, and how loudly to show it.
fn state(app: &App) -> (String, Style) {
    let theme = &app.theme;
    let release = &app.release;
    let rolled_back_by = || release.rollback().map_or("?", |r| r.by.as_str());
    match release.status() {
        Status::NotStarted => ("NOT STARTED".to_string(), theme[Slot::Header]),
        Status::Running => match release
            .stages()
            .iter()
            .find(|s| s.state == StageState::Failed)
        {
            Some(failed) => (
                format!("HELD: {} failed", failed.plan.name),
                theme[Slot::Refused],
            ),
            None => ("RUNNING".to_string(), theme[Slot::Header]),
        },
        Status::Paused => (
            format!(
                "PAUSED by {}",
                release.paused_by().map_or("?", |by| by.as_str())
            ),
            theme[Slot::StageWaiting],
        ),
        Status::RollingBack => (
            format!("ROLLING BACK ({})", rolled_back_by()),
            theme[Slot::Danger],
        ),
        Status::Finished(Outcome::RolledBack) => (
            format!("ROLLED BACK ({})", rolled_back_by()),
            theme[Slot::Danger],
        ),
        Status::Finished(Outcome::Aborted) if release.stopped().is_some() => (
            format!(
                "ABORTED (stopped before production by {})",
                release.stopped().map_or("?", |s| s.by.as_str())
            ),
            theme[Slot::Danger],
        ),
        Status::Finished(outcome) => (
            outcome.words().to_string().to_uppercase(),
            if outcome == Outcome::Succeeded {
                theme[Slot::Accepted]
            } else {
                theme[Slot::Danger]
            },
        ),
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let header = app.theme[Slot::Header];
    frame.render_widget(Block::new().style(header), area);
    let [row1, row2] = Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let (dot, connection) = connection(app);
    let Some(plan) = app.release.plan() else {
        let line = Line::from(vec![
            styled(" shipdeck ", header.add_modifier(Modifier::BOLD)),
            styled(format!(" {dot} {} {connection}", app.backend), header),
        ]);
        frame.render_widget(Paragraph::new(line).style(header), row1);
        return;
    };
    what_and_where(app, plan, (dot, &connection), frame, row1);
    let line = standing(app, plan, row2.width as usize);
    frame.render_widget(Paragraph::new(line).style(header), row2);
}

/// Whether the backend is live, as a dot and words; a metrics source in
/// trouble is said beside it (live is the pipeline). A finished release is
/// not live, and a replay says whether it plays, holds or has ended.
fn connection(app: &App) -> (&'static str, String) {
    let release = &app.release;
    let finished = release.status().is_final();
    let (dot, connection) = match (&app.connection, &app.replay) {
        (Connection::Ended, Some(_)) => ("■", "end of recording".to_string()),
        (Connection::Ended, None) => ("■", "ended".to_string()),
        (Connection::Live, Some(replay)) if replay.paused => ("⏸", "paused".to_string()),
        (Connection::Live, Some(_)) => ("▶", "replaying".to_string()),
        (Connection::Live, None) if finished => ("■", "finished".to_string()),
        (Connection::Live, None) => ("●", "live".to_string()),
        (Connection::Connecting, _) => ("◌", "connecting".to_string()),
        (Connection::Lost(why), _) => ("✗", format!("lost: {why}")),
    };
    let connection = match release.metrics_source() {
        Some(said) if !release.status().is_final() && said.level == Level::Error => {
            format!("{connection} · no metrics")
        }
        Some(said) if !release.status().is_final() && said.level == Level::Warn => {
            format!("{connection} · metrics partial")
        }
        _ => connection,
    };
    let connection = match &app.slowed {
        Some(why) if !finished => format!("{connection} · {}", crate::model::text::Clean(why)),
        _ => connection,
    };
    (dot, connection)
}

/// Line 1: what, where, how far; the backend on the right.
fn what_and_where(
    app: &App,
    plan: &ReleasePlan,
    (dot, connection): (&str, &str),
    frame: &mut Frame,
    row: Rect,
) {
    let theme = &app.theme;
    let release = &app.release;
    let header = theme[Slot::Header];
    let total = release.steps().len();
    let step = match release.rollout().step {
        Some(i) => format!("step {}/{total}", i.saturating_add(1)),
        None => "not started".to_string(),
    };
    let weight = release.rollout().weight;
    let traffic = match plan.strategy {
        Strategy::BlueGreen { active, .. } if weight == 100 => {
            format!("{} live", active.other().name())
        }
        Strategy::BlueGreen { active, .. } => format!("{} live", active.name()),
        Strategy::Rolling { .. } => format!("{weight}% of instances"),
        Strategy::FeatureFlag { .. } => format!("{weight}% of users"),
        Strategy::Canary { .. } => format!("{weight}% traffic"),
    };
    let line = |versions: String, progress: String| {
        Line::from(vec![
            styled(
                format!(" {} ", plan.service),
                header.add_modifier(Modifier::BOLD),
            ),
            styled(versions, header),
            styled(format!(" {} ", plan.environment), theme[Slot::Danger]),
            styled(progress, header),
        ])
    };
    // A release with no rollout stage (a workflow's jobs) has no traffic
    // to tell of.
    let rolls_out = release.rollout_stage().is_some();
    let progress = match rolls_out {
        true => format!(" {} · {step} · {traffic}", plan.strategy.name()),
        false => String::new(),
    };
    let versions = match plan.version_from.is_empty() {
        true => format!(" {} ", plan.version_to),
        false => format!(" {} → {} ", plan.version_from, plan.version_to),
    };
    let mut left = line(versions, progress);
    // A narrow screen gets the same facts in fewer letters.
    if rolls_out && left.width() + 8 > row.width as usize {
        let progress = match release.rollout().step {
            Some(i) => format!(
                " {} {}/{total} {weight}%",
                plan.strategy.name(),
                i.saturating_add(1)
            ),
            None => format!(" {} not started", plan.strategy.name()),
        };
        left = line(
            format!(" {}→{} ", plan.version_from, plan.version_to),
            progress,
        );
    }
    let full = Line::from(styled(
        format!("{dot} {} {connection} ", app.backend),
        header,
    ));
    // The backend's name where there is room; its connection state always.
    let right = if left.width() + full.width() < row.width as usize {
        full
    } else {
        Line::from(styled(format!(" {dot} {connection} "), header))
    }
    .alignment(Alignment::Right);
    frame.render_widget(Paragraph::new(left).style(header), row);
    let right_width = (right.width() as u16).min(row.width);
    let right_area = Rect {
        x: row.right().saturating_sub(right_width),
        width: right_width,
        ..row
    };
    frame.render_widget(Clear, right_area);
    frame.render_widget(Paragraph::new(right).style(header), right_area);
}

/// Line 2: the release's state first, then who is at the keys, the window
/// and the time.
fn standing<'a>(app: &App, plan: &ReleasePlan, width: usize) -> Line<'a> {
    let theme = &app.theme;
    let header = theme[Slot::Header];
    // The window in full, and in fewer letters for a narrow screen.
    let (hours, left) = window(app, plan);
    // Once the release has ended, its clock has stopped: say when it ended.
    let now = match (app.release.finished_at(), app.now) {
        (Some(end), _) => format!(" · ended {}", end.strftime("%H:%M:%S")),
        (None, Some(now)) => format!(" · now {}", now.strftime("%H:%M:%S")),
        (None, None) => String::new(),
    };
    let (state_text, state_style) = state(app);
    let mut spans = Vec::new();
    // A replay says so first, loudly: nothing on this screen is live.
    if let Some(replay) = &app.replay {
        let marker = if replay.paused {
            " REPLAY · PAUSED "
        } else {
            " REPLAY "
        };
        spans.push(Span::styled(marker, theme[Slot::Replay]));
        spans.push(Span::raw(" "));
    }
    let with = watching_with(app);
    // A rollback waiting for the link, and a new window, come first: the
    // screen is not what it seems.
    let queued_rollback = app.queued().into_iter().find(|(p, _)| p.is_rollback());
    if let Some((_, queued)) = queued_rollback {
        // Before the rollout began, the rollback key stops the release.
        let what = if app.release.rollout().began {
            "ROLLBACK"
        } else {
            "STOP"
        };
        let text = format!(
            " {what} QUEUED — will be sent when the server is back · {} ",
            seconds(queued.waited)
        );
        spans.push(Span::styled(text, theme[Slot::Danger]));
        spans.push(Span::raw(" "));
    }
    if app.new_window.is_some() && app.replay.is_none() {
        let text = " NEW WINDOW: the old window's state is gone ";
        spans.push(Span::styled(text, theme[Slot::Danger]));
        spans.push(Span::raw(" "));
    }
    // Cut off from the backend, the state is only what was last heard.
    let mut state_text = match (&app.connection, &app.replay) {
        (Connection::Lost(_), None) => format!("LAST HEARD: {state_text}"),
        _ => state_text,
    };
    let rolled_back = matches!(
        app.release.status(),
        Status::RollingBack | Status::Finished(Outcome::RolledBack)
    );
    if let Some(late) = app.rollback_late.filter(|_| rolled_back) {
        state_text.push_str(&format!(" · rollback sent late by {}", seconds(late)));
    } else if let Some(late) = app
        .rollback_late
        .filter(|_| app.release.stopped().is_some())
    {
        state_text.push_str(&format!(" · stop sent late by {}", seconds(late)));
    }
    spans.push(styled(format!(" {state_text} "), state_style));
    // What waits on this operator, loudly: it is theirs to do.
    let mine = app.waiting_on_me();
    if mine > 0 {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            format!(" {mine} waiting on you "),
            theme[Slot::StageWaiting].add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
    }
    // What waits on them in other releases: the inbox (`i`) has it.
    let elsewhere = app.inbox.as_ref().map_or(0, |list| list.mine_elsewhere());
    if elsewhere > 0 {
        spans.push(styled(
            format!(
                " +{elsewhere} in your inbox ({}) ",
                app.keymap.hint(UiAction::Inbox)
            ),
            theme[Slot::StageWaiting],
        ));
    }
    // A rule about to roll back says so where the eye goes first.
    if let Some((rule, left)) = super::rules::imminent_rollback(app) {
        let left = crate::model::units::format_duration(left);
        spans.push(Span::raw(" "));
        spans.push(styled(
            format!(" ⚠ ROLLS BACK IN {left}: {rule} "),
            theme[Slot::Danger],
        ));
    }
    // A freeze holds every promote: said as loudly as a rollback.
    if let Some(frozen) = app.frozen().filter(|_| app.release.status().in_flight()) {
        let until = match frozen.reopens {
            Some(at) => format!("until {}", crate::model::freeze::reopens(at)),
            None => "with no end in sight".into(),
        };
        spans.push(Span::raw(" "));
        spans.push(styled(
            format!(
                " FROZEN {until}: {} ",
                crate::model::text::Clean(frozen.freeze.reason())
            ),
            theme[Slot::Danger],
        ));
    }
    spans.push(styled(
        format!(" operator {}{with} ·", app.operator),
        header,
    ));
    let at = spans.len();
    spans.extend([styled(hours, header), left, styled(now, header)]);
    let mut line = Line::from(spans);
    // Too wide: the window's hours go first, so the clock stays in view.
    if line.width() > width {
        line.spans[at] = styled(" window", header);
        let left = &mut line.spans[at + 1];
        left.content = left.content.replacen(" ·", "", 1).into();
    }
    line
}

/// The window's hours, and what is left of it: in the warning's style in
/// its last 15 minutes (with seconds, as ever under an hour), and once it
/// has closed with the release still in flight, `closed HH:MM` in the
/// alert's.
fn window<'a>(app: &App, plan: &ReleasePlan) -> (String, Span<'a>) {
    let theme = &app.theme;
    let header = theme[Slot::Header];
    let Some(w) = plan.window else {
        return (" no window".to_string(), Span::raw(""));
    };
    let end = w.end();
    let hours = format!(
        " window {}–{} UTC",
        w.start.strftime("%H:%M"),
        end.strftime("%H:%M")
    );
    let in_flight = app.release.status().in_flight();
    let left = match app.now {
        Some(now) if now < end => {
            let style = match end.duration_since(now) <= WINDOW_WARNING && in_flight {
                true => theme[Slot::StageWaiting].add_modifier(Modifier::BOLD),
                false => header,
            };
            styled(format!(" · {} left", span_between(now, end)), style)
        }
        Some(_) if in_flight => styled(
            format!(" · closed {}", end.strftime("%H:%M")),
            theme[Slot::Danger],
        ),
        Some(_) => styled(format!(" · closed {}", end.strftime("%H:%M")), header),
        None => Span::raw(""),
    };
    (hours, left)
}

/// How long before the window's end the header warns of it.
const WINDOW_WARNING: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// Who else watches, for the header: up to three by name, then how many
/// more (a crowd is counted by the server, and only a few named).
fn watching_with(app: &App) -> String {
    // A name is cut to 20 characters: one long name cannot hide the rest.
    let short = |name: &str| crate::model::text::clip(name, 20);
    let named: Vec<String> = app.others_watching().take(2).map(short).collect();
    let total = app.others_count().max(app.others_watching().count());
    match (total, named.as_slice()) {
        (0, _) => String::new(),
        (1..=3, _) if app.others_watching().count() == total => {
            let all: Vec<String> = app.others_watching().map(short).collect();
            format!(" (with {})", all.join(", "))
        }
        (n, []) => format!(" (with {n} others)"),
        (n, [one]) => format!(" (with {one} and {} more)", n - 1),
        (n, [first, second, ..]) => format!(" (with {first}, {second} and {} more)", n - 2),
    }
}
