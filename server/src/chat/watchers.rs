//! The messages this relay watches for a takeover (see
//! [`super::takeover`]): one watcher per message id, however often the page
//! resends it, and a bound on how many.

use parking_lot::Mutex;
use shared::{MessageId, SessionId};
use std::collections::HashSet;
use std::sync::Arc;

/// Most messages watched at once; beyond it a resend starts no watcher
/// (the page resends again after its next reconnect).
pub const MAX_WATCHED: usize = 10_000;

/// The messages being watched: one watcher per message id, however often
/// the page resends it.
#[derive(Debug, Default)]
pub struct Watchers(Mutex<HashSet<(SessionId, MessageId)>>);

/// A watched message; no longer watched when dropped.
#[derive(Debug)]
pub struct Watching {
    watchers: Arc<Watchers>,
    key: (SessionId, MessageId),
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.watchers.lock().remove(&self.key);
    }
}

impl Watchers {
    fn lock(&self) -> parking_lot::MutexGuard<'_, HashSet<(SessionId, MessageId)>> {
        self.0.lock()
    }

    /// Starts watching message `id` of `session`, unless it already is
    /// (or [`MAX_WATCHED`] are).
    pub fn start(self: &Arc<Self>, session: &SessionId, id: &MessageId) -> Option<Watching> {
        let key = (session.clone(), id.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ids::{mid, sid};
    use shared::MessageId;

    #[test]
    fn one_watcher_per_message_and_a_bound() {
        let watchers = Arc::new(Watchers::default());
        let first = watchers.start(&sid("s"), &mid("m1")).expect("first");
        assert!(
            watchers.start(&sid("s"), &mid("m1")).is_none(),
            "already watched"
        );
        assert!(
            watchers.start(&sid("s"), &mid("m2")).is_some(),
            "another message"
        );
        assert_eq!(watchers.count(), 1, "m2's guard was dropped at once");
        drop(first);
        assert_eq!(watchers.count(), 0);
        let held: Vec<Watching> = (0..MAX_WATCHED)
            .filter_map(|i| {
                watchers.start(&sid("s"), &MessageId::parse(&format!("x{i}")).expect("id"))
            })
            .collect();
        assert_eq!(held.len(), MAX_WATCHED);
        assert!(
            watchers.start(&sid("s"), &mid("one-more")).is_none(),
            "bounded"
        );
    }
}
