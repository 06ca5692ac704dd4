//! Why a message failed: [`ErrorCode`], and for a quota's refusal which
//! quota ([`QuotaKind`]).

#[cfg(doc)]
use super::ServerMessage;
use serde::{Deserialize, Serialize};
use strum::IntoStaticStr;

/// Which quota refused a message (`quota_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum QuotaKind {
    /// Messages of one visitor (`--quota-visitor`).
    Visitor,
    /// Messages from one client address (`--quota-address`).
    Address,
    /// The whole chat's messages (`--daily-budget`): everyone is refused.
    Budget,
    /// A quota this build does not know (sent by a newer relay).
    #[serde(other)]
    Unknown,
}

impl QuotaKind {
    /// The wire name, e.g. `"budget"` (the serde name: one list).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Why a message (or frame) failed. Serialized in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a valid client message (bad JSON, unknown type,
    /// missing field, binary frame, bad id).
    InvalidMessage,
    /// The frame was larger than the relay's `--max-message-bytes`.
    TooLarge,
    /// The session asked for on connect (in the `hello`, or the deprecated
    /// `?session=`) was not a valid session id; the relay started a new
    /// session instead.
    InvalidSession,
    /// n8n could not be reached (connection refused, DNS, TLS…).
    WebhookUnreachable,
    /// n8n did not answer within `--webhook-timeout`.
    WebhookTimeout,
    /// n8n answered with a non-2xx status.
    WebhookError,
    /// n8n answered 2xx but with a body no answer could be read from.
    WebhookInvalidResponse,
    /// The relay is shutting down and could not finish this message.
    ShuttingDown,
    /// The client is sending faster than allowed.
    RateLimited,
    /// A file's type is not allowed (`--allowed-file-types`), or its bytes
    /// are not what its type says.
    UnsupportedFileType,
    /// A message names an upload the relay does not have (restarted, kept
    /// too long, or another relay): upload the file again, then resend.
    UploadMissing,
    /// More files than `--max-files-per-message`.
    TooManyFiles,
    /// The user stopped the answer (`cancel`); what arrived before is kept.
    Cancelled,
    /// The message was answered, but the relay no longer keeps the answer
    /// (its session was forgotten to make room): it only remembers that
    /// the id was seen, so a resend is not run a second time.
    AnswerLost,
    /// The message was being answered when the relay stopped (crashed,
    /// killed): whether n8n ran it cannot be known, so it is not run again
    /// unless the user asks (`retry`). Retryable.
    Interrupted,
    /// The relay could not write down that the message is being answered
    /// (its disk is full, or its database unwritable): not sent to n8n.
    /// Retryable.
    StoreUnavailable,
    /// The operator paused the chat: the message was not sent to n8n. The
    /// page keeps it and sends it again after a `status` frame with
    /// `paused: false` (see [`ServerMessage::Status`]).
    Paused,
    /// A quota of a public chat (`--quota-visitor`, `--quota-address`,
    /// `--daily-budget`) is used up: the message was not sent to n8n. The
    /// error's `resetsAt` says when it may be sent again, `quota` which
    /// quota it was; the page keeps the message and sends it again later.
    QuotaExceeded,
    /// `--proof-of-work` is on and this connection has not answered its
    /// `challenge` yet: the message was not accepted (the page keeps it and
    /// sends it after its `proof`).
    ProofRequired,
    /// The `proof` was not accepted: wrong, expired, already used, or a
    /// challenge this relay did not make. The connection's messages stay
    /// refused; a new connection gets a new challenge.
    ProofInvalid,
    /// The connection's identity token has expired (or the one given has):
    /// the message was not run; the page asks the host for a new token
    /// (`tokenExpired`), sends it in an `identify`, then resends.
    TokenExpired,
    /// An identity token was refused: forged, signed with another key or
    /// algorithm, malformed, or the relay cannot check tokens right now.
    InvalidToken,
    /// The session asked for belongs to another user (or, on a relay with
    /// verified identity, is not known to it): the relay started a new
    /// session instead. A session id alone never opens a user's session.
    SessionForbidden,
    /// A code this build does not know (sent by a newer relay).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The wire name, e.g. `"webhook_timeout"` (the serde name: one list).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether sending the same message again may succeed (the page offers a
    /// retry button for these).
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            ErrorCode::InvalidMessage
                | ErrorCode::TooLarge
                | ErrorCode::UnsupportedFileType
                | ErrorCode::TooManyFiles
                | ErrorCode::AnswerLost
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
