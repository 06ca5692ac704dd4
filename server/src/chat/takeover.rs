//! A message another relay is answering (shared store only): if that relay
//! stops for good (crashed, no drain), its lease expires and this relay —
//! where the session's connection now is — runs the message itself, so the
//! page's resend is not left waiting forever.
//!
//! Checked every third of `--redis-lease` (at most every second), for as
//! long as the session has a connection here; a relay that is merely slow
//! keeps renewing its lease and its answer arrives through Redis as usual.
//!
//! A message taken over starts like a new one (`lifecycle::start`): in the
//! session's turn (after the messages before it, or as the reply a waiting
//! run expects — never beside another execution of the same conversation),
//! and with its files when this relay has them; when it does not (they
//! were uploaded to the crashed relay), it ends in `upload_missing`,
//! released, so the page uploads them here and sends it again.

use super::core::Chat;
use super::incoming::Incoming;
use crate::store::Verdict;
use shared::SessionId;

/// Watches `message` of `session` until it is answered (anywhere) or is
/// to be taken over here: then it is handed back, to be started like a new
/// message.
pub async fn watch(chat: &Chat, session: &SessionId, message: Incoming) -> Option<Incoming> {
    let period = chat.settings().takeover_check;
    let id = message.id.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = chat.drain().answers_stopped() => return None,
        }
        if chat.drain().is_draining() || !chat.store().is_connected(session) {
            // Nobody here to answer; the session's next connection resends.
            return None;
        }
        match chat.store().begin(session, &id, false).await {
            Verdict::Elsewhere | Verdict::Busy | Verdict::Unavailable => continue,
            Verdict::Interrupted(frame) => {
                // Not run again (the default): the page hears why, on
                // every relay it is connected to, and may retry.
                tracing::warn!(session = %crate::redact::session(session), id = %id, "the relay answering this message stopped; it is `interrupted`");
                chat.store().complete(session, &id, frame, true).await;
                return None;
            }
            Verdict::Start => {
                tracing::warn!(session = %crate::redact::session(session), id = %id, "the relay answering this message stopped; answering it here");
                return Some(message);
            }
            // Answered (its frame was published to this session) or in
            // flight here now.
            Verdict::Answered(_) | Verdict::InFlight | Verdict::Lost => return None,
        }
    }
}
