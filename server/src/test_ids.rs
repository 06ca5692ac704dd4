//! Ids for the relay's unit tests: `sid("s")` reads better than
//! `SessionId::from_static("s")` a hundred times.

use shared::{MessageId, SessionId};

/// `id` as a session id (a test's literal; panics if invalid).
pub fn sid(id: &'static str) -> SessionId {
    SessionId::from_static(id)
}

/// `id` as a message id (a test's literal; panics if invalid).
pub fn mid(id: &'static str) -> MessageId {
    MessageId::from_static(id)
}
