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
//!
//! The conversation is one list of [`Line`]s; its methods are grouped by
//! what they do, one file each:
//! - `line`: a line — what every line has, what only a user, bot or
//!   error line carries (a type per role), and the flat form it is saved
//!   in;
//! - `outbox`: the user's messages on their way — queued, uploaded,
//!   sent, resent after a lost link;
//! - `outcomes`: what comes back for a message — streamed pieces, the
//!   answer, an error or a quota's refusal — and a retry or a rating;
//! - `runs`: what a workflow says on its own — pushes, a run's messages,
//!   its buttons and whether it waits for the user;
//! - `history`: n8n's memory merged in, and clearing;
//! - `persistence`: saving within the browser's storage quota.
//!
//! This file holds the type and what every group shares: the bound on
//! lines and finding a message and its answers.

use serde::{Deserialize, Serialize};

mod history;
mod line;
mod outbox;
mod outcomes;
mod persistence;
mod runs;

pub use line::{BotLine, Delivery, ErrorLine, Kind, Line, Role, RunMessage, UserLine};
pub use outbox::UPLOAD_AHEAD;
pub use persistence::Saved;

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

/// Most lines kept (older ones are dropped, never pending ones).
pub const MAX_LINES: usize = 2000;

impl Conversation {
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
        self.lines.push(Line::new(&id, &text, Kind::System));
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
            match self.lines.iter().position(|l| !l.is_pending()) {
                Some(i) => {
                    self.lines.remove(i);
                }
                None => break,
            }
        }
    }

    /// What user message `id` carries.
    pub(in crate::model) fn user(&self, id: &str) -> Option<&UserLine> {
        self.lines
            .iter()
            .filter(|l| l.id == id)
            .find_map(Line::user)
    }

    /// See [`Conversation::user`].
    pub(in crate::model) fn user_mut(&mut self, id: &str) -> Option<&mut UserLine> {
        self.lines
            .iter_mut()
            .filter(|l| l.id == id)
            .find_map(Line::user_mut)
    }

    /// The delivery state of a user message.
    pub fn delivery(&self, id: &str) -> Option<Delivery> {
        self.user(id).map(|u| u.delivery)
    }

    fn position_after_user(&self, id: &str) -> usize {
        self.lines
            .iter()
            .position(|l| l.user().is_some() && l.id == id)
            .map_or(self.lines.len(), |i| {
                // After the user line and anything already answering it.
                let mut j = i + 1;
                while j < self.lines.len()
                    && self.lines[j].id == id
                    && self.lines[j].user().is_none()
                {
                    j += 1;
                }
                j
            })
    }
}

/// What the tests of every group build conversations with.
#[cfg(test)]
mod test_support {
    use super::Conversation;
    use shared::ClientMessage;

    /// The texts of the bot lines, in order.
    pub(super) fn bot_texts(c: &Conversation) -> Vec<&str> {
        c.lines
            .iter()
            .filter(|l| l.bot().is_some())
            .map(|l| l.text.as_str())
            .collect()
    }

    pub(super) fn conv_with(ids: &[&str]) -> Conversation {
        let mut c = Conversation::default();
        for id in ids {
            c.add_user((*id).into(), format!("text {id}"));
        }
        c
    }

    pub(super) fn ids(frames: &[ClientMessage]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                ClientMessage::Message { id, .. } => id.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .find(|l| l.role() == role && l.id == "a")
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
}
