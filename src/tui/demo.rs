//! Drives an [`App`] through a bundled scenario without a terminal, to a
//! chosen moment: for snapshot tests, screenshots and benchmarks.

use jiff::SignedDuration;

use super::app::{App, Effect, Msg};
use super::keymap::KeyMap;
use super::theme::Theme;
use crate::backend::{Connection, Update};
use crate::model::time::Saturating;
use crate::model::{Action, Command, GateState, Person, Release, StepKind};
use crate::sim::{SimOptions, Simulator, bundled, scenario};

/// An app watching a bundled scenario (seed 1, the scenario's own times), fed
/// until `until` holds. Where the release would wait for a colleague to
/// confirm the staging configuration, one does.
///
/// # Panics
/// If the scenario is not bundled, or never reaches the moment within six
/// hours of virtual time: both are mistakes in the caller.
pub fn watching(
    name: &str,
    operator: &str,
    autopilot: bool,
    theme: Theme,
    until: impl Fn(&Release) -> bool,
) -> (App, Simulator) {
    watching_with(name, operator, autopilot, theme, |_| {}, until)
}

/// As [`watching`], the scenario's plan changed first (as a config changes
/// it: its freezes, its rules).
pub fn watching_with(
    name: &str,
    operator: &str,
    autopilot: bool,
    theme: Theme,
    plan: impl FnOnce(&mut crate::model::ReleasePlan),
    until: impl Fn(&Release) -> bool,
) -> (App, Simulator) {
    let mut scenario = scenario::parse(bundled::get(name).expect("a bundled scenario"))
        .expect("bundled scenarios are valid");
    plan(&mut scenario.plan);
    // As the console does: the operator is at the keys.
    let operator = Person::new(operator).expect("a person's name");
    scenario.seat(&operator);
    let mut sim = Simulator::new(
        scenario,
        SimOptions {
            autopilot,
            ..SimOptions::default()
        },
    );
    let mut app = App::new(
        operator.clone(),
        format!("sim:{name}"),
        KeyMap::default(),
        theme,
        crate::model::DEFAULT_LOG_CAPACITY,
        "demo",
    );
    feed(&mut app, Update::Connection(Connection::Live));
    feed(&mut app, Update::Events(sim.start()));
    let limit = sim.origin().plus(SignedDuration::from_hours(6));
    while !until(&app.release) {
        let at_staging_checks = app
            .release
            .current_stage()
            .is_some_and(|s| s.plan.id == "staging-validation");
        if sim.stalled() && at_staging_checks {
            let tick = Command::new(
                "colleague-config",
                Person::new("frank").expect("a name"),
                Action::Check {
                    list: "staging-validation".into(),
                    item: "config".into(),
                },
            );
            feed(&mut app, Update::Events(sim.submit(tick).1));
        }
        let due = sim.next_due().expect("the scenario reaches the moment");
        assert!(due < limit, "the scenario never reached the moment");
        let events = sim.advance_to(due);
        feed(&mut app, Update::Events(events));
    }
    feed(&mut app, Update::Clock(sim.now()));
    (app, sim)
}

/// Gives the app a backend's update where no runtime draws: what it asks
/// for is only ever a redraw, which the caller does when it likes, or the
/// bell, which has no terminal here to ring.
pub fn feed(app: &mut App, update: Update) {
    let effects = app.update(Msg::Backend(update));
    debug_assert!(
        effects
            .iter()
            .all(|e| matches!(e, Effect::Redraw(_) | Effect::Bell | Effect::Notify(_))),
        "a backend's update only asks for a redraw: {effects:?}"
    );
}

/// The production gate is open for sign-off.
pub fn at_approval(r: &Release) -> bool {
    r.gate("production")
        .is_some_and(|g| g.state == GateState::Open)
}

/// The rollout holds at a pause that only an operator can end.
pub fn at_manual_pause(r: &Release) -> bool {
    r.current_step()
        .is_some_and(|(_, s)| matches!(s.kind, StepKind::Pause { duration: None }))
        && !r.rollout().step_completed
}
