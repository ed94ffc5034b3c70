//! Measuring, shared by the benchmarks that run the binary in a pty:
//! CPU time of a process, percentiles, bursts of output, the machine.

use std::time::{Duration, Instant};

/// Output bursts (frames): arrivals more than 4 ms apart start a new one.
pub fn bursts(arrivals: &[Instant]) -> usize {
    let mut count = 0;
    let mut last: Option<Instant> = None;
    for &at in arrivals {
        if last.is_none_or(|l| at.duration_since(l) > Duration::from_millis(4)) {
            count += 1;
        }
        last = Some(at);
    }
    count
}

/// CPU time (user + system) a process has used.
pub fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

/// One row of a bench's table: what was measured, the figure, the budget,
/// and whether it was met (`None`: a row without a budget).
pub struct Row {
    pub what: String,
    pub measured: String,
    pub budget: String,
    pub ok: Option<bool>,
}

/// Prints the rows as one Markdown table and exits 1 if a budget was
/// missed.
pub fn table(rows: &[Row]) {
    println!("| what | measured | budget | |");
    println!("|---|---|---|---|");
    let mut missed = 0;
    for r in rows {
        let verdict = match r.ok {
            Some(true) => "ok",
            Some(false) => {
                missed += 1;
                "MISS"
            }
            None => "",
        };
        println!("| {} | {} | {} | {verdict} |", r.what, r.measured, r.budget);
    }
    if missed > 0 {
        println!("\n{missed} budget(s) missed");
        std::process::exit(1);
    }
}
