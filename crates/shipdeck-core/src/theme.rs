//! Theme files: named styles, as YAML a user can copy and edit.
//!
//! A theme names only the styles it changes; the rest come from the default
//! theme. This module knows the file's shape, its slots and its colours, and
//! checks it into typed styles; turning those into terminal styles is the
//! console's business.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Deserialize;
use serde_saphyr::Spanned;
use strum::{EnumCount, EnumIter, EnumString, IntoEnumIterator, IntoStaticStr};

use crate::problem::{Checker, Problem};

type S<T> = Spanned<T>;

/// The themes built into shipdeck: the files in `themes/`, through the
/// crate's `themes` link to that folder, so that the published crate
/// carries them.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.yaml")),
    ("light", include_str!("../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.yaml"),
    ),
    ("production", include_str!("../themes/production.yaml")),
];

/// Style slots a theme may set, each for one kind of thing on screen. The
/// name is the theme file's (`border_focused`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumCount,
    EnumIter,
    EnumString,
    IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum Slot {
    Base,
    Header,
    Border,
    BorderFocused,
    Title,
    Muted,
    Selected,
    KeyHint,
    StagePending,
    StageRunning,
    StageWaiting,
    StageSucceeded,
    StageFailed,
    StageSkipped,
    Canary,
    Stable,
    /// A rollback rule's threshold line (and the rule as written).
    Threshold,
    /// An alert rule's threshold line: it alerts, it does not roll back.
    AlertThreshold,
    Alert,
    LogTrace,
    LogDebug,
    LogInfo,
    LogWarn,
    LogError,
    Accepted,
    Refused,
    Danger,
    Replay,
}

impl Slot {
    /// The slot's name in a theme file.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The terminal's sixteen colours and its own (`reset`), by the names a
/// theme gives them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, EnumString, IntoStaticStr,
)]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum ColourName {
    Reset,
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    LightRed,
    LightGreen,
    LightYellow,
    LightBlue,
    LightMagenta,
    LightCyan,
    White,
}

/// A colour as a theme gives it: a name, `#rrggbb`, or an index 0–255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Named(ColourName),
    Rgb(u8, u8, u8),
    Indexed(u8),
}

impl FromStr for Colour {
    type Err = String;

    fn from_str(text: &str) -> Result<Colour, String> {
        let t = text.trim();
        if let Ok(name) = t.parse() {
            return Ok(Colour::Named(name));
        }
        if let Some(hex) = t.strip_prefix('#') {
            if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex");
                return Ok(Colour::Rgb(channel(0), channel(2), channel(4)));
            }
            return Err(format!(
                "`{t}` is not a colour: write #rrggbb with six hex digits"
            ));
        }
        if let Ok(index) = t.parse::<u8>() {
            return Ok(Colour::Indexed(index));
        }
        let names: Vec<&str> = ColourName::iter().map(<&str>::from).collect();
        Err(format!(
            "`{t}` is not a colour: use #rrggbb, 0-255, or a name ({})",
            names.join(", ")
        ))
    }
}

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

/// One style, checked: its colours read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StyleSpec {
    pub fg: Option<Colour>,
    pub bg: Option<Colour>,
    pub bold: bool,
    pub italic: bool,
    pub dim: bool,
    pub underlined: bool,
    pub reversed: bool,
}

/// A theme file, checked: the styles it sets, by slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub name: String,
    pub description: Option<String>,
    pub styles: BTreeMap<Slot, StyleSpec>,
}

/// Parses and checks a theme file's text.
pub fn parse(text: &str) -> Result<Checked, Vec<Problem>> {
    let theme: ThemeFile = crate::problem::read(text).map_err(|unread| {
        unread.checked(|theme, c| {
            check(theme, c);
        })
    })?;
    let mut c = Checker::default();
    let checked = check(theme, &mut c);
    c.finish(checked)
}

/// Checks a theme file as written: each style names a slot, each colour is
/// one.
fn check(theme: ThemeFile, c: &mut Checker) -> Checked {
    let mut styles = BTreeMap::new();
    for (name, style) in &theme.styles {
        let slot = name.parse::<Slot>();
        if slot.is_err() {
            let slots: Vec<&str> = Slot::iter().map(Slot::name).collect();
            c.problem(
                &style.referenced,
                format!("`{name}` is not a style (styles: {})", slots.join(", ")),
            );
        }
        let mut colour = |written: &Option<S<String>>| {
            let written = written.as_ref()?;
            written
                .value
                .parse::<Colour>()
                .map_err(|message| c.problem(&written.referenced, message))
                .ok()
        };
        let file = &style.value;
        let spec = StyleSpec {
            fg: colour(&file.fg),
            bg: colour(&file.bg),
            bold: file.bold,
            italic: file.italic,
            dim: file.dim,
            underlined: file.underlined,
            reversed: file.reversed,
        };
        if let Ok(slot) = slot {
            styles.insert(slot, spec);
        }
    }
    Checked {
        name: theme.name,
        description: theme.description,
        styles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_names_hex_or_indexes() {
        let colour = |text: &str| text.parse::<Colour>();
        assert_eq!(colour("red"), Ok(Colour::Named(ColourName::Red)));
        assert_eq!(
            colour("Light_Blue"),
            Ok(Colour::Named(ColourName::LightBlue))
        );
        assert_eq!(colour("#1a1B26"), Ok(Colour::Rgb(0x1a, 0x1b, 0x26)));
        assert_eq!(colour(" 236 "), Ok(Colour::Indexed(236)));
        for bad in ["#12345", "256", "purple"] {
            assert!(colour(bad).is_err(), "{bad}");
        }
        assert_eq!(
            colour("#12345").unwrap_err(),
            "`#12345` is not a colour: write #rrggbb with six hex digits"
        );
        assert_eq!(
            colour("purple").unwrap_err(),
            "`purple` is not a colour: use #rrggbb, 0-255, or a name (reset, black, red, green, yellow, blue, magenta, cyan, gray, dark_gray, light_red, light_green, light_yellow, light_blue, light_magenta, light_cyan, white)"
        );
    }

    #[test]
    fn every_bundled_theme_checks_and_the_default_sets_every_slot() {
        for (name, text) in BUNDLED {
            let theme = parse(text).unwrap_or_else(|p| panic!("{name}: {p:?}"));
            assert_eq!(&theme.name, name);
        }
        let default = parse(BUNDLED[0].1).unwrap();
        assert_eq!(default.styles.len(), Slot::COUNT);
        assert_eq!(Slot::BorderFocused.name(), "border_focused");
        assert_eq!("log_warn".parse(), Ok(Slot::LogWarn));
    }

    #[test]
    fn a_theme_with_an_unknown_style_or_colour_is_pointed_at() {
        let problems =
            parse("name: x\nstyles:\n  header: { fg: '#zzzzzz' }\n  hedaer: { fg: red }\n")
                .unwrap_err();
        assert_eq!(problems.len(), 2);
        assert_eq!((problems[0].line, problems[0].column), (3, 17));
        assert!(problems[1].message.starts_with("`hedaer` is not a style"));
        assert!(
            problems[1]
                .message
                .ends_with("(styles: base, header, border, border_focused, title, muted, selected, key_hint, stage_pending, stage_running, stage_waiting, stage_succeeded, stage_failed, stage_skipped, canary, stable, threshold, alert_threshold, alert, log_trace, log_debug, log_info, log_warn, log_error, accepted, refused, danger, replay)"),
            "{problems:?}"
        );
    }
}
