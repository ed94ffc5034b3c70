//! Any text through the one cleaning function and its printers: nothing a
//! terminal acts on is left, line breaks are kept only by `clean_lines`,
//! and JSON made safe reads back as the same data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipdeck::model::text::{Clean, clean, clean_lines, is_unsafe, json_safe};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cleaned = clean(&text);
    assert!(!cleaned.chars().any(is_unsafe), "{text:?} → {cleaned:?}");
    assert_eq!(clean(&cleaned), cleaned, "cleaning twice changes nothing");
    assert_eq!(format!("{}", Clean(&*text)), cleaned);
    let lines = clean_lines(&text);
    assert!(!lines.chars().any(|c| c != '\n' && is_unsafe(c)), "{text:?}");
    let json = serde_json::to_string(&*text).unwrap();
    let safe = json_safe(&json);
    assert!(!safe.chars().any(is_unsafe), "{safe}");
    let back: String = serde_json::from_str(&safe).unwrap();
    assert_eq!(back, text);
});
