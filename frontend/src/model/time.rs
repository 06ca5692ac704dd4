//! When a message was written or arrived, said the way people say it:
//! "just now", "5 min ago", "14:03", "yesterday 14:03", "3 Mar, 14:03".
//! This module decides which of these applies; the words come from the
//! catalogue and the numbers, clocks and dates from the browser's `Intl`
//! (see [`super::i18n::Texts::relative`]).

/// A moment in the user's local time (from the browser's clock and zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    /// Days since 1970-01-01 in local time (to tell today from yesterday).
    pub day: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub date: u32,
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
}

/// Which way to say a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Less than a minute ago (or a clock that went backwards).
    JustNow,
    /// 1 to 59 minutes ago.
    MinutesAgo(u64),
    /// Earlier today: the clock time.
    Today,
    /// Yesterday, with the clock time.
    Yesterday,
    /// Before: date and clock time.
    Earlier,
}

/// How long ago `at` was, seen from `now` (`elapsed_ms` apart).
pub fn when(elapsed_ms: f64, at: Local, now: Local) -> When {
    let minutes = (elapsed_ms.max(0.0) / 60_000.0) as u64;
    match minutes {
        0 => When::JustNow,
        m @ 1..=59 => When::MinutesAgo(m),
        _ if at.day == now.day => When::Today,
        _ if at.day + 1 == now.day => When::Yesterday,
        _ => When::Earlier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(day: i64, hour: u32, minute: u32) -> Local {
        Local {
            day,
            month: 3,
            date: 3,
            hour,
            minute,
        }
    }

    #[test]
    fn recent_then_clock_then_yesterday_then_date() {
        let now = local(100, 14, 30);
        let min = 60_000.0;
        assert_eq!(when(20_000.0, now, now), When::JustNow);
        assert_eq!(
            when(5.0 * min, local(100, 14, 25), now),
            When::MinutesAgo(5)
        );
        assert_eq!(when(150.0 * min, local(100, 12, 0), now), When::Today);
        assert_eq!(
            when(20.0 * 60.0 * min, local(99, 18, 5), now),
            When::Yesterday
        );
        assert_eq!(
            when(3.0 * 24.0 * 60.0 * min, local(97, 9, 7), now),
            When::Earlier
        );
        // A clock that went backwards is "just now", not a negative time.
        assert_eq!(when(-5000.0, now, now), When::JustNow);
    }
}
