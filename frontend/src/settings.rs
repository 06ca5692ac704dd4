//! Where the relay is and how the connection is timed.
//!
//! The defaults are the product's (ping 25 s, pong timeout 10 s, backoff
//! 0.5 s doubling to 30 s, 10 attempts). Tests shorten them with query
//! parameters, documented in the README:
//! `?relay=ws://host:port/ws`, `pingMs`, `pongTimeoutMs`, `backoffMs`
//! (first retry ceiling), `backoffMaxMs`, `attempts`.

use std::time::Duration;

use shared::timing::{Backoff, PING_INTERVAL, PONG_TIMEOUT};

/// The connection's clocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// How often to ping while online.
    pub ping_interval_ms: f64,
    /// How long a pong may take before the link counts as dead.
    pub pong_timeout_ms: f64,
    /// How long an attempt may take to open before it is given up.
    pub connect_timeout_ms: f64,
    /// The reconnect schedule.
    pub backoff: Backoff,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            ping_interval_ms: PING_INTERVAL.as_millis() as f64,
            pong_timeout_ms: PONG_TIMEOUT.as_millis() as f64,
            connect_timeout_ms: PONG_TIMEOUT.as_millis() as f64,
            backoff: Backoff::default(),
        }
    }
}

impl Timing {
    /// The defaults with overrides from query parameters (`get` looks one up).
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        // Whole milliseconds (integer parsing keeps float parsing out of the bundle).
        let num = |key: &str| {
            get(key)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
                .map(|v| v as f64)
        };
        let mut t = Timing::default();
        if let Some(v) = num("pingMs") {
            t.ping_interval_ms = v;
        }
        if let Some(v) = num("pongTimeoutMs") {
            t.pong_timeout_ms = v;
            t.connect_timeout_ms = v;
        }
        if let Some(v) = num("backoffMs") {
            t.backoff.initial = Duration::from_millis(v as u64);
        }
        if let Some(v) = num("backoffMaxMs") {
            t.backoff.max = Duration::from_millis(v as u64);
        }
        if let Some(v) = num("attempts") {
            t.backoff.max_attempts = v as u32;
        }
        t
    }
}

/// The WebSocket URL: `?relay=` if given, else `/ws` on the page's own
/// origin (`wss:` when the page is `https:`).
pub fn relay_url(override_url: Option<String>, protocol: &str, host: &str) -> String {
    if let Some(url) = override_url.filter(|u| u.starts_with("ws://") || u.starts_with("wss://")) {
        return url;
    }
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

/// `url` with `session=<id>` added to its query.
pub fn with_session(url: &str, session: Option<&str>) -> String {
    match session {
        Some(id) if shared::validate::is_valid_session_id(id) => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}session={id}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_from_the_query() {
        let params = [
            ("pingMs", "200"),
            ("pongTimeoutMs", "300"),
            ("backoffMs", "50"),
            ("attempts", "3"),
            ("backoffMaxMs", "nope"),
        ];
        let t = Timing::from_params(|k| {
            params
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(t.ping_interval_ms, 200.0);
        assert_eq!(t.pong_timeout_ms, 300.0);
        assert_eq!(t.backoff.initial, Duration::from_millis(50));
        assert_eq!(
            t.backoff.max,
            Duration::from_secs(30),
            "invalid values are ignored"
        );
        assert_eq!(t.backoff.max_attempts, 3);
        assert_eq!(Timing::from_params(|_| None), Timing::default());
    }

    #[test]
    fn relay_urls() {
        assert_eq!(
            relay_url(None, "http:", "127.0.0.1:3000"),
            "ws://127.0.0.1:3000/ws"
        );
        assert_eq!(
            relay_url(None, "https:", "chat.example"),
            "wss://chat.example/ws"
        );
        assert_eq!(
            relay_url(Some("ws://10.0.0.1:9/ws".into()), "http:", "x"),
            "ws://10.0.0.1:9/ws"
        );
        assert_eq!(
            relay_url(Some("javascript:alert(1)".into()), "http:", "x"),
            "ws://x/ws"
        );
        assert_eq!(
            with_session("ws://h/ws", Some("abc")),
            "ws://h/ws?session=abc"
        );
        assert_eq!(
            with_session("ws://h/ws?x=1", Some("abc")),
            "ws://h/ws?x=1&session=abc"
        );
        assert_eq!(with_session("ws://h/ws", Some("bad id")), "ws://h/ws");
    }
}
