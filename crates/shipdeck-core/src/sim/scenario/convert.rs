//! From the file as written to a plan and a script, checking as it goes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde_saphyr::Location;

use super::raw::*;
use super::*;
use crate::model::{
    Action, Approvers, ChecklistPlan, Condition, GatePlan, ItemPlan, MAX_SIGNOFFS, Person,
    ReleasePlan, Rule, StageKind, StagePlan, Step, StepKind, Strategy, Window, time,
    units::{Quantity, parse_clock_duration, parse_quantity},
};

impl Checker {
    /// Reports an id met before among `seen` (a second checklist, gate,
    /// stage or rule of one name).
    fn unique(&mut self, seen: &mut BTreeSet<String>, id: &S<String>, what: &str) {
        if !seen.insert(id.value.clone()) {
            self.problem(
                &id.referenced,
                format!("{what} \"{}\" is defined twice", id.value),
            );
        }
    }

    /// Reports a reference to a checklist, gate or stage nothing defines.
    fn undefined(&mut self, id: &S<String>, what: &str) {
        self.whole_file(
            &id.referenced,
            format!("no {what} \"{}\" is defined", id.value),
        );
    }

    /// A duration the release's clock keeps: whole seconds.
    fn duration(&mut self, value: &S<String>) -> SignedDuration {
        parse_clock_duration(&value.value).unwrap_or_else(|message| {
            self.problem(&value.referenced, message);
            SignedDuration::ZERO
        })
    }

    fn positive_duration(&mut self, value: &S<String>, what: &str) -> SignedDuration {
        let d = self.duration(value);
        if d.is_zero() && parse_clock_duration(&value.value).is_ok() {
            self.problem(
                &value.referenced,
                format!("{what} must be longer than zero"),
            );
        }
        d
    }

    fn percent(&mut self, value: &S<i64>, what: &str) -> u8 {
        match u8::try_from(value.value) {
            Ok(v) if v <= 100 => v,
            _ => {
                self.problem(
                    &value.referenced,
                    format!(
                        "{what} of {} is out of range: it must be between 0 and 100",
                        value.value
                    ),
                );
                0
            }
        }
    }

    fn series(&mut self, value: &S<String>) -> Option<Series> {
        value
            .value
            .parse()
            .map_err(|message: String| self.problem(&value.referenced, message))
            .ok()
    }

    fn cohort(&mut self, value: Option<&S<String>>) -> Cohort {
        match value {
            None => Cohort::Canary,
            Some(v) => v.value.parse().unwrap_or_else(|message: String| {
                self.problem(&v.referenced, message);
                Cohort::Canary
            }),
        }
    }

    /// A value in a series' unit: `14%` for rates, `250ms` for latencies.
    fn value_for(&mut self, series: Series, value: &S<String>) -> Option<f64> {
        let quantity = match parse_quantity(&value.value) {
            Ok(q) => q,
            Err(message) => {
                self.problem(&value.referenced, message);
                return None;
            }
        };
        let v = match (quantity, series) {
            (Quantity::Percent(v), s) if s.is_ratio() => v,
            (Quantity::Seconds(v), s) if s.is_latency() => v,
            (Quantity::PerSecond(v) | Quantity::Plain(v), Series::Throughput) => v,
            (_, s) => {
                let hint = if s.is_ratio() {
                    "a percentage like 0.5%"
                } else if s.is_latency() {
                    "a latency like 180ms"
                } else {
                    "requests per second like 1200"
                };
                self.problem(
                    &value.referenced,
                    format!("{s} takes {hint}, not `{}`", value.value),
                );
                return None;
            }
        };
        if !(0.0..=series.most()).contains(&v) {
            self.problem(
                &value.referenced,
                format!(
                    "`{}` is out of range for {series}: {}",
                    value.value,
                    series.range()
                ),
            );
            return None;
        }
        Some(v)
    }
}

/// The longest metric interval: an hour between samples.
const MAX_INTERVAL: SignedDuration = SignedDuration::from_hours(1);

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

fn default_stage_duration(kind: StageKind) -> SignedDuration {
    SignedDuration::from_secs(match kind {
        StageKind::Build => 120,
        StageKind::Test => 180,
        StageKind::Deploy => 90,
        StageKind::Validation => 60,
        StageKind::Verification => 120,
        StageKind::Monitoring => 600,
        StageKind::Approval | StageKind::Rollout => 0,
    })
}

fn stage_title(kind: StageKind) -> &'static str {
    match kind {
        StageKind::Build => "Build and package",
        StageKind::Test => "Test",
        StageKind::Deploy => "Deploy",
        StageKind::Validation => "Validation",
        StageKind::Approval => "Approval",
        StageKind::Rollout => "Rollout",
        StageKind::Verification => "Post-deployment verification",
        StageKind::Monitoring => "Monitoring",
    }
}

pub(super) fn convert(raw: RawScenario, c: &mut Checker) -> Scenario {
    let strategy = convert_strategy(&raw.strategy, c);
    let steps = strategy.steps();
    // Checklists first: stages refer to them.
    let checklists = convert_checklists(&raw.checklists, c);
    let deployer = convert_deployer(&raw.release.deployer, c);
    let gates = convert_gates(&raw.gates, &deployer, c);
    let (stages, stage_scripts) = convert_stages(&raw.stages, &gates, &checklists, c);
    check_gates_used(&raw.gates, &stages, c);
    let (rollback_duration, rollback_checklist) =
        convert_rollback(raw.rollback.as_ref(), &checklists, c);
    let rules = match &raw.rules {
        None => Rule::runbook_defaults(),
        Some(raw_rules) => convert_rules(raw_rules, c),
    };
    let metrics = convert_metrics(raw.metrics.as_ref(), c);
    let window = raw.window.as_ref().map(|w| convert_window(w, c));
    let defined = Defined {
        checklists: &checklists,
        gates: &gates,
        stages: &stages,
        steps: steps.len(),
    };
    let incidents = raw
        .incidents
        .iter()
        .filter_map(|inc| convert_incident(inc, &defined, c))
        .collect();
    let actors = raw
        .actors
        .iter()
        .filter_map(|actor| convert_actor(actor, &defined, c))
        .collect();

    let release = &raw.release;
    // A release's id travels in addresses and commands: it must read the
    // same cleaned as written (the release line's place stands for it).
    // One made from the service and version is made from their clean text.
    if release.id.as_deref().is_some_and(|id| {
        id.chars()
            .any(|ch| ch.is_control() || crate::model::text::is_unsafe(ch))
    }) {
        c.problem(
            &release.deployer.referenced,
            "release id: holds a control or invisible character; write it as plain text",
        );
    }
    let plan = ReleasePlan {
        id: release.id.clone().unwrap_or_else(|| {
            crate::model::text::clean(&format!("{}-{}", release.service, release.to)).into_owned()
        }),
        service: release.service.clone(),
        version_from: release.from.clone(),
        version_to: release.to.clone(),
        environment: release.environment.clone(),
        deployer,
        strategy,
        steps,
        stages,
        gates,
        checklists,
        rules,
        rollback_checklist,
        window,
        decided_by: None,
        freezes: Vec::new(),
    };
    Scenario {
        own_rules: raw.rules.is_some(),
        plan,
        script: Script {
            stages: stage_scripts,
            metrics,
            incidents,
            actors,
            rollback_duration,
        },
    }
}

/// What the scenario defines, for the sections that refer to it by id.
struct Defined<'a> {
    checklists: &'a [ChecklistPlan],
    gates: &'a [GatePlan],
    stages: &'a [StagePlan],
    /// How many steps the strategy expands to.
    steps: usize,
}

impl Defined<'_> {
    fn checklist(&self, id: &str) -> Option<&ChecklistPlan> {
        self.checklists.iter().find(|l| l.id == id)
    }

    fn gate(&self, id: &str) -> bool {
        self.gates.iter().any(|g| g.id == id)
    }

    fn stage(&self, id: &str) -> bool {
        self.stages.iter().any(|s| s.id == id)
    }
}

fn convert_checklists(raw: &[RawChecklist], c: &mut Checker) -> Vec<ChecklistPlan> {
    let mut ids = BTreeSet::new();
    raw.iter()
        .map(|list| {
            c.unique(&mut ids, &list.id, "checklist");
            convert_checklist(list, c)
        })
        .collect()
}

/// One checklist; an item without an id takes one from its text.
fn convert_checklist(list: &RawChecklist, c: &mut Checker) -> ChecklistPlan {
    if list.items.is_empty() {
        c.whole_file(
            &list.id.referenced,
            format!("checklist \"{}\" has no items", list.id.value),
        );
    }
    let mut item_ids = BTreeSet::new();
    let mut items = Vec::new();
    for item in &list.items {
        let (id, at) = match &item.id {
            Some(id) => (id.value.clone(), id.referenced),
            None => (slug(&item.text.value), item.text.referenced),
        };
        if !item_ids.insert(id.clone()) {
            c.problem(
                &at,
                format!(
                    "item \"{id}\" appears twice in checklist \"{}\"",
                    list.id.value
                ),
            );
        }
        items.push(ItemPlan {
            id,
            text: item.text.value.clone(),
            automatic: item.automatic,
        });
    }
    ChecklistPlan {
        id: list.id.value.clone(),
        name: list.name.clone(),
        items,
    }
}

fn convert_deployer(raw: &S<String>, c: &mut Checker) -> Person {
    person(&raw.value, "the deployer's name", &raw.referenced, c)
}

/// A person's name from the file; a name no person can have is a problem
/// at `at`, said as `what: why` (and the name is kept as written, so the
/// rest of the file is still checked).
fn person(name: &str, what: &str, at: &Location, c: &mut Checker) -> Person {
    match Person::new(name) {
        Ok(person) => person,
        Err(why) => {
            c.problem(at, format!("{what}: {why}"));
            Person::own(name)
        }
    }
}

/// A gate's named approvers: each a person (or `$operator`, whoever runs
/// the scenario), each once, as people read names.
fn convert_approvers(names: &[String], at: &Location, c: &mut Checker) -> Vec<Person> {
    let mut people: Vec<Person> = Vec::new();
    for name in names {
        let person = if name.trim() == AT_THE_KEYS {
            Person::own(AT_THE_KEYS)
        } else {
            person(name, "an approver's name", at, c)
        };
        match people.iter().find(|p| **p == person) {
            Some(same) => c.problem(
                at,
                format!(
                    "approvers `{same}` and `{person}` are one person: names are compared as people read them, whatever their case or width"
                ),
            ),
            None => people.push(person),
        }
    }
    people
}

fn convert_gates(raw: &[RawGate], deployer: &Person, c: &mut Checker) -> Vec<GatePlan> {
    let mut ids = BTreeSet::new();
    raw.iter()
        .map(|gate| {
            c.unique(&mut ids, &gate.id, "gate");
            convert_gate(gate, deployer, c)
        })
        .collect()
}

fn convert_gate(gate: &RawGate, deployer: &Person, c: &mut Checker) -> GatePlan {
    let approvers = match &gate.approvers.value {
        RawApprovers::Word(word) if word == "any" => Approvers::any(),
        RawApprovers::Word(word) => {
            c.problem(
                &gate.approvers.referenced,
                format!("approvers must be `any` or a list of names, not `{word}`"),
            );
            Approvers::any()
        }
        RawApprovers::Names(names) => {
            Approvers::Named(convert_approvers(names, &gate.approvers.referenced, c))
        }
    };
    let plan = GatePlan {
        id: gate.id.value.clone(),
        name: gate.name.clone(),
        required: gate.required.value,
        approvers,
        self_approval: gate.self_approval,
    };
    // `required` left out is 1, and has no place in the file.
    let required_at = if gate.required.referenced == Location::UNKNOWN {
        gate.id.referenced
    } else {
        gate.required.referenced
    };
    if plan.required == 0 {
        c.problem(
            &required_at,
            "a gate needs at least one sign-off (required: 1 or more)",
        );
    } else if plan.required > MAX_SIGNOFFS {
        c.problem(
            &required_at,
            format!(
                "a gate needing {} sign-offs could not be signed in a window: at most {MAX_SIGNOFFS}",
                plan.required
            ),
        );
    }
    check_enough_approvers(&plan, deployer, &gate.approvers.referenced, c);
    plan
}

/// A gate of named approvers must have as many distinct people allowed to
/// sign it as it needs sign-offs.
fn check_enough_approvers(plan: &GatePlan, deployer: &Person, at: &Location, c: &mut Checker) {
    let Some(distinct) = plan.eligible_named(deployer) else {
        return;
    };
    if distinct.is_empty() {
        let why = match &plan.approvers {
            Approvers::Named(names) if names.contains(deployer) => format!(
                ": its only approver, {deployer}, deployed this release and may not approve it"
            ),
            _ => String::new(),
        };
        c.whole_file(
            at,
            format!("nobody is allowed to approve gate \"{}\"{why}", plan.id),
        );
    } else if (distinct.len() as u32) < plan.required {
        c.whole_file(
            at,
            format!(
                "gate \"{}\" needs {} sign-offs but only {} may approve it ({})",
                plan.id,
                plan.required,
                if distinct.len() == 1 {
                    "1 person".to_string()
                } else {
                    format!("{} people", distinct.len())
                },
                distinct
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// The stages, and how the simulator plays each one's work.
/// The most stages a pipeline has, and steps a canary: more is no one's
/// window, and every stage and step costs the console and the simulator.
pub(crate) const MAX_STAGES: usize = 500;
pub(crate) const MAX_STEPS: usize = 500;

fn convert_stages(
    raw: &[RawStage],
    gates: &[GatePlan],
    checklists: &[ChecklistPlan],
    c: &mut Checker,
) -> (Vec<StagePlan>, BTreeMap<String, StageScript>) {
    let mut stages = Vec::new();
    let mut scripts = BTreeMap::new();
    let mut ids = BTreeSet::new();
    let mut used_gates = BTreeSet::new();
    let mut used_lists = BTreeSet::new();
    let mut rollouts = 0;
    if let Some(past) = raw.get(MAX_STAGES) {
        c.problem(
            &past.id.referenced,
            format!(
                "a pipeline of {} stages is more than anyone runs in a window: at most {MAX_STAGES}",
                raw.len()
            ),
        );
    }
    for stage in raw {
        let id = stage.id.value.clone();
        c.unique(&mut ids, &stage.id, "stage");
        if stage.kind == StageKind::Rollout {
            rollouts += 1;
            if rollouts > 1 {
                c.problem(&stage.id.referenced, "a release has one rollout stage");
            }
        }
        if let Some(gate) = &stage.gate {
            let defined = gates.iter().any(|g| g.id == gate.value);
            check_used_once(gate, "gate", defined, &mut used_gates, c);
        }
        if stage.kind == StageKind::Approval && stage.gate.is_none() {
            c.whole_file(
                &stage.id.referenced,
                format!("approval stage \"{id}\" names no gate"),
            );
        }
        if let Some(list) = &stage.checklist {
            let defined = checklists.iter().any(|l| l.id == list.value);
            check_used_once(list, "checklist", defined, &mut used_lists, c);
        }
        let duration = stage_duration(stage, c);
        scripts.insert(
            id.clone(),
            StageScript {
                duration,
                fails: stage.fails.clone(),
            },
        );
        stages.push(StagePlan {
            id,
            name: stage
                .name
                .clone()
                .unwrap_or_else(|| stage_title(stage.kind).to_string()),
            kind: stage.kind,
            expected: stage.kind.has_backend_work().then_some(duration),
            gate: stage.gate.as_ref().map(|g| g.value.clone()),
            checklist: stage.checklist.as_ref().map(|l| l.value.clone()),
        });
    }
    if raw.is_empty() {
        c.problem(&Location::UNKNOWN, "a scenario needs at least one stage");
    } else if rollouts == 0 {
        c.whole_file(
            &raw[0].id.referenced,
            "no stage has kind: rollout, so the strategy would never run",
        );
    }
    (stages, scripts)
}

/// A stage's gate or checklist: defined, and no other stage's.
fn check_used_once(
    id: &S<String>,
    what: &str,
    defined: bool,
    used: &mut BTreeSet<String>,
    c: &mut Checker,
) {
    if !defined {
        c.undefined(id, what);
    } else if !used.insert(id.value.clone()) {
        c.problem(
            &id.referenced,
            format!("{what} \"{}\" is used by two stages", id.value),
        );
    }
}

/// How long a stage's work takes; only a stage with work of its own may
/// say.
fn stage_duration(stage: &RawStage, c: &mut Checker) -> SignedDuration {
    let duration = match &stage.duration {
        Some(d) => c.duration(d),
        None => default_stage_duration(stage.kind),
    };
    if let Some(d) = &stage.duration
        && !stage.kind.has_backend_work()
    {
        c.problem(
            &d.referenced,
            format!(
                "a {} stage takes as long as its {} take; it has no duration of its own",
                stage_title(stage.kind).to_lowercase(),
                if stage.kind == StageKind::Rollout {
                    "steps"
                } else {
                    "sign-offs"
                }
            ),
        );
    }
    duration
}

/// Every gate is some stage's: a gate no stage waits on would never open.
fn check_gates_used(raw: &[RawGate], stages: &[StagePlan], c: &mut Checker) {
    for gate in raw {
        if !stages
            .iter()
            .any(|s| s.gate.as_deref() == Some(gate.id.value.as_str()))
        {
            c.whole_file(
                &gate.id.referenced,
                format!("gate \"{}\" is not used by any stage", gate.id.value),
            );
        }
    }
}

/// How long a rollback takes, and the checklist worked through after it.
fn convert_rollback(
    raw: Option<&RawRollback>,
    checklists: &[ChecklistPlan],
    c: &mut Checker,
) -> (SignedDuration, Option<String>) {
    let Some(rb) = raw else {
        return (SignedDuration::from_secs(60), None);
    };
    let d = c.duration(&rb.duration);
    if let Some(list) = &rb.checklist
        && !checklists.iter().any(|l| l.id == list.value)
    {
        c.undefined(list, "checklist");
    }
    (d, rb.checklist.as_ref().map(|l| l.value.clone()))
}

fn convert_window(raw: &RawWindow, c: &mut Checker) -> Window {
    let window = Window {
        start: time::parse(&raw.start.value).unwrap_or_else(|message| {
            c.problem(
                &raw.start.referenced,
                format!("the window's start {message}"),
            );
            Timestamp::UNIX_EPOCH
        }),
        length: c.positive_duration(&raw.length, "the window's length"),
    };
    if time::is_carried(window.start) && !time::is_carried(window.end()) {
        c.problem(
            &raw.length.referenced,
            format!(
                "the window would end at {}, out of range: shipdeck keeps times from {}",
                window.end(),
                time::range()
            ),
        );
    }
    window
}

/// When an incident or an actor's action happens; a `when` that is not
/// exactly one of its forms is reported at `at`.
fn convert_trigger(when: &RawWhen, at: &Location, defined: &Defined, c: &mut Checker) -> Trigger {
    let after = when
        .after
        .as_ref()
        .map(|a| c.duration(a))
        .unwrap_or(SignedDuration::ZERO);
    match (&when.at, &when.stage, &when.step) {
        (Some(at), None, None) => {
            if when.after.is_some() {
                c.problem(&at.referenced, "`at` already says when; drop `after`");
            }
            Trigger::Elapsed(c.duration(at))
        }
        (None, Some(stage), None) => {
            if !defined.stage(&stage.value) {
                c.undefined(stage, "stage");
            }
            Trigger::Stage {
                stage: stage.value.clone(),
                after,
            }
        }
        (None, None, Some(step)) => {
            let n = step.value;
            if n < 1 || n as usize > defined.steps {
                c.whole_file(
                    &step.referenced,
                    format!(
                        "step {n} does not exist: the rollout has steps 1 to {}",
                        defined.steps
                    ),
                );
            }
            Trigger::Step {
                step: (n.max(1) - 1) as usize,
                after,
            }
        }
        _ => {
            c.whole_file(at, "`when` takes exactly one of `at`, `stage` or `step`");
            Trigger::Elapsed(SignedDuration::ZERO)
        }
    }
}

/// An incident, or none when its series or its value cannot be read.
fn convert_incident(inc: &RawIncident, defined: &Defined, c: &mut Checker) -> Option<Incident> {
    let when = convert_trigger(&inc.when, &inc.series.referenced, defined, c);
    let cohort = c.cohort(inc.cohort.as_ref());
    let series = c.series(&inc.series)?;
    let to = c.value_for(series, &inc.to)?;
    Some(Incident {
        name: inc.name.clone(),
        when,
        cohort,
        series,
        to,
        ramp: inc
            .ramp
            .as_ref()
            .map(|r| c.duration(r))
            .unwrap_or(SignedDuration::from_secs(60)),
        logs: inc.logs.clone(),
    })
}

/// A scripted actor, or none when what it does cannot be known.
fn convert_actor(actor: &RawActor, defined: &Defined, c: &mut Checker) -> Option<Actor> {
    let when = convert_trigger(&actor.when, &actor.action.referenced, defined, c);
    let action = convert_action(actor, defined, c)?;
    let name = person(
        &actor.name.value,
        "a scripted person's name",
        &actor.name.referenced,
        c,
    );
    Some(Actor { name, when, action })
}

fn convert_action(actor: &RawActor, defined: &Defined, c: &mut Checker) -> Option<Action> {
    let gate = |c: &mut Checker| -> Option<String> {
        let gate = actor.gate.as_ref()?;
        if !defined.gate(&gate.value) {
            c.undefined(gate, "gate");
        }
        Some(gate.value.clone())
    };
    Some(match actor.action.value {
        ActorDo::Approve => Action::Approve {
            gate: gate(c),
            comment: actor.comment.clone(),
        },
        ActorDo::Reject => {
            if actor.comment.as_deref().is_none_or(|r| r.trim().is_empty()) {
                c.whole_file(
                    &actor.action.referenced,
                    "a rejection needs a `comment` giving the reason",
                );
            }
            Action::Reject {
                gate: gate(c),
                reason: actor.comment.clone().unwrap_or_default(),
            }
        }
        ActorDo::Advance => Action::Advance,
        ActorDo::PromoteFull => Action::PromoteFull,
        ActorDo::Pause => Action::Pause {
            reason: actor.comment.clone(),
        },
        ActorDo::Resume => Action::Resume,
        ActorDo::Rollback => Action::Rollback {
            reason: actor.comment.clone(),
        },
        ActorDo::Check => return convert_check(actor, defined, c),
    })
}

/// `do: check`: a list and an item of it, or nothing to do.
fn convert_check(actor: &RawActor, defined: &Defined, c: &mut Checker) -> Option<Action> {
    let (Some(list), Some(item)) = (&actor.list, &actor.item) else {
        c.whole_file(
            &actor.action.referenced,
            "`do: check` needs `list` and `item`",
        );
        return None;
    };
    match defined.checklist(&list.value) {
        None => c.undefined(list, "checklist"),
        Some(plan) if !plan.items.iter().any(|i| i.id == item.value) => c.whole_file(
            &item.referenced,
            format!(
                "checklist \"{}\" has no item \"{}\"",
                list.value, item.value
            ),
        ),
        Some(_) => {}
    }
    Some(Action::Check {
        list: list.value.clone(),
        item: item.value.clone(),
    })
}

fn convert_strategy(raw: &RawStrategy, c: &mut Checker) -> Strategy {
    let final_100 = |c: &mut Checker, last: Option<&S<i64>>, what: &str| {
        if let Some(last) = last
            && last.value != 100
            && (0..=100).contains(&last.value)
        {
            c.whole_file(
                &last.referenced,
                format!("the last {what} is {}%, so the new version never takes all traffic; end with 100", last.value),
            );
        }
    };
    match raw {
        RawStrategy::Canary { steps } => {
            if let Some(past) = steps.get(MAX_STEPS) {
                let at = match past {
                    RawStep::SetWeight(w) => &w.referenced,
                    RawStep::Pause(s) | RawStep::Analysis(s) => &s.referenced,
                };
                c.problem(
                    at,
                    format!(
                        "a canary of {} steps is more than anyone runs in a window: at most {MAX_STEPS}",
                        steps.len()
                    ),
                );
            }
            let mut out = Vec::new();
            let mut last_weight = None;
            for step in steps {
                out.push(Step::plain(match step {
                    RawStep::SetWeight(w) => {
                        last_weight = Some(w);
                        StepKind::SetWeight {
                            weight: c.percent(w, "a canary weight"),
                        }
                    }
                    RawStep::Pause(p) => {
                        let word = p.value.trim();
                        let duration = if matches!(word, "until advanced" | "indefinite" | "manual")
                        {
                            None
                        } else {
                            Some(c.positive_duration(p, "a timed pause"))
                        };
                        StepKind::Pause { duration }
                    }
                    RawStep::Analysis(d) => StepKind::Analysis {
                        duration: c.positive_duration(d, "an analysis"),
                    },
                }));
            }
            let weights: Vec<&S<i64>> = steps
                .iter()
                .filter_map(|s| match s {
                    RawStep::SetWeight(w) => Some(w),
                    _ => None,
                })
                .collect();
            only_up(c, weights, "canary weight");
            match last_weight {
                None => c.problem(&Location::UNKNOWN, "the canary has no set_weight step"),
                Some(last) => final_100(c, Some(last), "canary weight"),
            }
            Strategy::Canary { steps: out }
        }
        RawStrategy::BlueGreen {
            active,
            preview_analysis,
            keep_previous,
        } => Strategy::BlueGreen {
            active: *active,
            preview_analysis: c.positive_duration(preview_analysis, "the preview analysis"),
            keep_previous: c.duration(keep_previous),
        },
        RawStrategy::Rolling {
            batches,
            health_check,
        } => {
            let pcts = batches.iter().map(|b| c.percent(b, "a batch")).collect();
            only_up(c, batches.iter().collect(), "batch");
            final_100(c, batches.last(), "batch");
            Strategy::Rolling {
                batches: pcts,
                health_check: c.positive_duration(health_check, "a health check"),
            }
        }
        RawStrategy::FeatureFlag { flag, ramps, pause } => {
            let pcts = ramps.iter().map(|r| c.percent(r, "a ramp")).collect();
            only_up(c, ramps.iter().collect(), "ramp");
            final_100(c, ramps.last(), "ramp");
            Strategy::FeatureFlag {
                flag: flag.clone(),
                ramps: pcts,
                pause: pause.as_ref().map(|p| c.positive_duration(p, "a pause")),
            }
        }
    }
}

/// Each share of traffic at least the one before: a rollout that takes
/// traffic back is a rollback, which is the operator's (or a rule's) to give.
fn only_up(c: &mut Checker, shares: Vec<&S<i64>>, what: &str) {
    let in_range = |s: &&S<i64>| (0..=100).contains(&s.value);
    let shares: Vec<&S<i64>> = shares.into_iter().filter(in_range).collect();
    for pair in shares.windows(2) {
        let (before, now) = (pair[0], pair[1]);
        if now.value < before.value {
            c.problem(
                &now.referenced,
                format!(
                    "the {what} goes down from {}% to {}%: a rollout only moves traffic to the new version (rolling back is the operator's or a rule's)",
                    before.value, now.value
                ),
            );
        }
    }
}

pub(crate) fn convert_rules(raw: &[RawRule], c: &mut Checker) -> Vec<Rule> {
    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for r in raw {
        c.unique(&mut names, &r.name, "rule");
        // A rule acts as `rule:NAME`: its name is a name like a person's.
        if let Err(why) = Person::recorded(&format!(
            "{}{}",
            crate::model::names::RULE_PREFIX,
            r.name.value
        )) {
            c.problem(&r.name.referenced, format!("the rule's name: {why}"));
        }
        let hold = c.duration(&r.hold);
        let cohort = c.cohort(r.cohort.as_ref());
        match Condition::meant(&r.condition.value) {
            Ok(condition) => rules.push(Rule {
                name: r.name.value.clone(),
                condition,
                hold,
                severity: r.severity,
                action: r.action,
                cohort,
            }),
            Err(message) => c.problem(&r.condition.referenced, message),
        }
    }
    rules
}

fn convert_metrics(raw: Option<&RawMetrics>, c: &mut Checker) -> MetricProfile {
    let mut stable: BTreeMap<Series, f64> = BTreeMap::from([
        (Series::ErrorRate, 0.003),
        (Series::LatencyP50, 0.045),
        (Series::LatencyP95, 0.180),
        (Series::LatencyP99, 0.420),
        (Series::Availability, 0.9998),
    ]);
    let mut profile = MetricProfile {
        interval: SignedDuration::from_secs(15),
        throughput: 1200.0,
        noise: 0.05,
        stable: BTreeMap::new(),
        canary: BTreeMap::new(),
    };
    let Some(raw) = raw else {
        profile.canary = stable.clone();
        profile.stable = stable;
        return profile;
    };
    if let Some(i) = &raw.interval {
        profile.interval = c.positive_duration(i, "the metric interval");
        if profile.interval > MAX_INTERVAL {
            c.problem(
                &i.referenced,
                "the metric interval is at most 1h: rules judge each sample, and a release needs them more often",
            );
            profile.interval = MAX_INTERVAL;
        }
    }
    if let Some(t) = &raw.throughput {
        if t.value > 0.0 && t.value <= Series::Throughput.most() {
            profile.throughput = t.value;
        } else {
            c.problem(
                &t.referenced,
                "throughput must be more than zero requests per second, and at most a billion",
            );
        }
    }
    if let Some(n) = &raw.noise {
        match parse_quantity(&n.value) {
            Ok(Quantity::Percent(v)) if (0.0..=0.5).contains(&v) => profile.noise = v,
            _ => c.problem(&n.referenced, "noise is a percentage between 0% and 50%"),
        }
    }
    let read =
        |map: &BTreeMap<String, S<String>>, into: &mut BTreeMap<Series, f64>, c: &mut Checker| {
            for (name, value) in map {
                match name.trim().parse::<Series>() {
                    Ok(Series::Throughput) => c.problem(
                        &value.referenced,
                        "throughput is set once under metrics, for both versions together",
                    ),
                    Ok(series) => {
                        if let Some(v) = c.value_for(series, value) {
                            into.insert(series, v);
                        }
                    }
                    Err(message) => c.problem(&value.referenced, message),
                }
            }
        };
    read(&raw.baseline, &mut stable, c);
    let mut canary = stable.clone();
    read(&raw.canary, &mut canary, c);
    profile.stable = stable;
    profile.canary = canary;
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(required: u32, names: &[&str], self_approval: bool) -> GatePlan {
        GatePlan {
            id: "production".into(),
            name: "Production".into(),
            required,
            approvers: Approvers::Named(names.iter().map(|n| Person::own(n)).collect()),
            self_approval,
        }
    }

    fn enough(plan: &GatePlan, deployer: &str) -> Vec<String> {
        let mut c = Checker::default();
        check_enough_approvers(plan, &Person::own(deployer), &Location::UNKNOWN, &mut c);
        match c.finish(()) {
            Ok(()) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| p.message).collect(),
        }
    }

    #[test]
    fn a_gate_counts_each_approver_once_and_not_the_deployer_who_may_not_sign() {
        assert!(enough(&gate(2, &["dave", "erin"], false), "carol").is_empty());
        assert_eq!(
            enough(&gate(2, &["dave", "dave", "carol"], false), "carol"),
            ["gate \"production\" needs 2 sign-offs but only 1 person may approve it (dave)"]
        );
        assert!(enough(&gate(2, &["dave", "carol"], true), "carol").is_empty());
        assert_eq!(
            enough(&gate(1, &["carol"], false), "carol"),
            [
                "nobody is allowed to approve gate \"production\": its only approver, carol, deployed this release and may not approve it"
            ]
        );
    }

    /// A pipeline or a canary longer than any window runs is refused at
    /// the first stage or step past the bound, before the simulator's
    /// cost, which grows with both, is paid.
    #[test]
    fn more_stages_or_steps_than_a_window_runs_are_refused() {
        let stages: Vec<String> = (0..=MAX_STAGES)
            .map(|n| format!("{{ id: s{n}, kind: build }}"))
            .collect();
        let steps: Vec<String> = (0..=MAX_STEPS)
            .map(|_| "{ set_weight: 100 }".to_string())
            .collect();
        let text = format!(
            "release: {{ service: s, from: v1, to: v2, deployer: carol }}\n\
             strategy: {{ canary: {{ steps: [ {} ] }} }}\n\
             stages: [ {}, {{ id: r, kind: rollout }} ]\n",
            steps.join(", "),
            stages.join(", ")
        );
        let problems = super::super::parse(&text).err().unwrap_or_default();
        let said: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            said.contains(
                &"a pipeline of 502 stages is more than anyone runs in a window: at most 500"
            ),
            "{said:?}"
        );
        assert!(
            said.contains(
                &"a canary of 501 steps is more than anyone runs in a window: at most 500"
            ),
            "{said:?}"
        );
        assert_eq!(problems.len(), 2, "{said:?}");
    }

    /// `check` says where a name no person can have is, and why.
    #[test]
    fn a_name_no_person_can_have_is_a_problem_where_it_is_written() {
        let scenario = |deployer: &str, approvers: &str, actor: &str| {
            format!(
                "release: {{ service: s, from: v1, to: v2, deployer: \"{deployer}\" }}\n\
                 strategy: {{ canary: {{ steps: [ {{ set_weight: 100 }} ] }} }}\n\
                 gates: [ {{ id: prod, name: Prod, required: 1, approvers: {approvers} }} ]\n\
                 stages: [ {{ id: a, name: A, kind: approval, gate: prod }}, {{ id: r, name: R, kind: rollout }} ]\n\
                 actors: [ {{ name: \"{actor}\", when: {{ stage: a, after: 1m }}, do: approve, gate: prod }} ]\n"
            )
        };
        let messages = |text: String| -> Vec<String> {
            match super::super::parse(&text) {
                Ok(_) => Vec::new(),
                Err(problems) => problems.into_iter().map(|p| p.message).collect(),
            }
        };
        assert_eq!(
            messages(scenario("carol", "any", "dave")),
            Vec::<String>::new()
        );
        let said = messages(scenario("carol\\u200b", "any", "dave"));
        assert!(said.iter().any(|m| m.starts_with("the deployer's name: a name may not hold an invisible formatting character (U+200B)")), "{said:?}");
        let said = messages(scenario("carol", "[dave, Dave, erin]", "dave"));
        assert!(
            said.iter()
                .any(|m| m.contains("`dave` and `Dave` are one person")),
            "{said:?}"
        );
        let said = messages(scenario("carol", "[dave, \"\\u202eevad\"]", "dave"));
        assert!(
            said.iter()
                .any(|m| m.contains("bidirectional") && m.contains("U+202E")),
            "{said:?}"
        );
        let said = messages(scenario("carol", "any", "rule:ErrorRateRollback"));
        assert!(said.iter().any(|m| m.starts_with("a scripted person's name: `rule:ErrorRateRollback` is a name shipdeck uses for itself")), "{said:?}");
        let said = messages(scenario("autopilot", "any", "dave"));
        assert!(
            said.iter().any(|m| m.contains("shipdeck uses for itself")),
            "{said:?}"
        );
    }

    #[test]
    fn problems_at_one_place_come_in_the_order_the_sections_are_checked() {
        let text = "release: { service: s, from: v1, to: v2, deployer: dave }\n\
                    strategy: { canary: { steps: [ { pause: 1m } ] } }\n\
                    stages: []\n";
        let problems = super::super::parse(text).unwrap_err();
        let messages: Vec<_> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the canary has no set_weight step",
                "a scenario needs at least one stage"
            ]
        );
    }
}
