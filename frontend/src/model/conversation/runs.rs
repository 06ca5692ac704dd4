//! What a workflow says beyond the answer: messages it pushes on its own,
//! the chat messages of a run (with buttons), and whether the run waits
//! for the user's reply.

use shared::rich_text::Doc;
use shared::{ChatButton, ClientMessage, RunState};

use super::{BotLine, Conversation, Delivery, Kind, Line, RunMessage};

impl Conversation {
    /// A message the workflow pushed on its own: a bot line at the end,
    /// once per id (a push kept by the relay may arrive again after a
    /// reconnect). Returns whether it was new.
    pub fn on_push(&mut self, id: &str, text: &str, doc: Option<&Doc>) -> bool {
        if self.lines.iter().any(|l| l.bot().is_some() && l.id == id) {
            return false;
        }
        let bot = BotLine::formatted(doc);
        self.lines.push(Line::new(id, text, Kind::Bot(bot)));
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
        if self.run_message(id, seq).is_some() {
            return false;
        }
        let bot = BotLine {
            run: Some(RunMessage {
                seq,
                buttons: buttons.to_vec(),
                block_input,
                chosen: None,
            }),
            ..BotLine::formatted(doc)
        };
        self.lines.push(Line::new(id, text, Kind::Bot(bot)));
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
        if let Some(user) = self.user_mut(id) {
            if user.is_pending() {
                user.settle(Delivery::Answered);
            }
        }
        self.run_ended(id);
    }

    /// Message `id` has its outcome (done, an answer or an error): a run
    /// it started no longer waits for the user. Without this, a run that
    /// ends in an error would keep the input blocked for good.
    pub(super) fn run_ended(&mut self, id: &str) {
        if self.waiting.as_deref() == Some(id) {
            self.waiting = None;
        }
    }

    /// The chat message with buttons the waiting run asks about, if the
    /// run waits for one: `(its line's id, seq, whether typing is blocked)`.
    pub fn waiting_for_buttons(&self) -> Option<(&str, u32, bool)> {
        let id = self.waiting.as_deref()?;
        let (line, run) = self
            .lines
            .iter()
            .rev()
            .filter(|l| l.id == id)
            .find_map(|l| Some((l, l.bot()?.run.as_ref()?)))?;
        run.asks()
            .then_some((line.id.as_str(), run.seq, run.block_input))
    }

    /// Chat message `seq` of the run of message `id`.
    fn run_message(&self, id: &str, seq: u32) -> Option<&RunMessage> {
        self.lines
            .iter()
            .filter(|l| l.id == id)
            .filter_map(|l| l.bot()?.run.as_ref())
            .find(|run| run.seq == seq)
    }

    /// See [`Conversation::run_message`].
    fn run_message_mut(&mut self, id: &str, seq: u32) -> Option<&mut RunMessage> {
        self.lines
            .iter_mut()
            .filter(|l| l.id == id)
            .filter_map(|l| l.bot_mut()?.run.as_mut())
            .find(|run| run.seq == seq)
    }

    /// The user pressed button `button` of chat message `(id, seq)`: the
    /// frame to send, once (`None` if it cannot be pressed now).
    pub fn choose(&mut self, id: &str, seq: u32, button: u32) -> Option<ClientMessage> {
        let waiting = self.waiting.as_deref() == Some(id);
        let run = self.run_message_mut(id, seq)?;
        if !waiting || !run.choose(button) {
            return None;
        }
        Some(ClientMessage::Choice {
            id: id.to_owned(),
            seq,
            button,
        })
    }

    /// A press could not be sent: the buttons can be used again.
    pub fn unchoose(&mut self, id: &str, seq: u32) {
        if let Some(run) = self.run_message_mut(id, seq) {
            run.chosen = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conversation::test_support::{bot_texts, conv_with, ids};
    use crate::model::conversation::Role;

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
    fn a_push_is_a_bot_line_shown_once() {
        let mut c = conv_with(&["a"]);
        assert!(c.on_push("push-1", "report ready", None));
        assert!(
            !c.on_push("push-1", "report ready", None),
            "a repeat is ignored"
        );
        assert_eq!(c.lines.len(), 2);
        assert_eq!(c.lines[1].role(), Role::Bot);
        assert_eq!(c.lines[1].text, "report ready");
        assert_eq!(ids(&c.outbox()), ["a"], "a push answers nothing");
    }

    #[test]
    fn a_run_that_ends_in_an_error_or_an_answer_no_longer_waits() {
        let mut c = conv_with(&["m"]);
        c.mark_sent("m", 1.0);
        c.on_chat("m", 1, "Pick one", &[], true, None);
        c.on_run("m", RunState::Waiting);
        assert_eq!(c.waiting.as_deref(), Some("m"));
        assert!(c.on_error(Some("m"), shared::ErrorCode::Interrupted, "lost"));
        assert_eq!(c.waiting, None, "an error ends the run: typing is free");
        assert_eq!(c.waiting_for_buttons(), None);

        let mut d = conv_with(&["n"]);
        d.mark_sent("n", 1.0);
        d.on_run("n", RunState::Waiting);
        assert!(d.on_response("n", "over", None));
        assert_eq!(d.waiting, None);
        // Another message's outcome leaves a waiting run alone.
        d.add_user("o".into(), "x".into());
        d.on_run("n", RunState::Waiting);
        d.on_error(Some("o"), shared::ErrorCode::WebhookError, "boom");
        assert_eq!(d.waiting.as_deref(), Some("n"));
    }
}
