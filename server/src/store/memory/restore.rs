//! Reading a store back from disk at start (see [`crate::store::sqlite`]).

use tokio::time::Instant;

use super::{Sessions, Settle};
use crate::frame::Frame;

/// Reading the store back from disk at start (see [`super::sqlite`]): the
/// same bounds apply as to live changes, and what they evict is reported
/// to the journal, so the disk is pruned to match.
impl Sessions {
    /// Starts or ends reading back: meanwhile only evictions are reported.
    pub fn set_restoring(&self, on: bool) {
        self.lock().restoring = on;
    }

    /// A stored outcome of `session` (oldest first), as if just settled.
    pub fn restore_outcome(
        &self,
        session: &str,
        id: &str,
        frame: Frame,
        failed: bool,
        undelivered: bool,
    ) {
        self.settle(session, id, frame, failed, Settle::Restore { undelivered });
    }

    /// A kept push of `session`, as if just pushed with no connection open.
    pub fn restore_push(&self, session: &str, frame: Frame) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        self.ensure_session(inner, session, now);
        let Some(s) = inner.map.get_mut(session) else {
            return;
        };
        let len = frame.len();
        if s.undelivered.len() >= self.limits.max_answers_per_session
            || inner.retained_bytes.saturating_add(len) > self.limits.max_retained_bytes
        {
            return;
        }
        s.undelivered.push(frame);
        s.kept_pushes += len;
        inner.retained_bytes += len;
        inner.reindex(session);
    }

    /// When `session` was last seen: `ago` before now (after its outcomes
    /// were restored, which made it look new).
    pub fn restore_seen(&self, session: &str, ago: std::time::Duration) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        self.ensure_session(inner, session, now);
        if let Some(s) = inner.map.get_mut(session) {
            s.last_seen = now.checked_sub(ago).unwrap_or(now);
        }
        inner.reindex(session);
    }

    /// A tombstone read back from disk, with `left_secs` to live.
    pub fn restore_tombstone(&self, session: &str, id: &str, failed: bool, left_secs: u32) {
        self.lock()
            .tombs
            .bury_for(session, id, failed, Instant::now(), left_secs);
    }
}
