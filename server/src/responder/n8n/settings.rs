//! What the n8n client is set up with ([`ClientSettings`]): values already
//! parsed and checked, converted once from the flags (`--webhook-url`,
//! `--webhook-timeout`, `--webhook-header`, …) by `config`, so the client
//! never sees a flag struct.

use std::time::Duration;

use crate::redact::Secret;

/// One `--webhook-header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeader {
    /// Header name.
    pub name: String,
    /// Header value (secret).
    pub value: Secret,
}

/// `--webhook-basic-auth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password (secret).
    pub password: Secret,
}

/// How the n8n webhook is asked.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The webhook or Chat Trigger URL messages are posted to.
    pub url: url::Url,
    /// Longest time for one message, waiting for a slot included.
    pub timeout: Duration,
    /// Largest answer read (streamed or not).
    pub max_answer_bytes: usize,
    /// Field name of the chat text in the request (`chatInput`).
    pub chat_input_key: String,
    /// Field name of the session id in the request (`sessionId`).
    pub session_key: String,
    /// Extra headers for every request (and n8n's chat socket).
    pub headers: Vec<WebhookHeader>,
    /// Basic auth for every request (and n8n's chat socket).
    pub basic_auth: Option<BasicAuth>,
    /// Requests to n8n at once.
    pub max_concurrent: usize,
    /// Messages that may wait for a free slot.
    pub max_queued: usize,
    /// n8n's chat socket for "Respond to Chat" runs; `None`: the webhook
    /// URL's origin + `/chat`.
    pub chat_url: Option<url::Url>,
    /// Follow "Respond to Chat" runs (`--respond-to-chat`).
    pub respond_to_chat: bool,
    /// n8n's `WEBHOOK_URL`, where approval links may point; `None`: the
    /// webhook URL's.
    pub public_url: Option<url::Url>,
}
