//! A `forget` frame: the visitor deleted a conversation (or all of them,
//! `n8nChat.forgetMe()`), so the relay drops what its store keeps of each
//! session (see [`crate::store::SessionStore::forget`]).
//!
//! Who may forget what: knowing a session id is what resuming it takes, so
//! it is also what forgetting it takes — except that a session owned by a
//! verified user is forgotten only from that user's connection (the same
//! check as joining it, [`crate::store::SessionStore::claim`]).

use shared::{validate, ServerMessage};

use crate::store::{Claim, SessionStore};

/// Forgets `sessions` (`None`: the connection's own, `own`) for a
/// connection of `user`; the `forgotten` frame saying how many.
pub async fn forget(
    store: &dyn SessionStore,
    own: &str,
    user: Option<&str>,
    sessions: Option<Vec<String>>,
) -> ServerMessage {
    let sessions = sessions.unwrap_or_else(|| vec![own.to_owned()]);
    let mut forgotten = 0u32;
    for session in sessions.iter().take(validate::MAX_FORGET_SESSIONS) {
        if !validate::is_valid_session_id(session) {
            continue;
        }
        // The own session was claimed when the connection joined it.
        let allowed = session == own
            || matches!(
                store.claim(session, user).await,
                Claim::Granted | Claim::Unknown
            );
        if allowed {
            store.forget(session).await;
            // Out of the user's list on the relay too, so no other browser
            // of theirs shows it again.
            if let Some(user) = user {
                store.drop_conversation(user, session).await;
            }
            forgotten += 1;
        }
    }
    tracing::info!(
        forgotten,
        asked = sessions.len(),
        "sessions forgotten on request"
    );
    ServerMessage::Forgotten {
        sessions: forgotten,
    }
}
