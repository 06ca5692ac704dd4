//! A message another relay is answering (shared store only): if that relay
//! stops for good (crashed, no drain), its lease expires and this relay —
//! where the session's connection now is — runs the message itself, so the
//! page's resend is not left waiting forever.
//!
//! Checked every third of `--redis-lease` (at most every second), for as
//! long as the session has a connection here; a relay that is merely slow
//! keeps renewing its lease and its answer arrives through Redis as usual.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::connection::answer;
use crate::responder::ChatRequest;
use crate::sessions::Begin;
use crate::AppState;

/// Most messages watched at once; beyond it a resend starts no watcher
/// (the page resends again after its next reconnect).
pub const MAX_WATCHED: usize = 10_000;

/// The messages being watched: one watcher per message id, however often
/// the page resends it.
#[derive(Debug, Default)]
pub struct Watchers(Mutex<HashSet<(String, String)>>);

/// A watched message; no longer watched when dropped.
#[derive(Debug)]
pub struct Watching {
    watchers: Arc<Watchers>,
    key: (String, String),
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.watchers.lock().remove(&self.key);
    }
}

impl Watchers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts watching message `id` of `session`, unless it already is
    /// (or [`MAX_WATCHED`] are).
    pub fn start(self: &Arc<Self>, session: &str, id: &str) -> Option<Watching> {
        let key = (session.to_owned(), id.to_owned());
        let mut set = self.lock();
        if set.len() >= MAX_WATCHED || !set.insert(key.clone()) {
            return None;
        }
        Some(Watching {
            watchers: self.clone(),
            key,
        })
    }

    /// How many messages are watched now (for `/healthz`).
    pub fn count(&self) -> usize {
        self.lock().len()
    }
}

/// Watches `request` until it is answered (anywhere) or taken over here.
/// `_watching` marks it watched for as long as this runs.
pub async fn watch(state: AppState, request: ChatRequest, _watching: Watching) {
    // At most a second, so a draining relay is not held up by a watcher.
    let period =
        (state.config.redis_lease / 3).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let (session, id) = (request.session_id.clone(), request.message_id.clone());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = state.stop_answers.cancelled() => return,
        }
        if state.is_draining() || !state.store.is_connected(&session) {
            // Nobody here to answer; the session's next connection resends.
            return;
        }
        match state.store.begin(&session, &id, false).await {
            Begin::Elsewhere | Begin::Busy => continue,
            Begin::Start => {
                tracing::warn!(session = %crate::redact::session(&session), id = %id, "the relay answering this message stopped; answering it here");
                answer(state, request).await;
                return;
            }
            // Answered (its frame was published to this session) or in
            // flight here now.
            Begin::Answered(_) | Begin::InFlight => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_watcher_per_message_and_a_bound() {
        let watchers = Arc::new(Watchers::default());
        let first = watchers.start("s", "m1").expect("first");
        assert!(watchers.start("s", "m1").is_none(), "already watched");
        assert!(watchers.start("s", "m2").is_some(), "another message");
        assert_eq!(watchers.count(), 1, "m2's guard was dropped at once");
        drop(first);
        assert_eq!(watchers.count(), 0);
        let held: Vec<Watching> = (0..MAX_WATCHED)
            .filter_map(|i| watchers.start("s", &format!("x{i}")))
            .collect();
        assert_eq!(held.len(), MAX_WATCHED);
        assert!(watchers.start("s", "one-more").is_none(), "bounded");
    }
}
