//! Reading a relay frame: every field any frame may have in one flat
//! struct, then the variant its `type` names (see [`ServerMessage`] for
//! why not serde's tagged enums).

use serde::Deserialize;

use super::{ChatButton, ConversationItem, ErrorCode, HistoryMessage, ProgressLabel, QuotaKind};
use super::{RunState, ServerMessage, StepState};
use crate::rich_text::Doc;

/// Every field any relay frame may have, for decoding [`ServerMessage`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawServerFrame {
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
