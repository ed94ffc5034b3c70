//! The console as it looks, at 160x45 and 80x24, in its main moments.
//! Snapshots are reviewed by eye when they change; `cargo insta review`.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Cell;

use jiff::SignedDuration;

use crate::backend::Update;
use crate::model::{Action, Person, Release, Rule, Standing};
use crate::theme::Slot;
use crate::tui::app::tests::{
    at_approval, at_manual_pause, ctrl, feed, press, type_text, watching,
};
use crate::tui::app::{App, Effect, Mode, Msg};

const SIZES: [(u16, u16); 2] = [(160, 45), (80, 24)];

pub(crate) fn screen(app: &mut App, width: u16, height: u16) -> String {
    drawn(app, width, height).to_string()
}

/// The console drawn into a test terminal: its cells, text and styles.
fn drawn(app: &mut App, width: u16, height: u16) -> TestBackend {
    let _ = app.update(Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| super::render(app, f)).unwrap();
    terminal.backend().clone()
}

/// The cells from where `text` first shows to the edge of its pane.
fn cells_from<'a>(backend: &'a TestBackend, text: &str) -> Vec<&'a Cell> {
    let buffer = backend.buffer();
    let wanted: Vec<String> = text.chars().map(String::from).collect();
    for row in buffer.content.chunks(buffer.area.width as usize) {
        let at = row.windows(wanted.len()).position(|w| {
            w.iter()
                .map(Cell::symbol)
                .eq(wanted.iter().map(String::as_str))
        });
        if let Some(at) = at {
            return row[at..].iter().take_while(|c| c.symbol() != "│").collect();
        }
    }
    panic!("no row shows {text:?}:\n{backend}");
}

fn snap(name: &str, app: &mut App) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(app, w, h));
    }
}

#[test]
fn canary_in_progress() {
    let (mut app, _) = watching("happy-canary", "erin", true, |r| {
        r.rollout().weight == 25 && r.logs().len() > 120
    });
    snap("canary_in_progress", &mut app);
}

#[test]
fn waiting_at_the_production_gate() {
    let (mut app, _) = watching("two-person", "erin", false, at_approval);
    snap("production_gate", &mut app);
}

#[test]
fn the_sign_off_dialog() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    press(&mut app, KeyCode::Char('s'));
    type_text(&mut app, "Staging clean, error budget healthy.");
    snap("sign_off_dialog", &mut app);
}

#[test]
fn the_reject_dialog() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    press(&mut app, KeyCode::Char('x'));
    snap("reject_dialog", &mut app);
}

#[test]
fn the_promote_confirmation() {
    let (mut app, _) = watching("happy-canary", "erin", true, at_manual_pause);
    press(&mut app, KeyCode::Char('F'));
    snap("promote_confirmation", &mut app);
}

#[test]
fn an_automatic_rollback_firing() {
    let (mut app, _) = watching("canary-regression", "dave", true, |r| {
        r.rollback().is_some()
    });
    snap("automatic_rollback", &mut app);
}

#[test]
fn the_rollback_reason_box_after_shift_r() {
    let (mut app, _) = watching("happy-canary", "erin", true, at_manual_pause);
    press(&mut app, KeyCode::Char('R'));
    type_text(&mut app, "p99 doubled on checkout");
    snap("rollback_reason", &mut app);
}

#[test]
fn the_log_filter() {
    let (mut app, _) = watching("happy-canary", "erin", true, |r| r.logs().len() > 150);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "src:ingress POST");
    snap("filter_dialog", &mut app);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::PageUp);
    snap("filtered_logs_scrolled_back", &mut app);
}

#[test]
fn help() {
    let (mut app, _) = watching("happy-canary", "dave", false, |_| true);
    press(&mut app, KeyCode::Char('?'));
    snap("help", &mut app);
}

/// The config's actions and the console's are one list: each has a
/// default key, a description, a name `config::parse` accepts, and a line
/// on the help screen.
#[test]
fn every_action_is_bindable_and_on_the_help_screen() {
    use strum::IntoEnumIterator;

    use crate::keys::UiAction;

    let (mut app, _) = watching("happy-canary", "dave", false, |_| true);
    press(&mut app, KeyCode::Char('?'));
    let shown = screen(&mut app, 160, 45);
    for action in UiAction::iter() {
        let specs = action.default_specs();
        assert!(!specs.is_empty(), "{action:?} has no default key");
        assert!(
            !action.describe().is_empty(),
            "{action:?} has no description"
        );
        let config = format!("keys:\n  {}: '{}'\n", action.name(), specs[0]);
        if let Err(problems) = crate::config::parse(&config) {
            panic!("{config}: {problems:?}");
        }
        let line = format!("{:<14}{}", app.keymap.label(action), action.describe());
        assert!(
            shown.contains(&line),
            "{line:?} is not on the help screen:\n{shown}"
        );
    }
}

#[test]
fn finished() {
    let (mut app, _) = watching("approval-rejected", "dave", true, |r| r.status().is_final());
    snap("aborted", &mut app);
}

#[test]
fn tiny_windows_get_a_notice_not_a_panic() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    ctrl(&mut app, 'x');
    insta::assert_snapshot!("tiny_20x5", screen(&mut app, 20, 5));
    for (w, h) in [(1, 1), (3, 2), (49, 11), (50, 12), (200, 3), (5, 60)] {
        screen(&mut app, w, h);
    }
    // A zero-sized terminal draws nothing and does not fall over.
    let _ = app.update(Msg::Resize {
        width: 0,
        height: 0,
    });
    let mut terminal = Terminal::new(TestBackend::new(0, 0)).unwrap();
    terminal.draw(|f| super::render(&app, f)).unwrap();
    press(&mut app, KeyCode::Char('?'));
    screen(&mut app, 10, 4);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('s'));
    screen(&mut app, 12, 3);
}

/// A metrics source that stopped answering is said where the metrics are,
/// in the alert colour, until it answers again.
#[test]
fn a_metrics_source_in_trouble_is_said_above_the_alerts() {
    let (mut app, mut sim) = watching("happy-canary", "dave", true, |r| r.rollout().began);
    let events = sim.metrics_said(
        crate::model::Level::Error,
        crate::model::METRICS_SOURCE,
        "metrics: cannot reach Prometheus at http://127.0.0.1:9090/: connection refused; the rules wait for it".into(),
    );
    let _ = app.update(Msg::Backend(crate::backend::Update::Events(events)));
    let backend = drawn(&mut app, 160, 45);
    let shown = backend.to_string();
    let said = cells_from(&backend, "⚠ since");
    let text: String = said.iter().map(|c| c.symbol()).collect();
    assert!(text.contains("cannot reach Prometheus"), "{shown}");
    let alert = app.theme[Slot::Alert];
    assert!(
        alert.fg.is_some() && alert.fg != app.theme[Slot::Base].fg,
        "the alert colour stands out from the text around it"
    );
    for cell in said.iter().filter(|c| c.symbol() != " ") {
        assert_eq!(Some(cell.fg), alert.fg, "{text:?}: {:?}", cell.symbol());
        assert!(cell.modifier.contains(alert.add_modifier), "{text:?}");
    }
    assert!(shown.contains("PAUSED"), "the rollout holds: {shown}");
    assert!(shown.contains("live · no metrics"), "{shown}");
    let events = sim.metrics_said(
        crate::model::Level::Info,
        crate::model::METRICS_SOURCE,
        "metrics: Prometheus answers again".into(),
    );
    let _ = app.update(Msg::Backend(crate::backend::Update::Events(events)));
    let shown = screen(&mut app, 160, 45);
    assert!(!shown.contains("⚠ since"), "{shown}");
    assert!(!shown.contains("no metrics"), "{shown}");
}

#[test]
fn r_at_the_gate_stops_the_release_before_production_and_the_header_says_who() {
    let (mut app, mut sim) = watching("happy-canary", "erin", false, at_approval);
    let effects = press(&mut app, KeyCode::Char('R'));
    let [crate::tui::app::Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let box_title = screen(&mut app, 160, 45);
    assert!(
        box_title.contains("Stop sent: nothing reached production"),
        "{box_title}"
    );
    let (verdict, events) = sim.submit(command.clone());
    assert!(verdict.is_accepted());
    crate::tui::app::tests::feed(&mut app, crate::backend::Update::Events(events));
    press(&mut app, KeyCode::Esc);
    let shown = screen(&mut app, 160, 45);
    assert!(
        shown.contains("ABORTED (stopped before production by erin)"),
        "{shown}"
    );
}

/// Feeds the app what the simulator does up to `moment`, and the clock.
fn run_to(app: &mut App, sim: &mut crate::sim::Simulator, moment: jiff::Timestamp) {
    crate::tui::demo::feed(app, Update::Events(sim.advance_to(moment)));
    crate::tui::demo::feed(app, Update::Clock(moment));
}

/// Feeds the app what the simulator does until `until` holds.
fn run_until(app: &mut App, sim: &mut crate::sim::Simulator, until: impl Fn(&Release) -> bool) {
    while !until(&app.release) {
        let due = sim.next_due().expect("the scenario goes on");
        crate::tui::demo::feed(app, Update::Events(sim.advance_to(due)));
    }
    crate::tui::demo::feed(app, Update::Clock(sim.now()));
}

/// A rule of the release's plan, by name.
fn rule(release: &Release, name: &str) -> Rule {
    release
        .plan()
        .and_then(|p| p.rules.iter().find(|r| r.name == name))
        .cloned()
        .expect("the plan has the rule")
}

fn breaching(release: &Release, name: &str) -> bool {
    release.plan().is_some()
        && matches!(
            release.standing(&rule(release, name)),
            Standing::Breaching { .. }
        )
}

/// In canary-regression the canary's error rate sits above the 10 % line
/// for five minutes before the rule rolls it back: the metrics pane counts
/// the hold time down on the release's clock, the header takes the last
/// minute, and once the rule acts it says it fired.
#[test]
fn a_rule_counting_towards_a_rollback_says_so_until_it_fires() {
    let (mut app, mut sim) = watching("canary-regression", "dave", true, |r| {
        breaching(r, "ErrorRateRollback")
    });
    let Standing::Breaching { due, .. } = app
        .release
        .standing(&rule(&app.release, "ErrorRateRollback"))
    else {
        unreachable!("watched until it breached")
    };
    run_to(&mut app, &mut sim, due - SignedDuration::from_secs(100));
    let shown = screen(&mut app, 160, 45);
    for said in [
        "▲ ErrorRateRollback",
        "  breaching since 10:13 — rolls back in 1m 40s",
        "▲ HighErrorRate breaching since 10:13 — alerts in 1m 10s",
        "quiet: 4 rules — HighLatency, LowAvailability, ",
    ] {
        assert!(shown.contains(said), "{said:?} is not on screen:\n{shown}");
    }
    assert!(
        !shown.contains("ROLLS BACK IN"),
        "the header waits for the last minute:\n{shown}"
    );
    snap("rule_counting_down", &mut app);

    run_to(&mut app, &mut sim, due - SignedDuration::from_secs(40));
    for (w, h) in SIZES {
        let shown = screen(&mut app, w, h);
        let header: String = shown.lines().take(3).collect();
        assert!(
            header.contains("⚠ ROLLS BACK IN 40s: ErrorRateRollback"),
            "{w}x{h}:\n{shown}"
        );
    }

    run_until(&mut app, &mut sim, |r| r.rollback().is_some());
    let shown = screen(&mut app, 160, 45);
    assert!(
        shown.contains("⚠ ErrorRateRollback fired at 10:18:30: canary error_rate"),
        "{shown}"
    );
    assert!(
        shown.contains("⚠ HighErrorRate fired at 10:18:00"),
        "{shown}"
    );
    assert!(!shown.contains("breaching since"), "{shown}");
    assert!(!shown.contains("ROLLS BACK IN"), "{shown}");
}

/// Every rule on a series draws its line on the sparklines: the rollback
/// trigger's dashed in the threshold's colour, an alert's dotted below it
/// in a colour of its own.
#[test]
fn every_rules_threshold_is_drawn_on_its_sparkline() {
    let (mut app, _) = watching("canary-regression", "dave", true, |r| {
        r.rollout().weight == 25
    });
    let backend = drawn(&mut app, 160, 45);
    let (alert, rollback) = (app.theme[Slot::AlertThreshold], app.theme[Slot::Threshold]);
    assert_ne!(alert.fg, rollback.fg, "the two lines are told apart");
    let buffer = backend.buffer();
    let width = buffer.area.width as usize;
    let rows: Vec<&[Cell]> = buffer.content.chunks(width).collect();
    let text = |row: &[Cell]| row.iter().map(Cell::symbol).collect::<String>();
    let title = |name: &str| {
        rows.iter()
            .position(|r| text(r).contains(name))
            .unwrap_or_else(|| panic!("no {name:?} on screen:\n{backend}"))
    };
    for (series, next) in [("error rate", "latency p95"), ("latency p95", "throughput")] {
        let chart = &rows[title(series) + 1..title(next)];
        let line_row = |glyph: &str, style: ratatui::style::Style| {
            chart.iter().position(|r| {
                r.iter()
                    .filter(|c| c.symbol() == glyph && Some(c.fg) == style.fg)
                    .count()
                    > 20
            })
        };
        let alert_at = line_row("·", alert);
        let rollback_at = line_row("┄", rollback);
        assert!(
            alert_at.is_some() && rollback_at.is_some(),
            "{series}: both lines drawn:\n{backend}"
        );
        assert!(
            alert_at > rollback_at,
            "{series}: the alert's line is the lower one:\n{backend}"
        );
    }
}

/// Once a rollback has started the new version has no traffic: its figures
/// read idle, in the quiet colour, not frozen in the alert's red.
#[test]
fn after_a_rollback_the_canarys_figures_are_idle_not_red() {
    let (mut app, mut sim) = watching("canary-regression", "dave", true, |r| {
        r.rollback().is_some()
    });
    run_until(&mut app, &mut sim, |r| r.status().is_final());
    let backend = drawn(&mut app, 160, 45);
    let cells = cells_from(&backend, "error rate");
    let text: String = cells.iter().map(|c| c.symbol()).collect();
    assert!(text.contains("% (idle)"), "{text:?}\n{backend}");
    let muted = app.theme[Slot::Muted];
    for cell in cells
        .iter()
        .skip("error rate".len())
        .filter(|c| c.symbol() != " ")
    {
        assert_eq!(Some(cell.fg), muted.fg, "{text:?}: {:?}", cell.symbol());
    }
}

/// `A` acknowledges the firing alert as this operator; the metrics pane
/// says who did, and the alert no longer waits to be acknowledged.
#[test]
fn an_acknowledged_alert_says_by_whom() {
    let (mut app, mut sim) = watching("canary-regression", "frank", true, |r| {
        r.alerts().iter().any(|a| a.rule == "HighErrorRate")
    });
    let shown = screen(&mut app, 160, 45);
    assert!(
        shown.contains("A acknowledge"),
        "the key bar offers it:\n{shown}"
    );
    let effects = press(&mut app, KeyCode::Char('A'));
    let [Effect::Send(command)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        command.action,
        Action::Ack {
            rule: "HighErrorRate".into()
        }
    );
    assert_eq!(command.operator, "frank");
    let (verdict, events) = sim.submit(command.clone());
    crate::tui::demo::feed(&mut app, Update::Events(events));
    crate::tui::demo::feed(
        &mut app,
        Update::Verdict {
            id: command.id.clone(),
            verdict,
        },
    );
    let shown = screen(&mut app, 160, 45);
    assert!(
        shown.contains("⚠ HighErrorRate fired at 10:18:00, acknowledged by frank"),
        "{shown}"
    );
    assert!(
        shown.contains("acknowledge HighErrorRate: accepted"),
        "{shown}"
    );
    assert!(
        press(&mut app, KeyCode::Char('A')).is_empty(),
        "nothing else fires"
    );
    assert!(!screen(&mut app, 160, 45).contains("A acknowledge"));
}

/// Lines of a `--logs` source, in batches as the console's tail hands them
/// over: `GET /api/items/N 200`.
fn flood(app: &mut App, source: &str, lines: std::ops::Range<usize>) {
    use crate::model::{Level, LogLine};
    let label: std::sync::Arc<str> = source.into();
    let at = app.now.expect("the release has a time");
    let mut batch = Vec::with_capacity(4096);
    for n in lines {
        batch.push(LogLine {
            at,
            level: Level::Info,
            source: label.clone(),
            stage: None,
            message: format!("GET /api/items/{n} 200 3ms"),
        });
        if batch.len() == 4096 {
            feed(app, Update::Logs(std::mem::take(&mut batch)));
        }
    }
    if !batch.is_empty() {
        feed(app, Update::Logs(batch));
    }
}

/// The rows of the log pane as drawn, below its title.
fn log_rows(app: &mut App, width: u16, height: u16) -> Vec<String> {
    let shown = screen(app, width, height);
    shown
        .lines()
        .skip_while(|row| !row.contains(" Logs · "))
        .skip(1)
        .take_while(|row| !row.contains('╰') && !row.contains('┗'))
        .map(str::to_string)
        .collect()
}

/// A flood from a `--logs` source evicts only its own old lines: the
/// pipeline's are all still there, and the filter finds them on screen.
#[test]
fn a_flood_leaves_the_pipelines_own_lines_findable() {
    let (mut app, _) = watching("happy-canary", "dave", true, |r| r.rollout().began);
    let own: Vec<String> = app
        .release
        .logs()
        .own()
        .iter()
        .map(|l| l.message.clone())
        .collect();
    let builds: Vec<String> = (app.release.logs().own().iter())
        .filter(|l| &*l.source == "build")
        .map(|l| l.message.clone())
        .collect();
    assert!(!builds.is_empty());
    flood(&mut app, "flood.log", 0..300_000);
    let logs = app.release.logs();
    let kept: Vec<&str> = logs.own().iter().map(|l| l.message.as_str()).collect();
    assert_eq!(kept, own, "every line of the release's own is kept");
    let flood_ring = logs.source("flood.log").unwrap();
    assert_eq!(flood_ring.len(), crate::model::DEFAULT_LOG_CAPACITY);
    assert_eq!(flood_ring.dropped(), 200_000, "the flood drops its own");
    assert!(
        log_rows(&mut app, 160, 45)
            .last()
            .unwrap()
            .contains("GET /api/items/299999 200"),
        "following shows the flood's newest line"
    );
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "src:build");
    press(&mut app, KeyCode::Enter);
    let said = app.status.clone().unwrap().text;
    assert_eq!(
        said,
        format!("logs filtered by \"src:build\": {} lines", builds.len())
    );
    let rows = log_rows(&mut app, 160, 45);
    let last = builds.last().unwrap();
    assert!(
        rows.iter()
            .any(|row| row.contains(&last[..40.min(last.len())])),
        "{rows:#?}"
    );
    assert!(rows.iter().all(|row| !row.contains("flood.log")));
}

/// A held view (scrolled back) shows the same lines while a flood drops
/// them from memory, and its bottom line, the one Enter opens, is marked.
#[test]
fn a_held_view_does_not_move_while_a_flood_drops_its_lines() {
    let (mut app, mut sim) = watching("happy-canary", "dave", true, |r| r.logs().len() > 100);
    flood(&mut app, "kubectl", 0..30);
    // The pipeline goes on logging between the flood's lines.
    while app.release.logs().own().len() < 140 {
        let due = sim.next_due().unwrap();
        feed(&mut app, Update::Events(sim.advance_to(due)));
    }
    flood(&mut app, "kubectl", 30..60);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, crate::tui::app::Pane::Logs);
    press(&mut app, KeyCode::PageUp);
    press(&mut app, KeyCode::Up);
    let held = log_rows(&mut app, 160, 45);
    assert!(held.iter().any(|row| row.contains("kubectl")), "{held:#?}");
    flood(&mut app, "kubectl", 60..250_000);
    let ring = app.release.logs().source("kubectl").unwrap();
    assert!(ring.iter().all(|l| !l.message.contains("items/59 ")));
    assert_eq!(log_rows(&mut app, 160, 45), held, "the held view stays");
    let bottom = app.logs.current(app.release.logs()).unwrap().clone();
    let backend = drawn(&mut app, 160, 45);
    let marked = cells_from(&backend, &bottom.message[..20.min(bottom.message.len())]);
    let selected = app.theme[Slot::Selected];
    // To the pane's (focused) border: the whole row.
    let mut row = marked.iter().take_while(|c| c.symbol() != "┃");
    assert!(
        row.clone().count() > bottom.message.len() && row.all(|c| Some(c.bg) == selected.bg),
        "{:?} {bottom:?} {marked:?}",
        selected
    );
    press(&mut app, KeyCode::Char('G'));
    let rows = log_rows(&mut app, 160, 45);
    assert!(rows.last().unwrap().contains("items/249999 "), "{rows:#?}");
}

#[test]
fn a_long_log_line_read_whole() {
    let (mut app, _) = watching("happy-canary", "dave", true, at_manual_pause);
    let mut raw = String::from("payment-gateway: upstream timeout after 30s; ");
    raw.push_str("\u{1b}]0;pwned\u{7}\u{1b}[2J");
    for n in 0..24 {
        raw.push_str(&format!(
            "retry {n}: POST /v1/charges 504 card=**** {n:04} "
        ));
    }
    raw.push_str("giving up (end of line)\n");
    // As a `--logs` source reads it.
    let mut lines = Vec::new();
    crate::backend::tail::Lines::new("gateway.log".into()).feed(
        raw.as_bytes(),
        app.now.unwrap(),
        &mut lines,
    );
    feed(&mut app, Update::Logs(lines));
    press(&mut app, KeyCode::Enter);
    snap("read_line", &mut app);
    for (w, h) in SIZES {
        let shown = screen(&mut app, w, h);
        assert!(shown.contains("giving up (end of line)"), "{shown}");
        assert!(!shown.contains("pwned"), "{shown}");
    }
}

/// Retitles the window, writes the clipboard, clears the screen (C1 CSI)
/// and turns right to left, in YAML's escapes.
const HOSTILE_YAML: &str = r#""svc\e]0;pwned\a\e]52;c;cm0gLXJmIH4=\a\x9b2J\u202Eevil\u200B""#;
/// The same, as a server would send it.
const HOSTILE: &str =
    "svc\u{1b}]0;pwned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{9b}2J\u{202e}evil\u{200b}";

#[test]
fn nothing_from_a_scenario_or_a_server_reaches_the_screen_raw() {
    use crate::backend::Connection;
    use crate::sim::{SimOptions, Simulator, bundled, scenario};
    let text = bundled::get("happy-canary")
        .unwrap()
        .replace("service: checkout-api", &format!("service: {HOSTILE_YAML}"))
        .replace("name: Build and package", &format!("name: {HOSTILE_YAML}"));
    let mut sim = Simulator::new(scenario::parse(&text).unwrap(), SimOptions::default());
    let mut app = App::new(
        Person::new("erin").unwrap(),
        "sim:hostile",
        crate::tui::keymap::KeyMap::default(),
        crate::tui::theme::Theme::default_theme(false),
        1000,
        "test",
    );
    feed(&mut app, Update::Connection(Connection::Live));
    feed(&mut app, Update::Events(sim.start()));
    assert!(app.release.plan().unwrap().service.contains('\u{1b}'));
    // No person's name can hold these characters (a server's stream that
    // sends one is not read); drawn all the same, they are cleaned.
    feed(&mut app, Update::Identity(Person::own(HOSTILE)));
    let watcher = |operator: &str| crate::api::Watcher {
        operator: Person::own(operator),
        since: jiff::Timestamp::UNIX_EPOCH,
        streams: 1,
    };
    feed(
        &mut app,
        Update::Presence(crate::api::Presence {
            watchers: vec![watcher(HOSTILE), watcher("dave")],
            ..Default::default()
        }),
    );
    for (w, h) in SIZES {
        let backend = drawn(&mut app, w, h);
        let bad: Vec<&str> = backend
            .buffer()
            .content
            .iter()
            .map(Cell::symbol)
            .filter(|s| s.chars().any(crate::model::text::is_unsafe))
            .collect();
        assert!(bad.is_empty(), "{bad:?} reach the screen at {w}x{h}");
    }
    let screen = screen(&mut app, 160, 45);
    // The words stay, where each name is drawn: the service, the stage,
    // who the server says this is and who watches with them.
    for shown in [
        " svcevil  v2.13.4",
        "▶ svcevil ",
        "operator svcevil (with dave)",
    ] {
        assert!(screen.contains(shown), "{shown:?} not in\n{screen}");
    }
    feed(
        &mut app,
        Update::Connection(Connection::Lost(HOSTILE.into())),
    );
    let backend = drawn(&mut app, 160, 45);
    assert!(
        !backend
            .buffer()
            .content
            .iter()
            .any(|c| c.symbol().chars().any(crate::model::text::is_unsafe)),
        "{backend}"
    );
}

#[test]
fn the_inbox_over_the_window() {
    use crate::tui::app::tests::{inbox_feed, inbox_item};
    let (mut app, _) = watching("happy-canary", "alice", false, |_| true);
    let mut list = crate::tui::inbox::InboxList::over(None);
    list.now = Some("2026-12-01T10:25:00Z".parse().expect("a time"));
    app.inbox = Some(list);
    let mut hostile = inbox_item("search-3", "sign \u{1b}[31mit\u{202e}", false);
    hostile.deadline = None;
    let _ = app.update(inbox_feed(vec![
        inbox_item("checkout-2", "Production approval", true),
        hostile,
    ]));
    app.mode = Mode::Inbox;
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("Inbox — 1 thing waits on you"), "{text}");
    // The header says what waits in other releases, and the key for it.
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("+1 in your inbox (i)"),
        "{text}"
    );
    assert!(text.contains("waited 25m"), "{text}");
    assert!(text.contains("the window closes in 5m"), "{text}");
    assert!(text.contains("dave or erin may"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    // Mine above, others below.
    let mine = text.find("checkout-2").expect("mine listed");
    let others = text.find("Waiting on others").expect("others listed");
    assert!(mine < others, "{text}");
    insta::assert_snapshot!(text);
}

/// The header as the window's end nears and passes: the time left in the
/// warning's style in the last 15 minutes, with seconds; then `closed
/// 16:00` in the alert's.
#[test]
fn the_window_counts_down_and_then_says_it_closed() {
    // The release held at its pause; only the clock moves on.
    let (mut app, _) = watching("happy-canary", "erin", true, at_manual_pause);
    let end: jiff::Timestamp = "2026-11-24T16:00:00Z".parse().unwrap();
    let header_of = |app: &mut App, width| {
        let shown = screen(app, width, 24);
        shown.lines().take(2).collect::<Vec<_>>().join("\n")
    };
    let early = end - SignedDuration::from_mins(20);
    feed(&mut app, Update::Clock(early));
    let backend = drawn(&mut app, 160, 45);
    let calm = cells_from(&backend, "20m left");
    assert_eq!(calm[0].style().fg, app.theme[Slot::Header].fg);

    let near = end - SignedDuration::from_secs(250);
    feed(&mut app, Update::Clock(near));
    let backend = drawn(&mut app, 160, 45);
    let warned = cells_from(&backend, "4m 10s left");
    assert_eq!(warned[0].style().fg, app.theme[Slot::StageWaiting].fg);
    insta::assert_snapshot!("window_closing_header_160", header_of(&mut app, 160));
    insta::assert_snapshot!("window_closing_header_80", header_of(&mut app, 80));

    let past = end + SignedDuration::from_secs(75);
    feed(&mut app, Update::Clock(past));
    let backend = drawn(&mut app, 160, 45);
    let closed = cells_from(&backend, "closed 16:00");
    assert_eq!(closed[0].style().fg, app.theme[Slot::Danger].fg);
    assert_eq!(closed[0].style().bg, app.theme[Slot::Danger].bg);
    insta::assert_snapshot!("window_closed_header_160", header_of(&mut app, 160));
    insta::assert_snapshot!("window_closed_header_80", header_of(&mut app, 80));
}

/// Over a window that waits on its operator, the inbox says so first when
/// that window is none of its sources' (a simulator's), and nothing else.
#[test]
fn the_inbox_over_a_window_that_waits_on_you_says_so() {
    let (mut app, _) = watching("happy-canary", "erin", false, at_approval);
    let own = app.waiting_on_me();
    assert!(own > 1, "the gate and the checklist wait on erin");
    let mut list = crate::tui::inbox::InboxList::over(None);
    list.now = Some("2026-12-01T10:25:00Z".parse().expect("a time"));
    app.inbox = Some(list);
    let _ = app.update(crate::tui::app::tests::inbox_feed(Vec::new()));
    app.mode = Mode::Inbox;
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("Inbox — nothing else waits on you"), "{text}");
    let said = format!("This window: {own} things wait on you — Esc goes back to it");
    assert!(text.contains(&said), "{text}");
    assert!(text.contains("Nothing else waits on you."), "{text}");
}
