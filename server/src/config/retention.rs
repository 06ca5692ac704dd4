//! What is remembered for sessions that are away, and for how long.

use std::time::Duration;

use super::values::parse_bytes_usize;

/// The default of `--new-sessions-per-minute-per-ip`.
pub const DEFAULT_NEW_SESSIONS_PER_MINUTE_PER_IP: u32 = 120;

/// What is remembered for sessions that are away, and for how long.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Retention")]
pub struct RetentionFlags {
    /// How long answers for a session with no open connection are kept.
    #[arg(long, env = "RELAY_RETAIN_FOR", default_value = "10m", value_parser = super::values::parse_positive_duration)]
    pub retain_for: Duration,

    /// At most this many sessions are remembered (oldest idle ones go first).
    #[arg(long, env = "RELAY_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,

    /// Bytes of answers kept for all sessions together (e.g. 64MiB).
    #[arg(long, env = "RELAY_MAX_RETAINED_BYTES", default_value = "64MiB", value_parser = parse_bytes_usize)]
    pub max_retained_bytes: usize,

    /// At most this many ids of forgotten answers are remembered.
    ///
    /// About 40 bytes each, kept for twice --retain-for, so a resend of one
    /// gets `answer_lost` instead of running again. At the bound the oldest go
    /// first.
    #[arg(long, env = "RELAY_MAX_TOMBSTONES", default_value_t = crate::store::DEFAULT_MAX_TOMBSTONES)]
    pub max_tombstones: usize,

    /// How long a signed-in user's conversation stays listed after its last save.
    ///
    /// Verified identity only: the list on the relay that follows a user to
    /// another browser (at most 100 conversations per user). Older entries are not
    /// listed and are pruned; anonymous visitors' lists stay in their
    /// browser.
    #[arg(long, env = "RELAY_CONVERSATION_RETENTION", default_value = "30d", value_parser = super::values::parse_positive_duration)]
    pub conversation_retention: Duration,

    /// Keep no conversation transcripts on the relay.
    ///
    /// By default the relay keeps what was said in each session (the user's
    /// messages and the answers, at most 200 lines and 64 KiB per session) as
    /// long as the session, and a signed-in user's listed conversation for
    /// --conversation-retention after its last line, so a page resuming it on
    /// another tab or device shows it. With this flag none is kept (nor read
    /// back from --data-dir: deleted at start); n8n's memory
    /// (--load-previous-session) is then the only history.
    #[arg(long, env = "RELAY_NO_TRANSCRIPTS")]
    pub no_transcripts: bool,

    /// New sessions one IP address may start per minute (0: no limit).
    ///
    /// IPv6: one /64. Counts a connection that names a session the relay does
    /// not know. Makes filling --max-sessions to push other visitors' sessions
    /// out slow. 120 by default, not less: one address is often many visitors
    /// (carrier-grade or corporate NAT), and after a restart of a relay
    /// without Redis every open page reconnects with a session the relay no
    /// longer knows, each counting as new.
    #[arg(
        long,
        env = "RELAY_NEW_SESSIONS_PER_MINUTE_PER_IP",
        default_value_t = DEFAULT_NEW_SESSIONS_PER_MINUTE_PER_IP
    )]
    pub new_sessions_per_minute_per_ip: u32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn conversations_are_kept_30_days_by_default() {
        assert_eq!(
            crate::Config::defaults().retention.conversation_retention,
            std::time::Duration::from_secs(30 * 24 * 3600)
        );
    }

    /// 30 refused visitors behind one NAT, and every page reconnecting
    /// after a restart of a memory-store relay.
    #[test]
    fn new_sessions_per_address_default_to_120() {
        assert_eq!(
            crate::Config::defaults()
                .retention
                .new_sessions_per_minute_per_ip,
            120
        );
    }
}
