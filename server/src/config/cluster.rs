//! Sharing sessions with other relays.

use std::time::Duration;

use super::values::{parse_bytes_usize, parse_redis_url};

/// Sharing sessions with other relays.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Several relays (Redis)")]
pub struct ClusterFlags {
    /// Share sessions with other relays through this Redis server.
    ///
    /// `redis://[:password@]host:port[/db]` or `unix:///path`: message dedup,
    /// answers and pushes then work across every relay behind a load balancer.
    /// Without it sessions live in this relay's memory.
    #[arg(long, env = "RELAY_REDIS_URL", value_parser = parse_redis_url, hide_env_values = true)]
    pub redis_url: Option<url::Url>,

    /// Prefix of every Redis key and channel of this deployment.
    ///
    /// So several deployments can share one Redis.
    #[arg(long, env = "RELAY_REDIS_PREFIX", default_value = "n8n-chat:")]
    pub redis_prefix: String,

    /// How long other relays wait before taking over a crashed relay's message.
    ///
    /// A relay that stops answering for good (crashed) loses its messages to
    /// the others after this long; it renews its lease every third of this.
    #[arg(long, env = "RELAY_REDIS_LEASE", default_value = "15s", value_parser = super::values::parse_positive_duration)]
    pub redis_lease: Duration,

    /// Bytes of answers queued for Redis while it is unreachable.
    ///
    /// Answers given here wait to be written to Redis; beyond this the oldest
    /// are dropped from the queue (counted in /healthz; the pages have them
    /// already).
    #[arg(long, env = "RELAY_REDIS_MAX_PENDING_BYTES", default_value = "16MiB", value_parser = parse_bytes_usize)]
    pub redis_max_pending_bytes: usize,
}
