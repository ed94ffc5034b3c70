//! The desktop notification a terminal shows for an escape sequence (OSC 9
//! or OSC 777), sent with the bell when something starts to wait on this
//! operator. Off unless the config says `notify: osc9` or `osc777`.

use crate::config::Notify;
use crate::model::text::clean;

/// The longest text a notification carries, in characters.
pub const MAX_CHARS: usize = 200;

/// The title OSC 777 shows above the text.
const TITLE: &str = "shipdeck";

/// The bytes that ask the terminal for a notification of `text`; none when
/// notifications are off.
pub fn escape(kind: Notify, text: &str) -> Option<Vec<u8>> {
    let text = safe(text);
    let sequence = match kind {
        Notify::Off => return None,
        Notify::Osc9 => format!("\x1b]9;{text}\x07"),
        Notify::Osc777 => format!("\x1b]777;notify;{TITLE};{text}\x07"),
    };
    Some(sequence.into_bytes())
}

/// `text` as it may go inside the escape: cleaned of terminal sequences,
/// with no control character (ESC, BEL, line breaks, C1) left to end the
/// sequence early and no `;` to start another field, and at most
/// [`MAX_CHARS`] characters.
fn safe(text: &str) -> String {
    // A line break is a space between words, not nothing.
    let spaced: String = text
        .chars()
        .map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c })
        .collect();
    let cleaned = clean(&spaced);
    let words: String = cleaned
        .chars()
        .map(|c| if c == ';' { ',' } else { c })
        .filter(|c| !c.is_control() && !crate::model::text::is_unsafe(*c))
        .collect();
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= MAX_CHARS {
        return words;
    }
    let mut short: String = words.chars().take(MAX_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str =
        "Config\x1b]0;owned\x07 ok;\x1b]9;fake\x1b\\ now\x07\x1b[2J\u{9d}8;;x\u{9c}\r\nrm\u{202e}";

    #[test]
    fn a_hostile_text_cannot_end_the_escape_or_add_a_field() {
        let osc9 = escape(Notify::Osc9, HOSTILE).unwrap();
        assert_eq!(osc9, b"\x1b]9;Config ok, now rm\x07");
        let osc777 = escape(Notify::Osc777, HOSTILE).unwrap();
        assert_eq!(osc777, b"\x1b]777;notify;shipdeck;Config ok, now rm\x07");
        for bytes in [&osc9, &osc777] {
            let inner = &bytes[2..bytes.len() - 1];
            assert!(!inner.iter().any(|b| *b < 0x20 || *b == 0x7f), "{inner:?}");
        }
        assert_eq!(escape(Notify::Off, HOSTILE), None);
    }

    #[test]
    fn a_long_text_is_cut_to_two_hundred_characters() {
        let long = "é".repeat(500);
        let bytes = escape(Notify::Osc9, &long).unwrap();
        let text = std::str::from_utf8(&bytes[4..bytes.len() - 1]).unwrap();
        assert_eq!(text.chars().count(), MAX_CHARS);
        assert!(text.ends_with('…'));
    }
}
