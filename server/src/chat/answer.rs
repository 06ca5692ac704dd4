//! A message being answered: the responder is asked (streamed pieces go
//! out as `chunk` frames as they arrive), and the outcome is settled in the
//! store, which routes it to the session's connections here or on another
//! relay, or keeps it for the next one.

use shared::{ErrorCode, ServerMessage};

use super::encode;
use crate::redact;
use crate::responder::{ChatRequest, ResponderError};
use crate::AppState;

/// Gets one answer and hands it to the session store for delivery.
pub async fn answer(state: AppState, request: ChatRequest) {
    let started = std::time::Instant::now();
    let store = state.store().clone();
    let (session, id) = (request.session_id.clone(), request.message_id.clone());
    let on_chunk = move |text: &str| {
        let frame = ServerMessage::Chunk {
            id: id.clone(),
            text: text.to_owned(),
        };
        store.chunk(&session, encode(&frame));
    };
    let result = tokio::select! {
        result = state.responder().answer(&request, &on_chunk) => result,
        _ = state.answers_stopped() => Err(ResponderError::ShuttingDown),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let log = redact::session(&request.session_id);
    let id = request.message_id.clone();
    let (frame, failed) = match result {
        Ok(text) => {
            tracing::info!(session = %log, id = %id, latency_ms, "answered");
            (ServerMessage::Response { id, text }, false)
        }
        Err(ResponderError::ShuttingDown) => {
            // Not an outcome: the page keeps the message and resends it
            // after reconnecting, to this relay restarted or to another one,
            // which must then run it rather than answer with this error.
            tracing::warn!(session = %log, id = %id, latency_ms, "given up: shutting down");
            let frame = ServerMessage::error(
                Some(id.clone()),
                ErrorCode::ShuttingDown,
                ResponderError::ShuttingDown.to_string(),
            );
            state
                .store()
                .release(&request.session_id, &id, encode(&frame))
                .await;
            return;
        }
        Err(e) => {
            tracing::warn!(session = %log, id = %id, latency_ms, code = %e.code(), "failed: {e}");
            (
                ServerMessage::error(Some(id), e.code(), e.to_string()),
                true,
            )
        }
    };
    state
        .store()
        .complete(
            &request.session_id,
            &request.message_id,
            encode(&frame),
            failed,
        )
        .await;
}
