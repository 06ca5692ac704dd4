//! The streamed answers (`responseMode: streaming`): n8n's captured
//! headers, then one NDJSON line per HTTP chunk (`fixtures/c-stream.*`),
//! written in the same pieces and with the same pauses as n8n.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::answer::Buffers;
use super::Mode;
use crate::fixtures;

/// Appends `line` + `\n` as one HTTP chunk.
fn put_chunked_line(out: &mut Vec<u8>, line: &[u8]) {
    use std::io::Write as _;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{:x}\r\n", line.len() + 1);
    out.extend_from_slice(line);
    out.extend_from_slice(b"\n\r\n");
}

/// n8n's streaming answer: "echo: " then the input, in two begin/item/end
/// blocks `gap` apart (as captured; the capture's second block carries "hi",
/// which becomes the input).
pub(super) async fn echo(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    gap: Duration,
    input: &str,
) -> std::io::Result<bool> {
    let Buffers { out, body: line } = buffers;
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    out.clear();
    for l in fixtures::stream_lines().take(3) {
        put_chunked_line(out, l.as_bytes());
    }
    stream.write_all(out).await?;
    stream.flush().await?;
    tokio::time::sleep(gap).await;
    out.clear();
    for l in fixtures::stream_lines().skip(3).take(3) {
        line.clear();
        match l.split_once(r#""content":"hi""#) {
            Some((before, after)) => {
                line.extend_from_slice(before.as_bytes());
                line.extend_from_slice(br#""content":""#);
                super::answer::put_json_text(line, input);
                line.push(b'"');
                line.extend_from_slice(after.as_bytes());
            }
            None => line.extend_from_slice(l.as_bytes()),
        }
        put_chunked_line(out, line);
    }
    stream.write_all(out).await?;
    stream.write_all(b"0\r\n\r\n").await?;
    Ok(true)
}

/// [`Mode::StreamSteps`]: the two blocks of [`echo`] (the input in the
/// second), then the four blocks of the captured loop, each written as n8n
/// wrote it (one line per HTTP chunk) and `gap` after the block before.
pub(super) async fn steps(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    gap: Duration,
    input: &str,
) -> std::io::Result<bool> {
    let Buffers { out, body: line } = buffers;
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    let mut lines: Vec<&str> = fixtures::stream_lines().collect();
    lines.extend(fixtures::stream_loop_lines());
    for (n, block) in lines.chunks(3).enumerate() {
        if n > 0 {
            tokio::time::sleep(gap).await;
        }
        out.clear();
        for l in block {
            line.clear();
            match l.split_once(r#""content":"hi""#) {
                Some((before, after)) if n == 1 => {
                    line.extend_from_slice(before.as_bytes());
                    line.extend_from_slice(br#""content":""#);
                    super::answer::put_json_text(line, input);
                    line.push(b'"');
                    line.extend_from_slice(after.as_bytes());
                }
                _ => line.extend_from_slice(l.as_bytes()),
            }
            put_chunked_line(out, line);
        }
        stream.write_all(out).await?;
        stream.flush().await?;
    }
    stream.write_all(b"0\r\n\r\n").await?;
    Ok(true)
}

/// The first block of a stream, then the connection drops.
pub(super) async fn cut_off(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
) -> std::io::Result<bool> {
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    for line in fixtures::stream_lines().take(2) {
        buffers.out.clear();
        put_chunked_line(&mut buffers.out, line.as_bytes());
        stream.write_all(&buffers.out).await?;
    }
    stream.flush().await?;
    Ok(false)
}

/// A node failing mid-stream: n8n's `error` line, HTTP 200.
pub(super) async fn error(stream: &mut TcpStream, buffers: &mut Buffers) -> std::io::Result<bool> {
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    buffers.out.clear();
    put_chunked_line(&mut buffers.out, fixtures::ERROR_STREAM_LINE.as_bytes());
    stream.write_all(&buffers.out).await?;
    stream.write_all(b"0\r\n\r\n").await?;
    Ok(true)
}

/// A stream that never ends (items, or one line without a newline) until
/// the client hangs up.
pub(super) async fn endless(
    stream: &mut TcpStream,
    buffers: &mut Buffers,
    mode: &Mode,
) -> std::io::Result<bool> {
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    let begin = fixtures::stream_lines().next().unwrap_or_default();
    buffers.out.clear();
    put_chunked_line(&mut buffers.out, begin.as_bytes());
    stream.write_all(&buffers.out).await?;
    let piece = if *mode == Mode::EndlessStream {
        let item = format!("{{\"type\":\"item\",\"content\":\"{}\"}}", "y".repeat(1000));
        let mut piece = Vec::new();
        put_chunked_line(&mut piece, item.as_bytes());
        piece
    } else {
        format!("{:x}\r\n{}\r\n", 1000, "z".repeat(1000)).into_bytes()
    };
    // Until the client hangs up (the write then fails).
    loop {
        stream.write_all(&piece).await?;
    }
}
