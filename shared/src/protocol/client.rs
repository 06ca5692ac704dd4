//! The frames the page sends ([`ClientMessage`]), and the checks a frame
//! passes when the relay decodes it.

use serde::{Deserialize, Serialize};

use super::{is_false, FileRef, Rating};
#[cfg(doc)]
use super::{ErrorCode, ServerMessage};
use crate::validate;

/// A frame the page sends to the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ClientMessage {
    /// The first frame of a connection opened with `?hello` (the session
    /// handshake): the session to continue, or none for a new one. The
    /// relay answers with [`ServerMessage::Connection`], as it does at once
    /// for connections without `?hello`.
    ///
    /// The session id is a credential; in a frame it stays out of URLs and
    /// so out of every proxy's access log (the older `?session=` query form
    /// is still accepted, deprecated). See docs/protocol.md.
    #[serde(rename_all = "camelCase")]
    Hello {
        /// The session to continue (as the `connection` frame gave it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        /// A signed identity token (JWT) from the host site's backend, on a
        /// relay with verified identity; binds the connection to its user.
        /// In the frame, never in the URL (logs). See docs/protocol.md.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A new identity token for this connection (the host signed a fresh
    /// one after `token_expired`, or the visitor logged in): the relay
    /// checks it and binds the connection to its user, which must be the
    /// user the connection (or its session) already has, if any. Nothing
    /// is answered on success but the user's list of conversations
    /// ([`ServerMessage::Conversations`]); a refused token gets an error
    /// (`invalid_token`, `token_expired`, `session_forbidden`). Messages
    /// sent after it are checked with the new token.
    Identify {
        /// The signed identity token (JWT).
        token: String,
    },
    /// Application-level keep-alive. The relay answers with
    /// [`ServerMessage::Pong`] echoing `ts`, which gives the page its
    /// round-trip time and proves the link is alive end to end (a TCP
    /// connection can be half-open for minutes without either side noticing).
    Ping {
        /// Any number the client likes (usually its clock in ms); echoed back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ts: Option<serde_json::Number>,
    },
    /// A chat message for the workflow.
    ///
    /// `id` is chosen by the client (1..=64 characters of `[A-Za-z0-9_-]`)
    /// and is the message's
    /// identity for its whole life: the answer or error carries it, and the
    /// relay uses it to make sure a message resent after a reconnect reaches
    /// n8n only once.
    Message {
        /// Client-chosen id, 1..=64 characters of `[A-Za-z0-9_-]`.
        id: String,
        /// What the user typed.
        text: String,
        /// Optional context for the workflow (e.g. the page's language and
        /// URL), passed to n8n as `metadata` like n8n's own chat widget does.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<serde_json::Map<String, serde_json::Value>>,
        /// The user asked to try a failed message again. Without it, a
        /// message whose id already failed just gets the same error back, so
        /// an automatic resend after a reconnect never runs it twice.
        #[serde(default, skip_serializing_if = "is_false")]
        retry: bool,
        /// Files uploaded to the relay first (`POST /api/uploads`), in
        /// order; they reach n8n as the Chat Trigger's `files`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<FileRef>,
        /// The user asked for another answer to an earlier message: this
        /// is its text again under a new id (so it runs once, like any new
        /// message), and n8n is told (`regenerate: true` in its body) so a
        /// workflow can answer differently.
        #[serde(default, skip_serializing_if = "is_false")]
        regenerate: bool,
    },
    /// The user pressed a button of a [`ServerMessage::Chat`] message (an
    /// approval). The relay acts on it once per message, however often the
    /// page sends it.
    Choice {
        /// The id of the message whose run asked.
        id: String,
        /// The chat message's `seq`.
        seq: u32,
        /// Which button, counted from 0 in the order they were sent.
        button: u32,
    },
    /// The user pressed Stop while message `id` was being answered: the
    /// relay stops reading n8n's answer (what arrived stays), and the
    /// message ends in a [`ErrorCode::Cancelled`] error — kept like any
    /// outcome, so a resend of the id does not run it again (a `retry`
    /// does). n8n's execution itself runs on unless the workflow checks.
    Cancel {
        /// The message to stop.
        id: String,
    },
    /// The user rated the answer to message `id` (`None`: took the rating
    /// back). The relay passes it to `--feedback-url`; the page never
    /// talks to that URL itself.
    Feedback {
        /// The message whose answer is rated.
        id: String,
        /// 👍 or 👎.
        rating: Option<Rating>,
    },
    /// The answer to a [`ServerMessage::Challenge`] (`--proof-of-work`): a
    /// `nonce` such that SHA-256 of `challenge + ":" + nonce` starts with
    /// the challenge's `bits` zero bits. Until one is accepted, the
    /// connection's messages get `proof_required`.
    Proof {
        /// The challenge, as the relay sent it.
        challenge: String,
        /// The solution (at most 32 characters; the page counts in decimal).
        nonce: String,
    },
    /// Forget conversations (a deleted conversation, `n8nChat.forgetMe()`):
    /// the relay drops what its store keeps of each session (answers kept
    /// for resends, pushes waiting) and answers [`ServerMessage::Forgotten`].
    /// Without `sessions`, the connection's own session; with it, exactly
    /// those (a page forgets its other conversations from the one open
    /// socket). Knowing a session id is what resuming it takes, so it is
    /// also what forgetting it takes — except a session owned by a verified
    /// user, which only that user's connection may forget.
    Forget {
        /// The sessions to forget (at most 100), if not the connection's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sessions: Option<Vec<String>>,
    },
    /// Adds or updates a conversation in the verified user's list on the
    /// relay (so it follows the user to another browser): its session and
    /// title; the relay stamps when. Answered by
    /// [`ServerMessage::Conversations`]; an anonymous connection, or a
    /// session of another user, gets `session_forbidden` and nothing is
    /// stored. Pages send it only to relays that sent a `conversations`
    /// frame (older relays answer unknown frames with `invalid_message`).
    SaveConversation {
        /// The conversation's session id.
        session: String,
        /// Its title (trimmed; at most [`validate::MAX_CONVERSATION_TITLE_CHARS`]
        /// characters; may be empty while it has none).
        title: String,
    },
}

/// Why a text frame could not be read as a [`ClientMessage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, not an object, unknown `type` or a missing/mistyped field.
    #[error("not a valid message: {0}")]
    Malformed(String),
    /// The `id` of a `message` is empty, longer than 64 characters, or has
    /// a character outside `[A-Za-z0-9_-]`.
    #[error("message id must be 1 to {max} characters of A-Z, a-z, 0-9, '_' and '-'", max = validate::MAX_MESSAGE_ID_CHARS)]
    BadId,
    /// The `text` of a `message` is empty or only white space.
    #[error("message text must not be empty")]
    EmptyText,
    /// The `session` of a `saveConversation` is not a session id.
    #[error("session ids are 1 to {max} characters of A-Z, a-z, 0-9, '_' and '-'", max = validate::MAX_SESSION_ID_CHARS)]
    BadSession,
    /// The `title` of a `saveConversation` is too long.
    #[error("a conversation title is at most {max} characters", max = validate::MAX_CONVERSATION_TITLE_CHARS)]
    TitleTooLong,
}

impl ClientMessage {
    /// Decodes and validates one text frame from a client.
    pub fn decode(frame: &str) -> Result<Self, DecodeError> {
        let msg: ClientMessage =
            serde_json::from_str(frame).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if let ClientMessage::Message {
            id, text, files, ..
        } = &msg
        {
            if !validate::is_valid_message_id(id) {
                return Err(DecodeError::BadId);
            }
            // A message may be only files (n8n then gets an empty chatInput).
            if text.trim().is_empty() && files.is_empty() {
                return Err(DecodeError::EmptyText);
            }
        }
        if let ClientMessage::SaveConversation { session, title } = &msg {
            if !validate::is_valid_session_id(session) {
                return Err(DecodeError::BadSession);
            }
            if !validate::is_valid_conversation_title(title) {
                return Err(DecodeError::TitleTooLong);
            }
        }
        if let ClientMessage::Choice { id, .. }
        | ClientMessage::Cancel { id }
        | ClientMessage::Feedback { id, .. } = &msg
        {
            if !validate::is_valid_message_id(id) {
                return Err(DecodeError::BadId);
            }
        }
        Ok(msg)
    }

    /// The JSON text of this frame.
    pub fn encode(&self) -> String {
        // Serializing these plain types cannot fail (string keys, no maps
        // with non-string keys, no custom Serialize impls).
        serde_json::to_string(self).unwrap_or_default()
    }
}
