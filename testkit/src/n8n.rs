//! A stand-in n8n webhook on loopback.
//!
//! It speaks HTTP/1.1 with keep-alive over a raw socket so that it can send
//! exactly what n8n sends: the same header lines, chunk boundaries and gaps,
//! and it closes idle keep-alive connections after `keep_alive` (n8n: 5 s).
//!
//! What it answers is set with [`StandIn::set_mode`]; in addition, a chat
//! text starting with `slow:<ms> ` is answered after that many milliseconds
//! (so one slow message can be mixed with fast ones).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::fixtures;
use crate::respond_to_chat::Executions;
pub use crate::respond_to_chat::{Outcome, Pace, Step};

/// How the stand-in answers `sendMessage` requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `{"output":"echo: <chatInput>"}` with n8n's exact headers (Respond to Webhook).
    Echo,
    /// `[{"output":"echo: <chatInput>"}]` (the last node's items).
    EchoArray,
    /// `echo: <chatInput>` as `text/plain`.
    PlainText,
    /// n8n's streaming answer: "echo: " then the input, in two begin/item/end
    /// blocks separated by `gap` (n8n's capture: ~1 s).
    Stream {
        /// Pause between the two blocks.
        gap: Duration,
    },
    /// A node fails mid-stream: an `error` line, HTTP 200.
    StreamError,
    /// The first block of a stream, then the connection drops.
    StreamCutOff,
    /// HTTP 500 `{"message":"Error in workflow"}`.
    Error500,
    /// HTTP 404: the workflow is not active.
    NotRegistered,
    /// HTTP 200 with an empty chunked body (a node failed behind a Respond node).
    EmptyBody,
    /// HTTP 200 `application/json` with a body that is not JSON.
    InvalidJson,
    /// Headers and half a body, then the connection is closed.
    CutOff,
    /// Accepts the request and never answers.
    Hang,
    /// HTTP 302 to `location` (n8n behind a misconfigured proxy, or a
    /// hostile one): a client must not follow it with its credentials.
    Redirect {
        /// The `Location` header.
        location: String,
    },
    /// HTTP 200 `{"output":"xxx…"}` whose text is `bytes` long.
    Huge {
        /// Length of the answer text.
        bytes: usize,
    },
    /// A stream that never ends: one `item` line of 1000 bytes after
    /// another until the client hangs up.
    EndlessStream,
    /// A stream whose second line never ends (bytes without a newline
    /// until the client hangs up).
    EndlessLine,
    /// A Chat Trigger answering "Using Response Nodes": every message starts
    /// an execution that runs these Chat nodes over n8n's `/chat` socket
    /// (see [`crate::respond_to_chat`]).
    RespondToChat(Vec<Step>),
    /// A flaky n8n for soak tests: request number n (0-based) fails with
    /// HTTP 500 when n % `fail_every` == 0, and is answered after
    /// `slow_ms` when n % `slow_every` == 0; otherwise like [`Mode::Echo`].
    Flaky {
        /// Every how many requests one fails.
        fail_every: usize,
        /// Every how many requests one is slow.
        slow_every: usize,
        /// How slow.
        slow_ms: u64,
    },
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// e.g. `POST`.
    pub method: String,
    /// e.g. `/webhook/chat`.
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    /// The body, parsed as JSON (Null if it was not JSON); for a
    /// multipart body, what the workflow sees as `$json`.
    pub body: serde_json::Value,
    /// The parts of a `multipart/form-data` body, in order.
    pub parts: Vec<crate::multipart::FormPart>,
}

#[derive(Debug)]
struct Shared {
    mode: Mutex<Mode>,
    history: Mutex<Vec<(bool, String)>>,
    requests: Mutex<Vec<Recorded>>,
    finished: Mutex<usize>,
    in_flight: Mutex<(usize, usize)>,
    changed: Notify,
    keep_alive: Duration,
    /// Keep-alive connections closed for being idle `keep_alive`.
    idle_closed: Mutex<usize>,
    executions: Arc<Executions>,
}

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts on a free loopback port in [`Mode::Echo`], closing idle
    /// keep-alive connections after 5 s like n8n.
    pub async fn start() -> std::io::Result<StandIn> {
        Self::start_with_keep_alive(Duration::from_secs(5)).await
    }

    /// Starts with a custom idle keep-alive timeout.
    pub async fn start_with_keep_alive(keep_alive: Duration) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Self::serve(listener, keep_alive)
    }

    /// Starts on a given loopback address (to come back on the same port
    /// after [`StandIn::stop`]).
    pub async fn start_at(addr: SocketAddr) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        Self::serve(listener, Duration::from_secs(5))
    }

    fn serve(listener: TcpListener, keep_alive: Duration) -> std::io::Result<StandIn> {
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Echo),
            history: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            finished: Mutex::new(0),
            in_flight: Mutex::new((0, 0)),
            changed: Notify::new(),
            keep_alive,
            idle_closed: Mutex::new(0),
            executions: Arc::default(),
        });
        shared.executions.set_host(&addr.to_string());
        let task_shared = shared.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(connection(stream, task_shared.clone()));
            }
        });
        Ok(StandIn { addr, shared, task })
    }

    /// Stops listening and drops every open connection (n8n went away).
    pub fn stop(self) -> SocketAddr {
        self.addr
    }

    /// The stand-in's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A webhook URL on the stand-in, e.g. `url("/webhook/chat")`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The executions started in [`Mode::RespondToChat`].
    pub fn executions(&self) -> &Executions {
        &self.shared.executions
    }

    /// How fast those executions run (n8n: 3 s per Chat node).
    pub fn set_pace(&self, pace: Pace) {
        self.shared.executions.set_pace(pace);
    }

    /// Changes how later requests are answered.
    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// What `loadPreviousSession` answers: (is_human, text) pairs, sent
    /// in LangChain's message format like n8n's chat memory.
    pub fn set_history(&self, history: &[(bool, &str)]) {
        *lock(&self.shared.history) = history.iter().map(|(h, t)| (*h, (*t).to_owned())).collect();
    }

    /// How many requests arrived so far.
    pub fn calls(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// How many requests were answered completely so far.
    pub fn finished(&self) -> usize {
        *lock(&self.shared.finished)
    }

    /// How many keep-alive connections the stand-in closed for being idle
    /// (a test of pooled connections waits for this, not for the timeout).
    pub fn idle_closed(&self) -> usize {
        *lock(&self.shared.idle_closed)
    }

    /// The most requests that were being answered at the same time.
    pub fn peak_in_flight(&self) -> usize {
        lock(&self.shared.in_flight).1
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// The `chatInput` of every request, in order.
    pub fn inputs(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.body["chatInput"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until at least `n` requests have arrived (or 10 s pass).
    pub async fn wait_for_calls(&self, n: usize) -> bool {
        self.wait_until(|| self.calls() >= n).await
    }

    /// Waits until at least `n` requests were answered (or 10 s pass).
    pub async fn wait_for_finished(&self, n: usize) -> bool {
        self.wait_until(|| self.finished() >= n).await
    }

    async fn wait_until(&self, done: impl Fn() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.shared.changed.notified();
            if done() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    loop {
        let request = match tokio::time::timeout(
            shared.keep_alive,
            read_request(&mut stream, &mut buf),
        )
        .await
        {
            Ok(Some(request)) => request,
            Err(_idle) => {
                *lock(&shared.idle_closed) += 1;
                return;
            }
            // Closed, or garbage: close like n8n does (and when idle).
            Ok(None) => return,
        };
        if request.method == "GET" {
            let (path, query) = request
                .path
                .split_once('?')
                .unwrap_or((request.path.as_str(), ""));
            if path == "/chat" {
                let key = request
                    .headers
                    .get("sec-websocket-key")
                    .cloned()
                    .unwrap_or_default();
                let query = query.to_owned();
                let executions = shared.executions.clone();
                executions.serve_socket(stream, &key, &query).await;
                return;
            }
            if path.starts_with("/webhook-waiting/") {
                let host = request.headers.get("host").cloned().unwrap_or_default();
                let answer = shared.executions.follow_link(
                    &request.path,
                    &host,
                    request.headers.get("user-agent").map(String::as_str),
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
        }
        let mut input = request.body["chatInput"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // Files are echoed by name, type and size, as the workflow sees them.
        if let Some(files) = request.body["files"].as_array() {
            let seen: Vec<String> = files
                .iter()
                .map(|f| {
                    format!(
                        "{} ({}, {})",
                        f["fileName"].as_str().unwrap_or_default(),
                        f["mimeType"].as_str().unwrap_or_default(),
                        f["fileSize"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            input = format!("{input} [files: {}]", seen.join("; "));
        }
        let load_previous = request.body["action"] == "loadPreviousSession";
        let session = request.body["sessionId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mode = lock(&shared.mode).clone();
        let history = lock(&shared.history).clone();
        let number = {
            let mut requests = lock(&shared.requests);
            requests.push(request);
            requests.len() - 1
        };
        let mode = match mode {
            Mode::Flaky {
                fail_every,
                slow_every,
                slow_ms,
            } => {
                if slow_every > 0 && number % slow_every == 0 {
                    tokio::time::sleep(Duration::from_millis(slow_ms)).await;
                }
                if fail_every > 0 && number % fail_every == 0 {
                    Mode::Error500
                } else {
                    Mode::Echo
                }
            }
            other => other,
        };
        {
            let mut f = lock(&shared.in_flight);
            f.0 += 1;
            f.1 = f.1.max(f.0);
        }
        shared.changed.notify_waiters();
        if let Some(ms) = input
            .strip_prefix("slow:")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let keep_open = if load_previous {
            respond_history(&mut stream, &history)
                .await
                .unwrap_or(false)
        } else if let Mode::RespondToChat(steps) = &mode {
            let started = shared.executions.start(&session, &input, steps);
            stream.write_all(started.as_bytes()).await.is_ok()
        } else {
            respond(&mut stream, &mode, &input).await.unwrap_or(false)
        };
        *lock(&shared.finished) += 1;
        lock(&shared.in_flight).0 -= 1;
        shared.changed.notify_waiters();
        if !keep_open {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Recorded> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let raw = &buf[head_end..head_end + length];
    let parts = headers
        .get("content-type")
        .and_then(|t| crate::multipart::boundary(t))
        .map(|b| crate::multipart::parse(&b, raw))
        .unwrap_or_default();
    let body = if parts.is_empty() {
        serde_json::from_slice(raw).unwrap_or(serde_json::Value::Null)
    } else {
        crate::multipart::n8n_view(&parts).0
    };
    buf.drain(..head_end + length);
    Some(Recorded {
        method,
        path,
        headers,
        body,
        parts,
    })
}

/// Replaces the captured Content-Length with the real one.
pub(crate) fn with_length(head: &str, length: usize) -> String {
    head.split('\n')
        .map(|l| {
            if l.starts_with("Content-Length:") {
                format!("Content-Length: {length}\r")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn chunk(bytes: &str) -> String {
    format!("{:x}\r\n{bytes}\r\n", bytes.len())
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Answers `loadPreviousSession` like n8n with a memory node.
async fn respond_history(
    stream: &mut TcpStream,
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
    let body = serde_json::json!({ "data": items }).to_string();
    let head = with_length(&fixtures::head_of(fixtures::LOAD_PREVIOUS), body.len());
    stream.write_all(format!("{head}{body}").as_bytes()).await?;
    Ok(true)
}

/// Writes the answer; returns whether the connection stays open.
async fn respond(stream: &mut TcpStream, mode: &Mode, input: &str) -> std::io::Result<bool> {
    match mode {
        Mode::Echo | Mode::Flaky { .. } | Mode::EchoArray | Mode::PlainText | Mode::InvalidJson => {
            respond_complete(stream, mode, input).await
        }
        Mode::Stream { gap } => respond_stream(stream, *gap, input).await,
        Mode::StreamCutOff => respond_stream_cut_off(stream).await,
        Mode::StreamError => respond_stream_error(stream).await,
        Mode::Error500 | Mode::NotRegistered | Mode::EmptyBody => {
            respond_captured_error(stream, mode).await
        }
        Mode::CutOff => respond_cut_off(stream).await,
        Mode::Hang => std::future::pending().await,
        Mode::Redirect { location } => respond_redirect(stream, location).await,
        Mode::Huge { bytes } => respond_huge(stream, *bytes).await,
        Mode::EndlessStream | Mode::EndlessLine => respond_endless(stream, mode).await,
        // Answered in `connection` (it needs the executions).
        Mode::RespondToChat(_) => Ok(false),
    }
}

/// A complete answer with n8n's captured headers: the echo as JSON, as an
/// array, as plain text, or a body that is not JSON.
async fn respond_complete(
    stream: &mut TcpStream,
    mode: &Mode,
    input: &str,
) -> std::io::Result<bool> {
    let echo = format!("echo: {input}");
    let body = match mode {
        Mode::EchoArray => format!("[{{\"output\":{}}}]", json_string(&echo)),
        Mode::PlainText => echo,
        Mode::InvalidJson => "{\"output\": \"unterminated".to_owned(),
        _ => format!("{{\"output\":{}}}", json_string(&echo)),
    };
    let mut head = with_length(&fixtures::head_of(fixtures::ECHO), body.len());
    if *mode == Mode::PlainText {
        head = head.replace(
            "application/json; charset=utf-8",
            "text/plain; charset=utf-8",
        );
    }
    stream.write_all(format!("{head}{body}").as_bytes()).await?;
    Ok(true)
}

/// n8n's streaming answer: "echo: " then the input, in two begin/item/end
/// blocks `gap` apart (as captured).
async fn respond_stream(
    stream: &mut TcpStream,
    gap: Duration,
    input: &str,
) -> std::io::Result<bool> {
    let lines: Vec<&str> = fixtures::stream_lines().collect();
    let first = lines.get(..3).unwrap_or_default();
    let second = lines.get(3..6).unwrap_or_default();
    let mut part1 = String::new();
    for line in first {
        part1.push_str(&chunk(&format!("{line}\n")));
    }
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    stream.write_all(part1.as_bytes()).await?;
    stream.flush().await?;
    tokio::time::sleep(gap).await;
    let mut part2 = String::new();
    for line in second {
        let line = line.replace(
            r#""content":"hi""#,
            &format!("\"content\":{}", json_string(input)),
        );
        part2.push_str(&chunk(&format!("{line}\n")));
    }
    stream.write_all(part2.as_bytes()).await?;
    stream.write_all(b"0\r\n\r\n").await?;
    Ok(true)
}

/// The first block of a stream, then the connection drops.
async fn respond_stream_cut_off(stream: &mut TcpStream) -> std::io::Result<bool> {
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    for line in fixtures::stream_lines().take(2) {
        stream
            .write_all(chunk(&format!("{line}\n")).as_bytes())
            .await?;
    }
    stream.flush().await?;
    Ok(false)
}

/// A node failing mid-stream: n8n's `error` line, HTTP 200.
async fn respond_stream_error(stream: &mut TcpStream) -> std::io::Result<bool> {
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    stream
        .write_all(chunk(&format!("{}\n", fixtures::ERROR_STREAM_LINE)).as_bytes())
        .await?;
    stream.write_all(b"0\r\n\r\n").await?;
    Ok(true)
}

/// One of n8n's captured error answers (500, 404 not registered, empty).
async fn respond_captured_error(stream: &mut TcpStream, mode: &Mode) -> std::io::Result<bool> {
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
        format!("{}{body}", with_length(&head, body.len()))
    };
    stream.write_all(bytes.as_bytes()).await?;
    Ok(true)
}

/// Headers and half a body, then the connection closes.
async fn respond_cut_off(stream: &mut TcpStream) -> std::io::Result<bool> {
    let head = with_length(&fixtures::head_of(fixtures::ECHO), 100);
    stream
        .write_all(format!("{head}{{\"output\":\"echo: ").as_bytes())
        .await?;
    stream.flush().await?;
    Ok(false)
}

/// HTTP 302 to `location`.
async fn respond_redirect(stream: &mut TcpStream, location: &str) -> std::io::Result<bool> {
    let head = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
         Connection: keep-alive\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    Ok(true)
}

/// `{"output":"xxx…"}` with an answer of `bytes` bytes.
async fn respond_huge(stream: &mut TcpStream, bytes: usize) -> std::io::Result<bool> {
    let body = format!("{{\"output\":\"{}\"}}", "x".repeat(bytes));
    let head = with_length(&fixtures::head_of(fixtures::ECHO), body.len());
    stream.write_all(format!("{head}{body}").as_bytes()).await?;
    Ok(true)
}

/// A stream that never ends (items, or one line without a newline) until
/// the client hangs up.
async fn respond_endless(stream: &mut TcpStream, mode: &Mode) -> std::io::Result<bool> {
    stream
        .write_all(fixtures::STREAM_HEADERS.as_bytes())
        .await?;
    let begin = fixtures::stream_lines().next().unwrap_or_default();
    stream
        .write_all(chunk(&format!("{begin}\n")).as_bytes())
        .await?;
    let piece = if *mode == Mode::EndlessStream {
        chunk(&format!(
            "{{\"type\":\"item\",\"content\":\"{}\"}}\n",
            "y".repeat(1000)
        ))
    } else {
        chunk(&"z".repeat(1000))
    };
    // Until the client hangs up (the write then fails).
    loop {
        stream.write_all(piece.as_bytes()).await?;
    }
}
