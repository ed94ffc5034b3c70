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
    /// The last chunk ended in CR: an LF starting the next one is its pair.
    after_cr: bool,
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
            after_cr: false,
        }
    }

    /// Reads a chunk; complete messages go to `out`. Lines end at CR LF,
    /// LF or CR, as the format allows.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Found>) {
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        while !chunk.is_empty() {
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
                // A message of many lines is bounded as a line is.
                if self.message.data.len() + value.len() > self.max_line {
                    if !self.spoiled {
                        out.push(Found::Dropped {
                            bytes: self.message.data.len() + value.len(),
                        });
                    }
                    self.spoiled = true;
                    self.message.data.clear();
                    return;
                }
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

    #[test]
    fn a_message_of_endless_data_lines_is_bounded() {
        let mut stream = Vec::new();
        for _ in 0..1000 {
            stream.extend_from_slice(b"data: xxxxxxxxxx\n");
        }
        stream.extend_from_slice(b"\ndata: after\n\n");
        let out = read(&[&stream], 100);
        assert!(matches!(out[0], Found::Dropped { .. }), "{out:?}");
        assert_eq!(out[1..], [message(None, None, "after")]);
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
