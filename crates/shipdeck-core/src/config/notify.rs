//! What tells people that something waits: `serve`'s webhooks and the
//! console's desktop notification escape.

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::problem::Checker;

/// The most webhooks one server posts to.
pub const MAX_WEBHOOKS: usize = 16;

/// `webhooks:` one entry, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    /// Where to post: https:// (http:// only to this machine).
    pub url: String,
    #[serde(default)]
    pub format: HookFormat,
    /// A file holding the shared secret each delivery is signed with,
    /// readable by its owner alone.
    pub secret_file: String,
}

/// The body a webhook is sent.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum HookFormat {
    /// shipdeck's own JSON (docs/webhooks.md).
    #[default]
    Json,
    /// A Slack incoming webhook's `{text, blocks}`.
    Slack,
}

/// The console's desktop notification, sent with the bell.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Notify {
    /// None (the default).
    #[default]
    Off,
    /// `ESC ] 9 ; text BEL` (iTerm2, Windows Terminal, WezTerm, kitty…).
    Osc9,
    /// `ESC ] 777 ; notify ; title ; body BEL` (rxvt, foot, VTE).
    Osc777,
}

/// Checks an address a webhook posts to: an http(s) URL with a host and no
/// user or password; https:// unless it is this machine, since the body
/// says what waits on whom. A query is allowed (some receivers take their
/// key there); it is never shown.
pub fn webhook_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text.trim())
        .map_err(|err| format!("the address is not a URL ({err}); give https://HOST/PATH"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the address has a user or password in it, which would be shown and journaled; put the receiver's key in its path or query".into());
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("the address is not an https:// address".into());
    }
    if url.scheme() == "http" && !super::loopback(&url) {
        return Err("http:// would send what waits on whom unencrypted; use https:// (http:// is for 127.0.0.1 and localhost only)".into());
    }
    Ok(url)
}

/// A webhook's address as shipdeck shows and journals it: no query, and a
/// long opaque part of the path (a Slack URL's key) as `…`.
pub fn shown_url(url: &url::Url) -> String {
    let mut shown = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        shown.push_str(host);
    }
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    let segments: Vec<&str> = url.path().split('/').collect();
    let path: Vec<&str> = segments
        .iter()
        .map(|s| if opaque(s) { "…" } else { s })
        .collect();
    shown.push_str(&path.join("/"));
    if url.query().is_some() {
        shown.push_str("?…");
    }
    crate::model::text::clean(&shown).into_owned()
}

/// A path segment that looks like a key: long, and letters and digits.
fn opaque(segment: &str) -> bool {
    segment.len() >= 16
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks `webhooks:`; problems are reported where each entry is.
pub fn check_webhooks(hooks: &[Spanned<WebhookFile>], c: &mut Checker) {
    // Only a list longer than the limit has an entry past it.
    if let Some(first) = hooks.get(MAX_WEBHOOKS) {
        c.problem(
            &first.referenced,
            format!("at most {MAX_WEBHOOKS} webhooks; this one and those after it are too many"),
        );
    }
    for hook in hooks {
        let at = &hook.referenced;
        if let Err(why) = webhook_url(&hook.value.url) {
            c.problem(at, format!("webhook url: {why}"));
        }
        if hook.value.secret_file.trim().is_empty() {
            c.problem(
                at,
                "webhook secret_file: empty; name a file holding the shared secret (chmod 600)",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_address_is_https_off_this_machine_and_shown_without_its_keys() {
        assert!(webhook_url("https://hooks.example/x").is_ok());
        assert!(webhook_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(webhook_url("http://localhost/hook").is_ok());
        let refused = webhook_url("http://hooks.example/x").unwrap_err();
        assert!(refused.contains("use https://"), "{refused}");
        let refused = webhook_url("https://me:pw@hooks.example/x").unwrap_err();
        assert!(refused.contains("user or password"), "{refused}");
        assert!(webhook_url("ftp://hooks.example/x").is_err());
        let slack = url::Url::parse(
            "https://hooks.slack.example/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX?code=1",
        )
        .unwrap();
        assert_eq!(
            shown_url(&slack),
            "https://hooks.slack.example/services/T000/B000/…?…"
        );
    }

    #[test]
    fn a_config_names_its_webhooks_and_the_console_notification() {
        let checked = crate::config::parse(
            "notify: osc777\nwebhooks:\n  - { url: 'https://h.example/a', format: slack, secret_file: s }\n  - { url: 'http://10.0.0.1/b', secret_file: '' }\n",
        );
        let problems = checked.unwrap_err();
        let text: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].contains("webhook url: http://"), "{text:?}");
        assert!(text[1].contains("secret_file: empty"), "{text:?}");
        let ok = crate::config::parse(
            "notify: osc9\nwebhooks:\n  - { url: 'https://h.example/a', secret_file: s }\n",
        )
        .unwrap();
        assert_eq!(ok.file.notify.map(|n| n.value), Some(Notify::Osc9));
        assert_eq!(ok.file.webhooks[0].value.format, HookFormat::Json);
        assert!(crate::config::parse("notify: osc8\n").is_err());
    }
}
