//! Whether a command may be applied now, and if not, why — in words an
//! operator under pressure can act on.

use crate::model::{
    Action, Command, Gate, GateState, Release, Stage, StageState, Status, StepKind,
};

use super::time_left;
use crate::model::units::plural;

/// The outcome of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted { note: Option<String> },
    Refused { reason: String },
}

impl Verdict {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Verdict::Accepted { .. })
    }
}

/// Checks a command against the release; `Ok` carries an optional note
/// (for example "already rolling back"), `Err` the reason for refusing.
pub fn check(
    release: &Release,
    command: &Command,
    now: jiff::Timestamp,
) -> Result<Option<String>, String> {
    let operator = command.operator.trim();
    if operator.is_empty() {
        return Err("a command needs an operator name".into());
    }
    if release.status == Status::NotStarted {
        return Err("the release has not started".into());
    }
    match &command.action {
        Action::Rollback { reason } => {
            let giving_reason = reason.as_deref().is_some_and(|r| !r.trim().is_empty())
                && gives_rollback_reason(release, operator);
            if giving_reason {
                Ok(Some("reason added to the rollback's record".into()))
            } else {
                check_rollback(release)
            }
        }
        Action::Check { list, item } => check_tick(release, list, item, true),
        Action::Uncheck { list, item } => check_tick(release, list, item, false),
        Action::Ack { rule } => check_ack(release, rule),
        action => {
            if let Status::Finished(outcome) = release.status {
                return Err(format!(
                    "the release has finished ({}); there is nothing left to {}",
                    outcome.name(),
                    action.words()
                ));
            }
            if release.status == Status::RollingBack {
                return Err(format!(
                    "the release is rolling back; {} is no longer possible",
                    action.words()
                ));
            }
            match action {
                Action::Advance => check_advance(release, now),
                Action::PromoteFull => check_promote(release),
                Action::Pause { .. } => check_pause(release),
                Action::Resume => match &release.paused_by {
                    Some(_) => Ok(None),
                    None => Err("the release is not paused".into()),
                },
                Action::Approve { gate, .. } => check_sign(
                    release,
                    resolve_gate(release, gate.as_deref())?,
                    operator,
                    true,
                ),
                Action::Reject { gate, reason } => {
                    if reason.trim().is_empty() {
                        return Err("a rejection needs a reason for the record".into());
                    }
                    check_sign(
                        release,
                        resolve_gate(release, gate.as_deref())?,
                        operator,
                        false,
                    )
                }
                Action::Retry { stage } => {
                    resolve_failed_stage(release, stage.as_deref()).map(|_| None)
                }
                Action::Rollback { .. }
                | Action::Check { .. }
                | Action::Uncheck { .. }
                | Action::Ack { .. } => unreachable!("handled above"),
            }
        }
    }
}

fn stage_name(stage: &Stage) -> &str {
    &stage.plan.name
}

/// The rollout stage, if the release is on it and it has steps in progress.
fn active_rollout(release: &Release, verb: &str) -> Result<(), String> {
    let Some(rollout) = release.rollout_stage() else {
        return Err(format!("this release has no rollout to {verb}"));
    };
    match rollout.state {
        StageState::Running => Ok(()),
        StageState::Pending => Err(match release.current_stage() {
            Some(current) => format!(
                "the rollout has not started: the release is at \"{}\"",
                stage_name(current)
            ),
            None => "the rollout has not started".into(),
        }),
        _ => Err("the rollout is complete".into()),
    }
}

fn check_advance(release: &Release, now: jiff::Timestamp) -> Result<Option<String>, String> {
    active_rollout(release, "advance")?;
    if let Some(by) = &release.paused_by {
        return Err(format!("the release is paused by {by}; resume it first"));
    }
    let total = release.steps().len();
    match release.current_step() {
        Some((i, step)) if !release.rollout.step_completed => match step.kind {
            StepKind::Pause { .. } => Ok(None),
            StepKind::Analysis { .. } => Err(format!(
                "step {}/{total} ({}) is an analysis and cannot be skipped; it ends in {} (promote fully to skip every remaining step)",
                i + 1,
                step.describe(),
                release
                    .rollout
                    .until
                    .map(|until| time_left(until, now))
                    .unwrap_or_else(|| "a moment".into())
            )),
            _ => Err(format!(
                "step {}/{total} ({}) is in progress, not a pause",
                i + 1,
                step.describe()
            )),
        },
        _ => Err("the rollout is not holding at a pause".into()),
    }
}

fn check_promote(release: &Release) -> Result<Option<String>, String> {
    active_rollout(release, "promote")?;
    if let Some(by) = &release.paused_by {
        return Err(format!("the release is paused by {by}; resume it first"));
    }
    let remaining = match release.rollout.step {
        Some(i) if release.rollout.step_completed => release.steps().len() - i - 1,
        Some(i) => release.steps().len() - i,
        None => release.steps().len(),
    };
    Ok(Some(format!(
        "{} skipped; all traffic to the new version",
        plural(remaining as u64, "remaining step")
    )))
}

fn check_pause(release: &Release) -> Result<Option<String>, String> {
    if let Some(by) = &release.paused_by {
        return Err(format!("the release is already paused by {by}"));
    }
    match release.rollout_stage() {
        Some(rollout) if rollout.state == StageState::Running => Ok(None),
        Some(rollout) if rollout.state.is_done() => {
            Err("the rollout is complete; only a rollout in progress can be paused".into())
        }
        _ => Err(match release.current_stage() {
            Some(current) => format!(
                "only a rollout in progress can be paused; the release is at \"{}\"",
                stage_name(current)
            ),
            None => "only a rollout in progress can be paused".into(),
        }),
    }
}

/// Finds the gate a command names, or the one open gate when it names none.
pub fn resolve_gate<'r>(release: &'r Release, gate: Option<&str>) -> Result<&'r Gate, String> {
    match gate {
        Some(id) => release
            .gates
            .iter()
            .find(|g| g.plan.id == id || g.plan.name.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                let known: Vec<&str> = release.gates.iter().map(|g| g.plan.id.as_str()).collect();
                if known.is_empty() {
                    format!("no gate \"{id}\": this release has no gates")
                } else {
                    format!("no gate \"{id}\" (gates: {})", known.join(", "))
                }
            }),
        None => {
            let open: Vec<&Gate> = release
                .gates
                .iter()
                .filter(|g| g.state == GateState::Open)
                .collect();
            match open.as_slice() {
                [one] => Ok(one),
                [] => Err("no gate is open for sign-off now".into()),
                many => Err(format!(
                    "{} gates are open; name one ({})",
                    many.len(),
                    many.iter()
                        .map(|g| g.plan.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
    }
}

fn check_sign(
    release: &Release,
    gate: &Gate,
    operator: &str,
    approving: bool,
) -> Result<Option<String>, String> {
    let name = &gate.plan.name;
    match gate.state {
        GateState::Pending => {
            let opens_at = release
                .stages
                .iter()
                .find(|s| s.plan.gate.as_deref() == Some(gate.plan.id.as_str()))
                .map(|s| format!(": it opens when \"{}\" starts", stage_name(s)))
                .unwrap_or_default();
            return Err(format!("{name} is not open yet{opens_at}"));
        }
        GateState::Approved => {
            let by: Vec<&str> = gate.signoffs.iter().map(|s| s.operator.as_str()).collect();
            return Err(format!("{name} is already approved (by {})", by.join(", ")));
        }
        GateState::Rejected => {
            let by = gate
                .rejection
                .as_ref()
                .map(|r| r.operator.as_str())
                .unwrap_or("someone");
            return Err(format!("{name} was rejected by {by}"));
        }
        GateState::Open => {}
    }
    check_signer(release, gate, operator, approving)
}

/// Whether this person may sign this open gate.
fn check_signer(
    release: &Release,
    gate: &Gate,
    operator: &str,
    approving: bool,
) -> Result<Option<String>, String> {
    let name = &gate.plan.name;
    let deployer = release.deployer();
    if approving && operator == deployer && !gate.plan.self_approval {
        return Err(format!(
            "{operator} deployed this release and cannot approve it"
        ));
    }
    let may_sign = gate.plan.approvers.includes(operator) || (!approving && operator == deployer);
    if !may_sign {
        let list = match &gate.plan.approvers {
            crate::model::Approvers::Named(names) => names.join(", "),
            crate::model::Approvers::Any(_) => "anyone".into(),
        };
        let verb = if approving { "approve" } else { "reject" };
        return Err(format!(
            "{operator} may not {verb} {name} (approvers: {list})"
        ));
    }
    if approving && gate.signed_by(operator) {
        return Err(format!(
            "{operator} has already signed {name}; the same person counts once ({} of {} sign-offs, {} more needed from someone else)",
            gate.signoffs.len(),
            gate.plan.required,
            gate.outstanding()
        ));
    }
    if approving && gate.outstanding() > 1 {
        return Ok(Some(format!(
            "{} more needed on {name}",
            plural(gate.outstanding() - 1, "sign-off")
        )));
    }
    Ok(None)
}

/// Whether a command is refused because of who gave it rather than where
/// the release stands: the deployer approving their own release, someone who
/// is not among a gate's approvers, a second signature by the same person.
/// The HTTP contract answers these with 403, the rest with 409.
pub fn refused_for_who(release: &Release, command: &Command) -> bool {
    let (gate, approving) = match &command.action {
        Action::Approve { gate, .. } => (gate, true),
        Action::Reject { gate, .. } => (gate, false),
        _ => return false,
    };
    resolve_gate(release, gate.as_deref()).is_ok_and(|gate| {
        gate.state == GateState::Open
            && check_signer(release, gate, command.operator.trim(), approving).is_err()
    })
}

fn check_rollback(release: &Release) -> Result<Option<String>, String> {
    match release.status {
        Status::RollingBack => Ok(Some(already_rolling_back(release, "already rolling back"))),
        Status::Finished(crate::model::Outcome::RolledBack) => {
            Ok(Some(already_rolling_back(release, "already rolled back")))
        }
        Status::Finished(outcome) => Err(format!(
            "the release has finished ({}); nothing is in flight to roll back",
            outcome.name()
        )),
        _ => Ok(None),
    }
}

/// Whether a rollback command from `operator` now only adds the reason to a
/// rollback they started themselves.
pub fn gives_rollback_reason(release: &Release, operator: &str) -> bool {
    matches!(
        release.status,
        Status::RollingBack | Status::Finished(crate::model::Outcome::RolledBack)
    ) && release.rollback.as_ref().is_some_and(|r| r.by == operator)
}

fn already_rolling_back(release: &Release, what: &str) -> String {
    match &release.rollback {
        Some(r) => format!(
            "{what} (started by {} at {})",
            r.by,
            r.started_at.strftime("%H:%M:%S")
        ),
        None => what.to_string(),
    }
}

fn check_tick(
    release: &Release,
    list: &str,
    item: &str,
    ticking: bool,
) -> Result<Option<String>, String> {
    let Some(checklist) = release.checklist(list) else {
        let known: Vec<&str> = release.checklists.iter().map(|c| c.id.as_str()).collect();
        return Err(format!(
            "no checklist \"{list}\" (checklists: {})",
            known.join(", ")
        ));
    };
    let Some(entry) = checklist.item(item) else {
        return Err(format!(
            "the {} checklist has no item \"{item}\"",
            checklist.name
        ));
    };
    let text = &entry.plan.text;
    if entry.plan.automatic {
        return Err(format!("\"{text}\" is checked automatically"));
    }
    let owner = release
        .stages
        .iter()
        .find(|s| s.plan.checklist.as_deref() == Some(list));
    if let Some(owner) = owner
        && owner.state == StageState::Pending
    {
        return Err(format!(
            "the {} checklist opens when \"{}\" starts",
            checklist.name,
            stage_name(owner)
        ));
    }
    let is_rollback_list = release
        .plan
        .as_ref()
        .and_then(|p| p.rollback_checklist.as_deref())
        == Some(list);
    if owner.is_none() && is_rollback_list && release.rollback.is_none() {
        return Err(format!(
            "the {} checklist opens when a rollback starts",
            checklist.name
        ));
    }
    if let Some(owner) = owner
        && owner.state.is_done()
    {
        return Err(format!(
            "\"{}\" is {}; its checklist is closed",
            stage_name(owner),
            match owner.state {
                StageState::Succeeded => "complete",
                StageState::Skipped => "skipped",
                StageState::Cancelled => "cancelled",
                _ => "over",
            }
        ));
    }
    if release.status.is_final() && !is_rollback_list {
        return Err("the release has finished; its checklists are closed".into());
    }
    match (&entry.ticked, ticking) {
        (Some(tick), true) => Err(format!(
            "\"{text}\" is already ticked by {} at {}",
            tick.by,
            tick.at.strftime("%H:%M:%S")
        )),
        (None, false) => Err(format!("\"{text}\" is not ticked")),
        _ => Ok(None),
    }
}

fn check_ack(release: &Release, rule: &str) -> Result<Option<String>, String> {
    if let Status::Finished(outcome) = release.status {
        return Err(format!(
            "the release has finished ({}); its alerts no longer need acknowledging",
            outcome.name()
        ));
    }
    match release.alerts.iter().find(|a| a.rule == rule) {
        Some(alert) if alert.state == crate::model::AlertState::Firing => Ok(None),
        Some(alert) if alert.state == crate::model::AlertState::Acknowledged => Err(format!(
            "{rule} is already acknowledged by {}",
            alert.acknowledged_by.as_deref().unwrap_or("someone")
        )),
        Some(_) => Err(format!("{rule} is not firing")),
        None => Err(format!("no alert from rule \"{rule}\" has fired")),
    }
}

/// The failed stage a retry names, or the one failed stage.
pub fn resolve_failed_stage<'r>(
    release: &'r Release,
    stage: Option<&str>,
) -> Result<&'r Stage, String> {
    let target = match stage {
        Some(id) => release
            .stage(id)
            .ok_or_else(|| format!("no stage \"{id}\""))?,
        None => release
            .stages
            .iter()
            .find(|s| s.state == StageState::Failed)
            .ok_or_else(|| "no stage has failed; there is nothing to retry".to_string())?,
    };
    if target.state != StageState::Failed {
        return Err(format!(
            "\"{}\" has not failed; only a failed stage can be retried",
            stage_name(target)
        ));
    }
    if !target.plan.kind.retryable() {
        return Err(format!("\"{}\" cannot be retried", stage_name(target)));
    }
    Ok(target)
}
