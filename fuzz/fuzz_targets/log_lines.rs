//! Any bytes as a followed log: every line that comes out is free of
//! control characters and within the length limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipdeck::backend::tail::{Lines, MAX_LINE};

fuzz_target!(|data: &[u8]| {
    let mut lines = Lines::new("fuzz".into());
    let mut out = Vec::new();
    for chunk in data.chunks(7) {
        lines.feed(chunk, jiff::Timestamp::UNIX_EPOCH, &mut out);
    }
    lines.finish(jiff::Timestamp::UNIX_EPOCH, &mut out);
    for line in out {
        assert!(!line.message.chars().any(char::is_control), "{:?}", line.message);
        // Invalid UTF-8 becomes U+FFFD, three bytes for one.
        assert!(line.message.len() <= 3 * MAX_LINE + 3);
    }
});
