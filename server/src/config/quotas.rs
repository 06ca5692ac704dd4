//! What a public chat may cost: messages per visitor, per address and in
//! total per day (or hour), counted before n8n is called.
//!
//! The values are the quotas' own ([`Quota`] in `chat::quotas`, [`Window`]
//! in `store::counters`): the flags parse into them and hand them on as
//! [`Settings`].

use crate::chat::quotas::{Quota, Settings};
use crate::store::counters::memory::DEFAULT_MAX_TRACKED;
use crate::store::counters::Window;

/// What a public chat may cost.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Quotas (public chats)")]
pub struct QuotaFlags {
    /// Messages one visitor (session) may send to n8n, e.g. 50/day.
    ///
    /// `<n>/day` or `<n>/hour`; days and hours in UTC. Only messages that
    /// reach n8n count (a resend the relay deduplicates does not). Off when
    /// not set.
    #[arg(long, env = "RELAY_QUOTA_VISITOR", value_parser = parse_quota)]
    pub quota_visitor: Option<Quota>,

    /// Messages one client address may send to n8n, e.g. 500/day.
    ///
    /// IPv4 by address, IPv6 by /64, as the connection limits see it (behind
    /// --trusted-proxy: the forwarded address). `<n>/day` or `<n>/hour`, UTC.
    #[arg(long, env = "RELAY_QUOTA_ADDRESS", value_parser = parse_quota)]
    pub quota_address: Option<Quota>,

    /// Messages the whole chat may send to n8n, e.g. 10000/day.
    ///
    /// Past it every visitor is refused until the next UTC midnight (or hour,
    /// with `/hour`).
    #[arg(long, env = "RELAY_DAILY_BUDGET", value_parser = parse_quota)]
    pub daily_budget: Option<Quota>,

    /// Visitors and addresses whose counts one relay keeps in memory.
    ///
    /// At the bound the least recently used is forgotten (it starts again
    /// from zero); with --redis-url the counts live in Redis and this bounds
    /// only what is counted while Redis is unreachable.
    #[arg(long, env = "RELAY_QUOTA_MAX_TRACKED", default_value_t = DEFAULT_MAX_TRACKED)]
    pub quota_max_tracked: usize,

    /// Ask new sessions for proof of work: leading zero bits (14 suggested).
    ///
    /// 1 to 32. A new session's page must find a SHA-256 hash with this many
    /// leading zero bits (about 2^bits tries; 14 takes a phone well under a
    /// second) before its messages are accepted. Off when not set.
    #[arg(long, env = "RELAY_PROOF_OF_WORK", value_parser = clap::value_parser!(u8).range(1..=32))]
    pub proof_of_work: Option<u8>,

    /// Key that signs the proof-of-work challenges (at least 16 characters).
    ///
    /// Give every relay behind one load balancer the same, so a challenge
    /// from one is accepted by another. Without it each relay makes a random
    /// key at start (a restart invalidates challenges not yet answered).
    #[arg(long, env = "RELAY_PROOF_OF_WORK_SECRET", value_parser = parse_pow_secret, hide_env_values = true)]
    pub proof_of_work_secret: Option<super::values::Secret>,
}

/// A `--proof-of-work-secret`: at least 16 characters.
fn parse_pow_secret(s: &str) -> Result<super::values::Secret, String> {
    if s.chars().count() < 16 {
        return Err(
            "the proof-of-work secret must be at least 16 characters (use a random one)".into(),
        );
    }
    Ok(super::values::Secret(s.to_owned()))
}

impl QuotaFlags {
    /// The quotas' settings (each off when its flag is not set).
    pub fn settings(&self) -> Settings {
        Settings {
            visitor: self.quota_visitor,
            address: self.quota_address,
            budget: self.daily_budget,
        }
    }
}

/// `50/day`, `10/hour` (also `50/d`, `10/h`); at least 1.
pub fn parse_quota(s: &str) -> Result<Quota, String> {
    let (n, per) = s
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("expected <n>/day or <n>/hour, got {s:?}"))?;
    let limit: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a whole number of messages"))?;
    if limit == 0 {
        return Err("a quota is at least 1 message; leave the flag out to turn it off".into());
    }
    let window = match per.trim().to_ascii_lowercase().as_str() {
        "day" | "d" => Window::Day,
        "hour" | "h" => Window::Hour,
        other => return Err(format!("per {other:?}? use /day or /hour")),
    };
    Ok(Quota { limit, window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_per_day_and_hour() {
        assert_eq!(
            parse_quota("50/day"),
            Ok(Quota {
                limit: 50,
                window: Window::Day
            })
        );
        assert_eq!(
            parse_quota(" 10 / Hour "),
            Ok(Quota {
                limit: 10,
                window: Window::Hour
            })
        );
        assert_eq!(
            parse_quota("10000/d").map(|q| q.to_string()),
            Ok("10000/day".into())
        );
        assert!(parse_quota("0/day").is_err());
        assert!(parse_quota("50").is_err());
        assert!(parse_quota("50/week").is_err());
        assert!(parse_quota("-1/day").is_err());
        assert!(parse_quota("many/day").is_err());
        let c = crate::Config::defaults();
        assert!(!c.quotas.settings().any(), "off unless asked");
        let c = crate::Config::from_args_without_env([
            "relay",
            "--quota-visitor",
            "50/day",
            "--daily-budget",
            "10000/day",
        ]);
        assert_eq!(c.quotas.quota_visitor.map(|q| q.limit), Some(50));
        assert_eq!(c.quotas.daily_budget.map(|q| q.limit), Some(10_000));
        assert_eq!(c.quotas.quota_address, None);
        let settings = c.quotas.settings();
        assert!(settings.any());
        assert_eq!(settings.visitor, c.quotas.quota_visitor);
        assert_eq!(settings.budget, c.quotas.daily_budget);
        assert_eq!(settings.address, None);
    }
}
