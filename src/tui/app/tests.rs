//! `App::update`, key by key: what the operator presses, what is sent, what
//! they are told.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use jiff::SignedDuration;

use super::*;
use crate::backend::{ReplayControl, Update};
use crate::model::{Action, Release, Status};
use crate::sim::Simulator;

/// An app watching a bundled scenario in the default theme.
pub(crate) fn watching(
    name: &str,
    operator: &str,
    autopilot: bool,
    until: impl Fn(&Release) -> bool,
) -> (App, Simulator) {
    crate::tui::demo::watching(
        name,
        operator,
        autopilot,
        Theme::default_theme(false),
        until,
    )
}

/// What a key does beyond being drawn: the commands, replay steering and
/// quitting it asks of the runtime.
pub(crate) fn key(app: &mut App, event: KeyEvent) -> Vec<Effect> {
    let mut effects = app.update(Msg::Key(event));
    assert_eq!(
        effects.pop(),
        Some(Effect::Redraw(Redraw::Now)),
        "a key is drawn at once"
    );
    effects
}

pub(crate) fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    key(app, KeyEvent::new(code, KeyModifiers::NONE))
}

pub(crate) fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    key(app, KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// Gives the app a backend's update, as the runtime would.
pub(crate) fn feed(app: &mut App, update: Update) {
    crate::tui::demo::feed(app, update);
}

pub(crate) fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn sent(effects: &[Effect]) -> Vec<Action> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(command) => Some(command.action.clone()),
            Effect::Quit
            | Effect::Replay(_)
            | Effect::Redraw(_)
            | Effect::Bell
            | Effect::Leave(_)
            | Effect::Notify(_) => None,
        })
        .collect()
}

fn status(app: &App) -> (Tone, String) {
    let s = app.status.clone().expect("the operator was told something");
    (s.tone, s.text)
}

pub(crate) use crate::tui::demo::{at_approval, at_manual_pause};

#[test]
fn q_and_ctrl_c_quit() {
    let (mut app, _) = watching("happy-canary", "dave", false, |_| true);
    assert_eq!(press(&mut app, KeyCode::Char('q')), vec![Effect::Quit]);
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit]);
    // Ctrl+C quits even from inside a dialog.
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit]);
}

#[test]
fn question_mark_opens_help_and_esc_or_question_mark_closes_it() {
    let (mut app, _) = watching("happy-canary", "dave", false, |_| true);
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.mode, Mode::Help));
    assert!(
        press(&mut app, KeyCode::Char('a')).is_empty(),
        "keys do not leak through help"
    );
    assert!(matches!(app.mode, Mode::Help));
    press(&mut app, KeyCode::Esc);
    assert!(!app.mode.is_modal());
    press(&mut app, KeyCode::Char('?'));
    press(&mut app, KeyCode::Char('?'));
    assert!(!app.mode.is_modal());
}

#[test]
fn tab_and_shift_tab_move_between_panes() {
    let (mut app, _) = watching("happy-canary", "dave", false, |_| true);
    assert_eq!(app.focus, Pane::Gates);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Logs);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Board);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Logs);
}

#[test]
fn a_sends_advance_as_this_operator_and_says_so() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let effects = press(&mut app, KeyCode::Char('a'));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(command.action, Action::Advance);
    assert_eq!(command.operator, "dave");
    assert_eq!(
        status(&app),
        (
            Tone::Pending,
            "advance: sent, waiting for the backend…".into()
        )
    );
    let second = press(&mut app, KeyCode::Char('a'));
    let [Effect::Send(again)] = second.as_slice() else {
        panic!()
    };
    assert_ne!(command.id, again.id, "every command has its own id");
}

#[test]
fn the_backends_verdict_is_shown_accepted_or_refused_with_the_reason() {
    let (mut app, mut sim) = watching("happy-canary", "carol", false, |_| true);
    let effects = press(&mut app, KeyCode::Char('a'));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let id = command.id.clone();
    let (verdict, events) = sim.submit(command.clone());
    feed(&mut app, Update::Events(events));
    feed(&mut app, Update::Verdict { id, verdict });
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "advance: refused — the rollout has not started: the release is at \"Build and package\"".into()
        )
    );
    assert!(app.pending.is_empty());
}

#[test]
fn the_deployer_is_told_at_once_that_they_cannot_sign_and_their_typing_runs_nothing() {
    let (mut app, _) = watching("happy-canary", "carol", true, at_approval);
    assert!(press(&mut app, KeyCode::Char('s')).is_empty());
    let Mode::Refusal { reason, .. } = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(reason, "carol deployed this release and cannot approve it");
    // What carol meant as a comment must not run as keys: r, p, a, Space,
    // l, g, ?… (only R rolls back, from here as from everywhere).
    for c in "ready? lgtm: roll it out, pause after a bit".chars() {
        assert!(
            press(&mut app, KeyCode::Char(c)).is_empty(),
            "{c:?} ran as a key"
        );
    }
    assert!(ctrl(&mut app, 's').is_empty());
    press(&mut app, KeyCode::Esc);
    assert!(!app.mode.is_modal());
}

#[test]
fn s_opens_a_comment_box_and_ctrl_s_signs_the_open_gate() {
    let (mut app, mut sim) = watching("happy-canary", "erin", false, at_approval);
    press(&mut app, KeyCode::Char('s'));
    let Mode::SignOff { gate, .. } = &app.mode else {
        panic!("{:?}", app.mode)
    };
    assert_eq!(gate, "production");
    type_text(&mut app, "LGTM");
    press(&mut app, KeyCode::Enter);
    type_text(&mut app, "error budget ok");
    let effects = ctrl(&mut app, 's');
    assert!(!app.mode.is_modal());
    assert_eq!(
        sent(&effects),
        vec![Action::Approve {
            gate: Some("production".into()),
            comment: Some("LGTM\nerror budget ok".into()),
        }]
    );
    let Effect::Send(command) = &effects[0] else {
        panic!()
    };
    let (verdict, events) = sim.submit(command.clone());
    assert!(verdict.is_accepted());
    feed(&mut app, Update::Events(events));
    let gate = app.release.gate("production").unwrap();
    assert_eq!(
        gate.signoffs[0].operator, "erin",
        "the gate shows who signed"
    );
}

#[test]
fn esc_cancels_a_sign_off_and_nothing_is_sent() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    press(&mut app, KeyCode::Char('s'));
    type_text(&mut app, "half a thought");
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(!app.mode.is_modal());
    assert_eq!(status(&app).0, Tone::Info);
}

#[test]
fn s_before_the_gate_opens_says_when_it_will() {
    let (mut app, _) = watching("happy-canary", "erin", false, |_| true);
    assert!(press(&mut app, KeyCode::Char('s')).is_empty());
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "Production deploy approval is not open yet: it opens when \"Production approval\" starts".into()
        )
    );
    assert!(matches!(app.mode, Mode::Refusal { .. }));
}

#[test]
fn r_retries_a_failed_stage() {
    let (mut app, _) = watching("rolling", "priya", false, |r| {
        r.stages()
            .iter()
            .any(|s| s.state == crate::model::StageState::Failed)
    });
    assert!(
        app.hints()
            .iter()
            .any(|(k, what)| k == "r" && *what == "retry")
    );
    assert_eq!(
        sent(&press(&mut app, KeyCode::Char('r'))),
        vec![Action::Retry { stage: None }]
    );
}

#[test]
fn a_rollback_that_cannot_happen_is_not_sent_and_opens_no_box() {
    let (mut app, _) = watching("approval-rejected", "dave", true, |r| r.status().is_final());
    assert!(press(&mut app, KeyCode::Char('R')).is_empty());
    assert!(!app.mode.is_modal());
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "rollback: the release has finished (aborted); nothing is in flight to roll back"
                .into()
        )
    );
}

#[test]
fn what_others_do_to_the_release_is_announced() {
    let (app, _) = watching("canary-regression", "dave", true, |r| {
        r.rollback().is_some()
    });
    let (tone, text) = status(&app);
    assert_eq!(tone, Tone::Refused);
    assert!(
        text.starts_with("automatic rollback: ErrorRateRollback: canary error_rate"),
        "{text}"
    );
}

#[test]
fn the_cursor_moves_to_the_next_checklist_when_the_stage_changes() {
    let (mut app, mut sim) = watching("happy-canary", "dave", false, |r| {
        r.current_stage()
            .is_some_and(|s| s.plan.id == "staging-validation")
            && r.checklist("staging-validation")
                .is_some_and(|c| c.unticked().count() == 1)
    });
    let config = app
        .rows()
        .iter()
        .position(|r| matches!(r, Row::Item { item, .. } if item == "config"))
        .unwrap();
    press(&mut app, KeyCode::Char('g'));
    for _ in 0..config {
        press(&mut app, KeyCode::Down);
    }
    let effects = press(&mut app, KeyCode::Char(' '));
    let Effect::Send(command) = &effects[0] else {
        panic!("{effects:?}")
    };
    let (_, events) = sim.submit(command.clone());
    feed(&mut app, Update::Events(events));
    while !at_approval(&app.release) {
        let due = sim.next_due().unwrap();
        feed(&mut app, Update::Events(sim.advance_to(due)));
    }
    // Now the pre-deployment checklist shows; the cursor is on its first open item.
    let Some(Row::Item { list, item }) = app.cursor.clone() else {
        panic!("{:?}", app.cursor)
    };
    assert_eq!((list.as_str(), item.as_str()), ("pre-deployment", "bugs"));
}

#[test]
fn x_rejects_only_with_a_reason() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    press(&mut app, KeyCode::Char('x'));
    assert!(matches!(app.mode, Mode::Reject { .. }));
    assert!(
        ctrl(&mut app, 's').is_empty(),
        "an empty reason is not sent"
    );
    assert!(
        matches!(app.mode, Mode::Reject { .. }),
        "the box stays open"
    );
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "a rejection needs a reason for the record".into()
        )
    );
    type_text(&mut app, "no rollback plan");
    let effects = ctrl(&mut app, 's');
    assert_eq!(
        sent(&effects),
        vec![Action::Reject {
            gate: Some("production".into()),
            reason: "no rollback plan".into()
        }]
    );
}

#[test]
fn shift_r_rolls_back_at_once_then_offers_a_reason() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let effects = press(&mut app, KeyCode::Char('R'));
    assert_eq!(
        sent(&effects),
        vec![Action::Rollback { reason: None }],
        "sent on the keystroke"
    );
    assert!(matches!(app.mode, Mode::RollbackReason { .. }));
    type_text(&mut app, "p99 doubled");
    let effects = ctrl(&mut app, 's');
    assert_eq!(
        sent(&effects),
        vec![Action::Rollback {
            reason: Some("p99 doubled".into())
        }]
    );
    // Esc instead sends nothing more.
    press(&mut app, KeyCode::Char('R'));
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(
        status(&app),
        (
            Tone::Info,
            "rollback sent, not answered yet; no reason added".into()
        )
    );
}

#[test]
fn a_refused_rollback_closes_its_reason_box() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let effects = press(&mut app, KeyCode::Char('R'));
    let id = effects
        .iter()
        .find_map(|e| match e {
            Effect::Send(command) => Some(command.id.clone()),
            _ => None,
        })
        .expect("a rollback sent");
    assert!(matches!(app.mode, Mode::RollbackReason { .. }));
    let refusal = crate::engine::policy::Refusal::when("the API server cannot be reached");
    feed(
        &mut app,
        Update::Verdict {
            id,
            verdict: crate::engine::Verdict::Refused(refusal),
        },
    );
    assert!(
        matches!(app.mode, Mode::Normal),
        "no reason for a rollback that did not happen"
    );
    let (tone, text) = status(&app);
    assert_eq!(tone, Tone::Refused);
    assert!(
        text.contains("refused — the API server cannot be reached"),
        "{text}"
    );
}

#[test]
fn capital_r_rolls_back_from_every_box_and_ctrl_r_from_a_box_of_text() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let rollback = vec![Action::Rollback { reason: None }];
    // Help, the promote confirmation, a refusal: R closes the box and rolls back.
    let open_help = |app: &mut App| {
        press(app, KeyCode::Char('?'));
    };
    let open_confirmation = |app: &mut App| {
        press(app, KeyCode::Char('F'));
        assert!(matches!(app.mode, Mode::ConfirmPromote));
    };
    let open_refusal = |app: &mut App| {
        app.mode = Mode::Refusal {
            title: "You cannot sign off now".into(),
            reason: "no gate is open".into(),
        };
    };
    for open in [
        &open_help as &dyn Fn(&mut App),
        &open_confirmation,
        &open_refusal,
    ] {
        open(&mut app);
        assert!(app.mode.is_modal());
        assert!(
            app.hints()
                .iter()
                .any(|(k, what)| k == "R" && *what == "roll back"),
            "the box's key bar offers R: {:?}",
            app.hints()
        );
        assert_eq!(sent(&press(&mut app, KeyCode::Char('R'))), rollback);
        assert!(
            matches!(app.mode, Mode::RollbackReason { .. }),
            "{:?}",
            app.mode
        );
        press(&mut app, KeyCode::Esc);
    }
    // A box of text takes R as a letter, and Ctrl+R rolls back.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "ERROR");
    assert!(
        matches!(app.mode, Mode::Filter { .. }),
        "R typed into the filter"
    );
    assert!(
        app.hints()
            .iter()
            .any(|(k, what)| k == "Ctrl+R" && *what == "roll back"),
        "{:?}",
        app.hints()
    );
    assert_eq!(sent(&ctrl(&mut app, 'r')), rollback);
    assert!(matches!(app.mode, Mode::RollbackReason { .. }));
}

#[test]
fn a_refusal_box_lets_the_keys_that_only_look_through() {
    let (mut app, _) = watching("happy-canary", "carol", true, at_approval);
    press(&mut app, KeyCode::Char('s'));
    assert!(matches!(app.mode, Mode::Refusal { .. }));
    assert_eq!(app.focus, Pane::Gates);
    assert!(press(&mut app, KeyCode::Tab).is_empty());
    assert!(!app.mode.is_modal(), "Tab closed the refusal");
    assert_eq!(app.focus, Pane::Logs, "and moved to the next pane");
}

#[test]
fn capital_f_asks_and_only_y_promotes() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    assert!(press(&mut app, KeyCode::Char('F')).is_empty());
    assert!(matches!(app.mode, Mode::ConfirmPromote));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert_eq!(
        status(&app),
        (Tone::Info, "full promotion cancelled".into())
    );
    press(&mut app, KeyCode::Char('F'));
    assert_eq!(
        sent(&press(&mut app, KeyCode::Char('y'))),
        vec![Action::PromoteFull]
    );
}

#[test]
fn p_pauses_and_on_a_paused_release_resumes() {
    let (mut app, mut sim) = watching("happy-canary", "dave", true, at_manual_pause);
    let effects = press(&mut app, KeyCode::Char('p'));
    assert_eq!(sent(&effects), vec![Action::Pause { reason: None }]);
    let Effect::Send(command) = &effects[0] else {
        panic!()
    };
    let (_, events) = sim.submit(command.clone());
    feed(&mut app, Update::Events(events));
    assert_eq!(app.release.status(), Status::Paused);
    assert_eq!(
        sent(&press(&mut app, KeyCode::Char('p'))),
        vec![Action::Resume]
    );
}

#[test]
fn arrows_and_jk_move_the_selection_and_space_ticks_the_selected_item() {
    let (mut app, _) = watching("happy-canary", "dave", false, at_approval);
    let rows = app.rows();
    assert_eq!(rows[0], Row::Gate("production".into()));
    // Row 3 is "No critical or high bugs", a manual pre-deployment item.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.cursor, Some(rows[3].clone()));
    let effects = press(&mut app, KeyCode::Char(' '));
    assert_eq!(
        sent(&effects),
        vec![Action::Check {
            list: "pre-deployment".into(),
            item: "bugs".into()
        }]
    );
    assert_eq!(
        status(&app).1,
        "tick \"No critical or high bugs\": sent, waiting for the backend…"
    );
    // An item already ticked is unticked.
    press(&mut app, KeyCode::Char('g'));
    press(&mut app, KeyCode::Down);
    let effects = press(&mut app, KeyCode::Char(' '));
    assert!(
        matches!(sent(&effects)[0], Action::Uncheck { .. }),
        "{effects:?}"
    );
    // On a gate row, Space says what to do instead.
    press(&mut app, KeyCode::Char('g'));
    assert!(press(&mut app, KeyCode::Char(' ')).is_empty());
    assert_eq!(status(&app).0, Tone::Info);
}

#[test]
fn in_the_log_pane_keys_scroll_and_g_follows_again() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.logs().len() > 200);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Logs);
    assert!(app.logs.follow);
    press(&mut app, KeyCode::Up);
    assert!(!app.logs.follow, "scrolling back stops following");
    assert_eq!(app.logs.below(), 1);
    press(&mut app, KeyCode::PageUp);
    assert!(app.logs.below() > 1);
    press(&mut app, KeyCode::Char('g'));
    let at_top = app.logs.below();
    press(&mut app, KeyCode::PageDown);
    assert!(app.logs.below() < at_top);
    press(&mut app, KeyCode::Char('G'));
    assert!(app.logs.follow);
    press(&mut app, KeyCode::Char('f'));
    assert!(!app.logs.follow);
    assert_eq!(status(&app).1, "follow logs off");
}

#[test]
fn slash_filters_logs_esc_clears_and_a_bad_regex_is_refused() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.logs().len() > 200);
    let all = app.logs.matching();
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "src:ingress 200");
    press(&mut app, KeyCode::Enter);
    assert!(!app.mode.is_modal());
    assert!(app.logs.matching() < all && app.logs.matching() > 0);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.logs.matching(), all);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "(unclosed");
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Filter { .. }), "stays open to fix");
    assert_eq!(status(&app).0, Tone::Refused);
}

#[test]
fn l_cycles_the_minimum_log_level() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.logs().len() > 50);
    let all = app.logs.matching();
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(status(&app).1, "logs at info and above");
    press(&mut app, KeyCode::Char('l'));
    assert!(app.logs.matching() < all);
}

#[test]
fn rebound_keys_are_the_ones_that_work() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    app.keymap = KeyMap::default()
        .with_overrides([("rollback", "ctrl+r")])
        .unwrap();
    assert!(press(&mut app, KeyCode::Char('R')).is_empty());
    assert_eq!(
        sent(&ctrl(&mut app, 'r')),
        vec![Action::Rollback { reason: None }]
    );
}

#[test]
fn redraws_happen_only_when_something_changed() {
    let (mut app, sim) = watching("approval-rejected", "dave", true, |r| r.status().is_final());
    let clock = Update::Clock(sim.now() + SignedDuration::from_secs(1));
    assert!(
        app.update(Msg::Backend(clock)).is_empty(),
        "a finished release has nothing counting down"
    );
    assert!(
        app.update(Msg::Backend(Update::Events(Vec::new())))
            .is_empty()
    );
    let release = KeyEvent::new_with_kind(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
        KeyEventKind::Release,
    );
    assert!(
        app.update(Msg::Key(release)).is_empty(),
        "key releases are not keys"
    );
    let resize = Msg::Resize {
        width: 100,
        height: 30,
    };
    assert_eq!(app.update(resize), vec![Effect::Redraw(Redraw::Now)]);

    let (mut live, sim) = watching("happy-canary", "dave", true, at_manual_pause);
    let clock = Update::Clock(sim.now() + SignedDuration::from_secs(1));
    assert_eq!(
        live.update(Msg::Backend(clock)),
        vec![Effect::Redraw(Redraw::Soon)],
        "a running release counts on screen, drawn within the frame cap"
    );
}

#[test]
fn a_page_is_what_the_log_pane_holds_at_this_size() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.logs().len() > 150);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Logs);
    for (height, page) in [(24, 8), (45, 18)] {
        let _ = app.update(Msg::Resize { width: 160, height });
        press(&mut app, KeyCode::Char('G'));
        let bottom = app.logs.below();
        press(&mut app, KeyCode::PageUp);
        assert_eq!(
            app.logs.below() - bottom,
            page,
            "PgUp at {height} rows moves {page} lines"
        );
    }
}

#[test]
fn a_backend_that_goes_away_is_shown_and_pending_commands_are_not_forgotten() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    press(&mut app, KeyCode::Char('a'));
    let _ = app.update(Msg::BackendGone("the backend stopped".into()));
    assert_eq!(
        app.connection,
        Connection::Lost("the backend stopped".into())
    );
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "advance: no answer; the backend stopped".into()
        )
    );
}

#[test]
fn a_replay_takes_space_and_arrows_and_refuses_every_change() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    app.replay = Some(Replay::default());
    assert_eq!(
        press(&mut app, KeyCode::Char(' ')),
        vec![Effect::Replay(ReplayControl::Toggle)]
    );
    assert!(app.replay.as_ref().is_some_and(|r| r.paused));
    assert_eq!(
        press(&mut app, KeyCode::Left),
        vec![Effect::Replay(ReplayControl::Seek(-SEEK_STEP))]
    );
    assert_eq!(
        press(&mut app, KeyCode::Right),
        vec![Effect::Replay(ReplayControl::Seek(SEEK_STEP))]
    );
    for key in ['a', 'p', 'R', 'r'] {
        assert!(
            press(&mut app, KeyCode::Char(key)).is_empty(),
            "{key} must not send"
        );
        assert!(
            status(&app)
                .1
                .ends_with("this is a replay of a recorded window; nothing can be changed")
        );
    }
    // Seeking back starts the release again from its first event.
    feed(&mut app, Update::Reset);
    assert_eq!(app.release.status(), Status::NotStarted);
}

#[test]
fn a_server_starting_afresh_says_plainly_that_a_new_window_began() {
    let (mut app, sim) = watching("happy-canary", "erin", false, at_approval);
    press(&mut app, KeyCode::Char('s'));
    assert!(matches!(app.mode, Mode::SignOff { .. }));
    feed(&mut app, Update::Reset);
    assert!(!app.mode.is_modal(), "a box about the old release is gone");
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "the server began a new window: the old one's state is gone; the release starts over"
                .into()
        )
    );
    assert!(app.release.plan().is_none());
    // The new window's first events: the header says it is a new one.
    let mut fresh = Simulator::new(
        crate::sim::scenario::parse(crate::sim::bundled::get("happy-canary").unwrap()).unwrap(),
        crate::sim::SimOptions::default(),
    );
    feed(&mut app, Update::Events(fresh.start()));
    let screen = draw(&mut app);
    assert!(
        screen.contains("NEW WINDOW: the old window's state is gone"),
        "{screen}"
    );
    // A minute on, it is no longer news.
    for _ in 0..=NEW_WINDOW_SHOWN {
        feed(&mut app, Update::Clock(sim.now()));
    }
    assert!(!draw(&mut app).contains("NEW WINDOW"));
}

/// The screen at 160x45, as text.
fn draw(app: &mut App) -> String {
    crate::tui::views::tests::screen(app, 160, 45)
}

fn secs(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n)
}

#[test]
fn a_command_carries_the_seq_the_operator_had_seen() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let effects = press(&mut app, KeyCode::Char('a'));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(command.seen, Some(app.release.last_seq()));
    assert!(app.release.last_seq() > 0);
}

#[test]
fn a_sign_off_not_delivered_shows_as_queued_with_its_age_and_then_expired() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    assert!(draw(&mut app).contains("you may sign"));
    press(&mut app, KeyCode::Char('s'));
    let effects = ctrl(&mut app, 's');
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let id = command.id.clone();
    feed(
        &mut app,
        Update::Connection(Connection::Lost("connection refused".into())),
    );
    feed(
        &mut app,
        Update::Queued {
            id: id.clone(),
            waited: secs(12),
            expires_in: Some(secs(18)),
            why: "connection refused".into(),
        },
    );
    let screen = draw(&mut app);
    assert!(
        screen.contains(
            "sign off Production deploy approval: queued — not delivered · 12s · expires in 18s"
        ),
        "the key bar says so: {screen}"
    );
    assert!(
        screen.contains("   queued — not delivered · 12s")
            && screen.contains("your sign-off expires in 18s"),
        "the gate says so: {screen}"
    );
    assert!(!screen.contains("you may sign"), "{screen}");
    feed(
        &mut app,
        Update::Expired {
            id,
            waited: secs(30),
            reason: "not sent: no delivery within 30s (connection refused)".into(),
        },
    );
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "sign off Production deploy approval: expired — not sent: no delivery within 30s (connection refused)".into()
        )
    );
    assert!(app.pending.is_empty());
    let screen = draw(&mut app);
    assert!(!screen.contains("queued"), "{screen}");
    assert!(screen.contains("you may sign"), "{screen}");
}

#[test]
fn a_rollback_waiting_for_the_link_says_so_in_the_header_and_then_how_late_it_went() {
    let (mut app, mut sim) = watching("happy-canary", "dave", true, at_manual_pause);
    feed(
        &mut app,
        Update::Connection(Connection::Lost("connection refused".into())),
    );
    let effects = press(&mut app, KeyCode::Char('R'));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        status(&app),
        (
            Tone::Pending,
            "rollback: queued — the server is out of reach".into()
        ),
        "nothing is said to be sent while cut off"
    );
    press(&mut app, KeyCode::Esc);
    let command = command.clone();
    feed(
        &mut app,
        Update::Queued {
            id: command.id.clone(),
            waited: secs(5),
            expires_in: None,
            why: "connection refused".into(),
        },
    );
    let screen = draw(&mut app);
    assert!(
        screen.contains("ROLLBACK QUEUED — will be sent when the server is back · 5s"),
        "{screen}"
    );
    assert!(screen.contains("LAST HEARD: RUNNING"), "{screen}");
    // The server is back 42 seconds on; the rollback goes, and lands.
    feed(&mut app, Update::Connection(Connection::Live));
    let id = command.id.clone();
    feed(
        &mut app,
        Update::SentLate {
            id: id.clone(),
            late: secs(42),
        },
    );
    let (verdict, events) = sim.submit(command);
    feed(&mut app, Update::Events(events));
    feed(&mut app, Update::Verdict { id, verdict });
    assert_eq!(
        status(&app),
        (Tone::Accepted, "rollback (sent 42s late): accepted".into())
    );
    let screen = draw(&mut app);
    assert!(!screen.contains("ROLLBACK QUEUED"), "{screen}");
    assert!(
        screen.contains("ROLLING BACK (dave) · rollback sent late by 42s"),
        "{screen}"
    );
}

#[test]
fn cut_off_from_the_server_the_state_is_only_what_was_last_heard() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    feed(
        &mut app,
        Update::Presence(crate::api::Presence {
            watchers: vec![crate::api::Watcher {
                operator: crate::person("dave"),
                since: jiff::Timestamp::UNIX_EPOCH,
                streams: 1,
            }],
            ..Default::default()
        }),
    );
    let live = draw(&mut app);
    assert!(live.contains(" RUNNING ") && live.contains("operator erin (with dave)"));
    feed(
        &mut app,
        Update::Connection(Connection::Lost(
            "connection refused · 4s without data · retry in 2s".into(),
        )),
    );
    let lost = draw(&mut app);
    assert!(lost.contains("LAST HEARD: RUNNING"), "{lost}");
    assert!(lost.contains("connection refused"), "{lost}");
    assert!(
        !lost.contains("(with dave)"),
        "who watches is unknown while cut off"
    );
}

/// Plays on from where `watching` stopped, one due moment at a time, until
/// `until` holds; the effects each update asked for, in order.
fn play_on(app: &mut App, sim: &mut Simulator, until: impl Fn(&App) -> bool) -> Vec<Effect> {
    let mut effects = Vec::new();
    while !until(app) {
        let due = sim.next_due().expect("the scenario goes on");
        let events = sim.advance_to(due);
        effects.extend(app.update(Msg::Backend(Update::Events(events))));
    }
    effects
}

fn waits_for_config(app: &App) -> bool {
    app.waiting()
        .iter()
        .any(|w| w.what == "Configuration correct")
}

#[test]
fn what_waits_on_me_is_said_with_who_and_the_key_and_the_cursor_goes_to_it_with_a_bell() {
    let (mut app, mut sim) = watching("happy-canary", "erin", false, |r| {
        r.current_stage().is_some_and(|s| s.plan.id == "staging")
    });
    let effects = play_on(&mut app, &mut sim, waits_for_config);
    assert_eq!(
        effects.iter().filter(|e| **e == Effect::Bell).count(),
        1,
        "one bell as it starts to wait: {effects:?}"
    );
    let first = &app.waiting()[0];
    assert_eq!(
        first.sentence(&app),
        "waiting for Configuration correct (Staging validation) — you may tick it (Space)"
    );
    assert_eq!(app.waiting_on_me(), 1);
    assert_eq!(
        app.selected_row(),
        Some(&Row::Item {
            list: "staging-validation".into(),
            item: "config".into()
        }),
        "the cursor is on it"
    );
    assert!(
        app.hints()
            .iter()
            .any(|(k, what)| k == "Space" && *what == "tick"),
        "{:?}",
        app.hints()
    );
    // It stays waiting: no second bell for the same thing.
    feed(&mut app, Update::Clock(sim.now()));
    let again = app.update(Msg::Backend(Update::Events(Vec::new())));
    assert!(!again.contains(&Effect::Bell));
}

#[test]
fn an_operator_moving_about_keeps_the_cursor_and_the_bell_can_be_silenced() {
    let (mut app, mut sim) = watching("happy-canary", "erin", false, |r| {
        r.current_stage().is_some_and(|s| s.plan.id == "staging")
    });
    app.bell = false;
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Up);
    assert_eq!(app.focus, Pane::Logs);
    let effects = play_on(&mut app, &mut sim, waits_for_config);
    assert!(!effects.contains(&Effect::Bell), "the bell is off");
    assert_eq!(app.focus, Pane::Logs, "reading the logs, the focus stays");
}

#[test]
fn what_waits_on_someone_else_names_them() {
    // carol deployed the release: the gate waits on dave or erin, not her.
    let (app, _) = watching("happy-canary", "carol", false, at_approval);
    let gate = app
        .waiting()
        .into_iter()
        .find(|w| w.what == "Production deploy approval")
        .expect("the gate waits");
    assert!(!gate.mine);
    assert_eq!(
        gate.sentence(&app),
        "waiting for Production deploy approval (Production approval) — dave or erin may sign it"
    );
    // What she may do comes first: the checklist's first open item.
    assert!(app.waiting()[0].mine);
    assert_eq!(app.waiting()[0].what, "No critical or high bugs");
}

#[test]
fn whoever_runs_the_default_scenario_may_sign_its_gate() {
    let (app, _) = watching("happy-canary", "root", false, at_approval);
    assert_eq!(app.gate_prospect("production"), Ok(()));
    assert!(app.waiting()[0].mine);
}

#[test]
fn a_refusal_on_the_key_bar_goes_once_it_no_longer_holds() {
    let (mut app, mut sim) = watching("happy-canary", "carol", false, at_approval);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(
        status(&app).1,
        "carol deployed this release and cannot approve it"
    );
    // Something else happens: the refusal still holds, and stays.
    let logs = sim.advance_to(sim.now() + SignedDuration::from_secs(5));
    feed(&mut app, Update::Events(logs));
    assert!(app.status.is_some(), "it still holds");
    // dave signs: the gate is approved, and what was said of it goes.
    play_on(&mut app, &mut sim, |app| {
        app.release.gate("production").unwrap().state == GateState::Approved
    });
    assert_eq!(app.status, None, "{:?}", app.status);
}

#[test]
fn a_ticked_item_hands_the_cursor_to_the_next_thing_waiting_on_me() {
    let (mut app, mut sim) = watching("happy-canary", "carol", false, at_approval);
    let item = |id: &str| Row::Item {
        list: "pre-deployment".into(),
        item: id.into(),
    };
    assert_eq!(app.cursor, Some(item("bugs")), "on the first open item");
    let effects = press(&mut app, KeyCode::Char(' '));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let (_, events) = sim.submit(command.clone());
    feed(&mut app, Update::Events(events));
    assert_eq!(app.cursor, Some(item("review")), "on to the next one");
}

/// A recorded window as the replay backend plays it to the app: a step
/// goes to its moment (from the first event again when it lies behind),
/// then the clock, then whether the recording has more.
fn play_step(app: &mut App, events: &[crate::model::Event], effects: &[Effect]) {
    let Some(Effect::Replay(ReplayControl::Step(at))) = effects.first() else {
        panic!("a step: {effects:?}");
    };
    let upto = events.partition_point(|e| e.at <= *at);
    let had = events.partition_point(|e| Some(e.at) <= app.release.last_at());
    let from = if upto < had {
        feed(app, Update::Reset);
        0
    } else {
        had
    };
    feed(app, Update::Events(events[from..upto].to_vec()));
    feed(app, Update::Clock(*at));
    let end = if upto == events.len() {
        Connection::Ended
    } else {
        Connection::Live
    };
    feed(app, Update::Connection(end));
}

/// The header's two rows at 160x45.
fn header(app: &mut App) -> String {
    draw(app).lines().take(2).collect::<Vec<_>>().join("\n")
}

#[test]
fn in_a_replay_brackets_step_between_the_moments_of_the_timeline_and_hold_there() {
    use crate::journal::{Journal, report};
    let scenario =
        crate::sim::scenario::parse(crate::sim::bundled::get("canary-regression").unwrap())
            .unwrap();
    let options = crate::sim::SimOptions {
        autopilot: true,
        ..Default::default()
    };
    let mut sim = Simulator::new(scenario, options);
    let events = crate::sim::run_to_end(&mut sim, SignedDuration::from_hours(24));
    let journal = Journal {
        events: events.clone(),
        ..Journal::default()
    };
    let timeline = report::build(&journal, Vec::new()).timeline;
    let moments: Vec<_> = timeline.iter().map(|m| (m.at, m.what.clone())).collect();
    let mut app = App::new(
        crate::person("dave"),
        "journal ×10",
        KeyMap::default(),
        Theme::default_theme(false),
        crate::model::DEFAULT_LOG_CAPACITY,
        "replay",
    );
    app.replay = Some(Replay::new(moments.clone()));
    feed(&mut app, Update::Connection(Connection::Live));
    feed(&mut app, Update::Events(events[..1].to_vec()));
    let top = header(&mut app);
    assert!(top.contains("▶ journal ×10 replaying"), "{top}");

    // Forward, moment by moment: each is where the replay stands, paused,
    // and the status line says what happened then.
    let mut times: Vec<_> = moments.iter().map(|m| m.0).collect();
    times.dedup();
    for (n, at) in times.iter().enumerate().skip(1).take(6) {
        let effects = press(&mut app, KeyCode::Char(']'));
        assert_eq!(
            effects,
            vec![Effect::Replay(ReplayControl::Step(*at))],
            "moment {n}"
        );
        play_step(&mut app, &events, &effects);
        let (tone, text) = status(&app);
        assert_eq!(tone, Tone::Info);
        let what = &moments.iter().find(|m| m.0 == *at).unwrap().1;
        assert!(
            text.starts_with(&at.strftime("%H:%M:%S").to_string()) && text.contains(what.as_str()),
            "{text}"
        );
        let top = header(&mut app);
        assert!(
            top.contains("⏸ journal ×10 paused") && top.contains("REPLAY · PAUSED"),
            "{top}"
        );
        assert!(
            top.contains(&format!("now {}", at.strftime("%H:%M:%S"))),
            "{top}"
        );
    }
    // And back: the moment before, the release as it stood then.
    let before = times[5];
    let effects = press(&mut app, KeyCode::Char('['));
    assert_eq!(effects, vec![Effect::Replay(ReplayControl::Step(before))]);
    play_step(&mut app, &events, &effects);
    assert_eq!(app.release.last_at(), Some(before));

    // To the last moment: the rollback's end, the release finished; the
    // header says the recording ended, not that anything was lost or live.
    let last = *times.last().unwrap();
    while app.release.last_at() < Some(last) {
        let effects = press(&mut app, KeyCode::Char(']'));
        play_step(&mut app, &events, &effects);
    }
    let top = header(&mut app);
    assert!(top.contains("■ journal ×10 end of recording"), "{top}");
    assert!(!top.contains("lost") && !top.contains("live"), "{top}");
    assert!(top.contains("ROLLED BACK"), "{top}");
    assert!(press(&mut app, KeyCode::Char(']')).is_empty());
    assert_eq!(status(&app).1, "no later moment in this recording");
}

#[test]
fn a_finished_release_is_not_live_and_brackets_outside_a_replay_say_what_they_are_for() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.status().is_final());
    let top = header(&mut app);
    assert!(top.contains("■ sim:happy-canary finished"), "{top}");
    assert!(!top.contains("live"), "{top}");
    assert!(press(&mut app, KeyCode::Char(']')).is_empty());
    assert_eq!(
        status(&app).1,
        "[ and ] step between the moments of a recorded window (shipdeck replay)"
    );
}

#[test]
fn enter_reads_a_log_line_whole_and_r_still_rolls_back_from_its_box() {
    use crate::model::{Level, LogLine};
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let long = format!("upstream said: {} (end)", "x".repeat(3_000));
    let at = app.now.unwrap();
    feed(
        &mut app,
        Update::Logs(vec![LogLine {
            at,
            level: Level::Warn,
            source: "gateway.log".into(),
            stage: None,
            message: long.clone(),
        }]),
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let Mode::ReadLine { line, scroll: 0 } = &app.mode else {
        panic!("{:?}", app.mode);
    };
    assert_eq!(line.message, long, "the newest line, whole");
    let hints: Vec<&str> = app.hints().iter().map(|(_, what)| *what).collect();
    assert_eq!(hints, ["scroll", "close", "roll back"]);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::PageDown);
    let Mode::ReadLine { scroll, .. } = app.mode else {
        panic!("scrolling keeps the box open");
    };
    assert!(scroll > 1);
    press(&mut app, KeyCode::End);
    let Mode::ReadLine { scroll: last, .. } = app.mode else {
        panic!("End keeps the box open");
    };
    press(&mut app, KeyCode::Down);
    assert!(
        matches!(app.mode, Mode::ReadLine { scroll, .. } if scroll == last),
        "it scrolls no further than the last page"
    );
    assert_eq!(
        sent(&press(&mut app, KeyCode::Char('R'))),
        vec![Action::Rollback { reason: None }],
        "R from the box rolls back"
    );
    assert!(matches!(app.mode, Mode::RollbackReason { .. }));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Esc);
    assert!(!app.mode.is_modal(), "Esc closes the box");
}

#[test]
fn in_a_held_log_view_enter_reads_the_bottom_line_shown() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.logs().len() > 200);
    press(&mut app, KeyCode::Tab);
    let hints: Vec<&str> = app.hints().iter().map(|(_, what)| *what).collect();
    assert!(hints.contains(&"read line"), "{hints:?}");
    press(&mut app, KeyCode::PageUp);
    let held = app.logs.current(app.release.logs()).unwrap().clone();
    assert_ne!(Some(&held), app.release.logs().newest());
    press(&mut app, KeyCode::Enter);
    assert!(matches!(&app.mode, Mode::ReadLine { line, .. } if *line == held));
    // A key the box does not use closes it and does what it does.
    press(&mut app, KeyCode::Char('?'));
    assert!(matches!(app.mode, Mode::Help));
}

#[test]
fn a_served_rollout_paused_by_hand_may_still_be_promoted_as_its_cluster_decides() {
    use crate::argo::translate::{Observed, Said, Translator};
    let rollout = serde_json::json!({
        "metadata": {"name": "checkout", "namespace": "payments", "uid": "u-1"},
        "spec": {"paused": true, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"setWeight": 50}]}}},
        "status": {"currentStepIndex": 1, "currentPodHash": "n", "stableRS": "o"},
    });
    let seen = Observed {
        rollout: serde_json::from_value(rollout).unwrap(),
        ..Observed::default()
    };
    let mut translator = Translator::new(100);
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let events: Vec<_> = translator
        .observe(&seen, now)
        .into_iter()
        .flat_map(|s| match s {
            Said::Events(e) => e,
            Said::NewWindow => Vec::new(),
        })
        .collect();
    // A console on a server: the backend does not say it is a Rollout's;
    // the plan does.
    let mut app = App::new(
        crate::person("dave"),
        "http://127.0.0.1:7878 payments/checkout",
        KeyMap::default(),
        Theme::default_theme(false),
        crate::model::DEFAULT_LOG_CAPACITY,
        "console",
    );
    feed(&mut app, Update::Connection(Connection::Live));
    feed(&mut app, Update::Events(events));
    assert_eq!(app.release.status(), Status::Paused);
    assert!(app.cluster_decides());
    press(&mut app, KeyCode::Char('F'));
    assert!(
        matches!(app.mode, Mode::ConfirmPromote),
        "the plugin's promote unpauses: the cluster decides, not the local policy"
    );
}

/// An inbox item on a server's window.
pub(crate) fn inbox_item(release: &str, what: &str, mine: bool) -> crate::inbox::Item {
    let at = |s: &str| s.parse::<jiff::Timestamp>().expect("a time");
    crate::inbox::Item {
        place: crate::inbox::Place::Server {
            url: "http://127.0.0.1:7070".into(),
            release: release.into(),
        },
        release: format!("{release} (production)"),
        what: what.into(),
        stage: "Production approval".into(),
        since: Some(at("2026-12-01T10:00:00Z")),
        deadline: Some(crate::inbox::Deadline {
            at: at("2026-12-01T10:30:00Z"),
            what: "the window closes".into(),
        }),
        mine,
        others: (!mine).then(|| "dave or erin".into()),
        act: None,
    }
}

pub(crate) fn inbox_feed(items: Vec<crate::inbox::Item>) -> Msg {
    Msg::Inbox(crate::inbox::Feed {
        source: "http://127.0.0.1:7070".into(),
        items,
        trouble: None,
    })
}

#[test]
fn i_without_an_inbox_says_how_to_have_one() {
    let (mut app, _) = watching("happy-canary", "alice", false, |_| true);
    assert!(press(&mut app, KeyCode::Char('i')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(
        status(&app).1.contains("inbox: servers, rollouts, github"),
        "{:?}",
        status(&app)
    );
}

#[test]
fn the_inbox_over_the_window_opens_another_release_and_rings_for_what_is_new() {
    let (mut app, _) = watching("happy-canary", "alice", false, |_| true);
    app.inbox = Some(crate::tui::inbox::InboxList::over(None));
    // What a source holds when first heard from is not news; what arrives
    // after is.
    let first = app.update(inbox_feed(vec![inbox_item("checkout-2", "sign it", true)]));
    assert!(!first.contains(&Effect::Bell), "{first:?}");
    let next = app.update(inbox_feed(vec![
        inbox_item("checkout-2", "sign it", true),
        inbox_item("payments-9", "sign it", true),
        inbox_item("search-3", "sign it", false),
    ]));
    assert!(next.contains(&Effect::Bell), "{next:?}");
    assert!(press(&mut app, KeyCode::Char('i')).is_empty());
    assert!(matches!(app.mode, Mode::Inbox));
    // Down to the second of mine; this window's release lives only here
    // (the simulator's), so leaving asks for a second Enter.
    press(&mut app, KeyCode::Down);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.mode, Mode::Inbox));
    let opened = press(&mut app, KeyCode::Enter);
    let Some(Effect::Leave(Leave::Open(crate::inbox::Place::Server { release, .. }))) =
        opened.first()
    else {
        panic!("Enter twice leaves for the item's window: {opened:?}");
    };
    assert_eq!(release, "payments-9");
    // Esc closes the list and stays in the window.
    app.mode = Mode::Inbox;
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_window_opened_from_the_inbox_goes_back_to_it_on_esc_and_i() {
    let (mut app, _) = watching("happy-canary", "alice", false, |_| true);
    app.from_inbox = true;
    assert_eq!(
        press(&mut app, KeyCode::Esc),
        vec![Effect::Leave(Leave::Inbox)]
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('i')),
        vec![Effect::Leave(Leave::Inbox)]
    );
}

/// happy-canary held at its manual pause, its window cut to 14:00–14:10
/// UTC: closed before the rollout reached the pause.
fn past_the_window() -> (App, Simulator) {
    let (app, sim) = crate::tui::demo::watching_with(
        "happy-canary",
        "erin",
        true,
        crate::tui::theme::Theme::default_theme(false),
        |plan| {
            plan.window = Some(crate::model::Window {
                start: "2026-11-24T14:00:00Z".parse().unwrap(),
                length: SignedDuration::from_mins(10),
            })
        },
        at_manual_pause,
    );
    assert!(at_manual_pause(&app.release), "held at the pause");
    (app, sim)
}

#[test]
fn a_promote_after_the_window_closed_asks_first_and_goes_out_late() {
    let (mut app, mut sim) = past_the_window();
    assert!(app.window_closed().is_some());
    assert!(
        app.hints().iter().any(|(_, word)| *word == "advance"),
        "the key is still offered: it asks before it sends"
    );
    assert!(
        press(&mut app, KeyCode::Char('a')).is_empty(),
        "nothing sent yet"
    );
    assert!(matches!(app.mode, Mode::ConfirmLate { .. }));
    assert!(app.hints().contains(&("y".to_string(), "advance late")));
    insta::assert_snapshot!(
        "late_promote_dialog",
        crate::tui::views::tests::screen(&mut app, 80, 24)
    );
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(
        status(&app),
        (
            Tone::Info,
            "advance cancelled: the window stays closed".to_string()
        )
    );

    press(&mut app, KeyCode::Char('a'));
    let effects = press(&mut app, KeyCode::Char('y'));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("one command sent: {effects:?}");
    };
    assert!(command.late, "meant late");
    assert_eq!(command.action, Action::Advance);
    let (verdict, events) = sim.submit(command.clone());
    let late_by = crate::model::units::format_duration(
        sim.now()
            .duration_since("2026-11-24T14:10:00Z".parse().unwrap()),
    );
    let note = format!("late: the window closed at 14:10 UTC, {late_by} before");
    assert_eq!(
        verdict,
        Verdict::Accepted {
            note: Some(note.clone())
        }
    );
    feed(&mut app, Update::Events(events));
    feed(
        &mut app,
        Update::Verdict {
            id: command.id.clone(),
            verdict,
        },
    );
    let (tone, text) = status(&app);
    assert_eq!(tone, Tone::Accepted);
    assert!(text.contains(&note), "{text}");
}

#[test]
fn promoting_fully_after_the_window_closed_asks_about_the_window() {
    let (mut app, _) = past_the_window();
    press(&mut app, KeyCode::Char('F'));
    let Mode::ConfirmLate { action, .. } = &app.mode else {
        panic!("{:?}", app.mode);
    };
    assert_eq!(*action, Action::PromoteFull);
    let effects = press(&mut app, KeyCode::Char('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::Send(c)] if c.late && c.action == Action::PromoteFull),
        "{effects:?}"
    );
}

#[test]
fn during_a_freeze_the_promote_keys_say_why_and_when_it_reopens() {
    let freeze = crate::model::freeze::Period {
        from: "2026-11-24T14:00:00Z".parse().unwrap(),
        to: "2026-11-24T17:30:00Z".parse().unwrap(),
        reason: "quarter close".into(),
    };
    let (mut app, _) = crate::tui::demo::watching_with(
        "happy-canary",
        "erin",
        true,
        crate::tui::theme::Theme::default_theme(false),
        |plan| plan.freezes = vec![crate::model::Freeze::Period(freeze)],
        at_manual_pause,
    );
    let offered: Vec<&str> = app.hints().iter().map(|(_, w)| *w).collect();
    assert!(!offered.contains(&"advance"), "{offered:?}");
    assert!(offered.contains(&"pause"), "{offered:?}");
    assert!(press(&mut app, KeyCode::Char('a')).is_empty());
    assert!(matches!(app.mode, Mode::Normal), "no dialog in a freeze");
    assert_eq!(
        status(&app),
        (
            Tone::Refused,
            "advance: frozen: quarter close — reopens Tue 2026-11-24 17:30 UTC".to_string()
        )
    );
    let header = crate::tui::views::tests::screen(&mut app, 160, 45);
    assert!(
        header.contains("FROZEN until Tue 2026-11-24 17:30 UTC: quarter close"),
        "{header}"
    );
    // A pause still goes out.
    assert_eq!(
        sent(&press(&mut app, KeyCode::Char('p'))),
        vec![Action::Pause { reason: None }]
    );
}

#[test]
fn a_desktop_notification_is_off_by_default_and_carries_a_hostile_item_cleaned() {
    // Off by default: the bell alone.
    let (mut app, mut sim) = watching("happy-canary", "erin", false, |r| {
        r.current_stage().is_some_and(|s| s.plan.id == "staging")
    });
    assert_eq!(app.notify, crate::config::Notify::Off);
    let effects = play_on(&mut app, &mut sim, waits_for_config);
    assert!(effects.contains(&Effect::Bell));
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Notify(_))),
        "{effects:?}"
    );

    // An item whose text tries to end the escape, open another and add a
    // field of its own.
    let text = crate::sim::bundled::get("happy-canary").unwrap().replace(
        "\"Configuration correct\"",
        "\"Config\\e]777;notify;pwned;x\\a ok;\\e[2J now\\u009d0;t\\u009c\"",
    );
    let mut scenario = crate::sim::scenario::parse(&text).unwrap();
    let erin = crate::model::Person::new("erin").unwrap();
    scenario.seat(&erin);
    let mut sim = Simulator::new(scenario, crate::sim::SimOptions::default());
    let mut app = App::new(
        erin,
        "sim:hostile",
        KeyMap::default(),
        Theme::default_theme(false),
        crate::model::DEFAULT_LOG_CAPACITY,
        "test",
    );
    app.notify = crate::config::Notify::Osc777;
    app.bell = false;
    feed(
        &mut app,
        Update::Connection(crate::backend::Connection::Live),
    );
    feed(&mut app, Update::Events(sim.start()));
    let effects = play_on(&mut app, &mut sim, |app| {
        app.waiting().iter().any(|w| w.what.starts_with("Config"))
    });
    let written: Vec<&Vec<u8>> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify(bytes) => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(
        written,
        [&b"\x1b]777;notify;shipdeck;checkout-api: waiting for Config ok, now (Staging validation) \xe2\x80\x94 you may tick it (Space)\x07".to_vec()],
        "{}",
        String::from_utf8_lossy(written[0])
    );
    assert!(
        !effects.contains(&Effect::Bell),
        "the bell is off; the notification is not"
    );
}

/// One person watching with one stream.
fn watcher(operator: &str) -> crate::api::Watcher {
    crate::api::Watcher {
        operator: crate::person(operator),
        since: jiff::Timestamp::UNIX_EPOCH,
        streams: 1,
    }
}

#[test]
fn a_crowd_watching_is_counted_beside_the_few_the_server_names() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    // A thousand people watch, erin among them; the server names two.
    feed(
        &mut app,
        Update::Presence(crate::api::Presence {
            watchers: vec![watcher("dave"), watcher("frank")],
            people: 1000,
            streams: 1200,
        }),
    );
    let screen = draw(&mut app);
    assert!(
        screen.contains("operator erin (with dave, frank and 997 more)"),
        "{screen}"
    );
    assert_eq!(app.others_count(), 999);
}

#[test]
fn a_long_name_watching_cannot_push_the_others_off_the_header() {
    let (mut app, _) = watching("happy-canary", "dave", false, at_approval);
    let long = "W".repeat(100);
    feed(
        &mut app,
        Update::Presence(crate::api::Presence {
            watchers: vec![watcher("erin"), watcher(&long), watcher("dave")],
            people: 3,
            streams: 3,
        }),
    );
    let screen = draw(&mut app);
    let shown = format!("operator dave (with erin, {}…)", "W".repeat(20));
    assert!(screen.contains(&shown), "{screen}");
}
