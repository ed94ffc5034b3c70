//! shipdeck against its budgets, in one table: `cargo bench --bench budgets`.
//!
//! The release binary runs in a pseudo-terminal of 200x60 as a person would
//! run it; a VT parser keeps the screen it draws, so "the key shows" means
//! the screen shows it. Log streams are appended to a file at a set rate and
//! followed with `--logs`; the same stream goes, in the same run, into
//! `lnav` and `less +F` for comparison (Debian packages; rows say so when
//! they are missing). The in-process rows render the real views.
//!
//! `SHIPDECK_BENCH_QUICK=1` shortens the long windows (idle 10 s instead of
//! 60, streams 5 s instead of 10) for a look, not a record. Exit status 1
//! when a budget is missed.

// A tool of the house printing its own words, not shipdeck's output.
#![allow(clippy::disallowed_macros)]

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod common;
#[path = "common/measure.rs"]
mod measure;
use measure::*;
#[path = "../tests/common/terminal.rs"]
mod terminal;

use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};
use shipdeck::backend::Update;
use shipdeck::model::LogLine;
use shipdeck::tui::app::Msg;
use shipdeck::tui::views;
use terminal::Pty;

const COLS: u16 = 200;
const ROWS: u16 = 60;
const HELP_MARKER: &str = "show or hide this help";

/// A line of `/proc/PID/status` in MiB (`VmRSS`, `VmHWM`).
fn memory_of(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix(" kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A log line of the stream.
fn stream_line(out: &mut impl Write, n: u64) -> std::io::Result<()> {
    writeln!(
        out,
        "2026-11-22T10:00:00.{:06}Z {}",
        n % 1_000_000,
        common::message(n)
    )
}

/// Appends lines to `path` at `rate` a second until stopped; the number
/// written so far is in `written`.
struct Stream {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Stream {
    fn start(path: &Path, rate: u64, from: u64) -> Stream {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(from));
        let (halt, count) = (Arc::clone(&stop), Arc::clone(&written));
        let mut out = BufWriter::with_capacity(
            1 << 20,
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap(),
        );
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut n = from;
            while !halt.load(Ordering::Relaxed) {
                let due = from + (started.elapsed().as_secs_f64() * rate as f64) as u64;
                while n < due {
                    n += 1;
                    stream_line(&mut out, n).unwrap();
                }
                out.flush().unwrap();
                count.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Stream {
            stop,
            written,
            thread: Some(thread),
        }
    }

    /// Stops; the last seq written.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.written.load(Ordering::Relaxed)
    }
}

fn row(what: &str, measured: String, budget: &str, ok: Option<bool>) -> Row {
    Row {
        what: what.into(),
        measured,
        budget: budget.into(),
        ok,
    }
}

struct Bench {
    bin: String,
    dir: PathBuf,
    quick: bool,
    rows: Vec<Row>,
}

impl Bench {
    /// The release binary in a 200x60 terminal, its files in the bench's
    /// folder.
    fn console(&self, args: &[&str]) -> Pty {
        let state = self.dir.join("state");
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("SHIPDECK_JOURNAL_DIR", self.dir.join("journal"))
            .env("XDG_STATE_HOME", &state)
            .env("XDG_CONFIG_HOME", &state)
            .env("SHIPDECK_OPERATOR", "bench");
        Pty::spawn(command, COLS, ROWS)
    }

    fn startup(&mut self) -> Duration {
        let mut samples = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let mut console = self.console(&["--scenario", "happy-canary"]);
            let drawn = console
                .wait_until(Duration::from_secs(10), |screen| {
                    let s = screen.contents();
                    s.contains("Stages") && s.contains("Logs") && s.contains("quit")
                })
                .expect("the console drew its first frame");
            samples.push(drawn - started);
            console.stop();
        }
        let p50 = percentile(&mut samples, 0.5);
        let p95 = percentile(&mut samples, 0.95);
        self.rows.push(row(
            "startup to first full frame (20 runs)",
            format!("p50 {}, p95 {}", ms(p50), ms(p95)),
            "p95 ≤ 30 ms",
            Some(p95 <= Duration::from_millis(30)),
        ));
        p50
    }

    /// 200 keys (`?` opening and closing the help) while `rate` lines a
    /// second stream in.
    fn latency(&mut self, rate: u64) {
        let log = self.dir.join(format!("latency-{rate}.log"));
        let _ = std::fs::remove_file(&log);
        File::create(&log).unwrap();
        let mut console = self.console(&[
            "--scenario",
            "happy-canary",
            "--logs",
            log.to_str().unwrap(),
        ]);
        console
            .wait_for("quit", Duration::from_secs(10))
            .expect("the console started");
        let stream = (rate > 0).then(|| Stream::start(&log, rate, 0));
        console.pump(Duration::from_secs(1));
        // Output while streaming, before any key: bytes a frame, frames a second.
        let window = Duration::from_secs(3);
        let _ = console.take_bytes();
        console.pump(window);
        let (bytes, arrivals) = console.take_bytes();
        let frames = bursts(&arrivals);
        let mut samples = Vec::new();
        for n in 0..200 {
            let opening = n % 2 == 0;
            let sent = console.keys(b"?");
            let shown = console.wait_until(Duration::from_secs(5), |s| {
                s.contents().contains(HELP_MARKER) == opening
            });
            match shown {
                Some(at) => samples.push(at.saturating_duration_since(sent)),
                None => samples.push(Duration::from_secs(5)),
            }
            console.pump(Duration::from_millis(15));
        }
        if let Some(stream) = stream {
            stream.stop();
        }
        console.stop();
        let p50 = percentile(&mut samples, 0.5);
        let p99 = percentile(&mut samples, 0.99);
        let (what, budget, ok) = match rate {
            0 => ("key → screen, idle (200 keys)", "—", None),
            10_000 => (
                "key → screen, 10k lines/s streaming (200 keys)",
                "p50 ≤ 2 ms, p99 ≤ 8 ms",
                Some(p50 <= Duration::from_millis(2) && p99 <= Duration::from_millis(8)),
            ),
            _ => ("key → screen, 100k lines/s streaming (200 keys)", "—", None),
        };
        self.rows.push(row(
            what,
            format!("p50 {}, p99 {}", ms(p50), ms(p99)),
            budget,
            ok,
        ));
        if rate > 0 {
            let per_frame = if frames == 0 {
                0
            } else {
                bytes / frames as u64
            };
            let fps = frames as f64 / window.as_secs_f64();
            self.rows.push(row(
                &format!("output while {}k lines/s stream in", rate / 1000),
                format!(
                    "{:.1} KB a frame, {fps:.0} frames/s",
                    per_frame as f64 / 1000.0
                ),
                "≤ 10 KB a frame, ≤ 30 fps",
                Some(per_frame <= 10_000 && fps <= 31.0),
            ));
        }
    }

    fn idle(&mut self) {
        let secs = if self.quick { 10 } else { 60 };
        let mut console = self.console(&[
            "--scenario",
            "happy-canary",
            "--speed",
            "max",
            "--autopilot",
        ]);
        console
            .wait_for("SUCCEEDED", Duration::from_secs(20))
            .expect("the release finished");
        // Settled first: the last news fades from the status bar within 30
        // clock ticks, which is a change on screen, not idling. Settled is
        // 35 s without output (or two minutes, whichever comes first).
        let give_up = Instant::now() + Duration::from_secs(120);
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < Duration::from_secs(35) && Instant::now() < give_up {
            let _ = console.take_bytes();
            console.pump(Duration::from_secs(1));
            let (bytes, _) = console.take_bytes();
            if bytes > 0 {
                quiet_since = Instant::now();
            }
        }
        let before = cpu_of(console.pid());
        console.pump(Duration::from_secs(secs));
        let used = cpu_of(console.pid()) - before;
        let (bytes, _) = console.take_bytes();
        console.stop();
        let share = used.as_secs_f64() / secs as f64 * 100.0;
        self.rows.push(row(
            &format!("idle over {secs} s"),
            format!("{share:.3}% of a core, {bytes} bytes written"),
            "≤ 0.1% of a core, 0 bytes",
            Some(share <= 0.1 && bytes == 0),
        ));
    }

    /// The same stream into shipdeck, lnav and `less +F`, one after another.
    fn sustained(&mut self) {
        let rate = 100_000;
        let secs = if self.quick { 5 } else { 10 };
        let mut shipdeck_share = f64::NAN;
        let mut others = Vec::new();
        for tool in ["shipdeck", "lnav", "less"] {
            let log = self.dir.join(format!("stream-{tool}.log"));
            let _ = std::fs::remove_file(&log);
            File::create(&log).unwrap();
            let path = log.to_str().unwrap();
            let state = self.dir.join("state");
            let home = [
                ("HOME", state.to_str().unwrap()),
                ("XDG_CONFIG_HOME", state.to_str().unwrap()),
            ];
            let mut pty = match tool {
                "shipdeck" => self.console(&["--scenario", "happy-canary", "--logs", path]),
                "lnav" if which("lnav") => {
                    Pty::spawn(tool_command("lnav", &[path], &home), COLS, ROWS)
                }
                "less" if which("less") => {
                    Pty::spawn(tool_command("less", &["+F", path], &home), COLS, ROWS)
                }
                _ => {
                    self.rows.push(row(
                        &format!("{tool}, 100k lines/s for {secs} s"),
                        format!("not installed (apt-get install {tool})"),
                        "—",
                        None,
                    ));
                    continue;
                }
            };
            pty.pump(Duration::from_secs(2));
            let stream = Stream::start(&log, rate, 0);
            let before = cpu_of(pty.pid());
            pty.pump(Duration::from_secs(secs));
            let used = cpu_of(pty.pid()) - before;
            let last = stream.stop();
            let share = used.as_secs_f64() / secs as f64 * 100.0;
            let rss = memory_of(pty.pid(), "VmRSS:");
            if tool == "shipdeck" {
                // Caught up: the newest line is on screen soon after the last write.
                let stopped = Instant::now();
                let caught = pty.wait_for(&format!("seq={last} "), Duration::from_secs(10));
                let behind = caught.map(|at| at.saturating_duration_since(stopped));
                shipdeck_share = share;
                self.rows.push(row(
                    &format!("shipdeck, 100k lines/s for {secs} s"),
                    format!(
                        "{share:.1}% of a core, {rss:.1} MiB; last line shown {} after the last write",
                        behind.map_or("never".to_string(), ms)
                    ),
                    "≤ 15% of a core, not falling behind",
                    Some(share <= 15.0 && behind.is_some_and(|b| b < Duration::from_secs(1))),
                ));
            } else {
                others.push((tool, share));
                self.rows.push(row(
                    &format!("{tool}, the same stream"),
                    format!("{share:.1}% of a core, {rss:.1} MiB"),
                    "more than shipdeck",
                    Some(shipdeck_share < share),
                ));
            }
            pty.stop();
        }
    }

    fn burst(&mut self, startup: Duration) {
        let log = self.dir.join("burst.log");
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&log).unwrap());
        for n in 1..=1_000_000 {
            stream_line(&mut out, n).unwrap();
        }
        out.flush().unwrap();
        drop(out);
        let started = Instant::now();
        let mut console = self.console(&[
            "--scenario",
            "happy-canary",
            "--logs",
            log.to_str().unwrap(),
        ]);
        let shown = console.wait_for("seq=1000000 ", Duration::from_secs(30));
        let took = shown.map(|at| {
            at.saturating_duration_since(started)
                .saturating_sub(startup)
        });
        self.rows.push(row(
            "burst: 1M lines ingested (after startup)",
            took.map_or("not within 30 s".into(), ms),
            "≤ 1 s",
            Some(took.is_some_and(|t| t <= Duration::from_secs(1))),
        ));
        console.pump(Duration::from_millis(500));
        let peak = memory_of(console.pid(), "VmHWM:");
        let after_one = memory_of(console.pid(), "VmRSS:");
        // A second million: the ring holds 100k, so memory stays where it was.
        let stream = Stream::start(&log, 1_000_000, 1_000_000);
        console.pump(Duration::from_secs(1));
        let last = stream.stop();
        let _ = console.wait_for(&format!("seq={last} "), Duration::from_secs(10));
        console.pump(Duration::from_millis(500));
        let after_two = memory_of(console.pid(), "VmRSS:");
        console.stop();
        self.rows.push(row(
            "memory after 1M lines (100k-line ring)",
            format!(
                "peak {peak:.1} MiB; {after_one:.1} MiB, then {after_two:.1} MiB after {} more",
                last - 1_000_000
            ),
            "≤ 40 MiB, flat",
            Some(peak <= 40.0 && after_two <= after_one * 1.1),
        ));
    }

    /// The views themselves, without a terminal.
    fn in_process(&mut self) {
        let frame = |history: u64| -> Duration {
            let mut app = common::console(history);
            let mut terminal = Terminal::new(TestBackend::new(COLS, ROWS)).unwrap();
            let mut samples = Vec::new();
            for n in 0..300 {
                let _ = app.update(Msg::Backend(Update::Logs(vec![common::line(history + n)])));
                let started = Instant::now();
                terminal.draw(|f| views::render(&app, f)).unwrap();
                samples.push(started.elapsed());
            }
            percentile(&mut samples, 0.5)
        };
        let small = frame(1_000);
        let large = frame(1_000_000);
        self.rows.push(row(
            "frame render 200x60, p50 (1k → 1M lines of history)",
            format!("{} → {}", ms(small), ms(large)),
            "p50 ≤ 1 ms; 1M within 10% of 1k",
            Some(
                large <= Duration::from_millis(1)
                    && large.as_secs_f64() <= small.as_secs_f64() * 1.1,
            ),
        ));
        // Bytes a real terminal would be sent for a frame at 10k lines/s and
        // 30 fps (333 new lines a frame).
        let mut app = common::console(100_000);
        let written = Arc::new(AtomicU64::new(0));
        let mut terminal =
            Terminal::new(CrosstermBackend::new(Counter(Arc::clone(&written)))).unwrap();
        terminal
            .resize(ratatui::layout::Rect::new(0, 0, COLS, ROWS))
            .unwrap();
        terminal.draw(|f| views::render(&app, f)).unwrap();
        written.store(0, Ordering::Relaxed);
        let mut n = 100_000;
        for _ in 0..100 {
            let batch: Vec<LogLine> = (n..n + 333).map(common::line).collect();
            n += 333;
            let _ = app.update(Msg::Backend(Update::Logs(batch)));
            terminal.draw(|f| views::render(&app, f)).unwrap();
        }
        let per_frame = written.load(Ordering::Relaxed) / 100;
        self.rows.push(row(
            "bytes a frame at 10k lines/s (views, in-process)",
            format!("{:.1} KB", per_frame as f64 / 1000.0),
            "≤ 10 KB",
            Some(per_frame <= 10_000),
        ));
    }
}

/// Counts what it is given.
struct Counter(Arc<AtomicU64>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Another tool, for comparison, with its settings in `env`.
fn tool_command(program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(program);
    command.args(args).envs(env.iter().copied());
    command
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter or `--list` asks nothing of us.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let scratch = tempfile::Builder::new()
        .prefix("shipdeck-budgets-")
        .tempdir()
        .unwrap();
    let mut bench = Bench {
        bin: env!("CARGO_BIN_EXE_shipdeck").to_string(),
        dir: scratch.path().to_path_buf(),
        quick: std::env::var_os("SHIPDECK_BENCH_QUICK").is_some(),
        rows: Vec::new(),
    };
    let date = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string();
    // `cargo bench --bench budgets -- idle burst` runs those parts only.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| part.contains(p.as_str()));
    eprintln!("running: startup, latency, idle, streams, burst, frames …");
    let startup = bench.startup();
    if wanted("latency") {
        for rate in [0, 10_000, 100_000] {
            bench.latency(rate);
        }
    }
    if wanted("idle") {
        bench.idle();
    }
    if wanted("streams") {
        bench.sustained();
    }
    if wanted("burst") {
        bench.burst(startup);
    }
    if wanted("frames") {
        bench.in_process();
    }

    println!(
        "shipdeck budgets — {date} — {}, {COLS}x{ROWS}, release build\n",
        machine()
    );
    drop(scratch);
    table(&bench.rows);
}
