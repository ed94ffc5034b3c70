//! Any bytes as a server's event stream, cut anywhere: the reader keeps its
//! bounds, and every message decodes to an event or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipdeck::backend::sse::{Found, Reader};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize) % (data.len().max(1));
    let mut reader = Reader::new(4096);
    let mut found = Vec::new();
    reader.feed(&data[..split], &mut found);
    reader.feed(&data[split..], &mut found);
    for item in found {
        if let Found::Message(message) = item {
            assert!(message.data.len() <= 4096);
            if let Ok(event) = shipdeck::backend::http::decode_event(&message.data) {
                let _ = serde_json_roundtrip(&event);
            }
        }
    }
});

fn serde_json_roundtrip(event: &shipdeck::model::Event) -> Option<()> {
    let mut release = shipdeck::model::Release::new("fuzz", 100);
    release.apply(event);
    Some(())
}
