//! Saving the conversation in the browser's storage: trimmed to fit the
//! quota, oldest settled lines first, never a message awaiting its answer.

use super::Conversation;

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
                .filter(|(_, l)| !l.is_pending())
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
    use crate::model::conversation::{Delivery, Kind};
    use shared::{ErrorCode, QuotaKind, Rating};

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

    /// What the page saved before lines had a type per role: one flat
    /// object per line, every field optional. Conversations saved like this
    /// are in visitors' browsers; they must load, and save back the same.
    const SAVED_FLAT: &str = concat!(
        r#"{"lines":["#,
        r#"{"id":"history-0","role":"user","text":"old","delivery":"answered","streaming":false,"retry":false},"#,
        r#"{"id":"history-1","role":"bot","text":"older answer","streaming":false,"retry":false,"doc":[{"p":[{"t":"hi "},{"b":[{"t":"there"}]}]}]},"#,
        r#"{"id":"s","role":"system","text":"connection lost","streaming":false,"retry":false,"at":1000},"#,
        r#"{"id":"a","role":"user","text":"look","delivery":"answered","streaming":false,"sent_at":1600,"retry":false,"attachments":[{"name":"dot.png","type":"image/png","size":463,"thumb":"data:image/png;base64,AA==","upload":"up-1"}],"at":1000,"shown_answer":"a"},"#,
        r#"{"id":"a","role":"bot","text":"hi there","streaming":false,"retry":false,"rating":"up","doc":[{"p":[{"t":"hi "},{"b":[{"t":"there"}]}]}],"at":4000},"#,
        r#"{"id":"r","role":"user","text":"look","delivery":"answered","streaming":false,"sent_at":4100,"retry":false,"at":4100,"regenerates":"a"},"#,
        r#"{"id":"r","role":"bot","text":"hi again","streaming":false,"retry":false,"rating":"down","at":4200},"#,
        r#"{"id":"b","role":"user","text":"deploy","delivery":"sent","streaming":false,"sent_at":5000,"retry":true,"at":4500},"#,
        r#"{"id":"b","role":"bot","text":"Deploy?","streaming":false,"retry":false,"seq":1,"buttons":[{"text":"Yes","style":"primary"},{"text":"No","style":"secondary"}],"block_input":true,"chosen":0,"at":5100},"#,
        r#"{"id":"b","role":"bot","text":"stream","streaming":true,"retry":false,"at":5200},"#,
        r#"{"id":"f","role":"user","text":"boom","delivery":"failed","streaming":false,"sent_at":6000,"retry":false,"at":6000},"#,
        r#"{"id":"f","role":"error","text":"n8n answered HTTP 500","code":"webhook_error","streaming":false,"retry":false,"at":6100},"#,
        r#"{"id":"q","role":"user","text":"later","delivery":"queued","streaming":false,"sent_at":7000,"retry":false,"at":7000},"#,
        r#"{"id":"q","role":"error","text":"used up","code":"quota_exceeded","streaming":false,"retry":false,"at":7100,"resets_at":1796428800000,"quota":"visitor"},"#,
        r#"{"id":"push-1","role":"bot","text":"report ready","streaming":false,"retry":false,"at":8000}"#,
        r#"],"waiting":"b"}"#,
    );

    #[test]
    fn a_conversation_saved_with_flat_lines_loads_and_saves_back_the_same() {
        let c: Conversation = serde_json::from_str(SAVED_FLAT).expect("loads");
        let roles: Vec<&str> = c.lines.iter().map(|l| l.role().name()).collect();
        assert_eq!(
            roles,
            [
                "user", "bot", "system", "user", "bot", "user", "bot", "user", "bot", "bot",
                "user", "error", "user", "error", "bot"
            ]
        );
        // Each role's fields reach its type.
        let user = c.lines[3].user().expect("a user line");
        assert_eq!(user.attachments[0].upload.as_deref(), Some("up-1"));
        assert_eq!(user.shown_answer.as_deref(), Some("a"));
        assert_eq!(c.lines[4].bot().and_then(|b| b.rating), Some(Rating::Up));
        let regenerated = c.lines[5].user().expect("a user line");
        assert_eq!(regenerated.regenerates.as_deref(), Some("a"));
        assert!(c.lines[7].user().is_some_and(|u| u.retry));
        let run = c.lines[8].bot().and_then(|b| b.run.as_ref()).expect("run");
        assert_eq!(
            (run.seq, run.buttons.len(), run.block_input, run.chosen),
            (1, 2, true, Some(0))
        );
        assert!(c.lines[9].bot().is_some_and(|b| b.streaming));
        let error = c.lines[11].error().expect("an error line");
        assert_eq!(error.code, ErrorCode::WebhookError);
        let quota = c.lines[13].error().expect("an error line");
        assert_eq!(
            (quota.code, quota.quota, quota.resets_at),
            (
                ErrorCode::QuotaExceeded,
                Some(QuotaKind::Visitor),
                Some(1_796_428_800_000)
            )
        );
        assert_eq!(c.lines[2].kind, Kind::System);
        assert_eq!(c.delivery("b"), Some(Delivery::Sent));
        assert_eq!(c.delivery("q"), Some(Delivery::Queued));
        assert_eq!(ids(&c.outbox()), ["q"], "b is on the wire until requeued");
        assert_eq!(serde_json::to_string(&c).expect("json"), SAVED_FLAT);
    }

    /// The page never saved these, but a line that lacks what its role
    /// needs, or carries another role's fields, still loads: a user line
    /// as answered (never resent by surprise), an error as unknown.
    #[test]
    fn a_line_without_its_roles_fields_still_loads() {
        let json = concat!(
            r#"{"lines":["#,
            r#"{"id":"a","role":"user","text":"hi","streaming":true,"seq":3},"#,
            r#"{"id":"a","role":"error","text":"boom","delivery":"queued"},"#,
            r#"{"id":"s","role":"system","text":"note","code":"paused","retry":true}"#,
            r#"]}"#,
        );
        let c: Conversation = serde_json::from_str(json).expect("loads");
        assert_eq!(c.delivery("a"), Some(Delivery::Answered));
        assert!(c.outbox().is_empty());
        assert_eq!(c.lines[1].error().map(|e| e.code), Some(ErrorCode::Unknown));
        assert_eq!(c.lines[2].kind, Kind::System);
        assert_eq!(
            serde_json::to_string(&c).expect("json"),
            concat!(
                r#"{"lines":["#,
                r#"{"id":"a","role":"user","text":"hi","delivery":"answered","streaming":false,"retry":false},"#,
                r#"{"id":"a","role":"error","text":"boom","code":"unknown","streaming":false,"retry":false},"#,
                r#"{"id":"s","role":"system","text":"note","streaming":false,"retry":false}"#,
                r#"]}"#,
            )
        );
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
