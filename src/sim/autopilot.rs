//! The autopilot: a virtual operator so any scenario runs end to end
//! unattended. It signs open gates, advances untimed pauses, ticks manual
//! checklist items of the stage at hand, and retries a failed stage — each
//! after a short, human-looking delay, signing as `autopilot`.
//!
//! It stands in only for people the scenario does not script: it leaves a
//! gate alone when scripted actors will reject it or will sign it enough.

use std::collections::BTreeSet;

use jiff::SignedDuration;

use super::scenario::Scenario;
use super::{AUTOPILOT, ActionKey};
use crate::model::{Action, GateState, Release, StageState, Status, StepKind};

#[derive(Debug, Default)]
pub(super) struct Autopilot {
    /// What has been planned already, so nothing is planned twice.
    planned: BTreeSet<String>,
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
        actors_done: &[bool],
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
            if gate.signed_by(AUTOPILOT) {
                continue;
            }
            let pending: Vec<&Action> = scenario
                .script
                .actors
                .iter()
                .zip(actors_done)
                .filter(|(_, done)| !**done)
                .map(|(a, _)| &a.action)
                .filter(|a| match a {
                    Action::Approve { gate: g, .. } | Action::Reject { gate: g, .. } => {
                        g.as_deref().is_none_or(|g| g == gate.plan.id)
                    }
                    _ => false,
                })
                .collect();
            let will_reject = pending.iter().any(|a| matches!(a, Action::Reject { .. }));
            let will_sign: BTreeSet<&str> = scenario
                .script
                .actors
                .iter()
                .zip(actors_done)
                .filter(|(a, done)| {
                    !**done
                        && matches!(&a.action, Action::Approve { gate: g, .. }
                            if g.as_deref().is_none_or(|g| g == gate.plan.id))
                        && (gate.plan.self_approval || a.name != release.deployer())
                        && gate.plan.approvers.includes(&a.name)
                        && !gate.signed_by(&a.name)
                })
                .map(|(a, _)| a.name.as_str())
                .collect();
            if will_reject || will_sign.len() as u32 >= gate.outstanding() {
                continue;
            }
            if self.planned.insert(format!("gate:{}", gate.plan.id)) {
                out.push((
                    GATE_DELAY,
                    ActionKey::Approve {
                        gate: gate.plan.id.clone(),
                    },
                ));
            }
        }
        if let Some(list) = release
            .current_stage()
            .and_then(|stage| stage.plan.checklist.as_deref())
        {
            self.tick_manual(release, list, &mut out);
        }
        if let Some(failed) = release
            .stages
            .iter()
            .find(|s| s.state == StageState::Failed && s.plan.kind.retryable())
        {
            let key = format!("retry:{}:{:?}", failed.plan.id, failed.finished_at);
            if self.planned.insert(key) {
                out.push((
                    RETRY_DELAY,
                    ActionKey::Retry {
                        stage: failed.plan.id.clone(),
                    },
                ));
            }
        }
        if release.status == Status::Running
            && !release.rollout.step_completed
            && let Some((i, step)) = release.current_step()
            && matches!(step.kind, StepKind::Pause { duration: None })
            && self.planned.insert(format!("advance:{i}"))
        {
            out.push((ADVANCE_DELAY, ActionKey::Advance));
        }
        out
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
        let mut k = 0;
        for item in list
            .items
            .iter()
            .filter(|i| !i.plan.automatic && i.ticked.is_none())
        {
            if self
                .planned
                .insert(format!("check:{}:{}", list.id, item.plan.id))
            {
                k += 1;
                out.push((
                    CHECK_DELAY * k,
                    ActionKey::Check {
                        list: list.id.clone(),
                        item: item.plan.id.clone(),
                    },
                ));
            }
        }
    }
}
