//! Bounds on what one client may do.

use std::time::Duration;

use super::values::parse_bytes_usize;

/// Bounds on what one client may do.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitFlags {
    /// Largest text frame accepted from a client (e.g. 64KiB, 65536).
    #[arg(long, env = "RELAY_MAX_MESSAGE_BYTES", default_value = "64KiB", value_parser = parse_bytes_usize)]
    pub max_message_bytes: usize,

    /// At most this many WebSocket connections at once (more get HTTP 503).
    #[arg(long, env = "RELAY_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// At most this many WebSocket connections per client IP (more get HTTP 429).
    #[arg(long, env = "RELAY_MAX_CONNECTIONS_PER_IP", default_value_t = 1000)]
    pub max_connections_per_ip: usize,

    /// New WebSocket connections one client IP may open per minute.
    ///
    /// A burst of this many, then this rate; more get HTTP 429.
    #[arg(long, env = "RELAY_UPGRADES_PER_MINUTE_PER_IP", default_value_t = 600)]
    pub upgrades_per_minute_per_ip: u32,

    /// Chat messages per second per connection, on average (pings are free).
    #[arg(long, env = "RELAY_RATE_LIMIT", default_value_t = 5.0)]
    pub rate_limit: f64,

    /// Chat messages a connection may send at once before the rate applies.
    ///
    /// A page resending its outbox after a reconnect needs some.
    #[arg(long, env = "RELAY_RATE_BURST", default_value_t = 50)]
    pub rate_burst: u32,

    /// At most this many messages of one session waiting for n8n at once.
    #[arg(long, env = "RELAY_MAX_IN_FLIGHT_PER_SESSION", default_value_t = 32, value_parser = super::values::parse_at_least_one)]
    pub max_in_flight_per_session: usize,

    /// Messages of one conversation sent to n8n at once; the rest wait in order.
    ///
    /// 1: one execution at a time, so a workflow's chat memory never races;
    /// other conversations are not held up.
    #[arg(long, env = "RELAY_SESSION_CONCURRENCY", default_value_t = 1)]
    pub session_concurrency: usize,

    /// Plain HTTP connections open at once; more are closed at once.
    ///
    /// The page, /config.json, /healthz, uploads, WebSocket handshakes; an
    /// upgraded WebSocket counts against --max-connections instead.
    #[arg(long, env = "RELAY_MAX_HTTP_CONNECTIONS", default_value_t = 10_000)]
    pub max_http_connections: usize,

    /// Plain HTTP connections open at once from one client address.
    ///
    /// IPv6 by /64; --trusted-proxy peers count in the total only. More are
    /// closed at once.
    #[arg(long, env = "RELAY_MAX_HTTP_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_http_connections_per_ip: usize,

    /// Longest wait for a request's headers (also a keep-alive's idle time).
    ///
    /// Counted from the connection's opening or from its previous response, so
    /// also how long a keep-alive connection may sit idle (e.g. 10s, 500ms).
    #[arg(help_heading = "Timing", long, env = "RELAY_HTTP_HEADER_TIMEOUT", default_value = "10s", value_parser = super::values::parse_positive_duration)]
    pub http_header_timeout: Duration,

    /// Close a plain-HTTP connection that moves no byte for this long (e.g. 60s).
    ///
    /// A client that never reads a large response, or never sends the body
    /// it announced, is closed after it. Upgraded WebSockets are not
    /// affected (they have --idle-timeout).
    #[arg(long, env = "RELAY_HTTP_IDLE_PROGRESS_TIMEOUT", default_value = "60s", value_parser = super::values::parse_positive_duration)]
    pub http_idle_progress_timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_timeout_is_positive_and_within_30_seconds_by_default() {
        let c = crate::Config::defaults();
        assert_eq!(c.limits.http_header_timeout, Duration::from_secs(10));
        assert!(c.limits.http_header_timeout <= Duration::from_secs(30));
        assert_eq!(c.limits.max_http_connections, 10_000);
        // Above the upload handler's own 30 s stall timeout: no handler
        // legitimately waits longer without a byte moving.
        assert_eq!(c.limits.http_idle_progress_timeout, Duration::from_secs(60));
        assert_eq!(c.limits.max_http_connections_per_ip, 256);
        assert_eq!(
            crate::config::values::parse_positive_duration("1s"),
            Ok(Duration::from_secs(1))
        );
        assert!(crate::config::values::parse_positive_duration("0s").is_err());
        assert!(crate::config::values::parse_positive_duration("soon").is_err());
    }
}
