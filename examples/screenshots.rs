//! Renders the console at its main moments into PNG files, through the very
//! views the terminal shows: the screen is drawn into ratatui's test buffer
//! and each cell is painted with DejaVu Sans Mono.
//!
//! ```sh
//! cargo run --example screenshots            # writes screenshots/*.png
//! cargo run --example screenshots -- OUT_DIR
//! ```

// A tool of the house printing its own words, not shipdeck's output.
#![allow(clippy::disallowed_macros)]
//!
//! Fonts come from `/usr/share/fonts/truetype/dejavu` (Debian's
//! fonts-dejavu-core) or the folder in `SHIPDECK_FONT_DIR`.

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fontdue::{Font, FontSettings};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use shipdeck::backend::Update;
use shipdeck::theme::Slot;
use shipdeck::tui::app::{App, Msg};
use shipdeck::tui::demo::{at_approval, feed, watching};
use shipdeck::tui::theme::Theme;
use shipdeck::tui::views;

const PX: f32 = 15.0;

struct Fonts {
    regular: Font,
    bold: Font,
    fallback: Font,
}

fn load(dir: &Path, file: &str) -> Result<Font, String> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "cannot read {}: {e}\n(install Debian's fonts-dejavu-core, or set SHIPDECK_FONT_DIR)",
            path.display()
        )
    })?;
    Font::from_bytes(bytes, FontSettings::default()).map_err(|e| format!("{}: {e}", path.display()))
}

impl Fonts {
    fn load() -> Result<Fonts, String> {
        let dir = std::env::var_os("SHIPDECK_FONT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/share/fonts/truetype/dejavu"));
        Ok(Fonts {
            regular: load(&dir, "DejaVuSansMono.ttf")?,
            bold: load(&dir, "DejaVuSansMono-Bold.ttf")?,
            fallback: load(&dir, "DejaVuSans.ttf")?,
        })
    }
}

type Rgb = [u8; 3];

/// The sixteen basic colours as a common terminal palette draws them.
fn basic(i: u8) -> Rgb {
    const PALETTE: [Rgb; 16] = [
        [0x1d, 0x1f, 0x21],
        [0xcc, 0x33, 0x33],
        [0x5f, 0xaf, 0x5f],
        [0xd7, 0xaf, 0x5f],
        [0x5f, 0x87, 0xd7],
        [0xaf, 0x87, 0xd7],
        [0x5f, 0xaf, 0xaf],
        [0xc5, 0xc8, 0xc6],
        [0x6c, 0x70, 0x79],
        [0xff, 0x66, 0x66],
        [0x87, 0xd7, 0x87],
        [0xff, 0xd7, 0x87],
        [0x87, 0xaf, 0xff],
        [0xd7, 0xaf, 0xff],
        [0x87, 0xd7, 0xd7],
        [0xff, 0xff, 0xff],
    ];
    PALETTE[(i & 15) as usize]
}

fn rgb(color: Color, default: Rgb) -> Rgb {
    match color {
        Color::Reset => default,
        Color::Black => basic(0),
        Color::Red => basic(1),
        Color::Green => basic(2),
        Color::Yellow => basic(3),
        Color::Blue => basic(4),
        Color::Magenta => basic(5),
        Color::Cyan => basic(6),
        Color::Gray => basic(7),
        Color::DarkGray => basic(8),
        Color::LightRed => basic(9),
        Color::LightGreen => basic(10),
        Color::LightYellow => basic(11),
        Color::LightBlue => basic(12),
        Color::LightMagenta => basic(13),
        Color::LightCyan => basic(14),
        Color::White => basic(15),
        Color::Rgb(r, g, b) => [r, g, b],
        Color::Indexed(i) if i < 16 => basic(i),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + (i - 232) * 10;
            [v, v, v]
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let level = |n: u8| if n == 0 { 0 } else { 55 + n * 40 };
            [level(i / 36), level((i / 6) % 6), level(i % 6)]
        }
    }
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let m = |x: u8, y: u8| (f32::from(x) * (1.0 - t) + f32::from(y) * t).round() as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, color: Rgb) {
        for row in y..(y + h).min(self.height) {
            for col in x..(x + w).min(self.width) {
                let i = (row * self.width + col) * 3;
                self.pixels[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    fn blend(&mut self, x: usize, y: usize, color: Rgb, alpha: f32) {
        if x >= self.width || y >= self.height {
            return;
        }
        let i = (y * self.width + x) * 3;
        let under = [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]];
        self.pixels[i..i + 3].copy_from_slice(&mix(under, color, alpha));
    }
}

/// Lines of a box-drawing character: (up, down, left, right), 0 none,
/// 1 light, 2 heavy, 3 double.
fn box_lines(c: char) -> Option<[u8; 4]> {
    Some(match c {
        '─' | '┄' => [0, 0, 1, 1],
        '│' => [1, 1, 0, 0],
        '┌' | '╭' => [0, 1, 0, 1],
        '┐' | '╮' => [0, 1, 1, 0],
        '└' | '╰' => [1, 0, 0, 1],
        '┘' | '╯' => [1, 0, 1, 0],
        '━' => [0, 0, 2, 2],
        '┃' => [2, 2, 0, 0],
        '┏' => [0, 2, 0, 2],
        '┓' => [0, 2, 2, 0],
        '┗' => [2, 0, 0, 2],
        '┛' => [2, 0, 2, 0],
        '═' => [0, 0, 3, 3],
        '║' => [3, 3, 0, 0],
        '╔' => [0, 3, 0, 3],
        '╗' => [0, 3, 3, 0],
        '╚' => [3, 0, 0, 3],
        '╝' => [3, 0, 3, 0],
        _ => return None,
    })
}

struct Painter<'a> {
    fonts: &'a Fonts,
    cell_w: usize,
    cell_h: usize,
    ascent: f32,
}

impl Painter<'_> {
    fn new(fonts: &Fonts) -> Painter<'_> {
        let metrics = fonts.regular.metrics('M', PX);
        let line = fonts
            .regular
            .horizontal_line_metrics(PX)
            .expect("a horizontal font");
        Painter {
            fonts,
            cell_w: metrics.advance_width.ceil() as usize,
            cell_h: line.new_line_size.ceil() as usize + 1,
            ascent: line.ascent,
        }
    }

    fn paint(&self, buffer: &Buffer, default_fg: Rgb, default_bg: Rgb) -> Canvas {
        let area = buffer.area;
        let mut canvas = Canvas {
            width: area.width as usize * self.cell_w,
            height: area.height as usize * self.cell_h,
            pixels: vec![
                0;
                area.width as usize * self.cell_w * area.height as usize * self.cell_h * 3
            ],
        };
        for y in 0..area.height {
            for x in 0..area.width {
                let cell = &buffer[(x, y)];
                let mut fg = rgb(cell.fg, default_fg);
                let mut bg = rgb(cell.bg, default_bg);
                if cell.modifier.contains(Modifier::REVERSED) {
                    std::mem::swap(&mut fg, &mut bg);
                }
                if cell.modifier.contains(Modifier::DIM) {
                    fg = mix(fg, bg, 0.45);
                }
                let (px, py) = (x as usize * self.cell_w, y as usize * self.cell_h);
                canvas.fill(px, py, self.cell_w, self.cell_h, bg);
                let Some(c) = cell.symbol().chars().next() else {
                    continue;
                };
                self.glyph(
                    &mut canvas,
                    px,
                    py,
                    c,
                    fg,
                    cell.modifier.contains(Modifier::BOLD),
                );
            }
        }
        canvas
    }

    /// Box-drawing lines, drawn so they meet across cells: each of up,
    /// down, left and right is none, light, heavy or double.
    fn box_glyph(
        &self,
        canvas: &mut Canvas,
        px: usize,
        py: usize,
        c: char,
        [up, down, left, right]: [u8; 4],
        fg: Rgb,
    ) {
        let (w, h) = (self.cell_w, self.cell_h);
        let (cx, cy) = (px + w / 2, py + h / 2);
        let stroke = |canvas: &mut Canvas, kind: u8, horizontal: bool, from: usize, to: usize| {
            let offsets: &[isize] = match kind {
                1 => &[0],
                2 => &[-1, 0, 1],
                3 => &[-2, 2],
                _ => &[],
            };
            for o in offsets {
                for t in from..to {
                    if c == '┄' && (t / 2) % 2 == 1 {
                        continue;
                    }
                    if horizontal {
                        canvas.blend(t, (cy as isize + o) as usize, fg, 1.0);
                    } else {
                        canvas.blend((cx as isize + o) as usize, t, fg, 1.0);
                    }
                }
            }
        };
        let reach = |kind: u8| if kind == 3 { 3 } else { 1 };
        stroke(canvas, up, false, py, cy + reach(left.max(right)));
        stroke(
            canvas,
            down,
            false,
            cy.saturating_sub(reach(left.max(right)) - 1),
            py + h,
        );
        stroke(canvas, left, true, px, cx + reach(up.max(down)));
        stroke(
            canvas,
            right,
            true,
            cx.saturating_sub(reach(up.max(down)) - 1),
            px + w,
        );
    }

    fn glyph(&self, canvas: &mut Canvas, px: usize, py: usize, c: char, fg: Rgb, bold: bool) {
        let (w, h) = (self.cell_w, self.cell_h);
        // Block elements and box lines are drawn, so they meet across cells.
        if ('\u{2581}'..='\u{2588}').contains(&c) {
            let eighths = c as usize - 0x2580;
            let fill = h * eighths / 8;
            canvas.fill(px, py + h - fill, w, fill, fg);
            return;
        }
        if let Some(lines) = box_lines(c) {
            self.box_glyph(canvas, px, py, c, lines, fg);
            return;
        }
        if c == ' ' {
            return;
        }
        let font = if bold {
            &self.fonts.bold
        } else {
            &self.fonts.regular
        };
        let font = if font.lookup_glyph_index(c) != 0 {
            font
        } else if self.fonts.fallback.lookup_glyph_index(c) != 0 {
            &self.fonts.fallback
        } else {
            font
        };
        let (metrics, coverage) = font.rasterize(c, PX);
        let baseline = py as f32 + self.ascent + 1.0;
        let top = (baseline - metrics.height as f32 - metrics.ymin as f32).round() as isize;
        let left = px as isize + metrics.xmin as isize;
        for gy in 0..metrics.height {
            for gx in 0..metrics.width {
                let alpha = f32::from(coverage[gy * metrics.width + gx]) / 255.0;
                if alpha > 0.0 {
                    let (x, y) = (left + gx as isize, top + gy as isize);
                    if x >= 0 && y >= 0 {
                        canvas.blend(x as usize, y as usize, fg, alpha);
                    }
                }
            }
        }
    }
}

fn key(app: &mut App, code: KeyCode) {
    let _ = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn shoot(
    painter: &Painter,
    app: &mut App,
    width: u16,
    height: u16,
    path: &Path,
) -> Result<(), String> {
    let _ = app.update(Msg::Resize { width, height });
    let mut terminal = Terminal::new(TestBackend::new(width, height)).map_err(|e| e.to_string())?;
    terminal
        .draw(|f| views::render(app, f))
        .map_err(|e| e.to_string())?;
    let fg = rgb(
        app.theme[Slot::Base].fg.unwrap_or(Color::Reset),
        [0xc0, 0xca, 0xf5],
    );
    let bg = rgb(
        app.theme[Slot::Base].bg.unwrap_or(Color::Reset),
        [0x1a, 0x1b, 0x26],
    );
    let canvas = painter.paint(terminal.backend().buffer(), fg, bg);
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        canvas.width as u32,
        canvas.height as u32,
    );
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&canvas.pixels)
        .map_err(|e| e.to_string())?;
    println!("wrote {} ({width}x{height} cells)", path.display());
    Ok(())
}

fn main() -> Result<(), String> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("screenshots"));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let fonts = Fonts::load()?;
    let painter = Painter::new(&fonts);
    canary(&painter, &out)?;
    sign_off(&painter, &out)?;
    automatic_rollback(&painter, &out)?;
    shared_window(&painter, &out)?;
    prometheus_rollback(&painter, &out)?;
    github_run(&painter, &out)?;
    inbox(&painter, &out)?;
    help(&painter, &out)
}

/// The inbox over a canary's window: what waits on maria in three
/// releases on a server, a Rollout and a workflow run, and what waits on
/// others below.
fn inbox(painter: &Painter, out: &Path) -> Result<(), String> {
    use shipdeck::inbox::{Deadline, Feed, Item, Place};
    let (mut app, _) = watching(
        "happy-canary",
        "maria",
        true,
        Theme::load("default", false)?,
        |r| r.rollout().weight >= 25,
    );
    let now: jiff::Timestamp = "2026-12-01T14:20:00Z".parse().map_err(|e| format!("{e}"))?;
    let ago = |mins: i64| now - jiff::SignedDuration::from_mins(mins);
    let from_now = |mins: i64| now + jiff::SignedDuration::from_mins(mins);
    let server = |release: &str| Place::Server {
        url: "https://deploy.example:7070".into(),
        release: release.into(),
    };
    let item = |place,
                release: &str,
                what: &str,
                stage: &str,
                since,
                deadline,
                mine,
                others: Option<&str>| Item {
        place,
        release: release.into(),
        what: what.into(),
        stage: stage.into(),
        since: Some(since),
        deadline,
        mine,
        others: others.map(str::to_string),
        act: None,
    };
    let window = |mins| {
        Some(Deadline {
            at: from_now(mins),
            what: "the window closes".into(),
        })
    };
    let feeds = vec![
        Feed {
            source: "https://deploy.example:7070".into(),
            items: vec![
                item(
                    server("payments-api-v5.5.0"),
                    "payments-api v5.4.0 → v5.5.0 (production)",
                    "Production deploy approval",
                    "Production approval",
                    ago(12),
                    window(9),
                    true,
                    Some("erin"),
                ),
                item(
                    server("search-v3.2.0"),
                    "search v3.1.4 → v3.2.0 (production)",
                    "Critical features working",
                    "Post-deployment verification",
                    ago(4),
                    window(95),
                    false,
                    Some("dave or erin"),
                ),
            ],
            trouble: None,
        },
        Feed {
            source: "rollouts in checkout (prod)".into(),
            items: vec![item(
                Place::Rollout {
                    context: Some("prod".into()),
                    namespace: "checkout".into(),
                    name: "checkout-api".into(),
                },
                "rollout checkout/checkout-api (prod)",
                "a decision: the analysis was inconclusive — promote or roll back",
                "step 3/8",
                ago(31),
                None,
                true,
                None,
            )],
            trouble: None,
        },
        Feed {
            source: "github octo-org/web".into(),
            items: vec![item(
                Place::Github {
                    repo: "octo-org/web".into(),
                    run: 30433642,
                    api_url: None,
                },
                "octo-org/web run 30433642 (Deploy)",
                "review of production",
                "deploy-production",
                ago(50),
                Some(Deadline {
                    at: from_now(60 * 24 * 30 - 50),
                    what: "GitHub's approval expires".into(),
                }),
                false,
                Some("hubot or @octo-org/sre"),
            )],
            trouble: Some("rate limit: 0 of 5000 left, resets 14:31:00 UTC".into()),
        },
    ];
    let mut list = shipdeck::tui::inbox::InboxList::over(None);
    list.now = Some(now);
    for feed in feeds {
        let _ = list.take(feed);
    }
    app.inbox = Some(list);
    key(&mut app, KeyCode::Char('i'));
    shoot(painter, &mut app, 160, 45, &out.join("inbox.png"))
}

fn production() -> Theme {
    Theme::load("production", false).expect("bundled theme")
}

/// A canary at 25%, wide and at 80x24.
fn canary(painter: &Painter, out: &Path) -> Result<(), String> {
    let (mut app, _) = watching("happy-canary", "erin", true, production(), |r| {
        r.rollout().weight == 25 && r.logs().len() > 120
    });
    shoot(
        painter,
        &mut app,
        160,
        45,
        &out.join("canary-in-progress.png"),
    )?;
    let small = out.join("canary-in-progress-80x24.png");
    shoot(painter, &mut app, 80, 24, &small)
}

/// The production gate's comment box, a comment typed.
fn sign_off(painter: &Painter, out: &Path) -> Result<(), String> {
    let (mut app, _) = watching("happy-canary", "erin", false, production(), at_approval);
    key(&mut app, KeyCode::Char('s'));
    type_text(
        &mut app,
        "Staging is clean and the error budget is healthy. Go.",
    );
    shoot(painter, &mut app, 160, 45, &out.join("sign-off.png"))
}

/// A rule rolling the canary back.
fn automatic_rollback(painter: &Painter, out: &Path) -> Result<(), String> {
    let (mut app, _) = watching("canary-regression", "dave", true, production(), |r| {
        r.rollback().is_some()
    });
    shoot(
        painter,
        &mut app,
        160,
        45,
        &out.join("automatic-rollback.png"),
    )
}

/// A shared window: erin's console on a server, dave has just signed.
fn shared_window(painter: &Painter, out: &Path) -> Result<(), String> {
    let (mut app, mut sim) = watching("two-person", "erin", false, production(), at_approval);
    app.backend = "127.0.0.1:7878 payments-api-v5.5.0".into();
    let signed = shipdeck::model::Command::new(
        "console-4242-9f3a01c2-1",
        person("dave"),
        shipdeck::model::Action::Approve {
            gate: Some("production".into()),
            comment: Some("Ledger double-entry checks pass on staging.".into()),
        },
    );
    let (_, events) = sim.submit(signed);
    feed(&mut app, Update::Events(events));
    let since = sim.now();
    let watcher = |operator: &str, streams| shipdeck::api::Watcher {
        operator: person(operator),
        since,
        streams,
    };
    let watchers = vec![watcher("carol", 1), watcher("dave", 2), watcher("erin", 1)];
    feed(
        &mut app,
        Update::Presence(shipdeck::api::Presence {
            watchers,
            ..Default::default()
        }),
    );
    shoot(painter, &mut app, 160, 45, &out.join("shared-window.png"))
}

/// A window whose rules read Prometheus, as `shipdeck serve` journaled it
/// on a real chain (simulated service → /metrics → Prometheus → rules),
/// twenty seconds of virtual time after the rule rolled back.
fn prometheus_rollback(painter: &Painter, out: &Path) -> Result<(), String> {
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/journals/prometheus-canary-regression.jsonl");
    let journal =
        shipdeck::journal::read(&recorded).map_err(|e| format!("{}: {e}", recorded.display()))?;
    let mut app = App::new(
        person("dave"),
        "127.0.0.1:7878 checkout-api-v2.15.0".to_string(),
        shipdeck::tui::keymap::KeyMap::default(),
        production(),
        shipdeck::model::DEFAULT_LOG_CAPACITY,
        "demo",
    );
    feed(
        &mut app,
        Update::Connection(shipdeck::backend::Connection::Live),
    );
    let rolled_back = journal
        .events
        .iter()
        .find(|e| matches!(e.kind, shipdeck::model::EventKind::RollbackStarted { .. }))
        .map(|e| e.at)
        .ok_or("the recorded window has no rollback")?;
    let until = rolled_back + jiff::SignedDuration::from_secs(20);
    let shown: Vec<_> = journal
        .events
        .iter()
        .take_while(|e| e.at <= until)
        .cloned()
        .collect();
    feed(&mut app, Update::Events(shown));
    feed(&mut app, Update::Clock(until));
    shoot(
        painter,
        &mut app,
        160,
        45,
        &out.join("prometheus-rollback.png"),
    )
}

/// Help over a blue-green release, in the light theme.
fn help(painter: &Painter, out: &Path) -> Result<(), String> {
    let (mut app, _) = watching(
        "blue-green",
        "maria",
        true,
        Theme::load("light", false)?,
        |r| r.rollout().weight == 100 && r.logs().len() > 150,
    );
    key(&mut app, KeyCode::Char('?'));
    shoot(painter, &mut app, 160, 45, &out.join("help.png"))
}

/// A GitHub Actions run waiting on two environments, as octocat sees it:
/// GitHub's own example objects (`fixtures/github`), the run's jobs made
/// build ✓, test ✓ and two deploy jobs waiting.
fn github_run(painter: &Painter, out: &Path) -> Result<(), String> {
    use serde_json::{Value, json};
    use shipdeck::github::translate::{Observed, Said, Translator};
    let read = |name: &str| -> Result<Value, String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/github")
            .join(name);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))
    };
    let mut run = read("workflow-run.json")?;
    run["status"] = json!("waiting");
    run["name"] = json!("Deploy");
    // The example run is dated two days after the example jobs: one day.
    run["created_at"] = json!("2020-01-20T17:40:00Z");
    run["run_started_at"] = json!("2020-01-20T17:40:00Z");
    let template = read("job.json")?;
    let job = |id: u64, name: &str, status: &str, conclusion: Value| {
        let mut job = template.clone();
        job["id"] = json!(id);
        job["name"] = json!(name);
        job["status"] = json!(status);
        job["conclusion"] = conclusion;
        if status == "waiting" {
            job["started_at"] = Value::Null;
            job["completed_at"] = Value::Null;
            job["steps"] = json!([]);
        }
        job
    };
    let jobs = vec![
        job(1, "build", "completed", json!("success")),
        job(2, "test", "completed", json!("success")),
        job(3, "deploy-staging", "waiting", Value::Null),
        job(4, "deploy-production", "waiting", Value::Null),
    ];
    let mut pending = read("pending-deployment-items.json")?;
    pending[0]["wait_timer_started_at"] = json!("2020-01-20T18:30:00Z");
    pending[0]["wait_timer"] = json!(0);
    let mut prod = pending[0].clone();
    prod["wait_timer"] = json!(30);
    prod["environment"]["id"] = json!(161088069);
    prod["environment"]["name"] = json!("production");
    prod["current_user_can_approve"] = json!(false);
    prod["reviewers"][0]["reviewer"]["login"] = json!("hubot");
    pending
        .as_array_mut()
        .ok_or("pending is a list")?
        .push(prod);
    let seen = Observed {
        run: serde_json::from_value(run).map_err(|e| e.to_string())?,
        jobs: serde_json::from_value(json!(jobs)).map_err(|e| e.to_string())?,
        pending: serde_json::from_value(pending).map_err(|e| e.to_string())?,
        approvals: Vec::new(),
    };
    let now = jiff::Timestamp::from_second(1_579_545_900).map_err(|e| e.to_string())?;
    let mut translator = Translator::new(shipdeck::model::DEFAULT_LOG_CAPACITY);
    translator.set_operator(person("octocat"));
    let mut app = App::new(
        person("octocat"),
        "gh:octo-org/octo-repo#562",
        shipdeck::tui::keymap::KeyMap::default(),
        production(),
        shipdeck::model::DEFAULT_LOG_CAPACITY,
        "demo",
    );
    feed(
        &mut app,
        Update::Connection(shipdeck::backend::Connection::Live),
    );
    for said in translator.observe(&seen, now) {
        if let Said::Events(events) = said {
            feed(&mut app, Update::Events(events));
        }
    }
    let picture = shipdeck::github::picture::picture(&seen, now);
    feed(&mut app, Update::Picture(picture));
    feed(&mut app, Update::Clock(now));
    shoot(painter, &mut app, 160, 45, &out.join("github-run.png"))
}

/// A person's name.
fn person(name: &str) -> shipdeck::model::Person {
    shipdeck::model::Person::new(name).expect("a person's name")
}
