//! A reader of server-sent events (the `text/event-stream` format) that fits
//! the bytes as they come, in any chunking, and keeps its memory bounded: a
//! line or a message longer than its bound is refused as soon as it passes
//! it, never buffered, and nothing after it is read.

/// One message of the stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The `event:` field; `None` is a plain message (an event envelope).
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// What the reader found in a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Message(Message),
    /// The stream passed a bound: the reason, in words. Nothing more of the
    /// stream is read.
    Refused(String),
}

/// Longest line, and longest message, the reader keeps by default: far
/// above any event shipdeck sends, far below what would hurt.
pub const MAX_LINE: usize = 1024 * 1024;

#[derive(Debug)]
pub struct Reader {
    line: Vec<u8>,
    message: Message,
    has_data: bool,
    max_line: usize,
    /// Messages of these types are held to the smaller bound.
    small: (&'static [&'static str], usize),
    /// Bytes read since the last message came out: comments, blank lines
    /// and fields that make none count too.
    gathered: usize,
    /// A bound was passed: nothing more is read.
    refused: bool,
    /// The last chunk ended in CR: an LF starting the next one is its pair.
    after_cr: bool,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader::new(MAX_LINE)
    }
}

/// Bytes in words: "64 KiB", "1 MiB".
fn size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

impl Reader {
    pub fn new(max_line: usize) -> Reader {
        Reader {
            line: Vec::new(),
            message: Message::default(),
            has_data: false,
            max_line,
            small: (&[], max_line),
            gathered: 0,
            refused: false,
            after_cr: false,
        }
    }

    /// Holds messages whose `event:` is one of `events` to `max` bytes.
    pub fn with_small(mut self, events: &'static [&'static str], max: usize) -> Reader {
        self.small = (events, max.min(self.max_line));
        self
    }

    /// The bound of the message being gathered, and what it is called.
    fn bound(&self) -> (usize, String) {
        match self.message.event.as_deref() {
            Some(event) if self.small.0.contains(&event) => {
                (self.small.1, format!("a `{event}` message"))
            }
            _ => (self.max_line, "a message".to_string()),
        }
    }

    /// Refuses the stream if the line or the message being gathered is
    /// past its bound; true if it is.
    fn past_bound(&mut self, out: &mut Vec<Found>) -> bool {
        let why = if self.line.len() > self.max_line {
            Some(format!(
                "the server sent a stream line longer than {}",
                size(self.max_line)
            ))
        } else {
            let (bound, what) = self.bound();
            let data = self.message.data.len() + self.line.len();
            if data > bound {
                Some(format!(
                    "the server sent {what} larger than {}",
                    size(bound)
                ))
            } else {
                // A message carries its fields' names and an id besides its
                // data, and keep-alives come between: twice the bound.
                (self.gathered > 2 * bound)
                    .then(|| format!("the server sent {} and no message", size(2 * bound)))
            }
        };
        if let Some(why) = why {
            self.refused = true;
            self.line = Vec::new();
            self.message = Message::default();
            out.push(Found::Refused(why));
        }
        self.refused
    }

    /// Reads a chunk; complete messages go to `out`. Lines end at CR LF,
    /// LF or CR, as the format allows.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Found>) {
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        while !chunk.is_empty() && !self.refused {
            let end = chunk.iter().position(|&b| b == b'\n' || b == b'\r');
            let (part, rest, complete) = match end {
                Some(i) => {
                    let mut next = i + 1;
                    if chunk[i] == b'\r' {
                        match chunk.get(next) {
                            Some(b'\n') => next += 1,
                            None => self.after_cr = true,
                            Some(_) => {}
                        }
                    }
                    (&chunk[..i], &chunk[next..], true)
                }
                None => (chunk, &[][..], false),
            };
            chunk = rest;
            // Only what fits under the bound, and one byte more, is kept.
            let room = self.max_line + 1 - self.line.len().min(self.max_line);
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            self.gathered = self.gathered.saturating_add(part.len() + 1);
            if self.past_bound(out) {
                return;
            }
            if complete {
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, out);
                self.line = line;
                self.line.clear();
            }
        }
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<Found>) {
        if line.is_empty() {
            let message = std::mem::take(&mut self.message);
            if std::mem::replace(&mut self.has_data, false) || message.event.is_some() {
                self.gathered = 0;
                out.push(Found::Message(message));
            }
            return;
        }
        if line.starts_with(b":") {
            return; // a comment: the keep-alive
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.message.data.push('\n');
                }
                self.message.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.message.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.message.id = Some(value.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&[u8]], max: usize) -> Vec<Found> {
        let mut reader = Reader::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, &mut out);
        }
        out
    }

    fn message(event: Option<&str>, id: Option<&str>, data: &str) -> Found {
        Found::Message(Message {
            event: event.map(str::to_string),
            id: id.map(str::to_string),
            data: data.to_string(),
        })
    }

    #[test]
    fn messages_come_out_whatever_the_chunking() {
        let stream = b"event: hello\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 7\ndata: x\ndata: y\n\nid: 8\r\ndata:z\r\n\r\n";
        let whole = read(&[stream], 1024);
        let expected = vec![
            message(Some("hello"), None, "{\"a\":1}"),
            message(None, Some("7"), "x\ny"),
            message(None, Some("8"), "z"),
        ];
        assert_eq!(whole, expected);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(read(&bytes, 1024), expected);
        let threes: Vec<&[u8]> = stream.chunks(3).collect();
        assert_eq!(read(&threes, 1024), expected);
    }

    #[test]
    fn bare_cr_ends_lines_too_even_split_from_its_lf() {
        let stream = b"id: 1\rdata: a\r\rid: 2\r\ndata: b\r\n\r\n";
        let expected = vec![message(None, Some("1"), "a"), message(None, Some("2"), "b")];
        for size in [1, 2, 3, 5, stream.len()] {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(read(&chunks, 1024), expected, "{size}");
        }
    }

    fn refused(out: &[Found]) -> &str {
        match out.last() {
            Some(Found::Refused(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_message_of_endless_data_lines_is_refused_once_past_the_bound() {
        let mut stream = Vec::new();
        for _ in 0..1000 {
            stream.extend_from_slice(b"data: xxxxxxxxxx\n");
        }
        let out = read(&[&stream, b"\ndata: after\n\n"], 100);
        assert_eq!(out.len(), 1, "nothing after the refusal: {out:?}");
        assert!(refused(&out).contains("a message larger than 100 bytes"));
    }

    #[test]
    fn an_endless_line_is_refused_before_it_ends_in_any_chunking() {
        for head in [&b"data: "[..], b"event: ", b": ", b"id: "] {
            for size in [7, 100, 10_000] {
                let mut reader = Reader::new(1000);
                let mut out = Vec::new();
                reader.feed(b"data: ok\n\n", &mut out);
                reader.feed(head, &mut out);
                let chunk = vec![b'x'; size];
                for _ in 0..(2000 / size + 1) {
                    reader.feed(&chunk, &mut out);
                }
                assert_eq!(out[0], message(None, None, "ok"));
                assert!(
                    refused(&out).contains("line longer than 1000 bytes"),
                    "{out:?}"
                );
                assert_eq!(reader.line.capacity().min(2000), reader.line.capacity());
            }
        }
    }

    #[test]
    fn a_small_message_type_has_the_small_bound() {
        let mut reader = Reader::new(1 << 20).with_small(&["hello"], 1024);
        let mut out = Vec::new();
        reader.feed(b"event: hello\ndata: ", &mut out);
        reader.feed(&[b'x'; 2000], &mut out);
        assert!(
            refused(&out).contains("a `hello` message larger than 1 KiB"),
            "{out:?}"
        );
        let out = read(&[b"event: tick\ndata: ", &[b'x'; 2000], b"\n\n"], 1 << 20);
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0], Found::Message(_)));
    }

    #[test]
    fn fields_that_make_no_message_are_bounded_too() {
        let stream = b"id: 1\n".repeat(100);
        let out = read(&[&stream], 100);
        assert!(
            refused(&out).contains("200 bytes and no message"),
            "{out:?}"
        );
        let stream = b":\n\n".repeat(10);
        assert_eq!(
            read(&[&stream, b"data: a\n\n"], 100),
            [message(None, None, "a")]
        );
    }
}
