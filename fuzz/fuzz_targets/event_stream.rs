//! Any bytes as a server's event stream, cut anywhere: the reader keeps its
//! bounds, and every message decodes to an event or an error. What decodes
//! is folded as the client folds it: an event that cannot be is refused,
//! and the rest fold without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipdeck::backend::sse::{Found, Reader};
use shipdeck::model::{EventKind, ReleasePlan};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize) % (data.len().max(1));
    let mut reader = Reader::new(4096);
    let mut found = Vec::new();
    reader.feed(&data[..split], &mut found);
    reader.feed(&data[split..], &mut found);
    let mut release = shipdeck::model::Release::new("fuzz", 100);
    let mut plan: Option<Box<ReleasePlan>> = None;
    for item in found {
        if let Found::Message(message) = item {
            assert!(message.data.len() <= 4096);
            let Ok(event) = shipdeck::backend::http::decode_event(&message.data) else {
                continue;
            };
            if event.impossible(plan.as_deref()).is_some() {
                continue;
            }
            if let EventKind::ReleaseStarted { plan: started } = &event.kind {
                plan = Some(started.clone());
            }
            release.apply(&event);
            let _ = release.waiting_for();
        }
    }
});
