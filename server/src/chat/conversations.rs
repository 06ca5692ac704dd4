//! A verified user's list of conversations on the relay (issue 24): sent
//! when a connection is identified, saved by `saveConversation` frames,
//! trimmed by `forget` (see [`crate::store::conversations`] for the list
//! and its bounds).
//!
//! Who may save what: only a verified user, and only a session that is
//! theirs — owned by them, or without an owner yet (it becomes theirs:
//! the same claim as joining it). A session id alone therefore never
//! lists or opens an identified user's conversation, and one user's token
//! never reads another's list (the list is looked up by the token's user).

use shared::{ConversationItem, ErrorCode, ServerMessage};

use crate::store::{Claim, SessionStore};

/// What an anonymous connection is told when it tries to save.
pub const ANONYMOUS: &str =
    "only a signed-in user's conversations are kept on the relay; this one stays in the browser";

/// What a user is told when the session is someone else's.
pub const NOT_YOURS: &str = "this conversation belongs to another user, or is no longer known to the relay; it was not saved";

/// `user`'s list as a frame; `None` while the store cannot say.
pub async fn list(store: &dyn SessionStore, user: &str, now_ms: u64) -> Option<ServerMessage> {
    let items = store.conversations(user, now_ms).await?;
    Some(ServerMessage::Conversations { items })
}

/// A `saveConversation` of `session` titled `title` from a connection of
/// `user` (`None`: anonymous); the frame to answer with (the list, or an
/// error), `None` if the store could not save it (the page saves it again
/// with its next list).
pub async fn save(
    store: &dyn SessionStore,
    user: Option<&str>,
    session: shared::SessionId,
    title: &str,
    now_ms: u64,
) -> Option<ServerMessage> {
    let Some(user) = user else {
        return Some(ServerMessage::error(
            None,
            ErrorCode::SessionForbidden,
            ANONYMOUS,
        ));
    };
    let allowed = match store.claim(&session, Some(user)).await {
        Claim::Granted => true,
        // Forgotten by the store (its `--retain-for` is far shorter than
        // the list's retention), but saved by this user before.
        Claim::Unknown => store.lists_conversation(user, &session, now_ms).await,
        Claim::Refused => false,
    };
    if !allowed {
        tracing::info!(session = %crate::redact::session(&session), "conversation not saved: not this user's");
        return Some(ServerMessage::error(
            None,
            ErrorCode::SessionForbidden,
            NOT_YOURS,
        ));
    }
    let item = ConversationItem {
        session: session.into(),
        title: crate::store::conversations::clean_title(title),
        updated_at: now_ms,
    };
    let items = store.save_conversation(user, item, now_ms).await?;
    Some(ServerMessage::Conversations { items })
}
