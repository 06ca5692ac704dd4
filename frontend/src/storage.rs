//! `localStorage`: the session id and the conversation survive a reload.
//! Storage may be unavailable (private mode, disabled); the page then works
//! without persistence.

use crate::conversation::Conversation;

const SESSION_KEY: &str = "n8nChat.sessionId";
const CONVERSATION_KEY: &str = "n8nChat.conversation";

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

/// The stored conversation (empty if none or unreadable).
pub fn load_conversation() -> Conversation {
    storage()
        .and_then(|s| s.get_item(CONVERSATION_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Stores the conversation.
pub fn save_conversation(conversation: &Conversation) {
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(conversation)) {
        let _ = s.set_item(CONVERSATION_KEY, &json);
    }
}
