//! A resumed session's earlier messages, from n8n's chat memory
//! (`--load-previous-session`), queued for the connection that resumed it.

use axum::extract::ws::Utf8Bytes;
use shared::{Role, ServerMessage};
use tokio::sync::mpsc;

use crate::chat::encode;
use crate::redact;
use crate::AppState;

/// Loads the session's history from n8n and queues it for one connection.
pub async fn send_history(state: AppState, session: String, tx: mpsc::Sender<Utf8Bytes>) {
    match state.responder().history(&session).await {
        Some(Ok(mut messages)) if !messages.is_empty() => {
            // The bot's lines are formatted like live answers.
            for m in messages.iter_mut().filter(|m| m.role == Role::Bot) {
                m.doc = state.format_answer(&m.text).await;
            }
            let frame = ServerMessage::History { messages };
            let _ = tx.try_send(encode(&frame));
        }
        Some(Err(e)) => {
            tracing::warn!(session = %redact::session(&session), "could not load the previous session: {e}")
        }
        _ => {}
    }
}
