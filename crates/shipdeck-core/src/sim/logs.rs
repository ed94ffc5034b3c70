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

/// A line of a stage's script. Its text may name the release (`{service}`,
/// `{version}`, `{previous}`, `{environment}`), the script's numbers
/// (`{crates}`, zero-padded `{migration:04}`, `{coverage:.1}`), a pod
/// (`{pod}`, in a script's pods) and fresh random hex (`{hex:12}`).
struct Line {
    at: f64,
    level: Level,
    source: &'static str,
    text: &'static str,
}

/// A number a script draws before its lines, in the order listed.
enum Number {
    /// A whole number in a range.
    Between(u32, u32),
    /// `from` plus up to `spread`, as a fraction drawn.
    Around { from: f64, spread: f64 },
}

/// What a stage kind prints while it works: numbers drawn first, then its
/// lines in order, then the same lines for each of `pods` pods (each pod
/// named as it comes, its lines `every` later than the last pod's).
struct Script {
    numbers: &'static [(&'static str, Number)],
    lines: &'static [Line],
    pods: Option<Pods>,
    /// Lines after the pods'.
    closing: &'static [Line],
}

struct Pods {
    count: usize,
    first: f64,
    every: f64,
    lines: &'static [Line],
}

const fn line(at: f64, level: Level, source: &'static str, text: &'static str) -> Line {
    Line {
        at,
        level,
        source,
        text,
    }
}

use Level::{Debug, Info, Warn};

const BUILD: Script = Script {
    numbers: &[
        ("crates", Number::Between(180, 260)),
        ("secs", Number::Between(70, 110)),
    ],
    lines: &[
        line(
            0.00,
            Info,
            "build",
            "checking out {service} at tag {version} ({hex:12})",
        ),
        line(0.05, Info, "build", "restoring dependency cache (hit)"),
        line(
            0.10,
            Info,
            "build",
            "Step 1/9 : FROM rust:1.95-slim AS builder",
        ),
        line(
            0.20,
            Info,
            "build",
            "Step 4/9 : RUN cargo build --release --locked",
        ),
        line(0.30, Debug, "build", "   Compiling {crates} crates"),
        line(
            0.62,
            Info,
            "build",
            "    Finished `release` profile [optimized] target(s) in {secs}s",
        ),
        line(
            0.70,
            Info,
            "build",
            "Step 8/9 : COPY --from=builder /app/target/release/server /usr/local/bin/",
        ),
        line(
            0.78,
            Info,
            "build",
            "image {service}:{version} built, 48.2 MB",
        ),
        line(
            0.86,
            Info,
            "build",
            "generating SBOM for {service}:{version}",
        ),
        line(
            0.95,
            Info,
            "build",
            "pushed {service}:{version} digest sha256:{hex:64}",
        ),
    ],
    pods: None,
    closing: &[],
};

const TEST: Script = Script {
    numbers: &[
        ("unit", Number::Between(380, 460)),
        ("integ", Number::Between(60, 90)),
        ("e2e", Number::Between(18, 30)),
        (
            "coverage",
            Number::Around {
                from: 80.0,
                spread: 8.0,
            },
        ),
    ],
    lines: &[
        line(0.02, Info, "test", "running {unit} unit tests"),
        line(
            0.30,
            Info,
            "test",
            "test result: ok. {unit} passed; 0 failed; 2 ignored",
        ),
        line(
            0.35,
            Info,
            "test",
            "running {integ} integration tests against postgres:16",
        ),
        line(
            0.60,
            Info,
            "test",
            "test result: ok. {integ} passed; 0 failed",
        ),
        line(
            0.64,
            Info,
            "test",
            "running {e2e} end-to-end journeys (checkout, refund, login)",
        ),
        line(
            0.80,
            Warn,
            "test",
            "e2e: journey `refund` retried once (flaky: payment sandbox 503)",
        ),
        line(
            0.90,
            Info,
            "test",
            "test result: ok. {e2e} passed; 0 failed",
        ),
        line(
            0.96,
            Info,
            "test",
            "coverage {coverage:.1}% (threshold 80%)",
        ),
        line(
            0.98,
            Info,
            "test",
            "security scan: 0 critical, 0 high, 3 low",
        ),
    ],
    pods: None,
    closing: &[],
};

const DEPLOY: Script = Script {
    numbers: &[("migration", Number::Between(40, 90))],
    lines: &[
        line(
            0.00,
            Info,
            "deploy",
            "deploying {service}:{version} to {environment} (replacing {previous})",
        ),
        line(
            0.08,
            Info,
            "migrate",
            "applying migration {migration:04}_add_payment_intents_index",
        ),
        line(
            0.20,
            Info,
            "migrate",
            "migration {migration:04} ok in 1.8s; schema at version {migration}",
        ),
    ],
    pods: Some(Pods {
        count: 3,
        first: 0.3,
        every: 0.18,
        lines: &[
            line(
                0.00,
                Info,
                "pod/{pod}",
                "Pulling image \"{service}:{version}\"",
            ),
            line(0.06, Info, "pod/{pod}", "Started container server"),
            line(
                0.12,
                Info,
                "pod/{pod}",
                "Readiness probe GET /healthz: 200 OK",
            ),
        ],
    }),
    closing: &[line(
        0.97,
        Info,
        "deploy",
        "{environment}: 3/3 pods ready on {version}",
    )],
};

const SMOKE: Script = Script {
    numbers: &[],
    lines: &[
        line(0.05, Info, "smoke", "running smoke tests (12 checks)"),
        line(0.30, Info, "smoke", "GET /healthz 200 in 4ms"),
        line(0.45, Info, "smoke", "POST /api/v1/cart 201 in 38ms"),
        line(0.60, Info, "smoke", "POST /api/v1/checkout 200 in 212ms"),
        line(0.75, Info, "smoke", "GET /api/v1/orders/recent 200 in 27ms"),
        line(0.92, Info, "smoke", "smoke tests passed: 12/12"),
    ],
    pods: None,
    closing: &[],
};

const MONITOR: Script = Script {
    numbers: &[],
    lines: &[
        line(
            0.0,
            Info,
            "monitor",
            "monitoring period started: watching error rate, latency p50/p95/p99, throughput",
        ),
        line(
            0.5,
            Info,
            "monitor",
            "SLO check: error budget burn rate 0.4x, within budget",
        ),
        line(
            0.98,
            Info,
            "monitor",
            "monitoring period complete: no alerts",
        ),
    ],
    pods: None,
    closing: &[],
};

/// The script of a stage kind; the engine's own stages print nothing.
fn script(kind: StageKind) -> Option<&'static Script> {
    match kind {
        StageKind::Build => Some(&BUILD),
        StageKind::Test => Some(&TEST),
        StageKind::Deploy => Some(&DEPLOY),
        StageKind::Validation | StageKind::Verification => Some(&SMOKE),
        StageKind::Monitoring => Some(&MONITOR),
        StageKind::Approval | StageKind::Rollout => None,
    }
}

/// The lines a stage prints while it works.
pub fn stage_lines(kind: StageKind, ctx: &Context, rng: &mut Rng) -> Vec<Scripted> {
    let Some(script) = script(kind) else {
        return Vec::new();
    };
    let mut fill = Fill {
        ctx,
        numbers: script
            .numbers
            .iter()
            .map(|(name, number)| (*name, number.draw(rng)))
            .collect(),
        pod: String::new(),
    };
    let mut out: Vec<Scripted> = script
        .lines
        .iter()
        .map(|l| fill.line(l, 0.0, rng))
        .collect();
    if let Some(pods) = &script.pods {
        for i in 0..pods.count {
            fill.pod = pod_name(rng, ctx.service);
            let base = pods.first + i as f64 * pods.every;
            out.extend(pods.lines.iter().map(|l| fill.line(l, base, rng)));
        }
    }
    out.extend(script.closing.iter().map(|l| fill.line(l, 0.0, rng)));
    out
}

/// A number drawn, ready to be written.
enum Drawn {
    Whole(u32),
    Fraction(f64),
}

impl Number {
    fn draw(&self, rng: &mut Rng) -> Drawn {
        match *self {
            Number::Between(lo, hi) => Drawn::Whole(rng.u32(lo..hi)),
            Number::Around { from, spread } => Drawn::Fraction(from + rng.f64() * spread),
        }
    }
}

/// What a script's placeholders are filled with.
struct Fill<'a> {
    ctx: &'a Context<'a>,
    numbers: Vec<(&'static str, Drawn)>,
    pod: String,
}

impl Fill<'_> {
    fn line(&self, line: &Line, base: f64, rng: &mut Rng) -> Scripted {
        Scripted {
            at: base + line.at,
            level: line.level,
            source: self.text(line.source, rng),
            message: self.text(line.text, rng),
        }
    }

    /// The text with every `{name}` or `{name:format}` filled in.
    fn text(&self, template: &str, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let field = &rest[open + 1..open + close];
            let (name, format) = field.split_once(':').unwrap_or((field, ""));
            self.value(name, format, rng, &mut out);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn value(&self, name: &str, format: &str, rng: &mut Rng, out: &mut String) {
        use std::fmt::Write as _;
        let ctx = self.ctx;
        let _ = match name {
            "service" => write!(out, "{}", ctx.service),
            "version" => write!(out, "{}", ctx.version),
            "previous" => write!(out, "{}", ctx.previous),
            "environment" => write!(out, "{}", ctx.environment),
            "pod" => write!(out, "{}", self.pod),
            "hex" => write!(out, "{}", hex(rng, format.parse().unwrap_or(8))),
            _ => match self.numbers.iter().find(|(n, _)| *n == name) {
                Some((_, Drawn::Whole(n))) => match format.strip_prefix('0') {
                    Some(width) => write!(out, "{n:0width$}", width = width.parse().unwrap_or(0)),
                    None => write!(out, "{n}"),
                },
                Some((_, Drawn::Fraction(x))) => {
                    let places = format.strip_prefix('.').and_then(|p| p.parse().ok());
                    write!(out, "{x:.places$}", places = places.unwrap_or(1))
                }
                None => write!(out, "{{{name}}}"),
            },
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_in_the_scripts_is_filled() {
        let ctx = Context {
            service: "checkout-api",
            version: "v2.14.0",
            previous: "v2.13.4",
            environment: "production",
        };
        let mut rng = Rng::with_seed(7);
        for kind in [
            StageKind::Build,
            StageKind::Test,
            StageKind::Deploy,
            StageKind::Validation,
            StageKind::Monitoring,
        ] {
            let lines = stage_lines(kind, &ctx, &mut rng);
            assert!(!lines.is_empty(), "{kind:?} prints something");
            for line in &lines {
                for text in [&line.source, &line.message] {
                    assert!(
                        !text.contains('{') && !text.contains('}'),
                        "{kind:?}: {text}"
                    );
                }
                assert!((0.0..=1.0).contains(&line.at), "{kind:?}: {}", line.at);
            }
        }
        let deploy = stage_lines(StageKind::Deploy, &ctx, &mut rng);
        let migration = &deploy[1].message;
        assert!(
            migration.starts_with("applying migration 00"),
            "zero-padded: {migration}"
        );
        let pods: Vec<&str> = deploy
            .iter()
            .filter_map(|l| l.source.strip_prefix("pod/checkout-api-"))
            .collect();
        assert_eq!(pods.len(), 9, "three pods, three lines each");
    }
}
