//! The console in a real terminal (tmux), driven by keys as a person would:
//! it draws, it answers keys, and however it ends — q, SIGTERM, a panic —
//! it leaves the terminal as it found it.
//!
//! Needs tmux (`apt-get install tmux`); `.ci/run` installs it.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    /// A private tmux server running a plain shell at the given size.
    fn start(name: &str, width: u16, height: u16) -> Tmux {
        let socket = format!("shipdeck-test-{name}-{}", std::process::id());
        let tmux = Tmux { socket };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &tmux.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .args([
                "env",
                "-i",
                "PATH=/usr/bin:/bin",
                "TERM=xterm-256color",
                "HOME=/tmp",
                "PS1=$ ",
            ])
            .args(["bash", "--norc", "--noprofile"])
            .status()
            .unwrap_or_else(|e| {
                panic!("tmux is needed for these tests (apt-get install tmux): {e}")
            })
            .success();
        assert!(ok, "tmux could not start");
        tmux
    }

    fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "t"])
            .args(keys)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn type_line(&self, line: &str) {
        self.keys(&["-l", line]);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-J", "-t", "t"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn flags(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "display-message", "-p", "-t", "t"])
            .arg("alternate=#{alternate_on} cursor=#{cursor_flag}")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the screen shows `text`, or fails with what it shows.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a line that starts with `prefix` (not the command that
    /// prints it, which starts with the prompt) and returns the rest of it.
    fn wait_for_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if let Some(rest) = screen.lines().find_map(|l| l.strip_prefix(prefix)) {
                return rest.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "waited for a line starting {prefix:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal's line settings, as `stty -g` prints them.
    fn stty(&self, marker: &str) -> String {
        self.type_line(&format!("clear; echo {marker}=$(stty -g)"));
        self.wait_for_line(&format!("{marker}="))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_shipdeck")
}

/// Starts the console in the shell, then checks it took over the screen.
fn open_console(tmux: &Tmux, args: &str, env: &str) {
    tmux.type_line(&format!(
        "{env} SHIPDECK_OPERATOR=frank {} {args}; echo EXITED=$?",
        bin()
    ));
    tmux.wait_for("Stages");
    assert_eq!(
        tmux.flags(),
        "alternate=1 cursor=0",
        "the console owns the screen"
    );
}

fn assert_restored(tmux: &Tmux, before: &str, exit: &str) {
    assert_eq!(tmux.wait_for_line("EXITED="), exit, "exit status");
    assert_eq!(
        tmux.flags(),
        "alternate=0 cursor=1",
        "main screen, cursor visible"
    );
    assert_eq!(
        tmux.stty("AFTER"),
        before,
        "the line settings are as they were (raw mode off)"
    );
}

#[test]
fn q_quits_and_leaves_the_terminal_as_it_found_it() {
    let tmux = Tmux::start("quit", 80, 24);
    let before = tmux.stty("BEFORE");
    open_console(&tmux, "--speed 30", "");
    tmux.keys(&["q"]);
    assert_restored(&tmux, &before, "0");
}

#[test]
fn sigterm_leaves_the_terminal_as_it_found_it() {
    let tmux = Tmux::start("term", 100, 30);
    let before = tmux.stty("BEFORE");
    open_console(&tmux, "--speed 30 --seed 4242", "");
    let killed = Command::new("pkill")
        .args(["-TERM", "-f", "shipdeck --speed 30 --seed 4242"])
        .status()
        .unwrap()
        .success();
    assert!(killed, "the console was running");
    assert_restored(&tmux, &before, "143");
}

#[test]
fn sighup_and_sigint_leave_the_terminal_as_they_found_it() {
    for (signal, seed, status) in [("-HUP", "4343", "129"), ("-INT", "4444", "130")] {
        let tmux = Tmux::start(&format!("sig{seed}"), 100, 30);
        let before = tmux.stty("BEFORE");
        open_console(&tmux, &format!("--speed 30 --seed {seed}"), "");
        let killed = Command::new("pkill")
            .args([signal, "-f", &format!("shipdeck --speed 30 --seed {seed}")])
            .status()
            .unwrap()
            .success();
        assert!(killed, "the console was running");
        assert_restored(&tmux, &before, status);
    }
}

#[test]
fn a_panic_leaves_the_terminal_as_it_found_it() {
    let tmux = Tmux::start("panic", 100, 30);
    let before = tmux.stty("BEFORE");
    tmux.type_line(&format!(
        "SHIPDECK_DEBUG_PANIC=1 {} --speed 30; echo EXITED=$?",
        bin()
    ));
    tmux.wait_for_line("EXITED=");
    let screen = tmux.screen();
    assert!(
        screen.contains("panicking after the first frame"),
        "the panic is reported:\n{screen}"
    );
    assert_restored(&tmux, &before, "101");
}

/// A release that waits at its gate for frank, then at a pause.
const GATE_SCENARIO: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 50 }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: approval, kind: approval, gate: production }
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 1h }
gates:
  - { id: production, name: Production deploy approval, approvers: [frank] }
";

#[test]
fn keys_sign_the_gate_advance_the_canary_and_roll_back() {
    let dir = std::env::temp_dir().join(format!("shipdeck-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("gate.yaml");
    std::fs::write(&scenario, GATE_SCENARIO).unwrap();
    let tmux = Tmux::start("keys", 160, 45);
    let before = tmux.stty("BEFORE");
    open_console(&tmux, &format!("--scenario {}", scenario.display()), "");
    tmux.wait_for("you may sign");

    tmux.keys(&["s"]);
    tmux.wait_for("Sign off Production deploy approval as frank");
    tmux.keys(&["-l", "Ledger reconciliation checked on staging."]);
    tmux.keys(&["C-s"]);
    tmux.wait_for("✓ frank");
    tmux.wait_for("50% traffic");

    tmux.keys(&["a"]);
    tmux.wait_for("100% traffic");
    tmux.wait_for("advance: accepted");

    tmux.keys(&["R"]);
    tmux.wait_for("ROLLING BACK (frank)");
    tmux.keys(&["-l", "monitoring looked wrong"]);
    tmux.keys(&["C-s"]);
    tmux.wait_for("reason added to the rollback's record");
    tmux.keys(&["q"]);
    assert_restored(&tmux, &before, "0");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_recorded_window_replays_read_only_with_pause_and_seek() {
    let dir = std::env::temp_dir().join(format!("shipdeck-replay-{}", std::process::id()));
    let recorded = Command::new(bin())
        .env("SHIPDECK_JOURNAL_DIR", &dir)
        .args([
            "events",
            "--scenario",
            "canary-regression",
            "--speed",
            "max",
            "--autopilot",
        ])
        .output()
        .unwrap();
    assert!(recorded.status.success());
    let tmux = Tmux::start("replay", 160, 45);
    let before = tmux.stty("BEFORE");
    tmux.type_line(&format!(
        "SHIPDECK_JOURNAL_DIR={} {} replay latest --speed 30; echo EXITED=$?",
        dir.display(),
        bin()
    ));
    tmux.wait_for(" REPLAY ");
    tmux.keys(&["a"]);
    tmux.wait_for("nothing can be changed");
    tmux.keys(&["Space"]);
    tmux.wait_for("REPLAY · PAUSED");
    for _ in 0..25 {
        tmux.keys(&["Right"]);
    }
    tmux.wait_for("ROLLED BACK (rule:ErrorRateRollback)");
    tmux.keys(&["q"]);
    assert_restored(&tmux, &before, "0");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn keys_rebound_in_the_config_are_the_keys_help_shows() {
    let dir = std::env::temp_dir().join(format!("shipdeck-rebind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(&config, "keys:\n  help: h\n  rollback: ctrl+r\n").unwrap();
    let tmux = Tmux::start("rebind", 160, 45);
    open_console(&tmux, &format!("--config {}", config.display()), "");
    tmux.keys(&["h"]);
    tmux.wait_for("show or hide this help");
    let screen = tmux.wait_for("roll back now");
    assert!(
        screen.contains("Ctrl+r") && screen.contains("roll back now"),
        "{screen}"
    );
    assert!(
        screen
            .lines()
            .any(|l| l.contains(" h ") && l.contains("show or hide this help")),
        "{screen}"
    );
    tmux.keys(&["Escape"]);
    // Esc and q read together are Alt+q: let the help close first.
    let deadline = Instant::now() + Duration::from_secs(20);
    while tmux.screen().contains("show or hide this help") {
        assert!(Instant::now() < deadline, "Esc did not close the help");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.keys(&["q"]);
    tmux.wait_for_line("EXITED=");
    let _ = std::fs::remove_dir_all(dir);
}

/// A release that waits at a gate two people must sign.
const TWO_PERSON_SCENARIO: &str = "\
release: { service: ledger-api, from: v1.0.0, to: v1.1.0, deployer: carol }
strategy:
  canary:
    steps: [ { set_weight: 50 }, { pause: until advanced }, { set_weight: 100 } ]
stages:
  - { id: approval, kind: approval, gate: production }
  - { id: canary, kind: rollout }
  - { id: monitoring, kind: monitoring, duration: 1h }
gates:
  - { id: production, name: Production deploy approval, required: 2, approvers: [dave, erin] }
";

/// Starts `shipdeck serve` on `listen`; returns it and its URL.
fn serve(
    dir: &std::path::Path,
    scenario: &std::path::Path,
    listen: &str,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .args(["serve", "--listen", listen, "--speed", "30", "--scenario"])
        .arg(scenario)
        .env("SHIPDECK_JOURNAL_DIR", dir.join("served"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("shipdeck serve: listening on ")
        .unwrap_or_else(|| panic!("serve said {first:?}"))
        .to_string();
    (child, url)
}

#[test]
fn two_consoles_share_a_served_window_and_see_each_other_sign() {
    let dir = std::env::temp_dir().join(format!("shipdeck-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("two-person.yaml");
    std::fs::write(&scenario, TWO_PERSON_SCENARIO).unwrap();
    let (mut server, url) = serve(&dir, &scenario, "127.0.0.1:0");
    let open = |tmux: &Tmux, who: &str| {
        tmux.type_line(&format!(
            "SHIPDECK_JOURNAL_DIR={} SHIPDECK_OPERATOR={who} {} --backend {url}; echo EXITED=$?",
            dir.join(who).display(),
            bin()
        ));
        tmux.wait_for("Stages");
    };
    let dave = Tmux::start("dave", 160, 45);
    let erin = Tmux::start("erin", 160, 45);
    let before = dave.stty("BEFORE");
    open(&dave, "dave");
    open(&erin, "erin");
    dave.wait_for("operator dave (with erin)");
    erin.wait_for("operator erin (with dave)");

    dave.keys(&["s"]);
    dave.wait_for("Sign off Production deploy approval as dave");
    dave.keys(&["-l", "Ledger checks pass on staging."]);
    dave.keys(&["C-s"]);
    dave.wait_for("✓ dave");
    erin.wait_for("✓ dave");

    erin.keys(&["s"]);
    erin.wait_for("Sign off Production deploy approval as erin");
    erin.keys(&["-l", "Reconciliation verified."]);
    erin.keys(&["C-s"]);
    erin.wait_for("✓ erin");
    dave.wait_for("✓ erin");
    dave.wait_for("50% traffic");

    // The server dies: both say so; it comes back: both go on from where
    // they were, the window taken up from its journal.
    let port = url.rsplit(':').next().unwrap().to_string();
    server.kill().unwrap();
    server.wait().unwrap();
    erin.wait_for("✗");
    let (mut server, _) = serve(&dir, &scenario, &format!("127.0.0.1:{port}"));
    erin.wait_for("● ");
    let screen = erin.wait_for("50% traffic");
    assert!(
        screen.contains("✓ dave") && screen.contains("✓ erin"),
        "{screen}"
    );

    dave.keys(&["q"]);
    assert_restored(&dave, &before, "0");
    let deadline = Instant::now() + Duration::from_secs(20);
    while erin.screen().contains("(with dave)") {
        assert!(Instant::now() < deadline, "dave still shown as watching");
        std::thread::sleep(Duration::from_millis(50));
    }
    erin.keys(&["q"]);
    erin.wait_for_line("EXITED=");
    server.kill().unwrap();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn followed_logs_join_the_pane_cleaned_of_escape_sequences() {
    let dir = std::env::temp_dir().join(format!("shipdeck-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    std::fs::write(
        &log,
        "first line\n\u{1b}]0;pwned\u{7}ERROR boom \u{1b}[31mred\u{1b}[0m\u{1b}[2J\u{1b}[H after\n",
    )
    .unwrap();
    let tmux = Tmux::start("logs", 160, 45);
    let before = tmux.stty("BEFORE");
    open_console(
        &tmux,
        &format!(
            "--logs {} --logs-cmd 'echo \"from a command; not a shell\"'",
            log.display()
        ),
        "",
    );
    tmux.wait_for("ERROR app.log");
    let screen = tmux.wait_for("ERROR boom red after");
    assert!(screen.contains("from a command; not a shell"), "{screen}");
    // Appended lines follow.
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(file, "WARN appended later").unwrap();
    tmux.wait_for("appended later");
    let title = Command::new("tmux")
        .args([
            "-L",
            &tmux.socket,
            "display-message",
            "-p",
            "-t",
            "t",
            "#{pane_title}",
        ])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&title.stdout).contains("pwned"),
        "a log line retitled the window"
    );
    tmux.keys(&["q"]);
    assert_restored(&tmux, &before, "0");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_token_never_reaches_the_screen_or_the_log_file() {
    use std::os::unix::fs::PermissionsExt;
    const TOKEN: &str = "alice-5f0c9e1d2b7a4c63";
    let dir = std::env::temp_dir().join(format!("shipdeck-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tokens = dir.join("tokens.yaml");
    std::fs::write(&tokens, format!("alice: {TOKEN}\n")).unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
    let scenario = dir.join("two-person.yaml");
    std::fs::write(&scenario, TWO_PERSON_SCENARIO).unwrap();
    let mut server = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens"])
        .arg(&tokens)
        .arg("--scenario")
        .arg(&scenario)
        .env("SHIPDECK_JOURNAL_DIR", dir.join("served"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    let tmux = Tmux::start("token", 160, 45);
    let state = dir.join("state");
    // Named `frank` locally; the token says alice, and the server decides.
    tmux.type_line(&format!(
        "XDG_STATE_HOME={} SHIPDECK_JOURNAL_DIR={} SHIPDECK_TOKEN={TOKEN} SHIPDECK_OPERATOR=frank {} --backend {url}; echo EXITED=$?",
        state.display(),
        dir.join("console").display(),
        bin()
    ));
    let screen = tmux.wait_for("operator alice");
    assert!(screen.contains("the server knows you as alice"), "{screen}");
    // Clear the command line the shell echoed before looking for the token.
    tmux.keys(&["q"]);
    tmux.wait_for_line("EXITED=");
    tmux.type_line("clear");
    std::thread::sleep(Duration::from_millis(300));
    let mut seen = tmux.screen();
    for file in ["console", "served"] {
        for entry in std::fs::read_dir(dir.join(file)).unwrap() {
            seen.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
        }
    }
    seen.push_str(
        &std::fs::read_to_string(state.join("shipdeck/shipdeck.log")).unwrap_or_default(),
    );
    assert!(seen.contains("console starting"), "the log file was read");
    assert!(!seen.contains(TOKEN), "the token leaked");
    server.kill().unwrap();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn logs_on_standard_input_leave_the_keys_to_the_terminal() {
    let tmux = Tmux::start("stdin", 160, 45);
    let before = tmux.stty("BEFORE");
    tmux.type_line(&format!(
        "(echo 'WARN piped in'; while sleep 1; do echo tick; done) | SHIPDECK_JOURNAL_DIR=/tmp/shipdeck-stdin-{} {} --logs -; echo EXITED=$?",
        std::process::id(),
        bin()
    ));
    tmux.wait_for("WARN  stdin");
    tmux.wait_for("piped in");
    // Keys still come from the terminal while the pipe stays open.
    tmux.keys(&["?"]);
    tmux.wait_for("show or hide this help");
    tmux.keys(&["?"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tmux.screen().contains("show or hide this help") {
        assert!(Instant::now() < deadline, "? did not close the help");
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux.keys(&["q"]);
    assert_restored(&tmux, &before, "0");
}
