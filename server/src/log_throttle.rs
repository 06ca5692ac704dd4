//! At most one `warn` per period for a kind of refusal: a flood of refused
//! connections or requests must not flood the log (and the disk under it).
//! The refusals in between go to `debug`, and the next `warn` says how many
//! there were.

use parking_lot::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How often a throttled refusal is logged at `warn` by default.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// One kind of refusal's log throttle. Usable as a `static`: the period is
/// per kind and process, whichever task refuses.
#[derive(Debug)]
pub struct LogThrottle {
    every: Duration,
    state: Mutex<ThrottleState>,
}

#[derive(Debug)]
struct ThrottleState {
    last: Option<Instant>,
    /// Refusals not logged at `warn` since the last one that was.
    quiet: u64,
}

impl LogThrottle {
    /// A throttle that lets one `warn` through per `every`.
    pub const fn every(every: Duration) -> LogThrottle {
        LogThrottle {
            every,
            state: Mutex::new(ThrottleState {
                last: None,
                quiet: 0,
            }),
        }
    }

    /// Counts one refusal. `Some(n)`: log this one at `warn` (`n` were
    /// logged at `debug` only since the previous `warn`); `None`: `debug`.
    pub fn warn(&self) -> Option<u64> {
        let mut state = self.state.lock();
        let now = Instant::now();
        if state
            .last
            .is_none_or(|at| now.duration_since(at) >= self.every)
        {
            state.last = Some(now);
            Some(std::mem::take(&mut state.quiet))
        } else {
            state.quiet += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_warn_per_period_and_the_next_counts_the_quiet_ones() {
        let throttle = LogThrottle::every(Duration::from_secs(10));
        assert_eq!(throttle.warn(), Some(0), "the first is logged");
        for _ in 0..1000 {
            assert_eq!(throttle.warn(), None, "a flood goes to debug");
        }
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(throttle.warn(), None, "still within the period");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(throttle.warn(), Some(1001), "the next period's first");
        assert_eq!(throttle.warn(), None);
    }
}
