//! From the file as written to a plan and a script, checking as it goes.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use serde_saphyr::Location;

use super::raw::*;
use super::*;
use crate::model::{
    Approvers, ChecklistPlan, GatePlan, ItemPlan, ReleasePlan, Rule, StageKind, StagePlan, Step,
    StepKind, Strategy, Window,
    units::{Quantity, parse_duration, parse_quantity},
};

impl Checker {
    fn duration(&mut self, value: &S<String>) -> SignedDuration {
        parse_duration(&value.value).unwrap_or_else(|message| {
            self.problem(&value.referenced, message);
            SignedDuration::ZERO
        })
    }

    fn positive_duration(&mut self, value: &S<String>, what: &str) -> SignedDuration {
        let d = self.duration(value);
        if d.is_zero() && parse_duration(&value.value).is_ok() {
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
        if v < 0.0 || (series.is_ratio() && v > 1.0) {
            self.problem(
                &value.referenced,
                format!("`{}` is out of range for {series}", value.value),
            );
            return None;
        }
        Some(v)
    }
}

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
    let mut checklists = Vec::new();
    let mut list_ids = BTreeSet::new();
    for list in &raw.checklists {
        if !list_ids.insert(list.id.value.clone()) {
            c.problem(
                &list.id.referenced,
                format!("checklist \"{}\" is defined twice", list.id.value),
            );
        }
        let mut item_ids = BTreeSet::new();
        let mut items = Vec::new();
        if list.items.is_empty() {
            c.problem(
                &list.id.referenced,
                format!("checklist \"{}\" has no items", list.id.value),
            );
        }
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
        checklists.push(ChecklistPlan {
            id: list.id.value.clone(),
            name: list.name.clone(),
            items,
        });
    }

    let deployer = raw.release.deployer.value.trim().to_string();
    if deployer.is_empty() {
        c.problem(
            &raw.release.deployer.referenced,
            "the deployer's name is empty",
        );
    }

    let mut gates = Vec::new();
    let mut gate_ids = BTreeSet::new();
    for gate in &raw.gates {
        if !gate_ids.insert(gate.id.value.clone()) {
            c.problem(
                &gate.id.referenced,
                format!("gate \"{}\" is defined twice", gate.id.value),
            );
        }
        let approvers = match &gate.approvers.value {
            RawApprovers::Word(word) if word == "any" => Approvers::any(),
            RawApprovers::Word(word) => {
                c.problem(
                    &gate.approvers.referenced,
                    format!("approvers must be `any` or a list of names, not `{word}`"),
                );
                Approvers::any()
            }
            RawApprovers::Names(names) => Approvers::Named(names.clone()),
        };
        let plan = GatePlan {
            id: gate.id.value.clone(),
            name: gate.name.clone(),
            required: gate.required.value,
            approvers,
            self_approval: gate.self_approval,
        };
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
        }
        if let Some(eligible) = plan.eligible_named(&deployer) {
            let mut distinct: Vec<&str> = eligible.clone();
            distinct.sort_unstable();
            distinct.dedup();
            if distinct.is_empty() {
                let why = match &plan.approvers {
                    Approvers::Named(names) if names.iter().any(|n| n == &deployer) => format!(
                        ": its only approver, {deployer}, deployed this release and may not approve it"
                    ),
                    _ => String::new(),
                };
                c.problem(
                    &gate.approvers.referenced,
                    format!("nobody is allowed to approve gate \"{}\"{why}", plan.id),
                );
            } else if (distinct.len() as u32) < plan.required {
                c.problem(
                    &gate.approvers.referenced,
                    format!(
                        "gate \"{}\" needs {} sign-offs but only {} may approve it ({})",
                        plan.id,
                        plan.required,
                        if distinct.len() == 1 {
                            "1 person".to_string()
                        } else {
                            format!("{} people", distinct.len())
                        },
                        distinct.join(", ")
                    ),
                );
            }
        }
        gates.push(plan);
    }

    let mut stages = Vec::new();
    let mut stage_scripts = BTreeMap::new();
    let mut stage_ids = BTreeSet::new();
    let mut used_gates = BTreeSet::new();
    let mut used_lists = BTreeSet::new();
    let mut rollouts = 0;
    for stage in &raw.stages {
        let id = stage.id.value.clone();
        if !stage_ids.insert(id.clone()) {
            c.problem(
                &stage.id.referenced,
                format!("stage \"{id}\" is defined twice"),
            );
        }
        if stage.kind == StageKind::Rollout {
            rollouts += 1;
            if rollouts > 1 {
                c.problem(&stage.id.referenced, "a release has one rollout stage");
            }
        }
        if let Some(gate) = &stage.gate {
            if !gate_ids.contains(&gate.value) {
                c.problem(
                    &gate.referenced,
                    format!("no gate \"{}\" is defined", gate.value),
                );
            } else if !used_gates.insert(gate.value.clone()) {
                c.problem(
                    &gate.referenced,
                    format!("gate \"{}\" is used by two stages", gate.value),
                );
            }
        }
        if stage.kind == StageKind::Approval && stage.gate.is_none() {
            c.problem(
                &stage.id.referenced,
                format!("approval stage \"{id}\" names no gate"),
            );
        }
        if let Some(list) = &stage.checklist {
            if !list_ids.contains(&list.value) {
                c.problem(
                    &list.referenced,
                    format!("no checklist \"{}\" is defined", list.value),
                );
            } else if !used_lists.insert(list.value.clone()) {
                c.problem(
                    &list.referenced,
                    format!("checklist \"{}\" is used by two stages", list.value),
                );
            }
        }
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
        stage_scripts.insert(
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
    if raw.stages.is_empty() {
        c.problem(&Location::UNKNOWN, "a scenario needs at least one stage");
    } else if rollouts == 0 {
        c.problem(
            &raw.stages[0].id.referenced,
            "no stage has kind: rollout, so the strategy would never run",
        );
    }
    for gate in &raw.gates {
        if !used_gates.contains(&gate.id.value) {
            c.problem(
                &gate.id.referenced,
                format!("gate \"{}\" is not used by any stage", gate.id.value),
            );
        }
    }

    let (rollback_duration, rollback_checklist) = match &raw.rollback {
        Some(rb) => {
            let d = c.duration(&rb.duration);
            if let Some(list) = &rb.checklist
                && !list_ids.contains(&list.value)
            {
                c.problem(
                    &list.referenced,
                    format!("no checklist \"{}\" is defined", list.value),
                );
            }
            (d, rb.checklist.as_ref().map(|l| l.value.clone()))
        }
        None => (SignedDuration::from_secs(60), None),
    };

    let rules = match &raw.rules {
        None => Rule::runbook_defaults(),
        Some(raw_rules) => convert_rules(raw_rules, c),
    };

    let metrics = convert_metrics(raw.metrics.as_ref(), c);

    let window = raw.window.as_ref().map(|w| Window {
        start: w.start.value.parse::<Timestamp>().unwrap_or_else(|_| {
            c.problem(
                &w.start.referenced,
                format!(
                    "`{}` is not a time: write it in RFC 3339, like 2026-11-24T14:00:00Z",
                    w.start.value
                ),
            );
            Timestamp::UNIX_EPOCH
        }),
        length: c.positive_duration(&w.length, "the window's length"),
    });

    let trigger = |when: &RawWhen, c: &mut Checker, at: &Location| -> Trigger {
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
                if !stage_ids.contains(&stage.value) {
                    c.problem(
                        &stage.referenced,
                        format!("no stage \"{}\" is defined", stage.value),
                    );
                }
                Trigger::Stage {
                    stage: stage.value.clone(),
                    after,
                }
            }
            (None, None, Some(step)) => {
                let n = step.value;
                if n < 1 || n as usize > steps.len() {
                    c.problem(
                        &step.referenced,
                        format!(
                            "step {n} does not exist: the rollout has steps 1 to {}",
                            steps.len()
                        ),
                    );
                }
                Trigger::Step {
                    step: (n.max(1) - 1) as usize,
                    after,
                }
            }
            _ => {
                c.problem(at, "`when` takes exactly one of `at`, `stage` or `step`");
                Trigger::Elapsed(SignedDuration::ZERO)
            }
        }
    };

    let mut incidents = Vec::new();
    for inc in &raw.incidents {
        let when = trigger(&inc.when, c, &inc.series.referenced);
        let cohort = c.cohort(inc.cohort.as_ref());
        let Some(series) = c.series(&inc.series) else {
            continue;
        };
        let Some(to) = c.value_for(series, &inc.to) else {
            continue;
        };
        incidents.push(Incident {
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
        });
    }

    let mut actors = Vec::new();
    for actor in &raw.actors {
        let when = trigger(&actor.when, c, &actor.action.referenced);
        use crate::model::Action;
        let gate_ref = |c: &mut Checker| -> Option<String> {
            let gate = actor.gate.as_ref()?;
            if !gate_ids.contains(&gate.value) {
                c.problem(
                    &gate.referenced,
                    format!("no gate \"{}\" is defined", gate.value),
                );
            }
            Some(gate.value.clone())
        };
        let action = match actor.action.value {
            ActorDo::Approve => Action::Approve {
                gate: gate_ref(c),
                comment: actor.comment.clone(),
            },
            ActorDo::Reject => {
                if actor.comment.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    c.problem(
                        &actor.action.referenced,
                        "a rejection needs a `comment` giving the reason",
                    );
                }
                Action::Reject {
                    gate: gate_ref(c),
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
            ActorDo::Check => {
                let (Some(list), Some(item)) = (&actor.list, &actor.item) else {
                    c.problem(
                        &actor.action.referenced,
                        "`do: check` needs `list` and `item`",
                    );
                    continue;
                };
                match raw.checklists.iter().find(|l| l.id.value == list.value) {
                    None => c.problem(
                        &list.referenced,
                        format!("no checklist \"{}\" is defined", list.value),
                    ),
                    Some(l) => {
                        let known = checklists
                            .iter()
                            .find(|p| p.id == l.id.value)
                            .is_some_and(|p| p.items.iter().any(|i| i.id == item.value));
                        if !known {
                            c.problem(
                                &item.referenced,
                                format!(
                                    "checklist \"{}\" has no item \"{}\"",
                                    list.value, item.value
                                ),
                            );
                        }
                    }
                }
                Action::Check {
                    list: list.value.clone(),
                    item: item.value.clone(),
                }
            }
        };
        actors.push(Actor {
            name: actor.name.clone(),
            when,
            action,
        });
    }

    let release = &raw.release;
    let plan = ReleasePlan {
        id: release
            .id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", release.service, release.to)),
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

fn convert_strategy(raw: &RawStrategy, c: &mut Checker) -> Strategy {
    let final_100 = |c: &mut Checker, last: Option<&S<i64>>, what: &str| {
        if let Some(last) = last
            && last.value != 100
            && (0..=100).contains(&last.value)
        {
            c.problem(
                &last.referenced,
                format!("the last {what} is {}%, so the new version never takes all traffic; end with 100", last.value),
            );
        }
    };
    match raw {
        RawStrategy::Canary { steps } => {
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
            final_100(c, batches.last(), "batch");
            Strategy::Rolling {
                batches: pcts,
                health_check: c.positive_duration(health_check, "a health check"),
            }
        }
        RawStrategy::FeatureFlag { flag, ramps, pause } => {
            let pcts = ramps.iter().map(|r| c.percent(r, "a ramp")).collect();
            final_100(c, ramps.last(), "ramp");
            Strategy::FeatureFlag {
                flag: flag.clone(),
                ramps: pcts,
                pause: pause.as_ref().map(|p| c.positive_duration(p, "a pause")),
            }
        }
    }
}

pub(crate) fn convert_rules(raw: &[RawRule], c: &mut Checker) -> Vec<Rule> {
    let mut names = BTreeSet::new();
    let mut rules = Vec::new();
    for r in raw {
        if !names.insert(r.name.value.clone()) {
            c.problem(
                &r.name.referenced,
                format!("rule \"{}\" is defined twice", r.name.value),
            );
        }
        let hold = c.duration(&r.hold);
        let cohort = c.cohort(r.cohort.as_ref());
        match r.condition.value.parse() {
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
    }
    if let Some(t) = &raw.throughput {
        if t.value > 0.0 && t.value.is_finite() {
            profile.throughput = t.value;
        } else {
            c.problem(
                &t.referenced,
                "throughput must be more than zero requests per second",
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
