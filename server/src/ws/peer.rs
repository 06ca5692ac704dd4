//! Who is connecting: the session asked for, or a new one.
//!
//! The page names its session in its first frame (a `hello`, on a
//! connection opened with `?hello`), so the id — a credential — never
//! appears in a URL and so in no proxy's access log. The older form,
//! `?session=<id>` in the query, is still accepted for a release
//! (deprecated): then the session is decided from the upgrade request,
//! before the socket exists. See docs/protocol.md.

use shared::SessionId;
use std::net::{IpAddr, SocketAddr};

/// Who is connecting.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The session to join (given or new; empty until the hello when
    /// [`Peer::awaits_hello`]).
    pub session_id: shared::SessionId,
    /// The client asked for a session id that is not valid.
    pub rejected_session: bool,
    /// The client asked to continue an existing session (a valid id).
    pub resumed: bool,
    /// The client's address, for logs.
    pub addr: Option<SocketAddr>,
    /// The client's IP as the admission limits see it (behind a trusted
    /// proxy: the forwarded one), for the new-session rate.
    pub client_ip: Option<IpAddr>,
    /// The session comes in the first frame (`?hello`): decided after the
    /// upgrade, by [`Peer::choose`].
    pub awaits_hello: bool,
    /// The session asked for is another user's (or unknown, with verified
    /// identity on): a new one was started instead (see
    /// [`super::identify::own_session`]).
    pub forbidden_session: bool,
    /// The user signed in with OpenID Connect, from the session cookie of
    /// the upgrade request (checked there); used when the `hello` brings
    /// no identity token.
    pub signed_in: Option<crate::identity::Identity>,
}

impl Peer {
    /// Reads the query string: `hello` means the session comes in the
    /// first frame; otherwise `?session=` (deprecated) — a valid id joins
    /// that session, an invalid one gets a new session (and an
    /// `invalid_session` error), none gets a new session.
    pub fn from_query(query: Option<&str>, addr: Option<SocketAddr>) -> Self {
        let pairs = || url::form_urlencoded::parse(query.unwrap_or_default().as_bytes());
        let awaits_hello = pairs().any(|(k, _)| k == "hello");
        let mut peer = Peer {
            // A placeholder until `choose` decides (at once, or at the hello).
            session_id: new_session_id(),
            rejected_session: false,
            resumed: false,
            addr,
            client_ip: addr.map(|a| a.ip()),
            awaits_hello,
            forbidden_session: false,
            signed_in: None,
        };
        if !awaits_hello {
            let requested = pairs()
                .find(|(k, _)| k == "session")
                .map(|(_, v)| v.into_owned());
            peer.choose(requested);
        }
        peer
    }

    /// Decides the session from what the client asked for (the query's
    /// `session`, or the hello's `sessionId`).
    pub fn choose(&mut self, requested: Option<String>) {
        // Checked here, once: from now on the session is a `SessionId`.
        let (session_id, rejected_session, resumed) = match requested.map(SessionId::from_string) {
            Some(Some(id)) => (id, false, true),
            Some(None) => (new_session_id(), true, false),
            None => (new_session_id(), false, false),
        };
        self.session_id = session_id;
        self.rejected_session = rejected_session;
        self.resumed = resumed;
        self.awaits_hello = false;
    }
}

/// A fresh random id (sessions, clients).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh random session id.
pub fn new_session_id() -> SessionId {
    // A UUID's 36 characters of hex digits and dashes are a valid session
    // id; the fallback is never taken.
    SessionId::from_string(new_id()).unwrap_or_else(|| SessionId::from_static("session"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_from_query() {
        let p = Peer::from_query(Some("session=abc-123"), None);
        assert_eq!(
            (p.session_id.as_str(), p.rejected_session, p.resumed),
            ("abc-123", false, true)
        );
        assert!(!p.awaits_hello);
        let p = Peer::from_query(Some("x=1&session=bad%20id"), None);
        assert!(p.rejected_session);
        assert_eq!(p.session_id.len(), 36);
        let p = Peer::from_query(None, None);
        assert!(!p.rejected_session && !p.resumed);
        assert_eq!(p.session_id.len(), 36);
    }

    #[test]
    fn hello_defers_the_session_to_the_first_frame() {
        for query in ["hello", "hello=1", "x=1&hello", "hello&session=abc"] {
            let p = Peer::from_query(Some(query), None);
            assert!(p.awaits_hello, "{query}");
            assert!(
                !p.resumed && !p.rejected_session,
                "{query}: nothing decided yet"
            );
        }
        let mut p = Peer::from_query(Some("hello"), None);
        p.choose(Some("abc-123".into()));
        assert_eq!(
            (
                p.session_id.as_str(),
                p.rejected_session,
                p.resumed,
                p.awaits_hello
            ),
            ("abc-123", false, true, false)
        );
        let mut p = Peer::from_query(Some("hello"), None);
        p.choose(Some("a\nb".into()));
        assert!(p.rejected_session && !p.resumed);
        let mut p = Peer::from_query(Some("hello"), None);
        p.choose(None);
        assert!(!p.rejected_session && !p.resumed);
        assert_eq!(p.session_id.len(), 36);
    }
}
