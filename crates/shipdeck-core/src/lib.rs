//! The core of shipdeck: the release as data, the engine that applies
//! commands under policy, the embedded simulator, and the file formats
//! (scenario, config, theme, journal records, the deployment report).
//!
//! Layered so that arrows point one way: `model` ← `engine` ← `sim` ←
//! `check`. Nothing here does network or terminal I/O or needs an async
//! runtime: this crate's manifest lists none of tokio, ratatui, crossterm,
//! reqwest or axum, so the compiler keeps it so.

pub mod api;
pub mod check;
pub mod config;
pub mod engine;
pub mod journal;
pub mod keys;
pub mod model;
pub mod problem;
pub mod sim;
pub mod theme;
