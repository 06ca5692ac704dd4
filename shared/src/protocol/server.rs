//! The frames the relay sends ([`ServerMessage`]), and the constructors
//! the relay builds them with.

use serde::{Deserialize, Serialize};

use super::decode::RawServerFrame;
use super::{is_false, ChatButton, ConversationItem, DecodeError, ErrorCode, HistoryMessage};
#[cfg(doc)]
use super::{ClientMessage, MAX_PROGRESS_STEPS, MAX_PROGRESS_STEP_CHARS};
use super::{ProgressLabel, QuotaKind, RunState, StepState};
use crate::rich_text::Doc;
#[cfg(doc)]
use crate::validate;

/// How the id of a `push` frame starts (the relay picks the rest): the page
/// tells a pushed message from an answer by it.
pub const PUSH_ID_PREFIX: &str = "push-";

/// A frame the relay sends to the page.
///
/// Decoding goes through a flat struct ([`RawServerFrame`]) instead of
/// serde's internally-tagged enum support: same result, but no buffering of
/// the whole frame into an intermediate tree, which keeps the page's wasm
/// bundle markedly smaller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", try_from = "RawServerFrame")]
pub enum ServerMessage {
    /// Always the first frame on a connection.
    #[serde(rename_all = "camelCase")]
    Connection {
        /// Identifies this one connection (a new one on every connect).
        client_id: String,
        /// The conversation. The page stores it and sends it back in its
        /// [`ClientMessage::Hello`] on every reconnect (older pages:
        /// `?session=`), so answers that arrive while it was
        /// away are delivered and resent messages are not run twice.
        session_id: String,
        /// How often the relay sends [`ServerMessage::Heartbeat`]; a page that
        /// hears nothing for twice this long knows the link is dead.
        heartbeat_ms: u64,
        /// The relay's version.
        version: String,
        /// Largest text frame the relay accepts, in bytes, so the page can
        /// refuse an oversized message before sending it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_message_bytes: Option<u64>,
    },
    /// Sent every heartbeat interval; `ts` is the relay's clock in unix ms.
    Heartbeat {
        /// Relay time, unix milliseconds.
        ts: u64,
    },
    /// The answer to a [`ClientMessage::Ping`].
    Pong {
        /// The ping's `ts`, or the relay's clock in unix ms if the ping had none.
        ts: serde_json::Number,
    },
    /// One piece of a streamed answer. Chunks for an id arrive in order and
    /// are followed by exactly one [`ServerMessage::Response`] with the whole
    /// text (or an [`ServerMessage::Error`]), so a client that ignores chunks
    /// still works.
    Chunk {
        /// The id of the message being answered.
        id: String,
        /// The new text to append.
        text: String,
        /// Bytes of the answer before this piece. A page that reconnects
        /// mid-stream is sent everything so far at offset 0, then the rest
        /// live; with the offset it keeps one bubble and no text twice.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
    },
    /// The workflow's answer to the message with this `id`.
    Response {
        /// The id of the message being answered.
        id: String,
        /// The answer text.
        text: String,
        /// The text as a formatted tree (the relay parses the markdown;
        /// absent from relays that do not, then the page shows plain text).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<Doc>,
    },
    /// Something went wrong; `id` names the message it concerns, or is `null`
    /// for errors about the connection itself (e.g. an unreadable frame).
    Error {
        /// The message this error answers, if any.
        id: Option<String>,
        /// Machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// For `quota_exceeded`: when the quota starts again (unix ms; the
        /// end of the UTC day or hour), so the page can say when.
        #[serde(default, rename = "resetsAt", skip_serializing_if = "Option::is_none")]
        resets_at: Option<u64>,
        /// For `quota_exceeded`: which quota refused the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quota: Option<QuotaKind>,
    },
    /// Earlier messages of this session, loaded from n8n's chat memory.
    History {
        /// Oldest first.
        messages: Vec<HistoryMessage>,
    },
    /// A message the workflow sent on its own, later (e.g. "your report is
    /// ready"), through the relay's push endpoint
    /// (`POST /api/sessions/{sessionId}/messages`). Shown as a bot message.
    /// `id` is chosen by the relay; a page that has seen it ignores it again.
    Push {
        /// Unique per push.
        id: String,
        /// The text (markdown).
        text: String,
        /// The text as a formatted tree (the relay parses the markdown;
        /// absent from relays that do not, then the page shows plain text).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<Doc>,
    },
    /// A message of an n8n Chat node ("Respond to Chat") in the run that
    /// message `id` started. A run may send several, each its own bubble;
    /// `seq` counts them from 1, so a message the page already shows (sent
    /// again after a reconnect) is recognised.
    #[serde(rename_all = "camelCase")]
    Chat {
        /// The message whose run this is.
        id: String,
        /// 1, 2, … within the run.
        seq: u32,
        /// The text (markdown).
        text: String,
        /// The text as a formatted tree (the relay parses the markdown;
        /// absent from relays that do not, then the page shows plain text).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<Doc>,
        /// Buttons to choose from (an approval), in order; answered with
        /// [`ClientMessage::Choice`].
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        buttons: Vec<ChatButton>,
        /// With buttons: typing is not possible until one is pressed
        /// (otherwise a typed reply counts as declining).
        #[serde(default, skip_serializing_if = "is_false")]
        block_user_input: bool,
    },
    /// What the run started by message `id` is doing now: waiting for the
    /// user's reply (the next message typed is that reply), or working.
    Run {
        /// The message whose run this is.
        id: String,
        /// Waiting or working.
        state: RunState,
    },
    /// Message `id` is handled and nothing more will come for it: the run
    /// it started has ended, or it was the reply to a waiting run.
    Done {
        /// The message.
        id: String,
    },
    /// The chat's state as the operator set it: sent to every open
    /// connection when the operator pauses or resumes the chat, and after
    /// the `connection` frame while it is paused. While paused, messages
    /// get [`ErrorCode::Paused`]; the page keeps them and sends them when
    /// `paused` turns false.
    Status {
        /// Whether the chat is paused.
        paused: bool,
    },
    /// Sent after `connection` when the relay asks a new session for proof
    /// of work (`--proof-of-work`): the page answers with a
    /// [`ClientMessage::Proof`] before its messages are accepted. The
    /// challenge is signed by the relay and expires at `expiresAt`.
    #[serde(rename_all = "camelCase")]
    Challenge {
        /// The challenge (opaque to the page).
        challenge: String,
        /// Leading zero bits the hash must have.
        bits: u8,
        /// When it expires (unix ms); the page reconnects for a new one.
        expires_at: u64,
    },
    /// The answer to a [`ClientMessage::Forget`]: how many of the named
    /// sessions the relay forgot (the others were not this connection's to
    /// forget, or not valid ids). Sessions it never knew count as forgotten.
    Forgotten {
        /// Sessions forgotten.
        sessions: u32,
    },
    /// What the workflow answering message `id` is doing now: a step (one
    /// responding node, or one run of it in a loop) began or ended, or the
    /// message waits (for the workflow, for the user's reply). Live only:
    /// never stored, never sent again after a reconnect; a page that misses
    /// some just shows less.
    ///
    /// What to show is `step` (the operator's text, see
    /// `--progress-label`) or else the page's own text for `label`, in the
    /// page's language. n8n's node names are never sent unless the operator
    /// asks (`--show-node-names`).
    Progress {
        /// The message being answered.
        id: String,
        /// Text to show, chosen by the operator (at most
        /// [`MAX_PROGRESS_STEP_CHARS`] characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        /// What the page shows in its language when there is no `step`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<ProgressLabel>,
        /// The step's number within the answer, from 1 (at most
        /// [`MAX_PROGRESS_STEPS`]); absent for waiting states, which are not
        /// steps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u32>,
        /// Running or done.
        state: StepState,
    },
    /// The verified user's conversations kept on the relay, most recently
    /// saved first: sent after the connection is identified (a `hello`
    /// with a token, an `identify`, a sign-in cookie) and in answer to
    /// each [`ClientMessage::SaveConversation`]. Never sent to an
    /// anonymous connection; older pages skip the frame type.
    Conversations {
        /// At most [`validate::MAX_USER_CONVERSATIONS`].
        items: Vec<ConversationItem>,
    },
    /// A frame type this build does not know (sent by a newer relay).
    /// Clients ignore it; it is never sent.
    #[serde(skip_serializing)]
    Unknown,
}

impl ServerMessage {
    /// Decodes one text frame from the relay. Unknown frame types decode to
    /// [`ServerMessage::Unknown`], unknown fields are ignored.
    pub fn decode(frame: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(frame).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    /// The JSON text of this frame ([`ServerMessage::Unknown`] encodes as an
    /// empty string; it is never sent).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Builds an error frame.
    pub fn error(id: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            id,
            code,
            message: message.into(),
            resets_at: None,
            quota: None,
        }
    }

    /// A `quota_exceeded` error for message `id`: `quota` is used up until
    /// `resets_at` (unix ms).
    pub fn quota_exceeded(
        id: String,
        quota: QuotaKind,
        resets_at: u64,
        message: impl Into<String>,
    ) -> Self {
        ServerMessage::Error {
            id: Some(id),
            code: ErrorCode::QuotaExceeded,
            message: message.into(),
            resets_at: Some(resets_at),
            quota: Some(quota),
        }
    }

    /// The id of the chat message this frame answers, for `response`,
    /// `chunk` and `error` frames.
    pub fn answer_id(&self) -> Option<&str> {
        match self {
            ServerMessage::Response { id, .. } | ServerMessage::Chunk { id, .. } => Some(id),
            ServerMessage::Error { id, .. } => id.as_deref(),
            _ => None,
        }
    }
}
