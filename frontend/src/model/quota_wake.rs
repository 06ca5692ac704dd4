//! A message a quota refused is kept queued; if the page is still open
//! when the quota resets (`resetsAt`), it goes again by itself. This says
//! when to try.

/// Past the reset, so that the relay's clock and the browser's may differ
/// a little and the retry still comes after the new window opened.
pub const MARGIN_MS: u64 = 2_000;

/// The longest wait a browser timer takes (2^31 − 1 ms, about 24.8 days);
/// a longer one would fire at once.
pub const MAX_TIMER_MS: u32 = i32::MAX as u32;

/// How long to wait from `now_ms` until a quota that resets at
/// `resets_at_ms` (both ms since the epoch) has reset.
pub fn wait_ms(resets_at_ms: u64, now_ms: f64) -> u32 {
    let now = now_ms.max(0.0) as u64;
    let wait = resets_at_ms.saturating_add(MARGIN_MS).saturating_sub(now);
    u32::try_from(wait).map_or(MAX_TIMER_MS, |w| w.min(MAX_TIMER_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_ends_just_after_the_reset_and_fits_a_browser_timer() {
        let now = 1_796_400_000_000.0;
        assert_eq!(wait_ms(1_796_400_060_000, now), 62_000);
        assert_eq!(wait_ms(1_796_399_000_000, now), 0, "already reset: now");
        assert_eq!(wait_ms(1_796_400_000_000 - 1_000, now), 1_000);
        assert_eq!(wait_ms(u64::MAX, now), MAX_TIMER_MS, "too far: the longest");
        assert_eq!(wait_ms(1_000, -5.0), 3_000, "a clock before 1970");
    }
}
