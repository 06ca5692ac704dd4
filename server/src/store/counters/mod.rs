//! Counters in fixed UTC windows — what the quotas of a public chat
//! (`--quota-visitor`, `--quota-address`, `--daily-budget`) count with.
//!
//! A counter is a key (`v:<session>`, `a:<network>`, `budget`) and a
//! window (a UTC day or hour); it starts at zero when its window starts.
//! [`Counters::take`] takes one from several counters at once, all or
//! none: a message refused by the daily budget does not use up its
//! visitor's count, so it costs nothing until it is really sent to n8n.
//!
//! Implementations:
//! - [`memory::MemoryCounters`]: this relay alone; forgotten on restart.
//!   Bounded (the number of keys tracked).
//! - [`crate::store::redis::counters::RedisCounters`] (`--redis-url`): one
//!   Lua script, shared by every relay and kept across restarts; the
//!   memory counters while Redis is down.
//!
//! The shape is SQL-friendly on purpose (a row per `(key, window_start)`
//! with a count, taken in one transaction), so a SQLite store can
//! implement the same trait.

pub mod memory;
pub mod window;

use async_trait::async_trait;

pub use window::Window;

/// One counter to take from.
#[derive(Debug, Clone, Copy)]
pub struct Take<'a> {
    /// Which counter (the implementation adds the window to it).
    pub key: &'a str,
    /// Its window.
    pub window: Window,
    /// How many it allows per window (at least 1).
    pub limit: u64,
}

/// What [`Counters::take`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Every counter was below its limit; each was counted once.
    Allowed {
        /// The fewest left in any of them, after this one.
        remaining: u64,
    },
    /// A counter was at its limit; none was counted.
    Refused {
        /// Which of the takes (its index).
        index: usize,
        /// When its window ends (unix ms), so the client knows when to
        /// try again.
        resets_at: u64,
    },
}

/// Counters in fixed windows, possibly shared by several relays.
#[async_trait]
pub trait Counters: Send + Sync + std::fmt::Debug {
    /// Counts one in every counter of `takes` if all are below their
    /// limits at `now_ms` (unix ms); otherwise counts none and says which
    /// refused. Atomic: two relays taking the last one at once cannot both
    /// get it.
    async fn take(&self, takes: &[Take<'_>], now_ms: u64) -> Taken;

    /// The count of `key` in the window holding `now_ms` (0 if none) — for
    /// `GET /usage`.
    async fn count(&self, key: &str, window: Window, now_ms: u64) -> u64;

    /// Forgets counters whose window has ended; returns how many.
    async fn sweep(&self, now_ms: u64) -> usize;

    /// Counters tracked by this relay right now (for metrics and tests).
    fn tracked(&self) -> usize;
}

/// The counters every part of the relay holds.
pub type SharedCounters = std::sync::Arc<dyn Counters>;
