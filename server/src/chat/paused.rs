//! The operator's pause (`POST /pause` on the admin listener), as a
//! message meets it: not sent to n8n, handed back so the page keeps it.

use shared::{ErrorCode, ServerMessage};

use super::encode;
use crate::metrics::{Metrics, Outcome};
use crate::redact;
use crate::store::Store;

/// What the page is told when the operator has paused the chat.
pub const PAUSED: &str =
    "the chat is paused by its operator; the message is kept and sent when it resumes";

/// Ends `id` without an outcome because the chat is paused: not sent to
/// n8n, released (a resend after the resume runs it), and the page is told
/// `paused` so it keeps the message. Given the two handles it uses, not
/// the whole state.
pub async fn refuse_paused(metrics: &Metrics, store: &Store, session: &str, id: &str) {
    tracing::debug!(session = %redact::session(session), id, "paused: not sent to n8n");
    metrics.message(Outcome::Paused);
    let frame = encode(&ServerMessage::error(
        Some(id.to_owned()),
        ErrorCode::Paused,
        PAUSED,
    ));
    store.release(session, id, frame).await;
}
