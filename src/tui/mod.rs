//! The console: App state, the runtime loop, keys, themes and views.

pub mod app;
pub mod demo;
pub mod inbox;
pub mod keymap;
pub mod layout;
pub mod logview;
pub mod notify;
pub mod runtime;
pub mod terminal;
pub mod theme;
pub mod views;
