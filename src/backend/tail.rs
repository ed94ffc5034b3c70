//! Log sources of the operator's choosing, beside the backend's own: a file
//! followed like `tail -F` (appends, truncation, rotation), standard input,
//! or a command's output (split into argv, run without a shell). Each line
//! is cleaned of terminal control sequences, given a level by what it says,
//! and labelled with its source.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jiff::Timestamp;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use super::{Gone, ReleaseClock};
use crate::model::text::clean;
use crate::model::{Level, LogLine};

/// Longest line kept; the rest of a longer one is cut off, marked `…`.
pub const MAX_LINE: usize = 16 * 1024;
/// Lines handed over in one update, at most.
const BATCH: usize = 4096;
/// How often a followed file that has nothing new is looked at again.
const POLL: Duration = Duration::from_millis(100);
/// Of a file that is already large, only its end is read at the start.
const FILE_START_MAX: u64 = 64 * 1024 * 1024;

/// Where lines come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    File(PathBuf),
    Stdin,
    Command(Vec<String>),
}

impl LogSource {
    /// A command line split as a shell would split words (quotes and
    /// backslashes), but never run by one: no globs, pipes or variables.
    pub fn command(line: &str) -> Result<LogSource, String> {
        match shlex::split(line) {
            Some(argv) if !argv.is_empty() => Ok(LogSource::Command(argv)),
            Some(_) => Err("--logs-cmd needs a command".into()),
            None => Err(format!(
                "--logs-cmd `{line}`: an opening quote is never closed"
            )),
        }
    }

    /// `-` is standard input; anything else a file.
    pub fn file_or_stdin(text: &str) -> LogSource {
        if text == "-" {
            LogSource::Stdin
        } else {
            LogSource::File(PathBuf::from(text))
        }
    }

    /// The label lines carry in the log pane.
    pub fn label(&self) -> String {
        match self {
            LogSource::File(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            LogSource::Stdin => "stdin".into(),
            LogSource::Command(argv) => Path::new(&argv[0])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| argv[0].clone()),
        }
    }
}

/// Words that name a level, as logs write them.
const LEVEL_WORDS: [(&str, Level); 15] = [
    ("ERROR", Level::Error),
    ("ERR", Level::Error),
    ("FATAL", Level::Error),
    ("CRIT", Level::Error),
    ("CRITICAL", Level::Error),
    ("PANIC", Level::Error),
    ("EMERG", Level::Error),
    ("ALERT", Level::Error),
    ("WARN", Level::Warn),
    ("WARNING", Level::Warn),
    ("INFO", Level::Info),
    ("NOTICE", Level::Info),
    ("DEBUG", Level::Debug),
    ("DBG", Level::Debug),
    ("TRACE", Level::Trace),
];

/// The level a line states: `ERROR`, `level=warn`, `"level":"debug"`, a
/// klog `E1122` prefix … else info.
pub fn level_of(line: &str) -> Level {
    let head = match line.char_indices().nth(120) {
        Some((end, _)) => &line[..end],
        None => line,
    };
    let bytes = head.as_bytes();
    if bytes.len() > 5
        && bytes[1..5].iter().all(u8::is_ascii_digit)
        && let Some(level) = match bytes[0] {
            b'E' | b'F' => Some(Level::Error),
            b'W' => Some(Level::Warn),
            b'I' => Some(Level::Info),
            _ => None,
        }
    {
        return level;
    }
    let mut after_level_key = false;
    for word in head.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let upper = word.bytes().all(|b| !b.is_ascii_lowercase());
        // Compared without copying: this runs for every word that starts
        // every line of a flood.
        if (upper || after_level_key)
            && let Some((_, level)) = LEVEL_WORDS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word))
        {
            return *level;
        }
        after_level_key = matches!(word, "level" | "lvl" | "severity");
    }
    Level::Info
}

/// Turns bytes into lines as they come, in any chunking.
#[derive(Debug)]
pub struct Lines {
    source: std::sync::Arc<str>,
    partial: Vec<u8>,
    /// The line being read is over the limit: drop bytes until its end.
    overlong: bool,
    /// What a line is stamped with as it arrives: the release's clock.
    clock: ReleaseClock,
}

impl Lines {
    pub fn new(source: String) -> Lines {
        Lines {
            source: source.into(),
            partial: Vec::new(),
            overlong: false,
            clock: ReleaseClock::default(),
        }
    }

    /// The same, its lines stamped by `clock` (the release's) as they
    /// arrive.
    pub fn stamped_by(self, clock: ReleaseClock) -> Lines {
        Lines { clock, ..self }
    }

    /// Now, for a line that arrives now.
    fn now(&self) -> Timestamp {
        self.clock.now_or_wall()
    }

    /// A note from shipdeck itself about the source, shown among its lines.
    fn note(&self, level: Level, message: String) -> LogLine {
        LogLine {
            at: self.now(),
            level,
            source: self.source.clone(),
            stage: None,
            message,
        }
    }

    fn line(&self, bytes: &[u8], at: Timestamp, cut: bool) -> LogLine {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let mut message = clean(text).into_owned();
        if cut {
            message.push('…');
        }
        LogLine {
            at,
            level: level_of(&message),
            source: self.source.clone(),
            stage: None,
            message,
        }
    }

    /// Reads a chunk; complete lines go to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], at: Timestamp, out: &mut Vec<LogLine>) {
        while !chunk.is_empty() {
            let end = memchr(b'\n', chunk);
            let (part, rest) = match end {
                Some(i) => (&chunk[..i], &chunk[i + 1..]),
                None => (chunk, &[][..]),
            };
            chunk = rest;
            if self.overlong {
                if end.is_some() {
                    self.overlong = false;
                }
                continue;
            }
            let room = MAX_LINE.saturating_sub(self.partial.len());
            if part.len() > room {
                // Cut at a character boundary so the line stays readable.
                let mut keep = room;
                while keep > 0 && (part[keep] & 0xc0) == 0x80 {
                    keep -= 1;
                }
                self.partial.extend_from_slice(&part[..keep]);
                let line = self.line(&self.partial, at, true);
                out.push(line);
                self.partial.clear();
                self.overlong = end.is_none();
                continue;
            }
            if end.is_none() {
                self.partial.extend_from_slice(part);
                continue;
            }
            let line = if self.partial.is_empty() {
                self.line(part, at, false)
            } else {
                self.partial.extend_from_slice(part);
                let line = self.line(&self.partial, at, false);
                self.partial.clear();
                line
            };
            out.push(line);
        }
    }

    /// What is left when the source ends: a last line without its newline.
    pub fn finish(&mut self, at: Timestamp, out: &mut Vec<LogLine>) {
        if !self.partial.is_empty() {
            let line = self.line(&self.partial, at, false);
            out.push(line);
            self.partial.clear();
        }
        self.overlong = false;
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Reads `reader` to its end, sending lines in batches. `false`: nobody
/// listens any more.
async fn pump(
    reader: &mut (impl AsyncRead + Unpin),
    lines: &mut Lines,
    buffer: &mut [u8],
    updates: &mpsc::Sender<Vec<LogLine>>,
) -> std::io::Result<bool> {
    let mut batch = Vec::new();
    loop {
        let n = reader.read(buffer).await?;
        if n == 0 {
            if !batch.is_empty() && updates.send(batch).await.is_err() {
                return Ok(false);
            }
            return Ok(true);
        }
        let now = lines.now();
        lines.feed(&buffer[..n], now, &mut batch);
        if batch.len() >= BATCH && updates.send(std::mem::take(&mut batch)).await.is_err() {
            return Ok(false);
        }
        // Hand over what there is whenever the reader has to wait.
        if n < buffer.len()
            && !batch.is_empty()
            && updates.send(std::mem::take(&mut batch)).await.is_err()
        {
            return Ok(false);
        }
    }
}

/// Starts following `source`; its lines arrive in batches.
pub fn spawn(
    source: LogSource,
    clock: ReleaseClock,
    updates: mpsc::Sender<Vec<LogLine>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = Lines::new(source.label()).stamped_by(clock);
        let mut buffer = vec![0u8; 256 * 1024];
        let ended = match &source {
            LogSource::Stdin => {
                let mut stdin = tokio::io::stdin();
                match pump(&mut stdin, &mut lines, &mut buffer, &updates).await {
                    Ok(true) => "standard input ended".to_string(),
                    Ok(false) => return,
                    Err(err) => format!("standard input failed: {err}"),
                }
            }
            LogSource::Command(argv) => {
                match run_command(argv, &mut lines, &mut buffer, &updates).await {
                    Some(ended) => ended,
                    None => return,
                }
            }
            LogSource::File(path) => {
                follow_file(path, &mut lines, &mut buffer, &updates).await;
                return;
            }
        };
        let mut last = Vec::new();
        lines.finish(lines.now(), &mut last);
        last.push(lines.note(Level::Warn, ended));
        let _ = updates.send(last).await;
    })
}

async fn run_command(
    argv: &[String],
    lines: &mut Lines,
    buffer: &mut [u8],
    updates: &mpsc::Sender<Vec<LogLine>>,
) -> Option<String> {
    let mut child = match tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(err) => return Some(format!("cannot run {}: {err}", argv[0])),
    };
    let mut stdout = child.stdout.take()?;
    let stderr = child.stderr.take();
    // Its complaints too: they are what an operator needs when it fails.
    let complaints = updates.clone();
    let label = lines.source.to_string();
    let clock = lines.clock.clone();
    let errors = tokio::spawn(async move {
        if let Some(mut stderr) = stderr {
            let mut lines = Lines::new(label).stamped_by(clock);
            let mut buffer = vec![0u8; 16 * 1024];
            let _ = pump(&mut stderr, &mut lines, &mut buffer, &complaints).await;
            let mut last = Vec::new();
            lines.finish(lines.now(), &mut last);
            let _ = complaints.send(last).await;
        }
    });
    let listening = pump(&mut stdout, lines, buffer, updates).await;
    let _ = errors.await;
    match listening {
        Ok(false) => None,
        Ok(true) => Some(match child.wait().await {
            Ok(status) => format!("{} exited ({status})", argv[0]),
            Err(err) => format!("{} ended: {err}", argv[0]),
        }),
        Err(err) => Some(format!("reading {} failed: {err}", argv[0])),
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// Follows a file like `tail -F`: waits for it to appear, reads what is
/// appended, starts again from the top when it is truncated, and moves to the
/// new file when it is rotated (after reading what the old one still held).
async fn follow_file(
    path: &Path,
    lines: &mut Lines,
    buffer: &mut [u8],
    updates: &mpsc::Sender<Vec<LogLine>>,
) {
    let say = |lines: &Lines, level, text: String| updates.send(vec![lines.note(level, text)]);
    let mut first = true;
    let mut said_missing = false;
    loop {
        let mut file = match tokio::fs::File::open(path).await {
            Ok(file) => file,
            Err(err) => {
                if !said_missing {
                    said_missing = true;
                    let text = format!("waiting for {}: {err}", path.display());
                    if say(lines, Level::Warn, text).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(POLL * 5).await;
                continue;
            }
        };
        said_missing = false;
        let Ok(meta) = file.metadata().await else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        let mut position = 0;
        // A large file is read from near its end; the ring would keep only
        // its last lines anyway.
        if first && meta.len() > FILE_START_MAX {
            position = meta.len() - FILE_START_MAX;
            if file.seek(std::io::SeekFrom::Start(position)).await.is_err() {
                position = 0;
            }
            lines.overlong = true; // the first line is a fragment
        }
        if !first {
            let text = format!("{} was replaced; reading the new file", path.display());
            if say(lines, Level::Info, text).await.is_err() {
                return;
            }
        }
        first = false;
        let mut open = OpenFile {
            path,
            file,
            identity: identity(&meta),
            position,
        };
        if open
            .read_until_replaced(lines, buffer, updates)
            .await
            .is_err()
        {
            return;
        }
    }
}

/// A followed file, open.
struct OpenFile<'a> {
    path: &'a Path,
    file: tokio::fs::File,
    /// The file opened (device, inode): another at the path is a rotation.
    identity: (u64, u64),
    /// How far it has been read.
    position: u64,
}

impl OpenFile<'_> {
    /// Reads what is appended until the file is rotated away or cannot be
    /// read; from its start again when it is truncated. `Err` when nobody
    /// listens any more.
    async fn read_until_replaced(
        &mut self,
        lines: &mut Lines,
        buffer: &mut [u8],
        updates: &mpsc::Sender<Vec<LogLine>>,
    ) -> Result<(), Gone> {
        let path = self.path;
        loop {
            match pump(&mut self.file, lines, buffer, updates).await {
                Ok(true) => {}
                Ok(false) => return Err(Gone),
                Err(_) => return Ok(()),
            }
            self.position = self.file.stream_position().await.unwrap_or(self.position);
            tokio::time::sleep(POLL).await;
            match tokio::fs::metadata(path).await {
                // Rotated: finish the old file (already read), open the new.
                Ok(now) if identity(&now) != self.identity => {
                    let _ = pump(&mut self.file, lines, buffer, updates).await;
                    let mut last = Vec::new();
                    lines.finish(lines.now(), &mut last);
                    if !last.is_empty() && updates.send(last).await.is_err() {
                        return Err(Gone);
                    }
                    return Ok(());
                }
                // Truncated: start again from the top.
                Ok(now) if now.len() < self.position => {
                    let text = format!("{} was truncated; reading from its start", path.display());
                    let said = vec![lines.note(Level::Info, text)];
                    if updates.send(said).await.is_err() {
                        return Err(Gone);
                    }
                    if self.file.seek(std::io::SeekFrom::Start(0)).await.is_err() {
                        return Ok(());
                    }
                    self.position = 0;
                }
                Ok(_) => {}
                // Gone for now (mid-rotation): keep reading the open file.
                Err(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut lines = Lines::new("t".into());
        let mut out = Vec::new();
        for chunk in chunks {
            lines.feed(chunk, Timestamp::UNIX_EPOCH, &mut out);
        }
        lines.finish(Timestamp::UNIX_EPOCH, &mut out);
        out.into_iter().map(|l| l.message).collect()
    }

    #[test]
    fn lines_come_out_whatever_the_chunking() {
        let text = b"first\r\nsecond \x1b[31mred\x1b[0m\nthird without newline";
        let expected = ["first", "second red", "third without newline"];
        assert_eq!(feed_all(&[text]), expected);
        let ones: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed_all(&ones), expected);
    }

    #[test]
    fn an_overlong_line_is_cut_and_the_next_is_whole() {
        let mut text = "é".repeat(MAX_LINE).into_bytes();
        text.extend_from_slice(b"\nnext\n");
        for size in [1000, 7, text.len()] {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            let out = feed_all(&chunks);
            assert_eq!(out.len(), 2, "{size}");
            assert!(out[0].ends_with('…') && out[0].len() <= MAX_LINE + 3);
            assert_eq!(out[1], "next");
        }
    }

    #[test]
    fn levels_are_read_from_what_lines_say() {
        for (line, level) in [
            ("2026-11-22T10:00:00Z ERROR payment failed", Level::Error),
            ("[WARN] slow query", Level::Warn),
            ("level=debug msg=\"cache miss\"", Level::Debug),
            ("[DBG] pool size 4", Level::Debug),
            (r#"{"level":"error","msg":"boom"}"#, Level::Error),
            (
                "E1122 10:00:00.000000 1 controller.go:42] sync failed",
                Level::Error,
            ),
            ("W1122 10:00:00.000000 1 x.go:1] hmm", Level::Warn),
            ("no error found in 12 checks", Level::Info),
            ("GET /healthz 200", Level::Info),
        ] {
            assert_eq!(level_of(line), level, "{line}");
        }
    }

    #[test]
    fn commands_split_like_a_shell_without_one() {
        assert_eq!(
            LogSource::command("kubectl logs -f 'deploy/checkout api' --since=5m").unwrap(),
            LogSource::Command(vec![
                "kubectl".into(),
                "logs".into(),
                "-f".into(),
                "deploy/checkout api".into(),
                "--since=5m".into()
            ])
        );
        // `;` and `$(...)` are words, not a shell's doing.
        let LogSource::Command(argv) = LogSource::command("echo hi; rm -rf $(pwd)").unwrap() else {
            panic!()
        };
        assert_eq!(argv, ["echo", "hi;", "rm", "-rf", "$(pwd)"]);
        assert!(LogSource::command("tail -f 'open").is_err());
        assert!(LogSource::command("  ").is_err());
    }
}

#[cfg(test)]
mod live {
    use super::*;

    async fn next_lines(rx: &mut mpsc::Receiver<Vec<LogLine>>) -> Vec<String> {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(lines)) => lines.into_iter().map(|l| l.message).collect(),
            other => panic!("no lines: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_file_is_followed_through_appends_truncation_and_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let task = spawn(LogSource::File(path.clone()), ReleaseClock::default(), tx);
        assert_eq!(next_lines(&mut rx).await, ["one", "two"]);

        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"three\n").unwrap();
        assert_eq!(next_lines(&mut rx).await, ["three"]);

        std::fs::write(&path, "again\n").unwrap();
        let note = next_lines(&mut rx).await;
        assert!(note[0].contains("truncated"), "{note:?}");
        assert_eq!(next_lines(&mut rx).await, ["again"]);

        std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        std::fs::write(&path, "rotated\n").unwrap();
        let note = next_lines(&mut rx).await;
        assert!(note[0].contains("replaced"), "{note:?}");
        assert_eq!(next_lines(&mut rx).await, ["rotated"]);
        task.abort();
    }

    /// The release runs on a simulator's virtual clock, far from the wall
    /// clock: the command's lines, and shipdeck's note that it ended, are
    /// stamped with the release's time as they arrive.
    #[tokio::test]
    async fn a_command_runs_without_a_shell_and_says_when_it_ends_on_the_release_clock() {
        let (tx, mut rx) = mpsc::channel(16);
        let source = LogSource::command("echo 'one; two' $HOME").unwrap();
        let clock = ReleaseClock::default();
        let virtual_time: Timestamp = "2026-11-24T14:03:10Z".parse().unwrap();
        clock.pace(virtual_time, std::time::Instant::now(), 0.0, None);
        spawn(source, clock, tx);
        let mut seen: Vec<LogLine> = Vec::new();
        while !seen.iter().any(|l| l.message.contains("exited")) {
            match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Some(lines)) => seen.extend(lines),
                other => panic!("no lines: {other:?}"),
            }
        }
        assert_eq!(
            seen[0].message, "one; two $HOME",
            "no shell expanded anything"
        );
        assert!(
            seen.iter().all(|l| l.at == virtual_time),
            "{:?}",
            seen.iter().map(|l| l.at).collect::<Vec<_>>()
        );
    }
}
