//! The conversation's past: earlier messages from n8n's chat memory
//! merged in without duplicates, and clearing (all of it, or what is
//! settled).

use super::line::HISTORY_PREFIX;
use super::{BotLine, Conversation, Delivery, Kind, Line, Role, UserLine};

impl Conversation {
    /// Earlier messages from n8n's chat memory (`history` frame), e.g. from
    /// another device or after the browser's storage was cleared: those not
    /// already shown are added before the local lines, oldest first.
    pub fn merge_history(&mut self, history: &[shared::HistoryMessage]) {
        let shown: std::collections::HashSet<(Role, &str)> = self
            .lines
            .iter()
            .filter(|l| matches!(l.kind, Kind::User(_) | Kind::Bot(_)))
            .map(|l| (l.role(), l.text.as_str()))
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
                let kind = match m.role {
                    shared::Role::User => Kind::User(UserLine::new(Delivery::Answered, Vec::new())),
                    shared::Role::Bot => Kind::Bot(BotLine::formatted(m.doc.as_ref())),
                };
                let id = format!("{HISTORY_PREFIX}{i}");
                Some(Line::new(&id, &m.text, kind))
            })
            .collect();
        self.lines.splice(0..0, fresh);
        self.trim();
    }

    /// Forgets everything (a new chat).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.waiting = None;
    }

    /// Clears the history: every line goes except messages still waiting
    /// for their answer, so clearing never loses what the user sent.
    pub fn clear_settled(&mut self) {
        self.lines.retain(Line::is_pending);
    }
}

#[cfg(test)]
mod tests {
    use crate::model::conversation::test_support::conv_with;

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
    fn clearing_the_history_keeps_what_still_awaits_an_answer() {
        let mut c = conv_with(&["a", "b", "c"]);
        c.mark_sent("a", 1.0);
        c.mark_sent("b", 1.0);
        assert!(c.on_response("a", "answer a", None));
        c.add_system("s".into(), "note".into());
        c.clear_settled();
        let kept: Vec<&str> = c.lines.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(kept, ["b", "c"]);
        c.clear();
        assert!(c.lines.is_empty());
    }
}
