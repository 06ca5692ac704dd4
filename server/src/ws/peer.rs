//! Who is connecting, decided from the upgrade request before the socket
//! exists: the session asked for, or a new one.

use std::net::SocketAddr;

use shared::validate;

/// Who is connecting, decided before the upgrade.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The session to join (given or new).
    pub session_id: String,
    /// The client asked for a session id that is not valid.
    pub rejected_session: bool,
    /// The client asked to continue an existing session (a valid id).
    pub resumed: bool,
    /// The client's address, for logs.
    pub addr: Option<SocketAddr>,
}

impl Peer {
    /// Reads `?session=` from a query string: a valid id joins that session,
    /// an invalid one gets a new session (and an `invalid_session` error),
    /// none gets a new session.
    pub fn from_query(query: Option<&str>, addr: Option<SocketAddr>) -> Self {
        let requested = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "session")
                .map(|(_, v)| v.into_owned())
        });
        let (session_id, rejected_session, resumed) = match requested {
            Some(id) if validate::is_valid_session_id(&id) => (id, false, true),
            Some(_) => (new_id(), true, false),
            None => (new_id(), false, false),
        };
        Peer {
            session_id,
            rejected_session,
            resumed,
            addr,
        }
    }
}

/// A fresh random id (sessions, clients).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
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
        let p = Peer::from_query(Some("x=1&session=bad%20id"), None);
        assert!(p.rejected_session);
        assert_eq!(p.session_id.len(), 36);
        let p = Peer::from_query(None, None);
        assert!(!p.rejected_session && !p.resumed);
        assert_eq!(p.session_id.len(), 36);
    }
}
