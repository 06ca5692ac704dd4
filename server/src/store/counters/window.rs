//! The fixed UTC windows the counters count in. Here, with the counters
//! that use them, rather than with `--quota-visitor`'s flag that names
//! them: the flags (`config`) import it, so the store never sees a flag.

/// A fixed window in UTC: a counter restarts at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Window {
    /// 00:00 to 24:00 UTC.
    Day,
    /// One clock hour, UTC.
    Hour,
}

impl Window {
    /// Its length in milliseconds.
    pub fn length_ms(self) -> u64 {
        match self {
            Window::Day => 86_400_000,
            Window::Hour => 3_600_000,
        }
    }

    /// The window holding `now_ms` (unix ms): its start and end.
    pub fn bounds(self, now_ms: u64) -> (u64, u64) {
        let len = self.length_ms();
        let start = now_ms - now_ms % len;
        (start, start + len)
    }

    /// `day` or `hour`, as the flags write it.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_utc_days_and_hours() {
        // 2026-12-04T23:30:00Z
        let now = 1_796_427_000_000;
        let (start, end) = Window::Day.bounds(now);
        assert_eq!(start, 1_796_342_400_000, "midnight UTC");
        assert_eq!(end, 1_796_428_800_000, "the next midnight UTC");
        let (start, end) = Window::Hour.bounds(now);
        assert_eq!((start, end), (1_796_425_200_000, 1_796_428_800_000));
        assert_eq!(
            Window::Day.bounds(end).0,
            end,
            "a window starts at its start"
        );
        assert_eq!((Window::Day.name(), Window::Hour.name()), ("day", "hour"));
    }
}
