//! The autopilot: a virtual operator so any scenario runs end to end
//! unattended. It signs open gates, advances untimed pauses, ticks manual
//! checklist items of the stage at hand, and retries a failed stage — each
//! after a short, human-looking delay, signing as `autopilot`.
//!
//! It stands in only for people the scenario does not script: it leaves a
//! gate alone when scripted actors will reject it or will sign it enough.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use super::scenario::{Actor, Scenario};
use super::{ActionKey, ActorState};
use crate::model::{Action, Gate, GateState, Person, Release, StageState, Status, StepKind};

#[derive(Debug, Default)]
pub(super) struct Autopilot {
    /// What has been planned already, so nothing is planned twice.
    planned: BTreeSet<Planned>,
}

/// One thing the autopilot has planned.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Planned {
    Sign {
        gate: String,
        signer: Person,
    },
    /// A stage's retry, once per failure.
    Retry {
        stage: String,
        failed_at: Option<Timestamp>,
    },
    Advance(usize),
    Tick {
        list: String,
        item: String,
    },
}

const GATE_DELAY: SignedDuration = SignedDuration::from_secs(25);
const ADVANCE_DELAY: SignedDuration = SignedDuration::from_secs(30);
const CHECK_DELAY: SignedDuration = SignedDuration::from_secs(6);
const RETRY_DELAY: SignedDuration = SignedDuration::from_secs(20);

impl Autopilot {
    /// What to do next, and after how long.
    pub(super) fn plan(
        &mut self,
        release: &Release,
        scenario: &Scenario,
        actors: &[ActorState],
    ) -> Vec<(SignedDuration, ActionKey)> {
        let mut out = Vec::new();
        if !release.status.in_flight() {
            return out;
        }
        if release.status == Status::RollingBack {
            if let Some(list) = release
                .plan
                .as_ref()
                .and_then(|p| p.rollback_checklist.as_deref())
            {
                self.tick_manual(release, list, &mut out);
            }
            return out;
        }
        for gate in release.gates.iter().filter(|g| g.state == GateState::Open) {
            self.sign(release, gate, scenario, actors, &mut out);
        }
        if let Some(list) = release
            .current_stage()
            .and_then(|stage| stage.plan.checklist.as_deref())
        {
            self.tick_manual(release, list, &mut out);
        }
        self.retry(release, &mut out);
        self.advance(release, &mut out);
        out
    }

    /// Signs an open gate as many distinct virtual reviewers as it needs
    /// beyond the people scheduled to sign it; leaves it to the people when
    /// one of them is scheduled to reject it.
    fn sign(
        &mut self,
        release: &Release,
        gate: &Gate,
        scenario: &Scenario,
        actors: &[ActorState],
        out: &mut Vec<(SignedDuration, ActionKey)>,
    ) {
        let deciders = || scheduled_deciders(scenario, actors, &gate.plan.id);
        if deciders().any(|a| matches!(a.action, Action::Reject { .. })) {
            return;
        }
        let will_sign: BTreeSet<&Person> = deciders()
            .filter(|a| {
                (gate.plan.self_approval || release.deployer() != Some(&a.name))
                    && gate.plan.approvers.includes(&a.name)
                    && !gate.signed_by(&a.name)
            })
            .map(|a| &a.name)
            .collect();
        let needed = gate.outstanding().saturating_sub(will_sign.len() as u32) as usize;
        // Distinct virtual reviewers, in order, for what nobody else will sign.
        let signers = (0..)
            .map(super::autopilot_name)
            .filter(|name| !gate.signed_by(name))
            .take(needed);
        for (k, signer) in signers.enumerate() {
            if self.planned.insert(Planned::Sign {
                gate: gate.plan.id.clone(),
                signer: signer.clone(),
            }) {
                out.push((
                    GATE_DELAY.saturating_mul(i32::try_from(k + 1).unwrap_or(i32::MAX)),
                    ActionKey::Approve {
                        gate: gate.plan.id.clone(),
                        signer,
                    },
                ));
            }
        }
    }

    /// Retries the first failed stage that can be, once per failure.
    fn retry(&mut self, release: &Release, out: &mut Vec<(SignedDuration, ActionKey)>) {
        let Some(failed) = release
            .stages
            .iter()
            .find(|s| s.state == StageState::Failed && s.plan.kind.retryable())
        else {
            return;
        };
        let key = Planned::Retry {
            stage: failed.plan.id.clone(),
            failed_at: failed.finished_at,
        };
        if self.planned.insert(key) {
            out.push((
                RETRY_DELAY,
                ActionKey::Retry {
                    stage: failed.plan.id.clone(),
                },
            ));
        }
    }

    /// Advances a running rollout held at a pause until advanced.
    fn advance(&mut self, release: &Release, out: &mut Vec<(SignedDuration, ActionKey)>) {
        if release.status == Status::Running
            && !release.rollout.step_completed
            && let Some((i, step)) = release.current_step()
            && matches!(step.kind, StepKind::Pause { duration: None })
            && self.planned.insert(Planned::Advance(i))
        {
            out.push((ADVANCE_DELAY, ActionKey::Advance));
        }
    }

    fn tick_manual(
        &mut self,
        release: &Release,
        list: &str,
        out: &mut Vec<(SignedDuration, ActionKey)>,
    ) {
        let Some(list) = release.checklist(list) else {
            return;
        };
        let mut k: i32 = 0;
        for item in list
            .items
            .iter()
            .filter(|i| !i.plan.automatic && i.ticked.is_none())
        {
            if self.planned.insert(Planned::Tick {
                list: list.id.clone(),
                item: item.plan.id.clone(),
            }) {
                k = k.saturating_add(1);
                out.push((
                    CHECK_DELAY.saturating_mul(k),
                    ActionKey::Check {
                        list: list.id.clone(),
                        item: item.plan.id.clone(),
                    },
                ));
            }
        }
    }
}

/// The scripted people scheduled to approve or reject a gate.
fn scheduled_deciders<'a>(
    scenario: &'a Scenario,
    actors: &'a [ActorState],
    gate: &'a str,
) -> impl Iterator<Item = &'a Actor> {
    scenario
        .script
        .actors
        .iter()
        .zip(actors)
        .filter(|(_, state)| **state == ActorState::Scheduled)
        .map(|(a, _)| a)
        .filter(move |a| match &a.action {
            Action::Approve { gate: g, .. } | Action::Reject { gate: g, .. } => {
                g.as_deref().is_none_or(|g| g == gate)
            }
            _ => false,
        })
}
