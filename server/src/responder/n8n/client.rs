//! The n8n answerer: one HTTP POST per chat message, through one shared
//! keep-alive client.
//!
//! The body is what n8n's Chat Trigger expects:
//! `{"action":"sendMessage","sessionId":…,"chatInput":…}`; a plain Webhook
//! node receives the same JSON. The answer is read by [`super::answer`]
//! or, when n8n streams, by [`super::stream`] as it arrives.
//!
//! n8n closes idle keep-alive connections after ~5 s; the pool drops its idle
//! connections after 4 s so it never hands out one n8n has already closed
//! (hyper also retries a request whose pooled connection was closed before
//! the request was written, which cannot run a workflow twice).
//!
//! Bounded everywhere: at most `--max-concurrent-webhooks` requests at once
//! and `--max-queued-webhooks` waiting for a slot (more are refused at once
//! with a retry hint); `--webhook-timeout` counts from the moment the
//! message is accepted, waiting included; an answer (streamed or not) may be
//! at most `--max-answer-bytes`. No redirect is followed: the webhook
//! headers and basic auth must never go to a host a `Location` names.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

use super::answer;
use super::settings::{BasicAuth, ClientSettings};
use super::stream::{is_stream_line, NdjsonParser, StreamEvent};
use crate::responder::{Answer, ChatRequest, Listeners, ResponderError, Step};

/// Idle pooled connections are dropped after this (below n8n's 5 s).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// What a refused (queue full) message is told to wait.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Forwards messages to one n8n webhook URL.
#[derive(Debug)]
pub struct Webhook {
    url: url::Url,
    client: reqwest::Client,
    timeout: Duration,
    chat_input_key: String,
    session_key: String,
    basic_auth: Option<BasicAuth>,
    /// Bounds the requests to n8n at once; tokio's semaphore is fair
    /// (first come, first served).
    slots: Semaphore,
    /// Messages waiting for a slot, and how many may.
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Largest answer text (and, doubled for JSON escaping, raw body).
    max_answer_bytes: usize,
    /// n8n's `/chat` endpoint, for "Respond to Chat" runs.
    chat_base: Option<url::Url>,
    /// The headers (auth included) for n8n's `/chat` socket.
    socket_headers: HeaderMap,
    /// For approval links (see [`super::approval`]).
    links: reqwest::Client,
    /// Where approval links may point and where they are sent.
    link_rules: super::approval::Links,
    /// `--respond-to-chat`: follow n8n's execution-start answers.
    respond_to_chat: bool,
    /// The operator was told once that `--respond-to-chat` is off.
    told_runs_are_off: AtomicBool,
}

/// A place in the queue for a slot; leaves it when dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Webhook {
    /// A webhook answerer set up by `settings` (URL, timeout, field names,
    /// headers, basic auth, concurrency).
    pub fn new(settings: ClientSettings) -> Result<Self, reqwest::Error> {
        let ClientSettings {
            url,
            timeout,
            max_answer_bytes,
            chat_input_key,
            session_key,
            headers: webhook_headers,
            basic_auth,
            max_concurrent,
            max_queued,
            chat_url,
            respond_to_chat,
            public_url,
        } = settings;
        let mut headers = HeaderMap::new();
        for h in &webhook_headers {
            // Both were validated when the flags were parsed.
            if let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_str(&h.value.0),
            ) {
                value.set_sensitive(true);
                headers.append(name, value);
            }
        }
        let mut socket_headers = headers.clone();
        if let Some(auth) = &basic_auth {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", auth.user, auth.password.0));
            if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {token}")) {
                value.set_sensitive(true);
                socket_headers.insert(reqwest::header::AUTHORIZATION, value);
            }
        }
        let chat_base = chat_url.or_else(|| super::chat_socket::chat_endpoint(&url));
        let client = reqwest::Client::builder()
            // Never follow a redirect: it would carry the webhook headers
            // and basic auth to whatever host the `Location` names.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()?;
        Ok(Webhook {
            client,
            timeout,
            chat_input_key,
            session_key,
            basic_auth,
            slots: Semaphore::new(max_concurrent.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting: max_queued,
            max_answer_bytes: max_answer_bytes.max(1),
            chat_base,
            socket_headers,
            links: super::approval::client()?,
            link_rules: super::approval::Links::new(&url, public_url.as_ref()),
            respond_to_chat,
            told_runs_are_off: AtomicBool::new(false),
            url,
        })
    }

    /// Opens n8n's `/chat` socket for execution `execution_id` of `session`.
    pub async fn open_run(
        &self,
        session: &str,
        execution_id: &str,
    ) -> Result<super::chat_socket::ChatSocket, String> {
        let base = self
            .chat_base
            .as_ref()
            .ok_or("no chat socket URL for this webhook (set --n8n-chat-url)")?;
        let url = super::chat_socket::chat_url(base, session, execution_id);
        let timeout = Duration::from_secs(10).min(self.timeout);
        super::chat_socket::ChatSocket::connect(&url, &self.socket_headers, timeout).await
    }

    /// Acts on an approval button of execution `execution_id`.
    pub async fn choose(&self, link: &str, execution_id: &str) -> Result<(), String> {
        super::approval::follow(&self.links, &self.link_rules, link, execution_id).await
    }

    /// The answer to an execution-start body: a run only with
    /// `--respond-to-chat`. Without it the message ends in
    /// `webhook_invalid_response` and the operator is told once what to do
    /// — never is the execution's socket opened, since n8n lets any
    /// session join any execution (see [`super::answer::execution_started`]).
    fn execution_answer(&self, execution_id: String) -> Result<Answer, ResponderError> {
        if self.respond_to_chat {
            return Ok(Answer::Run { execution_id });
        }
        if !self.told_runs_are_off.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "n8n answered a message with a started \"Respond to Chat\" execution, which the relay does not follow unless told to: if this workflow uses Respond to Chat nodes (a Chat Trigger responding \"Using Response Nodes\"), start the relay with --respond-to-chat (RELAY_RESPOND_TO_CHAT=true)"
            );
        } else {
            tracing::debug!("an execution-start answer was refused (--respond-to-chat is off)");
        }
        Err(ResponderError::InvalidResponse(
            "n8n started a \"Respond to Chat\" execution, which this relay is not set up to follow (its operator can turn that on with --respond-to-chat)"
                .into(),
        ))
    }

    /// A slot for one request: at once if one is free, else after waiting
    /// in line — unless the line is full, which is refused at once.
    async fn slot(&self) -> Result<SemaphorePermit<'_>, ResponderError> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(ResponderError::Busy {
                retry_after: BUSY_RETRY_AFTER,
            });
        }
        let _in_line = Waiting(&self.waiting);
        self.slots
            .acquire()
            .await
            .map_err(|_| ResponderError::ShuttingDown)
    }

    /// Requests that may start now, and messages waiting for a slot (for
    /// the operator's metrics).
    pub fn load(&self) -> (usize, usize) {
        (
            self.slots.available_permits(),
            self.waiting.load(Ordering::Relaxed),
        )
    }

    /// The largest raw body read: the answer bound, doubled for JSON's
    /// escaping and wrapping.
    fn max_body_bytes(&self) -> usize {
        self.max_answer_bytes.saturating_mul(2).saturating_add(4096)
    }

    /// The URL without user info or query string, safe to log.
    pub fn redacted_url(&self) -> String {
        crate::redact::url(&self.url)
    }

    /// Asks n8n for a session's earlier messages (`loadPreviousSession`).
    pub async fn load_previous_session(
        &self,
        session_id: &str,
    ) -> Result<Vec<shared::HistoryMessage>, ResponderError> {
        let mut body = serde_json::Map::new();
        body.insert("action".into(), "loadPreviousSession".into());
        body.insert(self.session_key.clone(), session_id.into());
        let read = async {
            let _slot = self.slot().await?;
            let response = self
                .authorized(self.client.post(self.url.clone()).json(&body))
                .send()
                .await
                .map_err(|e| self.map_error(&e))?;
            let status = response.status();
            redirect_refused(&response)?;
            let bytes = self.read_body(response, Vec::new()).await?;
            if status.is_success() {
                answer::parse_history(&bytes)
            } else {
                Err(answer::parse_failure(status.as_u16(), &bytes))
            }
        };
        match tokio::time::timeout(self.timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(ResponderError::Timeout(self.timeout)),
        }
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.basic_auth {
            Some(auth) => request.basic_auth(&auth.user, Some(&auth.password.0)),
            None => request,
        }
    }

    /// Sends one message to n8n and reads its answer.
    pub async fn answer(
        &self,
        request: &ChatRequest,
        listen: &Listeners<'_>,
    ) -> Result<Answer, ResponderError> {
        let post = self.client.post(self.url.clone());
        let post = if request.files.is_empty() {
            let mut body = serde_json::Map::new();
            body.insert("action".into(), "sendMessage".into());
            body.insert(self.session_key.clone(), request.session_id.clone().into());
            body.insert(self.chat_input_key.clone(), request.text.clone().into());
            if let Some(metadata) = &request.metadata {
                body.insert("metadata".into(), metadata.clone().into());
            }
            if let Some(user) = &request.user {
                body.insert("user".into(), serde_json::json!(user));
            }
            // Only when set, so a workflow sees the same body as before
            // for every ordinary message.
            if request.regenerate {
                body.insert("regenerate".into(), true.into());
            }
            post.json(&body)
        } else {
            post.multipart(
                super::multipart::form(request, &self.session_key, &self.chat_input_key).await?,
            )
        };
        let post = self.authorized(post);
        // The clock runs from acceptance: waiting for a slot counts.
        let read = async {
            let _slot = self.slot().await?;
            let response = post.send().await.map_err(|e| self.map_error(&e))?;
            self.read_answer(response, listen).await
        };
        match tokio::time::timeout(self.timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(ResponderError::Timeout(self.timeout)),
        }
    }

    async fn read_answer(
        &self,
        mut response: reqwest::Response,
        listen: &Listeners<'_>,
    ) -> Result<Answer, ResponderError> {
        let status = response.status();
        redirect_refused(&response)?;
        let declared_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        let mut head = Vec::new();
        // Read until the first line is complete (or the body ends), then
        // decide: n8n's stream format, or one complete answer.
        let streaming = loop {
            match response.chunk().await.map_err(|e| self.map_error(&e))? {
                Some(bytes) => {
                    // Only the new bytes can hold the first newline.
                    let from = head.len();
                    head.extend_from_slice(&bytes);
                    if let Some(nl) = head[from..].iter().position(|&b| b == b'\n') {
                        let nl = from + nl;
                        break status.is_success() && is_stream_line(&head[..nl]);
                    }
                    if head.len() > self.max_body_bytes() {
                        return Err(self.too_large());
                    }
                }
                None => break status.is_success() && is_stream_line(&head),
            }
        };
        if streaming {
            return self
                .read_stream(response, head, listen)
                .await
                .map(Answer::Text);
        }
        let body = self.read_body(response, head).await?;
        if !status.is_success() {
            return Err(answer::parse_failure(status.as_u16(), &body));
        }
        // Only here, for the message the relay just sent: not for a
        // streamed answer, a history answer or an error body.
        if let Some(execution_id) = answer::execution_started(&body) {
            return self.execution_answer(execution_id);
        }
        let answer = if declared_json {
            answer::parse_declared_json(&body)
        } else {
            answer::parse_success(&body)
        }?;
        if answer.len() > self.max_answer_bytes {
            return Err(self.too_large());
        }
        Ok(Answer::Text(answer))
    }

    /// The rest of a body after `head`, within the raw-body bound.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        mut body: Vec<u8>,
    ) -> Result<Vec<u8>, ResponderError> {
        while let Some(bytes) = response.chunk().await.map_err(|e| self.map_error(&e))? {
            body.extend_from_slice(&bytes);
            if body.len() > self.max_body_bytes() {
                return Err(self.too_large());
            }
        }
        Ok(body)
    }

    fn too_large(&self) -> ResponderError {
        ResponderError::AnswerTooLarge {
            limit: self.max_answer_bytes,
        }
    }

    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        head: Vec<u8>,
        listen: &Listeners<'_>,
    ) -> Result<String, ResponderError> {
        let mut parser = NdjsonParser::with_max_line(self.max_body_bytes());
        let mut stream = StreamedAnswer::new(self.max_answer_bytes);
        parser.push(&head, &mut stream.events);
        stream.take(listen)?;
        loop {
            if parser.overflowed() {
                return Err(self.too_large());
            }
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    parser.push(&bytes, &mut stream.events);
                    stream.take(listen)?;
                }
                Ok(None) => break,
                Err(e) => {
                    stream.take(listen)?;
                    return Err(ResponderError::Unreachable(format!(
                        "the answer stream broke off after {} characters ({})",
                        stream.text.chars().count(),
                        short_error(&e)
                    )));
                }
            }
        }
        parser.finish(&mut stream.events);
        stream.take(listen)?;
        if let Some(failure) = stream.failure {
            return Err(failure);
        }
        // A Respond node that answers an object streams it as JSON text
        // inside one item; the final answer unwraps it like a normal answer.
        Ok(unwrap_json_answer(stream.text))
    }

    fn map_error(&self, e: &reqwest::Error) -> ResponderError {
        if e.is_timeout() {
            ResponderError::Timeout(self.timeout)
        } else {
            ResponderError::Unreachable(short_error(e))
        }
    }
}

/// A streamed answer as it builds up: the text so far (bounded), the
/// first failure, and the events not yet taken.
struct StreamedAnswer {
    text: String,
    failure: Option<ResponderError>,
    events: Vec<StreamEvent>,
    limit: usize,
}

impl StreamedAnswer {
    fn new(limit: usize) -> Self {
        StreamedAnswer {
            text: String::new(),
            failure: None,
            events: Vec::new(),
            limit,
        }
    }

    /// Passes new text on as chunks, and steps as steps; an answer growing past the bound ends
    /// here (what was passed on stays with the page).
    fn take(&mut self, listen: &Listeners<'_>) -> Result<(), ResponderError> {
        for event in self.events.drain(..) {
            match event {
                StreamEvent::Text(t) => {
                    if self.text.len() + t.len() > self.limit {
                        return Err(ResponderError::AnswerTooLarge { limit: self.limit });
                    }
                    (listen.chunk)(&t);
                    self.text.push_str(&t);
                }
                StreamEvent::Begin(node) => (listen.step)(Step::Began(&node)),
                StreamEvent::End(node) => (listen.step)(Step::Ended(&node)),
                StreamEvent::Error(detail) => {
                    self.failure
                        .get_or_insert(ResponderError::StreamError(detail));
                }
            }
        }
        Ok(())
    }
}

/// A 3xx is an error naming where n8n pointed (without its query, which
/// may hold secrets); the relay follows no redirect.
fn redirect_refused(response: &reqwest::Response) -> Result<(), ResponderError> {
    let status = response.status();
    if !status.is_redirection() {
        return Ok(());
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| match response.url().join(l) {
            Ok(url) => crate::redact::url(&url),
            Err(_) => l.chars().take(200).collect(),
        })
        .unwrap_or_else(|| "nowhere".into());
    Err(ResponderError::Status {
        status: status.as_u16(),
        detail: Some(format!(
            "a redirect to {location}; the relay follows no redirects, so set --webhook-url to the final URL"
        )),
    })
}

fn unwrap_json_answer(text: String) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            if let Ok(answer) = answer::answer_from_json(&value) {
                return answer;
            }
        }
    }
    text
}

/// The innermost cause of a reqwest error, without the URL (which may hold
/// secrets).
fn short_error(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    format!("{kind}: {source}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_objects_are_unwrapped() {
        assert_eq!(
            unwrap_json_answer(r#"{"output":"echo: hi"}"#.into()),
            "echo: hi"
        );
        assert_eq!(unwrap_json_answer("echo: hi".into()), "echo: hi");
        assert_eq!(unwrap_json_answer("{not json".into()), "{not json");
        assert_eq!(unwrap_json_answer(r#"{"x":1}"#.into()), r#"{"x":1}"#);
    }
}
