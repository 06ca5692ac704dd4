//! The contract between the chat page and the relay.
//!
//! Everything that crosses the WebSocket is defined here once and used by
//! both sides, so the two can never disagree about a field name:
//!
//! - [`protocol`]: the frames themselves — [`ClientMessage`] (page → relay)
//!   and [`ServerMessage`] (relay → page), with [`ErrorCode`].
//! - [`page_config`]: `/config.json`, the deployment's settings for the
//!   page (title, welcome, language, streaming, placeholder).
//! - [`rich_text`]: formatted bot texts as a typed tree (the relay parses
//!   the markdown, the page renders the tree; no HTML string anywhere).
//! - [`proof`]: the proof-of-work rule (what is hashed, how many zero
//!   bits solve it) that the page's search and the relay's check share.
//! - [`validate`]: the limits both sides enforce on ids and session ids.
//! - [`timing`]: the agreed intervals (ping, heartbeat, pong timeout) and the
//!   reconnect backoff schedule, as pure functions.
//!
//! Frames are JSON text, one object each, tagged by `"type"`, with camelCase
//! fields. Unknown fields are ignored and unknown frame types decode to an
//! `Unknown` variant, so either side can grow without breaking the other.

pub mod ids;
pub mod page_config;
pub mod proof;
pub mod protocol;
pub mod rich_text;
pub mod timing;
pub mod validate;

pub use ids::{MessageId, SessionId};
pub use page_config::{PageConfig, UploadRules, MAX_SUGGESTIONS, MAX_SUGGESTION_CHARS};
pub use protocol::PUSH_ID_PREFIX;
pub use protocol::{
    ButtonStyle, ChatButton, ClientMessage, ConversationItem, DecodeError, ErrorCode, FileRef,
    HistoryMessage, QuotaKind, Rating, Role, RunState, ServerMessage, Uploaded,
};
pub use protocol::{ProgressLabel, StepState, MAX_PROGRESS_STEPS, MAX_PROGRESS_STEP_CHARS};
