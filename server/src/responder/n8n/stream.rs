//! n8n's streaming answers: newline-delimited JSON, read as it arrives.
//!
//! With `responseMode: streaming`, n8n answers 200 with chunked
//! `application/json` where each line is
//! `{"type":"begin"|"item"|"end"|"error","content"?:string,"metadata":{…}}`.
//! Several begin/item/end blocks per answer are normal (one per responding
//! node or loop run). Lines that are not JSON are taken as text, as n8n's
//! own chat widget does. Bytes may be split anywhere (even inside a UTF-8
//! character), so the parser buffers up to each newline.

use serde::Deserialize;

/// Something a stream line means to the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Text to append to the answer.
    Text(String),
    /// The workflow failed; `content` if n8n said anything.
    Error(Option<String>),
    /// A node began a block of the answer (one per responding node, or per
    /// run of it in a loop): a step of the workflow.
    Begin(Node),
    /// That block ended.
    End(Node),
}

/// Which node (and which run of it) a `begin`/`end` line is about, from its
/// `metadata`. Lines without a node id or name are not steps.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// n8n's node id (a UUID).
    pub node_id: String,
    /// The node's name in the editor — internal: never shown to visitors
    /// unless the operator says so.
    pub node_name: String,
    /// Which run of the node (a loop runs it again: 0, 1, 2, …).
    #[serde(default)]
    pub run_index: u64,
    /// Which input item.
    #[serde(default)]
    pub item_index: u64,
}

#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    content: Option<serde_json::Value>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

fn node_of(metadata: Option<serde_json::Value>) -> Option<Node> {
    serde_json::from_value(metadata?).ok()
}

const STREAM_TYPES: [&str; 4] = ["begin", "item", "end", "error"];

/// Whether `line` (without its newline) is a line of n8n's stream format.
/// Used to tell a streamed answer from an ordinary JSON one by its first line.
pub fn is_stream_line(line: &[u8]) -> bool {
    serde_json::from_slice::<Line>(trim(line))
        .is_ok_and(|l| STREAM_TYPES.contains(&l.kind.as_str()))
}

/// Incremental parser: feed bytes with [`NdjsonParser::push`], then call
/// [`NdjsonParser::finish`] at the end of the body.
///
/// A line is buffered until its newline arrives, so an endless line would
/// grow without bound: past `max_line` bytes the parser drops it and
/// reports [`NdjsonParser::overflowed`]; the caller ends the answer.
#[derive(Debug)]
pub struct NdjsonParser {
    pending: Vec<u8>,
    max_line: usize,
    overflowed: bool,
}

impl Default for NdjsonParser {
    fn default() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }
}

/// The line bound of [`NdjsonParser::new`].
pub const DEFAULT_MAX_LINE: usize = 4 * 1024 * 1024;

impl NdjsonParser {
    /// A parser with nothing buffered and the default line bound.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser whose lines may be at most `max_line` bytes.
    pub fn with_max_line(max_line: usize) -> Self {
        NdjsonParser {
            pending: Vec::new(),
            max_line,
            overflowed: false,
        }
    }

    /// Whether a line grew past the bound (it was dropped; the stream is
    /// not to be trusted further).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Consumes `bytes`, appending the events of every completed line to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) {
        if self.overflowed {
            return;
        }
        // What is pending has no newline (complete lines were taken): only
        // the new bytes are searched, so a long line arriving in small
        // pieces costs its length once, not once per piece.
        let mut from = self.pending.len();
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(offset) = self.pending[from..].iter().position(|&b| b == b'\n') {
            let end = from + offset;
            if let Some(event) = parse_line(&self.pending[start..end]) {
                out.push(event);
            }
            start = end + 1;
            from = start;
        }
        self.pending.drain(..start);
        if self.pending.len() > self.max_line {
            self.pending = Vec::new();
            self.overflowed = true;
        }
    }

    /// Ends the stream: a last line without a newline still counts.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let rest = std::mem::take(&mut self.pending);
        if let Some(event) = parse_line(&rest) {
            out.push(event);
        }
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &line[start..end]
}

fn parse_line(line: &[u8]) -> Option<StreamEvent> {
    let line = trim(line);
    if line.is_empty() {
        return None;
    }
    match serde_json::from_slice::<Line>(line) {
        Ok(l) => match l.kind.as_str() {
            "item" => match l.content {
                Some(serde_json::Value::String(s)) => Some(StreamEvent::Text(s)),
                Some(serde_json::Value::Null) | None => None,
                Some(other) => Some(StreamEvent::Text(other.to_string())),
            },
            "error" => Some(StreamEvent::Error(match l.content {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
                _ => None,
            })),
            "begin" => node_of(l.metadata).map(StreamEvent::Begin),
            "end" => node_of(l.metadata).map(StreamEvent::End),
            _ => None,
        },
        Err(_) => Some(StreamEvent::Text(
            String::from_utf8_lossy(line).into_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_STREAM: &str = concat!(
        r#"{"type":"begin","metadata":{"nodeId":"c3","nodeName":"Stream part 1","itemIndex":0,"runIndex":0,"timestamp":1}}"#,
        "\n",
        r#"{"type":"item","content":"echo: ","metadata":{"nodeId":"c3","nodeName":"Stream part 1","itemIndex":0,"runIndex":0,"timestamp":1}}"#,
        "\n",
        r#"{"type":"end","metadata":{"nodeId":"c3","nodeName":"Stream part 1","itemIndex":0,"runIndex":0,"timestamp":1}}"#,
        "\n",
        r#"{"type":"begin","metadata":{"nodeId":"c6","nodeName":"Stream part 2","itemIndex":0,"runIndex":0,"timestamp":2}}"#,
        "\n",
        r#"{"type":"item","content":"hi","metadata":{"nodeId":"c6","nodeName":"Stream part 2","itemIndex":0,"runIndex":0,"timestamp":2}}"#,
        "\n",
        r#"{"type":"end","metadata":{"nodeId":"c6","nodeName":"Stream part 2","itemIndex":0,"runIndex":0,"timestamp":2}}"#,
        "\n",
    );

    fn events_split_at(bytes: &[u8], cuts: &[usize]) -> Vec<StreamEvent> {
        let mut parser = NdjsonParser::new();
        let mut out = Vec::new();
        let mut last = 0;
        for &cut in cuts {
            parser.push(&bytes[last..cut], &mut out);
            last = cut;
        }
        parser.push(&bytes[last..], &mut out);
        parser.finish(&mut out);
        out
    }

    fn node(id: &str, name: &str) -> Node {
        Node {
            node_id: id.into(),
            node_name: name.into(),
            run_index: 0,
            item_index: 0,
        }
    }

    #[test]
    fn several_blocks_give_their_steps_and_items_in_order() {
        let events = events_split_at(C_STREAM.as_bytes(), &[]);
        let (one, two) = (node("c3", "Stream part 1"), node("c6", "Stream part 2"));
        assert_eq!(
            events,
            [
                StreamEvent::Begin(one.clone()),
                StreamEvent::Text("echo: ".into()),
                StreamEvent::End(one),
                StreamEvent::Begin(two.clone()),
                StreamEvent::Text("hi".into()),
                StreamEvent::End(two),
            ]
        );
    }

    #[test]
    fn a_stream_in_one_byte_pieces_gives_the_same_events() {
        let bytes = C_STREAM.as_bytes();
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(events_split_at(bytes, &cuts), events_split_at(bytes, &[]));
    }

    #[test]
    fn begin_and_end_without_a_node_are_no_steps() {
        let body = concat!(
            r#"{"type":"begin","metadata":{}}"#,
            "\n",
            r#"{"type":"begin"}"#,
            "\n",
            r#"{"type":"end","metadata":{"nodeId":"x"}}"#,
            "\n",
            r#"{"type":"begin","metadata":{"nodeId":"x","nodeName":"Loop","runIndex":3}}"#,
            "\n",
        );
        assert_eq!(
            events_split_at(body.as_bytes(), &[]),
            [StreamEvent::Begin(Node {
                run_index: 3,
                ..node("x", "Loop")
            })]
        );
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = C_STREAM.as_bytes();
        let whole = events_split_at(bytes, &[]);
        for cut in 0..=bytes.len() {
            assert_eq!(events_split_at(bytes, &[cut]), whole, "cut at {cut}");
        }
        for step in [1, 3, 7, 64] {
            let cuts: Vec<usize> = (0..bytes.len()).step_by(step).collect();
            assert_eq!(events_split_at(bytes, &cuts), whole, "step {step}");
        }
    }

    #[test]
    fn multibyte_text_split_inside_a_character() {
        let line = "{\"type\":\"item\",\"content\":\"grüße 👋\"}\n";
        let bytes = line.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(
                events_split_at(bytes, &[cut]),
                [StreamEvent::Text("grüße 👋".into())]
            );
        }
    }

    #[test]
    fn error_chunks_and_non_json_lines() {
        let body = concat!(
            r#"{"type":"error","content":null,"metadata":{"nodeId":"d2","nodeName":"Boom","runIndex":0,"itemIndex":0}}"#,
            "\n",
            "plain words\n",
            r#"{"type":"error","content":"boom"}"#,
        );
        assert_eq!(
            events_split_at(body.as_bytes(), &[]),
            [
                StreamEvent::Error(None),
                StreamEvent::Text("plain words".into()),
                StreamEvent::Error(Some("boom".into()))
            ]
        );
    }

    #[test]
    fn an_endless_line_is_dropped_at_the_bound() {
        let mut parser = NdjsonParser::with_max_line(64);
        let mut out = Vec::new();
        parser.push(b"{\"type\":\"item\",\"content\":\"ok\"}\n", &mut out);
        assert_eq!(out, [StreamEvent::Text("ok".into())]);
        for _ in 0..10 {
            parser.push(&[b'x'; 16], &mut out);
        }
        assert!(parser.overflowed());
        assert!(parser.pending.len() <= 64, "the buffer stays bounded");
        parser.push(b"\n{\"type\":\"item\",\"content\":\"late\"}\n", &mut out);
        assert_eq!(out.len(), 1, "nothing after an overflow");
    }

    #[test]
    fn recognises_stream_lines() {
        assert!(is_stream_line(br#"{"type":"begin","metadata":{}}"#));
        assert!(is_stream_line(b"  {\"type\":\"item\",\"content\":\"x\"}\r"));
        assert!(!is_stream_line(br#"{"output":"echo: hi"}"#));
        assert!(!is_stream_line(br#"{"type":"message"}"#));
        assert!(!is_stream_line(b"hello"));
    }
}
