//! Today's counts for `GET /usage`: the counters' totals minus what they
//! were when the day (UTC) began. Nothing is counted twice: the day's
//! start is a copy of the totals, taken by [`roll_daily`] at midnight (or
//! by the first read of a new day), so a message costs no extra work.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

pub const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Messages by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Answered.
    pub answered: u64,
    /// Stopped by the user.
    pub cancelled: u64,
    /// Resends not sent to n8n again.
    pub deduplicated: u64,
    /// Refused while paused (kept by the page, sent after the resume).
    pub paused: u64,
    /// Errors by code.
    pub errors: BTreeMap<&'static str, u64>,
}

impl Counts {
    /// `self - earlier`, per count.
    pub fn minus(&self, earlier: &Counts) -> Counts {
        Counts {
            answered: self.answered.saturating_sub(earlier.answered),
            cancelled: self.cancelled.saturating_sub(earlier.cancelled),
            deduplicated: self.deduplicated.saturating_sub(earlier.deduplicated),
            paused: self.paused.saturating_sub(earlier.paused),
            errors: self
                .errors
                .iter()
                .map(|(code, n)| {
                    (
                        *code,
                        n.saturating_sub(*earlier.errors.get(code).unwrap_or(&0)),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }
}

/// The totals when the current day began.
#[derive(Debug, Default)]
pub struct Baseline {
    /// Days since the epoch (UTC); `None` before the first read, when the
    /// day is the one the relay started in (counted from the start).
    day: Option<u64>,
    /// The totals then.
    pub at_start: Counts,
}

impl Baseline {
    /// Moves to `day` with the totals `now`, if it is a later day.
    pub fn roll(&mut self, day: u64, now: &Counts) {
        match self.day {
            None => self.day = Some(day),
            Some(current) if day > current => {
                self.day = Some(day);
                self.at_start = now.clone();
            }
            Some(_) => {}
        }
    }
}

/// Days since the epoch, UTC.
pub fn utc_day() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / DAY.as_secs())
}

/// The date of `day` as `YYYY-MM-DD` (civil-from-days, proleptic Gregorian).
pub fn date(day: u64) -> String {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(20_454), "2026-01-01");
        assert_eq!(date(11_016), "2000-02-29");
    }

    #[test]
    fn a_day_rolls_forward_only() {
        let mut b = Baseline::default();
        let now = Counts {
            answered: 5,
            ..Counts::default()
        };
        b.roll(10, &now);
        assert_eq!(b.at_start.answered, 0);
        b.roll(11, &now);
        assert_eq!(b.at_start.answered, 5);
        b.roll(9, &Counts::default());
        assert_eq!(
            b.at_start.answered, 5,
            "a clock stepping back does not reset"
        );
    }
}
