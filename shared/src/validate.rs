//! Limits on identifiers, shared so page and relay agree on what is valid.

/// Longest client-chosen message id, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 64;
/// Longest session id, in characters.
pub const MAX_SESSION_ID_CHARS: usize = 128;

/// A message id is 1..=64 characters of `[A-Za-z0-9_-]` (the page uses
/// UUIDs): the same alphabet as a session id, because ids are written to
/// logs, storage keys and n8n requests as they are. Any other character —
/// a newline above all — could forge a log line (tracing escapes control
/// characters such as ESC in values, but not `\n`).
pub fn is_valid_message_id(id: &str) -> bool {
    (1..=MAX_MESSAGE_ID_CHARS).contains(&id.len()) && is_id_alphabet(id)
}

/// Whether every byte of `id` is one of `[A-Za-z0-9_-]`.
fn is_id_alphabet(id: &str) -> bool {
    id.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A session id is 1..=128 characters of `[A-Za-z0-9_-]`, so it is safe in a
/// URL, a log line and a storage key without escaping.
pub fn is_valid_session_id(id: &str) -> bool {
    (1..=MAX_SESSION_ID_CHARS).contains(&id.len()) && is_id_alphabet(id)
}

/// Sessions one `forget` frame may name: a page's whole list of
/// conversations fits (the page keeps 20), and one frame cannot make the
/// relay delete without bound.
pub const MAX_FORGET_SESSIONS: usize = 100;

/// Longest title of a conversation kept on the relay (characters, after
/// trimming): the page's own titles are shorter (60), and a bound in
/// characters keeps a title's bytes bounded too (at most 4 per character).
pub const MAX_CONVERSATION_TITLE_CHARS: usize = 120;

/// Conversations the relay keeps in one verified user's list at most; at
/// the bound, saving a new one drops the least recently saved.
pub const MAX_USER_CONVERSATIONS: usize = 100;

/// Whether `title`, trimmed, is short enough for a conversation's title.
pub fn is_valid_conversation_title(title: &str) -> bool {
    title.trim().chars().count() <= MAX_CONVERSATION_TITLE_CHARS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids() {
        assert!(is_valid_message_id("a"));
        assert!(is_valid_message_id(&"x".repeat(64)));
        assert!(!is_valid_message_id(""));
        assert!(!is_valid_message_id(&"x".repeat(65)));
        assert!(is_valid_message_id("5b0f7e0a-6c1e-4b8e-9f51-2f8c1d7a9e10"));
        assert!(is_valid_message_id("m_1-X"));
        for bad in [
            "a\nb",
            "a\r",
            "a b",
            "ä",
            "a/b",
            "a\u{1b}[31m",
            "a\"b",
            "a%0A",
        ] {
            assert!(!is_valid_message_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn conversation_titles() {
        assert!(is_valid_conversation_title(""));
        assert!(is_valid_conversation_title(&"ü".repeat(120)));
        assert!(is_valid_conversation_title(&format!(
            "  {}  ",
            "x".repeat(120)
        )));
        assert!(!is_valid_conversation_title(&"x".repeat(121)));
    }

    #[test]
    fn session_ids() {
        assert!(is_valid_session_id("3f1c-abc_DEF"));
        assert!(is_valid_session_id(&"a".repeat(128)));
        assert!(!is_valid_session_id(""));
        assert!(!is_valid_session_id(&"a".repeat(129)));
        assert!(!is_valid_session_id("a b"));
        assert!(!is_valid_session_id("a/b"));
        assert!(!is_valid_session_id("ä"));
    }
}
