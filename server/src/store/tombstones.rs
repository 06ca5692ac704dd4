//! What the relay remembers of a message id after it forgot its outcome.
//!
//! A session is forgotten when it has been away for `--retain-for`, or
//! earlier to make room (`--max-sessions`, `--max-retained-bytes`), and a
//! session's oldest answers go when it has too many. Without a trace, the
//! page's resend of such an id (its outbox after being offline) looks new
//! and n8n runs the message a second time — and opening many cheap sessions
//! would let anyone force that on visitors who are briefly away.
//!
//! So each forgotten outcome leaves a tombstone: a keyed 64-bit hash of
//! (session, id) — not the id, not the text — and whether the outcome was
//! an error (an explicit retry of an error may still run). A resend of a
//! buried id gets `answer_lost` instead of a second run.
//!
//! Bounded twice: a tombstone lives `ttl` (at least `--retain-for`), and at
//! most `max` are kept — at the bound the oldest is forgotten first (its id
//! would then run again if resent: the bound trades that against memory,
//! about 40 bytes a tombstone).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

/// Whether a buried outcome was an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tomb {
    /// Whole seconds since [`Tombstones::epoch`] when it may go.
    expires: u32,
    failed: bool,
}

/// The bounded set of tombstones.
#[derive(Debug)]
pub struct Tombstones {
    /// Keyed with random keys at start, so nobody outside can aim a hash
    /// at someone else's message id.
    keys: std::collections::hash_map::RandomState,
    tombs: HashMap<u64, Tomb>,
    /// Burial order, oldest first: (hash, expires). A hash buried twice is
    /// here twice; only the entry matching the map's removes it.
    order: VecDeque<(u64, u32)>,
    max: usize,
    ttl_secs: u32,
    epoch: Instant,
}

impl Tombstones {
    /// An empty set keeping at most `max` tombstones, each for `ttl`.
    pub fn new(max: usize, ttl: Duration) -> Self {
        Tombstones {
            keys: std::collections::hash_map::RandomState::new(),
            tombs: HashMap::new(),
            order: VecDeque::new(),
            max,
            // Rounded up, so a tombstone lives at least `ttl`.
            ttl_secs: u32::try_from(ttl.as_secs().saturating_add(1)).unwrap_or(u32::MAX),
            epoch: Instant::now(),
        }
    }

    fn hash(&self, session: &str, id: &str) -> u64 {
        let mut h = self.keys.build_hasher();
        h.write(session.as_bytes());
        // Ids and sessions are of `[A-Za-z0-9_-]`: a separator outside it
        // keeps ("ab", "c") and ("a", "bc") apart.
        h.write_u8(b'\n');
        h.write(id.as_bytes());
        h.finish()
    }

    fn now_secs(&self, now: Instant) -> u32 {
        u32::try_from(now.duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX)
    }

    /// Remembers that message `id` of `session` had an outcome (`failed`:
    /// an error) that is no longer kept.
    pub fn bury(&mut self, session: &str, id: &str, failed: bool, now: Instant) {
        self.bury_for(session, id, failed, now, self.ttl_secs);
    }

    /// Like [`Tombstones::bury`], for `left_secs` (at most the usual
    /// time): a tombstone read back from disk lives what it had left.
    /// Buried oldest first, so the burial order stays the expiry order.
    pub fn bury_for(
        &mut self,
        session: &str,
        id: &str,
        failed: bool,
        now: Instant,
        left_secs: u32,
    ) {
        if self.max == 0 {
            return;
        }
        let hash = self.hash(session, id);
        let expires = self
            .now_secs(now)
            .saturating_add(left_secs.min(self.ttl_secs));
        self.tombs.insert(hash, Tomb { expires, failed });
        self.order.push_back((hash, expires));
        while self.order.len() > self.max {
            self.pop_oldest();
        }
    }

    /// Whether `id` of `session` is buried: `Some(failed)` if so.
    pub fn find(&mut self, session: &str, id: &str, now: Instant) -> Option<bool> {
        self.expire(now);
        let hash = self.hash(session, id);
        self.tombs.get(&hash).map(|t| t.failed)
    }

    /// Forgets the tombstones older than their time.
    pub fn expire(&mut self, now: Instant) {
        let now = self.now_secs(now);
        while self.order.front().is_some_and(|&(_, at)| at <= now) {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((hash, expires)) = self.order.pop_front() {
            if self.tombs.get(&hash).is_some_and(|t| t.expires == expires) {
                self.tombs.remove(&hash);
            }
        }
    }

    /// How many tombstones are kept.
    pub fn len(&self) -> usize {
        self.tombs.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.tombs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn buried_ids_are_found_until_their_time() {
        let mut t = Tombstones::new(10, Duration::from_secs(60));
        let now = Instant::now();
        t.bury("s", "m1", false, now);
        t.bury("s", "m2", true, now);
        assert_eq!(t.find("s", "m1", now), Some(false));
        assert_eq!(t.find("s", "m2", now), Some(true));
        assert_eq!(t.find("s", "m3", now), None);
        assert_eq!(t.find("other", "m1", now), None, "per session");
        assert_eq!(t.find("s", "m", now), None);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            t.find("s", "m1", Instant::now()),
            Some(false),
            "kept at least the ttl"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(t.find("s", "m1", Instant::now()), None);
        assert!(t.is_empty());
    }

    /// The set reaches its bound and stays there: the oldest tombstone is
    /// forgotten first.
    #[tokio::test(start_paused = true)]
    async fn the_set_is_bounded_and_forgets_the_oldest_first() {
        let mut t = Tombstones::new(100, Duration::from_secs(3600));
        let now = Instant::now();
        for i in 0..1000 {
            t.bury("s", &format!("m{i}"), false, now);
            assert!(t.len() <= 100);
            assert!(t.order.len() <= 100);
        }
        assert_eq!(t.len(), 100, "reaches its bound");
        assert_eq!(t.find("s", "m899", now), None, "the oldest went first");
        assert_eq!(t.find("s", "m900", now), Some(false));
        assert_eq!(t.find("s", "m999", now), Some(false));
        // Burying the same id again does not let its older entry remove it.
        let mut t = Tombstones::new(2, Duration::from_secs(10));
        t.bury("s", "a", true, now);
        tokio::time::advance(Duration::from_secs(5)).await;
        t.bury("s", "a", false, Instant::now());
        t.bury("s", "b", false, Instant::now());
        assert_eq!(t.find("s", "a", Instant::now()), Some(false));
    }
}
