//! Metrics: error rate, p95 latency and throughput, the new version beside
//! the stable one, each with its rules' thresholds, and where every rule
//! stands.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::spark::{Mark, Spark, columns, scale};
use super::{clock, fit, pane_block, rules, styled};
use crate::model::{Cohort, Comparison, Rule, RuleAction, Series};
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
    // A metrics source in trouble comes first: what the rules judge is
    // missing.
    let trouble = release
        .metrics_source()
        .filter(|said| said.level >= crate::model::Level::Warn && !release.status().is_final())
        .map(|said| {
            let text = format!(
                "⚠ since {} {}",
                clock(said.at),
                said.message.trim_start_matches("metrics: ")
            );
            Line::from(styled(fit(&text, inner.width as usize), theme[Slot::Alert]))
        });
    let width = inner.width as usize;
    let wanted = usize::from(trouble.is_some()) + rules::lines(app, width, usize::MAX).len();
    let rule_rows = (wanted as u16).min((inner.height / 3).max(1));
    let [charts, rule_area] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(rule_rows)]).areas(inner);
    // Each series needs a title row and at least one row of bars.
    let fits = (charts.height / 2).clamp(1, SHOWN.len() as u16) as usize;
    let rows = Layout::vertical(vec![Constraint::Ratio(1, fits as u32); fits]).split(charts);
    for (series, row) in SHOWN.iter().zip(rows.iter()) {
        render_series(app, frame, *series, *row);
    }
    let room = (rule_rows as usize).saturating_sub(usize::from(trouble.is_some()));
    let lines: Vec<Line> = trouble
        .into_iter()
        .chain(rules::lines(app, width, room))
        .collect();
    frame.render_widget(Paragraph::new(lines), rule_area);
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
        sparks(app, frame, series, &line, &marks(app, series, rule), bars);
    }
}

/// The lines of a series' other rules, each in its kind's style: an alert
/// rule's dotted, a rollback rule's dashed as the main one is.
fn marks(app: &App, series: Series, drawn: Option<&Rule>) -> Vec<Mark> {
    let Some(plan) = app.release.plan() else {
        return Vec::new();
    };
    plan.rules
        .iter()
        .filter(|r| r.condition.series == series && Some(*r) != drawn)
        .map(|r| match r.action {
            RuleAction::Alert => Mark {
                value: r.condition.threshold,
                glyph: '·',
                style: app.theme[Slot::AlertThreshold],
            },
            RuleAction::Rollback => Mark {
                value: r.condition.threshold,
                glyph: '┄',
                style: app.theme[Slot::Threshold],
            },
        })
        .collect()
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
/// as idle when the cohort stopped receiving traffic (the canary once a
/// rollback has started; otherwise three missed samples make a value
/// stale), a dash when there is none.
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
    let rolled_back = cohort == Cohort::Canary && app.release.rollback().is_some();
    let stale = rolled_back
        || app.now.is_some_and(|now| {
            !cadence.is_zero() && now.duration_since(latest.at) > cadence.saturating_mul(3)
        });
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

/// `rollback > 10% for 5m`; on a narrow pane only the threshold and hold,
/// and nothing where even that does not fit.
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
    let short = format!(" {threshold_text}/{hold}");
    [full, short]
        .into_iter()
        .find(|text| text.chars().count() <= room)
        .unwrap_or_default()
}

/// The canary's and the stable version's sparklines side by side, on one
/// scale so they can be compared by eye.
fn sparks(
    app: &App,
    frame: &mut Frame,
    series: Series,
    line: &Threshold,
    marks: &[Mark],
    bars: Rect,
) {
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
    let highest = marks
        .iter()
        .map(|m| m.value)
        .chain(line.value)
        .reduce(f64::max);
    let top = scale([canary.as_slice(), stable.as_slice()], highest);
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
            marks,
            top,
        };
        frame.render_widget(spark, rect);
    }
}
