//! What the integration tests share: a scratch folder, the binary kept out
//! of the folders of whoever runs the tests, `shipdeck serve` on a loopback
//! port. Each test file takes it with `mod common;`.

// Each test file uses its own part.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_shipdeck");

/// How long a test waits for what it expects before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

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
