//! The stand-in's bytes on the wire, checked against the captures of a real
//! n8n 2.8.4 (`fixtures/`), over a raw socket: what it writes for every
//! answer mode, and how it reads requests (keep-alive, pipelined, split into
//! single bytes, multipart). The expected bytes are built from the fixture
//! files here, not by the stand-in's own code, so a change in how it parses
//! or answers cannot also change what it is compared with.

use std::time::Duration;

use testkit::fixtures;
use testkit::n8n::{Mode, StandIn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn send_message(text: &str) -> String {
    let body = serde_json::json!({"action": "sendMessage", "sessionId": "s1", "chatInput": text});
    post("/webhook/chat", &body.to_string())
}

/// A captured head whose `Content-Length` is set to `length`.
fn with_length(head: &str, length: usize) -> String {
    head.split("\r\n")
        .map(|l| {
            if l.starts_with("Content-Length:") {
                format!("Content-Length: {length}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn chunk(bytes: &str) -> String {
    format!("{:x}\r\n{bytes}\r\n", bytes.len())
}

/// Reads exactly `n` bytes (or fails after 5 s).
async fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut got))
        .await
        .expect("answer in time")
        .expect("answer complete");
    got
}

/// Reads until the stand-in closes the connection.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("closed in time")
        .expect("read");
    got
}

/// Nothing more arrives for a moment (the answer had no extra bytes).
async fn assert_quiet(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let more = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await;
    assert!(more.is_err(), "unexpected bytes after the answer: {more:?}");
}

async fn answer_to(n8n: &StandIn, request: &str, expected: &str) {
    let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("send");
    let got = read_exactly(&mut stream, expected.len()).await;
    assert_eq!(String::from_utf8_lossy(&got), expected);
    assert_quiet(&mut stream).await;
}

fn echo_head() -> String {
    fixtures::head_of(fixtures::ECHO)
}

#[tokio::test]
async fn echo_hi_is_the_capture_byte_for_byte() {
    let n8n = StandIn::start().await.expect("stand-in");
    answer_to(&n8n, &send_message("hi"), fixtures::ECHO).await;
}

#[tokio::test]
async fn load_previous_without_history_is_the_capture_byte_for_byte() {
    let n8n = StandIn::start().await.expect("stand-in");
    let body = r#"{"action":"loadPreviousSession","sessionId":"s1"}"#;
    answer_to(&n8n, &post("/webhook/chat", body), fixtures::LOAD_PREVIOUS).await;
}

#[tokio::test]
async fn complete_answers_keep_the_captured_head() {
    let n8n = StandIn::start().await.expect("stand-in");
    let cases: [(Mode, String); 4] = [
        (Mode::EchoArray, r#"[{"output":"echo: a\"b"}]"#.to_owned()),
        (Mode::PlainText, "echo: a\"b".to_owned()),
        (Mode::InvalidJson, r#"{"output": "unterminated"#.to_owned()),
        (
            Mode::Huge { bytes: 5000 },
            format!(r#"{{"output":"{}"}}"#, "x".repeat(5000)),
        ),
    ];
    for (mode, body) in cases {
        let mut head = with_length(&echo_head(), body.len());
        if mode == Mode::PlainText {
            head = head.replace("application/json", "text/plain");
        }
        n8n.set_mode(mode);
        answer_to(&n8n, &send_message("a\"b"), &format!("{head}{body}")).await;
    }
}

#[tokio::test]
async fn a_stream_with_steps_is_the_captured_chunks_of_both_captures() {
    let loop_lines = fixtures::stream_loop_lines();
    assert_eq!(loop_lines.len(), 12, "four runs of begin/item/end");
    assert!(loop_lines[4].contains(r#""content":"hello ","#));
    assert!(loop_lines[9].contains(r#""runIndex":3"#));
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::StreamSteps {
        gap: Duration::from_millis(1),
    });
    let mut expected = fixtures::STREAM_HEADERS.to_owned();
    for line in fixtures::stream_lines().chain(loop_lines) {
        expected.push_str(&chunk(&format!("{line}\n")));
    }
    expected.push_str("0\r\n\r\n");
    answer_to(&n8n, &send_message("hi"), &expected).await;
}

#[tokio::test]
async fn a_stream_is_the_captured_chunks() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_millis(1),
    });
    let mut expected = fixtures::STREAM_HEADERS.to_owned();
    for line in fixtures::stream_lines() {
        expected.push_str(&chunk(&format!("{line}\n")));
    }
    expected.push_str("0\r\n\r\n");
    // The capture's second block carries "hi": the input, as sent.
    answer_to(&n8n, &send_message("hi"), &expected).await;

    n8n.set_mode(Mode::StreamError);
    let line = format!("{}\n", fixtures::ERROR_STREAM_LINE);
    let expected = format!("{}{}0\r\n\r\n", fixtures::STREAM_HEADERS, chunk(&line));
    answer_to(&n8n, &send_message("hi"), &expected).await;
}

#[tokio::test]
async fn captured_errors_are_sent_as_captured() {
    let n8n = StandIn::start().await.expect("stand-in");
    for (mode, path) in [
        (Mode::Error500, "/webhook/chat-error-last"),
        (Mode::NotRegistered, "/webhook/nope"),
        (Mode::EmptyBody, "/webhook/chat-error"),
    ] {
        let (head, body) = fixtures::error_response(path).expect("capture");
        let expected = if head.contains("Transfer-Encoding: chunked") {
            format!("{head}0\r\n\r\n")
        } else {
            format!("{}{body}", with_length(&head, body.len()))
        };
        n8n.set_mode(mode);
        answer_to(&n8n, &send_message("hi"), &expected).await;
    }
}

#[tokio::test]
async fn cut_offs_close_after_their_bytes() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::CutOff);
    let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
    stream
        .write_all(send_message("hi").as_bytes())
        .await
        .expect("send");
    let expected = format!("{}{{\"output\":\"echo: ", with_length(&echo_head(), 100));
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut stream).await),
        expected
    );

    n8n.set_mode(Mode::StreamCutOff);
    let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
    stream
        .write_all(send_message("hi").as_bytes())
        .await
        .expect("send");
    let mut expected = fixtures::STREAM_HEADERS.to_owned();
    for line in fixtures::stream_lines().take(2) {
        expected.push_str(&chunk(&format!("{line}\n")));
    }
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut stream).await),
        expected
    );
}

#[tokio::test]
async fn a_redirect_names_its_location() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Redirect {
        location: "http://127.0.0.1:9/elsewhere".to_owned(),
    });
    let expected = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\n\
                    Content-Length: 0\r\nConnection: keep-alive\r\n\r\n";
    answer_to(&n8n, &send_message("hi"), expected).await;
}

/// Keep-alive and pipelining: two requests in one write get two answers,
/// in order, on the same connection; then a third one later.
#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
    let two = format!("{}{}", send_message("one"), send_message("two"));
    stream.write_all(two.as_bytes()).await.expect("send");
    for text in ["one", "two"] {
        let body = format!(r#"{{"output":"echo: {text}"}}"#);
        let expected = format!("{}{body}", with_length(&echo_head(), body.len()));
        let got = read_exactly(&mut stream, expected.len()).await;
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }
    stream
        .write_all(send_message("three").as_bytes())
        .await
        .expect("send");
    let body = r#"{"output":"echo: three"}"#;
    let expected = format!("{}{body}", with_length(&echo_head(), body.len()));
    let got = read_exactly(&mut stream, expected.len()).await;
    assert_eq!(String::from_utf8_lossy(&got), expected);
    assert_eq!(n8n.inputs(), ["one", "two", "three"]);
}

/// A request that arrives one byte per write is read whole.
#[tokio::test]
async fn a_request_in_single_bytes_is_read_whole() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    for byte in send_message("hi").as_bytes() {
        stream.write_all(&[*byte]).await.expect("send");
    }
    let got = read_exactly(&mut stream, fixtures::ECHO.len()).await;
    assert_eq!(String::from_utf8_lossy(&got), fixtures::ECHO);
    let r = &n8n.requests()[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/webhook/chat")
    );
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
}

/// Header names are recorded in lower case, values trimmed; a body that is
/// not JSON is recorded as Null and still answered.
#[tokio::test]
async fn headers_are_recorded_lower_case() {
    let n8n = StandIn::start().await.expect("stand-in");
    let request =
        "POST /webhook/chat?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Custom-Thing:   v a l  \r\n\
                   Content-Length: 3\r\n\r\nnot";
    let body = r#"{"output":"echo: "}"#;
    let expected = format!("{}{body}", with_length(&echo_head(), body.len()));
    answer_to(&n8n, request, &expected).await;
    let r = &n8n.requests()[0];
    assert_eq!(r.path, "/webhook/chat?x=1");
    assert_eq!(
        r.headers.get("x-custom-thing").map(String::as_str),
        Some("v a l")
    );
    assert_eq!(r.body, serde_json::Value::Null);
    assert!(r.parts.is_empty());
}

/// Garbage instead of a request line: the connection is closed, nothing
/// is recorded.
#[tokio::test]
async fn garbage_closes_the_connection() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
    stream
        .write_all(b"\x00\x01 not http\r\n\r\n")
        .await
        .expect("send");
    assert!(read_to_close(&mut stream).await.is_empty());
    assert_eq!(n8n.calls(), 0);
}

/// The captured widget uploads, sent byte for byte: the stand-in sees the
/// parts and the `$json` a real n8n saw.
#[tokio::test]
async fn captured_uploads_are_read_like_n8n() {
    let captures: [(&str, &[u8]); 3] = [
        (
            "01-one-png",
            include_bytes!("../fixtures/uploads/01-one-png.request.raw"),
        ),
        (
            "02-three-files",
            include_bytes!("../fixtures/uploads/02-three-files.request.raw"),
        ),
        (
            "03-three-files-streaming",
            include_bytes!("../fixtures/uploads/03-three-files-streaming.request.raw"),
        ),
    ];
    for (name, raw) in captures {
        let n8n = StandIn::start().await.expect("stand-in");
        let mut stream = TcpStream::connect(n8n.addr()).await.expect("connect");
        stream.write_all(raw).await.expect("send");
        let seen = &testkit::upload_capture(name).expect("capture").1;
        let input = seen["json"]["chatInput"].as_str().expect("chatInput");
        assert!(n8n.wait_for_finished(1).await, "{name}");
        let r = &n8n.requests()[0];
        assert_eq!(r.body, seen["json"], "{name}");
        let names: Vec<&str> = r.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names[..3], ["action", "sessionId", "chatInput"], "{name}");
        let files: Vec<_> = r.parts.iter().filter(|p| p.filename.is_some()).collect();
        assert_eq!(files[0].filename.as_deref(), Some("dot.png"), "{name}");
        assert_eq!(
            files[0].content_type.as_deref(),
            Some("image/png"),
            "{name}"
        );
        assert_eq!(files[0].bytes, testkit::DOT_PNG, "{name}");
        assert!(n8n.inputs()[0].starts_with(input), "{name}");
    }
}
