//! What one watched GitHub Actions run costs GitHub: `cargo bench --bench
//! github`.
//!
//! The fake GitHub (`crates/fake-github`) runs in this process with its
//! default run: two environments waiting for review. shipdeck's GitHub
//! backend follows it as the console would, and every request it sends is
//! counted, with the ones GitHub would charge against the rate limit (a
//! 304 is not charged):
//!
//! - **idle**: the run waits for a review and nothing changes;
//! - **busy**: both environments approved, their jobs running (a minute
//!   each) to the run's end.
//!
//! `SHIPDECK_BENCH_QUICK=1` shortens the idle window (30 s instead of
//! 180 s) and the jobs, for a look, not a record.

// A tool of the house printing its own words, not shipdeck's output.
#![allow(clippy::disallowed_macros)]

use std::time::{Duration, Instant};

#[path = "common/measure.rs"]
#[allow(dead_code)]
mod measure;

use fake_github::{FakeGithub, Options, RUN_ID, Scenario, TOKEN_OCTOCAT};
use shipdeck::backend::Update;
use shipdeck::github::backend::{Target, spawn};
use shipdeck::github::client::Api;
use shipdeck::github::token::{Token, TokenKind};
use shipdeck::model::EventKind;

/// Requests and charged requests per minute over a window.
struct Cost {
    minutes: f64,
    requests: u64,
    charged: u64,
}

impl Cost {
    fn row(&self, what: &str) {
        println!(
            "{what:<44} {:>7.1} {:>9.1} {:>10.1}",
            self.minutes,
            self.requests as f64 / self.minutes,
            self.charged as f64 / self.minutes
        );
    }
}

fn main() {
    let quick = std::env::var_os("SHIPDECK_BENCH_QUICK").is_some();
    let idle_for = Duration::from_secs(if quick { 30 } else { 180 });
    // A job takes 6 s before scaling: 10× is a minute a job.
    let scale = if quick { 2.0 } else { 10.0 };
    let fake = FakeGithub::start_with(Options {
        time_scale: scale,
        // No wait timer: busy is the jobs' own minute each.
        scenario: Scenario {
            production_wait_timer: 0,
            ..Scenario::default()
        },
        ..Options::default()
    })
    .expect("the fake starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (idle, busy) = runtime.block_on(async {
        let api = Api::new(fake.url(), Token::new(TOKEN_OCTOCAT).unwrap()).unwrap();
        let target = Target {
            repo: fake.repo().parse().unwrap(),
            run: RUN_ID,
            rollback: None,
            token: TokenKind::User,
            freezes: Vec::new(),
        };
        let mut handle = spawn(api, target, "bench".into(), 10_000, None);
        // The first look (and its logs) is not the steady cost.
        wait(&mut handle, Duration::from_secs(5)).await;
        let idle = measure(&fake, &mut handle, Some(idle_for)).await;
        fake.review(RUN_ID, "octocat", "staging", true, "ok")
            .unwrap();
        fake.review(RUN_ID, "hubot", "production", true, "ok")
            .unwrap();
        let busy = measure(&fake, &mut handle, None).await;
        (idle, busy)
    });
    println!("{}", measure::machine());
    println!(
        "{:<44} {:>7} {:>9} {:>10}",
        "one watched run", "minutes", "req/min", "charged/min"
    );
    idle.row("idle: waiting for a review, nothing changes");
    busy.row("busy: two jobs running, to the run's end");
}

/// Reads updates for `how_long`.
async fn wait(handle: &mut shipdeck::backend::Handle, how_long: Duration) {
    let deadline = tokio::time::Instant::now() + how_long;
    while let Ok(Some(_)) = tokio::time::timeout_at(deadline, handle.updates.recv()).await {}
}

/// Counts requests for `how_long`, or until the release finishes.
async fn measure(
    fake: &FakeGithub,
    handle: &mut shipdeck::backend::Handle,
    how_long: Option<Duration>,
) -> Cost {
    let (requests0, charged0) = (fake.requests().len() as u64, fake.charged());
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + how_long.unwrap_or(Duration::from_secs(900));
    loop {
        match tokio::time::timeout_at(deadline, handle.updates.recv()).await {
            Ok(Some(Update::Events(events)))
                if how_long.is_none()
                    && events
                        .iter()
                        .any(|e| matches!(e.kind, EventKind::ReleaseFinished { .. })) =>
            {
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    Cost {
        minutes: started.elapsed().as_secs_f64() / 60.0,
        requests: fake.requests().len() as u64 - requests0,
        charged: fake.charged() - charged0,
    }
}
