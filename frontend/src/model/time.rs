//! When a message was written or arrived, said the way people say it:
//! "just now", "5 min ago", "14:03", "yesterday 14:03", "3 Mar, 14:03" —
//! in German or English. The exact time is the browser's to format.

use super::i18n::Lang;

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

const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// How long ago `at` was, seen from `now` (`elapsed_ms` apart).
pub fn relative(lang: Lang, elapsed_ms: f64, at: Local, now: Local) -> String {
    let minutes = (elapsed_ms.max(0.0) / 60_000.0) as u64;
    let clock = format!("{:02}:{:02}", at.hour, at.minute);
    match (lang, minutes) {
        (Lang::De, 0) => "gerade eben".into(),
        (Lang::En, 0) => "just now".into(),
        (Lang::De, m @ 1..=59) => format!("vor {m} Min."),
        (Lang::En, m @ 1..=59) => format!("{m} min ago"),
        _ if at.day == now.day => clock,
        (Lang::De, _) if at.day + 1 == now.day => format!("gestern {clock}"),
        (Lang::En, _) if at.day + 1 == now.day => format!("yesterday {clock}"),
        (Lang::De, _) => format!("{}.{}., {clock}", at.date, at.month),
        (Lang::En, _) => format!(
            "{} {}, {clock}",
            at.date,
            EN_MONTHS[(at.month.clamp(1, 12) - 1) as usize]
        ),
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
        assert_eq!(relative(Lang::En, 20_000.0, now, now), "just now");
        assert_eq!(relative(Lang::De, 20_000.0, now, now), "gerade eben");
        assert_eq!(
            relative(Lang::En, 5.0 * min, local(100, 14, 25), now),
            "5 min ago"
        );
        assert_eq!(
            relative(Lang::De, 5.0 * min, local(100, 14, 25), now),
            "vor 5 Min."
        );
        assert_eq!(
            relative(Lang::En, 150.0 * min, local(100, 12, 0), now),
            "12:00"
        );
        assert_eq!(
            relative(Lang::En, 20.0 * 60.0 * min, local(99, 18, 5), now),
            "yesterday 18:05"
        );
        assert_eq!(
            relative(Lang::De, 20.0 * 60.0 * min, local(99, 18, 5), now),
            "gestern 18:05"
        );
        assert_eq!(
            relative(Lang::En, 3.0 * 24.0 * 60.0 * min, local(97, 9, 7), now),
            "3 Mar, 09:07"
        );
        assert_eq!(
            relative(Lang::De, 3.0 * 24.0 * 60.0 * min, local(97, 9, 7), now),
            "3.3., 09:07"
        );
        // A clock that went backwards is "just now", not a negative time.
        assert_eq!(relative(Lang::En, -5000.0, now, now), "just now");
    }
}
