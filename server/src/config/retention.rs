//! What is remembered for sessions that are away, and for how long.

use std::time::Duration;

/// What is remembered for sessions that are away, and for how long.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Retention")]
pub struct RetentionFlags {
    /// How long answers for a session with no open connection are kept.
    #[arg(long, env = "RELAY_RETAIN_FOR", default_value = "10m", value_parser = humantime::parse_duration)]
    pub retain_for: Duration,

    /// At most this many sessions are remembered (oldest idle ones go first).
    #[arg(long, env = "RELAY_MAX_SESSIONS", default_value_t = 10_000)]
    pub max_sessions: usize,

    /// At most this many bytes of answers are kept for all sessions together.
    #[arg(long, env = "RELAY_MAX_RETAINED_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_retained_bytes: usize,
}
