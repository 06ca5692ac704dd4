//! One line of the conversation: who it is from, where a user message
//! is, and everything a line carries.

use serde::{Deserialize, Serialize};
use shared::rich_text::Doc;
use shared::{ChatButton, ErrorCode};
use strum::IntoStaticStr;

use crate::model::attachments::Attachment;

/// Ids of lines from n8n's memory (`history` frame).
pub(super) const HISTORY_PREFIX: &str = "history-";

/// Who a line is from. Serialized names are the `data-role` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    /// The person chatting.
    User,
    /// The workflow's answer.
    Bot,
    /// An error answering a user message.
    Error,
    /// A note from the page itself.
    System,
}

impl Role {
    /// The `data-role` value (its serde name).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Where a user message is. Names are the `data-state` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Delivery {
    /// Waiting for the link.
    Queued,
    /// On the wire; waiting for the answer.
    Sent,
    /// Answered.
    Answered,
    /// Ended in an error (retry possible).
    Failed,
    /// The user stopped its answer (what arrived stays; retry possible).
    Stopped,
}

impl Delivery {
    /// The `data-state` value (its serde name).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Still waiting for an outcome (in the outbox).
    pub fn is_pending(self) -> bool {
        matches!(self, Delivery::Queued | Delivery::Sent)
    }
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The user message's id; answers and errors carry the id they answer.
    pub id: String,
    /// Who it is from.
    pub role: Role,
    /// The text.
    pub text: String,
    /// For user lines: delivery state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// For error lines: the error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    /// For bot lines: still receiving streamed chunks.
    #[serde(default)]
    pub streaming: bool,
    /// For sent user lines: when (ms) it went out, to show how long the
    /// answer is taking (AI agents can take minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<u64>,
    /// For user lines: the user asked to retry after an error; sent as
    /// `retry: true` until the new outcome arrives.
    #[serde(default)]
    pub retry: bool,
    /// For a run's chat messages: their number in the run (1, 2, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    /// For a run's chat messages: the buttons to choose from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ChatButton>,
    /// With buttons: typing does not answer (a button must be used).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub block_input: bool,
    /// The button the user pressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<u32>,
    /// For answers: the user's 👍/👎.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<shared::Rating>,
    /// For bot lines: the text as the relay formatted it (absent while
    /// streaming, and from relays that do not format: shown as plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<Doc>,
    /// For user lines: attached files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// When it was written or arrived (ms since the epoch); `None` for
    /// lines from n8n's memory (their time is not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
    /// For `quota_exceeded` lines: when the quota resets (ms since the
    /// epoch) and which quota it was, for the sentence the page shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<u64>,
    /// See [`Line::resets_at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<shared::QuotaKind>,
    /// For user lines: what the workflow did for it (`progress` frames).
    /// Not saved: a reload forgets the steps (their serde code would cost
    /// the page's wasm several KB for a detail).
    #[serde(skip)]
    pub progress: crate::model::progress::Progress,
    /// For user lines sent by "Regenerate": the id of the first message
    /// of the group (whose text this repeats); see [`crate::model::answers`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regenerates: Option<String>,
    /// For the first message of a regenerated group: the id whose answer
    /// is shown (`None`: the newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_answer: Option<String>,
}

impl Line {
    /// A complete answer to a user message (not a push, a run's message or
    /// a line from memory): what 👍/👎 are for.
    pub fn is_rateable(&self) -> bool {
        self.role == Role::Bot
            && !self.streaming
            && self.seq.is_none()
            && !self.id.starts_with(shared::PUSH_ID_PREFIX)
            && !self.id.starts_with(HISTORY_PREFIX)
    }

    /// New, and not from n8n's memory (whose lines have no time).
    pub(super) fn unstamped(&self) -> bool {
        self.at.is_none() && !self.id.starts_with(HISTORY_PREFIX)
    }

    /// A line with no delivery state, code or streaming flag.
    pub(super) fn new(id: &str, role: Role, text: &str) -> Self {
        Line {
            id: id.to_owned(),
            role,
            text: text.to_owned(),
            delivery: None,
            code: None,
            streaming: false,
            sent_at: None,
            retry: false,
            seq: None,
            buttons: Vec::new(),
            block_input: false,
            chosen: None,
            attachments: Vec::new(),
            at: None,
            rating: None,
            doc: None,
            resets_at: None,
            quota: None,
            progress: Default::default(),
            regenerates: None,
            shown_answer: None,
        }
    }
}
