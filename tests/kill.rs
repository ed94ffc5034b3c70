//! A served window killed with SIGKILL at random moments, a hundred times
//! over, and taken up again each time: no acknowledged command is ever
//! missing from the journal, and the journal always reads.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, scratch, without_actors};
use rustix::process::{Pid, Signal, kill_process};
use shipdeck::journal;

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
    let scratch = scratch();
    let dir = scratch.path();
    // The two-person story without its scripted people, which stops at the
    // staging checklist and at the gate: people, here the test, move it on.
    let scenario = without_actors(dir, "two-person");
    let served = ["--speed", "max", "--scenario", scenario.to_str().unwrap()];
    let mut acknowledged: Vec<String> = Vec::new();
    let mut rng = fastrand::Rng::with_seed(20261122);
    let mut n = 0;
    for round in 0..100 {
        let mut server = Server::start(dir, &served);
        // The kill comes at a random moment, whatever is happening.
        let pid = Pid::from_raw(server.pid() as i32).unwrap();
        let after = Duration::from_micros(rng.u64(0..40_000));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(after);
            let _ = kill_process(pid, Signal::KILL);
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
            match post(server.address(), &body) {
                Some(_) => acknowledged.push(id),
                None => break,
            }
        }
        killer.join().unwrap();
        server.kill();
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
}
