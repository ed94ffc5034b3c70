//! Whether a command may be applied now, and if not, why — in words an
//! operator under pressure can act on, and typed: refused for who gave it
//! (the contract's 403) or for where the release stands (409).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{
    Action, Command, Gate, GateState, Person, Release, Stage, StageState, Status, StepKind,
};

use super::time_left;
use crate::model::units::plural;

/// Why a command is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grounds {
    /// Because of who gave it: the deployer approving their own release,
    /// someone not among a gate's approvers, a second signature by the same
    /// person. The HTTP contract answers 403.
    Who,
    /// Because of where the release stands: not now, or not there (409).
    When,
}

/// A refused command: on what grounds, and the reason a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub grounds: Grounds,
    pub reason: String,
}

impl Refusal {
    pub fn who(reason: impl Into<String>) -> Refusal {
        Refusal {
            grounds: Grounds::Who,
            reason: reason.into(),
        }
    }

    pub fn when(reason: impl Into<String>) -> Refusal {
        Refusal {
            grounds: Grounds::When,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// What an accepted command acts on, resolved when it was checked (a sign-off
/// that names no gate is for the one open gate; a retry that names no stage
/// is for the one failed stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The release as a whole: its rollout (advance, promote, pause, resume)
    /// or a rollback.
    Release,
    /// The reason of a rollback (or a stop) the same operator started.
    RollbackReason,
    /// The release before anything reached production: a rollback asked
    /// for now stops it (there is nothing to roll back).
    Stop,
    /// A gate, by id.
    Gate(String),
    /// A stage, by id.
    Stage(String),
    /// A checklist item.
    Item { list: String, item: String },
    /// A rule's alert.
    Alert(String),
}

/// A command the policy accepts: the note it is accepted with (for example
/// "already rolling back") and what it acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    pub note: Option<String>,
    pub target: Target,
}

/// The outcome of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "VerdictRecord", from = "VerdictRecord")]
pub enum Verdict {
    Accepted { note: Option<String> },
    Refused(Refusal),
}

impl Verdict {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Verdict::Accepted { .. })
    }

    /// The refusal, when the command was refused.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Verdict::Refused(refusal) => Some(refusal),
            Verdict::Accepted { .. } => None,
        }
    }
}

impl From<Result<Permit, Refusal>> for Verdict {
    fn from(checked: Result<Permit, Refusal>) -> Verdict {
        match checked {
            Ok(permit) => Verdict::Accepted { note: permit.note },
            Err(refusal) => Verdict::Refused(refusal),
        }
    }
}

/// A verdict as the journal writes it: `accepted`, the note or reason as
/// `message`, and the grounds of a refusal (absent in journals written
/// before grounds were recorded; read as `when`).
#[derive(Serialize, Deserialize)]
struct VerdictRecord {
    accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grounds: Option<Grounds>,
}

impl From<Verdict> for VerdictRecord {
    fn from(verdict: Verdict) -> VerdictRecord {
        match verdict {
            Verdict::Accepted { note } => VerdictRecord {
                accepted: true,
                message: note,
                grounds: None,
            },
            Verdict::Refused(Refusal { grounds, reason }) => VerdictRecord {
                accepted: false,
                message: Some(reason),
                grounds: Some(grounds),
            },
        }
    }
}

impl From<VerdictRecord> for Verdict {
    fn from(record: VerdictRecord) -> Verdict {
        if record.accepted {
            Verdict::Accepted {
                note: record.message,
            }
        } else {
            Verdict::Refused(Refusal {
                grounds: record.grounds.unwrap_or(Grounds::When),
                reason: record.message.unwrap_or_default(),
            })
        }
    }
}

/// What the policy says of a command.
pub type Checked = Result<Permit, Refusal>;

/// Refused for where the release stands.
fn when<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::when(reason))
}

fn permit(note: Option<String>, target: Target) -> Checked {
    Ok(Permit { note, target })
}

/// Checks a command against the release: the permit to apply it, or the
/// refusal. A command that says what its operator had seen (`seen`) is
/// refused when what it acts on changed after that.
pub fn check(release: &Release, command: &Command, now: jiff::Timestamp) -> Checked {
    let Some(seen) = command.seen else {
        return check_now(release, command, now);
    };
    if seen > release.last_seq {
        return when(format!(
            "this command was given on a later state of the release than it has (seen seq {seen}, the release is at seq {}): it was meant for another window, and is not applied",
            release.last_seq
        ));
    }
    let permit = check_now(release, command, now)?;
    unchanged_since(release, &command.action, &permit.target, seen)?;
    Ok(permit)
}

/// Refuses a sign-off, rejection, tick or advance whose gate, item or step
/// changed after the operator saw it (at `seen`): what they acted on is not
/// what it would be applied to.
fn unchanged_since(
    release: &Release,
    action: &Action,
    target: &Target,
    seen: u64,
) -> Result<(), Refusal> {
    match (action, target) {
        (Action::Approve { .. } | Action::Reject { .. }, Target::Gate(id)) => {
            match release.gates.iter().find(|g| &g.plan.id == id) {
                Some(gate) if gate.changed_seq > seen => when(gate_changed(gate, action)),
                _ => Ok(()),
            }
        }
        (Action::Check { .. } | Action::Uncheck { .. }, Target::Item { list, item }) => {
            let entry = release.checklist(list).and_then(|c| c.item(item));
            match entry {
                Some(entry) if entry.changed_seq > seen => {
                    let now = match &entry.ticked {
                        Some(tick) => format!("ticked by {}", tick.by),
                        None => "not ticked".to_string(),
                    };
                    when(format!(
                        "\"{}\" changed after you last saw it (it is now {now}); look at it again",
                        entry.plan.text
                    ))
                }
                _ => Ok(()),
            }
        }
        (Action::Advance, _) if release.rollout.step_seq > seen => {
            let total = release.steps().len();
            let now = match release.current_step() {
                Some((i, step)) => {
                    format!("step {}/{total}, {}", i.saturating_add(1), step.describe())
                }
                None => "another step".to_string(),
            };
            when(format!(
                "the rollout moved on after you last saw it (it is now at {now}); look again before you advance it"
            ))
        }
        _ => Ok(()),
    }
}

/// Why a sign-off or rejection is refused on a gate that changed.
fn gate_changed(gate: &Gate, action: &Action) -> String {
    let what = if matches!(action, Action::Approve { .. }) {
        "sign-off"
    } else {
        "rejection"
    };
    let by = if gate.signoffs.is_empty() {
        String::new()
    } else {
        format!(": {}", names(gate.signoffs.iter().map(|s| &s.operator)))
    };
    format!(
        "{} changed after you last saw it (now {} of {} sign-offs{by}); your {what} is not applied: look at it again",
        gate.plan.name,
        gate.signoffs.len(),
        gate.plan.required
    )
}

/// The policy on the release as it is now, whatever the operator saw.
fn check_now(release: &Release, command: &Command, now: jiff::Timestamp) -> Checked {
    let operator = &command.operator;
    if release.status == Status::NotStarted {
        return when("the release has not started");
    }
    match &command.action {
        Action::Rollback { reason } => {
            let giving_reason = reason.as_deref().is_some_and(|r| !r.trim().is_empty())
                && gives_rollback_reason(release, operator);
            if giving_reason {
                permit(
                    Some(match release.stopped {
                        Some(_) => "reason added to the stop's record".into(),
                        None => "reason added to the rollback's record".into(),
                    }),
                    Target::RollbackReason,
                )
            } else if !release.rollout.began && release.status.in_flight() {
                permit(None, Target::Stop)
            } else {
                permit(check_rollback(release)?, Target::Release)
            }
        }
        Action::Check { list, item } => check_tick(release, list, item, true),
        Action::Uncheck { list, item } => check_tick(release, list, item, false),
        Action::Ack { rule } => check_ack(release, rule),
        // A simulated release has one revision: only a Rollout on a
        // cluster keeps the ones before it.
        Action::Undo { .. } => when(
            "this release keeps no earlier revision to go back to: undo puts a Rollout's previous pod template back (shipdeck --rollout NAME)",
        ),
        action => {
            if let Status::Finished(outcome) = release.status {
                return when(format!(
                    "the release has finished ({}); there is nothing left to {}",
                    outcome.name(),
                    action.words()
                ));
            }
            if release.status == Status::RollingBack {
                return when(format!(
                    "the release is rolling back; {} is no longer possible",
                    action.words()
                ));
            }
            let permit = check_in_flight(release, action, operator, now)?;
            match action {
                Action::Advance | Action::PromoteFull => {
                    in_time(release, action, command.late, now, permit)
                }
                _ => Ok(permit),
            }
        }
    }
}

/// A promote the rollout would take, checked against the calendar (see
/// [`calendar`]); a late one's note says so after the note it had.
fn in_time(
    release: &Release,
    action: &Action,
    late: bool,
    now: jiff::Timestamp,
    mut permit: Permit,
) -> Checked {
    let Some(plan) = &release.plan else {
        return Ok(permit);
    };
    if let Some(said) = calendar(&plan.freezes, plan.window, action, late, now)? {
        permit.note = Some(match permit.note {
            Some(note) => format!("{note}; {said}"),
            None => said,
        });
    }
    Ok(permit)
}

/// Whether a promote (advance, promote fully, a Rollout's promote, a
/// GitHub deployment's approval) may go out now by the calendar: refused
/// during a freeze, with its reason and when it reopens; after the window's
/// end refused unless the operator means it (`late`), and then allowed with
/// the note that it was late. Every adapter asks this before it sends.
pub fn calendar(
    freezes: &[crate::model::Freeze],
    window: Option<crate::model::Window>,
    action: &Action,
    late: bool,
    now: jiff::Timestamp,
) -> Result<Option<String>, Refusal> {
    if let Some(frozen) = crate::model::freeze::frozen(freezes, now) {
        return when(frozen.to_string());
    }
    let Some(end) = window.map(|w| w.end()).filter(|end| now >= *end) else {
        return Ok(None);
    };
    let closed = closed_at(end, now);
    if !late {
        let verb = match action {
            Action::PromoteFull => "promote",
            Action::Approve { .. } => "approve",
            _ => "advance",
        };
        return when(format!(
            "the window closed at {closed}; promote late only if you mean it (the console asks; `shipdeck do {verb} --late`)"
        ));
    }
    Ok(Some(format!(
        "late: the window closed at {closed}, {} before",
        super::time_left(now, end)
    )))
}

/// When a window closed, for people: `14:00 UTC`, with its date when that
/// was another day than `now`'s.
pub fn closed_at(end: jiff::Timestamp, now: jiff::Timestamp) -> String {
    let day = |t: jiff::Timestamp| t.strftime("%Y-%m-%d").to_string();
    match day(end) == day(now) {
        true => end.strftime("%H:%M UTC").to_string(),
        false => end.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// The commands that need the release in flight and not rolling back.
fn check_in_flight(
    release: &Release,
    action: &Action,
    operator: &Person,
    now: jiff::Timestamp,
) -> Checked {
    let on_release = |note| permit(note, Target::Release);
    match action {
        Action::Advance => on_release(check_advance(release, now)?),
        Action::PromoteFull => on_release(check_promote(release)?),
        Action::Pause { .. } => on_release(check_pause(release)?),
        Action::Resume => match &release.paused_by {
            Some(_) => on_release(None),
            None => when("the release is not paused"),
        },
        Action::Approve { gate, .. } => check_sign(
            release,
            resolve_gate(release, gate.as_deref())?,
            operator,
            true,
        ),
        Action::Reject { gate, reason } => {
            if reason.trim().is_empty() {
                return when("a rejection needs a reason for the record");
            }
            check_sign(
                release,
                resolve_gate(release, gate.as_deref())?,
                operator,
                false,
            )
        }
        Action::Retry { stage } => {
            let stage = resolve_failed_stage(release, stage.as_deref())?;
            permit(None, Target::Stage(stage.plan.id.clone()))
        }
        Action::Rollback { .. }
        | Action::Check { .. }
        | Action::Uncheck { .. }
        | Action::Ack { .. }
        | Action::Undo { .. } => unreachable!("checked by `check`"),
    }
}

fn stage_name(stage: &Stage) -> &str {
    &stage.plan.name
}

/// The rollout stage, if the release is on it and it has steps in progress.
fn active_rollout(release: &Release, verb: &str) -> Result<(), Refusal> {
    let Some(rollout) = release.rollout_stage() else {
        return when(format!("this release has no rollout to {verb}"));
    };
    match rollout.state {
        StageState::Running => Ok(()),
        StageState::Pending => when(match release.current_stage() {
            Some(current) => format!(
                "the rollout has not started: the release is at \"{}\"",
                stage_name(current)
            ),
            None => "the rollout has not started".into(),
        }),
        _ => when("the rollout is complete"),
    }
}

fn check_advance(release: &Release, now: jiff::Timestamp) -> Result<Option<String>, Refusal> {
    active_rollout(release, "advance")?;
    if let Some(by) = &release.paused_by {
        return when(format!("the release is paused by {by}; resume it first"));
    }
    let total = release.steps().len();
    match release.current_step() {
        Some((i, step)) if !release.rollout.step_completed => match step.kind {
            StepKind::Pause { .. } | StepKind::External { .. } => Ok(None),
            StepKind::Analysis { .. } => when(format!(
                "step {}/{total} ({}) is an analysis and cannot be skipped; it ends in {} (promote fully to skip every remaining step)",
                i + 1,
                step.describe(),
                release
                    .rollout
                    .until
                    .map(|until| time_left(until, now))
                    .unwrap_or_else(|| "a moment".into())
            )),
            _ => when(format!(
                "step {}/{total} ({}) is in progress, not a pause",
                i + 1,
                step.describe()
            )),
        },
        _ => when("the rollout is not holding at a pause"),
    }
}

fn check_promote(release: &Release) -> Result<Option<String>, Refusal> {
    active_rollout(release, "promote")?;
    if let Some(by) = &release.paused_by {
        return when(format!("the release is paused by {by}; resume it first"));
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

fn check_pause(release: &Release) -> Result<Option<String>, Refusal> {
    if let Some(by) = &release.paused_by {
        return when(format!("the release is already paused by {by}"));
    }
    match release.rollout_stage() {
        Some(rollout) if rollout.state == StageState::Running => Ok(None),
        Some(rollout) if rollout.state.is_done() => {
            when("the rollout is complete; only a rollout in progress can be paused")
        }
        _ => when(match release.current_stage() {
            Some(current) => format!(
                "only a rollout in progress can be paused; the release is at \"{}\"",
                stage_name(current)
            ),
            None => "only a rollout in progress can be paused".into(),
        }),
    }
}

/// Finds the gate a command names, or the one open gate when it names none.
pub fn resolve_gate<'r>(release: &'r Release, gate: Option<&str>) -> Result<&'r Gate, Refusal> {
    match gate {
        Some(id) => release
            .gates
            .iter()
            .find(|g| g.plan.id == id || g.plan.name.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                let known: Vec<&str> = release.gates.iter().map(|g| g.plan.id.as_str()).collect();
                Refusal::when(if known.is_empty() {
                    format!("no gate \"{id}\": this release has no gates")
                } else {
                    format!("no gate \"{id}\" (gates: {})", known.join(", "))
                })
            }),
        None => {
            let open: Vec<&Gate> = release
                .gates
                .iter()
                .filter(|g| g.state == GateState::Open)
                .collect();
            match open.as_slice() {
                [one] => Ok(one),
                [] => when("no gate is open for sign-off now"),
                many => when(format!(
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

fn check_sign(release: &Release, gate: &Gate, operator: &Person, approving: bool) -> Checked {
    let name = &gate.plan.name;
    match gate.state {
        GateState::Pending => {
            let opens_at = release
                .stages
                .iter()
                .find(|s| s.plan.gate.as_deref() == Some(gate.plan.id.as_str()))
                .map(|s| format!(": it opens when \"{}\" starts", stage_name(s)))
                .unwrap_or_default();
            return when(format!("{name} is not open yet{opens_at}"));
        }
        GateState::Approved => {
            let by = names(gate.signoffs.iter().map(|s| &s.operator));
            return when(format!("{name} is already approved (by {by})"));
        }
        GateState::Rejected => {
            let by = gate
                .rejection
                .as_ref()
                .map(|r| r.operator.as_str())
                .unwrap_or(crate::model::names::SOMEONE);
            return when(format!("{name} was rejected by {by}"));
        }
        GateState::Open => {}
    }
    let note = check_signer(release, gate, operator, approving)?;
    permit(note, Target::Gate(gate.plan.id.clone()))
}

/// Whether this person may sign this open gate; if not, refused for who.
fn check_signer(
    release: &Release,
    gate: &Gate,
    operator: &Person,
    approving: bool,
) -> Result<Option<String>, Refusal> {
    let name = &gate.plan.name;
    let deployer = release.deployer();
    let is_deployer = deployer == Some(operator);
    if approving && is_deployer && !gate.plan.self_approval {
        let written = also_written(operator, deployer);
        return Err(Refusal::who(format!(
            "{operator} deployed this release{written} and cannot approve it"
        )));
    }
    let may_sign = gate.plan.approvers.includes(operator) || (!approving && is_deployer);
    if !may_sign {
        let list = match &gate.plan.approvers {
            crate::model::Approvers::Named(people) => names(people),
            crate::model::Approvers::Any(_) => "anyone".into(),
        };
        let verb = if approving { "approve" } else { "reject" };
        return Err(Refusal::who(format!(
            "{operator} may not {verb} {name} (approvers: {list})"
        )));
    }
    if approving && gate.signed_by(operator) {
        let signed = gate.signoffs.iter().find(|s| s.operator == *operator);
        let written = also_written(operator, signed.map(|s| &s.operator));
        return Err(Refusal::who(format!(
            "{operator} has already signed {name}{written}; the same person counts once ({} of {} sign-offs, {} more needed from someone else)",
            gate.signoffs.len(),
            gate.plan.required,
            gate.outstanding()
        )));
    }
    if approving && gate.outstanding() > 1 {
        return Ok(Some(format!(
            "{} more needed on {name}",
            plural(gate.outstanding() - 1, "sign-off")
        )));
    }
    Ok(None)
}

/// People's names, as written, between commas.
fn names<'a>(people: impl IntoIterator<Item = &'a Person>) -> String {
    let written: Vec<&str> = people.into_iter().map(Person::as_str).collect();
    written.join(", ")
}

/// ` (as carol)` when the same person was recorded with another spelling:
/// names are compared as people read them, so `Carol` is `carol`.
fn also_written(operator: &Person, recorded: Option<&Person>) -> String {
    match recorded {
        Some(recorded) if recorded.as_str() != operator.as_str() => format!(" (as {recorded})"),
        _ => String::new(),
    }
}

fn check_rollback(release: &Release) -> Result<Option<String>, Refusal> {
    match release.status {
        Status::RollingBack => Ok(Some(already_rolling_back(release, "already rolling back"))),
        Status::Finished(crate::model::Outcome::RolledBack) => {
            Ok(Some(already_rolling_back(release, "already rolled back")))
        }
        Status::Finished(outcome) => when(format!(
            "the release has finished ({}); nothing is in flight to roll back",
            outcome.name()
        )),
        _ => Ok(None),
    }
}

/// Whether a rollback command from `operator` now only adds the reason to a
/// rollback they started themselves.
pub fn gives_rollback_reason(release: &Release, operator: &Person) -> bool {
    let rolled_back = matches!(
        release.status,
        Status::RollingBack | Status::Finished(crate::model::Outcome::RolledBack)
    ) && release.rollback.as_ref().is_some_and(|r| r.by == *operator);
    rolled_back || release.stopped.as_ref().is_some_and(|s| s.by == *operator)
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

fn check_tick(release: &Release, list: &str, item: &str, ticking: bool) -> Checked {
    let Some(checklist) = release.checklist(list) else {
        let known: Vec<&str> = release.checklists.iter().map(|c| c.id.as_str()).collect();
        return when(format!(
            "no checklist \"{list}\" (checklists: {})",
            known.join(", ")
        ));
    };
    let Some(entry) = checklist.item(item) else {
        return when(format!(
            "the {} checklist has no item \"{item}\"",
            checklist.name
        ));
    };
    let text = &entry.plan.text;
    if entry.plan.automatic {
        return when(format!("\"{text}\" is checked automatically"));
    }
    let owner = release
        .stages
        .iter()
        .find(|s| s.plan.checklist.as_deref() == Some(list));
    if let Some(owner) = owner
        && owner.state == StageState::Pending
    {
        return when(format!(
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
        return when(format!(
            "the {} checklist opens when a rollback starts",
            checklist.name
        ));
    }
    if let Some(owner) = owner
        && owner.state.is_done()
    {
        return when(format!(
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
        return when("the release has finished; its checklists are closed");
    }
    match (&entry.ticked, ticking) {
        (Some(tick), true) => when(format!(
            "\"{text}\" is already ticked by {} at {}",
            tick.by,
            tick.at.strftime("%H:%M:%S")
        )),
        (None, false) => when(format!("\"{text}\" is not ticked")),
        _ => permit(
            None,
            Target::Item {
                list: list.to_string(),
                item: item.to_string(),
            },
        ),
    }
}

fn check_ack(release: &Release, rule: &str) -> Checked {
    if let Status::Finished(outcome) = release.status {
        return when(format!(
            "the release has finished ({}); its alerts no longer need acknowledging",
            outcome.name()
        ));
    }
    match release.alerts.iter().find(|a| a.rule == rule) {
        Some(alert) if alert.state == crate::model::AlertState::Firing => {
            permit(None, Target::Alert(rule.to_string()))
        }
        Some(alert) if alert.state == crate::model::AlertState::Acknowledged => when(format!(
            "{rule} is already acknowledged by {}",
            alert
                .acknowledged_by
                .as_ref()
                .map_or(crate::model::names::SOMEONE, Person::as_str)
        )),
        Some(_) => when(format!("{rule} is not firing")),
        None => when(format!("no alert from rule \"{rule}\" has fired")),
    }
}

/// The failed stage a retry names, or the one failed stage.
pub fn resolve_failed_stage<'r>(
    release: &'r Release,
    stage: Option<&str>,
) -> Result<&'r Stage, Refusal> {
    let target = match stage {
        Some(id) => release
            .stage(id)
            .ok_or_else(|| Refusal::when(format!("no stage \"{id}\"")))?,
        None => release
            .stages
            .iter()
            .find(|s| s.state == StageState::Failed)
            .ok_or_else(|| Refusal::when("no stage has failed; there is nothing to retry"))?,
    };
    if target.state != StageState::Failed {
        return when(format!(
            "\"{}\" has not failed; only a failed stage can be retried",
            stage_name(target)
        ));
    }
    if !target.plan.kind.retryable() {
        return when(format!("\"{}\" cannot be retried", stage_name(target)));
    }
    Ok(target)
}
