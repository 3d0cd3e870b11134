//! A parser of Server-Sent Events as they arrive in chunks of bytes (the HTML standard's
//! event-stream format, <https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream>):
//! the chat's answer and a job's progress are read with `fetch` and a `ReadableStream` (an
//! `EventSource` cannot send the tokens as headers, nor a POST body), so the sidebar parses the
//! stream itself. Pure, so it
//! is tested on the host.

/// One event: its name (`message` when the stream names none) and its data lines joined by `\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field.
    pub event: String,
    /// The `data:` fields.
    pub data: String,
}

/// Collects bytes and yields every event a blank line completes. Lines end with `\n`, `\r\n` or
/// `\r`; a chunk may end anywhere, even inside a UTF-8 character.
#[derive(Clone, Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: String,
    data: Vec<String>,
}

impl SseParser {
    /// Adds a chunk; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n' || *b == b'\r') {
            // A `\r` at the very end may be the first half of `\r\n`: wait for the next chunk.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                break;
            }
            let crlf = self.buffer[end] == b'\r' && self.buffer.get(end + 1) == Some(&b'\n');
            let line: Vec<u8> = self.buffer.drain(..end).collect();
            self.buffer.drain(..if crlf { 2 } else { 1 });
            if let Some(event) = self.line(&String::from_utf8_lossy(&line)) {
                events.push(event);
            }
        }
        events
    }

    /// One line: a field, a comment, or the blank line that dispatches the event.
    fn line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            if self.data.is_empty() {
                self.event.clear();
                return None;
            }
            let event = std::mem::take(&mut self.event);
            return Some(SseEvent {
                event: if event.is_empty() {
                    "message".into()
                } else {
                    event
                },
                data: std::mem::take(&mut self.data).join("\n"),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_owned(),
            "data" => self.data.push(value.to_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole_and_in_order() {
        let stream = "event: run\ndata: {\"run_id\":\"r\"}\n\n: keep-alive\n\nevent: delta\r\ndata: {\"text\":\"안녕\"}\r\n\r\ndata: a\ndata: b\n\n";
        let bytes = stream.as_bytes();
        for cut in 0..bytes.len() {
            let mut parser = SseParser::default();
            let mut events = parser.push(&bytes[..cut]);
            events.extend(parser.push(&bytes[cut..]));
            assert_eq!(events.len(), 3, "cut at {cut}");
            assert_eq!(events[0].event, "run");
            assert_eq!(events[1].data, "{\"text\":\"안녕\"}", "cut at {cut}");
            assert_eq!(
                events[2],
                SseEvent {
                    event: "message".into(),
                    data: "a\nb".into()
                }
            );
        }
    }
}
