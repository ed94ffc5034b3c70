//! A hostile string through every printer shipdeck has: a server's release
//! ids, its refusal of a command, its hello and presence; a scenario's
//! service and a file's name through `check`, `events`, the journal,
//! `journal list` and `report` (Markdown and JSON); `config --operator`;
//! clap's refusal of a flag; `serve`'s banner; the console's screen. Each
//! time no escape sequence, C1 control, bidirectional control or invisible
//! character reaches standard output, standard error or the terminal, a
//! value cannot break its line, and the words around what was taken out
//! are still there to read.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{Console, Server, scratch, shipdeck};
use serde_json::{Value, json};

/// Retitles the window (OSC 0), writes "rm -rf ~" into the clipboard (OSC
/// 52), clears the screen (CSI, and C1 CSI), turns the rest right to left,
/// hides a character, and starts a Markdown heading, a table cell, code and
/// HTML on a line of its own.
const HOSTILE: &str = "svc\u{1b}]0;pwned\u{7}\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\u{9b}31m\
    \u{202e}evil\u{2066}\u{200b}\n## fake | `x` <b>";
/// What is left of it to read on one line.
const SHOWN: &str = "svcevil## fake | `x` <b>";
/// What of [`HOSTILE`] a person's name can hold: no name holds a control,
/// a bidirectional or an invisible character (each is refused where it
/// enters), so people's names carry only the Markdown and the line.
const HOSTILE_NAME: &str = SHOWN;
/// [`HOSTILE`] in a YAML double-quoted string.
const HOSTILE_YAML: &str = r#""svc\e]0;pwned\a\e]52;c;cm0gLXJmIH4=\a\e[2J\x9b31m\u202Eevil\u2066\u200B\n## fake | `x` <b>""#;

/// The characters a terminal acts on or that change how text is drawn:
/// C0 but the line break, DEL, C1, the bidirectional controls, and the
/// invisible ones used here.
fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(
            c,
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200b}'..='\u{200f}'
                | '\u{61c}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{feff}'
        )
}

/// `bytes` hold nothing [`is_hostile`], and no line of them starts what
/// the hostile string started on a line of its own.
fn assert_clean(what: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let found: Vec<String> = text
        .chars()
        .filter(|&c| is_hostile(c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    assert!(found.is_empty(), "{what} printed {found:?}:\n{text:?}");
    assert!(
        !text.lines().any(|l| l.starts_with("## fake")),
        "{what}: a value broke its line:\n{text}"
    );
    text
}

/// Standard output and standard error of `output`, each clean.
fn both_clean(what: &str, output: &Output) -> (String, String) {
    (
        assert_clean(&format!("{what} (stdout)"), &output.stdout),
        assert_clean(&format!("{what} (stderr)"), &output.stderr),
    )
}

/// `shipdeck ARGS`, killed (and so failing the test) if it does not end
/// within a minute.
fn run(dir: &Path, args: &[&str]) -> Output {
    let mut command = assert_cmd::Command::from_std(shipdeck(dir));
    command
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// A scenario whose service is [`HOSTILE`] and whose deployer is
/// [`HOSTILE_NAME`], in a file whose name is hostile too.
fn hostile_scenario(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/canary-regression.yaml"),
    )
    .unwrap()
    .replace("service: checkout-api", &format!("service: {HOSTILE_YAML}"))
    .replace("deployer: carol", &format!("deployer: \"{HOSTILE_NAME}\""));
    let path = dir.join("story\u{1b}]0;pwned\u{7}\u{202e}.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_hostile_scenario_file_is_shown_clean_by_every_command() {
    let home = scratch();
    let dir = home.path();
    let scenario = hostile_scenario(dir);
    let path = scenario.to_str().unwrap();

    let (out, _) = both_clean("check", &run(dir, &["check", path]));
    assert!(out.contains("story.yaml: ok (scenario)"), "{out}");
    // A file that does not read: the problem names the key it was given.
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, format!("release: {{ {HOSTILE_YAML}: x }}\n")).unwrap();
    let checked = run(dir, &["check", broken.to_str().unwrap()]);
    assert_eq!(checked.status.code(), Some(2));
    let (_, err) = both_clean("check of a broken file", &checked);
    assert!(err.contains("broken.yaml:1:"), "{err}");

    // The stream's data is the scenario's, each hostile character escaped.
    let events = run(
        dir,
        &[
            "events",
            "--scenario",
            path,
            "--speed",
            "max",
            "--autopilot",
        ],
    );
    assert!(events.status.success(), "{events:?}");
    let (stream, _) = both_clean("events", &events);
    let first: Value = serde_json::from_str(stream.lines().next().unwrap()).unwrap();
    assert_eq!(first["plan"]["service"], HOSTILE, "the data is kept");

    // The journal keeps the data too, and is safe to `cat`.
    let journals = dir.join("journal");
    let journal = std::fs::read_dir(&journals)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = assert_clean("the journal file", &std::fs::read(&journal).unwrap());
    assert!(
        text.lines().any(|l| l.contains(r#"\u001b]0;pwned"#)),
        "{text}"
    );
    // Recorded by someone named like that (a journal written elsewhere).
    let window = text.lines().next().unwrap();
    let mut record: Value = serde_json::from_str(window).unwrap();
    record["operator"] = json!(HOSTILE_NAME);
    let rest: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    std::fs::write(&journal, format!("{record}\n{rest}")).unwrap();

    let (listing, _) = both_clean("journal list", &run(dir, &["journal", "list"]));
    assert!(listing.contains("svcevil## fake"), "{listing}");

    let (md, _) = both_clean("report", &run(dir, &["report", "latest"]));
    assert!(
        md.contains("# Deployment Report: svcevil \\#\\# fake \\| \\`x\\` \\<b\\>"),
        "{md}"
    );
    assert!(md.contains("**Recorded by**: svcevil\\#\\# fake"), "{md}");
    let (json, _) = both_clean(
        "report --format json",
        &run(dir, &["report", "latest", "--format", "json"]),
    );
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        report["service"], HOSTILE,
        "the report's data is the journal's"
    );
    let file = dir.join("report.md");
    let written = run(dir, &["report", "latest", "-o", file.to_str().unwrap()]);
    both_clean("report -o", &written);
    assert_clean("the report file", &std::fs::read(&file).unwrap());

    // `serve` says which scenario it serves; what it answers is safe to
    // print as it comes (`curl`), and still the scenario's data.
    let server = Server::start(&dir.join("served"), &["--scenario", path]);
    assert_clean("serve's banner", server.banner.as_bytes());
    assert!(server.banner.contains("story.yaml"), "{}", server.banner);
    let list = get(server.address(), "/api/v1/releases");
    let list = assert_clean("the server's release list", &list);
    let body: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(body[0]["service"], HOSTILE);
    let id: String = (body[0]["id"].as_str().unwrap().bytes())
        .map(|b| format!("%{b:02X}"))
        .collect();
    let stream = get(
        server.address(),
        &format!("/api/v1/releases/{id}/events?after=0"),
    );
    let stream = assert_clean("the server's stream", &stream);
    assert!(stream.contains(r#"\u001b]0;pwned"#), "{stream}");
}

/// The body a server answers to `GET path` within a second, as `curl`
/// would print it (HTTP/1.0: no chunks, the body as it is).
fn get(address: &str, path: &str) -> Vec<u8> {
    let mut socket = TcpStream::connect(address).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(1);
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    write!(socket, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0; 65536];
    while std::time::Instant::now() < until {
        match socket.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
    }
    let head = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    answer.split_off(head + 4)
}

#[test]
fn what_a_person_typed_is_shown_clean() {
    let home = scratch();
    let dir = home.path();
    // No person has such a name: refused, and the refusal is clean.
    let refused = run(dir, &["config", "--operator", HOSTILE]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let (_, err) = both_clean("config --operator", &refused);
    assert!(
        err.contains("--operator: a name may not hold a control character"),
        "{err}"
    );
    let (out, err) = both_clean(
        "config --operator",
        &run(dir, &["config", "--operator", HOSTILE_NAME]),
    );
    assert!(out.contains("svcevil## fake | `x` <b>"), "{out}{err}");
    let (_, err) = both_clean("a bad --speed", &run(dir, &["events", "--speed", HOSTILE]));
    assert!(err.contains("svcevil"), "{err}");
    let (_, err) = both_clean(
        "an unknown scenario",
        &run(dir, &["events", "--scenario", HOSTILE]),
    );
    assert!(err.contains("no scenario named \"svcevil## fake"), "{err}");
    let (_, err) = both_clean("a missing journal", &run(dir, &["report", HOSTILE]));
    assert!(err.contains("svcevil"), "{err}");
}

/// A server that means harm: two releases named with [`HOSTILE`], a
/// refusal of every command as and because of it, and a stream whose
/// hello, presence and events carry it. Serves until the test ends.
struct EvilServer {
    url: String,
}

impl EvilServer {
    fn start(events: Vec<Value>) -> EvilServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for socket in listener.incoming().flatten() {
                let events = events.clone();
                std::thread::spawn(move || {
                    let _ = answer(socket, &events);
                });
            }
        });
        EvilServer { url }
    }
}

/// The releases' ids as the server gives them.
fn ids() -> [String; 2] {
    [format!("r1-{HOSTILE}"), format!("r2-{HOSTILE}")]
}

fn answer(socket: TcpStream, events: &[Value]) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket.try_clone()?);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = n.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut socket = socket;
    let path = head.split_whitespace().nth(1).unwrap_or("");
    let reply = |socket: &mut TcpStream, status: &str, body: Value| {
        let body = body.to_string();
        write!(
            socket,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    if path == "/api/v1/releases" {
        let summary = |id: &str| {
            json!({
                "id": id, "window": HOSTILE, "service": HOSTILE, "version_from": "v1",
                "version_to": "v2", "environment": HOSTILE, "status": "running", "last_seq": 0
            })
        };
        let [one, two] = ids();
        return reply(&mut socket, "200 OK", json!([summary(&one), summary(&two)]));
    }
    if path.ends_with("/commands") {
        let command: Value = serde_json::from_slice(&body).unwrap_or_default();
        let refusal = json!({
            "id": command["id"], "operator": HOSTILE, "verdict": "refused", "reason": HOSTILE
        });
        return reply(&mut socket, "403 Forbidden", refusal);
    }
    socket.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n",
    )?;
    let hello = json!({ "window": "w1", "last_seq": events.len(), "operator": HOSTILE });
    write!(socket, "event: hello\ndata: {hello}\n\n")?;
    let watcher = json!({ "operator": format!("watcher-{HOSTILE}"), "since": "2026-11-26T10:00:00Z", "streams": 1 });
    write!(
        socket,
        "event: presence\ndata: {}\n\n",
        json!({ "watchers": [watcher] })
    )?;
    for event in events {
        write!(socket, "id: {}\ndata: {event}\n\n", event["seq"])?;
    }
    socket.flush()?;
    std::thread::sleep(Duration::from_secs(60));
    Ok(())
}

/// The events of the hostile scenario, as a server would send them.
fn hostile_events(dir: &Path) -> Vec<Value> {
    let scenario = hostile_scenario(dir);
    let path = scenario.to_str().unwrap();
    let events = run(
        dir,
        &[
            "events",
            "--scenario",
            path,
            "--speed",
            "max",
            "--autopilot",
        ],
    );
    String::from_utf8(events.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_hostile_server_is_shown_clean_by_every_command() {
    let home = scratch();
    let dir = home.path();
    let server = EvilServer::start(hostile_events(dir));
    let backend = ["--backend", server.url.as_str()];

    // Two releases: the ids are listed to choose from.
    let listed = run(dir, &[&["do", "advance"][..], &backend].concat());
    assert_eq!(listed.status.code(), Some(2), "{listed:?}");
    let (_, err) = both_clean("the release list", &listed);
    assert!(
        err.contains("choose one with --release: r1-svcevil## fake"),
        "{err}"
    );
    let chosen = format!("r1-{SHOWN}");
    let release = ["--release", chosen.as_str()];

    // The server refuses, as and because of something hostile.
    let refused = run(dir, &[&["do", "advance"][..], &backend, &release].concat());
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    let (_, err) = both_clean("a refusal", &refused);
    assert!(
        err.contains(&format!(
            "r1-{SHOWN}: advance refused (as {SHOWN}): {SHOWN}"
        )),
        "{err}"
    );

    // Its stream, as JSON lines.
    let followed = run(dir, &[&["events"][..], &backend, &release].concat());
    let (stream, _) = both_clean("events --backend", &followed);
    assert!(stream.lines().count() > 10, "{stream}");

    // The console: who the server says this is, and who watches.
    let console_home = dir.join("console");
    let mut console = Console::start(
        &console_home,
        (160, 45),
        &[&backend[..], &release].concat(),
        &[],
    );
    console.pty.keep_transcript();
    let screen = console.wait_for("operator svcevil## fake");
    // Cut to 20 characters, cleaned first.
    assert!(screen.contains("(with watcher-svcevil## fa…)"), "{screen}");
    assert!(screen.contains(" svcevil## fake | `x` <b> "), "{screen}");
    console.keys("q");
    console.ends_restored(0);
    let transcript = String::from_utf8_lossy(console.pty.transcript()).into_owned();
    assert!(
        console.pty.titles().is_empty(),
        "retitled: {:?}",
        console.pty.titles()
    );
    for (what, bytes) in [
        ("OSC", "\u{1b}]"),
        ("C1 CSI", "\u{9b}"),
        ("RLO", "\u{202e}"),
        ("LRI", "\u{2066}"),
        ("ZWSP", "\u{200b}"),
    ] {
        assert!(!transcript.contains(bytes), "{what} reached the terminal");
    }
}
