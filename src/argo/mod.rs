//! Argo Rollouts as a pipeline source: a Rollout on a Kubernetes cluster
//! read as the kubectl plugin reads it, watched, and driven with the same
//! patches the plugin sends.

pub mod backend;
pub mod cluster;
pub mod commands;
pub mod info;
pub mod list;
pub mod picture;
pub mod record;
pub mod refusal;
pub mod translate;
pub mod types;

#[cfg(test)]
mod tests;
