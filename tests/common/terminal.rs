//! A program in a real terminal, for the tests and the benchmarks alike:
//! a pseudo-terminal of a given size whose controlling end the program
//! owns (it is the leader of a session of its own), and a VT parser that
//! keeps the screen it draws, so that "the text shows" means the screen
//! shows it, not merely that bytes arrived.
//!
//! `tests/terminal.rs` drives the console with it as a person would;
//! `benches/budgets.rs` includes this file (`#[path]`) to time what a
//! person would see. Nothing here panics on a slow program: waits return
//! `None`, and the caller says what it waited for.

// Each includer uses its own part.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use rustix::process::Signal;

/// Keys as a terminal sends them.
pub mod key {
    pub const ESCAPE: &str = "\x1b";
    pub const RIGHT: &str = "\x1b[C";
    pub const CTRL_S: &str = "\x13";
}

/// Where the program reads its standard input from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The terminal, as when run from a shell.
    Terminal,
    /// A pipe the caller writes to (`Pty::input`); keys still come from
    /// the terminal, which the program can open as `/dev/tty`.
    Pipe,
}

/// A program running in a pseudo-terminal, its screen kept by a VT parser.
pub struct Pty {
    child: Child,
    master: File,
    /// The program's end of the terminal, held so that its line settings
    /// can still be read once the program has gone.
    terminal: OwnedFd,
    /// The line settings before the program started.
    settings_before: String,
    stdin: Option<ChildStdin>,
    chunks: Receiver<(Instant, Vec<u8>)>,
    screen: vt100::Parser<Seen>,
    /// Bytes the program has written since the last `take_bytes`.
    bytes: u64,
    /// Times at which output arrived since the last `take_bytes`.
    arrivals: Vec<Instant>,
    /// Every byte written, when asked for (`keep_transcript`).
    transcript: Option<Vec<u8>>,
    _reader: JoinHandle<()>,
}

/// What the parser is told besides the screen.
#[derive(Default)]
struct Seen {
    titles: Vec<String>,
}

impl vt100::Callbacks for Seen {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles
            .push(String::from_utf8_lossy(title).into_owned());
    }
}

impl Pty {
    /// Runs `command` in a terminal of `cols` x `rows`, with
    /// `TERM=xterm-256color`; its standard input, output and error are the
    /// terminal.
    pub fn spawn(command: Command, cols: u16, rows: u16) -> Pty {
        Pty::spawn_with(command, cols, rows, Input::Terminal)
    }

    pub fn spawn_with(mut command: Command, cols: u16, rows: u16, input: Input) -> Pty {
        use rustix::fs::{Mode, OFlags};
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master: OwnedFd =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        rustix::termios::tcsetwinsize(
            &master,
            rustix::termios::Winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            },
        )
        .unwrap();
        let terminal = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let settings_before = line_settings(&terminal);
        let end = || Stdio::from(terminal.try_clone().unwrap());
        command
            .env("TERM", "xterm-256color")
            .stdin(match input {
                Input::Terminal => end(),
                Input::Pipe => Stdio::piped(),
            })
            .stdout(end())
            .stderr(end());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(BorrowedFd::borrow_raw(1))?;
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", command.get_program()));
        let stdin = child.stdin.take();
        let master = File::from(master);
        let mut reading = master.try_clone().unwrap();
        let (tx, chunks) = channel();
        let reader = std::thread::spawn(move || {
            let mut buffer = vec![0u8; 1 << 16];
            while let Ok(n) = reading.read(&mut buffer) {
                if n == 0 || tx.send((Instant::now(), buffer[..n].to_vec())).is_err() {
                    return;
                }
            }
        });
        Pty {
            child,
            master,
            terminal,
            settings_before,
            stdin,
            chunks,
            screen: vt100::Parser::new_with_callbacks(rows, cols, 0, Seen::default()),
            bytes: 0,
            arrivals: Vec::new(),
            transcript: None,
            _reader: reader,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The screen as the program has drawn it so far.
    pub fn screen(&self) -> &vt100::Screen {
        self.screen.screen()
    }

    /// The screen's text, a line a row (wrapped rows joined).
    pub fn text(&self) -> String {
        self.screen().contents()
    }

    /// Every window title the program has set.
    pub fn titles(&self) -> &[String] {
        &self.screen.callbacks().titles
    }

    /// Keeps every byte the program writes from now on (and whatever it
    /// wrote that has not been read yet).
    pub fn keep_transcript(&mut self) {
        self.transcript.get_or_insert_with(Vec::new);
    }

    /// What the program has written since `keep_transcript`.
    pub fn transcript(&self) -> &[u8] {
        self.transcript.as_deref().unwrap_or_default()
    }

    fn take(&mut self, chunk: &[u8], at: Instant) {
        self.screen.process(chunk);
        self.bytes += chunk.len() as u64;
        self.arrivals.push(at);
        if let Some(all) = &mut self.transcript {
            all.extend_from_slice(chunk);
        }
    }

    /// Reads output until the screen satisfies `ready`; when it did.
    pub fn wait_until(
        &mut self,
        within: Duration,
        ready: impl Fn(&vt100::Screen) -> bool,
    ) -> Option<Instant> {
        if ready(self.screen()) {
            return Some(Instant::now());
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.chunks.recv_timeout(left) {
                Ok((at, chunk)) => {
                    self.take(&chunk, at);
                    // Only look at the screen once what has arrived is read.
                    while let Ok((at, chunk)) = self.chunks.try_recv() {
                        self.take(&chunk, at);
                    }
                    if ready(self.screen()) {
                        return Some(at);
                    }
                }
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Reads output until the screen shows `text`; when it did.
    pub fn wait_for(&mut self, text: &str, within: Duration) -> Option<Instant> {
        self.wait_until(within, |screen| screen.contents().contains(text))
    }

    /// Keeps reading for `how_long`.
    pub fn pump(&mut self, how_long: Duration) {
        let _ = self.wait_until(how_long, |_| false);
    }

    /// Reads until the program has written nothing for `quiet`.
    pub fn settle(&mut self, quiet: Duration) {
        while let Ok((at, chunk)) = self.chunks.recv_timeout(quiet) {
            self.take(&chunk, at);
        }
    }

    /// Bytes and arrival times since the last call.
    pub fn take_bytes(&mut self) -> (u64, Vec<Instant>) {
        while let Ok((at, chunk)) = self.chunks.try_recv() {
            self.take(&chunk, at);
        }
        (
            std::mem::take(&mut self.bytes),
            std::mem::take(&mut self.arrivals),
        )
    }

    /// Types `keys` on the terminal; when they were sent.
    pub fn keys(&mut self, keys: &[u8]) -> Instant {
        let at = Instant::now();
        self.master.write_all(keys).unwrap();
        at
    }

    /// The program's standard input, with `Input::Pipe`.
    pub fn input(&mut self) -> &mut ChildStdin {
        self.stdin.as_mut().expect("spawned with Input::Pipe")
    }

    /// The terminal's line settings now (echo, canonical mode, ...), as
    /// `stty -a` would tell them.
    pub fn line_settings(&self) -> String {
        line_settings(&self.terminal)
    }

    /// The line settings the program found when it started.
    pub fn line_settings_before(&self) -> &str {
        &self.settings_before
    }

    pub fn signal(&self, signal: Signal) {
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), signal)
            .unwrap();
    }

    /// Waits for the program to end, reading what it writes meanwhile and
    /// then whatever is left; how it ended.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.settle(Duration::from_millis(100));
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.pump(Duration::from_millis(10));
        }
    }

    /// Kills the program and waits for it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        self.kill();
    }
}

fn line_settings(terminal: &impl AsFd) -> String {
    format!("{:?}", rustix::termios::tcgetattr(terminal).unwrap())
}
