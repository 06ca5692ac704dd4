//! Stop (`cancel`): the answers this relay is getting right now, each with
//! a token its task listens to. Cancelling drops the request to n8n (the
//! connection closes, the stream stops being read); what arrived stays.
//! One entry per answer in flight here, removed when it ends — bounded by
//! the answers in flight.

use parking_lot::Mutex;
use shared::{MessageId, SessionId};
use std::collections::HashMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

/// The tokens of the answers in flight on this relay.
#[derive(Debug, Default)]
pub struct Cancels {
    inner: Mutex<HashMap<(SessionId, MessageId), CancellationToken>>,
}

/// An answer's registration; leaving the registry when dropped.
#[derive(Debug)]
pub struct Registered {
    cancels: Arc<Cancels>,
    key: (SessionId, MessageId),
    /// Cancelled when the user stops the answer.
    pub token: CancellationToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.cancels.lock().remove(&self.key);
    }
}

impl Cancels {
    fn lock(
        &self,
    ) -> parking_lot::MutexGuard<'_, HashMap<(SessionId, MessageId), CancellationToken>> {
        self.inner.lock()
    }

    /// Registers the answer to message `id` of `session`.
    pub fn register(self: &Arc<Self>, session: &SessionId, id: &MessageId) -> Registered {
        let key = (session.clone(), id.clone());
        let token = CancellationToken::new();
        self.lock().insert(key.clone(), token.clone());
        Registered {
            cancels: self.clone(),
            key,
            token,
        }
    }

    /// Stops the answer to message `id` of `session`; whether one was
    /// in flight here.
    pub fn cancel(&self, session: &SessionId, id: &MessageId) -> bool {
        match self.lock().get(&(session.clone(), id.clone())) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Answers in flight here (for tests and `/healthz`).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ids::{mid, sid};

    #[test]
    fn an_answer_is_registered_while_it_runs_and_can_be_stopped() {
        let cancels = Arc::new(Cancels::default());
        let answer = cancels.register(&sid("s"), &mid("m1"));
        assert_eq!(cancels.len(), 1);
        assert!(!cancels.cancel(&sid("s"), &mid("other")));
        assert!(cancels.cancel(&sid("s"), &mid("m1")));
        assert!(answer.token.is_cancelled());
        drop(answer);
        assert!(cancels.is_empty(), "gone when the answer ends");
        assert!(!cancels.cancel(&sid("s"), &mid("m1")));
    }
}
