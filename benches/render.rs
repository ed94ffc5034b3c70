//! The console's costs in-process, with criterion's statistics and its
//! comparison against the last run (`cargo bench --bench render`; a slower
//! result is reported as "Performance has regressed").
//!
//! - a full frame at 200x60 while lines arrive, with 1k, 100k and 1M lines of
//!   history behind it (the default 100k ring keeps the last 100k): the cost
//!   must not grow with history;
//! - ingesting a batch of 10k log lines;
//! - the diff of two 200x60 buffers a streaming frame apart.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use shipdeck::backend::Update;
use shipdeck::model::LogLine;
use shipdeck::tui::app::Msg;
use shipdeck::tui::views;

mod common;

use common::{HEIGHT, WIDTH, console, line};

fn frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_200x60");
    for history in [1_000u64, 100_000, 1_000_000] {
        let mut app = console(history);
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
        let mut n = history;
        group.bench_with_input(BenchmarkId::from_parameter(history), &history, |b, _| {
            b.iter(|| {
                n += 1;
                let _ = app.update(Msg::Backend(Update::Logs(vec![line(n)])));
                terminal.draw(|f| views::render(&app, f)).unwrap();
            })
        });
    }
    group.finish();
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(10_000));
    let mut app = console(100_000);
    let mut n = 100_000;
    group.bench_function("10k_lines", |b| {
        b.iter_batched(
            || {
                let batch: Vec<LogLine> = (n..n + 10_000).map(line).collect();
                n += 10_000;
                batch
            },
            |batch| app.update(Msg::Backend(Update::Logs(batch))),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn diff(c: &mut Criterion) {
    let mut app = console(100_000);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap();
    terminal.draw(|f| views::render(&app, f)).unwrap();
    let before: Buffer = terminal.backend().buffer().clone();
    let _ = app.update(Msg::Backend(Update::Logs(vec![line(100_001)])));
    terminal.draw(|f| views::render(&app, f)).unwrap();
    let after: Buffer = terminal.backend().buffer().clone();
    c.bench_function("buffer_diff_200x60", |b| {
        b.iter(|| before.diff(&after).len())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = frame, ingest, diff
}
criterion_main!(benches);
