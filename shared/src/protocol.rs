//! The frames of the chat protocol.
//!
//! Page → relay: [`ClientMessage`]. Relay → page: [`ServerMessage`].
//! The exact bytes of each frame are pinned by the golden tests in
//! `shared/tests/golden/`.

use serde::{Deserialize, Serialize};

use crate::rich_text::Doc;
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

/// One conversation of a verified user's list on the relay (see
/// [`ServerMessage::Conversations`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationItem {
    /// Its session id (the user's own: lists go only to their user).
    pub session: String,
    /// Its title (may be empty).
    pub title: String,
    /// When it was last saved (unix ms, the relay's clock).
    pub updated_at: u64,
}

/// A user's rating of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    /// 👍
    Up,
    /// 👎
    Down,
}

/// A file a message carries: the upload's id (what the relay acts on) and,
/// for showing it, its name, type and size as the page knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The id `POST /api/uploads` answered.
    pub upload: String,
    /// The file's name.
    pub name: String,
    /// Its MIME type.
    #[serde(rename = "type")]
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
}

/// What `POST /api/uploads` answers for a stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    /// The upload's id, for [`FileRef::upload`].
    pub id: String,
    /// The name as the relay keeps it (made safe).
    pub name: String,
    /// The MIME type the relay checked.
    #[serde(rename = "type")]
    pub mime: String,
    /// Bytes stored.
    pub size: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

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

/// A button of a [`ServerMessage::Chat`] message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatButton {
    /// The label.
    pub text: String,
    /// How prominent it is.
    #[serde(default)]
    pub style: ButtonStyle,
}

/// How prominent a [`ChatButton`] is (n8n: the approve button is primary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonStyle {
    /// The main choice.
    Primary,
    /// The other choices.
    #[default]
    Secondary,
}

/// What a run is doing (see [`ServerMessage::Run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Waiting for the user's reply (or a button).
    Waiting,
    /// Working; the user's messages wait their turn.
    Working,
}

/// Most steps one answer reports (more are not sent): a workflow looping
/// over a thousand items must not send a thousand frames, nor make the
/// page keep a thousand lines.
pub const MAX_PROGRESS_STEPS: u32 = 50;

/// Longest `step` text of a [`ServerMessage::Progress`], in characters.
pub const MAX_PROGRESS_STEP_CHARS: usize = 80;

/// A state the page names in its own language (see
/// [`ServerMessage::Progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProgressLabel {
    /// A workflow step without an operator's text: "Working…".
    Working,
    /// The message went to n8n; no step reported yet: "Waiting for the
    /// workflow…".
    Workflow,
    /// A "Respond to Chat" run asked the user: "Waiting for your reply".
    Reply,
    /// The message waits for the session's earlier one: "Waiting for the
    /// previous message…".
    Queued,
    /// A label this build does not know (sent by a newer relay).
    #[serde(other)]
    Unknown,
}

/// Whether a step of a [`ServerMessage::Progress`] is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    /// Began, not ended.
    Running,
    /// Ended.
    Done,
}

/// Every field any relay frame may have, for decoding [`ServerMessage`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServerFrame {
    #[serde(rename = "type")]
    kind: String,
    client_id: Option<String>,
    session_id: Option<String>,
    heartbeat_ms: Option<u64>,
    version: Option<String>,
    max_message_bytes: Option<u64>,
    ts: Option<serde_json::Number>,
    id: Option<String>,
    text: Option<String>,
    code: Option<ErrorCode>,
    message: Option<String>,
    resets_at: Option<u64>,
    quota: Option<QuotaKind>,
    messages: Option<Vec<HistoryMessage>>,
    seq: Option<u32>,
    #[serde(default)]
    buttons: Vec<ChatButton>,
    #[serde(default)]
    block_user_input: bool,
    state: Option<String>,
    offset: Option<u64>,
    doc: Option<Doc>,
    paused: Option<bool>,
    challenge: Option<String>,
    bits: Option<u8>,
    expires_at: Option<u64>,
    sessions: Option<u32>,
    step: Option<String>,
    label: Option<ProgressLabel>,
    items: Option<Vec<ConversationItem>>,
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{field}`"))
}

impl TryFrom<RawServerFrame> for ServerMessage {
    type Error = String;

    fn try_from(raw: RawServerFrame) -> Result<Self, String> {
        Ok(match raw.kind.as_str() {
            "connection" => ServerMessage::Connection {
                client_id: required(raw.client_id, "clientId")?,
                session_id: required(raw.session_id, "sessionId")?,
                heartbeat_ms: required(raw.heartbeat_ms, "heartbeatMs")?,
                version: required(raw.version, "version")?,
                max_message_bytes: raw.max_message_bytes,
            },
            "heartbeat" => ServerMessage::Heartbeat {
                ts: required(raw.ts.and_then(|n| n.as_u64()), "ts")?,
            },
            "pong" => ServerMessage::Pong {
                ts: required(raw.ts, "ts")?,
            },
            "chunk" => ServerMessage::Chunk {
                id: required(raw.id, "id")?,
                text: required(raw.text, "text")?,
                offset: raw.offset,
            },
            "response" => ServerMessage::Response {
                id: required(raw.id, "id")?,
                text: required(raw.text, "text")?,
                doc: raw.doc,
            },
            "error" => ServerMessage::Error {
                id: raw.id,
                code: required(raw.code, "code")?,
                message: required(raw.message, "message")?,
                resets_at: raw.resets_at,
                quota: raw.quota,
            },
            "push" => ServerMessage::Push {
                id: required(raw.id, "id")?,
                text: required(raw.text, "text")?,
                doc: raw.doc,
            },
            "history" => ServerMessage::History {
                messages: required(raw.messages, "messages")?,
            },
            "chat" => ServerMessage::Chat {
                id: required(raw.id, "id")?,
                seq: required(raw.seq, "seq")?,
                text: required(raw.text, "text")?,
                doc: raw.doc,
                buttons: raw.buttons,
                block_user_input: raw.block_user_input,
            },
            "run" => ServerMessage::Run {
                id: required(raw.id, "id")?,
                state: match required(raw.state, "state")?.as_str() {
                    "waiting" => RunState::Waiting,
                    "working" => RunState::Working,
                    other => return Err(format!("unknown run state `{other}`")),
                },
            },
            "progress" => ServerMessage::Progress {
                id: required(raw.id, "id")?,
                step: raw.step,
                label: raw.label,
                seq: raw.seq,
                state: match required(raw.state, "state")?.as_str() {
                    "running" => StepState::Running,
                    "done" => StepState::Done,
                    other => return Err(format!("unknown step state `{other}`")),
                },
            },
            "done" => ServerMessage::Done {
                id: required(raw.id, "id")?,
            },
            "status" => ServerMessage::Status {
                paused: required(raw.paused, "paused")?,
            },
            "forgotten" => ServerMessage::Forgotten {
                sessions: required(raw.sessions, "sessions")?,
            },
            "conversations" => ServerMessage::Conversations {
                items: required(raw.items, "items")?,
            },
            "challenge" => ServerMessage::Challenge {
                challenge: required(raw.challenge, "challenge")?,
                bits: required(raw.bits, "bits")?,
                expires_at: required(raw.expires_at, "expiresAt")?,
            },
            _ => ServerMessage::Unknown,
        })
    }
}

/// Who said a [`HistoryMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// The person chatting.
    User,
    /// The workflow.
    Bot,
}

/// One earlier message of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryMessage {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub text: String,
    /// A bot text as a formatted tree (see [`ServerMessage::Response`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Doc>,
}

/// Which quota refused a message (`quota_exceeded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The wire name, e.g. `"budget"`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Visitor => "visitor",
            QuotaKind::Address => "address",
            QuotaKind::Budget => "budget",
            QuotaKind::Unknown => "unknown",
        }
    }
}

/// Why a message (or frame) failed. Serialized in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The wire name, e.g. `"webhook_timeout"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::InvalidSession => "invalid_session",
            ErrorCode::WebhookUnreachable => "webhook_unreachable",
            ErrorCode::WebhookTimeout => "webhook_timeout",
            ErrorCode::WebhookError => "webhook_error",
            ErrorCode::WebhookInvalidResponse => "webhook_invalid_response",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::UnsupportedFileType => "unsupported_file_type",
            ErrorCode::UploadMissing => "upload_missing",
            ErrorCode::TooManyFiles => "too_many_files",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::AnswerLost => "answer_lost",
            ErrorCode::Interrupted => "interrupted",
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::Paused => "paused",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::ProofRequired => "proof_required",
            ErrorCode::ProofInvalid => "proof_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::SessionForbidden => "session_forbidden",
            ErrorCode::Unknown => "unknown",
        }
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
