//! The registry's maps, and the index of the sessions that may be
//! forgotten (no connection, nothing in flight), oldest first: making room
//! at a bound and the periodic sweep take the oldest in O(log n) instead
//! of scanning every session under the lock.

use std::collections::HashMap;

use tokio::time::Instant;

use super::session::{Entry, IdleKey, Session};
use crate::store::journal::{Change, Journal};
use crate::store::tombstones::Tombstones;
use crate::store::transcripts::Transcripts;

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) map: HashMap<String, Session>,
    pub(super) retained_bytes: usize,
    /// The evictable sessions, oldest first.
    pub(super) idle: std::collections::BTreeMap<IdleKey, String>,
    pub(super) next_seq: u64,
    /// Ids whose outcome was forgotten (see [`super::tombstones`]).
    pub(super) tombs: Tombstones,
    /// Where changes are written down, if anywhere (see [`super::journal`]).
    pub(super) journal: Option<std::sync::Arc<dyn Journal>>,
    /// While the store is read back from disk: only evictions are reported.
    pub(super) restoring: bool,
    /// The sessions' transcripts (see [`crate::store::transcripts`]), under
    /// the same lock: a session forgotten here decides its transcript's
    /// fate in the same step.
    pub(super) transcripts: Transcripts,
}

impl Inner {
    /// Reports `change` to the journal, if there is one.
    pub(super) fn note(&self, change: Change) {
        if let Some(journal) = &self.journal {
            if !(self.restoring && change.restates()) {
                journal.record(change);
            }
        }
    }

    pub(super) fn seen(&self, session: &str) {
        if self.journal.is_some() {
            self.note(Change::Seen {
                session: session.to_owned(),
            });
        }
    }

    /// Brings the idle index up to date for `key` after a change to its
    /// connections, messages in flight or last-seen time. Every method that
    /// changes those calls it before releasing the lock.
    pub(super) fn reindex(&mut self, key: &str) {
        let Inner {
            map,
            idle,
            next_seq,
            ..
        } = self;
        let Some(s) = map.get_mut(key) else {
            return;
        };
        let want = s.evictable().then_some(s.last_seen);
        if s.idle_key.map(|(at, _)| at) == want {
            return;
        }
        if let Some(old) = s.idle_key.take() {
            idle.remove(&old);
        }
        if let Some(at) = want {
            *next_seq += 1;
            let k = (at, *next_seq);
            s.idle_key = Some(k);
            idle.insert(k, key.to_owned());
        }
    }
}

/// Forgets a session; each outcome it kept leaves a tombstone. Its
/// transcript goes too, unless the session was a signed-in user's (kept
/// while their list holds it, see [`super::Sessions::sweep`]).
pub(super) fn remove_session(inner: &mut Inner, key: &str) {
    if let Some(s) = inner.map.remove(key) {
        if inner.transcripts.orphan(key, s.owner.as_deref()) {
            inner.note(Change::TranscriptDropped {
                session: key.to_owned(),
            });
        }
        inner.retained_bytes = inner.retained_bytes.saturating_sub(s.retained_bytes());
        if let Some(k) = s.idle_key {
            inner.idle.remove(&k);
        }
        let now = Instant::now();
        for (id, entry) in &s.messages {
            if let Entry::Done { failed, .. } = entry {
                inner.tombs.bury(key, id, *failed, now);
            }
        }
        inner.note(Change::Forgotten {
            session: key.to_owned(),
        });
    }
}

/// Evicts the idle session unseen for longest (never `keep`); false if none.
/// O(log n): the oldest from the idle index (skipping at most `keep`).
pub(super) fn evict_oldest_idle(inner: &mut Inner, keep: Option<&str>) -> bool {
    let oldest = inner
        .idle
        .values()
        .find(|k| Some(k.as_str()) != keep)
        .cloned();
    match oldest {
        Some(key) => {
            tracing::debug!(session = %crate::redact::session(&key), "session evicted to stay within limits");
            remove_session(inner, &key);
            true
        }
        None => false,
    }
}
