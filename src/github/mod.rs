//! GitHub Actions as a pipeline source: a workflow run read through
//! GitHub's REST API, its jobs as the stage board, each environment waiting
//! for a review as a gate, and reviews, re-runs, cancels and a rollback
//! workflow sent as GitHub's own clients send them.

pub mod backend;
pub mod checkout;
pub mod client;
pub mod commands;
pub mod join;
pub mod list;
pub mod picture;
pub mod refusal;
pub mod token;
pub mod translate;
pub mod types;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
