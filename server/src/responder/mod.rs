//! What answers a chat message: n8n ([`n8n::Webhook`]) or the built-in
//! [`echo::Echo`].

pub mod echo;
pub mod feedback;
pub mod n8n;

use std::time::Duration;

use shared::ErrorCode;

use crate::responder::echo::Echo;
use crate::responder::n8n::{ClientSettings, Webhook};
use crate::RelayError;

/// One chat message to answer.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The conversation (n8n's `sessionId`, the key of its chat memory).
    pub session_id: shared::SessionId,
    /// The client's message id (for logs; n8n never sees it).
    pub message_id: shared::MessageId,
    /// What the user typed.
    pub text: String,
    /// Context from the page, passed to n8n as `metadata`.
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Uploaded files it carries (sent as multipart `files`).
    pub files: Vec<crate::attachment::Attachment>,
    /// The user the relay verified (verified identity), sent to n8n as
    /// `user`, apart from the page's unverified `metadata`.
    pub user: Option<crate::identity::VerifiedUser>,
    /// The user asked for another answer to an earlier message (sent to
    /// n8n as `regenerate: true`, only when set).
    pub regenerate: bool,
}

/// A step of the workflow, as a streamed answer reports it (turned into
/// `progress` frames by `chat::progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A node began a block of the answer (once per run in a loop).
    Began(&'a n8n::stream::Node),
    /// That block ended.
    Ended(&'a n8n::stream::Node),
}

/// What is told of an answer while it is made: its text as it streams, and
/// the workflow's steps.
pub struct Listeners<'a> {
    /// Each new piece of a streamed answer.
    pub chunk: &'a (dyn Fn(&str) + Send + Sync),
    /// Each step that began or ended.
    pub step: &'a (dyn Fn(Step<'_>) + Send + Sync),
}

impl std::fmt::Debug for Listeners<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listeners")
    }
}

/// What answers a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The answer text (streamed pieces went to the listeners already).
    Text(String),
    /// n8n started an execution that answers over its `/chat` socket
    /// (a Chat Trigger "Using Response Nodes"); see [`crate::chat::run`].
    Run {
        /// n8n's execution id — a capability: it never reaches a browser.
        execution_id: String,
    },
}

/// Why no answer could be had. Each maps to one [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponderError {
    /// Connection refused, DNS, TLS, or the connection broke mid-answer.
    #[error("n8n is not reachable: {0}")]
    Unreachable(String),
    /// No answer within the webhook timeout.
    #[error("n8n did not answer within {}", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// A non-2xx status; `detail` is n8n's own explanation when it gave one.
    #[error("n8n answered HTTP {status}{}", detail_suffix(.detail))]
    Status {
        /// The HTTP status.
        status: u16,
        /// n8n's `message` (and `hint`), if any.
        detail: Option<String>,
    },
    /// 2xx, but no answer could be read from the body.
    #[error("n8n's answer could not be read: {0}")]
    InvalidResponse(String),
    /// A streamed answer reported an error (a node failed mid-stream).
    #[error("the workflow failed while answering{}", detail_suffix(.0))]
    StreamError(Option<String>),
    /// The answer grew past `--max-answer-bytes`.
    #[error("n8n's answer is larger than the relay accepts ({limit} bytes, --max-answer-bytes); what arrived before is kept")]
    AnswerTooLarge {
        /// The bound, in bytes.
        limit: usize,
    },
    /// A file of the message is no longer in the upload store (expired
    /// between the message's arrival and its turn): the page uploads it
    /// again; not the message's outcome.
    #[error("the relay no longer has the file \"{0}\"; upload it again")]
    UploadGone(String),
    /// Too many messages are waiting for n8n (`--max-queued-webhooks`).
    #[error("n8n is busy with other messages; try again in {} s", .retry_after.as_secs().max(1))]
    Busy {
        /// When trying again makes sense.
        retry_after: Duration,
    },
    /// The relay is shutting down.
    #[error("the relay is restarting; the message will be sent again after reconnecting")]
    ShuttingDown,
    /// The user pressed Stop: the relay stopped reading n8n's answer.
    #[error("stopped; what arrived before is kept (n8n's execution may still run on)")]
    Cancelled,
}

fn detail_suffix(detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

impl ResponderError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            ResponderError::Unreachable(_) => ErrorCode::WebhookUnreachable,
            ResponderError::Timeout(_) => ErrorCode::WebhookTimeout,
            ResponderError::Status { .. } | ResponderError::StreamError(_) => {
                ErrorCode::WebhookError
            }
            ResponderError::InvalidResponse(_) | ResponderError::AnswerTooLarge { .. } => {
                ErrorCode::WebhookInvalidResponse
            }
            ResponderError::Busy { .. } => ErrorCode::RateLimited,
            ResponderError::UploadGone(_) => ErrorCode::UploadMissing,
            ResponderError::ShuttingDown => ErrorCode::ShuttingDown,
            ResponderError::Cancelled => ErrorCode::Cancelled,
        }
    }
}

/// The answerer the relay was started with.
#[derive(Debug)]
pub enum Responder {
    /// No `--webhook-url`: answer `echo: <text>` locally.
    Echo(Echo),
    /// Forward to n8n.
    Webhook(Box<Webhook>),
}

impl Responder {
    /// n8n when a webhook is set up (`--webhook-url`), echo otherwise.
    pub fn new(webhook: Option<ClientSettings>) -> Result<Self, RelayError> {
        Ok(match webhook {
            None => Responder::Echo(Echo),
            Some(settings) => Responder::Webhook(Box::new(Webhook::new(settings)?)),
        })
    }

    /// n8n's free request slots and the messages waiting for one (`None`
    /// in echo mode), for the operator's metrics.
    pub fn webhook_load(&self) -> Option<(usize, usize)> {
        match self {
            Responder::Echo(_) => None,
            Responder::Webhook(w) => Some(w.load()),
        }
    }

    /// `"echo"` or `"n8n"`, for `/healthz`.
    pub fn mode(&self) -> &'static str {
        match self {
            Responder::Echo(_) => "echo",
            Responder::Webhook(_) => "n8n",
        }
    }

    /// Says at start-up where answers come from.
    pub fn log_mode(&self) {
        match self {
            Responder::Echo(_) => tracing::warn!(
                "no --webhook-url (RELAY_WEBHOOK_URL) given: ECHO MODE, every message is answered \"echo: <text>\" by the relay itself"
            ),
            Responder::Webhook(w) => tracing::info!("forwarding messages to n8n at {}", w.redacted_url()),
        }
    }

    /// The session's earlier messages from n8n's chat memory; `None` in
    /// echo mode (there is no memory to ask).
    pub async fn history(
        &self,
        session_id: &shared::SessionId,
    ) -> Option<Result<Vec<shared::HistoryMessage>, ResponderError>> {
        match self {
            Responder::Echo(_) => None,
            Responder::Webhook(w) => Some(w.load_previous_session(session_id).await),
        }
    }

    /// Opens n8n's chat socket of a run (n8n only).
    pub async fn open_run(
        &self,
        session: &shared::SessionId,
        execution_id: &str,
    ) -> Result<n8n::chat_socket::ChatSocket, String> {
        match self {
            Responder::Echo(_) => Err("echo mode has no runs".into()),
            Responder::Webhook(w) => w.open_run(session, execution_id).await,
        }
    }

    /// Acts on an approval button of a run (n8n only).
    pub async fn choose(&self, link: &str, execution_id: &str) -> Result<(), String> {
        match self {
            Responder::Echo(_) => Err("echo mode has no runs".into()),
            Responder::Webhook(w) => w.choose(link, execution_id).await,
        }
    }

    /// Answers one message. `listen` hears each piece of a streamed answer
    /// and each step as they arrive; the returned text is the whole answer.
    pub async fn answer(
        &self,
        request: &ChatRequest,
        listen: &Listeners<'_>,
    ) -> Result<Answer, ResponderError> {
        match self {
            Responder::Echo(e) => Ok(Answer::Text(e.answer(request))),
            Responder::Webhook(w) => w.answer(request, listen).await,
        }
    }
}
