//! The n8n answerer: one HTTP POST per chat message, through one shared
//! keep-alive client.
//!
//! The body is what n8n's Chat Trigger expects:
//! `{"action":"sendMessage","sessionId":…,"chatInput":…}`; a plain Webhook
//! node receives the same JSON. The answer is read by [`crate::n8n_answer`]
//! or, when n8n streams, by [`crate::n8n_stream`] as it arrives.
//!
//! n8n closes idle keep-alive connections after ~5 s; the pool drops its idle
//! connections after 4 s so it never hands out one n8n has already closed
//! (hyper also retries a request whose pooled connection was closed before
//! the request was written, which cannot run a workflow twice).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Semaphore;

use crate::config::{BasicAuth, Config};
use crate::n8n_answer;
use crate::n8n_stream::{is_stream_line, NdjsonParser, StreamEvent};
use crate::responder::{ChatRequest, ResponderError};

/// Idle pooled connections are dropped after this (below n8n's 5 s).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// A complete (non-streamed) answer larger than this is refused.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

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
}

impl Webhook {
    /// A webhook answerer for `url`, set up from the relay's configuration
    /// (timeout, field names, headers, basic auth, concurrency).
    pub fn new(url: url::Url, config: &Config) -> Result<Self, reqwest::Error> {
        let timeout = config.webhook_timeout;
        let mut headers = HeaderMap::new();
        for h in &config.webhook_headers {
            // Both were validated when the flags were parsed.
            if let (Ok(name), Ok(mut value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_str(&h.value.0),
            ) {
                value.set_sensitive(true);
                headers.append(name, value);
            }
        }
        let client = reqwest::Client::builder()
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("n8n-chat-relay/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()?;
        Ok(Webhook {
            url,
            client,
            timeout,
            chat_input_key: config.chat_input_key.clone(),
            session_key: config.session_key.clone(),
            basic_auth: config.webhook_basic_auth.clone(),
            slots: Semaphore::new(config.max_concurrent_webhooks.max(1)),
        })
    }

    /// The URL without user info or query string, safe to log.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }

    /// Asks n8n for a session's earlier messages (`loadPreviousSession`).
    pub async fn load_previous_session(
        &self,
        session_id: &str,
    ) -> Result<Vec<shared::HistoryMessage>, ResponderError> {
        let mut body = serde_json::Map::new();
        body.insert("action".into(), "loadPreviousSession".into());
        body.insert(self.session_key.clone(), session_id.into());
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| ResponderError::ShuttingDown)?;
        let read = async {
            let response = self
                .authorized(self.client.post(self.url.clone()).json(&body))
                .send()
                .await
                .map_err(|e| self.map_error(&e))?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| self.map_error(&e))?;
            if status.is_success() {
                n8n_answer::parse_history(&bytes)
            } else {
                Err(n8n_answer::parse_failure(status.as_u16(), &bytes))
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
        on_chunk: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<String, ResponderError> {
        let mut body = serde_json::Map::new();
        body.insert("action".into(), "sendMessage".into());
        body.insert(self.session_key.clone(), request.session_id.clone().into());
        body.insert(self.chat_input_key.clone(), request.text.clone().into());
        if let Some(metadata) = &request.metadata {
            body.insert("metadata".into(), metadata.clone().into());
        }
        let post = self.authorized(self.client.post(self.url.clone()).json(&body));
        // Wait for a free slot (fairly) before the clock starts.
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| ResponderError::ShuttingDown)?;
        let send = post.send();
        let read = async {
            let response = send.await.map_err(|e| self.map_error(&e))?;
            self.read_answer(response, on_chunk).await
        };
        match tokio::time::timeout(self.timeout, read).await {
            Ok(result) => result,
            Err(_) => Err(ResponderError::Timeout(self.timeout)),
        }
    }

    async fn read_answer(
        &self,
        mut response: reqwest::Response,
        on_chunk: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<String, ResponderError> {
        let status = response.status();
        let mut head = Vec::new();
        // Read until the first line is complete (or the body ends), then
        // decide: n8n's stream format, or one complete answer.
        let streaming = loop {
            match response.chunk().await.map_err(|e| self.map_error(&e))? {
                Some(bytes) => {
                    head.extend_from_slice(&bytes);
                    if let Some(nl) = head.iter().position(|&b| b == b'\n') {
                        break status.is_success() && is_stream_line(&head[..nl]);
                    }
                    if head.len() > MAX_BODY_BYTES {
                        return Err(too_large());
                    }
                }
                None => break status.is_success() && is_stream_line(&head),
            }
        };
        if streaming {
            return self.read_stream(response, head, on_chunk).await;
        }
        while let Some(bytes) = response.chunk().await.map_err(|e| self.map_error(&e))? {
            head.extend_from_slice(&bytes);
            if head.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
        }
        if status.is_success() {
            n8n_answer::parse_success(&head)
        } else {
            Err(n8n_answer::parse_failure(status.as_u16(), &head))
        }
    }

    async fn read_stream(
        &self,
        mut response: reqwest::Response,
        head: Vec<u8>,
        on_chunk: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<String, ResponderError> {
        let mut parser = NdjsonParser::new();
        let mut events = Vec::new();
        let mut text = String::new();
        let mut failure: Option<ResponderError> = None;
        let mut handle = |events: &mut Vec<StreamEvent>, text: &mut String| {
            for event in events.drain(..) {
                match event {
                    StreamEvent::Text(t) => {
                        on_chunk(&t);
                        text.push_str(&t);
                    }
                    StreamEvent::Error(detail) => {
                        failure.get_or_insert(ResponderError::StreamError(detail));
                    }
                }
            }
        };
        parser.push(&head, &mut events);
        handle(&mut events, &mut text);
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    parser.push(&bytes, &mut events);
                    handle(&mut events, &mut text);
                }
                Ok(None) => break,
                Err(e) => {
                    handle(&mut events, &mut text);
                    return Err(ResponderError::Unreachable(format!(
                        "the answer stream broke off after {} characters ({})",
                        text.chars().count(),
                        short_error(&e)
                    )));
                }
            }
        }
        parser.finish(&mut events);
        handle(&mut events, &mut text);
        if let Some(failure) = failure {
            return Err(failure);
        }
        // A Respond node that answers an object streams it as JSON text
        // inside one item; the final answer unwraps it like a normal answer.
        Ok(unwrap_json_answer(text))
    }

    fn map_error(&self, e: &reqwest::Error) -> ResponderError {
        if e.is_timeout() {
            ResponderError::Timeout(self.timeout)
        } else {
            ResponderError::Unreachable(short_error(e))
        }
    }
}

fn too_large() -> ResponderError {
    ResponderError::InvalidResponse(format!(
        "the answer is larger than {} MiB",
        MAX_BODY_BYTES >> 20
    ))
}

fn unwrap_json_answer(text: String) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
            if let Ok(answer) = n8n_answer::answer_from_json(&value) {
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

/// `scheme://host[:port]/path`, without user info, query or fragment.
pub fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    if url.password().is_some() || !url.username().is_empty() {
        text.push_str(" (credentials hidden)");
    }
    if url.query().is_some() {
        text.push_str(" (query hidden)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_credentials_and_query() {
        let url =
            url::Url::parse("https://user:secret@n8n.example/webhook/abc?token=t").expect("url");
        let shown = redact(&url);
        assert!(
            !shown.contains("secret") && !shown.contains("user") && !shown.contains("token"),
            "{shown}"
        );
        assert!(
            shown.starts_with("https://n8n.example/webhook/abc"),
            "{shown}"
        );
    }

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
