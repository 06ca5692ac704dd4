//! The answers that are one HTTP response written at once: the echo in its
//! forms, n8n's captured errors, history, a redirect, a cut-off body; and
//! [`respond`], which picks the writer for a [`Mode`].
//!
//! Every head is a captured n8n head (`fixtures/`) with only its
//! `Content-Length` changed, so a client sees n8n's exact header lines.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{stream, Mode};
use crate::fixtures;

/// The buffers one connection writes its answers into; reused, so that a
/// keep-alive connection stops allocating once they have grown.
#[derive(Debug, Default)]
pub(super) struct Buffers {
    /// The bytes to send.
    pub(super) out: Vec<u8>,
    /// A body (or line) being built, whose length the head needs first.
    pub(super) body: Vec<u8>,
}

/// Writes the answer for `mode`; returns whether the connection stays open.
pub(super) async fn respond(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    mode: &Mode,
    input: &str,
) -> std::io::Result<bool> {
    match mode {
        Mode::Echo | Mode::Flaky { .. } | Mode::EchoArray | Mode::PlainText | Mode::InvalidJson => {
            complete(stream, buffers, mode, input).await
        }
        Mode::Stream { gap } => stream::echo(stream, buffers, *gap, input).await,
        Mode::StreamSteps { gap } => stream::steps(stream, buffers, *gap, input).await,
        Mode::StreamCutOff => stream::cut_off(stream, buffers).await,
        Mode::StreamError => stream::error(stream, buffers).await,
        Mode::Error500 | Mode::NotRegistered | Mode::EmptyBody => {
            captured_error(stream, mode).await
        }
        Mode::CutOff => cut_off(stream, buffers).await,
        Mode::Hang => std::future::pending().await,
        Mode::Redirect { location } => redirect(stream, location).await,
        Mode::Huge { bytes } => huge(stream, buffers, *bytes).await,
        Mode::EndlessStream | Mode::EndlessLine => stream::endless(stream, buffers, mode).await,
        // Answered by the connection (it needs the executions).
        Mode::RespondToChat(_) => Ok(false),
    }
}

/// Appends `s` as the inside of a JSON string: escaped, without the quotes.
pub(super) fn put_json_text(out: &mut Vec<u8>, s: &str) {
    let start = out.len();
    // Writing to a Vec cannot fail, and a `&str` always serializes.
    let _ = serde_json::to_writer(&mut *out, s);
    out.pop();
    out.remove(start);
}

/// Sends `buffers.body` after the echo capture's head (one write, as n8n).
async fn send_with_echo_head(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    plain_text: bool,
) -> std::io::Result<bool> {
    let Buffers { out, body } = buffers;
    out.clear();
    let head = fixtures::head(fixtures::ECHO);
    if plain_text {
        let head = head.replace(
            "application/json; charset=utf-8",
            "text/plain; charset=utf-8",
        );
        fixtures::put_head(out, &head, body.len());
    } else {
        fixtures::put_head(out, head, body.len());
    }
    out.extend_from_slice(body);
    stream.write_all(out).await?;
    Ok(true)
}

/// A complete answer with n8n's captured headers: the echo as JSON, as an
/// array, as plain text, or a body that is not JSON.
async fn complete(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    mode: &Mode,
    input: &str,
) -> std::io::Result<bool> {
    let body = &mut buffers.body;
    body.clear();
    match mode {
        Mode::EchoArray => {
            body.extend_from_slice(br#"[{"output":"echo: "#);
            put_json_text(body, input);
            body.extend_from_slice(br#""}]"#);
        }
        Mode::PlainText => {
            body.extend_from_slice(b"echo: ");
            body.extend_from_slice(input.as_bytes());
        }
        Mode::InvalidJson => body.extend_from_slice(br#"{"output": "unterminated"#),
        _ => {
            body.extend_from_slice(br#"{"output":"echo: "#);
            put_json_text(body, input);
            body.extend_from_slice(br#""}"#);
        }
    }
    send_with_echo_head(stream, buffers, *mode == Mode::PlainText).await
}

/// `{"output":"xxx…"}` with an answer of `bytes` bytes.
async fn huge(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    bytes: usize,
) -> std::io::Result<bool> {
    let body = &mut buffers.body;
    body.clear();
    body.extend_from_slice(br#"{"output":""#);
    body.resize(body.len() + bytes, b'x');
    body.extend_from_slice(br#""}"#);
    send_with_echo_head(stream, buffers, false).await
}

/// Answers `loadPreviousSession` like n8n with a memory node.
pub(super) async fn history(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    history: &[(bool, String)],
) -> std::io::Result<bool> {
    let items: Vec<serde_json::Value> = history
        .iter()
        .map(|(human, text)| {
            let kind = if *human { "HumanMessage" } else { "AIMessage" };
            serde_json::json!({
                "lc": 1, "type": "constructor", "id": ["langchain_core", "messages", kind],
                "kwargs": {"content": text, "additional_kwargs": {}, "response_metadata": {}}
            })
        })
        .collect();
    let Buffers { out, body } = buffers;
    body.clear();
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *body, &serde_json::json!({ "data": items }));
    out.clear();
    fixtures::put_head(out, fixtures::head(fixtures::LOAD_PREVIOUS), body.len());
    out.extend_from_slice(body);
    stream.write_all(out).await?;
    Ok(true)
}

/// One of n8n's captured error answers (500, 404 not registered, empty).
async fn captured_error(stream: &mut TcpStream, mode: &Mode) -> std::io::Result<bool> {
    let path = match mode {
        Mode::Error500 => "/webhook/chat-error-last",
        Mode::NotRegistered => "/webhook/nope",
        _ => "/webhook/chat-error",
    };
    let Some((head, body)) = fixtures::error_response(path) else {
        return Ok(false);
    };
    let bytes = if head.contains("Transfer-Encoding: chunked") {
        format!("{head}0\r\n\r\n")
    } else {
        format!("{}{body}", fixtures::with_length(&head, body.len()))
    };
    stream.write_all(bytes.as_bytes()).await?;
    Ok(true)
}

/// Headers and half a body, then the connection closes.
async fn cut_off(stream: &mut TcpStream, buffers: &mut Buffers) -> std::io::Result<bool> {
    let out = &mut buffers.out;
    out.clear();
    fixtures::put_head(out, fixtures::head(fixtures::ECHO), 100);
    out.extend_from_slice(br#"{"output":"echo: "#);
    stream.write_all(out).await?;
    stream.flush().await?;
    Ok(false)
}

/// HTTP 302 to `location`.
async fn redirect(stream: &mut TcpStream, location: &str) -> std::io::Result<bool> {
    let head = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
         Connection: keep-alive\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_is_escaped_like_a_json_string() {
        for s in ["hi", "a\"b\\c", "line\nbreak\t", "héllo ✓", "\u{1}", ""] {
            let mut out = b"x".to_vec();
            put_json_text(&mut out, s);
            let quoted = serde_json::Value::String(s.to_owned()).to_string();
            assert_eq!(out, format!("x{}", &quoted[1..quoted.len() - 1]).as_bytes());
        }
    }
}
