//! The relay's wall clock, for timestamps other machines read: the
//! `heartbeat` frame's and `pong`'s `ts` (the page measures its link with
//! them) and a rating's `ratedAt`.
//!
//! A leaf of its own (it was `ws::heartbeat::now_ms`) so that the chat
//! core can stamp a rating without reaching up into the WebSocket layer
//! (`tests/architecture.rs` checks the direction).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix milliseconds; 0 on a clock set before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn now_is_after_2020_in_milliseconds() {
        // 2020-01-01T00:00:00Z; seconds would be three digits shorter.
        assert!(super::now_ms() > 1_577_836_800_000);
    }
}
