//! Text from outside (a log line, a server's event) made safe to draw: no
//! terminal control sequence survives, so a hostile line cannot move the
//! cursor, retitle the window, or hide what is beside it.

use std::borrow::Cow;

/// Spaces a tab becomes.
const TAB: &str = "    ";

fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `text` without escape sequences (CSI, OSC, DCS and the rest, 7- and
/// 8-bit) or other control characters; a tab becomes spaces. Text with none
/// is returned as it is, without copying.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str(TAB),
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => skip_csi(&mut chars),
                // OSC, DCS, SOS, PM, APC: a string ended by BEL or ST.
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // Two- and three-character escapes (ESC ( B, ESC =, ...).
                Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            return;
        }
        // Anything but a parameter or intermediate ends a broken sequence.
        if !('\u{20}'..='\u{3f}').contains(&c) {
            return;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' if chars.peek() == Some(&'\\') => {
                chars.next();
                return;
            }
            _ => {}
        }
    }
}

/// Cleans `text` in place when it needs it.
pub fn clean_in_place(text: &mut String) {
    if let Cow::Owned(cleaned) = clean(text) {
        *text = cleaned;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(clean("GET /healthz 200 in 4ms"), Cow::Borrowed(_)));
        assert!(matches!(clean("ünïcödé ✓ 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_go_and_the_text_around_them_stays() {
        for (hostile, shown) in [
            ("\u{1b}[31mred\u{1b}[0m text", "red text"),
            ("\u{1b}]0;pwned\u{7}title", "title"),
            ("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\", "link"),
            ("move\u{1b}[2J\u{1b}[H\u{1b}[10;10Hhere", "movehere"),
            ("hide\u{1b}[8msecret", "hidesecret"),
            ("\u{9b}31mc1\u{9d}0;t\u{9c}", "c1"),
            ("a\tb\r\n", "a    b"),
            ("bell\u{7}back\u{8}del\u{7f}", "bellbackdel"),
            ("\u{1b}(Bcharset \u{1b}=keypad", "charset keypad"),
            ("\u{1b}Pq#0;2;0;0;0#1!7~\u{1b}\\sixel", "sixel"),
            ("cut off \u{1b}[38;5", "cut off "),
            ("\u{1b}", ""),
        ] {
            assert_eq!(clean(hostile), shown, "{hostile:?}");
        }
    }

    #[test]
    fn nothing_that_reaches_a_terminal_as_control_is_left() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let text: String = (0..rng.usize(0..40))
                .map(|_| match rng.u8(0..4) {
                    0 => char::from(rng.u8(0..0x20)),
                    1 => char::from_u32(rng.u32(0x80..0xa0)).unwrap(),
                    2 => '\u{1b}',
                    _ => rng.alphanumeric(),
                })
                .collect();
            let cleaned = clean(&text);
            assert!(!cleaned.chars().any(is_control), "{text:?} → {cleaned:?}");
        }
    }
}
