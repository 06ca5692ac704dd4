//! The counters in this relay's memory: a bounded map of a key to its
//! window, the window's start and its count.
//!
//! Keyed by the key alone, not `(key, window)`: within one relay each key
//! has one window (a key names its quota: `v:`, `u:`, `a:`, `budget`), and
//! a `String` key lets every look-up borrow the caller's `&str` — a message
//! costs no allocation here unless its counter is new. A count restored
//! with another window (the flags changed across a restart) is read as
//! zero and replaced.
//!
//! **At the bound** (`--quota-max-tracked` keys) the least recently used
//! counter is forgotten to make room: that visitor or address starts again
//! from zero. Refusing new keys instead would let whoever fills the map
//! shut everyone else out; forgetting lets them only reset the counts of
//! visitors idle longer than everyone else — and the daily budget, taken
//! with every message, is never the least recently used, so the total
//! stays capped. Each eviction is counted ([`MemoryCounters::evicted`])
//! and logged (throttled). Counters whose window has ended are swept
//! regularly ([`Counters::sweep`]), so the map holds only today's.

use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::{Counters, Take, Taken, Window};
use crate::log_throttle::{LogThrottle, WARN_EVERY};

/// Default of `--quota-max-tracked`: about 20 MB at the bound.
pub const DEFAULT_MAX_TRACKED: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Count {
    /// Its window.
    window: Window,
    /// The start of the window this count belongs to (unix ms).
    start: u64,
    /// Its end.
    end: u64,
    count: u64,
}

impl Count {
    /// Whether this is the count of `window` starting at `start`.
    fn is_in(&self, window: Window, start: u64) -> bool {
        self.window == window && self.start == start
    }
}

/// Counters of this relay alone.
#[derive(Debug)]
pub struct MemoryCounters {
    map: Mutex<lru::LruCache<String, Count>>,
    evicted: AtomicU64,
}

impl MemoryCounters {
    /// At most `max_tracked` counters (at least 1).
    pub fn new(max_tracked: usize) -> Self {
        MemoryCounters {
            map: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(max_tracked).unwrap_or(NonZeroUsize::MIN),
            )),
            evicted: AtomicU64::new(0),
        }
    }

    /// Sets a counter read back from disk (`store::sqlite::counters`): its
    /// window started at `start`; the count is dropped if the window has
    /// ended by the time it is next taken.
    pub fn restore(&self, key: &str, window: Window, start: u64, count: u64) {
        let end = start.saturating_add(window.bounds(start).1 - window.bounds(start).0);
        let mut map = self.lock();
        if map.len() == map.cap().get() {
            self.note_eviction();
        }
        map.push(
            key.to_owned(),
            Count {
                window,
                start,
                end,
                count,
            },
        );
    }

    /// Counters forgotten at the bound since the start.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, lru::LruCache<String, Count>> {
        self.map.lock()
    }

    /// [`Counters::take`] without waiting (it never needs to).
    pub fn take_now(&self, takes: &[Take<'_>], now_ms: u64) -> Taken {
        let mut map = self.lock();
        for (index, take) in takes.iter().enumerate() {
            let (start, end) = take.window.bounds(now_ms);
            let used = map
                .peek(take.key)
                .filter(|c| c.is_in(take.window, start))
                .map_or(0, |c| c.count);
            if used >= take.limit.max(1) {
                return Taken::Refused {
                    index,
                    resets_at: end,
                };
            }
        }
        let mut remaining = u64::MAX;
        for take in takes {
            let (start, end) = take.window.bounds(now_ms);
            let fresh = Count {
                window: take.window,
                start,
                end,
                count: 0,
            };
            if !map.contains(take.key) {
                if map.len() == map.cap().get() {
                    self.note_eviction();
                }
                map.push(take.key.to_owned(), fresh);
            }
            let Some(count) = map.get_mut(take.key) else {
                continue;
            };
            if !count.is_in(take.window, start) {
                *count = fresh;
            }
            count.count += 1;
            remaining = remaining.min(take.limit.max(1).saturating_sub(count.count));
        }
        Taken::Allowed {
            remaining: if takes.is_empty() { 0 } else { remaining },
        }
    }

    fn note_eviction(&self) {
        static EVICTIONS: LogThrottle = LogThrottle::every(WARN_EVERY);
        let n = self.evicted.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(quiet) = EVICTIONS.warn() {
            tracing::warn!(
                evicted = n,
                quiet,
                "quota counters at --quota-max-tracked: the least recently used is forgotten (it starts again from zero)"
            );
        }
    }
}

#[async_trait]
impl Counters for MemoryCounters {
    async fn take(&self, takes: &[Take<'_>], now_ms: u64) -> Taken {
        self.take_now(takes, now_ms)
    }

    async fn count(&self, key: &str, window: Window, now_ms: u64) -> u64 {
        let (start, _) = window.bounds(now_ms);
        self.lock()
            .peek(key)
            .filter(|c| c.is_in(window, start))
            .map_or(0, |c| c.count)
    }

    async fn sweep(&self, now_ms: u64) -> usize {
        let mut map = self.lock();
        let ended: Vec<String> = map
            .iter()
            .filter(|(_, c)| c.end <= now_ms)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &ended {
            map.pop(key);
        }
        ended.len()
    }

    fn tracked(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIDNIGHT: u64 = 1_796_342_400_000; // 2026-12-04T00:00:00Z
    const DAY: u64 = 86_400_000;

    fn take(key: &str, limit: u64) -> Take<'_> {
        Take {
            key,
            window: Window::Day,
            limit,
        }
    }

    #[test]
    fn counts_up_to_the_limit_then_refuses_until_the_window_ends() {
        let c = MemoryCounters::new(10);
        let now = MIDNIGHT + 3_600_000;
        assert_eq!(
            c.take_now(&[take("v:a", 2)], now),
            Taken::Allowed { remaining: 1 }
        );
        assert_eq!(
            c.take_now(&[take("v:a", 2)], now),
            Taken::Allowed { remaining: 0 }
        );
        assert_eq!(
            c.take_now(&[take("v:a", 2)], now + 1000),
            Taken::Refused {
                index: 0,
                resets_at: MIDNIGHT + DAY
            }
        );
        assert_eq!(
            c.take_now(&[take("v:b", 2)], now),
            Taken::Allowed { remaining: 1 },
            "another key has its own count"
        );
        assert_eq!(
            c.take_now(&[take("v:a", 2)], MIDNIGHT + DAY),
            Taken::Allowed { remaining: 1 },
            "a new day starts from zero"
        );
    }

    #[tokio::test]
    async fn takes_all_or_none() {
        let c = MemoryCounters::new(10);
        let now = MIDNIGHT;
        assert!(matches!(
            c.take_now(&[take("v:a", 5), take("budget", 1)], now),
            Taken::Allowed { remaining: 0 }
        ));
        assert_eq!(
            c.take_now(&[take("v:b", 5), take("budget", 1)], now),
            Taken::Refused {
                index: 1,
                resets_at: MIDNIGHT + DAY
            }
        );
        assert_eq!(
            c.count("v:b", Window::Day, now).await,
            0,
            "refused by the budget: the visitor's count is untouched"
        );
        assert_eq!(c.count("v:a", Window::Day, now).await, 1);
    }

    #[test]
    fn at_the_bound_the_least_recently_used_counter_is_forgotten() {
        let c = MemoryCounters::new(3);
        let now = MIDNIGHT;
        for key in ["budget", "v:a", "v:b"] {
            assert!(matches!(
                c.take_now(&[take(key, 1)], now),
                Taken::Allowed { .. }
            ));
        }
        assert!(matches!(
            c.take_now(&[take("v:a", 1)], now),
            Taken::Refused { .. }
        ));
        assert_eq!(c.tracked(), 3);
        assert_eq!(c.evicted(), 0);
        // Full: a fourth key pushes out the least recently used ("budget").
        assert!(matches!(
            c.take_now(&[take("v:c", 1)], now),
            Taken::Allowed { .. }
        ));
        assert_eq!(c.tracked(), 3, "never more than the bound");
        assert_eq!(c.evicted(), 1);
        assert!(
            matches!(c.take_now(&[take("budget", 1)], now), Taken::Allowed { .. }),
            "the forgotten counter starts again from zero"
        );
        assert!(matches!(
            c.take_now(&[take("v:b", 1)], now),
            Taken::Refused { .. }
        ));
    }

    #[tokio::test]
    async fn a_count_restored_with_another_window_starts_from_zero() {
        // The flags changed across a restart: `--quota-visitor` was per
        // day, now per hour; at midnight both windows start together.
        let c = MemoryCounters::new(10);
        c.restore("v:a", Window::Day, MIDNIGHT, 5);
        assert_eq!(c.count("v:a", Window::Day, MIDNIGHT).await, 5);
        assert_eq!(c.count("v:a", Window::Hour, MIDNIGHT).await, 0);
        let hourly = Take {
            key: "v:a",
            window: Window::Hour,
            limit: 2,
        };
        assert_eq!(
            c.take_now(&[hourly], MIDNIGHT),
            Taken::Allowed { remaining: 1 }
        );
        assert_eq!(c.count("v:a", Window::Hour, MIDNIGHT).await, 1);
        assert_eq!(c.tracked(), 1, "one counter per key");
    }

    #[tokio::test]
    async fn ended_windows_are_swept() {
        let c = MemoryCounters::new(10);
        c.take_now(&[take("v:a", 5)], MIDNIGHT);
        c.take_now(
            &[Take {
                key: "v:b",
                window: Window::Hour,
                limit: 5,
            }],
            MIDNIGHT + DAY,
        );
        assert_eq!(c.sweep(MIDNIGHT + DAY - 1).await, 0);
        assert_eq!(c.sweep(MIDNIGHT + DAY).await, 1, "yesterday's day counter");
        assert_eq!(c.tracked(), 1);
        assert_eq!(c.sweep(MIDNIGHT + DAY + 3_600_000).await, 1);
        assert_eq!(c.tracked(), 0);
    }
}
