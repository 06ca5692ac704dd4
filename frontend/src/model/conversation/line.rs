//! One line of the conversation: what every line has, and what only the
//! lines of one role carry (a user message's delivery, a bot line's
//! formatted text, an error's code) — each role its own type, so a field
//! cannot be set on a line it means nothing for.
//!
//! Saved as before: one flat object per line (`Stored`), converted when
//! loaded and saved, so conversations in visitors' browsers keep loading
//! and what is saved does not change.

use serde::{Deserialize, Serialize};
use shared::rich_text::Doc;
use shared::{ChatButton, ErrorCode, QuotaKind, Rating};
use strum::IntoStaticStr;

use crate::model::attachments::Attachment;
use crate::model::progress::Progress;

/// Ids of lines from n8n's memory (`history` frame).
pub(super) const HISTORY_PREFIX: &str = "history-";

/// Who a line is from ([`Line::role`], from its [`Kind`]). Serialized
/// names are the `data-role` values.
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "Stored")]
pub struct Line {
    /// The user message's id; answers and errors carry the id they answer.
    pub id: String,
    /// The text.
    pub text: String,
    /// When it was written or arrived (ms since the epoch); `None` for
    /// lines from n8n's memory (their time is not known).
    pub at: Option<u64>,
    /// Who it is from, with what only that role's lines carry.
    pub kind: Kind,
}

/// Who a line is from, and what only lines of that role carry. A type per
/// role rather than one struct with every role's fields: a bot line cannot
/// get a delivery state nor a user line a rating, and a `match` shows what
/// each role has. [`Line::role`] names the variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The person chatting: a message on its way or answered.
    User(UserLine),
    /// The workflow's answer, a message it pushed, or one of its run's.
    Bot(BotLine),
    /// An error answering a user message.
    Error(ErrorLine),
    /// A note from the page itself.
    System,
}

/// What a user message carries beyond its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLine {
    /// Where it is.
    pub delivery: Delivery,
    /// When (ms) it went out, to show how long the answer is taking (AI
    /// agents can take minutes).
    pub sent_at: Option<u64>,
    /// The user asked to retry after an error; sent as `retry: true` until
    /// the new outcome arrives.
    pub retry: bool,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// What the workflow did for it (`progress` frames). Not saved: a
    /// reload forgets the steps (their serde code would cost the page's
    /// wasm several KB for a detail).
    pub progress: Progress,
    /// Sent by "Regenerate": the id of the first message of the group
    /// (whose text this repeats); see [`crate::model::answers`].
    pub regenerates: Option<String>,
    /// For the first message of a regenerated group: the id whose answer
    /// is shown (`None`: the newest).
    pub shown_answer: Option<String>,
}

/// What a bot line carries beyond its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotLine {
    /// Still receiving streamed chunks.
    pub streaming: bool,
    /// The text as the relay formatted it (absent while streaming, and from
    /// relays that do not format: shown as plain text).
    pub doc: Option<Doc>,
    /// For answers: the user's 👍/👎.
    pub rating: Option<Rating>,
    /// For a run's chat messages: their number and buttons.
    pub run: Option<RunMessage>,
}

/// A chat message of a run (n8n's Respond to Chat): its number in the
/// run, and the buttons it asks the user to choose from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMessage {
    /// Its number in the run (1, 2, …).
    pub seq: u32,
    /// The buttons to choose from.
    pub buttons: Vec<ChatButton>,
    /// With buttons: typing does not answer (a button must be used).
    pub block_input: bool,
    /// The button the user pressed.
    pub chosen: Option<u32>,
}

/// What an error line carries beyond its text (the relay's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLine {
    /// The error code.
    pub code: ErrorCode,
    /// For `quota_exceeded`: when the quota resets (ms since the epoch) and
    /// which quota it was, for the sentence the page shows.
    pub resets_at: Option<u64>,
    /// See [`ErrorLine::resets_at`].
    pub quota: Option<QuotaKind>,
}

impl Line {
    /// A new line (its time is stamped later).
    pub(super) fn new(id: &str, text: &str, kind: Kind) -> Self {
        Line {
            id: id.to_owned(),
            text: text.to_owned(),
            at: None,
            kind,
        }
    }

    /// Who it is from.
    pub fn role(&self) -> Role {
        match self.kind {
            Kind::User(_) => Role::User,
            Kind::Bot(_) => Role::Bot,
            Kind::Error(_) => Role::Error,
            Kind::System => Role::System,
        }
    }

    /// What a user line carries (`None` for other lines).
    pub fn user(&self) -> Option<&UserLine> {
        match &self.kind {
            Kind::User(user) => Some(user),
            _ => None,
        }
    }

    /// See [`Line::user`].
    pub fn user_mut(&mut self) -> Option<&mut UserLine> {
        match &mut self.kind {
            Kind::User(user) => Some(user),
            _ => None,
        }
    }

    /// What a bot line carries (`None` for other lines).
    pub fn bot(&self) -> Option<&BotLine> {
        match &self.kind {
            Kind::Bot(bot) => Some(bot),
            _ => None,
        }
    }

    /// See [`Line::bot`].
    pub fn bot_mut(&mut self) -> Option<&mut BotLine> {
        match &mut self.kind {
            Kind::Bot(bot) => Some(bot),
            _ => None,
        }
    }

    /// What an error line carries (`None` for other lines).
    pub fn error(&self) -> Option<&ErrorLine> {
        match &self.kind {
            Kind::Error(error) => Some(error),
            _ => None,
        }
    }

    /// A user message still waiting for its outcome (in the outbox).
    pub fn is_pending(&self) -> bool {
        self.user().is_some_and(UserLine::is_pending)
    }

    /// A complete answer to a user message (not a push, a run's message or
    /// a line from memory): what 👍/👎 are for.
    pub fn is_rateable(&self) -> bool {
        self.bot().is_some_and(BotLine::is_complete_answer)
            && !self.id.starts_with(shared::PUSH_ID_PREFIX)
            && !self.id.starts_with(HISTORY_PREFIX)
    }

    /// New, and not from n8n's memory (whose lines have no time).
    pub(super) fn unstamped(&self) -> bool {
        self.at.is_none() && !self.id.starts_with(HISTORY_PREFIX)
    }
}

impl UserLine {
    /// A message in `delivery`, with `attachments` and nothing else yet.
    pub(super) fn new(delivery: Delivery, attachments: Vec<Attachment>) -> Self {
        UserLine {
            delivery,
            sent_at: None,
            retry: false,
            attachments,
            progress: Progress::default(),
            regenerates: None,
            shown_answer: None,
        }
    }

    /// Still waiting for an outcome (in the outbox).
    pub fn is_pending(&self) -> bool {
        self.delivery.is_pending()
    }

    /// Its outcome arrived (`Answered`, `Failed` or `Stopped`): a retry
    /// asked for is done.
    pub(super) fn settle(&mut self, delivery: Delivery) {
        self.delivery = delivery;
        self.retry = false;
    }

    /// Written to the socket at `now` (ms since the epoch): only a queued
    /// message becomes sent (one already answered stays answered).
    pub(super) fn mark_sent(&mut self, now: f64) {
        if self.delivery == Delivery::Queued {
            self.delivery = Delivery::Sent;
            self.sent_at = Some(now.max(0.0) as u64);
        }
    }

    /// The relay no longer has its files: each is to be uploaded again,
    /// and a pending message sent again after.
    pub(super) fn forget_uploads(&mut self) {
        for a in &mut self.attachments {
            a.upload = None;
        }
        if self.is_pending() {
            self.delivery = Delivery::Queued;
        }
    }

    /// The user retries it: queued again, flagged for the relay to run it
    /// again, and the failed attempt's steps forgotten (the new run's step
    /// 1 is not the old one's).
    pub(super) fn queue_retry(&mut self) {
        self.delivery = Delivery::Queued;
        self.retry = true;
        self.progress = Progress::default();
    }

    /// On the wire but its answer will not come over this link: queued to
    /// be sent again.
    pub(super) fn requeue(&mut self) {
        if self.delivery == Delivery::Sent {
            self.delivery = Delivery::Queued;
        }
    }
}

impl BotLine {
    /// A bot line with its formatted text (if the relay formatted it).
    pub(super) fn formatted(doc: Option<&Doc>) -> Self {
        BotLine {
            doc: doc.cloned(),
            ..BotLine::default()
        }
    }

    /// Complete (not streaming) and not one of a run's messages.
    fn is_complete_answer(&self) -> bool {
        !self.streaming && self.run.is_none()
    }

    /// The user's 👍/👎: `rating`, or none if it is the same again.
    pub(super) fn rate(&mut self, rating: Rating) -> Option<Rating> {
        self.rating = if self.rating == Some(rating) {
            None
        } else {
            Some(rating)
        };
        self.rating
    }
}

impl RunMessage {
    /// Presses `button` if none was pressed and it exists; whether it was.
    pub(super) fn choose(&mut self, button: u32) -> bool {
        if self.chosen.is_some() || button as usize >= self.buttons.len() {
            return false;
        }
        self.chosen = Some(button);
        true
    }

    /// Buttons the user may still press (none pressed yet).
    pub(super) fn asks(&self) -> bool {
        !self.buttons.is_empty() && self.chosen.is_none()
    }
}

/// A line as the browser's storage holds it: one flat object, the fields
/// of every role side by side, as the page saved lines before each role had
/// its own type — so conversations saved then keep loading, and what is
/// saved now is the same byte for byte.
///
/// Read through this struct (`From<Stored> for Line`); written by
/// [`Line`]'s `Serialize`, which writes the same fields in the same order
/// straight from the line: a derived `Serialize` here would need each line
/// cloned into a `Stored` on every save, and costs the page's wasm more.
/// The order of the fields, the two always written (`streaming`, `retry`)
/// and the others left out when empty must stay as they were; the
/// persistence tests pin them.
#[derive(Deserialize)]
struct Stored {
    id: String,
    role: Role,
    text: String,
    #[serde(default)]
    delivery: Option<Delivery>,
    #[serde(default)]
    code: Option<ErrorCode>,
    #[serde(default)]
    streaming: bool,
    #[serde(default)]
    sent_at: Option<u64>,
    #[serde(default)]
    retry: bool,
    #[serde(default)]
    seq: Option<u32>,
    #[serde(default)]
    buttons: Vec<ChatButton>,
    #[serde(default)]
    block_input: bool,
    #[serde(default)]
    chosen: Option<u32>,
    #[serde(default)]
    rating: Option<Rating>,
    #[serde(default)]
    doc: Option<Doc>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    at: Option<u64>,
    #[serde(default)]
    resets_at: Option<u64>,
    #[serde(default)]
    quota: Option<QuotaKind>,
    #[serde(default)]
    regenerates: Option<String>,
    #[serde(default)]
    shown_answer: Option<String>,
}

impl From<Stored> for Line {
    /// Fields that mean nothing for the line's role are dropped (the page
    /// never saved any). Every user line was saved with its delivery and
    /// every error line with its code; should one lack it, the user line
    /// counts as answered (never resent by surprise) and the error as an
    /// unknown one.
    fn from(s: Stored) -> Self {
        let kind = match s.role {
            Role::User => Kind::User(UserLine {
                delivery: s.delivery.unwrap_or(Delivery::Answered),
                sent_at: s.sent_at,
                retry: s.retry,
                attachments: s.attachments,
                progress: Progress::default(),
                regenerates: s.regenerates,
                shown_answer: s.shown_answer,
            }),
            Role::Bot => Kind::Bot(BotLine {
                streaming: s.streaming,
                doc: s.doc,
                rating: s.rating,
                run: s.seq.map(|seq| RunMessage {
                    seq,
                    buttons: s.buttons,
                    block_input: s.block_input,
                    chosen: s.chosen,
                }),
            }),
            Role::Error => Kind::Error(ErrorLine {
                code: s.code.unwrap_or(ErrorCode::Unknown),
                resets_at: s.resets_at,
                quota: s.quota,
            }),
            Role::System => Kind::System,
        };
        Line {
            id: s.id,
            text: s.text,
            at: s.at,
            kind,
        }
    }
}

impl Serialize for Line {
    /// As `Stored`: its fields in its order, without building one.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let (user, bot, error) = (self.user(), self.bot(), self.error());
        let run = bot.and_then(|b| b.run.as_ref());
        // The length is a hint (JSON does not write it), but 0 would make
        // serde_json close the object at once.
        let mut s = serializer.serialize_struct("Line", 3)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("role", &self.role())?;
        s.serialize_field("text", &self.text)?;
        if let Some(user) = user {
            s.serialize_field("delivery", &user.delivery)?;
        }
        if let Some(error) = error {
            s.serialize_field("code", &error.code)?;
        }
        s.serialize_field("streaming", &bot.is_some_and(|b| b.streaming))?;
        if let Some(sent_at) = user.and_then(|u| u.sent_at) {
            s.serialize_field("sent_at", &sent_at)?;
        }
        s.serialize_field("retry", &user.is_some_and(|u| u.retry))?;
        if let Some(run) = run {
            s.serialize_field("seq", &run.seq)?;
            if !run.buttons.is_empty() {
                s.serialize_field("buttons", &run.buttons)?;
            }
            if run.block_input {
                s.serialize_field("block_input", &true)?;
            }
            if let Some(chosen) = run.chosen {
                s.serialize_field("chosen", &chosen)?;
            }
        }
        if let Some(rating) = bot.and_then(|b| b.rating) {
            s.serialize_field("rating", &rating)?;
        }
        if let Some(doc) = bot.and_then(|b| b.doc.as_ref()) {
            s.serialize_field("doc", doc)?;
        }
        if let Some(user) = user.filter(|u| !u.attachments.is_empty()) {
            s.serialize_field("attachments", &user.attachments)?;
        }
        if let Some(at) = self.at {
            s.serialize_field("at", &at)?;
        }
        if let Some(resets_at) = error.and_then(|e| e.resets_at) {
            s.serialize_field("resets_at", &resets_at)?;
        }
        if let Some(quota) = error.and_then(|e| e.quota) {
            s.serialize_field("quota", &quota)?;
        }
        if let Some(regenerates) = user.and_then(|u| u.regenerates.as_ref()) {
            s.serialize_field("regenerates", regenerates)?;
        }
        if let Some(shown_answer) = user.and_then(|u| u.shown_answer.as_ref()) {
            s.serialize_field("shown_answer", shown_answer)?;
        }
        s.end()
    }
}
