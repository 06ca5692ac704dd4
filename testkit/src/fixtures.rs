//! The captured n8n bytes, read at compile time from `fixtures/`.

/// Header block (up to and including the blank line) of a captured
/// response file whose first bytes are the status line.
pub fn head_of(capture: &str) -> String {
    head(capture).to_owned()
}

/// [`head_of`] without a copy, for the stand-in's answers.
pub(crate) fn head(capture: &str) -> &str {
    match capture.find("\r\n\r\n") {
        Some(end) => &capture[..end + 4],
        None => capture,
    }
}

/// Appends a captured head to `out` with its `Content-Length` set to
/// `length` (n8n's own value would be wrong for any other body); a head
/// without one (chunked) as it is.
pub(crate) fn put_head(out: &mut Vec<u8>, head: &str, length: usize) {
    use std::io::Write as _;
    let Some(at) = head.find("\nContent-Length:") else {
        out.extend_from_slice(head.as_bytes());
        return;
    };
    let line = at + 1;
    let line_end = head[line..].find('\r').map_or(head.len(), |e| line + e);
    out.extend_from_slice(&head.as_bytes()[..line]);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "Content-Length: {length}");
    out.extend_from_slice(&head.as_bytes()[line_end..]);
}

/// [`put_head`] as a string.
pub(crate) fn with_length(head: &str, length: usize) -> String {
    let mut out = Vec::with_capacity(head.len());
    put_head(&mut out, head, length);
    String::from_utf8_lossy(&out).into_owned()
}

/// The Webhook node / Chat Trigger answer with a Respond node (a-echo.txt).
pub const ECHO: &str = include_str!("../fixtures/a-echo.txt");
/// `loadPreviousSession` without a memory node (b-chat-loadprev.txt).
pub const LOAD_PREVIOUS: &str = include_str!("../fixtures/b-chat-loadprev.txt");
/// The headers of a streamed answer (c-stream.headers).
pub const STREAM_HEADERS: &str = include_str!("../fixtures/c-stream.headers");
/// The streamed answer (c-stream.body: headers, then one NDJSON object per line).
pub const STREAM_CAPTURE: &str = include_str!("../fixtures/c-stream.body");

/// The NDJSON lines of the streamed answer, without the headers.
pub fn stream_lines() -> impl Iterator<Item = &'static str> {
    let body = match STREAM_CAPTURE.find("\r\n\r\n") {
        Some(i) => &STREAM_CAPTURE[i + 4..],
        None => STREAM_CAPTURE,
    };
    body.lines().filter(|l| !l.trim().is_empty())
}
/// A streamed answer from a loop: one streaming node run four times, one
/// begin/item/end block per run (c3-stream-tokens.raw.txt).
pub const STREAM_LOOP_CAPTURE: &str = include_str!("../fixtures/c3-stream-tokens.raw.txt");

/// The NDJSON lines of the loop's streamed answer, as n8n sent them: the
/// capture holds the HTTP chunks as Python byte literals, and each line is
/// a `{"type":…}` object ending in `}}` (no content in it has braces).
pub fn stream_loop_lines() -> Vec<&'static str> {
    let mut lines = Vec::new();
    let mut rest = STREAM_LOOP_CAPTURE;
    while let Some(start) = rest.find(r#"{"type":"#) {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        lines.push(&rest[start..start + len + 2]);
        rest = &rest[start + len + 2..];
    }
    lines
}

/// The error answers (d-errors.txt).
pub const ERRORS: &str = include_str!("../fixtures/d-errors.txt");
/// A node failing mid-stream (d3-error-stream.raw.txt).
pub const ERROR_STREAM_LINE: &str = r#"{"type":"error","content":null,"metadata":{"nodeId":"d2000000-0000-4000-8000-000000000002","nodeName":"Boom","runIndex":0,"itemIndex":0}}"#;

/// One response from d-errors.txt, by the path after `=== POST `: the
/// status line and headers as captured, and the body (for chunked captures,
/// the body is empty and must be sent as chunks).
pub fn error_response(path: &str) -> Option<(String, String)> {
    let marker = format!("=== POST {path}\n");
    let start = ERRORS.find(&marker)? + marker.len();
    let rest = &ERRORS[start..];
    let head_end = rest.find("\r\n\r\n")? + 4;
    let head = rest[..head_end].to_owned();
    let after = &rest[head_end..];
    let body_end = after.find("\n=== ").unwrap_or(after.len());
    let body = after[..body_end].trim_end_matches('\n').to_owned();
    Some((head, body))
}

/// A captured multipart upload to a Chat Trigger (`uploads/NN-….request.raw`)
/// and what the workflow saw (`….seen.json`).
pub fn upload_capture(name: &str) -> Option<(Vec<crate::multipart::FormPart>, serde_json::Value)> {
    let (raw, seen): (&[u8], &str) = match name {
        "01-one-png" => (
            include_bytes!("../fixtures/uploads/01-one-png.request.raw"),
            include_str!("../fixtures/uploads/01-one-png.seen.json"),
        ),
        "02-three-files" => (
            include_bytes!("../fixtures/uploads/02-three-files.request.raw"),
            include_str!("../fixtures/uploads/02-three-files.seen.json"),
        ),
        "03-three-files-streaming" => (
            include_bytes!("../fixtures/uploads/03-three-files-streaming.request.raw"),
            include_str!("../fixtures/uploads/03-three-files-streaming.seen.json"),
        ),
        _ => return None,
    };
    // Read as the stand-in reads a request from its socket.
    let crate::n8n::request::Parsed::Complete(request, _) = crate::n8n::request::parse(raw) else {
        return None;
    };
    let parts = request.parts;
    let seen = serde_json::from_str(seen).ok()?;
    Some((parts, seen))
}

/// A 1×1 PNG (463 bytes), the image of the upload captures.
pub const DOT_PNG: &[u8] = include_bytes!("../fixtures/uploads/dot.png");
/// A small PDF, as a file picker would hand it over.
pub const TINY_PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_capture_has_two_blocks_of_three_lines() {
        let lines: Vec<&str> = stream_lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(
            lines[0].starts_with(r#"{"type":"begin""#) && lines[5].starts_with(r#"{"type":"end""#)
        );
        assert!(head_of(ECHO).ends_with("Keep-Alive: timeout=5\r\n\r\n"));
    }

    #[test]
    fn a_head_gets_the_real_length_and_keeps_every_other_byte() {
        let echo = head(ECHO);
        let changed = with_length(echo, 12345);
        assert_eq!(
            changed.replace("Content-Length: 12345\r\n", "Content-Length: 21\r\n"),
            echo
        );
        let chunked = head(STREAM_CAPTURE);
        assert_eq!(with_length(chunked, 7), chunked);
    }

    #[test]
    fn captured_error_bodies_are_n8n_error_json() {
        // The capture redacted install paths in the stack traces, so its
        // Content-Length is off by a few bytes; the stand-in recomputes it.
        for path in ["/webhook/nope", "/webhook/chat-error-last"] {
            let Some((_, body)) = error_response(path) else {
                panic!("{path} missing");
            };
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            assert!(json["message"].is_string(), "{path}: {body}");
        }
        let Some((head, body)) = error_response("/webhook/chat-error") else {
            panic!("chat-error missing");
        };
        assert!(head.contains("Transfer-Encoding: chunked") && body.is_empty());
    }
}
