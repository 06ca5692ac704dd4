//! Where the relay is, which session the page adopts, and how the
//! connection is timed.
//!
//! The relay is `/ws` on the page's own origin, or the `relayUrl` that the
//! relay itself publishes in `/config.json` — never a URL from the page's
//! query string, fragment or storage: a crafted link must not be able to
//! send the conversation (and its session id, the only credential) to
//! another server.
//!
//! The timing defaults are the product's (ping 25 s, pong timeout 10 s,
//! backoff 0.5 s doubling to 30 s, 10 attempts). Tests shorten them with
//! query parameters, documented in docs/page.md: `pingMs`, `pongTimeoutMs`,
//! `backoffMs` (first retry ceiling), `backoffMaxMs`, `attempts` — each
//! clamped to a floor, so a crafted link cannot turn visitors' pages into a
//! ping flood.

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
        let count = |key: &str| {
            get(key)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|v| *v > 0)
        };
        let num = |key: &str| count(key).map(|v| v.clamp(MIN_OVERRIDE_MS, MAX_OVERRIDE_MS) as f64);
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
        if let Some(v) = count("attempts") {
            t.backoff.max_attempts = v.min(1000) as u32;
        }
        t
    }
}

/// The smallest interval a query parameter may set (ms); smaller values are
/// raised to it.
pub const MIN_OVERRIDE_MS: u64 = 50;

/// The longest interval a query parameter may set (ms); larger values are
/// lowered to it, so a crafted link cannot make the page wait for days
/// before it reconnects.
pub const MAX_OVERRIDE_MS: u64 = 60_000;

/// The WebSocket URL: the relay's configured `relayUrl` (from
/// `/config.json`, a `ws:`/`wss:` URL) if any, else `/ws` on the page's own
/// origin (`wss:` when the page is `https:`).
pub fn relay_url(configured: Option<&str>, protocol: &str, host: &str) -> String {
    if let Some(url) = configured.filter(|u| {
        (u.starts_with("ws://") || u.starts_with("wss://"))
            && !u.contains(|c: char| c.is_whitespace() || c == '@')
    }) {
        return url.to_owned();
    }
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}/ws")
}

/// Where files go for the relay at WebSocket URL `ws_url`: the same host,
/// over HTTP(S), `/api/uploads` beside its `/ws` (so a relay behind a path
/// prefix keeps it). The session goes in the `X-Chat-Session` header, not
/// the URL: it is the conversation's credential, and URLs end up in logs.
pub fn upload_url(ws_url: &str) -> String {
    let (scheme, rest) = match ws_url.split_once("://") {
        Some(("wss", rest)) => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None => ("http", ws_url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = path.strip_suffix("ws").unwrap_or("").trim_end_matches('/');
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{prefix}")
    };
    format!("{scheme}://{host}{prefix}/api/uploads")
}

/// [`upload_url`] for `session`'s files, with the same `?route=` as its
/// WebSocket URL ([`with_hello`]), so a load balancer that keeps a session
/// on one relay by `route` sends its uploads where its socket is.
pub fn upload_url_for(ws_url: &str, session: &str) -> String {
    let url = upload_url(ws_url);
    if shared::validate::is_valid_session_id(session) {
        format!("{url}?route={}", route_key(session))
    } else {
        url
    }
}

/// What to do with the session id a `connection` frame offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopt {
    /// The session the page asked to resume (or a new one it did not ask
    /// about): keep it.
    Same,
    /// A valid id, but not the one the page asked to resume: adopt it and
    /// say so visibly (the relay started a new conversation; nothing from
    /// the old one will be answered under it).
    Changed,
    /// Not a valid session id: ignore it (keep what is stored).
    Invalid,
}

/// Decides about the session id `offered` when the page asked to resume
/// `requested` (`None`: it asked for a new session).
pub fn adopt_session(requested: Option<&str>, offered: &str) -> Adopt {
    if !shared::validate::is_valid_session_id(offered) {
        return Adopt::Invalid;
    }
    match requested {
        Some(asked) if asked != offered => Adopt::Changed,
        _ => Adopt::Same,
    }
}

/// `url` with `hello` added to its query: the relay then reads the
/// session from the first frame ([`hello`]) instead of the URL. With a
/// session, also `route=<`[`route_key`]`>`: a load balancer can keep a
/// session on one relay by it (`hash $arg_route consistent;`) without the
/// session id — a credential — in the URL.
pub fn with_hello(url: &str, session: Option<&str>) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    match session.filter(|id| shared::validate::is_valid_session_id(id)) {
        Some(id) => format!("{url}{sep}hello&route={}", route_key(id)),
        None => format!("{url}{sep}hello"),
    }
}

/// A stable, short key of a session for sticky load balancing: 64-bit
/// FNV-1a as 16 hex digits. Not a secret and not a way back to the id (a
/// UUID has 122 random bits; this keeps 64 of a non-invertible mix), so it
/// may appear in access logs.
pub fn route_key(session: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in session.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The first frame of a connection: the session to continue (a valid id),
/// or none for a new one; and the host's identity token, if it gave one
/// (`data-user-token`, `n8nChat.identify`).
pub fn hello(session: Option<&str>, token: Option<&str>) -> shared::ClientMessage {
    shared::ClientMessage::Hello {
        session_id: session
            .filter(|id| shared::validate::is_valid_session_id(id))
            .map(str::to_owned),
        token: token.map(str::to_owned),
    }
}

/// `url` with `session=<id>` added to its query (the deprecated form the
/// relay still accepts; the page sends [`hello`] instead).
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
    fn the_session_goes_in_the_first_frame_not_the_url() {
        let url = with_hello("wss://chat.example/ws", None);
        assert_eq!(url, "wss://chat.example/ws?hello");
        assert_eq!(with_hello("ws://h/ws?x=1", None), "ws://h/ws?x=1&hello");
        let id = "3f1c9a2e-8b7d-4c1e-a5f0-6d2b9e8c7a41";
        let url = with_hello("wss://chat.example/ws", Some(id));
        assert_eq!(
            url,
            format!("wss://chat.example/ws?hello&route={}", route_key(id))
        );
        assert!(!url.contains(id) && !url.contains("session"), "{url}");
        assert_eq!(route_key(id), route_key(id), "stable");
        assert_eq!(route_key(id).len(), 16);
        assert_ne!(
            route_key(id),
            route_key("3f1c9a2e-8b7d-4c1e-a5f0-6d2b9e8c7a42")
        );
        assert_eq!(route_key(""), "cbf29ce484222325", "FNV-1a's offset basis");
        assert_eq!(
            hello(Some("abc-123"), None).encode(),
            r#"{"type":"hello","sessionId":"abc-123"}"#
        );
        assert_eq!(hello(None, None).encode(), r#"{"type":"hello"}"#);
        assert_eq!(
            hello(Some("bad id"), None).encode(),
            r#"{"type":"hello"}"#,
            "an invalid stored id is not sent"
        );
    }

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
        let flood = Timing::from_params(|k| (k == "pingMs").then(|| "1".to_string()));
        assert_eq!(
            flood.ping_interval_ms, MIN_OVERRIDE_MS as f64,
            "a crafted link cannot make the page ping every millisecond"
        );
        let days = Timing::from_params(|k| {
            (k == "backoffMs" || k == "backoffMaxMs").then(|| "2000000000".to_string())
        });
        assert_eq!(
            (days.backoff.initial, days.backoff.max),
            (
                Duration::from_millis(MAX_OVERRIDE_MS),
                Duration::from_millis(MAX_OVERRIDE_MS)
            ),
            "nor wait for days before it reconnects"
        );
    }

    #[test]
    fn session_ids_are_adopted_only_when_valid_and_changes_are_told() {
        assert_eq!(adopt_session(None, "new-session"), Adopt::Same);
        assert_eq!(adopt_session(Some("abc"), "abc"), Adopt::Same);
        assert_eq!(adopt_session(Some("abc"), "xyz"), Adopt::Changed);
        assert_eq!(adopt_session(Some("abc"), "bad id"), Adopt::Invalid);
        assert_eq!(adopt_session(None, ""), Adopt::Invalid);
        assert_eq!(
            adopt_session(None, &"x".repeat(1000)),
            Adopt::Invalid,
            "too long"
        );
    }

    #[test]
    fn uploads_go_beside_the_websocket() {
        assert_eq!(
            upload_url("ws://127.0.0.1:3000/ws"),
            "http://127.0.0.1:3000/api/uploads"
        );
        assert_eq!(
            upload_url("wss://chat.example/team/ws?x=1"),
            "https://chat.example/team/api/uploads"
        );
        assert_eq!(
            upload_url("wss://chat.example"),
            "https://chat.example/api/uploads"
        );
    }

    #[test]
    fn an_upload_carries_the_route_of_its_socket_never_the_session() {
        let session = "0f9e3c1a-5b7d-4e2f-9a8b-1c2d3e4f5a6b";
        let url = upload_url_for("wss://chat.example/ws", session);
        let socket = with_hello("wss://chat.example/ws", Some(session));
        let route = |u: &str| u.split("route=").nth(1).map(str::to_owned);
        assert_eq!(
            url,
            format!(
                "https://chat.example/api/uploads?route={}",
                route_key(session)
            )
        );
        assert_eq!(route(&url), route(&socket), "the same relay for both");
        assert!(!url.contains(session) && !socket.contains(session));
        assert_eq!(
            upload_url_for("wss://chat.example/ws", "bad id"),
            "https://chat.example/api/uploads"
        );
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
            relay_url(Some("wss://relay.example/ws"), "https:", "x"),
            "wss://relay.example/ws"
        );
        for bad in [
            "javascript:alert(1)",
            "https://relay.example/ws",
            "ws://user@evil.example/ws",
            "ws://a b/ws",
        ] {
            assert_eq!(relay_url(Some(bad), "http:", "x"), "ws://x/ws", "{bad}");
        }
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
