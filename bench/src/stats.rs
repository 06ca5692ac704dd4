//! Latency summaries and process measurements.

use hdrhistogram::Histogram;

/// A latency histogram in microseconds (1 µs .. 60 s, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 60_000_000, 3) {
        Ok(h) => h,
        Err(e) => panic!("histogram bounds: {e}"),
    }
}

/// Median and 99th percentile in µs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// 50th percentile, µs.
    pub p50: u64,
    /// 99th percentile, µs.
    pub p99: u64,
}

/// Summarises a histogram.
pub fn summary(h: &Histogram<u64>) -> Summary {
    Summary {
        count: h.len(),
        p50: h.value_at_quantile(0.5),
        p99: h.value_at_quantile(0.99),
    }
}

/// CPU time (user + system) of a process in clock ticks, from /proc (Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (USER_HZ; 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

/// Resident memory of a process in KiB, from /proc (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The median of `values`: the upper of the two middle ones for an even
/// count, NaN when there are none (a report prints it as such).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut h = histogram();
        for v in 1..=100u64 {
            h.record(v).expect("record");
        }
        let s = summary(&h);
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, 50);
        assert_eq!(s.p99, 99);
    }

    #[test]
    fn reads_its_own_process() {
        let pid = std::process::id();
        assert!(rss_kib(pid).is_some_and(|kib| kib > 0));
        assert!(cpu_ticks(pid).is_some());
    }
}
