//! Limits on identifiers, shared so page and relay agree on what is valid.

/// Longest client-chosen message id, in characters.
pub const MAX_MESSAGE_ID_CHARS: usize = 64;
/// Longest session id, in characters.
pub const MAX_SESSION_ID_CHARS: usize = 128;

/// A message id is 1..=64 characters (any characters: clients use UUIDs).
pub fn is_valid_message_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=MAX_MESSAGE_ID_CHARS).contains(&n)
}

/// A session id is 1..=128 characters of `[A-Za-z0-9_-]`, so it is safe in a
/// URL, a log line and a storage key without escaping.
pub fn is_valid_session_id(id: &str) -> bool {
    (1..=MAX_SESSION_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
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
        assert!(
            is_valid_message_id(&"ä".repeat(64)),
            "counts characters, not bytes"
        );
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
