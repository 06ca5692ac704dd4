//! The visitor's conversations: new, switch, rename, delete, export and
//! `forgetMe` carried out on the storage and the socket. The decisions
//! (bounds, titles, which one is shown next) are
//! [`crate::model::conversations`]'.
//!
//! The conversation shown is kept where the single conversation always was
//! (its lines and its session); the others' lines are parked under their
//! own keys. Switching parks the shown one, unparks the other, and
//! reconnects with the other's session: the relay then sends what that
//! session is owed (answers that arrived meanwhile, a waiting run's
//! question) and, with `--load-previous-session`, n8n's memory of it.

use leptos::prelude::*;
use shared::ClientMessage;

use super::Chat;
use crate::browser::page::now;
use crate::browser::{download, storage};
use crate::model::conversation::{Conversation, Saved};
use crate::model::conversations::{self, Conversations};
use crate::model::ids;
use crate::model::machine::{Event, Phase};

impl Chat {
    /// The stored list, or one made of what was kept before there was a
    /// list (the single conversation and its session).
    pub(super) fn load_list() -> Conversations {
        storage::load_list().unwrap_or_else(|| {
            Conversations::start(ids::new_id(), storage::load_session(), now() as u64)
        })
    }

    /// Saves the list after `change`, if it says something changed.
    fn change_list(&self, change: impl FnOnce(&mut Conversations) -> bool) {
        let changed = self.view.conversations.try_update(change).unwrap_or(false);
        if changed {
            self.view.conversations.with_untracked(storage::save_list);
            // A new session or title: the signed-in user's list on the relay.
            self.send_saves();
        }
    }

    /// The shown conversation changed: its title and state in the list.
    pub(super) fn observe_conversation(&self) {
        let conversation = self.view.conversation.get_untracked();
        self.change_list(|l| l.observe(&conversation, now() as u64));
    }

    /// The relay confirmed the shown conversation's session.
    pub(super) fn list_session(&self, session: &str) {
        self.change_list(|l| l.set_session(session));
    }

    /// "New conversation": the shown one is parked, a new empty one (with
    /// a new session from the relay) is shown. At the bound the oldest
    /// finished one is archived; if every one still waits for an answer,
    /// nothing changes and a note says why.
    pub fn new_conversation(&self) {
        if !self.park_current() {
            return;
        }
        let id = ids::new_id();
        let started = self
            .view
            .conversations
            .try_update(|l| l.start_new(id, now() as u64));
        let Some(started) = started else { return };
        let archived = match started {
            Ok(archived) => archived,
            Err(conversations::Full) => {
                self.view.list_full.set(true);
                return;
            }
        };
        self.view.list_full.set(false);
        for gone in archived {
            storage::drop_parked(&gone.id);
        }
        self.show(None, Conversation::default());
    }

    /// Shows conversation `id` (parking the shown one).
    pub fn switch_conversation(&self, id: &str) {
        let current = self
            .view
            .conversations
            .with_untracked(|l| l.current.clone());
        if current == id {
            return;
        }
        if !self.park_current() {
            return;
        }
        let switched = self.view.conversations.try_update(|l| l.switch(id));
        if switched != Some(true) {
            return;
        }
        let mut lines = storage::unpark(id);
        lines.requeue_sent();
        let session = self
            .view
            .conversations
            .with_untracked(|l| l.current().session.clone());
        self.show(session, lines);
    }

    /// Parks the shown conversation's lines; false if storage refused
    /// them (then it stays shown: unsent messages are never dropped).
    fn park_current(&self) -> bool {
        let id = self
            .view
            .conversations
            .with_untracked(|l| l.current.clone());
        let parked = self
            .view
            .conversation
            .with_untracked(|c| storage::park(&id, c));
        if parked == Saved::Failed {
            self.view.storage_full.set(true);
            return false;
        }
        true
    }

    /// Shows `lines` as the current conversation of the list, on
    /// `session` (`None`: a new one from the relay), and reconnects.
    fn show(&self, session: Option<String>, lines: Conversation) {
        self.view.list_full.set(false);
        self.view.conversations.with_untracked(storage::save_list);
        self.view.conversation.set(lines);
        match &session {
            Some(s) => storage::save_session(s),
            None => storage::forget_session(),
        }
        *self.session.borrow_mut() = session;
        self.dispatch(Event::Reconnect);
    }

    /// Renames conversation `id` (an empty name: titled by its first
    /// message again).
    pub fn rename_conversation(&self, id: &str, name: &str) {
        self.change_list(|l| l.rename(id, name));
    }

    /// Deletes conversation `id` here, and asks the relay to forget its
    /// session (now if online, else on the next connection). Deleting the
    /// shown one shows the most recent other one, or a new empty one.
    pub fn delete_conversation(&self, id: &str) {
        let was_current = self.view.conversations.with_untracked(|l| l.current == id);
        let fresh = ids::new_id();
        let gone = self.view.conversations.try_update(|l| {
            let gone = l.delete(id, fresh, now() as u64)?;
            if let Some(session) = gone.session.clone() {
                l.queue_forget(session);
            }
            Some(gone)
        });
        let Some(Some(gone)) = gone else { return };
        storage::drop_parked(&gone.id);
        self.view.conversations.with_untracked(storage::save_list);
        if was_current {
            let (next, session) = self
                .view
                .conversations
                .with_untracked(|l| (l.current.clone(), l.current().session.clone()));
            let mut lines = storage::unpark(&next);
            lines.requeue_sent();
            // Its session is forgotten from the next connection (it names
            // it in the `forget` frame).
            self.show(session, lines);
        } else {
            self.send_forget();
        }
    }

    /// `n8nChat.forgetMe()`: every conversation of this browser goes —
    /// here at once, on the relay as soon as it is reached — and a new
    /// empty one is shown.
    pub fn forget_me(&self) {
        let gone = self
            .view
            .conversations
            .try_update(|l| l.forget_all(ids::new_id(), now() as u64))
            .unwrap_or_default();
        for entry in gone {
            storage::drop_parked(&entry.id);
        }
        self.show(None, Conversation::default());
    }

    /// Sends the sessions waiting to be forgotten (when online); the list
    /// lets go of them when the relay says `forgotten`.
    pub(super) fn send_forget(&self) {
        if self.machine.borrow().phase() != Phase::Online {
            return;
        }
        let waiting = self.view.conversations.with_untracked(|l| l.forget.clone());
        if waiting.is_empty() || !self.forget_sent.borrow().is_empty() {
            return;
        }
        let frame = ClientMessage::Forget {
            sessions: Some(waiting.clone()),
        };
        if self.send_frame(&frame) {
            *self.forget_sent.borrow_mut() = waiting;
        }
    }

    /// The relay's `forgotten`: what was sent is done.
    pub(super) fn on_forgotten(&self) {
        let sent = std::mem::take(&mut *self.forget_sent.borrow_mut());
        self.change_list(|l| {
            l.forgotten(&sent);
            true
        });
        // Deleted meanwhile: their turn.
        self.send_forget();
    }

    /// Downloads the shown conversation as a Markdown file.
    pub fn export_conversation(&self) {
        let (untitled, you, bot) = self
            .view
            .texts
            .with_untracked(|t| (t.new_conversation(), t.export_you(), t.export_bot()));
        let title = self
            .view
            .conversations
            .with_untracked(|l| l.current().title().map(str::to_owned))
            .unwrap_or(untitled);
        let text = self
            .view
            .conversation
            .with_untracked(|c| conversations::to_markdown(&title, c, &you, &bot));
        if !download::offer(&conversations::file_name(&title), "text/markdown", &text) {
            web_sys::console::warn_1(&"the browser refused the export download".into());
        }
    }
}
