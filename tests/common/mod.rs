//! What the integration tests share: a scratch folder, the binary kept out
//! of the folders of whoever runs the tests, `shipdeck serve` on a loopback
//! port, and the console in a real terminal with the keys a person presses.
//! Each test file takes it with `mod common;`.

// Each test file uses its own part.
#![allow(dead_code)]

pub mod terminal;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use terminal::{Input, Pty, key};

pub const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");

/// How long a test waits for what it expects before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A release that waits at a gate two people must sign (dave and erin;
/// carol deployed it), then holds its canary at 50 % until advanced.
pub const TWO_PERSON: &str = "\
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

/// Writes [`TWO_PERSON`] into `dir`; the file's path.
pub fn two_person(dir: &Path) -> PathBuf {
    let path = dir.join("two-person.yaml");
    std::fs::write(&path, TWO_PERSON).unwrap();
    path
}

/// A folder of the test's own, removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("shipdeck-test-")
        .tempdir()
        .unwrap()
}

/// A bundled scenario with its scripted people cut off: the test is the
/// people. Written into `dir`; its path.
pub fn without_actors(dir: &Path, name: &str) -> PathBuf {
    let story = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/scenarios/{name}.yaml")),
    )
    .unwrap();
    let path = dir.join(format!("{name}-unscripted.yaml"));
    std::fs::write(&path, story.split("\nactors:").next().unwrap()).unwrap();
    path
}

/// Keeps a shipdeck process's journal, config and state in `dir`, and no
/// `SHIPDECK_*` setting of whoever runs the tests.
pub fn isolate<'a>(command: &'a mut Command, dir: &Path) -> &'a mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SHIPDECK_") {
            command.env_remove(name);
        }
    }
    command
        .env("SHIPDECK_JOURNAL_DIR", dir.join("journal"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
}

/// The binary, its files in `dir`.
pub fn shipdeck(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    isolate(&mut command, dir);
    command
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `shipdeck serve` process; killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// What it printed on start.
    pub banner: String,
    /// Kept open: the server may print more.
    stdout: BufReader<ChildStdout>,
    stderr: PathBuf,
}

impl Server {
    /// `shipdeck serve ARGS`, its files in `dir`, on a loopback port of its
    /// own unless ARGS say `--listen`; returned once it answers HTTP.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Server::start_with(dir, args, |_| {})
    }

    /// [`Server::start`], with `prepare` given the command before it runs
    /// (to limit the process, say).
    pub fn start_with(dir: &Path, args: &[&str], prepare: impl FnOnce(&mut Command)) -> Server {
        std::fs::create_dir_all(dir).unwrap();
        let stderr = dir.join("serve.stderr");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr)
            .unwrap();
        let mut command = shipdeck(dir);
        command.arg("serve");
        if !args.contains(&"--listen") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        prepare(&mut command);
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("shipdeck runs");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        let mut line = String::new();
        while stdout.read_line(&mut line).unwrap_or(0) > 0 {
            banner.push_str(&line);
            if line.starts_with("  open a console") {
                break;
            }
            line.clear();
        }
        let Some(url) = banner
            .lines()
            .find_map(|l| l.strip_prefix("shipdeck serve: listening on "))
            .map(str::to_string)
        else {
            let _ = child.wait();
            let err = std::fs::read_to_string(&stderr).unwrap_or_default();
            panic!("serve did not start: {banner}{err}");
        };
        let server = Server {
            child,
            url,
            banner,
            stdout,
            stderr,
        };
        server.wait_until_it_answers();
        server
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let answered = TcpStream::connect(self.address()).is_ok_and(|mut socket| {
                let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = socket.write_all(
                    format!("GET /healthz HTTP/1.0\r\nHost: {}\r\n\r\n", self.address()).as_bytes(),
                );
                let mut head = [0u8; 8];
                socket.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
            });
            if answered {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not answer on {}: {}",
                self.url,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `127.0.0.1:PORT`
    pub fn address(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it has said on standard error, in this folder, so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Kills it (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The console in a real terminal (`terminal::Pty`), as a person runs it
/// from a shell: its files in a folder of its own, an environment with
/// nothing of the test runner's. Killed when dropped.
pub struct Console {
    pub pty: Pty,
}

impl Console {
    /// Starts `shipdeck ARGS` at `cols` x `rows`, its files in `home`,
    /// with `env` on top (`SHIPDECK_OPERATOR=frank` unless `env` names
    /// another). Does not wait for it to draw.
    pub fn start(
        home: &Path,
        (cols, rows): (u16, u16),
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Console {
        Console::start_with(home, (cols, rows), args, env, Input::Terminal)
    }

    pub fn start_with(
        home: &Path,
        (cols, rows): (u16, u16),
        args: &[&str],
        env: &[(&str, &str)],
        input: Input,
    ) -> Console {
        std::fs::create_dir_all(home).unwrap();
        let mut command = Command::new(BIN);
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .env("SHIPDECK_OPERATOR", "frank");
        isolate(&mut command, home);
        command.args(args).envs(env.iter().copied());
        Console {
            pty: Pty::spawn_with(command, cols, rows, input),
        }
    }

    /// Starts it and waits until it has taken over the screen.
    pub fn open(home: &Path, size: (u16, u16), args: &[&str], env: &[(&str, &str)]) -> Console {
        let mut console = Console::start(home, size, args, env);
        console.owns_the_screen();
        console
    }

    /// Waits for the first frame: the stage board on the alternate screen,
    /// the cursor hidden, the terminal in raw mode.
    pub fn owns_the_screen(&mut self) {
        self.wait_for("Stages");
        let screen = self.pty.screen();
        assert!(
            screen.alternate_screen() && screen.hide_cursor(),
            "the console owns the screen (alternate screen, no cursor)"
        );
        assert_ne!(
            self.pty.line_settings(),
            self.pty.line_settings_before(),
            "the console reads keys one by one (raw mode)"
        );
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.pty.text()
    }

    /// Waits until the screen shows `text`, or fails with what it shows;
    /// the screen once the frame that shows it is drawn whole.
    pub fn wait_for(&mut self, text: &str) -> String {
        if self.pty.wait_for(text, PATIENCE).is_none() {
            panic!("waited for {text:?}; the screen shows:\n{}", self.screen());
        }
        // A frame comes in more than one read: let the rest of it arrive.
        self.pty.settle(Duration::from_millis(15));
        self.screen()
    }

    /// Waits until the screen no longer shows `text`.
    pub fn wait_gone(&mut self, text: &str) {
        let gone = self
            .pty
            .wait_until(PATIENCE, |s| !s.contents().contains(text));
        assert!(
            gone.is_some(),
            "{text:?} stayed; the screen shows:\n{}",
            self.screen()
        );
    }

    /// Presses keys (`terminal::key` names the special ones) or types text.
    pub fn keys(&mut self, keys: &str) {
        self.pty.keys(keys.as_bytes());
    }

    /// `s`, the comment, `Ctrl+S`: signs the open gate as `who`.
    pub fn sign(&mut self, gate: &str, who: &str, comment: &str) {
        self.keys("s");
        self.wait_for(&format!("Sign off {gate} as {who}"));
        self.keys(comment);
        self.keys(key::CTRL_S);
        self.wait_for(&format!("✓ {who}"));
    }

    /// `R`, then the reason in the box that opens, `Ctrl+S`.
    pub fn roll_back(&mut self, who: &str, reason: &str) {
        self.keys("R");
        self.wait_for(&format!("ROLLING BACK ({who})"));
        self.keys(reason);
        self.keys(key::CTRL_S);
        self.wait_for("reason added to the rollback's record");
    }

    /// Waits for the console to end; its exit status.
    pub fn exit(&mut self) -> ExitStatus {
        self.pty
            .wait_exit(PATIENCE)
            .unwrap_or_else(|| panic!("still running; the screen shows:\n{}", self.screen()))
    }

    /// Waits for the console to end with `code`, and checks it left the
    /// terminal as it found it: the main screen, the cursor shown, the line
    /// settings (raw mode off) as they were.
    pub fn ends_restored(&mut self, code: i32) {
        let status = self.exit();
        assert_eq!(status.code(), Some(code), "exit status: {status}");
        let screen = self.pty.screen();
        assert!(
            !screen.alternate_screen() && !screen.hide_cursor(),
            "main screen, cursor visible"
        );
        assert_eq!(
            self.pty.line_settings(),
            self.pty.line_settings_before(),
            "the line settings are as they were (raw mode off)"
        );
    }
}
