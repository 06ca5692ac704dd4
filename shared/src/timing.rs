//! The agreed intervals and the reconnect backoff schedule.
//!
//! These are the defaults; both sides let tests shorten them (the relay by
//! flags, the page by query parameters), so no test ever sleeps for real
//! intervals.

use std::time::Duration;

/// How often the page sends a `ping`.
pub const PING_INTERVAL: Duration = Duration::from_secs(25);
/// How often the relay sends a `heartbeat`.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);
/// How long the page waits for a `pong` before it declares the link dead.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);
/// A client the relay has not heard from for this long is closed
/// (2.5 × the page's ping interval: two pings may be lost, not three).
pub const IDLE_TIMEOUT: Duration = Duration::from_millis(62_500);

/// The page declares the link dead after hearing nothing for this many
/// heartbeat intervals.
pub const SILENCE_HEARTBEATS: u32 = 2;

/// Exponential backoff with jitter for reconnecting.
///
/// Attempt `n` (1-based) waits between half and all of
/// `min(initial × 2^(n-1), max)`; the jitter spreads a crowd of pages that
/// lost the same relay so they do not all return in the same millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub initial: Duration,
    /// No delay is longer than this.
    pub max: Duration,
    /// After this many failed attempts the page stops and offers a retry button.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_attempts: 10,
        }
    }
}

impl Backoff {
    /// The un-jittered ceiling for attempt `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let factor = 1u32 << exp;
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before attempt `attempt` (1-based); `jitter` is a random
    /// number in `[0, 1]` (clamped), mapping to half..=all of the ceiling.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.ceiling(attempt).mul_f64(0.5 + 0.5 * jitter)
    }

    /// Whether attempt `attempt` (1-based) may still be made.
    pub fn allows(&self, attempt: u32) -> bool {
        attempt >= 1 && attempt <= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_500ms_and_caps_at_30s() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (1..=10).map(|n| b.ceiling(n).as_millis() as u64).collect();
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]
        );
    }

    #[test]
    fn first_retry_is_at_most_500ms_and_jitter_stays_in_range() {
        let b = Backoff::default();
        assert!(b.delay(1, 1.0) <= Duration::from_millis(500));
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(250));
        assert_eq!(b.delay(3, 7.0), Duration::from_millis(2000), "clamped");
        assert_eq!(b.delay(3, -1.0), Duration::from_millis(1000), "clamped");
        assert_eq!(b.delay(3, f64::NAN), Duration::from_millis(2000));
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn ten_attempts_allowed() {
        let b = Backoff::default();
        assert!(!b.allows(0));
        assert!(b.allows(1));
        assert!(b.allows(10));
        assert!(!b.allows(11));
    }
}
