//! A notice's bytes: shipdeck's JSON, or a Slack incoming webhook's
//! `{text, blocks}`.

use serde_json::json;

use super::notice::{Kind, Notice};
use crate::config::HookFormat;

/// The body for `format`.
pub fn render(notice: &Notice, format: HookFormat) -> Vec<u8> {
    let json = match format {
        HookFormat::Json => serde_json::to_string(notice).unwrap_or_default(),
        HookFormat::Slack => slack(notice).to_string(),
    };
    // What a terminal would act on is written as an escape (a receiver
    // that logs the body to a terminal).
    crate::model::text::json_safe(&json)
        .into_owned()
        .into_bytes()
}

/// Slack's three characters with a meaning in its text (a `<!channel>`
/// mention, a `<URL|link>`) written as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for inside a code span: escaped, and no backtick to end it.
fn code(text: &str) -> String {
    escape(&text.replace('`', "'"))
}

/// A time as Slack shows it in each reader's own zone, with the UTC time
/// for clients that cannot.
fn when(at: jiff::Timestamp) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        at.as_second(),
        at.strftime("%Y-%m-%d %H:%M UTC")
    )
}

/// The Slack body: the sentence as `text` (notifications show it), then
/// blocks with who may act, the deadline and the command.
pub fn slack(notice: &Notice) -> serde_json::Value {
    let headline = match notice.kind {
        Kind::Waiting => ":hourglass_flowing_sand: waiting",
        Kind::Done => ":white_check_mark: done",
        Kind::RolledBack => ":rewind: rolled back by a rule",
        Kind::Finished => ":checkered_flag: finished",
    };
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("*{headline}* · {}", escape(&notice.text)) },
    })];
    let mut fields = Vec::new();
    if notice.kind == Kind::Waiting {
        let who = notice
            .who_may
            .as_deref()
            .unwrap_or("anyone who may act on the server");
        fields.push(json!({ "type": "mrkdwn", "text": format!("*Who may act*\n{}", escape(who)) }));
        let due = match &notice.deadline {
            Some(d) => format!("{} ({})", when(d.at), escape(&d.what)),
            None => "none".to_string(),
        };
        fields.push(json!({ "type": "mrkdwn", "text": format!("*Deadline*\n{due}") }));
    }
    if let Some(by) = &notice.by {
        fields.push(json!({ "type": "mrkdwn", "text": format!("*By*\n{}", escape(by)) }));
    }
    if !fields.is_empty() {
        blocks.push(json!({ "type": "section", "fields": fields }));
    }
    if let Some(act) = &notice.act {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("To act: `{}`", code(act)) },
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": format!(
            "release {} · {} · delivery {}",
            code(&notice.release),
            when(notice.at),
            code(&notice.delivery)
        ) }],
    }));
    json!({ "text": escape(&notice.text), "blocks": blocks })
}
