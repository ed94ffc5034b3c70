//! Stand-ins until the sources land.
use std::path::PathBuf;

use tokio::sync::mpsc;

use super::{Feed, Place};
use crate::model::Person;
use crate::settings::Settings;

#[derive(Debug, Clone)]
pub struct Sources;

impl Sources {
    pub fn configured(_settings: &Settings) -> Result<Option<Sources>, String> {
        Ok(None)
    }
}

pub fn watch(_sources: Sources, _operator: Person) -> mpsc::Receiver<Feed> {
    mpsc::channel(1).1
}

pub fn token_file(_settings: &Settings, _place: &Place) -> Option<PathBuf> {
    None
}
