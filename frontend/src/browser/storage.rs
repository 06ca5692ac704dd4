//! `localStorage`: the session id, the conversation and the user's language
//! and theme choices survive a reload.
//! Storage may be unavailable (private mode, disabled); the page then works
//! without persistence.

use crate::model::conversation::{Conversation, Saved};

const SESSION_KEY: &str = "n8nChat.sessionId";
const CONVERSATION_KEY: &str = "n8nChat.conversation";
const LANGUAGE_KEY: &str = "n8nChat.language";
const THEME_KEY: &str = "n8nChat.theme";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The stored session id, if any.
pub fn load_session() -> Option<String> {
    storage()?.get_item(SESSION_KEY).ok().flatten()
}

/// Remembers the session id.
pub fn save_session(id: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(SESSION_KEY, id);
    }
}

/// Forgets the session id (a new chat gets a new session from the relay).
pub fn forget_session() {
    if let Some(s) = storage() {
        let _ = s.remove_item(SESSION_KEY);
    }
}

/// The language the user picked, if any.
pub fn load_language() -> Option<String> {
    storage()?.get_item(LANGUAGE_KEY).ok().flatten()
}

/// Remembers the user's language.
pub fn save_language(code: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(LANGUAGE_KEY, code);
    }
}

/// The theme the user picked (`auto`, `light`, `dark`), if any.
pub fn load_theme() -> Option<String> {
    storage()?.get_item(THEME_KEY).ok().flatten()
}

/// Remembers the user's theme.
pub fn save_theme(name: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(THEME_KEY, name);
    }
}

/// The stored conversation (empty if none or unreadable).
pub fn load_conversation() -> Conversation {
    storage()
        .and_then(|s| s.get_item(CONVERSATION_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Stores the conversation. Past the browser's quota the oldest answered
/// history is left out of the saved copy (never an unsent message); `Failed`
/// when even that does not fit. Without storage there is nothing to lose:
/// `Whole`.
pub fn save_conversation(conversation: &Conversation) -> Saved {
    let Some(s) = storage() else {
        return Saved::Whole;
    };
    let saved = conversation.save_within(|json| s.set_item(CONVERSATION_KEY, json).is_ok());
    if saved == Saved::Failed {
        // A stale copy would bring back answered messages as unsent ones.
        let _ = s.remove_item(CONVERSATION_KEY);
    }
    saved
}
