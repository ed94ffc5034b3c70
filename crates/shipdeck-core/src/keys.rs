//! The console's actions and the keys they are bound to: each action's
//! config name, description and default keys are declared once, here, and
//! the key grammar the config speaks (`a`, `R`, `ctrl+s`, `space`, `f5`) is
//! parsed once, here, into a [`Key`] compared by value.
//!
//! `config::parse` checks rebindings against these defaults; the console
//! turns a [`Key`] into its terminal's key codes.

use std::fmt;
use std::str::FromStr;

use strum::{EnumIter, EnumString, IntoEnumIterator, IntoStaticStr, VariantArray};

use crate::model::Words;

/// What a key can ask the console to do. Its name is the action's name in
/// the config's `keys:` map (`sign_off`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum UiAction {
    Help,
    Quit,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Advance,
    Promote,
    Pause,
    SignOff,
    Reject,
    Rollback,
    Retry,
    Acknowledge,
    Undo,
    Tick,
    Filter,
    Follow,
    Level,
    NextMoment,
    PrevMoment,
    ReadLine,
    Inbox,
}

impl UiAction {
    /// What the action does (for the help screen) and the keys it has until
    /// a config rebinds it, as a config would write them.
    fn declared(self) -> (&'static str, &'static [&'static str]) {
        match self {
            UiAction::Help => ("show or hide this help", &["?"]),
            UiAction::Quit => ("quit", &["q"]),
            UiAction::NextPane => ("next pane", &["tab"]),
            UiAction::PrevPane => ("previous pane", &["backtab"]),
            UiAction::Up => ("move up / scroll back", &["up", "k"]),
            UiAction::Down => ("move down / scroll forward", &["down", "j"]),
            UiAction::PageUp => ("page up", &["pgup"]),
            UiAction::PageDown => ("page down", &["pgdn"]),
            UiAction::Top => ("top", &["g", "home"]),
            UiAction::Bottom => ("bottom (logs: follow again)", &["G", "end"]),
            UiAction::Advance => ("advance the rollout past its pause", &["a"]),
            UiAction::Promote => ("promote fully (asks y to confirm)", &["F"]),
            UiAction::Pause => ("pause / resume the rollout", &["p"]),
            UiAction::SignOff => ("sign off the selected gate, with a comment", &["s"]),
            UiAction::Reject => ("reject the selected gate, with a reason", &["x"]),
            UiAction::Rollback => ("roll back now, from anywhere", &["R", "ctrl+r"]),
            UiAction::Retry => ("retry the failed stage", &["r"]),
            UiAction::Acknowledge => ("acknowledge the oldest firing alert", &["A"]),
            UiAction::Undo => ("undo to the previous revision (a Rollout; asks y)", &["U"]),
            UiAction::Tick => ("tick / untick the selected checklist item", &["space"]),
            UiAction::Filter => ("filter logs by regex (Esc clears)", &["/"]),
            UiAction::Follow => ("follow logs on / off", &["f"]),
            UiAction::Level => ("cycle the minimum log level", &["l"]),
            UiAction::NextMoment => (
                "replay: the next moment (a command, gate, alert, stage)",
                &["]"],
            ),
            UiAction::PrevMoment => ("replay: the previous moment", &["["]),
            UiAction::ReadLine => (
                "read the newest or marked log line whole, wrapped",
                &["enter"],
            ),
            UiAction::Inbox => ("the inbox: what waits on you in every release", &["i"]),
        }
    }

    /// The action's name in the config's `keys:` map.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The action a config name stands for.
    pub fn from_name(name: &str) -> Option<UiAction> {
        name.parse().ok()
    }

    /// The action's name for people: `sign off`.
    pub fn words(self) -> Words {
        Words(self.name())
    }

    /// Whether the action is a command to the release (it changes what
    /// happens), rather than a way to look at it.
    pub fn changes_the_release(self) -> bool {
        matches!(
            self,
            UiAction::Advance
                | UiAction::Promote
                | UiAction::Pause
                | UiAction::SignOff
                | UiAction::Reject
                | UiAction::Rollback
                | UiAction::Retry
                | UiAction::Acknowledge
                | UiAction::Undo
                | UiAction::Tick
        )
    }

    /// What the action does, for the help screen.
    pub fn describe(self) -> &'static str {
        self.declared().0
    }

    /// The default keys as a config would write them (`up`, `k`).
    pub fn default_specs(self) -> &'static [&'static str] {
        self.declared().1
    }

    /// The keys the action has until a config rebinds it.
    pub fn default_keys(self) -> Vec<Key> {
        self.default_specs()
            .iter()
            .map(|spec| spec.parse().expect("every default key parses"))
            .collect()
    }

    /// Every action's config name, for messages: `help, quit, …`.
    pub fn names() -> String {
        join(UiAction::iter().map(UiAction::name))
    }
}

/// The default key map as a config would write it: each action's name and
/// its keys, in the help screen's order.
pub fn defaults() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    UiAction::iter().map(|action| (action.name(), action.default_specs()))
}

/// The keys that have a name rather than a character.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, EnumString, IntoStaticStr,
)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum NamedKey {
    Enter,
    Esc,
    Tab,
    BackTab,
    Space,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PgUp,
    PgDn,
    Home,
    End,
}

impl NamedKey {
    /// The key as the help screen shows it.
    fn label(self) -> &'static str {
        match self {
            NamedKey::Enter => "Enter",
            NamedKey::Esc => "Esc",
            NamedKey::Tab => "Tab",
            NamedKey::BackTab => "Shift+Tab",
            NamedKey::Space => "Space",
            NamedKey::Backspace => "Backspace",
            NamedKey::Delete => "Delete",
            NamedKey::Insert => "Insert",
            NamedKey::Up => "↑",
            NamedKey::Down => "↓",
            NamedKey::Left => "←",
            NamedKey::Right => "→",
            NamedKey::PgUp => "PgUp",
            NamedKey::PgDn => "PgDn",
            NamedKey::Home => "Home",
            NamedKey::End => "End",
        }
    }
}

/// A key without its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// A character as typed: Shift is in it (`R`, `?`).
    Char(char),
    /// F1 to F12.
    F(u8),
    Named(NamedKey),
}

/// A key with the modifiers held with it, as bound. Two spellings of one
/// key are one value: `Ctrl+S` and `ctrl+s` are equal, `R` and `r` are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub code: Code,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    /// Ctrl+C, which always quits and is never bound.
    pub const CTRL_C: Key = Key {
        code: Code::Char('c'),
        ctrl: true,
        alt: false,
    };
}

/// Which modifiers a spec holds.
#[derive(Default)]
struct Modifiers {
    ctrl: bool,
    alt: bool,
    shift: bool,
}

impl FromStr for Key {
    type Err = String;

    /// Reads a key as written in the config: `a`, `R`, `?`, `ctrl+s`,
    /// `Ctrl+Shift+x`, `space`, `f5`, `pgdn`, `+`, `ctrl++`, `backtab`.
    fn from_str(spec: &str) -> Result<Key, String> {
        let mut parts: Vec<&str> = spec.split('+').collect();
        // `+` itself, or `ctrl++`.
        if spec.ends_with("++") || spec == "+" {
            parts.truncate(parts.len().saturating_sub(2));
            parts.push("+");
        }
        let Some((key, modifiers)) = parts.split_last() else {
            return Err("a key binding is empty".into());
        };
        let mut held = Modifiers::default();
        for m in modifiers {
            match m.to_ascii_lowercase().as_str() {
                "ctrl" => held.ctrl = true,
                "alt" => held.alt = true,
                "shift" => held.shift = true,
                _ => {
                    return Err(format!(
                        "`{m}` in `{spec}` is not a modifier (ctrl, alt, shift)"
                    ));
                }
            }
        }
        let code = code(key).ok_or_else(|| {
            format!(
                "`{spec}` is not a key: use one character, f1-f12, or one of {}",
                join(NamedKey::iter().map(<&str>::from))
            )
        })?;
        let code = match code {
            Code::Named(NamedKey::Tab) if held.shift => Code::Named(NamedKey::BackTab),
            Code::Char(c) if held.shift => Code::Char(c.to_ascii_uppercase()),
            Code::Char(c) if held.ctrl => Code::Char(c.to_ascii_lowercase()),
            other => other,
        };
        Ok(Key {
            code,
            ctrl: held.ctrl,
            alt: held.alt,
        })
    }
}

/// The key a spec names, modifiers aside: one character, a named key, or
/// f1–f12.
fn code(key: &str) -> Option<Code> {
    let mut chars = key.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(match c {
            ' ' => Code::Named(NamedKey::Space),
            c => Code::Char(c),
        });
    }
    if let Ok(named) = key.parse() {
        return Some(Code::Named(named));
    }
    key.to_ascii_lowercase()
        .strip_prefix('f')
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=12).contains(n))
        .map(Code::F)
}

impl fmt::Display for Key {
    /// The key as the help screen and the status bar show it: `Ctrl+r`,
    /// `Space`, `↑`, `F5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        if self.alt {
            f.write_str("Alt+")?;
        }
        match self.code {
            // Ctrl with a letter is the same key in either case: shown as
            // terminals' manuals write it, `Ctrl+R`.
            Code::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            Code::Char(c) => write!(f, "{c}"),
            Code::F(n) => write!(f, "F{n}"),
            Code::Named(named) => f.write_str(named.label()),
        }
    }
}

fn join<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(spec: &str) -> Key {
        spec.parse().unwrap_or_else(|err| panic!("{spec}: {err}"))
    }

    #[test]
    fn keys_read_as_people_write_them() {
        for ok in [
            "a",
            "R",
            "?",
            "ctrl+s",
            "Ctrl+Shift+x",
            "space",
            "f5",
            "pgdn",
            "+",
            "ctrl++",
            "backtab",
            "shift+tab",
            "F12",
            "PgUp",
        ] {
            assert!(ok.parse::<Key>().is_ok(), "{ok}");
        }
        for bad in ["hyper+a", "f13", "f0", "spacebar", "", "ctrl+", "+a"] {
            assert!(bad.parse::<Key>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_is_its_value_not_its_spelling() {
        assert_eq!(key("Ctrl+S"), key("ctrl+s"));
        assert_ne!(key("R"), key("r"));
        assert_eq!(key("shift+r"), key("R"));
        assert_eq!(key("shift+tab"), key("backtab"));
        assert_eq!(key(" "), key("space"));
        assert_eq!(key("ctrl+C"), Key::CTRL_C);
        assert_eq!(key("ctrl++").code, Code::Char('+'));
    }

    #[test]
    fn keys_show_as_the_help_screen_writes_them() {
        let shown = |spec: &str| key(spec).to_string();
        assert_eq!(shown("ctrl+r"), "Ctrl+R");
        assert_eq!(shown("Ctrl+Shift+x"), "Ctrl+X");
        assert_eq!(shown("alt+ctrl+a"), "Ctrl+Alt+A");
        assert_eq!(shown("space"), "Space");
        assert_eq!(shown("backtab"), "Shift+Tab");
        assert_eq!(shown("up"), "↑");
        assert_eq!(shown("pgdn"), "PgDn");
        assert_eq!(shown("f5"), "F5");
    }

    #[test]
    fn a_key_that_is_not_one_says_what_would_be() {
        let said = |spec: &str| spec.parse::<Key>().unwrap_err();
        assert_eq!(
            said("hyper+a"),
            "`hyper` in `hyper+a` is not a modifier (ctrl, alt, shift)"
        );
        assert_eq!(
            said("spacebar"),
            "`spacebar` is not a key: use one character, f1-f12, or one of enter, esc, tab, backtab, space, backspace, delete, insert, up, down, left, right, pgup, pgdn, home, end"
        );
    }

    #[test]
    fn every_action_has_a_name_a_description_and_keys_of_its_own() {
        let mut seen: Vec<Key> = Vec::new();
        for action in UiAction::iter() {
            assert_eq!(UiAction::from_name(action.name()), Some(action));
            assert!(!action.describe().is_empty(), "{action:?}");
            let keys = action.default_keys();
            assert!(!keys.is_empty(), "{action:?} has no default key");
            for key in keys {
                assert!(!seen.contains(&key), "{key} is bound twice");
                assert_ne!(key, Key::CTRL_C);
                seen.push(key);
            }
        }
        assert_eq!(UiAction::VARIANTS.len(), UiAction::iter().count());
        assert!(UiAction::names().starts_with("help, quit, next_pane"));
    }
}
