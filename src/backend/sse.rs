//! A reader of server-sent events (the `text/event-stream` format) that fits
//! the bytes as they come, in any chunking, and keeps its memory bounded: a
//! line longer than the limit is dropped and reported, never buffered.

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
    /// A line over the limit was dropped, and with it its message.
    Dropped {
        bytes: usize,
    },
}

/// Longest line the reader keeps by default: far above any event shipdeck
/// sends, far below what would hurt.
pub const MAX_LINE: usize = 1024 * 1024;

#[derive(Debug)]
pub struct Reader {
    line: Vec<u8>,
    /// Bytes of an over-long line being skipped, if one is.
    skipping: Option<usize>,
    /// The message being gathered dropped a line: discard it.
    spoiled: bool,
    message: Message,
    has_data: bool,
    max_line: usize,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader::new(MAX_LINE)
    }
}

impl Reader {
    pub fn new(max_line: usize) -> Reader {
        Reader {
            line: Vec::new(),
            skipping: None,
            spoiled: false,
            message: Message::default(),
            has_data: false,
            max_line,
        }
    }

    /// Reads a chunk; complete messages go to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Found>) {
        while !chunk.is_empty() {
            let end = chunk.iter().position(|&b| b == b'\n');
            let (part, rest, complete) = match end {
                Some(i) => (&chunk[..i], &chunk[i + 1..], true),
                None => (chunk, &[][..], false),
            };
            chunk = rest;
            if let Some(skipped) = &mut self.skipping {
                *skipped += part.len() + usize::from(complete);
                if complete {
                    out.push(Found::Dropped { bytes: *skipped });
                    self.skipping = None;
                    self.spoiled = true;
                }
                continue;
            }
            if self.line.len() + part.len() > self.max_line {
                self.skipping = Some(self.line.len() + part.len() + usize::from(complete));
                self.line.clear();
                if complete {
                    out.push(Found::Dropped {
                        bytes: self.skipping.take().unwrap_or(0),
                    });
                    self.spoiled = true;
                }
                continue;
            }
            self.line.extend_from_slice(part);
            if complete {
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, out);
                self.line = line;
                self.line.clear();
            }
        }
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<Found>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            let message = std::mem::take(&mut self.message);
            let has_data = std::mem::replace(&mut self.has_data, false);
            if std::mem::replace(&mut self.spoiled, false) {
                return;
            }
            if has_data || message.event.is_some() {
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
    fn an_overlong_line_is_dropped_with_its_message_and_reading_goes_on() {
        let long = vec![b'x'; 5000];
        let mut stream = b"id: 1\ndata: ".to_vec();
        stream.extend_from_slice(&long);
        stream.extend_from_slice(b"\n\nid: 2\ndata: fine\n\n");
        for size in [7, 100, 10_000] {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            let out = read(&chunks, 1000);
            assert!(
                matches!(out[0], Found::Dropped { bytes } if bytes > 5000),
                "{out:?}"
            );
            assert_eq!(out[1..], [message(None, Some("2"), "fine")]);
        }
    }
}
