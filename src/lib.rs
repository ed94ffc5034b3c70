//! shipdeck: a terminal release console.
//!
//! The crate is layered so that arrows point one way: `model` (the release as
//! data) ← `engine` (commands under policy) ← `sim` (the embedded simulator)
//! ← `check` and the command line.

pub mod api;
pub mod backend;
pub mod check;
pub mod config;
pub mod engine;
pub mod journal;
pub mod model;
pub mod problem;
pub mod server;
pub mod settings;
pub mod sim;
pub mod theme;
pub mod tui;
