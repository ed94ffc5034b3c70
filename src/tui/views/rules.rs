//! Where each rule stands, under the metrics: quiet, breaching (its hold
//! time running down to what firing will do) or fired, as the release's
//! events tell it; the countdown runs on the release's clock.

use jiff::{SignedDuration, Timestamp};
use ratatui::style::Style;
use ratatui::text::Line;

use super::{clock, fit, span_between, styled};
use crate::model::{Release, Rule, RuleAction, Standing};
use crate::theme::Slot;
use crate::tui::app::App;

/// A rule's place under the metrics: its name, where it stands in words
/// (and in fewer words for a narrow pane), and how loudly.
struct Entry {
    /// Which comes first: a rollback counting down, then fired, then other
    /// breaches, then the acknowledged, then the quiet.
    rank: (u8, Timestamp),
    head: String,
    state: String,
    short: Option<String>,
    /// Whether its state may take a row of its own when it does not fit.
    fold: bool,
    style: Style,
}

/// What a rule does when it fires now: a rollback rule rolls back only while
/// the new version has traffic to take away.
fn verb(release: &Release, rule: &Rule) -> &'static str {
    if rule.action == RuleAction::Rollback && release.rules_roll_back() {
        "rolls back"
    } else {
        "alerts"
    }
}

/// `rolls back in 1m 40s`; once due, it acts on the next sample that still
/// breaches.
fn countdown(verb: &str, now: Timestamp, due: Timestamp) -> String {
    if now >= due {
        format!("{verb} with the next sample")
    } else {
        format!("{verb} in {}", span_between(now, due))
    }
}

fn entry(app: &App, rule: &Rule) -> Option<Entry> {
    let theme = &app.theme;
    let release = &app.release;
    match release.standing(rule) {
        Standing::Quiet => None,
        Standing::Breaching { since, due } => {
            let verb = verb(release, rule);
            let style = match rule.action {
                RuleAction::Rollback => theme[Slot::Threshold],
                RuleAction::Alert => theme[Slot::AlertThreshold],
            };
            let state = format!("breaching since {}", since.strftime("%H:%M"));
            // Nothing is watched once the release is over, or without a clock.
            let running = app.now.filter(|_| release.status().in_flight());
            let (state, short) = match running {
                Some(now) => {
                    let left = countdown(verb, now, due);
                    (format!("{state} — {left}"), Some(left))
                }
                None => (state, None),
            };
            let first = if verb == "rolls back" && running.is_some() {
                0
            } else {
                2
            };
            Some(Entry {
                rank: (first, due),
                head: format!("▲ {}", rule.name),
                state,
                short,
                fold: true,
                style: style.add_modifier(ratatui::style::Modifier::BOLD),
            })
        }
        Standing::Fired(alert) => {
            let acknowledged = alert
                .acknowledged_by
                .as_ref()
                .map(|by| format!(", acknowledged by {by}"))
                .unwrap_or_default();
            Some(Entry {
                rank: (if acknowledged.is_empty() { 1 } else { 3 }, alert.since),
                head: format!("⚠ {}", rule.name),
                state: format!(
                    "fired at {}{acknowledged}: {}",
                    clock(alert.since),
                    alert.message
                ),
                short: None,
                fold: false,
                style: theme[Slot::Alert],
            })
        }
    }
}

/// Every rule of the plan that is not quiet, most pressing first, then one
/// entry naming the quiet ones.
fn entries(app: &App) -> Vec<Entry> {
    let Some(plan) = app.release.plan() else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = plan.rules.iter().filter_map(|r| entry(app, r)).collect();
    entries.sort_by_key(|e| e.rank);
    let quiet: Vec<&str> = plan
        .rules
        .iter()
        .filter(|r| app.release.standing(r) == Standing::Quiet)
        .map(|r| r.name.as_str())
        .collect();
    if !quiet.is_empty() {
        entries.push(Entry {
            rank: (4, Timestamp::UNIX_EPOCH),
            head: "quiet:".into(),
            state: quiet.join(", "),
            // Cut short, the list still says how many.
            short: Some(format!("{} rules — {}", quiet.len(), quiet.join(", "))),
            fold: false,
            style: app.theme[Slot::Muted],
        });
    }
    entries
}

/// The rules' lines for at most `rows` rows of `width` columns: each entry
/// on one row if it fits, else (a breach) its state on a row of its own
/// when a row is left for the next entry, else in fewer words.
pub(super) fn lines(app: &App, width: usize, rows: usize) -> Vec<Line<'static>> {
    let entries = entries(app);
    let mut out = Vec::new();
    for (n, e) in entries.iter().enumerate() {
        let left = rows.saturating_sub(out.len());
        if left == 0 {
            break;
        }
        let after = entries.len() - n - 1;
        let spare = left >= 2 + usize::from(after > 0);
        let one = |state: &str| format!("{} {state}", e.head);
        let fits = |text: &str| text.chars().count() <= width;
        let under = |state: &str| format!("  {state}");
        let fold = e.fold && spare;
        let shorter = e.short.as_deref().unwrap_or(&e.state);
        let words: Vec<String> = if fits(&one(&e.state)) {
            vec![one(&e.state)]
        } else if fold && fits(&under(&e.state)) {
            vec![e.head.clone(), under(&e.state)]
        } else if fits(&one(shorter)) || !fold {
            vec![one(shorter)]
        } else {
            vec![e.head.clone(), under(shorter)]
        };
        out.extend(
            words
                .iter()
                .map(|w| Line::from(styled(fit(w, width), e.style))),
        );
    }
    out.truncate(rows);
    out
}

/// The automatic rollback due soonest, when it is under a minute away: the
/// rule's name and the time left (zero once due).
pub(super) fn imminent_rollback(app: &App) -> Option<(&str, SignedDuration)> {
    let now = app.now?;
    let release = &app.release;
    if !release.rules_roll_back() {
        return None;
    }
    release
        .plan()?
        .rules
        .iter()
        .filter(|r| r.action == RuleAction::Rollback)
        .filter_map(|r| match release.standing(r) {
            Standing::Breaching { due, .. } => Some((r.name.as_str(), due)),
            _ => None,
        })
        .map(|(name, due)| (name, due.duration_since(now).max(SignedDuration::ZERO)))
        .filter(|(_, left)| *left < SignedDuration::from_mins(1))
        .min_by_key(|(_, left)| *left)
}
