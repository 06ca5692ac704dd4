//! A `forget` frame: the visitor deleted a conversation (or all of them,
//! `n8nChat.forgetMe()`), so the relay drops what its store keeps of each
//! session (see [`crate::store::SessionStore::forget`]), and the files it
//! uploaded ([`UploadStore::remove_session`]).
//!
//! Who may forget what: knowing a session id is what resuming it takes, so
//! it is also what forgetting it takes — except that a session owned by a
//! verified user is forgotten only from that user's connection (the same
//! check as joining it, [`crate::store::SessionStore::claim`]).

use shared::{validate, ServerMessage, SessionId};

use crate::store::{Claim, SessionStore};
use crate::uploads::store::UploadStore;

/// Forgets `sessions` (`None`: the connection's own, `own`) for a
/// connection of `user`, with their uploads in `uploads` (when uploads
/// are on); the `forgotten` frame saying how many.
pub async fn forget(
    store: &dyn SessionStore,
    uploads: Option<&UploadStore>,
    own: &SessionId,
    user: Option<&str>,
    sessions: Option<Vec<String>>,
) -> ServerMessage {
    let sessions = sessions.unwrap_or_else(|| vec![own.to_string()]);
    let mut forgotten = 0u32;
    for session in sessions.iter().take(validate::MAX_FORGET_SESSIONS) {
        let Some(session) = SessionId::parse(session) else {
            continue;
        };
        // The own session was claimed when the connection joined it.
        let claim = if &session == own {
            Claim::Granted
        } else {
            store.claim(&session, user).await
        };
        let allowed = match claim {
            Claim::Granted => true,
            // Unknown to the store: all that may remain of it is the
            // transcript of a conversation in a signed-in user's list (see
            // `store::transcripts`), which only that user may delete. For
            // anyone else there is nothing to delete: it counts as done.
            Claim::Unknown => {
                if let Some(user) = user {
                    let now = crate::clock::now_ms();
                    if store.lists_conversation(user, &session, now).await {
                        store.forget(&session).await;
                    }
                    store.drop_conversation(user, &session).await;
                }
                forgotten += 1;
                continue;
            }
            Claim::Refused => false,
        };
        if allowed {
            store.forget(&session).await;
            // Its files too: nothing else deletes them before
            // `--upload-retention` while its visitor stays connected.
            if let Some(uploads) = uploads {
                uploads.remove_session(&session).await;
            }
            // Out of the user's list on the relay too, so no other browser
            // of theirs shows it again.
            if let Some(user) = user {
                store.drop_conversation(user, &session).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::Sessions;
    use crate::store::transcripts::Line;
    use crate::store::{ConnHandle, Limits};
    use crate::test_ids::sid;

    fn conn(id: u64) -> ConnHandle {
        let (tx, _rx) = crate::outbox::channel(4);
        ConnHandle::new(id, tx, tokio_util::sync::CancellationToken::new())
    }

    /// A conversation in alice's list whose session the store forgot keeps
    /// its transcript for her; naming the session is not enough to delete
    /// it — only alice's `forget` does.
    #[tokio::test]
    async fn a_listed_transcript_is_deleted_only_by_its_user() {
        let store = Sessions::new(Limits {
            max_sessions: 1,
            ..Limits::default()
        });
        let now = crate::clock::now_ms();
        store.attach(&sid("alices"), conn(1));
        store.claim(&sid("alices"), Some("alice"));
        let item = shared::ConversationItem {
            session: "alices".into(),
            title: "Trip".into(),
            updated_at: now,
        };
        store.lists.save("alice", item, now);
        store.record_lines(&sid("alices"), vec![Line::user("secret plan")], now);
        store.detach(&sid("alices"), 1);
        // One session at most: the next one pushes alice's out.
        store.attach(&sid("other"), conn(2));
        assert!(!store.knows(&sid("alices")));
        assert!(
            store.transcript(&sid("alices")).is_some(),
            "kept for her list"
        );
        for user in [None, Some("bob")] {
            let named = Some(vec!["alices".to_owned()]);
            let frame = forget(&store, None, &sid("other"), user, named).await;
            assert_eq!(frame, ServerMessage::Forgotten { sessions: 1 });
            assert!(
                store.transcript(&sid("alices")).is_some(),
                "{user:?}: not deleted"
            );
        }
        forget(
            &store,
            None,
            &sid("other"),
            Some("alice"),
            Some(vec!["alices".into()]),
        )
        .await;
        assert_eq!(store.transcript(&sid("alices")), None, "alice deleted it");
        assert!(!store.lists.contains("alice", "alices", now));
    }
}
