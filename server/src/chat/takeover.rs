//! A message another relay is answering (shared store only): if that relay
//! stops for good (crashed, no drain), its lease expires and this relay —
//! where the session's connection now is — runs the message itself, so the
//! page's resend is not left waiting forever.
//!
//! Checked every third of `--redis-lease` (at most every second), for as
//! long as the session has a connection here; a relay that is merely slow
//! keeps renewing its lease and its answer arrives through Redis as usual.

use std::time::Duration;

use super::answer::answer;
use super::watchers::Watching;
use crate::responder::ChatRequest;
use crate::store::Begin;
use crate::AppState;

/// Watches `request` until it is answered (anywhere) or taken over here.
/// `_watching` marks it watched for as long as this runs.
pub async fn watch(state: AppState, request: ChatRequest, _watching: Watching) {
    // At most a second, so a draining relay is not held up by a watcher.
    let period = (state.config().cluster.redis_lease / 3)
        .clamp(Duration::from_millis(50), Duration::from_secs(1));
    let (session, id) = (request.session_id.clone(), request.message_id.clone());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = state.answers_stopped() => return,
        }
        if state.is_draining() || !state.store().is_connected(&session) {
            // Nobody here to answer; the session's next connection resends.
            return;
        }
        match state.store().begin(&session, &id, false).await {
            Begin::Elsewhere | Begin::Busy => continue,
            Begin::Start => {
                tracing::warn!(session = %crate::redact::session(&session), id = %id, "the relay answering this message stopped; answering it here");
                answer(state, request).await;
                return;
            }
            // Answered (its frame was published to this session) or in
            // flight here now.
            Begin::Answered(_) | Begin::InFlight | Begin::Lost => return,
        }
    }
}
