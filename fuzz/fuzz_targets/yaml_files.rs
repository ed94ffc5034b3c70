//! Any bytes as a scenario, a config, a theme and a tokens file: problems
//! are reported, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = shipdeck::sim::scenario::parse(text);
    let _ = shipdeck::config::parse(text);
    let _ = shipdeck::theme::parse(text);
    let _ = shipdeck::server::tokens::Tokens::parse(text);
});
