//! The inbox: what waits on this operator across releases, the nearest
//! deadline first, then what waits on others, greyed, then the sources that
//! could not be read. Drawn full screen by `shipdeck inbox` and over the
//! console's window by `i`.

use jiff::{SignedDuration, Timestamp};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

use super::styled;
use crate::inbox::Item;
use crate::model::units::format_duration;
use crate::theme::Slot;
use crate::tui::inbox::InboxList;
use crate::tui::keymap::{KeyMap, UiAction};
use crate::tui::theme::Theme;

/// Draws the list in `area`, over whatever is there. `own` is how many
/// things the window under it waits on this operator for, when its release
/// is not one of the inbox's sources.
pub fn render(
    list: &InboxList,
    own: usize,
    theme: &Theme,
    keymap: &KeyMap,
    now: Timestamp,
    frame: &mut Frame,
    area: Rect,
) {
    frame.render_widget(Clear, area);
    let mine = list.inbox.mine();
    let listed = list
        .inbox
        .items()
        .iter()
        .any(|i| Some(&i.place) == list.here.as_ref());
    let own = if listed { 0 } else { own };
    let title = match mine {
        0 if own > 0 => " Inbox — nothing else waits on you ".to_string(),
        0 => " Inbox — nothing waits on you ".to_string(),
        1 => " Inbox — 1 thing waits on you ".to_string(),
        n => format!(" Inbox — {n} things wait on you "),
    };
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme[Slot::BorderFocused])
        .title(Line::from(styled(title, theme[Slot::Title])))
        .style(theme[Slot::Base]);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [body, foot] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let (mut lines, mut at) = lines(list, own > 0, theme, now, body.width as usize);
    if own > 0 {
        let things = match own {
            1 => "1 thing waits".to_string(),
            n => format!("{n} things wait"),
        };
        let text = format!(" This window: {things} on you — Esc goes back to it");
        lines.insert(0, Line::from(styled(text, theme[Slot::StageWaiting])));
        at += 1;
    }
    // The cursor's item stays in view.
    let height = body.height as usize;
    // Its two lines, or its first at the least.
    let scroll = (at + 2).saturating_sub(height).min(at);
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(height).collect();
    frame.render_widget(Paragraph::new(shown), body);
    frame.render_widget(Paragraph::new(footer(list, theme, keymap)), foot);
}

/// Every line of the list, and the line the cursor's item begins on.
fn lines<'a>(
    list: &InboxList,
    own: bool,
    theme: &Theme,
    now: Timestamp,
    width: usize,
) -> (Vec<Line<'a>>, usize) {
    let items = list.inbox.items();
    let mut out: Vec<Line> = Vec::new();
    let mut at = 0;
    let heard = list.inbox.sources().count();
    if items.iter().all(|i| !i.mine) {
        let text = match (heard, own) {
            (0, _) => " looking…",
            (_, true) => " Nothing else waits on you.",
            (_, false) => " Nothing waits on you.",
        };
        out.push(Line::from(styled(text, theme[Slot::Muted])));
    } else {
        out.push(Line::from(styled(" Waiting on you", theme[Slot::Title])));
    }
    let mut others_said = false;
    for (i, item) in items.iter().enumerate() {
        if !item.mine && !others_said {
            out.push(Line::default());
            out.push(Line::from(styled(" Waiting on others", theme[Slot::Muted])));
            others_said = true;
        }
        if i == list.cursor {
            at = out.len();
        }
        out.extend(item_lines(list, item, i == list.cursor, theme, now, width));
    }
    let troubles = list.inbox.troubles();
    if !troubles.is_empty() {
        out.push(Line::default());
        for (source, why) in troubles {
            out.push(Line::from(styled(
                format!(" ⚠ {source}: {why}"),
                theme[Slot::Alert],
            )));
        }
    }
    (out, at)
}

/// An item: the release and what it waits for, then since when, its
/// deadline and who else may act. What waits on others is greyed.
fn item_lines<'a>(
    list: &InboxList,
    item: &Item,
    selected: bool,
    theme: &Theme,
    now: Timestamp,
    width: usize,
) -> Vec<Line<'a>> {
    let marker = if selected { " ▸ " } else { "   " };
    let base = match (selected, item.mine) {
        (true, _) => theme[Slot::Selected],
        (false, true) => theme[Slot::Base],
        (false, false) => theme[Slot::Muted],
    };
    let here = if list.here.as_ref() == Some(&item.place) {
        " (this window)"
    } else {
        ""
    };
    let head = format!(
        "{marker}{}{here} · {} ({})",
        item.release, item.what, item.stage
    );
    let mut facts: Vec<Span> = vec![Span::raw("     ")];
    let muted = theme[Slot::Muted];
    if let Some(since) = item.since {
        facts.push(styled(format!("waited {}", span(since, now)), muted));
    }
    if let Some(deadline) = &item.deadline {
        let (text, style) = if deadline.at > now {
            let left = deadline.at.duration_since(now);
            let style = match left < SignedDuration::from_mins(15) && item.mine {
                true => theme[Slot::Refused],
                false => muted,
            };
            (
                format!("{} in {}", deadline.what, span(now, deadline.at)),
                style,
            )
        } else {
            let what = past(&deadline.what);
            (
                format!("{what} {} ago", span(deadline.at, now)),
                theme[Slot::Refused],
            )
        };
        if facts.len() > 1 {
            facts.push(styled(" · ", muted));
        }
        facts.push(styled(text, style));
    }
    if let Some(others) = &item.others {
        if facts.len() > 1 {
            facts.push(styled(" · ", muted));
        }
        let who = match item.mine {
            true => format!("also {others}"),
            false => format!("{others} may"),
        };
        facts.push(styled(who, muted));
    }
    let mut lines = vec![Line::from(styled(super::fit(&head, width), base))];
    if facts.len() > 1 {
        lines.push(Line::from(facts));
    }
    lines
}

/// `the window closes` → `the window closed`.
fn past(what: &str) -> String {
    for (now, then) in [
        ("closes", "closed"),
        ("ends", "ended"),
        ("expires", "expired"),
    ] {
        if let Some(cut) = what.strip_suffix(now) {
            return format!("{cut}{then}");
        }
    }
    format!("{what}: passed")
}

/// The time from `from` to `to`, in whole seconds: `12m`, `1h 5m`; in
/// days and hours from two days on (`29d 23h`).
fn span(from: Timestamp, to: Timestamp) -> String {
    let secs = to.duration_since(from).max(SignedDuration::ZERO).as_secs();
    const DAY: i64 = 24 * 3600;
    match secs >= 2 * DAY {
        true => format!("{}d {}h", secs / DAY, secs % DAY / 3600),
        false => format_duration(SignedDuration::from_secs(secs)),
    }
}

/// The keys, or the question a second Enter answers.
fn footer<'a>(list: &InboxList, theme: &Theme, keymap: &KeyMap) -> Line<'a> {
    if let Some(place) = &list.leaving {
        let what = list
            .inbox
            .items()
            .into_iter()
            .find(|i| &i.place == place)
            .map(|i| i.release.clone())
            .unwrap_or_default();
        return Line::from(styled(
            format!(
                " Leaving ends this window's release. Enter again opens {what}; any other key stays."
            ),
            theme[Slot::Refused],
        ));
    }
    let key = |action| Span::styled(keymap.hint(action), theme[Slot::KeyHint]);
    let text = |words: &'static str| Span::styled(words, theme[Slot::Muted]);
    Line::from(vec![
        Span::raw(" "),
        key(UiAction::Up),
        text("/"),
        key(UiAction::Down),
        text(" move · "),
        Span::styled("Enter", theme[Slot::KeyHint]),
        text(" open · "),
        Span::styled("Esc", theme[Slot::KeyHint]),
        text(" back · "),
        key(UiAction::Quit),
        text(" quit"),
    ])
}
