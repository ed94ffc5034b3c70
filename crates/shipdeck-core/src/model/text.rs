//! Text from outside (a log line, a server's answer, a file's value, a
//! journal's strings, a flag) made safe to show: no terminal control
//! sequence survives, so a hostile string cannot move the cursor, retitle
//! the window, write the clipboard, hide what is beside it, or turn right
//! to left. Every printer of text shipdeck did not write itself goes
//! through [`clean`]: `Clean` for a value in a format string, `clean_lines`
//! for a whole message, `json_safe` for JSON printed or written to a file.

use std::borrow::Cow;
use std::fmt;

/// Spaces a tab becomes.
const TAB: &str = "    ";

/// A control character: C0, DEL, C1, and the line and paragraph separators.
fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// A character that is drawn as nothing, or that changes how what is
/// beside it is drawn: the bidirectional controls (embeddings, overrides,
/// isolates, the marks), zero-width spaces and joiners, the other format
/// characters, the fillers that look like nothing, and tags.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{890}'..='\u{891}'
            | '\u{8e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// What [`clean`] takes out (or, for a tab, widens).
pub fn is_unsafe(c: char) -> bool {
    match u32::from(c) {
        // Printable ASCII and Latin-1; box drawing, blocks, arrows and
        // symbols (what the console draws with); CJK. Nothing to look up.
        0x20..=0x7e | 0xa0..=0xac | 0xae..=0x033f | 0x2070..=0x3163 | 0x3165..=0xfdff => false,
        _ => is_control(c) || is_invisible(c),
    }
}

/// Printable ASCII, the common case, needs no look at each character.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `text` without escape sequences (CSI, OSC, DCS and the rest, 7- and
/// 8-bit), other control characters, bidirectional controls or invisible
/// characters; a tab becomes spaces. Text with none is returned as it is,
/// without copying.
pub fn clean(text: &str) -> Cow<'_, str> {
    if is_plain(text) || !text.chars().any(is_unsafe) {
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
            c if is_unsafe(c) => {}
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

/// At most `max` characters of `text` cleaned, with `…` when there was more.
pub fn clip(text: &str, max: usize) -> String {
    let cleaned = clean(text);
    let mut chars = cleaned.chars();
    let mut shown: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        shown.push('…');
    }
    shown
}

/// A message of several lines, each cleaned: the line breaks stay, nothing
/// else that [`clean`] takes out does. For what shipdeck prints as a whole;
/// a value from outside inside it goes in as [`Clean`], so that it cannot
/// break the line either.
pub fn clean_lines(text: &str) -> Cow<'_, str> {
    if is_plain(text) || !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(clean).collect();
    Cow::Owned(lines.join("\n"))
}

/// A value from outside in a format string, shown cleaned (see [`clean`]):
/// `format!("{}", Clean(&reply.operator))`. Width and alignment apply to
/// the cleaned text.
#[derive(Debug, Clone, Copy)]
pub struct Clean<T>(pub T);

impl<T: fmt::Display> fmt::Display for Clean<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.pad(&clean(&text))
    }
}

/// JSON as serde writes it, with every character [`clean`] would take out
/// written as a `\u` escape instead: the data is the same once read, and
/// the bytes are safe on a terminal (`cat` of a journal, `events` piped to
/// nothing). Outside strings serde writes only spaces and line breaks,
/// which stay.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    if is_plain(json) || !json.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c != '\n' && is_unsafe(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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
                .map(|_| match rng.u8(0..5) {
                    0 => char::from(rng.u8(0..0x20)),
                    1 => char::from_u32(rng.u32(0x80..0xa0)).unwrap(),
                    2 => '\u{1b}',
                    3 => rng.choice(HOSTILE_FORMAT).unwrap(),
                    _ => rng.alphanumeric(),
                })
                .collect();
            let cleaned = clean(&text);
            assert!(!cleaned.chars().any(is_unsafe), "{text:?} → {cleaned:?}");
            let lines = clean_lines(&text);
            assert!(
                !lines.chars().any(|c| c != '\n' && is_unsafe(c)),
                "{text:?}"
            );
        }
    }

    /// Characters that reorder or hide text, one of each kind.
    const HOSTILE_FORMAT: [char; 14] = [
        '\u{202a}',
        '\u{202b}',
        '\u{202c}',
        '\u{202d}',
        '\u{202e}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{200e}',
        '\u{200f}',
        '\u{61c}',
        '\u{200b}',
        '\u{e0041}',
    ];

    #[test]
    fn bidirectional_controls_and_invisible_characters_go() {
        for c in HOSTILE_FORMAT
            .into_iter()
            .chain(['\u{feff}', '\u{2060}', '\u{ad}', '\u{3164}'])
        {
            let hostile = format!("car{c}ol");
            assert_eq!(clean(&hostile), "carol", "U+{:04X}", c as u32);
        }
        assert_eq!(clean("\u{202e}gnp.exe"), "gnp.exe");
        assert_eq!(clean("\u{2067}admin\u{2069} ok"), "admin ok");
        // What is merely not ASCII stays, emoji presentation included.
        assert_eq!(clean("日本 ✓ ünï ❤\u{fe0f}"), "日本 ✓ ünï ❤\u{fe0f}");
    }

    #[test]
    fn the_quick_look_misses_no_character() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(
                is_unsafe(c),
                is_control(c) || is_invisible(c),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn a_value_in_a_format_string_is_cleaned_and_padded() {
        let hostile = "r1\u{1b}]0;pwned\u{7}\u{202e}";
        assert_eq!(format!("[{:<5}]", Clean(hostile)), "[r1   ]");
        assert_eq!(format!("[{:>4}]", Clean("a\nb")), "[  ab]");
    }

    #[test]
    fn clip_cleans_then_bounds() {
        assert_eq!(clip("\u{1b}[31mabcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn a_message_keeps_its_lines_and_loses_the_rest() {
        let message = "one \u{1b}]52;c;cm0gLXJmIH4=\u{7}\ntwo\u{202e}\u{9b}2J\n";
        assert_eq!(clean_lines(message), "one \ntwo\n");
        assert!(matches!(clean_lines("plain\nlines\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_keeps_the_data_and_loses_the_bytes() {
        let hostile = "svc\u{1b}]0;t\u{7}\u{9b}31m\u{202e}\u{7f}\u{e0041}\n## x";
        let json = serde_json::to_string(&serde_json::json!({ "service": hostile })).unwrap();
        let safe = json_safe(&json);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["service"], hostile);
        assert!(matches!(json_safe("{\"a\":\"日本\"}\n"), Cow::Borrowed(_)));
    }
}
