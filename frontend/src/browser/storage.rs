//! Where the session id, the conversation and the user's language and
//! theme choices are kept, so they survive a reload.
//!
//! - The page on its own: its `localStorage`. Unavailable (private mode,
//!   disabled): the page works without persistence.
//! - The page embedded (`?mode=window&host=…`): the **host's** storage,
//!   through `embed.js` ([`use_host`], [`host_loaded`]). An iframe on
//!   another site has no storage of its own that works everywhere:
//!   Chromium with third-party storage blocked throws on `localStorage`,
//!   and Firefox and Safari partition it by the top-level site alone, so a
//!   second frame on the same shop (an ad) that frames the chat naming
//!   *itself* as host would share the visitor's session. The host's own
//!   first-party storage is kept by every browser and is the host's alone;
//!   a chat framed for another host asks that host. The iframe's own
//!   `localStorage` is never used while embedded.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::browser::host_page;
use crate::model::conversation::{Conversation, Saved};
use crate::model::conversations::Conversations;
// Parked conversations' lines are under this + their page id; the one
// shown stays under `CONVERSATION_KEY`, as before the list.
use crate::model::embed::PARKED_PREFIX;

const SESSION_KEY: &str = "n8nChat.sessionId";
const CONVERSATION_KEY: &str = "n8nChat.conversation";
const LANGUAGE_KEY: &str = "n8nChat.language";
const THEME_KEY: &str = "n8nChat.theme";
/// The list of conversations ([`Conversations`]).
const LIST_KEY: &str = "n8nChat.conversations";
const FOCUS_ANSWERS_KEY: &str = "n8nChat.focusAnswers";

/// The longest value the host is asked to keep (UTF-16 units): its
/// `localStorage` quota (about 5 MB) is shared with the host's own data, so
/// the conversation is trimmed to this, like to the quota on its own.
const MAX_HOST_VALUE: usize = 1_000_000;

/// Where the state goes while embedded.
enum Host {
    /// Not embedded: the page's own `localStorage`.
    Off,
    /// Embedded, the host's answer not in yet (or nothing can be kept):
    /// nothing is read or written.
    Nothing,
    /// Embedded: the host keeps it; this is the copy its answer brought,
    /// updated with every write (which also goes to the host).
    Kept(HashMap<String, String>),
}

thread_local! {
    static HOST: RefCell<Host> = const { RefCell::new(Host::Off) };
}

/// Embedded: from now on, the state is the host's (empty until
/// [`host_loaded`]).
pub fn use_host() {
    HOST.with(|h| *h.borrow_mut() = Host::Nothing);
}

/// The host's saved state arrived (`None`: it keeps nothing).
pub fn host_loaded(state: Option<HashMap<String, String>>) {
    HOST.with(|h| *h.borrow_mut() = state.map_or(Host::Nothing, Host::Kept));
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn get(key: &str) -> Option<String> {
    let host = HOST.with(|h| match &*h.borrow() {
        Host::Off => None,
        Host::Nothing => Some(None),
        Host::Kept(map) => Some(map.get(key).cloned()),
    });
    match host {
        Some(value) => value,
        None => local()?.get_item(key).ok().flatten(),
    }
}

/// Writes `value` (`None`: removes the key); whether it was kept.
fn set(key: &str, value: Option<&str>) -> bool {
    let host = HOST.with(|h| match &mut *h.borrow_mut() {
        Host::Off => None,
        Host::Nothing => Some(false),
        Host::Kept(_) if value.is_some_and(|v| v.len() > MAX_HOST_VALUE) => Some(false),
        Host::Kept(map) => {
            match value {
                Some(v) => map.insert(key.to_owned(), v.to_owned()),
                None => map.remove(key),
            };
            Some(true)
        }
    });
    match host {
        Some(true) => {
            host_page::store(key, value);
            true
        }
        Some(false) => false,
        None => local().is_some_and(|s| match value {
            Some(v) => s.set_item(key, v).is_ok(),
            None => s.remove_item(key).is_ok(),
        }),
    }
}

/// The stored session id, if any.
pub fn load_session() -> Option<String> {
    get(SESSION_KEY)
}

/// Remembers the session id.
pub fn save_session(id: &str) {
    set(SESSION_KEY, Some(id));
}

/// Forgets the session id (a new chat gets a new session from the relay).
pub fn forget_session() {
    set(SESSION_KEY, None);
}

/// The language the user picked, if any.
pub fn load_language() -> Option<String> {
    get(LANGUAGE_KEY)
}

/// Remembers the user's language.
pub fn save_language(code: &str) {
    set(LANGUAGE_KEY, Some(code));
}

/// The theme the user picked (`auto`, `light`, `dark`), if any.
pub fn load_theme() -> Option<String> {
    get(THEME_KEY)
}

/// Remembers the user's theme.
pub fn save_theme(name: &str) {
    set(THEME_KEY, Some(name));
}

/// Whether the user asked for focus to move to each new answer.
pub fn load_focus_answers() -> bool {
    get(FOCUS_ANSWERS_KEY).as_deref() == Some("1")
}

/// Remembers whether focus moves to each new answer.
pub fn save_focus_answers(on: bool) {
    set(FOCUS_ANSWERS_KEY, on.then_some("1"));
}

/// The stored conversation (empty if none or unreadable).
pub fn load_conversation() -> Conversation {
    get(CONVERSATION_KEY)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// Stores the conversation. Past the browser's quota the oldest answered
/// history is left out of the saved copy (never an unsent message); `Failed`
/// when even that does not fit. Without storage there is nothing to lose:
/// `Whole` (embedded, the page says once that nothing is kept).
pub fn save_conversation(conversation: &Conversation) -> Saved {
    let nowhere = HOST.with(|h| match &*h.borrow() {
        Host::Off => local().is_none(),
        Host::Nothing => true,
        Host::Kept(_) => false,
    });
    if nowhere {
        return Saved::Whole;
    }
    let saved = conversation.save_within(|json| set(CONVERSATION_KEY, Some(json)));
    if saved == Saved::Failed {
        // A stale copy would bring back answered messages as unsent ones.
        set(CONVERSATION_KEY, None);
    }
    saved
}

/// The stored list of conversations, if any and readable.
pub fn load_list() -> Option<Conversations> {
    get(LIST_KEY).and_then(|json| Conversations::parse(&json))
}

/// Stores the list of conversations.
pub fn save_list(list: &Conversations) {
    set(LIST_KEY, Some(&list.encode()));
}

/// Keeps the lines of conversation `id` while another one is shown.
/// Trimmed like the shown one past the quota (never an unsent message);
/// `Failed`: not kept (the caller keeps it shown).
pub fn park(id: &str, conversation: &Conversation) -> Saved {
    let key = format!("{PARKED_PREFIX}{id}");
    let saved = conversation.save_within(|json| set(&key, Some(json)));
    if saved == Saved::Failed {
        set(&key, None);
    }
    saved
}

/// The parked lines of conversation `id` (taken out: the caller shows
/// them, so they are saved as the shown conversation from now on).
pub fn unpark(id: &str) -> Conversation {
    let key = format!("{PARKED_PREFIX}{id}");
    let conversation = get(&key)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    set(&key, None);
    conversation
}

/// Forgets the parked lines of conversation `id` (deleted or archived).
pub fn drop_parked(id: &str) {
    set(&format!("{PARKED_PREFIX}{id}"), None);
}
