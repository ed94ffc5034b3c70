//! Log lines a real pipeline would print, per stage kind.
//!
//! Each script is a list of lines with the fraction of the stage's duration
//! at which they appear; the simulator spreads them over the stage.

use fastrand::Rng;

use crate::model::{Level, StageKind};

/// A line to print at `at` (0.0 = stage start, 1.0 = stage end).
pub struct Scripted {
    pub at: f64,
    pub level: Level,
    pub source: String,
    pub message: String,
}

/// What the log lines may mention.
pub struct Context<'a> {
    pub service: &'a str,
    pub version: &'a str,
    pub previous: &'a str,
    pub environment: &'a str,
}

fn hex(rng: &mut Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from_digit(rng.u32(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A pod name as Kubernetes would make it.
pub fn pod_name(rng: &mut Rng, service: &str) -> String {
    let suffix: String = (0..5)
        .map(|_| char::from(b"bcdfghjklmnpqrstvwxz2456789"[rng.usize(0..27)]))
        .collect();
    format!("{service}-{}-{suffix}", hex(rng, 9))
}

/// The lines a stage prints while it works.
pub fn stage_lines(kind: StageKind, ctx: &Context, rng: &mut Rng) -> Vec<Scripted> {
    let line = |at: f64, level: Level, source: &str, message: String| Scripted {
        at,
        level,
        source: source.into(),
        message,
    };
    use Level::{Debug, Info, Warn};
    let (svc, ver) = (ctx.service, ctx.version);
    match kind {
        StageKind::Build => {
            let crates = rng.u32(180..260);
            let secs = rng.u32(70..110);
            vec![
                line(
                    0.00,
                    Info,
                    "build",
                    format!("checking out {svc} at tag {ver} ({})", hex(rng, 12)),
                ),
                line(
                    0.05,
                    Info,
                    "build",
                    "restoring dependency cache (hit)".into(),
                ),
                line(
                    0.10,
                    Info,
                    "build",
                    "Step 1/9 : FROM rust:1.95-slim AS builder".into(),
                ),
                line(
                    0.20,
                    Info,
                    "build",
                    "Step 4/9 : RUN cargo build --release --locked".into(),
                ),
                line(
                    0.30,
                    Debug,
                    "build",
                    format!("   Compiling {crates} crates"),
                ),
                line(
                    0.62,
                    Info,
                    "build",
                    format!("    Finished `release` profile [optimized] target(s) in {secs}s"),
                ),
                line(
                    0.70,
                    Info,
                    "build",
                    "Step 8/9 : COPY --from=builder /app/target/release/server /usr/local/bin/"
                        .into(),
                ),
                line(
                    0.78,
                    Info,
                    "build",
                    format!("image {svc}:{ver} built, 48.2 MB"),
                ),
                line(
                    0.86,
                    Info,
                    "build",
                    format!("generating SBOM for {svc}:{ver}"),
                ),
                line(
                    0.95,
                    Info,
                    "build",
                    format!("pushed {svc}:{ver} digest sha256:{}", hex(rng, 64)),
                ),
            ]
        }
        StageKind::Test => {
            let unit = rng.u32(380..460);
            let integ = rng.u32(60..90);
            let e2e = rng.u32(18..30);
            let coverage = 80.0 + rng.f64() * 8.0;
            vec![
                line(0.02, Info, "test", format!("running {unit} unit tests")),
                line(
                    0.30,
                    Info,
                    "test",
                    format!("test result: ok. {unit} passed; 0 failed; 2 ignored"),
                ),
                line(
                    0.35,
                    Info,
                    "test",
                    format!("running {integ} integration tests against postgres:16"),
                ),
                line(
                    0.60,
                    Info,
                    "test",
                    format!("test result: ok. {integ} passed; 0 failed"),
                ),
                line(
                    0.64,
                    Info,
                    "test",
                    format!("running {e2e} end-to-end journeys (checkout, refund, login)"),
                ),
                line(
                    0.80,
                    Warn,
                    "test",
                    "e2e: journey `refund` retried once (flaky: payment sandbox 503)".into(),
                ),
                line(
                    0.90,
                    Info,
                    "test",
                    format!("test result: ok. {e2e} passed; 0 failed"),
                ),
                line(
                    0.96,
                    Info,
                    "test",
                    format!("coverage {coverage:.1}% (threshold 80%)"),
                ),
                line(
                    0.98,
                    Info,
                    "test",
                    "security scan: 0 critical, 0 high, 3 low".into(),
                ),
            ]
        }
        StageKind::Deploy => {
            let env = ctx.environment;
            let migration = rng.u32(40..90);
            let mut lines = vec![
                line(
                    0.00,
                    Info,
                    "deploy",
                    format!(
                        "deploying {svc}:{ver} to {env} (replacing {})",
                        ctx.previous
                    ),
                ),
                line(
                    0.08,
                    Info,
                    "migrate",
                    format!("applying migration {migration:04}_add_payment_intents_index"),
                ),
                line(
                    0.20,
                    Info,
                    "migrate",
                    format!("migration {migration:04} ok in 1.8s; schema at version {migration}"),
                ),
            ];
            for i in 0..3 {
                let pod = pod_name(rng, svc);
                let base = 0.3 + i as f64 * 0.18;
                lines.push(line(
                    base,
                    Info,
                    &format!("pod/{pod}"),
                    format!("Pulling image \"{svc}:{ver}\""),
                ));
                lines.push(line(
                    base + 0.06,
                    Info,
                    &format!("pod/{pod}"),
                    "Started container server".into(),
                ));
                lines.push(line(
                    base + 0.12,
                    Info,
                    &format!("pod/{pod}"),
                    "Readiness probe GET /healthz: 200 OK".into(),
                ));
            }
            lines.push(line(
                0.97,
                Info,
                "deploy",
                format!("{env}: 3/3 pods ready on {ver}"),
            ));
            lines
        }
        StageKind::Validation | StageKind::Verification => vec![
            line(
                0.05,
                Info,
                "smoke",
                "running smoke tests (12 checks)".into(),
            ),
            line(0.30, Info, "smoke", "GET /healthz 200 in 4ms".into()),
            line(0.45, Info, "smoke", "POST /api/v1/cart 201 in 38ms".into()),
            line(
                0.60,
                Info,
                "smoke",
                "POST /api/v1/checkout 200 in 212ms".into(),
            ),
            line(
                0.75,
                Info,
                "smoke",
                "GET /api/v1/orders/recent 200 in 27ms".into(),
            ),
            line(0.92, Info, "smoke", "smoke tests passed: 12/12".into()),
        ],
        StageKind::Monitoring => vec![
            line(
                0.0,
                Info,
                "monitor",
                "monitoring period started: watching error rate, latency p50/p95/p99, throughput"
                    .into(),
            ),
            line(
                0.5,
                Info,
                "monitor",
                "SLO check: error budget burn rate 0.4x, within budget".into(),
            ),
            line(
                0.98,
                Info,
                "monitor",
                "monitoring period complete: no alerts".into(),
            ),
        ],
        StageKind::Approval | StageKind::Rollout => Vec::new(),
    }
}

/// One request log line, as an ingress would print it.
pub fn request_line(rng: &mut Rng, cohort: &str, error: bool, latency_ms: f64) -> (Level, String) {
    const OK: [&str; 5] = [
        "GET /api/v1/cart",
        "GET /api/v1/products/42",
        "POST /api/v1/cart/items",
        "GET /api/v1/orders/recent",
        "POST /api/v1/checkout",
    ];
    let id = hex(rng, 8);
    if error {
        let ms = 2500.0 + rng.f64() * 1000.0;
        (
            Level::Error,
            format!(
                "POST /api/v1/checkout 502 {ms:.0}ms cohort={cohort} req={id} upstream=payment-gateway: timeout"
            ),
        )
    } else {
        let route = OK[rng.usize(0..OK.len())];
        let status = if route.starts_with("POST /api/v1/cart") {
            201
        } else {
            200
        };
        (
            Level::Info,
            format!("{route} {status} {latency_ms:.0}ms cohort={cohort} req={id}"),
        )
    }
}
