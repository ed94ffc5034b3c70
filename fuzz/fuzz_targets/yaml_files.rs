//! Any bytes as a scenario, a config, a theme and a tokens file: problems
//! are reported, never a panic or a hang. A scenario that passes its check
//! also plays for ten minutes of virtual time: bounded work at every moment,
//! never an event its readers would refuse, and every event reads back from
//! the JSON a stream or a journal carries as exactly the event it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipdeck::model::Event;
use shipdeck::sim::{SimOptions, Simulator, run_to_end};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = shipdeck::sim::scenario::parse(text) {
        let plan = scenario.plan.clone();
        let options = SimOptions {
            autopilot: true,
            ..SimOptions::default()
        };
        let mut sim = Simulator::new(scenario, options);
        let events = run_to_end(&mut sim, jiff::SignedDuration::from_mins(10));
        for event in &events {
            assert_eq!(event.impossible(Some(&plan)), None);
            let json = serde_json::to_string(event).expect("an event writes as JSON");
            let back: Event =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e} reading back {json}"));
            assert_eq!(&back, event, "{json}");
        }
    }
    let _ = shipdeck::config::parse(text);
    let _ = shipdeck::theme::parse(text);
    let _ = shipdeck::server::tokens::Tokens::parse(text);
});
