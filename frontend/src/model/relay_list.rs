//! A signed-in user's list of conversations, merged with the one the relay
//! keeps for them (issue 24), so the list follows the user to another
//! browser or device.
//!
//! The relay sends its list (`conversations` frame) when the connection is
//! identified and after each save. Merging it:
//! - a conversation the relay lists and this browser lacks appears (newest
//!   first, while the browser's bound, [`MAX_CONVERSATIONS`], has room);
//!   its lines come from the relay when the page opens it (see
//!   `controller::conversations`);
//! - the relay's title wins over this browser's, except for a
//!   conversation whose own save is still on its way;
//! - a conversation this browser has that the relay does not list is kept
//!   and saved to the relay ([`Conversations::pending_saves`]) — unless
//!   the relay listed it before ([`Summary::on_relay`]): then it was
//!   deleted in another browser, or ran out of the relay's retention or
//!   bound, and it goes here too. The shown one and one with unsent
//!   messages are never removed (they are saved again instead).
//!
//! Anonymous visitors never get a list, so none of this happens for them:
//! their list stays in their browser only.

use shared::ConversationItem;

use super::conversations::{cut, Conversations, Summary, MAX_CONVERSATIONS};

/// What a merge changed, for the storage and the socket.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Whether the list changed (then it is saved).
    pub changed: bool,
    /// Conversations that left this browser (their parked lines go too).
    pub removed: Vec<Summary>,
}

/// The title the relay keeps for `entry`: its title, or empty while it
/// has none.
pub fn relay_title(entry: &Summary) -> String {
    entry.title().unwrap_or_default().to_owned()
}

impl Conversations {
    /// Merges the relay's list `items` into this one (see the module's
    /// docs). `in_flight`: sessions whose save was sent and not yet
    /// confirmed (their title here is newer). `new_id` makes the page ids
    /// of conversations new to this browser.
    pub fn merge_relay(
        &mut self,
        items: &[ConversationItem],
        in_flight: &[String],
        mut new_id: impl FnMut() -> String,
    ) -> Merged {
        let mut merged = Merged::default();
        let current = self.current.clone();
        // Listed before, gone from the relay now: deleted elsewhere, or
        // past the relay's retention or bound.
        let (gone, kept): (Vec<Summary>, Vec<Summary>) =
            std::mem::take(&mut self.list).into_iter().partition(|s| {
                let Some(session) = &s.session else {
                    return false;
                };
                s.on_relay.is_some()
                    && s.id != current
                    && !s.unsent
                    && !in_flight.contains(session)
                    && !items.iter().any(|i| &i.session == session)
            });
        self.list = kept;
        merged.changed |= !gone.is_empty();
        merged.removed = gone;
        for entry in &mut self.list {
            let Some(session) = entry.session.clone() else {
                continue;
            };
            match items.iter().find(|i| i.session == session) {
                Some(item) => {
                    let confirmed = Some(item.title.clone());
                    let theirs = cut(&item.title);
                    if !in_flight.contains(&session)
                        && !item.title.is_empty()
                        && entry.title() != Some(theirs.as_str())
                    {
                        entry.name = Some(theirs);
                        merged.changed = true;
                    }
                    if item.updated_at > entry.touched {
                        entry.touched = item.updated_at;
                        merged.changed = true;
                    }
                    if entry.on_relay != confirmed {
                        entry.on_relay = confirmed;
                        merged.changed = true;
                    }
                }
                // Not on the relay (any more): saved again.
                None if entry.on_relay.is_some() => {
                    entry.on_relay = None;
                    merged.changed = true;
                }
                None => {}
            }
        }
        // The relay's newest first, while there is room.
        for item in items {
            if self.list.len() >= MAX_CONVERSATIONS {
                break;
            }
            if self
                .list
                .iter()
                .any(|s| s.session.as_deref() == Some(item.session.as_str()))
            {
                continue;
            }
            let mut entry = Summary::new(new_id(), Some(item.session.clone()), item.updated_at);
            entry.name = (!item.title.is_empty()).then(|| cut(&item.title));
            entry.on_relay = Some(item.title.clone());
            self.list.push(entry);
            merged.changed = true;
        }
        if !self.list.iter().any(|s| s.id == self.current) {
            // Cannot happen (the current one is never removed); keep the
            // list sound anyway.
            if let Some(first) = self.newest_first().first() {
                self.current = first.id.clone();
            }
        }
        merged
    }

    /// The saves the relay is owed: every conversation with a session whose
    /// title the relay does not have — (session, title). Sent only to a
    /// relay that sent a list on this connection (a signed-in user).
    pub fn pending_saves(&self) -> Vec<(String, String)> {
        self.list
            .iter()
            .filter_map(|s| {
                let session = s.session.clone()?;
                let title = relay_title(s);
                (s.on_relay.as_deref() != Some(title.as_str())).then_some((session, title))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(session: &str, title: &str, at: u64) -> ConversationItem {
        ConversationItem {
            session: session.into(),
            title: title.into(),
            updated_at: at,
        }
    }

    fn ids() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("r{n}")
        }
    }

    /// One browser's list: `a` (current, session s-a), `b` (s-b, renamed).
    fn browser() -> Conversations {
        let mut list = Conversations::start("a".into(), Some("s-a".into()), 1);
        list.start_new("b".into(), 2).expect("room");
        list.set_session("s-b");
        list.rename("b", "Taxes");
        list.switch("a");
        list
    }

    #[test]
    fn the_relays_conversations_appear_and_its_titles_win() {
        let mut list = browser();
        let relay = [
            item("s-x", "From the phone", 50),
            item("s-b", "Taxes 2026", 40),
        ];
        let merged = list.merge_relay(&relay, &[], ids());
        assert!(merged.changed);
        assert!(merged.removed.is_empty());
        let x = list
            .list
            .iter()
            .find(|s| s.session.as_deref() == Some("s-x"));
        let x = x.expect("the phone's conversation is here");
        assert_eq!(x.id, "r1", "a page id of its own, not the session");
        assert_eq!(x.title(), Some("From the phone"));
        assert_eq!(list.get("b").and_then(Summary::title), Some("Taxes 2026"));
        assert_eq!(list.newest_first()[0].session.as_deref(), Some("s-x"));
        // `a` is only here: the relay is owed it; the others are saved.
        assert_eq!(list.pending_saves(), [("s-a".to_owned(), String::new())]);
        // The same list again changes nothing.
        assert!(!list.merge_relay(&relay, &[], ids()).changed);
    }

    #[test]
    fn a_save_on_its_way_keeps_this_browsers_newer_title() {
        let mut list = browser();
        list.merge_relay(&[item("s-b", "Taxes", 10)], &[], ids());
        list.rename("b", "Taxes, final");
        assert_eq!(
            list.pending_saves(),
            [
                ("s-a".to_owned(), String::new()),
                ("s-b".to_owned(), "Taxes, final".to_owned())
            ]
        );
        // An older answer arrives before the rename's own.
        list.merge_relay(&[item("s-b", "Taxes", 10)], &["s-b".to_owned()], ids());
        assert_eq!(list.get("b").and_then(Summary::title), Some("Taxes, final"));
    }

    #[test]
    fn one_deleted_elsewhere_goes_but_never_the_shown_or_an_unsent_one() {
        let mut list = browser();
        list.merge_relay(&[item("s-a", "", 10), item("s-b", "Taxes", 10)], &[], ids());
        assert!(list.pending_saves().is_empty());
        // Another browser deleted both.
        let merged = list.merge_relay(&[], &[], ids());
        let removed: Vec<_> = merged.removed.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(removed, ["b"], "a is shown: it stays");
        assert_eq!(list.list.len(), 1);
        assert_eq!(list.pending_saves(), [("s-a".to_owned(), String::new())]);
    }

    #[test]
    fn the_browsers_bound_holds_the_newest_of_the_relays() {
        let mut list = browser();
        let relay: Vec<_> = (0..100)
            .map(|i| item(&format!("s-{i}"), "", 1_000 - i))
            .collect();
        list.merge_relay(&relay, &[], ids());
        assert_eq!(list.list.len(), MAX_CONVERSATIONS);
        assert!(list
            .list
            .iter()
            .any(|s| s.session.as_deref() == Some("s-0")));
        assert!(!list
            .list
            .iter()
            .any(|s| s.session.as_deref() == Some("s-99")));
        assert!(list.get("a").is_some() && list.get("b").is_some(), "kept");
    }

    #[test]
    fn a_conversation_without_a_session_waits_for_one() {
        let mut list = Conversations::start("a".into(), None, 1);
        assert!(list.pending_saves().is_empty());
        list.set_session("s-a");
        assert_eq!(list.pending_saves().len(), 1);
        let back = Conversations::parse(&list.encode()).expect("readable");
        assert_eq!(back, list, "on_relay is kept across reloads");
    }
}
