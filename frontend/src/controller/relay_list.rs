//! A signed-in user's list of conversations on the relay: the relay's
//! `conversations` frames merged into the browser's list, and the
//! browser's conversations saved to the relay (`saveConversation`). The
//! decisions are [`crate::model::relay_list`]'s.
//!
//! Saves go only on a connection that received a list: the relay sends
//! one only to a verified user, and only a relay that keeps lists sends
//! one — so anonymous visitors and older relays never see the frame.

use leptos::prelude::*;
use shared::{ClientMessage, ConversationItem};

use super::Chat;
use crate::browser::storage;
use crate::model::ids;

/// Saves unconfirmed on one connection at most (refused ones stay until
/// the next connection): the browser's list is 20 long, so this is only
/// reached by a relay refusing many titles in a row.
const MAX_SAVING: usize = 64;

impl Chat {
    /// The relay's list for the signed-in user.
    pub(super) fn on_relay_list(&self, items: &[ConversationItem]) {
        self.relay_lists.set(true);
        // Saves the list confirms are done.
        self.saving.borrow_mut().retain(|(session, title)| {
            !items
                .iter()
                .any(|i| &i.session == session && &i.title == title)
        });
        let in_flight: Vec<String> = self
            .saving
            .borrow()
            .iter()
            .map(|(s, _)| s.clone())
            .collect();
        let merged = self
            .view
            .conversations
            .try_update(|l| l.merge_relay(items, &in_flight, ids::new_id))
            .unwrap_or_default();
        for gone in &merged.removed {
            storage::drop_parked(&gone.id);
        }
        if merged.changed {
            self.view.conversations.with_untracked(storage::save_list);
        }
        self.send_saves();
    }

    /// Sends what the relay's list lacks (new sessions, new titles), each
    /// once per connection.
    pub(super) fn send_saves(&self) {
        if !self.relay_lists.get() {
            return;
        }
        let pending = self
            .view
            .conversations
            .with_untracked(|l| l.pending_saves());
        for (session, title) in pending {
            let key = (session.clone(), title.clone());
            if self.saving.borrow().contains(&key) {
                continue;
            }
            if self.saving.borrow().len() >= MAX_SAVING {
                return;
            }
            if self.send_frame(&ClientMessage::SaveConversation { session, title }) {
                self.saving.borrow_mut().push(key);
            }
        }
    }

    /// Whether a `session_forbidden` without an id is the answer to a save
    /// (saves are on their way): then it is not shown.
    pub(super) fn save_refused(&self) -> bool {
        !self.saving.borrow().is_empty()
    }
}
