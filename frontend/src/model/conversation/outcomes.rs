//! What comes back for a user message: streamed pieces, the answer, an
//! error or a quota's refusal — exactly one outcome shown per message —
//! and what the user does with it: retry a failure, rate an answer.

use shared::rich_text::Doc;
use shared::ErrorCode;

use super::{BotLine, Conversation, Delivery, ErrorLine, Kind, Line};

impl Conversation {
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
            .find(|l| l.id == id && l.bot().is_some_and(|b| b.run.is_none()))
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
            None if offset.unwrap_or(0) == 0 => {
                let bot = BotLine {
                    streaming: true,
                    ..BotLine::default()
                };
                self.insert_answer(Line::new(id, text, Kind::Bot(bot)));
            }
            None => {}
        }
    }

    /// The answer to `id`. Returns false if it was ignored (unknown id or
    /// already answered).
    pub fn on_response(&mut self, id: &str, text: &str, doc: Option<&Doc>) -> bool {
        match self.delivery(id) {
            Some(Delivery::Answered) | None => return false,
            _ => {}
        }
        // A late answer wins over an earlier error: drop the error line.
        self.lines.retain(|l| !(l.error().is_some() && l.id == id));
        if let Some(user) = self.user_mut(id) {
            user.settle(Delivery::Answered);
        }
        self.run_ended(id);
        match self
            .lines
            .iter_mut()
            .find(|l| l.bot().is_some() && l.id == id)
        {
            Some(line) => {
                line.text = text.to_owned();
                if let Some(bot) = line.bot_mut() {
                    bot.doc = doc.cloned();
                    bot.streaming = false;
                }
            }
            None => {
                let bot = BotLine::formatted(doc);
                self.insert_answer(Line::new(id, text, Kind::Bot(bot)));
            }
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
            if let Some(user) = self.user_mut(id) {
                user.requeue();
            }
            return false;
        }
        self.fail(id, code, message)
    }

    /// Message `id` failed with `code`, whatever the code (see
    /// [`Conversation::on_error`] for the codes that usually keep it
    /// queued): its error shows under it. Returns false if it was not
    /// waiting.
    pub fn fail(&mut self, id: &str, code: ErrorCode, message: &str) -> bool {
        if !self.delivery(id).is_some_and(Delivery::is_pending) {
            return false;
        }
        if let Some(user) = self.user_mut(id) {
            user.settle(if code == ErrorCode::Cancelled {
                Delivery::Stopped
            } else {
                Delivery::Failed
            });
        }
        self.run_ended(id);
        // A partly streamed answer stays visible above the error.
        for line in self.lines.iter_mut().filter(|l| l.id == id) {
            if let Some(bot) = line.bot_mut() {
                bot.streaming = false;
            }
        }
        let error = ErrorLine {
            code,
            resets_at: None,
            quota: None,
        };
        self.insert_answer(Line::new(id, message, Kind::Error(error)));
        true
    }

    /// Every message still waiting fails with `code` and `message` (what
    /// the page cannot get past, e.g. a proof of work it cannot give):
    /// each shows its error and can be retried. Returns how many failed.
    pub fn fail_pending(&mut self, code: ErrorCode, message: &str) -> usize {
        let pending: Vec<String> = self
            .lines
            .iter()
            .filter(|l| l.user().is_some_and(|u| u.is_pending()))
            .map(|l| l.id.clone())
            .collect();
        pending
            .iter()
            .filter(|id| self.fail(id, code, message))
            .count()
    }

    /// A quota of the chat refused message `id` until `resets_at` (ms since
    /// the epoch): it was not sent to n8n. The message stays in the outbox
    /// (queued: sent again with the next message, after a reconnect or a
    /// reload, or by itself just after the reset while the page is open,
    /// and then runs once the quota has reset — never lost), and
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
        if let Some(user) = self.user_mut(id) {
            user.delivery = Delivery::Queued;
        }
        self.lines.retain(|l| !(l.error().is_some() && l.id == id));
        let error = ErrorLine {
            code: ErrorCode::QuotaExceeded,
            resets_at,
            quota,
        };
        self.insert_answer(Line::new(id, message, Kind::Error(error)));
        true
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
            let goes = match &l.kind {
                Kind::Error(_) => true,
                Kind::Bot(bot) => bot.run.is_none(),
                Kind::User(_) | Kind::System => false,
            };
            !(l.id == id && goes)
        });
        if let Some(user) = self.user_mut(id) {
            user.queue_retry();
        }
    }

    /// The user rated the answer to `id` (`rating`, or the same again to
    /// take it back): the rating now, or `None` if there is no such answer.
    pub fn rate(&mut self, id: &str, rating: shared::Rating) -> Option<Option<shared::Rating>> {
        self.lines
            .iter_mut()
            .find(|l| l.is_rateable() && l.id == id)?
            .bot_mut()
            .map(|bot| bot.rate(rating))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conversation::test_support::{bot_texts, conv_with, ids};
    use crate::model::conversation::Role;
    use shared::ClientMessage;

    #[test]
    fn answers_follow_their_question_and_duplicates_are_ignored() {
        let mut c = conv_with(&["a", "b"]);
        assert!(c.on_response("a", "for a", None));
        assert!(!c.on_response("a", "for a again", None));
        assert!(!c.on_response("zzz", "unknown", None));
        let roles: Vec<(&str, Role)> = c.lines.iter().map(|l| (l.id.as_str(), l.role())).collect();
        assert_eq!(
            roles,
            [("a", Role::User), ("a", Role::Bot), ("b", Role::User)]
        );
        assert_eq!(c.lines[1].text, "for a");
    }

    #[test]
    fn chunks_grow_one_bubble_then_the_response_settles_it() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        c.on_chunk("a", "echo: ", None);
        c.on_chunk("a", "hi", None);
        let bot: Vec<(&Line, &BotLine)> =
            c.lines.iter().filter_map(|l| Some((l, l.bot()?))).collect();
        assert_eq!(bot.len(), 1);
        assert_eq!(
            (bot[0].0.text.as_str(), bot[0].1.streaming),
            ("echo: hi", true)
        );
        c.on_response("a", "echo: hi", None);
        let (line, bot) = c
            .lines
            .iter()
            .find_map(|l| Some((l, l.bot()?)))
            .expect("bot line");
        assert_eq!((line.text.as_str(), bot.streaming), ("echo: hi", false));
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
        assert!(d.lines.iter().all(|l| l.role() != Role::Bot));
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
        assert_eq!(
            c.lines.iter().filter(|l| l.role() == Role::Error).count(),
            1
        );
        c.retry("a");
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(c.lines.iter().all(|l| l.role() != Role::Error));
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
    fn every_waiting_message_can_fail_at_once_and_only_those() {
        let mut c = conv_with(&["a", "b", "c"]);
        c.mark_sent("b", 1.0);
        assert!(c.on_response("a", "done", None));
        assert_eq!(c.fail_pending(ErrorCode::ProofInvalid, "expired"), 2);
        assert_eq!(c.delivery("a"), Some(Delivery::Answered));
        assert_eq!(c.delivery("b"), Some(Delivery::Failed));
        assert_eq!(c.delivery("c"), Some(Delivery::Failed));
        let errors: Vec<&str> = c
            .lines
            .iter()
            .filter(|l| l.role() == Role::Error)
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(errors, ["b", "c"]);
        assert_eq!(c.fail_pending(ErrorCode::ProofInvalid, "again"), 0);
    }

    #[test]
    fn a_late_answer_replaces_an_error() {
        // A resend can race an error the relay kept for us; the answer wins
        // and the message still shows exactly one outcome.
        let mut c = conv_with(&["a"]);
        c.on_error(Some("a"), ErrorCode::WebhookTimeout, "slow");
        assert!(c.on_response("a", "late", None));
        assert_eq!(c.delivery("a"), Some(Delivery::Answered));
        assert!(c.lines.iter().all(|l| l.role() != Role::Error));
        assert_eq!(c.lines.iter().filter(|l| l.role() == Role::Bot).count(), 1);
    }

    #[test]
    fn a_paused_chat_keeps_the_message_queued_for_after_the_resume() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(!c.on_error(Some("a"), ErrorCode::Paused, "paused"));
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(
            !c.lines.iter().any(|l| l.role() == Role::Error),
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
    fn a_code_that_keeps_a_message_queued_can_still_fail_it_when_told() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(c.fail("a", ErrorCode::TokenExpired, "sign in again"));
        assert_eq!(c.delivery("a"), Some(Delivery::Failed));
        assert!(c.outbox().is_empty());
        assert!(
            !c.fail("a", ErrorCode::TokenExpired, "twice"),
            "one error shown"
        );
    }

    #[test]
    fn an_expired_identity_token_keeps_the_message_in_the_outbox() {
        let mut c = conv_with(&["a"]);
        c.mark_sent("a", 0.0);
        assert!(!c.on_error(Some("a"), ErrorCode::TokenExpired, "expired"));
        assert_eq!(c.delivery("a"), Some(Delivery::Queued));
        assert!(
            c.lines.iter().all(|l| l.role() != Role::Error),
            "no error shown"
        );
        assert_eq!(c.outbox().len(), 1, "resent after identify");
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
        assert!(c
            .lines
            .iter()
            .any(|l| l.id == "a" && l.error().is_some_and(|e| e.code == ErrorCode::AnswerLost)));
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
        assert!(c.lines.iter().any(|l| l.id == "a"
            && l.text == "half an ans"
            && l.bot().is_some_and(|b| !b.streaming)));
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
        let notes: Vec<&ErrorLine> = c.lines.iter().filter_map(Line::error).collect();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].code, ErrorCode::QuotaExceeded);
        assert_eq!(notes[0].quota, Some(shared::QuotaKind::Budget));
        assert_eq!(notes[0].resets_at, reset);
        // After the reset it goes through: the answer replaces the note.
        c.mark_sent("a", 3.0);
        assert!(c.on_response("a", "hi", None));
        assert!(c.lines.iter().all(|l| l.role() != Role::Error));
        assert!(c.outbox().is_empty());
        assert!(!c.on_quota("a", None, reset, "late"), "answered: ignored");
    }
}
