//! GitHub Actions as a pipeline source: a workflow run read through
//! GitHub's REST API, its jobs as the stage board, each environment waiting
//! for a review as a gate, and reviews, re-runs, cancels and a rollback
//! workflow sent as GitHub's own clients send them.

pub mod picture;
pub mod translate;
pub mod types;

#[cfg(test)]
mod tests;
