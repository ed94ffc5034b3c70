//! Keys and the actions they are bound to: the defaults the core declares
//! (`keys`), overridden by action name from the config, and matched against
//! the terminal's key events.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use strum::IntoEnumIterator;

use crate::keys::{Code, NamedKey};
pub use crate::keys::{Key, UiAction};

/// The terminal's key code for a key.
fn crossterm_code(code: Code) -> KeyCode {
    match code {
        Code::Char(c) => KeyCode::Char(c),
        Code::F(n) => KeyCode::F(n),
        Code::Named(named) => match named {
            NamedKey::Enter => KeyCode::Enter,
            NamedKey::Esc => KeyCode::Esc,
            NamedKey::Tab => KeyCode::Tab,
            NamedKey::BackTab => KeyCode::BackTab,
            NamedKey::Space => KeyCode::Char(' '),
            NamedKey::Backspace => KeyCode::Backspace,
            NamedKey::Delete => KeyCode::Delete,
            NamedKey::Insert => KeyCode::Insert,
            NamedKey::Up => KeyCode::Up,
            NamedKey::Down => KeyCode::Down,
            NamedKey::Left => KeyCode::Left,
            NamedKey::Right => KeyCode::Right,
            NamedKey::PgUp => KeyCode::PageUp,
            NamedKey::PgDn => KeyCode::PageDown,
            NamedKey::Home => KeyCode::Home,
            NamedKey::End => KeyCode::End,
        },
    }
}

/// Whether a key event from the terminal is this key. Shift is in the
/// character itself (`R`), so it is not compared for characters.
fn matches(key: &Key, event: &KeyEvent) -> bool {
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    let alt = event.modifiers.contains(KeyModifiers::ALT);
    if ctrl != key.ctrl || alt != key.alt {
        return false;
    }
    match (crossterm_code(key.code), event.code) {
        (KeyCode::Char(a), KeyCode::Char(b)) if key.ctrl => a.eq_ignore_ascii_case(&b),
        (a, b) => a == b,
    }
}

/// Which keys do what.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMap {
    bindings: BTreeMap<UiAction, Vec<Key>>,
}

impl Default for KeyMap {
    /// The design's key map (`UiAction::default_keys`).
    fn default() -> KeyMap {
        let bindings = UiAction::iter()
            .map(|action| (action, action.default_keys()))
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
            let key: Key = spec.parse()?;
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
            .find(|(_, keys)| keys.iter().any(|k| matches(k, event)))
            .map(|(action, _)| *action)
    }

    /// The keys bound to an action, as shown: `↑/k`.
    pub fn label(&self, action: UiAction) -> String {
        self.bindings
            .get(&action)
            .map(|keys| {
                keys.iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }

    /// The first key of an action, as shown (for hints).
    /// The key that does an action from a box that takes text, where only
    /// a key with Ctrl acts: a bound Ctrl key, or Ctrl with the first key.
    pub fn hint_in_text(&self, action: UiAction) -> String {
        let keys = self.bindings.get(&action).map_or(&[][..], Vec::as_slice);
        match keys.iter().find(|k| k.ctrl) {
            Some(key) => key.to_string(),
            None => format!("Ctrl+{}", self.hint(action)),
        }
    }

    pub fn hint(&self, action: UiAction) -> String {
        self.bindings
            .get(&action)
            .and_then(|keys| keys.first())
            .map(Key::to_string)
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
        assert_eq!(map.label(UiAction::Rollback), "Ctrl+R");
        // Taking a key from another action unbinds it there.
        let map = KeyMap::default().with_overrides([("quit", "a")]).unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('a'), KeyModifiers::NONE)),
            Some(UiAction::Quit)
        );
        assert_eq!(map.hint(UiAction::Advance), "(unbound)");
    }

    #[test]
    fn rebound_keys_match_what_the_terminal_sends() {
        let map = KeyMap::default()
            .with_overrides([("filter", "Ctrl+S"), ("follow", "f5"), ("level", "ctrl++")])
            .unwrap();
        for (event, action) in [
            (
                key(KeyCode::Char('s'), KeyModifiers::CONTROL),
                UiAction::Filter,
            ),
            (
                key(KeyCode::Char('S'), KeyModifiers::CONTROL),
                UiAction::Filter,
            ),
            (key(KeyCode::F(5), KeyModifiers::NONE), UiAction::Follow),
            (
                key(KeyCode::Char('+'), KeyModifiers::CONTROL),
                UiAction::Level,
            ),
            (
                key(KeyCode::PageDown, KeyModifiers::NONE),
                UiAction::PageDown,
            ),
            (
                key(KeyCode::BackTab, KeyModifiers::SHIFT),
                UiAction::PrevPane,
            ),
        ] {
            assert_eq!(map.action(&event), Some(action), "{event:?}");
        }
        assert_eq!(map.label(UiAction::Filter), "Ctrl+S");
    }

    #[test]
    fn every_named_key_is_a_key_of_its_own_on_the_terminal() {
        let codes: std::collections::HashSet<KeyCode> = NamedKey::iter()
            .map(|named| crossterm_code(Code::Named(named)))
            .collect();
        assert_eq!(codes.len(), NamedKey::iter().count());
    }
}
