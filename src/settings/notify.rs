//! The settings that tell people something waits: `serve`'s webhooks and
//! the console's desktop notification.

use std::path::PathBuf;

use super::{Layers, Rows, Setting, Settings, SettingsError, default, expand_home};
use crate::config::{self, ConfigFile, HookFormat, Notify};

/// One webhook `serve` posts to. The secret stays in its file until
/// `serve` reads it; only the file's path is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: reqwest::Url,
    /// The address as shown and journaled (no query, no key in its path).
    pub shown: String,
    pub format: HookFormat,
    pub secret_file: PathBuf,
}

/// The config's webhooks (checked when the file was read).
pub(super) fn webhooks(file: &ConfigFile, layers: &Layers<'_>) -> Vec<Setting<WebhookSettings>> {
    file.webhooks
        .iter()
        .filter_map(|hook| {
            let url = config::notify::webhook_url(&hook.value.url).ok()?;
            layers.file(Some(WebhookSettings {
                shown: config::notify::shown_url(&url),
                url,
                format: hook.value.format,
                secret_file: expand_home(&hook.value.secret_file),
            }))
        })
        .collect()
}

/// `$SHIPDECK_NOTIFY`, else the config's `notify:`, else off.
pub(super) fn notify(
    file: &ConfigFile,
    layers: &Layers<'_>,
) -> Result<Setting<Notify>, SettingsError> {
    Ok(layers
        .env_parsed("SHIPDECK_NOTIFY", |_| true, "osc9, osc777 or off")?
        .or_else(|| layers.file(file.notify.as_ref().map(|n| n.value)))
        .unwrap_or_else(|| default(Notify::Off)))
}

impl Settings {
    /// The console's notification and the webhooks, for `shipdeck config`.
    pub(super) fn describe_notify(&self, rows: &mut Rows) {
        let notify = match self.notify.value {
            Notify::Off => "off".to_string(),
            escape => format!("{escape} (a desktop notification with the bell)"),
        };
        rows.add("notify", notify, &self.notify.source);
        if self.webhooks.is_empty() {
            rows.add("webhooks", "none".into(), &super::Source::Default);
        }
        for (n, hook) in self.webhooks.iter().enumerate() {
            let value = &hook.value;
            rows.add(
                &format!("webhooks[{n}]"),
                format!(
                    "{} ({}, signed with the secret in {})",
                    value.shown,
                    value.format,
                    value.secret_file.display()
                ),
                &hook.source,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Flags, Source, resolve};
    use super::*;

    #[test]
    fn notify_is_off_unless_set_and_a_webhook_is_shown_without_its_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        let none = |_: &str| None;
        let s = resolve(&Flags::default(), &|v| match v {
            "HOME" => Some("/nonexistent".into()),
            _ => none(v),
        })
        .unwrap();
        assert_eq!(s.notify.value, Notify::Off);
        assert!(s.webhooks.is_empty());
        std::fs::write(
            &path,
            "notify: osc9\nwebhooks:\n  - url: https://hooks.slack.example/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX\n    format: slack\n    secret_file: /run/hook-secret\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(path.clone()),
            ..Flags::default()
        };
        let s = resolve(&flags, &none).unwrap();
        assert_eq!(s.notify.value, Notify::Osc9);
        assert_eq!(s.notify.source, Source::File(path.clone()));
        let described = s.describe();
        assert!(
            described.contains(
                "https://hooks.slack.example/services/T000/B000/… (slack, signed with the secret in /run/hook-secret)"
            ),
            "{described}"
        );
        assert!(!described.contains("XXXXXXXX"), "{described}");
        let s = resolve(&flags, &|v| {
            (v == "SHIPDECK_NOTIFY").then(|| "osc777".into())
        })
        .unwrap();
        assert_eq!(s.notify.value, Notify::Osc777);
        let err = resolve(&flags, &|v| (v == "SHIPDECK_NOTIFY").then(|| "loud".into()));
        assert_eq!(
            err.unwrap_err().to_string(),
            "$SHIPDECK_NOTIFY=\"loud\" is not osc9, osc777 or off"
        );
    }
}
