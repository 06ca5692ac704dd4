//! The conversation: what is shown, and the outbox (what still awaits an
//! answer).
//!
//! A user message is `queued` until it has been written to an open socket,
//! then `sent` until its answer (`answered`) or error (`failed`) arrives.
//! Every queued *or* sent message is resent, in order, whenever the link
//! comes back: the relay deduplicates by id, so n8n runs once however often
//! a message is resent, and a message can never fall between two sockets.
//! Answers are matched by id; a second answer for an id (a resend raced the
//! first) is ignored, and an answer that arrives after an error replaces the
//! error, so every message shows exactly one outcome.

use serde::{Deserialize, Serialize};
use shared::rich_text::Doc;
use shared::{ChatButton, ClientMessage, ErrorCode, RunState};

use super::attachments::Attachment;

/// Messages whose files may wait on the relay at once: the one being
/// answered and the next. The relay holds at most twice a message's files
/// per session; later messages' files go up as earlier ones are answered.
pub const UPLOAD_AHEAD: usize = 2;

/// Ids of lines from n8n's memory (`history` frame).
const HISTORY_PREFIX: &str = "history-";

/// Who a line is from. Serialized names are the `data-role` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// The `data-role` value.
    pub fn name(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Bot => "bot",
            Role::Error => "error",
            Role::System => "system",
        }
    }
}

/// Where a user message is. Names are the `data-state` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// The `data-state` value.
    pub fn name(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Answered => "answered",
            Delivery::Failed => "failed",
            Delivery::Stopped => "stopped",
        }
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
    pub progress: super::progress::Progress,
    /// For user lines sent by "Regenerate": the id of the first message
    /// of the group (whose text this repeats); see [`super::answers`].
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
            && !self.id.starts_with("push-")
            && !self.id.starts_with(HISTORY_PREFIX)
    }

    /// New, and not from n8n's memory (whose lines have no time).
    fn unstamped(&self) -> bool {
        self.at.is_none() && !self.id.starts_with(HISTORY_PREFIX)
    }

    /// A line with no delivery state, code or streaming flag.
    fn new(id: &str, role: Role, text: &str) -> Self {
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

/// The whole conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Oldest first.
    pub lines: Vec<Line>,
    /// The message whose run waits for the user's reply, if any: the next
    /// message typed answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
}

/// How [`Conversation::save_within`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Everything was saved.
    Whole,
    /// Saved without this many of the oldest settled lines.
    Trimmed(usize),
    /// Even the pending messages alone did not fit.
    Failed,
}

/// Most lines kept (older ones are dropped, never pending ones).
pub const MAX_LINES: usize = 2000;

impl Conversation {
    /// Adds a user message (queued).
    pub fn add_user(&mut self, id: String, text: String) {
        self.add_user_with(id, text, Vec::new());
    }

    /// Adds a user message with files (queued until every file is
    /// uploaded and the message sent).
    pub fn add_user_with(&mut self, id: String, text: String, attachments: Vec<Attachment>) {
        self.lines.push(Line {
            delivery: Some(Delivery::Queued),
            attachments,
            ..Line::new(&id, Role::User, &text)
        });
        self.trim();
    }

    /// The files of pending messages the relay does not have yet, in order:
    /// `(message id, file index)` — for the first [`UPLOAD_AHEAD`] pending
    /// messages with files only.
    pub fn uploads_needed(&self) -> Vec<(String, usize)> {
        self.lines
            .iter()
            .filter(|l| {
                l.role == Role::User
                    && l.delivery.is_some_and(Delivery::is_pending)
                    && !l.attachments.is_empty()
            })
            .take(UPLOAD_AHEAD)
            .flat_map(|l| {
                l.attachments
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.upload.is_none())
                    .map(|(i, _)| (l.id.clone(), i))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Whether message `id` may still need its files' bytes: it waits to be
    /// sent or answered, or failed (a retry uploads again if the relay has
    /// let go of them).
    pub fn may_need_files(&self, id: &str) -> bool {
        self.lines.iter().any(|l| {
            l.role == Role::User
                && l.id == id
                && l.delivery.is_some_and(|d| {
                    d.is_pending() || matches!(d, Delivery::Failed | Delivery::Stopped)
                })
        })
    }

    /// File `index` of message `id` is uploaded.
    pub fn set_upload(&mut self, id: &str, index: usize, upload: &str) {
        if let Some(a) = self.user(id).and_then(|l| l.attachments.get_mut(index)) {
            a.upload = Some(upload.to_owned());
        }
    }

    /// The relay no longer has message `id`'s files (`upload_missing`):
    /// they are to be uploaded again, the message sent again after.
    pub fn forget_uploads(&mut self, id: &str) {
        if let Some(user) = self.user(id) {
            for a in &mut user.attachments {
                a.upload = None;
            }
            if user.delivery.is_some_and(Delivery::is_pending) {
                user.delivery = Some(Delivery::Queued);
            }
        }
    }

    /// The user rated the answer to `id` (`rating`, or the same again to
    /// take it back): the rating now, or `None` if there is no such answer.
    pub fn rate(&mut self, id: &str, rating: shared::Rating) -> Option<Option<shared::Rating>> {
        let answer = self
            .lines
            .iter_mut()
            .find(|l| l.is_rateable() && l.id == id)?;
        answer.rating = if answer.rating == Some(rating) {
            None
        } else {
            Some(rating)
        };
        Some(answer.rating)
    }

    /// Whether a line has no time yet ([`Conversation::stamp`]).
    pub fn needs_stamp(&self) -> bool {
        self.lines.iter().any(Line::unstamped)
    }

    /// Gives every new line the time `now` (ms): lines are stamped when
    /// they first appear, not when each frame of a stream arrives.
    pub fn stamp(&mut self, now: f64) {
        for line in self.lines.iter_mut().filter(|l| l.unstamped()) {
            line.at = Some(now.max(0.0) as u64);
        }
    }

    /// Adds a note from the page.
    pub fn add_system(&mut self, id: String, text: String) {
        self.lines.push(Line::new(&id, Role::System, &text));
        self.trim();
    }

    /// Inserts an answer or error line after the user message it answers.
    fn insert_answer(&mut self, line: Line) {
        let at = self.position_after_user(&line.id);
        self.lines.insert(at, line);
        self.trim();
    }

    fn trim(&mut self) {
        while self.lines.len() > MAX_LINES {
            match self
                .lines
                .iter()
                .position(|l| !l.delivery.is_some_and(Delivery::is_pending))
            {
                Some(i) => {
                    self.lines.remove(i);
                }
                None => break,
            }
        }
    }

    fn user(&mut self, id: &str) -> Option<&mut Line> {
        self.lines
            .iter_mut()
            .find(|l| l.role == Role::User && l.id == id)
    }

    /// The delivery state of a user message.
    pub fn delivery(&self, id: &str) -> Option<Delivery> {
        self.lines
            .iter()
            .find(|l| l.role == Role::User && l.id == id)
            .and_then(|l| l.delivery)
    }

    /// The frames to send when the link is (again) ready: every pending
    /// message, oldest first — up to the first whose files are not all
    /// uploaded yet (the order of a conversation is kept).
    pub fn outbox(&self) -> Vec<ClientMessage> {
        self.lines
            .iter()
            .filter(|l| l.role == Role::User && l.delivery.is_some_and(Delivery::is_pending))
            .map_while(|l| {
                let files: Option<Vec<shared::FileRef>> =
                    l.attachments.iter().map(Attachment::file_ref).collect();
                Some(ClientMessage::Message {
                    metadata: None,
                    retry: l.retry,
                    regenerate: l.regenerates.is_some(),
                    id: l.id.clone(),
                    text: l.text.clone(),
                    files: files?,
                })
            })
            .collect()
    }

    /// A message was written to an open socket at `now` (ms).
    pub fn mark_sent(&mut self, id: &str, now: f64) {
        if let Some(line) = self.user(id) {
            if line.delivery == Some(Delivery::Queued) {
                line.delivery = Some(Delivery::Sent);
                line.sent_at = Some(now.max(0.0) as u64);
            }
        }
    }

    /// The link was lost: what was sent is queued again (it will be resent).
    pub fn requeue_sent(&mut self) {
        for line in &mut self.lines {
            if line.role == Role::User && line.delivery == Some(Delivery::Sent) {
                line.delivery = Some(Delivery::Queued);
            }
        }
    }

    /// A streamed piece of the answer to `id`, `offset` bytes into the
    /// answer (when the relay says): pieces the bubble already has are not
    /// added twice, so the whole-so-far a reconnecting page is sent and the
    /// live pieces after it make one bubble.
    pub fn on_chunk(&mut self, id: &str, text: &str, offset: Option<u64>) {
        if !self.delivery(id).is_some_and(Delivery::is_pending) {
            return;
        }
        match self
            .lines
            .iter_mut()
            .find(|l| l.role == Role::Bot && l.id == id && l.seq.is_none())
        {
            Some(bot) => match offset {
                None => bot.text.push_str(text),
                Some(offset) => {
                    let have = bot.text.len() as u64;
                    // A gap (pieces lost) is left to the final answer.
                    if offset <= have {
                        let skip = (have - offset) as usize;
                        if let Some(new) = text.get(skip..) {
                            bot.text.push_str(new);
                        }
                    }
                }
            },
            None if offset.unwrap_or(0) == 0 => self.insert_answer(Line {
                streaming: true,
                ..Line::new(id, Role::Bot, text)
            }),
            None => {}
        }
    }

    fn position_after_user(&self, id: &str) -> usize {
        self.lines
            .iter()
            .position(|l| l.role == Role::User && l.id == id)
            .map_or(self.lines.len(), |i| {
                // After the user line and anything already answering it.
                let mut j = i + 1;
                while j < self.lines.len()
                    && self.lines[j].id == id
                    && self.lines[j].role != Role::User
                {
                    j += 1;
                }
                j
            })
    }

    /// The answer to `id`. Returns false if it was ignored (unknown id or
    /// already answered).
    pub fn on_response(&mut self, id: &str, text: &str, doc: Option<&Doc>) -> bool {
        match self.delivery(id) {
            Some(Delivery::Answered) | None => return false,
            _ => {}
        }
        // A late answer wins over an earlier error: drop the error line.
        self.lines
            .retain(|l| !(l.role == Role::Error && l.id == id));
        if let Some(user) = self.user(id) {
            user.delivery = Some(Delivery::Answered);
            user.retry = false;
        }
        match self
            .lines
            .iter_mut()
            .find(|l| l.role == Role::Bot && l.id == id)
        {
            Some(bot) => {
                bot.text = text.to_owned();
                bot.doc = doc.cloned();
                bot.streaming = false;
            }
            None => self.insert_answer(Line {
                doc: doc.cloned(),
                ..Line::new(id, Role::Bot, text)
            }),
        }
        true
    }

    /// An error for `id` (or for the connection, without id). Returns false
    /// if it was ignored.
    pub fn on_error(&mut self, id: Option<&str>, code: ErrorCode, message: &str) -> bool {
        let Some(id) = id else {
            return false;
        };
        if matches!(
            code,
            ErrorCode::ShuttingDown
                | ErrorCode::Paused
                | ErrorCode::ProofRequired
                | ErrorCode::TokenExpired
        ) {
            // The relay is restarting: keep it queued; it is resent after
            // reconnecting. Paused by the operator: kept queued too, and
            // sent when the relay says the chat goes on (`status`). Or it
            // wants the page's proof of work first: resent after the proof.
            // Or the identity token expired: not run; resent once the host
            // gave a new one (`identify`).
            if let Some(user) = self.user(id) {
                if user.delivery == Some(Delivery::Sent) {
                    user.delivery = Some(Delivery::Queued);
                }
            }
            return false;
        }
        if !self.delivery(id).is_some_and(Delivery::is_pending) {
            return false;
        }
        if let Some(user) = self.user(id) {
            user.delivery = Some(if code == ErrorCode::Cancelled {
                Delivery::Stopped
            } else {
                Delivery::Failed
            });
            user.retry = false;
        }
        // A partly streamed answer stays visible above the error.
        for line in &mut self.lines {
            if line.role == Role::Bot && line.id == id {
                line.streaming = false;
            }
        }
        self.insert_answer(Line {
            code: Some(code),
            ..Line::new(id, Role::Error, message)
        });
        true
    }

    /// A quota of the chat refused message `id` until `resets_at` (ms since
    /// the epoch): it was not sent to n8n. The message stays in the outbox
    /// (queued: sent again with the next message, after a reconnect or a
    /// reload, and then runs once the quota has reset — never lost), and
    /// one line under it says when it can go (replacing the line of an
    /// earlier refusal). Returns false if ignored (not pending).
    pub fn on_quota(
        &mut self,
        id: &str,
        quota: Option<shared::QuotaKind>,
        resets_at: Option<u64>,
        message: &str,
    ) -> bool {
        if !self.delivery(id).is_some_and(Delivery::is_pending) {
            return false;
        }
        if let Some(user) = self.user(id) {
            user.delivery = Some(Delivery::Queued);
        }
        self.lines
            .retain(|l| !(l.role == Role::Error && l.id == id));
        self.insert_answer(Line {
            code: Some(ErrorCode::QuotaExceeded),
            resets_at,
            quota,
            ..Line::new(id, Role::Error, message)
        });
        true
    }

    /// Earlier messages from n8n's chat memory (`history` frame), e.g. from
    /// another device or after the browser's storage was cleared: those not
    /// already shown are added before the local lines, oldest first.
    pub fn merge_history(&mut self, history: &[shared::HistoryMessage]) {
        let shown: std::collections::HashSet<(Role, &str)> = self
            .lines
            .iter()
            .filter(|l| matches!(l.role, Role::User | Role::Bot))
            .map(|l| (l.role, l.text.as_str()))
            .collect();
        let fresh: Vec<Line> = history
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let role = match m.role {
                    shared::Role::User => Role::User,
                    shared::Role::Bot => Role::Bot,
                };
                if shown.contains(&(role, m.text.as_str())) {
                    return None;
                }
                let mut line = Line::new(&format!("{HISTORY_PREFIX}{i}"), role, &m.text);
                line.doc = m.doc.clone();
                if role == Role::User {
                    line.delivery = Some(Delivery::Answered);
                }
                Some(line)
            })
            .collect();
        self.lines.splice(0..0, fresh);
        self.trim();
    }

    /// The user asked to retry a failed message: queue it again with the
    /// same id, flagged `retry` so the relay runs it again (a plain resend of
    /// a failed id only gets the stored error back).
    pub fn retry(&mut self, id: &str) {
        if !matches!(
            self.delivery(id),
            Some(Delivery::Failed | Delivery::Stopped)
        ) {
            return;
        }
        // The error and a partial answer go; a run's messages stay (they
        // were said).
        self.lines.retain(|l| {
            !(l.id == id && (l.role == Role::Error || (l.role == Role::Bot && l.seq.is_none())))
        });
        if let Some(user) = self.user(id) {
            user.delivery = Some(Delivery::Queued);
            user.retry = true;
        }
    }

    /// A message the workflow pushed on its own: a bot line at the end,
    /// once per id (a push kept by the relay may arrive again after a
    /// reconnect). Returns whether it was new.
    pub fn on_push(&mut self, id: &str, text: &str, doc: Option<&Doc>) -> bool {
        if self.lines.iter().any(|l| l.role == Role::Bot && l.id == id) {
            return false;
        }
        self.lines.push(Line {
            doc: doc.cloned(),
            ..Line::new(id, Role::Bot, text)
        });
        self.trim();
        true
    }

    /// A message of the run that message `id` started (`seq` within it):
    /// a bot line at the end, once per `(id, seq)` (a page that reconnects
    /// may be sent it again). Returns whether it was new.
    pub fn on_chat(
        &mut self,
        id: &str,
        seq: u32,
        text: &str,
        buttons: &[ChatButton],
        block_input: bool,
        doc: Option<&Doc>,
    ) -> bool {
        let known = self
            .lines
            .iter()
            .any(|l| l.role == Role::Bot && l.id == id && l.seq == Some(seq));
        if known {
            return false;
        }
        self.lines.push(Line {
            seq: Some(seq),
            buttons: buttons.to_vec(),
            block_input,
            doc: doc.cloned(),
            ..Line::new(id, Role::Bot, text)
        });
        self.trim();
        true
    }

    /// The run of message `id` waits for the user, or works.
    pub fn on_run(&mut self, id: &str, state: RunState) {
        match state {
            RunState::Waiting => self.waiting = Some(id.to_owned()),
            RunState::Working => {
                if self.waiting.as_deref() == Some(id) {
                    self.waiting = None;
                }
            }
        }
    }

    /// Message `id` is handled: its run ended, or it was a run's reply.
    pub fn on_done(&mut self, id: &str) {
        if let Some(user) = self.user(id) {
            if user.delivery.is_some_and(Delivery::is_pending) {
                user.delivery = Some(Delivery::Answered);
                user.retry = false;
            }
        }
        if self.waiting.as_deref() == Some(id) {
            self.waiting = None;
        }
    }

    /// The chat message with buttons the waiting run asks about, if the
    /// run waits for one: `(its line's id, seq, whether typing is blocked)`.
    pub fn waiting_for_buttons(&self) -> Option<(&str, u32, bool)> {
        let id = self.waiting.as_deref()?;
        self.lines
            .iter()
            .rev()
            .find(|l| l.role == Role::Bot && l.id == id && l.seq.is_some())
            .filter(|l| !l.buttons.is_empty() && l.chosen.is_none())
            .and_then(|l| Some((l.id.as_str(), l.seq?, l.block_input)))
    }

    /// The user pressed button `button` of chat message `(id, seq)`: the
    /// frame to send, once (`None` if it cannot be pressed now).
    pub fn choose(&mut self, id: &str, seq: u32, button: u32) -> Option<ClientMessage> {
        let waiting = self.waiting.as_deref() == Some(id);
        let line = self
            .lines
            .iter_mut()
            .find(|l| l.role == Role::Bot && l.id == id && l.seq == Some(seq))?;
        if !waiting || line.chosen.is_some() || button as usize >= line.buttons.len() {
            return None;
        }
        line.chosen = Some(button);
        Some(ClientMessage::Choice {
            id: id.to_owned(),
            seq,
            button,
        })
    }

    /// A press could not be sent: the buttons can be used again.
    pub fn unchoose(&mut self, id: &str, seq: u32) {
        if let Some(line) = self
            .lines
            .iter_mut()
            .find(|l| l.role == Role::Bot && l.id == id && l.seq == Some(seq))
        {
            line.chosen = None;
        }
    }

    /// Whether a message is on the wire (it must be queued again when the
    /// link is lost). Lets the glue skip an update — and a save — when
    /// nothing would change.
    pub fn has_sent(&self) -> bool {
        self.lines
            .iter()
            .any(|l| l.role == Role::User && l.delivery == Some(Delivery::Sent))
    }

    /// Saves the conversation with `store` (which writes the JSON and says
    /// whether it fit), trimming the oldest settled lines from the saved
    /// copy until it fits — never a message still waiting for its answer.
    /// What is shown is not changed.
    pub fn save_within(&self, mut store: impl FnMut(&str) -> bool) -> Saved {
        let mut copy = self.clone();
        let mut dropped = 0;
        loop {
            if serde_json::to_string(&copy).is_ok_and(|json| store(&json)) {
                return if dropped == 0 {
                    Saved::Whole
                } else {
                    Saved::Trimmed(dropped)
                };
            }
            let settled: Vec<usize> = copy
                .lines
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.delivery.is_some_and(Delivery::is_pending))
                .map(|(i, _)| i)
                .collect();
            if settled.is_empty() {
                return Saved::Failed;
            }
            // The oldest half (at least one): a few tries, however long.
            let cut: std::collections::HashSet<usize> = settled
                .iter()
                .take(settled.len().div_ceil(2))
                .copied()
                .collect();
            dropped += cut.len();
            let mut i = 0;
            copy.lines.retain(|_| {
                let keep = !cut.contains(&i);
                i += 1;
                keep
            });
        }
    }

    /// Forgets everything (a new chat).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.waiting = None;
    }

    /// Clears the history: every line goes except messages still waiting
    /// for their answer, so clearing never loses what the user sent.
    pub fn clear_settled(&mut self) {
        self.lines
            .retain(|l| l.role == Role::User && l.delivery.is_some_and(Delivery::is_pending));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_past_the_quota_trims_old_history_never_a_pending_message() {
        let mut c = conv_with(&["a", "b", "c", "d"]);
        for id in ["a", "b", "c"] {
            c.mark_sent(id, 1.0);
            assert!(c.on_response(id, &format!("answer to {id} {}", "x".repeat(200)), None));
        }
        let whole = serde_json::to_string(&c).expect("json").len();
        let mut saved = String::new();
        // Room for everything.
        assert_eq!(
            c.save_within(|json| {
                saved = json.to_owned();
                true
            }),
            Saved::Whole
        );
        assert_eq!(saved.len(), whole);
        // Room for about half: the oldest answered lines go first.
        let quota = whole / 2;
        let outcome = c.save_within(|json| {
            let fits = json.len() <= quota;
            if fits {
                saved = json.to_owned();
            }
            fits
        });
        assert!(matches!(outcome, Saved::Trimmed(n) if n > 0), "{outcome:?}");
        let restored: Conversation = serde_json::from_str(&saved).expect("saved json");
        assert_eq!(
            ids(&restored.outbox()),
            ["d"],
            "the unsent message survives"
        );
        assert!(
            !restored.lines.iter().any(|l| l.id == "a"),
            "the oldest exchange went first"
        );
        assert_eq!(c.lines.len(), 7, "what is shown is unchanged");
        // No room even for the pending message: said so.
        assert_eq!(c.save_within(|_| false), Saved::Failed);
    }

    #[test]
    fn a_runs_messages_are_bubbles_once_each_and_the_reply_is_a_message() {
        let mut c = conv_with(&["m"]);
        c.mark_sent("m", 1.0);
        assert!(c.on_chat("m", 1, "What is your name?", &[], false, None));
        assert!(
            !c.on_chat("m", 1, "What is your name?", &[], false, None),
            "sent again after a reconnect"
        );
        c.on_run("m", RunState::Waiting);
        assert_eq!(c.waiting.as_deref(), Some("m"));
        assert_eq!(c.delivery("m"), Some(Delivery::Sent), "the run is not over");
        // The reply is an ordinary message; the run goes on.
        c.add_user("r".into(), "Ada".into());
        c.on_run("m", RunState::Working);
        assert_eq!(c.waiting, None);
        c.on_done("r");
        assert!(c.on_chat("m", 2, "Hello Ada", &[], false, None));
        c.on_done("m");
        assert_eq!(c.delivery("m"), Some(Delivery::Answered));
        assert_eq!(c.delivery("r"), Some(Delivery::Answered));
        let bots = bot_texts(&c);
        assert_eq!(bots, ["What is your name?", "Hello Ada"]);
        assert!(c.outbox().is_empty());
        // The waiting state survives a reload.
        c.on_run("m", RunState::Waiting);
        let saved: Conversation =
            serde_json::from_str(&serde_json::to_string(&c).expect("json")).expect("back");
        assert_eq!(saved.waiting.as_deref(), Some("m"));
    }

    #[test]
    fn a_button_is_pressed_once_and_only_while_its_run_waits() {
        let yes_no = [
            ChatButton {
                text: "Yes".into(),
                style: shared::ButtonStyle::Primary,
            },
            ChatButton {
                text: "No".into(),
                style: shared::ButtonStyle::Secondary,
            },
        ];
        let mut c = conv_with(&["m"]);
        c.on_chat("m", 1, "Deploy?", &yes_no, true, None);
        assert_eq!(c.choose("m", 1, 0), None, "not waiting yet");
        c.on_run("m", RunState::Waiting);
        assert_eq!(c.waiting_for_buttons(), Some(("m", 1, true)));
        assert_eq!(c.choose("m", 1, 5), None, "no such button");
        assert_eq!(
            c.choose("m", 1, 0),
            Some(ClientMessage::Choice {
                id: "m".into(),
                seq: 1,
                button: 0
            })
        );
        assert_eq!(c.choose("m", 1, 1), None, "once");
        assert_eq!(c.waiting_for_buttons(), None);
        c.unchoose("m", 1);
        assert!(c.choose("m", 1, 1).is_some(), "again after a failed send");
    }

    #[test]
    fn pieces_with_offsets_make_one_bubble_without_repeats() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 1.0);
        c.on_chunk("a", "echo: ", Some(0));
        // Reconnected: everything so far again, then the rest live.
        c.on_chunk("a", "echo: ", Some(0));
        c.on_chunk("a", "hé", Some(6));
        c.on_chunk("a", "echo: hé", Some(0));
        c.on_chunk("a", "llo", Some(9));
        c.on_chunk("a", "x", Some(50)); // a gap: left to the final answer
        let bots = bot_texts(&c);
        assert_eq!(bots, ["echo: héllo"]);
        // A page that missed the start does not show a tail alone.
        let mut d = conv_with(&["b"]);
        d.mark_sent("b", 1.0);
        d.on_chunk("b", "tail", Some(10));
        assert!(d.lines.iter().all(|l| l.role != Role::Bot));
    }

    #[test]
    fn a_message_with_files_waits_for_its_uploads_and_keeps_the_order() {
        let mut c = Conversation::default();
        c.add_user_with(
            "a".into(),
            "look".into(),
            vec![
                Attachment::new("dot.png", "image/png", 463),
                Attachment::new("doc.pdf", "application/pdf", 596),
            ],
        );
        c.add_user("b".into(), "and then".into());
        assert!(c.outbox().is_empty(), "b waits behind a's uploads");
        assert_eq!(
            c.uploads_needed(),
            [("a".to_owned(), 0), ("a".to_owned(), 1)]
        );
        c.set_upload("a", 0, "up-1");
        assert!(c.outbox().is_empty());
        c.set_upload("a", 1, "up-2");
        let out = c.outbox();
        assert_eq!(ids(&out), ["a", "b"]);
        let ClientMessage::Message { files, .. } = &out[0] else {
            panic!("{out:?}");
        };
        assert_eq!(
            files.iter().map(|f| f.upload.as_str()).collect::<Vec<_>>(),
            ["up-1", "up-2"]
        );
        // Only two messages' files at a time wait on the relay.
        let mut three = Conversation::default();
        for id in ["x", "y", "z"] {
            three.add_user_with(
                id.into(),
                "f".into(),
                vec![Attachment::new("a.png", "image/png", 1)],
            );
        }
        let ahead: Vec<String> = three
            .uploads_needed()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ahead, ["x", "y"]);
        three.on_response("x", "ok", None);
        let ahead: Vec<String> = three
            .uploads_needed()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ahead, ["y", "z"]);
        // The relay lost them: uploaded again, then sent again.
        c.mark_sent("a", 1.0);
        c.forget_uploads("a");
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert_eq!(c.uploads_needed().len(), 2);
        // The attachments survive a reload (names, thumbnails, ids).
        let back: Conversation =
            serde_json::from_str(&serde_json::to_string(&c).expect("json")).expect("back");
        assert_eq!(back.lines[0].attachments[0].name, "dot.png");
    }

    /// A resend whose answer the relay no longer keeps: a visible error
    /// under the message, not sent again, no retry offered.
    #[test]
    fn a_lost_answer_is_a_visible_error_for_its_message() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 1.0);
        assert!(c.on_error(
            Some("a"),
            ErrorCode::AnswerLost,
            "this message was answered, but the answer is no longer kept; it is not run again",
        ));
        assert_eq!(c.delivery("a"), Some(Delivery::Failed));
        assert!(c.lines.iter().any(|l| l.role == Role::Error
            && l.id == "a"
            && l.code == Some(ErrorCode::AnswerLost)));
        assert!(c.outbox().is_empty(), "not sent again");
        assert!(!ErrorCode::AnswerLost.is_retryable(), "no retry button");
    }

    /// A resend after the relay died mid-answer: shown as a failed
    /// message, not sent again by itself; Retry asks the relay to run it.
    #[test]
    fn an_interrupted_message_fails_visibly_and_retry_runs_it() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 1.0);
        assert!(c.on_error(
            Some("a"),
            ErrorCode::Interrupted,
            "the relay stopped while this message was being answered",
        ));
        assert_eq!(c.delivery("a"), Some(Delivery::Failed));
        assert!(c.outbox().is_empty(), "not sent again by itself");
        assert!(ErrorCode::Interrupted.is_retryable(), "a Retry button");
        c.retry("a");
        assert!(matches!(
            c.outbox()[0],
            ClientMessage::Message { retry: true, .. }
        ));
    }

    #[test]
    fn stop_keeps_what_arrived_and_a_rating_can_be_taken_back() {
        use shared::Rating;
        let mut c = conv_with(&["a", "b"]);
        c.mark_sent("a", 1.0);
        c.on_chunk("a", "half an ans", None);
        c.on_error(Some("a"), ErrorCode::Cancelled, "stopped");
        assert_eq!(c.delivery("a"), Some(Delivery::Stopped));
        assert!(c.lines.iter().any(|l| l.role == Role::Bot
            && l.id == "a"
            && l.text == "half an ans"
            && !l.streaming));
        assert!(
            c.outbox()
                .iter()
                .all(|f| !matches!(f, ClientMessage::Message { id, .. } if id == "a")),
            "not sent again"
        );
        c.retry("a");
        assert_eq!(
            c.delivery("a"),
            Some(Delivery::Queued),
            "run again on purpose"
        );
        c.mark_sent("b", 1.0);
        c.on_response("b", "full", None);
        assert_eq!(c.rate("b", Rating::Up), Some(Some(Rating::Up)));
        assert_eq!(c.rate("b", Rating::Down), Some(Some(Rating::Down)));
        assert_eq!(
            c.rate("b", Rating::Down),
            Some(None),
            "the same again takes it back"
        );
        assert_eq!(c.rate("a", Rating::Up), None, "no answer to rate");
        c.on_push("push-1", "later", None);
        assert_eq!(c.rate("push-1", Rating::Up), None, "pushes are not answers");
    }

    #[test]
    fn lines_are_stamped_once_and_history_never() {
        let mut c = Conversation::default();
        c.add_user("a".into(), "hi".into());
        c.merge_history(&[shared::HistoryMessage {
            role: shared::Role::Bot,
            text: "from memory".into(),
            doc: None,
        }]);
        assert!(c.needs_stamp());
        c.stamp(1000.0);
        assert!(!c.needs_stamp());
        c.mark_sent("a", 1000.0);
        c.on_chunk("a", "par", None);
        c.stamp(2000.0);
        c.on_chunk("a", "tial", None);
        c.stamp(3000.0);
        let at = |role: Role| {
            c.lines
                .iter()
                .find(|l| l.role == role && l.id == "a")
                .and_then(|l| l.at)
        };
        assert_eq!(at(Role::User), Some(1000));
        assert_eq!(at(Role::Bot), Some(2000), "the first chunk's time");
        assert!(c
            .lines
            .iter()
            .any(|l| l.text == "from memory" && l.at.is_none()));
    }

    #[test]
    fn only_a_message_on_the_wire_needs_requeueing() {
        let mut c = conv_with(&["a"]);
        assert!(!c.has_sent());
        c.mark_sent("a", 1.0);
        assert!(c.has_sent());
        c.requeue_sent();
        assert!(!c.has_sent());
    }

    #[test]
    fn a_push_is_a_bot_line_shown_once() {
        let mut c = conv_with(&["a"]);
        assert!(c.on_push("push-1", "report ready", None));
        assert!(
            !c.on_push("push-1", "report ready", None),
            "a repeat is ignored"
        );
        assert_eq!(c.lines.len(), 2);
        assert_eq!(c.lines[1].role, Role::Bot);
        assert_eq!(c.lines[1].text, "report ready");
        assert_eq!(ids(&c.outbox()), ["a"], "a push answers nothing");
    }

    #[test]
    fn clearing_the_history_keeps_what_still_awaits_an_answer() {
        let mut c = conv_with(&["a", "b", "c"]);
        c.mark_sent("a", 1.0);
        c.mark_sent("b", 1.0);
        assert!(c.on_response("a", "answer a", None));
        c.add_system("s".into(), "note".into());
        c.clear_settled();
        assert_eq!(ids(&c.outbox()), ["b", "c"]);
        assert_eq!(c.lines.len(), 2);
        c.clear();
        assert!(c.lines.is_empty());
    }

    /// The texts of the bot lines, in order.
    fn bot_texts(c: &Conversation) -> Vec<&str> {
        c.lines
            .iter()
            .filter(|l| l.role == Role::Bot)
            .map(|l| l.text.as_str())
            .collect()
    }

    fn conv_with(ids: &[&str]) -> Conversation {
        let mut c = Conversation::default();
        for id in ids {
            c.add_user((*id).into(), format!("text {id}"));
        }
        c
    }

    fn ids(frames: &[ClientMessage]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                ClientMessage::Message { id, .. } => id.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn new_messages_are_queued_and_in_the_outbox_in_order() {
        let c = conv_with(&["a", "b", "c"]);
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert_eq!(ids(&c.outbox()), ["a", "b", "c"]);
    }

    #[test]
    fn sent_messages_stay_in_the_outbox_until_answered() {
        let mut c = conv_with(&["a", "b", "c"]);
        c.mark_sent("a", 0.0);
        c.mark_sent("b", 0.0);
        assert_eq!(c.delivery("a"), Some(Delivery::Sent));
        assert!(c.on_response("b", "answer b", None));
        assert_eq!(
            ids(&c.outbox()),
            ["a", "c"],
            "resend after reconnect: unanswered, oldest first"
        );
        c.requeue_sent();
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert_eq!(c.delivery("b"), Some(Delivery::Answered));
    }

    #[test]
    fn answers_follow_their_question_and_duplicates_are_ignored() {
        let mut c = conv_with(&["a", "b"]);
        assert!(c.on_response("a", "for a", None));
        assert!(!c.on_response("a", "for a again", None));
        assert!(!c.on_response("zzz", "unknown", None));
        let roles: Vec<(&str, Role)> = c.lines.iter().map(|l| (l.id.as_str(), l.role)).collect();
        assert_eq!(
            roles,
            [("a", Role::User), ("a", Role::Bot), ("b", Role::User)]
        );
        assert_eq!(c.lines[1].text, "for a");
    }

    #[test]
    fn errors_fail_the_message_and_retry_requeues_it() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(c.on_error(Some("a"), ErrorCode::WebhookError, "n8n answered HTTP 500"));
        assert_eq!(c.delivery("a"), Some(Delivery::Failed));
        assert!(c.outbox().is_empty());
        assert!(
            !c.on_error(Some("a"), ErrorCode::WebhookError, "again"),
            "one error shown"
        );
        assert_eq!(c.lines.iter().filter(|l| l.role == Role::Error).count(), 1);
        c.retry("a");
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(c.lines.iter().all(|l| l.role != Role::Error));
        assert_eq!(ids(&c.outbox()), ["a"]);
        assert!(
            matches!(c.outbox()[0], ClientMessage::Message { retry: true, .. }),
            "a retry asks the relay to run it again"
        );
        c.on_response("a", "ok", None);
        c.add_user("b".into(), "x".into());
        assert!(matches!(
            c.outbox()[0],
            ClientMessage::Message { retry: false, .. }
        ));
    }

    #[test]
    fn a_late_answer_replaces_an_error() {
        // A resend can race an error the relay kept for us; the answer wins
        // and the message still shows exactly one outcome.
        let mut c = conv_with(&["a"]);
        c.on_error(Some("a"), ErrorCode::WebhookTimeout, "slow");
        assert!(c.on_response("a", "late", None));
        assert_eq!(c.delivery("a"), Some(Delivery::Answered));
        assert!(c.lines.iter().all(|l| l.role != Role::Error));
        assert_eq!(c.lines.iter().filter(|l| l.role == Role::Bot).count(), 1);
    }

    #[test]
    fn a_paused_chat_keeps_the_message_queued_for_after_the_resume() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(!c.on_error(Some("a"), ErrorCode::Paused, "paused"));
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(
            !c.lines.iter().any(|l| l.role == Role::Error),
            "no error line: the notice says it"
        );
        assert_eq!(c.outbox().len(), 1, "still to be sent");
    }

    #[test]
    fn shutting_down_keeps_the_message_queued() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(!c.on_error(Some("a"), ErrorCode::ShuttingDown, "restarting"));
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(!c.on_error(None, ErrorCode::InvalidMessage, "x"));
    }

    #[test]
    fn an_expired_identity_token_keeps_the_message_in_the_outbox() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(!c.on_error(Some("a"), ErrorCode::TokenExpired, "expired"));
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(
            c.lines.iter().all(|l| l.role != Role::Error),
            "no error shown"
        );
        assert_eq!(c.outbox().len(), 1, "resent after identify");
    }

    #[test]
    fn chunks_grow_one_bubble_then_the_response_settles_it() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        c.on_chunk("a", "echo: ", None);
        c.on_chunk("a", "hi", None);
        let bot: Vec<&Line> = c.lines.iter().filter(|l| l.role == Role::Bot).collect();
        assert_eq!(bot.len(), 1);
        assert_eq!((bot[0].text.as_str(), bot[0].streaming), ("echo: hi", true));
        c.on_response("a", "echo: hi", None);
        let bot = c
            .lines
            .iter()
            .find(|l| l.role == Role::Bot)
            .expect("bot line");
        assert_eq!((bot.text.as_str(), bot.streaming), ("echo: hi", false));
    }

    #[test]
    fn old_lines_are_dropped_but_pending_ones_kept() {
        let mut c = Conversation::default();
        c.add_user("pending".into(), "x".into());
        for i in 0..MAX_LINES + 10 {
            let id = format!("m{i}");
            c.add_user(id.clone(), "x".into());
            c.on_response(&id, "y", None);
        }
        assert!(c.lines.len() <= MAX_LINES);
        assert_eq!(c.delivery("pending"), Some(Delivery::Queued));
    }

    #[test]
    fn history_from_n8n_is_merged_without_duplicates() {
        use shared::{HistoryMessage, Role as R};
        let mut c = conv_with(&["a"]);
        c.on_response("a", "echo: text a", None);
        let history = [
            HistoryMessage {
                role: R::User,
                text: "older question".into(),
                doc: None,
            },
            HistoryMessage {
                role: R::Bot,
                text: "older answer".into(),
                doc: None,
            },
            HistoryMessage {
                role: R::User,
                text: "text a".into(),
                doc: None,
            },
            HistoryMessage {
                role: R::Bot,
                text: "echo: text a".into(),
                doc: None,
            },
        ];
        c.merge_history(&history);
        let texts: Vec<&str> = c.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            ["older question", "older answer", "text a", "echo: text a"]
        );
        assert!(c.outbox().is_empty(), "history is never resent");
        c.merge_history(&history);
        assert_eq!(c.lines.len(), 4, "merging twice adds nothing");
    }

    #[test]
    fn survives_a_round_trip_through_storage() {
        let mut c = conv_with(&["a", "b"]);
        c.on_response("a", "x", None);
        c.on_error(Some("b"), ErrorCode::WebhookError, "boom");
        let json = serde_json::to_string(&c).expect("json");
        let back: Conversation = serde_json::from_str(&json).expect("back");
        assert_eq!(back, c);
    }

    #[test]
    fn a_message_refused_by_a_quota_stays_in_the_outbox_with_one_line_saying_when() {
        let mut c = Conversation::default();
        c.add_user("a".into(), "hello".into());
        c.mark_sent("a", 1.0);
        let reset = Some(1_796_428_800_000);
        assert!(c.on_quota("a", Some(shared::QuotaKind::Visitor), reset, "used up"));
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert_eq!(ids(&c.outbox()), ["a"], "kept, sendable later");
        // Sent again (the next message, a reconnect) and refused again: still
        // one line, with the newest reset time.
        c.mark_sent("a", 2.0);
        assert!(c.on_quota("a", Some(shared::QuotaKind::Budget), reset, "used up"));
        let notes: Vec<&Line> = c.lines.iter().filter(|l| l.role == Role::Error).collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].code, Some(ErrorCode::QuotaExceeded));
        assert_eq!(notes[0].quota, Some(shared::QuotaKind::Budget));
        assert_eq!(notes[0].resets_at, reset);
        // After the reset it goes through: the answer replaces the note.
        c.mark_sent("a", 3.0);
        assert!(c.on_response("a", "hi", None));
        assert!(c.lines.iter().all(|l| l.role != Role::Error));
        assert!(c.outbox().is_empty());
        assert!(!c.on_quota("a", None, reset, "late"), "answered: ignored");
    }
}
