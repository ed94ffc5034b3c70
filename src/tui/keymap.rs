//! Keys and the actions they are bound to: defaults in code, overridden by
//! action name from the config.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key can ask the console to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    Tick,
    Filter,
    Follow,
    Level,
}

impl UiAction {
    pub const ALL: [UiAction; 21] = [
        UiAction::Help,
        UiAction::Quit,
        UiAction::NextPane,
        UiAction::PrevPane,
        UiAction::Up,
        UiAction::Down,
        UiAction::PageUp,
        UiAction::PageDown,
        UiAction::Top,
        UiAction::Bottom,
        UiAction::Advance,
        UiAction::Promote,
        UiAction::Pause,
        UiAction::SignOff,
        UiAction::Reject,
        UiAction::Rollback,
        UiAction::Retry,
        UiAction::Tick,
        UiAction::Filter,
        UiAction::Follow,
        UiAction::Level,
    ];

    /// The action's name in the config's `keys:` map.
    pub fn name(self) -> &'static str {
        match self {
            UiAction::Help => "help",
            UiAction::Quit => "quit",
            UiAction::NextPane => "next_pane",
            UiAction::PrevPane => "prev_pane",
            UiAction::Up => "up",
            UiAction::Down => "down",
            UiAction::PageUp => "page_up",
            UiAction::PageDown => "page_down",
            UiAction::Top => "top",
            UiAction::Bottom => "bottom",
            UiAction::Advance => "advance",
            UiAction::Promote => "promote",
            UiAction::Pause => "pause",
            UiAction::SignOff => "sign_off",
            UiAction::Reject => "reject",
            UiAction::Rollback => "rollback",
            UiAction::Retry => "retry",
            UiAction::Tick => "tick",
            UiAction::Filter => "filter",
            UiAction::Follow => "follow",
            UiAction::Level => "level",
        }
    }

    /// What the action does, for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            UiAction::Help => "show or hide this help",
            UiAction::Quit => "quit",
            UiAction::NextPane => "next pane",
            UiAction::PrevPane => "previous pane",
            UiAction::Up => "move up / scroll back",
            UiAction::Down => "move down / scroll forward",
            UiAction::PageUp => "page up",
            UiAction::PageDown => "page down",
            UiAction::Top => "top",
            UiAction::Bottom => "bottom (logs: follow again)",
            UiAction::Advance => "advance the rollout past its pause",
            UiAction::Promote => "promote fully (asks y to confirm)",
            UiAction::Pause => "pause / resume the rollout",
            UiAction::SignOff => "sign off the selected gate, with a comment",
            UiAction::Reject => "reject the selected gate, with a reason",
            UiAction::Rollback => "roll back now (then add a reason)",
            UiAction::Retry => "retry the failed stage",
            UiAction::Tick => "tick / untick the selected checklist item",
            UiAction::Filter => "filter logs by regex (Esc clears)",
            UiAction::Follow => "follow logs on / off",
            UiAction::Level => "cycle the minimum log level",
        }
    }

    pub fn from_name(name: &str) -> Option<UiAction> {
        UiAction::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// A key with its modifiers, as bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    /// Reads `a`, `R`, `?`, `ctrl+s`, `space`, `f5`, `pgdn`.
    pub fn parse(spec: &str) -> Result<Key, String> {
        crate::config::check_key(spec)?;
        let mut ctrl = false;
        let mut alt = false;
        let (mods, key) = match spec.len() {
            1 => ("", spec),
            _ if spec.ends_with("++") => (&spec[..spec.len() - 2], "+"),
            _ => spec.rsplit_once('+').unwrap_or(("", spec)),
        };
        let mut shift = false;
        for m in mods.split('+').filter(|m| !m.is_empty()) {
            match m.to_ascii_lowercase().as_str() {
                "ctrl" => ctrl = true,
                "alt" => alt = true,
                _ => shift = true,
            }
        }
        let code = match key.to_ascii_lowercase().as_str() {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" if shift => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" => KeyCode::PageUp,
            "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            f if f.len() > 1 && f.starts_with('f') => KeyCode::F(
                f[1..]
                    .parse()
                    .map_err(|_| format!("`{spec}` is not a key"))?,
            ),
            _ => {
                let c = key
                    .chars()
                    .next()
                    .ok_or_else(|| format!("`{spec}` is not a key"))?;
                KeyCode::Char(if shift {
                    c.to_ascii_uppercase()
                } else if ctrl {
                    c.to_ascii_lowercase()
                } else {
                    c
                })
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    /// Whether a key event from the terminal is this key. Shift is in the
    /// character itself (`R`), so it is not compared for characters.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        if ctrl != self.ctrl || alt != self.alt {
            return false;
        }
        match (self.code, event.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) if self.ctrl => a.eq_ignore_ascii_case(&b),
            (a, b) => a == b,
        }
    }

    /// The key as the help screen and status bar show it.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift+Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Delete => "Delete".into(),
            KeyCode::Insert => "Insert".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.alt) {
            (true, true) => format!("Ctrl+Alt+{base}"),
            (true, false) => format!("Ctrl+{base}"),
            (false, true) => format!("Alt+{base}"),
            _ => base,
        }
    }
}

/// Which keys do what.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    bindings: BTreeMap<UiAction, Vec<Key>>,
}

impl Default for KeyMap {
    /// The design's key map (`config::DEFAULT_KEYS`).
    fn default() -> KeyMap {
        let bindings = crate::config::DEFAULT_KEYS
            .iter()
            .map(|(name, specs)| {
                let action = UiAction::from_name(name).expect("every default names an action");
                let keys = specs
                    .iter()
                    .map(|s| Key::parse(s).expect("every default key parses"))
                    .collect();
                (action, keys)
            })
            .collect();
        KeyMap { bindings }
    }
}

impl KeyMap {
    /// Rebinds actions by name; the others keep their defaults.
    pub fn with_overrides<'a>(
        mut self,
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<KeyMap, String> {
        for (name, spec) in overrides {
            let action =
                UiAction::from_name(name).ok_or_else(|| format!("`{name}` is not an action"))?;
            let key = Key::parse(spec)?;
            // A key moved to this action leaves whatever had it before.
            for keys in self.bindings.values_mut() {
                keys.retain(|k| *k != key);
            }
            self.bindings.insert(action, vec![key]);
        }
        Ok(self)
    }

    /// The action a key event asks for.
    pub fn action(&self, event: &KeyEvent) -> Option<UiAction> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.iter().any(|k| k.matches(event)))
            .map(|(action, _)| *action)
    }

    /// The keys bound to an action, as shown: `↑/k`.
    pub fn label(&self, action: UiAction) -> String {
        self.bindings
            .get(&action)
            .map(|keys| keys.iter().map(Key::label).collect::<Vec<_>>().join("/"))
            .unwrap_or_default()
    }

    /// The first key of an action, as shown (for hints).
    pub fn hint(&self, action: UiAction) -> String {
        self.bindings
            .get(&action)
            .and_then(|keys| keys.first())
            .map(Key::label)
            .unwrap_or_else(|| "(unbound)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn default_keys_follow_the_design() {
        let map = KeyMap::default();
        assert_eq!(
            map.action(&key(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            Some(UiAction::Rollback)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('r'), KeyModifiers::NONE)),
            Some(UiAction::Retry)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char(' '), KeyModifiers::NONE)),
            Some(UiAction::Tick)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('k'), KeyModifiers::NONE)),
            Some(UiAction::Up)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(map.label(UiAction::Up), "↑/k");
    }

    #[test]
    fn a_partial_rebinding_changes_only_what_it_names() {
        let map = KeyMap::default()
            .with_overrides([("rollback", "ctrl+r"), ("advance", "n")])
            .unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('r'), KeyModifiers::CONTROL)),
            Some(UiAction::Rollback)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('R'), KeyModifiers::SHIFT)),
            None
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(UiAction::Advance)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('p'), KeyModifiers::NONE)),
            Some(UiAction::Pause)
        );
        assert_eq!(map.label(UiAction::Rollback), "Ctrl+r");
        // Taking a key from another action unbinds it there.
        let map = KeyMap::default().with_overrides([("quit", "a")]).unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('a'), KeyModifiers::NONE)),
            Some(UiAction::Quit)
        );
        assert_eq!(map.hint(UiAction::Advance), "(unbound)");
    }
}
