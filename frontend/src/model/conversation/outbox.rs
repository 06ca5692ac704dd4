//! The outbox: the user's messages from typed to sent — queued, their
//! files uploaded ahead, written to the socket, and queued again when the
//! link is lost so they are resent.

use shared::ClientMessage;

use super::{Conversation, Delivery, Kind, Line, UserLine};
use crate::model::attachments::Attachment;

/// Messages whose files may wait on the relay at once: the one being
/// answered and the next. The relay holds at most twice a message's files
/// per session; later messages' files go up as earlier ones are answered.
pub const UPLOAD_AHEAD: usize = 2;

impl Conversation {
    /// Adds a user message (queued).
    pub fn add_user(&mut self, id: String, text: String) {
        self.add_user_with(id, text, Vec::new());
    }

    /// Adds a user message with files (queued until every file is
    /// uploaded and the message sent).
    pub fn add_user_with(&mut self, id: String, text: String, attachments: Vec<Attachment>) {
        let user = UserLine::new(Delivery::Queued, attachments);
        self.lines.push(Line::new(&id, &text, Kind::User(user)));
        self.trim();
    }

    /// The files of pending messages the relay does not have yet, in order:
    /// `(message id, file index)` — for the first [`UPLOAD_AHEAD`] pending
    /// messages with files only.
    pub fn uploads_needed(&self) -> Vec<(String, usize)> {
        self.lines
            .iter()
            .filter_map(|l| Some((l, l.user()?)))
            .filter(|(_, u)| u.is_pending() && !u.attachments.is_empty())
            .take(UPLOAD_AHEAD)
            .flat_map(|(l, u)| {
                u.attachments
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
        self.delivery(id)
            .is_some_and(|d| d.is_pending() || matches!(d, Delivery::Failed | Delivery::Stopped))
    }

    /// File `index` of message `id` is uploaded.
    pub fn set_upload(&mut self, id: &str, index: usize, upload: &str) {
        if let Some(a) = self.user_mut(id).and_then(|u| u.attachments.get_mut(index)) {
            a.upload = Some(upload.to_owned());
        }
    }

    /// The relay no longer has message `id`'s files (`upload_missing`):
    /// they are to be uploaded again, the message sent again after.
    pub fn forget_uploads(&mut self, id: &str) {
        if let Some(user) = self.user_mut(id) {
            user.forget_uploads();
        }
    }

    /// The frames to send when the link is (again) ready: every queued
    /// message, oldest first — up to the first whose files are not all
    /// uploaded yet (the order of a conversation is kept). A message
    /// already on this link is not sent again: a lost link, a reload or a
    /// switch back to a conversation queues it again
    /// ([`Conversation::requeue_sent`]), and resending it with every new
    /// message would spend the relay's rate limit on duplicates.
    pub fn outbox(&self) -> Vec<ClientMessage> {
        self.lines
            .iter()
            .filter_map(|l| Some((l, l.user()?)))
            .filter(|(_, u)| u.delivery == Delivery::Queued)
            .map_while(|(l, u)| {
                let files: Option<Vec<shared::FileRef>> =
                    u.attachments.iter().map(Attachment::file_ref).collect();
                Some(ClientMessage::Message {
                    metadata: None,
                    retry: u.retry,
                    regenerate: u.regenerates.is_some(),
                    id: l.id.clone(),
                    text: l.text.clone(),
                    files: files?,
                })
            })
            .collect()
    }

    /// A message was written to an open socket at `now` (ms).
    pub fn mark_sent(&mut self, id: &str, now: f64) {
        if let Some(user) = self.user_mut(id) {
            user.mark_sent(now);
        }
    }

    /// The link was lost: what was sent is queued again (it will be resent).
    pub fn requeue_sent(&mut self) {
        for user in self.lines.iter_mut().filter_map(Line::user_mut) {
            user.requeue();
        }
    }

    /// Whether a message is on the wire (it must be queued again when the
    /// link is lost). Lets the glue skip an update — and a save — when
    /// nothing would change.
    pub fn has_sent(&self) -> bool {
        self.lines
            .iter()
            .filter_map(Line::user)
            .any(|u| u.delivery == Delivery::Sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conversation::test_support::{conv_with, ids};

    #[test]
    fn new_messages_are_queued_and_in_the_outbox_in_order() {
        let c = conv_with(&["a", "b", "c"]);
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert_eq!(ids(&c.outbox()), ["a", "b", "c"]);
    }

    #[test]
    fn sent_messages_go_again_only_after_the_link_is_lost() {
        let mut c = conv_with(&["a", "b", "c"]);
        c.mark_sent("a", 0.0);
        c.mark_sent("b", 0.0);
        assert_eq!(c.delivery("a"), Some(Delivery::Sent));
        assert!(c.on_response("b", "answer b", None));
        assert_eq!(ids(&c.outbox()), ["c"], "a is on this link already");
        c.requeue_sent();
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert_eq!(c.delivery("b"), Some(Delivery::Answered));
        assert_eq!(
            ids(&c.outbox()),
            ["a", "c"],
            "resend after reconnect: unanswered, oldest first"
        );
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
        let user = back.lines[0].user().expect("a user line");
        assert_eq!(user.attachments[0].name, "dot.png");
    }
}
