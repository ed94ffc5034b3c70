//! Any bytes as a journal: it reads (reporting damage) or says it is not a
//! journal, and what it read folds and reports without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(journal) = shipdeck::journal::Journal::from_reader(data) {
        let release = journal.release();
        let _ = release.waiting_for();
    }
});
