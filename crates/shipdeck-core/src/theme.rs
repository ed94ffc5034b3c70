//! Theme files: named styles, as YAML a user can copy and edit.
//!
//! A theme names only the styles it changes; the rest come from the default
//! theme. This module knows the file's shape and checks it; turning a theme
//! into terminal styles is the console's business.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::problem::{Checker, Problem};

type S<T> = Spanned<T>;

/// The themes built into shipdeck (the files in `themes/`).
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../../../themes/default.yaml")),
    ("light", include_str!("../../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.yaml"),
    ),
    (
        "production",
        include_str!("../../../themes/production.yaml"),
    ),
];

/// Style slots a theme may set, each for one kind of thing on screen.
pub const SLOTS: &[&str] = &[
    "base",
    "header",
    "border",
    "border_focused",
    "title",
    "muted",
    "selected",
    "key_hint",
    "stage_pending",
    "stage_running",
    "stage_waiting",
    "stage_succeeded",
    "stage_failed",
    "stage_skipped",
    "canary",
    "stable",
    "threshold",
    "alert",
    "log_trace",
    "log_debug",
    "log_info",
    "log_warn",
    "log_error",
    "accepted",
    "refused",
    "danger",
    "replay",
];

/// Colour names a theme may use, besides `#rrggbb` and 0–255.
pub const COLOUR_NAMES: &[&str] = &[
    "reset",
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "dark_gray",
    "light_red",
    "light_green",
    "light_yellow",
    "light_blue",
    "light_magenta",
    "light_cyan",
    "white",
];

/// One style as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleFile {
    #[serde(default)]
    pub fg: Option<S<String>>,
    #[serde(default)]
    pub bg: Option<S<String>>,
    #[serde(default)]
    pub bold: bool,
    #[serde(default)]
    pub italic: bool,
    #[serde(default)]
    pub dim: bool,
    #[serde(default)]
    pub underlined: bool,
    #[serde(default)]
    pub reversed: bool,
}

/// A theme file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub styles: BTreeMap<String, S<StyleFile>>,
}

/// Checks a colour: a name, `#rrggbb`, or an index 0–255.
pub fn check_colour(text: &str) -> Result<(), String> {
    let t = text.trim();
    if COLOUR_NAMES.contains(&t.to_ascii_lowercase().as_str()) {
        return Ok(());
    }
    if let Some(hex) = t.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(());
        }
        return Err(format!(
            "`{t}` is not a colour: write #rrggbb with six hex digits"
        ));
    }
    if t.parse::<u8>().is_ok() {
        return Ok(());
    }
    Err(format!(
        "`{t}` is not a colour: use #rrggbb, 0-255, or a name ({})",
        COLOUR_NAMES.join(", ")
    ))
}

/// Parses and checks a theme file's text.
pub fn parse(text: &str) -> Result<ThemeFile, Vec<Problem>> {
    let theme: ThemeFile =
        serde_saphyr::from_str(text).map_err(|e| vec![Problem::from_yaml(&e)])?;
    let mut c = Checker::default();
    for (slot, style) in &theme.styles {
        if !SLOTS.contains(&slot.as_str()) {
            c.problem(
                &style.referenced,
                format!("`{slot}` is not a style (styles: {})", SLOTS.join(", ")),
            );
        }
        for colour in [&style.value.fg, &style.value.bg].into_iter().flatten() {
            if let Err(message) = check_colour(&colour.value) {
                c.problem(&colour.referenced, message);
            }
        }
    }
    c.finish(theme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_names_hex_or_indexes() {
        for ok in ["red", "Light_Blue", "#1a1b26", "236"] {
            assert!(check_colour(ok).is_ok(), "{ok}");
        }
        for bad in ["#12345", "256", "purple"] {
            assert!(check_colour(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_theme_with_an_unknown_style_or_colour_is_pointed_at() {
        let problems =
            parse("name: x\nstyles:\n  header: { fg: '#zzzzzz' }\n  hedaer: { fg: red }\n")
                .unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!((problems[0].line, problems[0].column), (3, 17));
        assert!(problems[1].message.starts_with("`hedaer` is not a style"));
    }
}
