//! Saving the conversation in the browser's storage: trimmed to fit the
//! quota, oldest settled lines first, never a message awaiting its answer.

use super::{Conversation, Delivery};

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

impl Conversation {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conversation::test_support::{conv_with, ids};
    use shared::ErrorCode;

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
    fn survives_a_round_trip_through_storage() {
        let mut c = conv_with(&["a", "b"]);
        c.on_response("a", "x", None);
        c.on_error(Some("b"), ErrorCode::WebhookError, "boom");
        let json = serde_json::to_string(&c).expect("json");
        let back: Conversation = serde_json::from_str(&json).expect("back");
        assert_eq!(back, c);
    }
}
