//! The operator's pause as the chat core sees it: a message that would go
//! to n8n while paused is handed back instead (see `store::pause`).

use shared::{ErrorCode, ServerMessage};
use shared::{MessageId, SessionId};

use super::encode;
use crate::metrics::Metrics;
use crate::metrics::Outcome;
use crate::redact;
use crate::store::Store;

/// What the page is told when the operator has paused the chat.
pub const PAUSED: &str =
    "the chat is paused by its operator; the message is kept and sent when it resumes";

/// Ends `id` without an outcome because the chat is paused: not sent to
/// n8n, released (a resend after the resume runs it), and the page is told
/// `paused` so it keeps the message.
pub async fn refuse_paused(store: &Store, metrics: &Metrics, session: &SessionId, id: &MessageId) {
    tracing::debug!(session = %redact::session(session), id = %id, "paused: not sent to n8n");
    metrics.message(Outcome::Paused);
    let frame = encode(&ServerMessage::error(
        Some(id.to_string()),
        ErrorCode::Paused,
        PAUSED,
    ));
    store.release(session, id, frame).await;
}
