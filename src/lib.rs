//! shipdeck: a terminal release console.
//!
//! The release as data, the engine, the simulator and the file formats are
//! the `shipdeck-core` crate, which knows nothing of terminals, HTTP or
//! async runtimes; they are re-exported here under their own names. This
//! crate adds what does I/O: the backends, `serve`, the journal's writer,
//! the settings and the console.

pub use shipdeck_core::{api, check, config, engine, keys, model, problem, sim, theme};

pub mod argo;
pub mod backend;
pub mod cli;
pub mod files;
pub mod github;
pub mod inbox;
pub mod journal;
pub mod say;
pub mod server;
pub mod settings;
pub mod tui;

/// A person's name, for tests.
#[cfg(test)]
pub(crate) fn person(name: &str) -> model::Person {
    model::Person::new(name).expect("a person's name")
}
