//! What both benchmarks draw: the console mid-canary at 200x60, with log
//! lines that vary as a real service's do.

use shipdeck::backend::Update;
use shipdeck::model::{Level, LogLine, Release};
use shipdeck::tui::app::{App, Msg};
use shipdeck::tui::demo::watching;
use shipdeck::tui::theme::Theme;

pub const WIDTH: u16 = 200;
pub const HEIGHT: u16 = 60;

/// What a line says, varied as a real service's log is (levels, paths,
/// statuses, lengths), so that frames are not flattered by repetition.
/// `seq=N ` first makes the last one findable on screen.
pub fn message(n: u64) -> String {
    let h = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    let path = [
        "/api/v1/orders",
        "/api/v1/cart",
        "/healthz",
        "/api/v1/checkout",
        "/api/v1/payments/intents",
    ][(h % 5) as usize];
    match h % 11 {
        0 => format!(
            "seq={n} WARN slow query on orders_by_customer took {}ms (threshold 250ms)",
            250 + h % 900
        ),
        1 => format!(
            "seq={n} ERROR upstream payments-gateway returned 503 after {}ms; retrying (attempt {})",
            h % 3000,
            1 + h % 3
        ),
        2 => format!("seq={n} DEBUG cache miss key=cart:{h:x} ttl=300s"),
        _ => format!(
            "seq={n} INFO {} {path}/{} {} in {}ms user={:x} trace_id={:032x}",
            ["GET", "POST", "PUT"][(h % 3) as usize],
            h % 100_000,
            [200, 200, 200, 201, 204, 404, 500][(h % 7) as usize],
            h % 400,
            h % 0xffff_ffff,
            u128::from(h) * 0x1000_0000_0001
        ),
    }
}

/// Line `n` of a service's log, as the console keeps it.
pub fn line(n: u64) -> LogLine {
    LogLine {
        at: jiff::Timestamp::from_second(1_795_000_000 + (n / 1000) as i64).unwrap(),
        level: if n.is_multiple_of(11) {
            Level::Warn
        } else {
            Level::Info
        },
        source: "pod/checkout-api-7f9c-2xkq".into(),
        stage: None,
        message: message(n),
    }
}

/// The console mid-canary at 200x60 with `history` log lines behind it.
pub fn console(history: u64) -> App {
    let in_canary = |r: &Release| r.rollout().weight >= 25;
    let (mut app, _) = watching(
        "happy-canary",
        "bench",
        true,
        Theme::default_theme(false),
        in_canary,
    );
    let _ = app.update(Msg::Resize {
        width: WIDTH,
        height: HEIGHT,
    });
    let mut n = 0;
    while n < history {
        let batch: Vec<LogLine> = (n..(n + 10_000).min(history)).map(line).collect();
        n += batch.len() as u64;
        let _ = app.update(Msg::Backend(Update::Logs(batch)));
    }
    app
}
