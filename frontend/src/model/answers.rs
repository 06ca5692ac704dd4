//! More than one answer to a message: "Regenerate" sends the latest
//! message's text again under a new id (`regenerate: true`, so n8n can
//! tell), and the answers to the same text form a group shown one at a
//! time ("‹ 1/2 ›"), the newest first; the earlier ones stay, folded.
//!
//! And the workflow's progress for a message (`progress` frames), kept on
//! its user line.
//!
//! Exactly-once is unchanged: the new message is new (its own id), so it
//! runs once however often it is resent.

use shared::{ProgressLabel, StepState};

use super::conversation::{Conversation, Delivery, Kind, Line};
use super::progress::Progress;

impl Conversation {
    /// A `progress` frame for message `id` at `now` (ms); ignored once the
    /// message has its outcome.
    pub fn on_progress(
        &mut self,
        id: &str,
        step: Option<&str>,
        label: Option<ProgressLabel>,
        seq: Option<u32>,
        state: StepState,
        now: f64,
    ) {
        if let Some(user) = self
            .lines
            .iter_mut()
            .filter(|l| l.id == id)
            .filter_map(Line::user_mut)
            .find(|u| u.is_pending())
        {
            user.progress.on_frame(step, label, seq, state, now);
        }
    }

    /// What the workflow did (or does) for message `id`.
    pub fn progress(&self, id: &str) -> Option<&Progress> {
        self.user(id).map(|u| &u.progress).filter(|p| !p.is_empty())
    }

    /// Whether the answer line `id` may be regenerated: it is the last line
    /// of the conversation, a complete answer to a message without files,
    /// and nothing else is under way.
    pub fn can_regenerate(&self, id: &str) -> bool {
        let Some(last) = self.lines.last() else {
            return false;
        };
        last.id == id
            && last.is_rateable()
            && self.waiting.is_none()
            && self
                .user(id)
                .is_some_and(|u| u.delivery == Delivery::Answered && u.attachments.is_empty())
            && !self.lines.iter().any(Line::is_pending)
    }

    /// "Regenerate" on answer `id`: a new message `new_id` with the same
    /// text, flagged `regenerate` (queued; the outbox sends it). Its answer
    /// is shown in place of the earlier ones. False if not possible.
    pub fn regenerate(&mut self, id: &str, new_id: String) -> bool {
        if !self.can_regenerate(id) {
            return false;
        }
        let Some((line, user)) = self
            .lines
            .iter()
            .filter(|l| l.id == id)
            .find_map(|l| Some((l, l.user()?)))
        else {
            return false;
        };
        let first = user.regenerates.clone().unwrap_or_else(|| id.to_owned());
        let text = line.text.clone();
        if let Some(head) = self.user_mut(&first) {
            head.shown_answer = None;
        }
        self.add_user(new_id.clone(), text);
        if let Some(user) = self
            .lines
            .last_mut()
            .filter(|l| l.id == new_id)
            .and_then(Line::user_mut)
        {
            user.regenerates = Some(first);
        }
        true
    }

    /// The ids of the messages of `id`'s group, oldest first (just `id`
    /// when it was never regenerated).
    fn group(&self, id: &str) -> Vec<&str> {
        let first = self
            .user(id)
            .and_then(|u| u.regenerates.as_deref())
            .unwrap_or(id);
        self.lines
            .iter()
            .filter(|l| {
                l.user()
                    .is_some_and(|u| l.id == first || u.regenerates.as_deref() == Some(first))
            })
            .map(|l| l.id.as_str())
            .collect()
    }

    /// The id of the group's answer shown now: the one chosen, else the
    /// newest.
    fn shown_in_group<'a>(&'a self, group: &[&'a str]) -> Option<&'a str> {
        let chosen = group
            .first()
            .and_then(|first| self.user(first))
            .and_then(|head| head.shown_answer.as_deref())
            .filter(|c| group.contains(c));
        chosen.or_else(|| group.last().copied())
    }

    /// For an answer (or error) line of message `id`: `(n, of)` when its
    /// message has several answers ("n/of", from 1), else `None`.
    pub fn answer_position(&self, id: &str) -> Option<(usize, usize)> {
        let group = self.group(id);
        if group.len() < 2 {
            return None;
        }
        let at = group.iter().position(|g| *g == id)?;
        Some((at + 1, group.len()))
    }

    /// Whether `line` is folded away: an answer (or error) of a group that
    /// shows another one, or the settled repeat of a regenerated message
    /// (the text is already shown above).
    pub fn is_folded(&self, line: &Line) -> bool {
        match &line.kind {
            Kind::User(user) => return user.regenerates.is_some() && !user.is_pending(),
            Kind::Bot(_) | Kind::Error(_) => {}
            Kind::System => return false,
        }
        let group = self.group(&line.id);
        group.len() > 1 && self.shown_in_group(&group) != Some(line.id.as_str())
    }

    /// Shows the previous (`forward` false) or next answer of `id`'s group.
    pub fn switch_answer(&mut self, id: &str, forward: bool) {
        let group: Vec<String> = self.group(id).into_iter().map(str::to_owned).collect();
        let refs: Vec<&str> = group.iter().map(String::as_str).collect();
        let Some(now) = self
            .shown_in_group(&refs)
            .and_then(|s| group.iter().position(|g| g == s))
        else {
            return;
        };
        let next = if forward {
            (now + 1).min(group.len() - 1)
        } else {
            now.saturating_sub(1)
        };
        let chosen = group.get(next).cloned();
        if let Some(head) = group.first().and_then(|first| self.user_mut(first)) {
            head.shown_answer = chosen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ClientMessage;

    fn answered(c: &mut Conversation, id: &str, text: &str, answer: &str) {
        c.add_user(id.into(), text.into());
        c.mark_sent(id, 0.0);
        assert!(c.on_response(id, answer, None));
    }

    fn visible(c: &Conversation) -> Vec<String> {
        c.lines
            .iter()
            .filter(|l| !c.is_folded(l))
            .map(|l| format!("{}:{}", l.role().name(), l.text))
            .collect()
    }

    #[test]
    fn regenerate_sends_the_text_again_as_a_new_flagged_message() {
        let mut c = Conversation::default();
        answered(&mut c, "a", "a joke", "joke one");
        assert!(c.can_regenerate("a"));
        assert!(!c.regenerate("nope", "x".into()));
        assert!(c.regenerate("a", "b".into()));
        let outbox = c.outbox();
        assert_eq!(outbox.len(), 1);
        match &outbox[0] {
            ClientMessage::Message {
                id,
                text,
                regenerate,
                retry,
                ..
            } => {
                assert_eq!((id.as_str(), text.as_str()), ("b", "a joke"));
                assert!(*regenerate && !*retry);
            }
            other => panic!("{other:?}"),
        }
        assert!(!c.can_regenerate("a"), "not while one is under way");
        c.mark_sent("b", 0.0);
        // While it is answered, the earlier answer is folded; the repeat
        // line is there for its waiting note (the page shows no bubble).
        assert_eq!(visible(&c), ["user:a joke", "user:a joke"]);
        assert!(c.on_response("b", "joke two", None));
        assert_eq!(
            visible(&c),
            ["user:a joke", "bot:joke two"],
            "the newest shown"
        );
        assert_eq!(c.answer_position("b"), Some((2, 2)));
        assert_eq!(c.answer_position("a"), Some((1, 2)));
        c.switch_answer("b", false);
        assert_eq!(visible(&c), ["user:a joke", "bot:joke one"]);
        c.switch_answer("a", false);
        assert_eq!(
            visible(&c),
            ["user:a joke", "bot:joke one"],
            "stays at the first"
        );
        c.switch_answer("a", true);
        assert_eq!(visible(&c), ["user:a joke", "bot:joke two"]);
        // A third, from the newest answer: one group of three.
        assert!(c.regenerate("b", "c".into()));
        c.mark_sent("c", 0.0);
        assert!(c.on_response("c", "joke three", None));
        assert_eq!(c.answer_position("c"), Some((3, 3)));
        assert_eq!(visible(&c), ["user:a joke", "bot:joke three"]);
        // A stored answer of an id survives a reload (lines are saved).
        let json = serde_json::to_string(&c).expect("json");
        let back: Conversation = serde_json::from_str(&json).expect("back");
        assert_eq!(visible(&back), visible(&c));
    }

    #[test]
    fn only_the_latest_complete_answer_without_files_is_regenerated() {
        let mut c = Conversation::default();
        answered(&mut c, "a", "one", "1");
        answered(&mut c, "b", "two", "2");
        assert!(!c.can_regenerate("a"), "not the latest");
        assert!(c.can_regenerate("b"));
        c.add_user("c".into(), "three".into());
        assert!(!c.can_regenerate("b"), "a message waits");
        c.mark_sent("c", 0.0);
        c.on_chunk("c", "par", Some(0));
        assert!(!c.can_regenerate("c"), "still streaming");
        c.on_error(Some("c"), shared::ErrorCode::WebhookError, "boom");
        assert!(
            !c.can_regenerate("c"),
            "an error is retried, not regenerated"
        );
    }

    #[test]
    fn progress_is_kept_on_the_message_until_its_outcome() {
        let mut c = Conversation::default();
        c.add_user("a".into(), "hi".into());
        c.mark_sent("a", 0.0);
        c.on_progress(
            "a",
            Some("Searching"),
            None,
            Some(1),
            StepState::Running,
            1000.0,
        );
        c.on_progress(
            "a",
            Some("Searching"),
            None,
            Some(1),
            StepState::Done,
            4000.0,
        );
        assert!(c.on_response("a", "found", None));
        c.on_progress("a", None, None, Some(2), StepState::Running, 9000.0);
        let p = c.progress("a").expect("progress");
        assert_eq!(p.summary(), Some((1, Some(3))), "nothing after the answer");
        assert_eq!(c.progress("unknown"), None);
    }

    #[test]
    fn a_retry_starts_its_steps_afresh() {
        let mut c = Conversation::default();
        c.add_user("a".into(), "hi".into());
        c.mark_sent("a", 0.0);
        for (seq, at) in [(1, 1000.0), (2, 2000.0)] {
            c.on_progress("a", Some("Step"), None, Some(seq), StepState::Done, at);
        }
        c.on_error(Some("a"), shared::ErrorCode::WebhookError, "boom");
        assert_eq!(
            c.progress("a").and_then(|p| p.summary()),
            Some((2, Some(1)))
        );
        c.retry("a");
        assert_eq!(c.progress("a"), None, "the failed attempt's steps go");
        c.mark_sent("a", 600_000.0);
        c.on_progress(
            "a",
            Some("Again"),
            None,
            Some(1),
            StepState::Running,
            601_000.0,
        );
        c.on_progress(
            "a",
            Some("Again"),
            None,
            Some(1),
            StepState::Done,
            603_000.0,
        );
        let p = c.progress("a").expect("progress");
        assert_eq!(
            p.summary(),
            Some((1, Some(2))),
            "one new step, its own time"
        );
        assert!(p.steps[0].done);
    }
}
