//! The types frames carry: files and uploads, buttons, ratings, earlier
//! messages, what a run and a step are doing, a user's conversations.

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::ServerMessage;
use crate::rich_text::Doc;

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
