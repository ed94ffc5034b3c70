//! A served window killed with SIGKILL at random moments, a hundred times
//! over, and taken up again each time: no acknowledged command is ever
//! missing from the journal, and the journal always reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use shipdeck::journal;

const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");

/// The two-person story without its scripted people, which stops at the
/// staging checklist and at the gate: people, here the test, move it on.
fn scenario(dir: &Path) -> std::path::PathBuf {
    let story = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/two-person.yaml"),
    )
    .unwrap();
    let path = dir.join("two-person.yaml");
    std::fs::write(&path, story.split("\nactors:").next().unwrap()).unwrap();
    path
}

fn serve(dir: &Path, scenario: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--speed",
            "max",
            "--scenario",
        ])
        .arg(scenario)
        .env("SHIPDECK_JOURNAL_DIR", dir.join("journal"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let Some(address) = first
        .trim()
        .strip_prefix("shipdeck serve: listening on http://")
    else {
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("serve did not start: {first}{err}");
    };
    (child, address.to_string())
}

/// Posts a command; the status when an answer came back whole.
fn post(address: &str, body: &str) -> Option<u16> {
    let mut socket = TcpStream::connect(address).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "POST /api/v1/releases/payments-api-v5.5.0/commands HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).ok()?;
    let status: u16 = answer.split(' ').nth(1)?.parse().ok()?;
    // Acknowledged: the verdict is in the body.
    answer.contains("\"verdict\"").then_some(status)
}

#[test]
fn a_window_killed_a_hundred_times_keeps_every_acknowledged_command() {
    let dir = std::env::temp_dir().join(format!("shipdeck-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = scenario(&dir);
    let mut acknowledged: Vec<String> = Vec::new();
    let mut rng = fastrand::Rng::with_seed(20261122);
    let mut n = 0;
    for round in 0..100 {
        let (mut child, address) = serve(&dir, &scenario);
        // The kill comes at a random moment, whatever is happening.
        let pid = child.id();
        let after = Duration::from_micros(rng.u64(0..40_000));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(after);
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        loop {
            n += 1;
            let id = format!("k{round}-{n}");
            let body = match n % 3 {
                0 => format!(
                    r#"{{"id":"{id}","operator":"dave","kind":"check","list":"staging-validation","item":"config"}}"#
                ),
                1 => format!(
                    r#"{{"id":"{id}","operator":"erin","kind":"uncheck","list":"staging-validation","item":"config"}}"#
                ),
                _ => format!(
                    r#"{{"id":"{id}","operator":"carol","kind":"pause","reason":"round {round}"}}"#
                ),
            };
            match post(&address, &body) {
                Some(_) => acknowledged.push(id),
                None => break,
            }
        }
        killer.join().unwrap();
        let _ = child.wait();
        // Every round, the journal reads and holds every acknowledged command.
        let journals: Vec<_> = std::fs::read_dir(dir.join("journal"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(
            journals.len(),
            1,
            "round {round}: the window was taken up, not started again"
        );
        let journal = journal::read(&journals[0])
            .unwrap_or_else(|err| panic!("round {round}: the journal does not read: {err}"));
        let recorded: std::collections::HashSet<&str> = journal
            .commands
            .iter()
            .map(|(_, c)| c.id.as_str())
            .collect();
        let answered: std::collections::HashSet<&str> = journal
            .verdicts
            .iter()
            .map(|answer| answer.id.as_str())
            .collect();
        for id in &acknowledged {
            assert!(
                recorded.contains(id.as_str()),
                "round {round}: {id} was acknowledged but is not recorded"
            );
            assert!(
                answered.contains(id.as_str()),
                "round {round}: {id}'s verdict is not recorded"
            );
        }
    }
    assert!(
        acknowledged.len() > 50,
        "only {} commands were acknowledged",
        acknowledged.len()
    );
    let _ = std::fs::remove_dir_all(dir);
}
