//! What may appear in logs: URLs without their secrets, sessions by a
//! short hash instead of their id, and secrets not at all ([`Secret`]).
//!
//! A session id is the conversation's only credential (whoever knows it can
//! resume the conversation and read its kept answers), so logs — which are
//! shipped, shared and kept far longer than chats — name a session by the
//! first hex digits of its SHA-256: enough to follow one conversation
//! through the log, useless for resuming it.

use sha2::{Digest, Sha256};

/// A secret string: shown as `***` in `Debug`, so it cannot end up in a log
/// by accident. Here, a leaf, because both the flags (`config`) and the
/// parts that use a secret (the n8n client's headers and basic auth) hold
/// one.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `scheme://host[:port]/path`, without user info, query or fragment.
pub fn url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    if url.password().is_some() || !url.username().is_empty() {
        text.push_str(" (credentials hidden)");
    }
    if url.query().is_some() {
        text.push_str(" (query hidden)");
    }
    text
}

/// A session as logs show it: `s:` and 10 hex digits of its hash.
#[derive(Debug, Clone, Copy)]
pub struct Session<'a>(&'a str);

/// The log name of `id`.
pub fn session(id: &str) -> Session<'_> {
    Session(id)
}

impl std::fmt::Display for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digest = Sha256::digest(self.0.as_bytes());
        f.write_str("s:")?;
        for byte in &digest[..5] {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_query() {
        let u =
            url::Url::parse("https://user:secret@n8n.example/webhook/abc?token=t").expect("url");
        let shown = url(&u);
        assert!(
            !shown.contains("secret") && !shown.contains("user") && !shown.contains("token"),
            "{shown}"
        );
        assert!(
            shown.starts_with("https://n8n.example/webhook/abc"),
            "{shown}"
        );
        let redis = url::Url::parse("redis://:s3cret@10.0.0.5:6379/2").expect("url");
        let shown = url(&redis);
        assert!(
            !shown.contains("s3cret") && shown.contains("10.0.0.5:6379"),
            "{shown}"
        );
    }

    #[test]
    fn sessions_are_named_by_a_short_stable_hash() {
        let id = "3f2a9c1e-5b7d-4e21-9a0b-1c2d3e4f5a6b";
        let shown = session(id).to_string();
        assert_eq!(shown.len(), 12);
        assert!(shown.starts_with("s:"));
        assert!(!shown.contains(id));
        assert_eq!(shown, session(id).to_string(), "stable");
        assert_ne!(shown, session("another").to_string());
    }
}
