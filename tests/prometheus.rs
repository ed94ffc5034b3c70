//! The whole chain on one machine, against a real Prometheus: `shipdeck
//! serve` runs a canary that goes bad and exports its service at `/metrics`;
//! Prometheus scrapes it every second; the served release's rules read
//! Prometheus through PromQL and roll the canary back. Prometheus is stopped
//! and started again mid-window, and the server is killed and taken up.
//!
//! Needs Debian's `prometheus` package (`apt-get install prometheus`);
//! `.ci/run` installs it. `SHIPDECK_PROMETHEUS` may name another binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, free_port, scratch};
use shipdeck::backend::Update;
use shipdeck::backend::http::Remote;
use shipdeck::model::{Cohort, Event, EventKind, Level, Series};
use tokio::sync::mpsc;

/// The Prometheus binary, or a panic saying how to get one.
fn prometheus_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SHIPDECK_PROMETHEUS") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "these tests run a real Prometheus, and none was found on PATH.\n  \
             Install Debian's package: sudo apt-get install --no-install-recommends prometheus\n  \
             (or set SHIPDECK_PROMETHEUS to a prometheus binary). `.ci/run` installs it."
        )
    })
}

/// A Prometheus on loopback scraping one target every second; stopped when
/// dropped.
struct Prometheus {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl Prometheus {
    fn start(dir: &Path, port: u16, target: u16) -> Prometheus {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: shipdeck\n    static_configs:\n      - targets: [\"127.0.0.1:{target}\"]\n"
            ),
        )
        .unwrap();
        let mut prometheus = Prometheus {
            child: None,
            dir: dir.to_path_buf(),
            port,
        };
        prometheus.run();
        prometheus
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("prometheus.log"))
            .unwrap();
        let child = Command::new(prometheus_binary())
            .arg(format!(
                "--config.file={}",
                self.dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("prometheus did not start: {e}"));
        self.child = Some(child);
        // Ready when it says so.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready =
                std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok_and(|mut s| {
                    use std::io::{Read, Write};
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
                });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus was not ready in 30s; see {}",
                self.dir.join("prometheus.log").display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops it as a service manager would (SIGTERM), and waits.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `shipdeck serve` on `port`: the canary regression on autopilot at 30x,
/// its rules reading what `config` says.
fn serve(dir: &Path, port: u16, config: &Path, extra: &[&str]) -> Server {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--listen",
        &listen,
        "--config",
        config.to_str().unwrap(),
        "--scenario",
        "canary-regression",
        "--autopilot",
        "--speed",
        "30",
    ];
    args.extend(extra);
    Server::start(dir, &args)
}

/// The plain example config, pointed at this Prometheus, asking every
/// second over short windows (the simulator runs at 30x).
fn config(dir: &Path, prometheus: &str) -> PathBuf {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/prometheus/plain.yaml"),
    )
    .unwrap();
    let text = example
        .replace("http://127.0.0.1:9090", prometheus)
        .replace("step: 15s", "step: 1s")
        .replace("range: 30m", "range: 10m")
        .replace("[1m]", "[5s]");
    assert!(text.contains(prometheus) && text.contains("[5s]"));
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Follows a served release's events.
struct Follower {
    updates: mpsc::Receiver<Update>,
    task: tokio::task::JoinHandle<()>,
    events: Vec<Event>,
}

impl Follower {
    fn start(port: u16) -> Follower {
        let remote = Remote::new(
            &format!("http://127.0.0.1:{port}"),
            None,
            &shipdeck::model::Person::new("frank").unwrap(),
        )
        .unwrap();
        let (tx, updates) = mpsc::channel(65536);
        let task = tokio::spawn(async move {
            remote.follow("checkout-api-v2.15.0", tx).await;
        });
        Follower {
            updates,
            task,
            events: Vec::new(),
        }
    }

    /// Takes events until one satisfies `wanted`; its index.
    async fn until(&mut self, what: &str, wanted: impl Fn(&Event) -> bool) -> usize {
        self.after(0, what, wanted).await
    }

    /// Takes events until one from index `from` on satisfies `wanted`; its
    /// index.
    async fn after(&mut self, from: usize, what: &str, wanted: impl Fn(&Event) -> bool) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let mut from = from;
        loop {
            if let Some(n) = self.events[from..].iter().position(&wanted) {
                return from + n;
            }
            from = self.events.len();
            match tokio::time::timeout_at(deadline, self.updates.recv()).await {
                Ok(Some(Update::Events(more))) => self.events.extend(more),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!(
                    "no {what} by seq {:?}; prometheus said: {:#?}",
                    self.events.last().map(|e| e.seq),
                    said(&self.events)
                ),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the metrics source said in the log.
fn said(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log {
                source, message, ..
            } if source == "prometheus" => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn prometheus_says(level: Level, text: &'static str) -> impl Fn(&Event) -> bool {
    move |e| {
        matches!(&e.kind, EventKind::Log { source, level: l, message, .. }
            if source == "prometheus" && *l == level && message.contains(text))
    }
}

fn metric(e: &Event, series: Series, cohort: Cohort) -> Option<f64> {
    match e.kind {
        EventKind::Metric {
            series: s,
            cohort: c,
            value,
        } if s == series && c == cohort => Some(value),
        _ => None,
    }
}

// One chain told in order (simulated service → /metrics → Prometheus →
// rules → rollback, through an outage and a restart), so it runs long.
#[tokio::test]
async fn a_canary_regression_read_from_prometheus_rolls_back_through_an_outage_and_a_restart() {
    let chain = scratch();
    let dir = chain.path();
    let (serve_port, prometheus_port) = (free_port(), free_port());
    let mut prometheus = Prometheus::start(dir, prometheus_port, serve_port);
    let config = config(dir, &prometheus.url());
    let mut server = serve(dir, serve_port, &config, &[]);
    assert!(
        server
            .banner
            .contains("the rules read their metrics from Prometheus"),
        "{}",
        server.banner
    );
    let mut follower = Follower::start(serve_port);

    // Prometheus has scraped the service and answers the stable queries.
    follower
        .until(
            "a first reading",
            prometheus_says(Level::Info, "metrics: reading 12 queries"),
        )
        .await;
    let first = follower
        .until("the stable error rate from Prometheus", |e| {
            metric(e, Series::ErrorRate, Cohort::Stable).is_some()
        })
        .await;
    let stable = metric(&follower.events[first], Series::ErrorRate, Cohort::Stable).unwrap();
    assert!(
        (0.0005..0.02).contains(&stable),
        "stable errors as the service runs them (0.3%): {stable}"
    );

    // Prometheus goes away: the source says so, and no samples come.
    prometheus.stop();
    let down = follower
        .until(
            "word that Prometheus is gone",
            prometheus_says(Level::Error, "cannot reach Prometheus"),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    prometheus.run();
    let up = follower
        .until(
            "word that Prometheus is back",
            prometheus_says(Level::Info, "Prometheus answers again"),
        )
        .await;
    assert!(
        follower.events[down..up]
            .iter()
            .all(|e| !matches!(e.kind, EventKind::Metric { .. })),
        "a gap while Prometheus was gone, not made-up samples"
    );
    follower
        .until("samples after Prometheus came back", |e| {
            matches!(e.kind, EventKind::Metric { .. })
        })
        .await;

    // The server is killed and taken up: the readings are replayed from
    // the journal, and the window goes on.
    server.kill();
    let server = serve(dir, serve_port, &config, &[]);
    assert!(
        server.banner.contains("taken up at seq"),
        "{}",
        server.banner
    );

    // The canary goes bad; Prometheus sees it; a rule rolls it back.
    let rollback = follower
        .until("an automatic rollback", |e| {
            matches!(e.kind, EventKind::RollbackStarted { .. })
        })
        .await;
    let EventKind::RollbackStarted { by, reason } = &follower.events[rollback].kind else {
        unreachable!()
    };
    assert!(by.rule_name().is_some(), "{by}: {reason}");
    assert!(reason.contains("canary"), "{reason}");
    let worst = follower.events[..rollback]
        .iter()
        .filter_map(|e| metric(e, Series::ErrorRate, Cohort::Canary))
        .fold(0.0, f64::max);
    assert!(
        worst > 0.05,
        "the canary's errors as Prometheus computed them: {worst}"
    );
    follower
        .until("the end of the window", |e| {
            matches!(e.kind, EventKind::ReleaseFinished { .. })
        })
        .await;
    let seqs: Vec<u64> = follower.events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "every event once, through the restart"
    );
    drop(follower);
    drop(server);

    // A window opened now starts with Prometheus's history of the service.
    let fresh = scratch();
    let later = fresh.path();
    let port = free_port();
    let server = serve(later, port, &config, &["--fresh"]);
    let mut follower = Follower::start(port);
    let started = follower
        .until("the release starting", |e| {
            matches!(e.kind, EventKind::ReleaseStarted { .. })
        })
        .await;
    let origin = follower.events[started].at;
    let history = follower
        .until("history from before the window", |e| {
            e.at < origin && metric(e, Series::ErrorRate, Cohort::Stable).is_some()
        })
        .await;
    assert!(follower.events[history].at < origin);
    // The canary in that history was the last release's, not this one's.
    assert!(
        follower
            .events
            .iter()
            .all(|e| e.at >= origin || metric(e, Series::ErrorRate, Cohort::Canary).is_none())
    );
    follower
        .until("a live reading", |e| {
            e.at >= origin && matches!(e.kind, EventKind::Metric { .. })
        })
        .await;
    // Taken up again, the window does not take the history a second time,
    // after what it read live.
    drop(server);
    let server = serve(later, port, &config, &[]);
    assert!(
        server.banner.contains("taken up at seq"),
        "{}",
        server.banner
    );
    // The restarted source reads history first, then says it reads.
    let restarted = follower.events.len();
    let again = follower
        .after(
            restarted,
            "the restarted source reading",
            prometheus_says(Level::Info, "metrics: reading"),
        )
        .await;
    follower
        .after(again, "a live reading after the restart", |e| {
            matches!(e.kind, EventKind::Metric { .. })
        })
        .await;
    let first_live = follower
        .events
        .iter()
        .position(|e| e.at >= origin && matches!(e.kind, EventKind::Metric { .. }))
        .unwrap();
    assert!(
        follower.events[first_live..].iter().all(|e| e.at >= origin),
        "history after what was read live"
    );
    drop(prometheus);
}
