//! Metrics: error rate, p95 latency and throughput, the new version beside
//! the stable one, each with its rule's threshold, and the alerts fired.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::spark::{Spark, columns, scale};
use super::{clock, fit, pane_block, styled};
use crate::model::{AlertState, Cohort, Comparison, Rule, RuleAction, Series};
use crate::theme::Slot;
use crate::tui::app::App;

/// The series shown, most important first.
const SHOWN: [Series; 3] = [Series::ErrorRate, Series::LatencyP95, Series::Throughput];

/// The rule whose threshold is drawn for a series: a rollback rule first.
fn threshold_rule(app: &App, series: Series) -> Option<&Rule> {
    let rules = &app.release.plan()?.rules;
    let on_series = |r: &&Rule| r.condition.series == series && r.cohort == Cohort::Canary;
    rules
        .iter()
        .filter(on_series)
        .find(|r| r.action == RuleAction::Rollback)
        .or_else(|| rules.iter().find(on_series))
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let release = &app.release;
    let block = pane_block(app, " Metrics: new version │ stable ", None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    let alerts: Vec<_> = release
        .alerts()
        .iter()
        .filter(|a| a.state != AlertState::Resolved)
        .collect();
    // A metrics source in trouble comes first: what the rules judge is
    // missing.
    let trouble = release
        .metrics_source()
        .filter(|said| said.level >= crate::model::Level::Warn && !release.status().is_final());
    let wanted = alerts.len() + usize::from(trouble.is_some());
    let alert_rows = (wanted as u16).min(inner.height / 4).min(3);
    let [charts, alert_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(alert_rows)]).areas(inner);
    // Each series needs a title row and at least one row of bars.
    let fits = (charts.height / 2).clamp(1, SHOWN.len() as u16) as usize;
    let rows = Layout::vertical(vec![Constraint::Ratio(1, fits as u32); fits]).split(charts);
    for (series, row) in SHOWN.iter().zip(rows.iter()) {
        render_series(app, frame, *series, *row);
    }
    let trouble_line = trouble.map(|said| {
        let text = format!(
            "⚠ since {} {}",
            clock(said.at),
            said.message.trim_start_matches("metrics: ")
        );
        Line::from(styled(
            fit(&text, alert_area.width as usize),
            theme[Slot::Alert],
        ))
    });
    let lines: Vec<Line> = trouble_line
        .into_iter()
        .chain(alerts.iter().map(|a| {
            let state = match a.state {
                AlertState::Acknowledged => format!(
                    "acknowledged by {}",
                    a.acknowledged_by.as_deref().unwrap_or("?")
                ),
                // After the release ends nothing is watched any more.
                _ if release.status().is_final() => format!("fired at {}", clock(a.since)),
                _ => format!("firing since {}", clock(a.since)),
            };
            let text = format!("⚠ {} {state}: {}", a.rule, a.message);
            Line::from(styled(
                fit(&text, alert_area.width as usize),
                theme[Slot::Alert],
            ))
        }))
        .take(alert_rows as usize)
        .collect();
    frame.render_widget(Paragraph::new(lines), alert_area);
}

fn render_series(app: &App, frame: &mut Frame, series: Series, area: Rect) {
    let theme = &app.theme;
    let rule = threshold_rule(app, series);
    let line = Threshold {
        value: rule.map(|r| r.condition.threshold),
        breach_above: rule.is_none_or(|r| {
            matches!(
                r.condition.comparison,
                Comparison::Above | Comparison::AtLeast
            )
        }),
    };
    let mut title_line = vec![
        styled(format!("{:<12}", series.words()), theme[Slot::Title]),
        latest(app, series, Cohort::Canary, &line),
        styled(" │ ", theme[Slot::Muted]),
        latest(app, series, Cohort::Stable, &line),
    ];
    if let Some(rule) = rule {
        let used: usize = title_line.iter().map(|s| s.width()).sum();
        let room = (area.width as usize).saturating_sub(used);
        title_line.push(styled(rule_text(rule, room), theme[Slot::Threshold]));
    }
    let [title_area, bars] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(title_line)), title_area);
    if bars.height > 0 {
        sparks(app, frame, series, &line, bars);
    }
}

/// A series' rule line: where it lies and which side of it breaches.
struct Threshold {
    value: Option<f64>,
    breach_above: bool,
}

impl Threshold {
    fn breached(&self, v: f64) -> bool {
        self.value
            .is_some_and(|t| if self.breach_above { v > t } else { v < t })
    }
}

/// A cohort's latest value: in the alert style when the canary breaches,
/// as idle when the cohort stopped receiving traffic (three missed samples
/// make a value stale), a dash when there is none.
fn latest(app: &App, series: Series, cohort: Cohort, line: &Threshold) -> Span<'static> {
    let theme = &app.theme;
    let samples = app.release.metrics().get(series, cohort);
    let Some(latest) = samples.and_then(|s| s.latest()) else {
        return styled("—", theme[Slot::Muted]);
    };
    let cadence = samples
        .and_then(|s| s.samples().rev().nth(1).copied())
        .map(|before| latest.at.duration_since(before.at))
        .unwrap_or_default();
    let stale = app
        .now
        .is_some_and(|now| !cadence.is_zero() && now.duration_since(latest.at) > cadence * 3);
    if stale {
        let idle = format!("{} (idle)", series.format(latest.value));
        return styled(idle, theme[Slot::Muted]);
    }
    let v = latest.value;
    let style = match cohort {
        Cohort::Canary if line.breached(v) => theme[Slot::Alert],
        Cohort::Canary => theme[Slot::Canary],
        _ => theme[Slot::Stable],
    };
    styled(series.format(v), style)
}

/// `rollback > 10% for 5m`; on a narrow pane only the threshold and hold.
fn rule_text(rule: &Rule, room: usize) -> String {
    let verb = if rule.action == RuleAction::Rollback {
        "rollback"
    } else {
        "alert"
    };
    let cond = rule.condition.to_string();
    let threshold_text = cond.split_once(' ').map(|(_, rest)| rest).unwrap_or(&cond);
    let hold = crate::model::units::format_duration(rule.hold).replace(' ', "");
    let full = format!("  {verb} {threshold_text} for {hold}");
    if full.chars().count() <= room {
        full
    } else {
        format!(" {threshold_text}/{hold}")
    }
}

/// The canary's and the stable version's sparklines side by side, on one
/// scale so they can be compared by eye.
fn sparks(app: &App, frame: &mut Frame, series: Series, line: &Threshold, bars: Rect) {
    let theme = &app.theme;
    let [left, _, right] = Layout::horizontal([
        Constraint::Percentage(50),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(bars);
    // After the release ends nothing more comes: no gap grows at the end.
    let now = app.now.filter(|_| !app.release.status().is_final());
    let recent = |cohort: Cohort, width: u16| -> Vec<f64> {
        app.release
            .metrics()
            .get(series, cohort)
            .map(|s| columns(s.samples(), now, width as usize))
            .unwrap_or_default()
    };
    let canary = recent(Cohort::Canary, left.width);
    let stable = recent(Cohort::Stable, right.width);
    let top = scale([canary.as_slice(), stable.as_slice()], line.value);
    for (values, rect, style) in [
        (&canary, left, theme[Slot::Canary]),
        (&stable, right, theme[Slot::Stable]),
    ] {
        let spark = Spark {
            values,
            threshold: line.value,
            breach_above: line.breach_above,
            style,
            breach_style: theme[Slot::Alert],
            threshold_style: theme[Slot::Threshold],
            top,
        };
        frame.render_widget(spark, rect);
    }
}
