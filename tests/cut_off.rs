//! The console cut off from its server, in a real terminal: the server is
//! killed while keys are pressed. A sign-off shows as queued with its age
//! and expires unsent; a rollback waits for the server, says so in the
//! header, and is sent late when it is back; the report's timeline tells
//! the outage. A server that begins a new window says so on screen.

mod common;

use std::path::Path;

use common::terminal::key;
use common::{Console, Server, scratch, shipdeck};

fn serve(dir: &Path, more: &[&str]) -> Server {
    let scenario = common::two_person(dir);
    let mut args = vec!["--speed", "30", "--scenario", scenario.to_str().unwrap()];
    args.extend(more);
    Server::start(dir, &args)
}

fn dave(dir: &Path, server: &Server, expiry: &str) -> Console {
    Console::open(
        &dir.join("dave"),
        (160, 45),
        &["--backend", &server.url, "--command-expiry", expiry],
        &[("SHIPDECK_OPERATOR", "dave")],
    )
}

/// Whether the server's journals hold a command of this kind from `who`.
fn served(dir: &Path, who: &str, kind: &str) -> bool {
    std::fs::read_dir(dir.join("journal"))
        .unwrap()
        .any(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(path).unwrap_or_default();
            text.lines().any(|line| {
                line.starts_with(r#"{"record":"command""#)
                    && line.contains(&format!(r#""operator":"{who}""#))
                    && line.contains(&format!(r#""kind":"{kind}""#))
            })
        })
}

#[test]
fn cut_off_a_sign_off_expires_unsent_and_a_rollback_goes_late_and_the_report_tells_it() {
    let tmp = scratch();
    let dir = tmp.path();
    let mut server = serve(dir, &[]);
    let listen = server.address().to_string();
    let mut console = dave(dir, &server, "3s");
    console.wait_for("you may sign");

    server.kill();
    console.wait_for("LAST HEARD: RUNNING");
    console.keys("s");
    console.wait_for("Sign off Production deploy approval as dave");
    console.keys("Ledger checks pass.");
    console.keys(key::CTRL_S);
    let screen = console.wait_for("   queued — not delivered · 1s");
    assert!(
        screen.contains(
            "sign off Production deploy approval: queued — not delivered · 1s · expires in 2s"
        ) && screen.contains("your sign-off expires in 2s"),
        "the key bar counts: {screen}"
    );
    assert!(!screen.contains("you may sign"), "{screen}");
    let screen = console
        .wait_for("sign off Production deploy approval: expired — not sent: no delivery within 3s");
    assert!(
        screen.contains("you may sign"),
        "the gate is as it was: {screen}"
    );

    // Nothing has reached production yet: R stops the release, and the stop
    // is held for the link like a rollback.
    console.keys("R");
    console.wait_for("Stop queued, not sent yet");
    console.keys(key::ESCAPE);
    console.wait_for("STOP QUEUED — will be sent when the server is back · 4s");
    let screen = console.screen();
    assert!(
        !screen.contains("expired — rollback") && !screen.contains("ABORTED"),
        "{screen}"
    );

    let _server = serve(dir, &["--listen", &listen]);
    let screen = console.wait_for("· stop sent late by");
    assert!(
        screen.contains("ABORTED (stopped before production by dave) · stop sent late by"),
        "{screen}"
    );
    assert!(!screen.contains("STOP QUEUED"), "{screen}");
    console.keys("q");
    console.ends_restored(0);

    assert!(
        !served(dir, "dave", "approve"),
        "the expired sign-off never reached the server"
    );
    assert!(served(dir, "dave", "rollback"));

    let report = shipdeck(&dir.join("dave"))
        .args(["report", "latest"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    for told in [
        "Connection to the server lost: ",
        "Connection back after",
        "queued meanwhile: approve by dave, rollback by dave",
        "The rollback by dave was sent",
        "not sent: it waited 3s undelivered and expired",
    ] {
        assert!(
            report.contains(told),
            "{told:?} is not in the report:\n{report}"
        );
    }
}

#[test]
fn a_server_that_begins_a_new_window_says_so_and_what_was_queued_for_the_old_one_is_not_sent() {
    let tmp = scratch();
    let dir = tmp.path();
    let mut server = serve(dir, &[]);
    let listen = server.address().to_string();
    let mut console = dave(dir, &server, "60s");
    console.wait_for("you may sign");

    server.kill();
    console.wait_for("LAST HEARD: RUNNING");
    console.keys("s");
    console.wait_for("Sign off Production deploy approval as dave");
    console.keys(key::CTRL_S);
    console.wait_for("your sign-off expires in");

    let _server = serve(dir, &["--listen", &listen, "--fresh"]);
    console.wait_for("NEW WINDOW: the old window's state is gone");
    let screen = console.wait_for(
        "sign off Production deploy approval: expired — not sent: the server began a new window, and it was meant for the old one",
    );
    assert!(screen.contains("NEW WINDOW"), "{screen}");
    console.wait_for("you may sign");
    assert!(!console.screen().contains("queued"));
    console.keys("q");
    console.ends_restored(0);
    assert!(
        !served(dir, "dave", "approve"),
        "the old window's sign-off never reached the new one"
    );
}
