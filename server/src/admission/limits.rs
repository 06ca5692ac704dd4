//! Limits on who may connect: connections in total and per client IP, and
//! how often one IP may open a new connection.
//!
//! The client IP is the TCP peer, or — only when the peer is one of the
//! `--trusted-proxy` addresses — the last address of the last
//! `X-Forwarded-For` line (what the proxy itself saw). A header from anyone else is ignored, so a
//! client cannot dodge the per-IP limit by inventing one.
//!
//! IPv6 clients are counted by their /64 network: one subscriber usually
//! has a whole /64 and can rotate addresses inside it at will. The upgrade
//! rate is tracked for a bounded number of networks, the least recently
//! seen forgotten first — a flood of fresh addresses cannot reset the
//! buckets of the clients that are actually active (the flooder's own
//! among them).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::admission::address_rate::AddressRate;
use crate::admission::client::{client_key, MAX_TRACKED_IPS};

/// Why an upgrade was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` reached.
    Total,
    /// `--max-connections-per-ip` reached for this IP.
    PerIp,
    /// `--upgrades-per-minute-per-ip` exceeded.
    TooFast,
}

impl Refusal {
    /// The HTTP status for the refused upgrade.
    pub fn status(self) -> axum::http::StatusCode {
        match self {
            Refusal::Total => axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Refusal::PerIp | Refusal::TooFast => axum::http::StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// What the client is told (and what is logged).
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Total => "the relay is full (--max-connections); try again later",
            Refusal::PerIp => "too many connections from this address (--max-connections-per-ip)",
            Refusal::TooFast => {
                "too many new connections from this address (--upgrades-per-minute-per-ip); wait a little"
            }
        }
    }
}

/// Counts open connections against the limits.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    trusted: Vec<IpAddr>,
    /// Whether a trusted proxy's unparsable `X-Forwarded-For` entry was
    /// logged already (once is enough to tell the operator; a log line per
    /// request would be a flood a client can trigger).
    unparsed_logged: std::sync::atomic::AtomicBool,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    upgrades: AddressRate,
}

/// One admitted connection; frees its place when dropped.
#[derive(Debug)]
pub struct Admission {
    limits: Arc<ConnectionLimits>,
    ip: Option<IpAddr>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.limits.total.fetch_sub(1, Ordering::Relaxed);
        if let Some(ip) = self.ip {
            let mut map = self.limits.per_ip.lock();
            if let Some(n) = map.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&ip);
                }
            }
        }
    }
}

impl ConnectionLimits {
    /// Limits with these bounds and trusted proxies.
    pub fn new(
        max_total: usize,
        max_per_ip: usize,
        trusted: Vec<IpAddr>,
        upgrades_per_minute: u32,
    ) -> Arc<Self> {
        Self::with_tracked(
            max_total,
            max_per_ip,
            trusted,
            upgrades_per_minute,
            MAX_TRACKED_IPS,
        )
    }

    /// Like [`ConnectionLimits::new`], tracking at most `tracked` networks'
    /// upgrade rates (tests use a small number).
    pub fn with_tracked(
        max_total: usize,
        max_per_ip: usize,
        trusted: Vec<IpAddr>,
        upgrades_per_minute: u32,
        tracked: usize,
    ) -> Arc<Self> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            // Canonical once here, compared with the canonical peer: behind
            // `--listen [::]:…` an IPv4 proxy's connections arrive as
            // `::ffff:a.b.c.d`, which must match `--trusted-proxy a.b.c.d`.
            trusted: trusted.iter().map(IpAddr::to_canonical).collect(),
            unparsed_logged: std::sync::atomic::AtomicBool::new(false),
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            upgrades: AddressRate::new(upgrades_per_minute, tracked),
        })
    }

    fn upgrade_allowed(&self, key: IpAddr) -> bool {
        self.upgrades.take(key).is_ok()
    }

    /// Connections admitted and not yet closed: counted by the
    /// [`Admission`] guards themselves, so the number stays right whatever
    /// ends a connection (a close, an error, a panic).
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// The client's IP: the peer, or the proxy's view for trusted proxies.
    ///
    /// From a trusted proxy, the address that proxy itself added: the
    /// **last** entry of the **last** `X-Forwarded-For` line. A proxy
    /// appends its own line when the request already carried one (HAProxy
    /// does), so every earlier line and entry is whatever the client chose
    /// to send; taking the first would let it pick its address and dodge
    /// every per-address limit.
    ///
    /// The line is read as bytes: nginx's `$proxy_add_x_forwarded_for`
    /// appends to the client's own header on one line, so a client could
    /// put a non-ASCII byte in its part and make the whole line fail
    /// `to_str()` — counted as the proxy, sharing one bucket with every
    /// visitor. Only the proxy's entry must be text; it may carry a port
    /// or brackets (`1.2.3.4:5678`, `[2001:db8::1]:443`). A last entry that
    /// is still not an address means the peer (the proxy) is counted, and
    /// is logged once.
    pub fn client_ip(
        &self,
        peer: Option<SocketAddr>,
        headers: &axum::http::HeaderMap,
    ) -> Option<IpAddr> {
        let peer = peer?.ip().to_canonical();
        if !self.trusted.contains(&peer) {
            return Some(peer);
        }
        let Some(line) = headers.get_all("x-forwarded-for").iter().next_back() else {
            return Some(peer);
        };
        let last = line
            .as_bytes()
            .rsplit(|&b| b == b',')
            .next()
            .unwrap_or_default();
        match forwarded_entry(last) {
            Some(ip) => Some(ip.to_canonical()),
            None => {
                if !self.unparsed_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        proxy = %peer,
                        entry = %String::from_utf8_lossy(last).trim(),
                        "a trusted proxy's X-Forwarded-For entry is not an address; counting \
                         the proxy itself for such requests (logged once)"
                    );
                }
                Some(peer)
            }
        }
    }

    /// Admits one more connection from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Admission, Refusal> {
        let ip = ip.map(client_key);
        if ip.is_some_and(|ip| !self.upgrade_allowed(ip)) {
            return Err(Refusal::TooFast);
        }
        if self.total.fetch_add(1, Ordering::Relaxed) >= self.max_total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::Total);
        }
        if let Some(ip) = ip {
            let mut map = self.per_ip.lock();
            let n = map.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                drop(map);
                self.total.fetch_sub(1, Ordering::Relaxed);
                return Err(Refusal::PerIp);
            }
            *n += 1;
        }
        Ok(Admission {
            limits: self.clone(),
            ip,
        })
    }
}

/// The address in one `X-Forwarded-For` entry: `ip`, `ip:port`, `[v6]` or
/// `[v6]:port`, surrounded by ASCII whitespace or not.
fn forwarded_entry(entry: &[u8]) -> Option<IpAddr> {
    let entry = std::str::from_utf8(entry.trim_ascii()).ok()?;
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| p.parse::<u16>().is_ok());
        return port_ok
            .then(|| v6.parse::<std::net::Ipv6Addr>().ok())
            .flatten()
            .map(IpAddr::V6);
    }
    entry
        .parse::<std::net::SocketAddrV4>()
        .ok()
        .map(|a| IpAddr::V4(*a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn total_and_per_ip_limits_and_release_on_drop() {
        let limits = ConnectionLimits::new(3, 2, vec![], 1000);
        let a1 = limits.admit(Some(ip("10.0.0.1"))).expect("a1");
        let _a2 = limits.admit(Some(ip("10.0.0.1"))).expect("a2");
        assert_eq!(
            limits.admit(Some(ip("10.0.0.1"))).err(),
            Some(Refusal::PerIp)
        );
        let _b = limits.admit(Some(ip("10.0.0.2"))).expect("b");
        assert_eq!(
            limits.admit(Some(ip("10.0.0.3"))).err(),
            Some(Refusal::Total)
        );
        drop(a1);
        assert!(limits.admit(Some(ip("10.0.0.1"))).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn new_connections_per_ip_are_rate_limited() {
        let limits = ConnectionLimits::new(100, 100, vec![], 3);
        for _ in 0..3 {
            drop(
                limits
                    .admit(Some(ip("10.0.0.1")))
                    .expect("within the burst"),
            );
        }
        assert_eq!(
            limits.admit(Some(ip("10.0.0.1"))).err(),
            Some(Refusal::TooFast)
        );
        assert!(limits.admit(Some(ip("10.0.0.2"))).is_ok(), "per IP");
        tokio::time::advance(std::time::Duration::from_secs(20)).await;
        assert!(
            limits.admit(Some(ip("10.0.0.1"))).is_ok(),
            "3 per minute: one more after 20 s"
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64() {
        // Rotating addresses inside one /64 shares one limit.
        let limits = ConnectionLimits::new(100, 2, vec![], 1000);
        let _a = limits.admit(Some(ip("2001:db8::1"))).expect("a");
        let _b = limits.admit(Some(ip("2001:db8::2"))).expect("b");
        assert_eq!(
            limits.admit(Some(ip("2001:db8::3"))).err(),
            Some(Refusal::PerIp)
        );
        assert!(limits.admit(Some(ip("2001:db8:0:1::1"))).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_fresh_addresses_does_not_reset_an_active_clients_bucket() {
        let limits = ConnectionLimits::with_tracked(10_000, 10_000, vec![], 2, 100);
        let flooder = ip("10.9.9.9");
        for _ in 0..2 {
            drop(limits.admit(Some(flooder)).expect("within the burst"));
        }
        assert_eq!(limits.admit(Some(flooder)).err(), Some(Refusal::TooFast));
        // 300 fresh networks (three times what is tracked), the flooder
        // trying again between them.
        for i in 0..300u32 {
            let fresh = IpAddr::V6(std::net::Ipv6Addr::new(
                0x2001, 0xdb8, i as u16, 0, 0, 0, 0, 1,
            ));
            drop(limits.admit(Some(fresh)).expect("a new network"));
            if i % 10 == 0 {
                assert_eq!(
                    limits.admit(Some(flooder)).err(),
                    Some(Refusal::TooFast),
                    "after {i} fresh networks"
                );
            }
        }
        let tracked = limits.upgrades.tracked();
        assert!(tracked <= 100, "bounded: {tracked}");
    }

    fn forwarded(lines: &[&str]) -> axum::http::HeaderMap {
        let mut headers = axum::http::HeaderMap::new();
        for line in lines {
            headers.append(
                "x-forwarded-for",
                axum::http::HeaderValue::from_str(line).expect("value"),
            );
        }
        headers
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let limits = ConnectionLimits::new(10, 10, vec![ip("127.0.0.1")], 1000);
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let other: SocketAddr = "192.0.2.7:5000".parse().expect("addr");
        assert_eq!(
            limits.client_ip(Some(proxy), &forwarded(&["203.0.113.9, 198.51.100.4"])),
            Some(ip("198.51.100.4"))
        );
        assert_eq!(
            limits.client_ip(Some(proxy), &forwarded(&[])),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            limits.client_ip(Some(proxy), &forwarded(&["garbage"])),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            limits.client_ip(Some(other), &forwarded(&["198.51.100.4"])),
            Some(ip("192.0.2.7"))
        );
    }

    #[test]
    fn the_proxys_own_line_counts_not_a_line_the_client_sent() {
        // The client sent `X-Forwarded-For: 203.0.113.66`; the proxy
        // (HAProxy) appended a line of its own with what it saw.
        let limits = ConnectionLimits::new(10, 10, vec![ip("127.0.0.1")], 1000);
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        assert_eq!(
            limits.client_ip(Some(proxy), &forwarded(&["203.0.113.66", "198.51.100.4"])),
            Some(ip("198.51.100.4"))
        );
        assert_eq!(
            limits.client_ip(
                Some(proxy),
                &forwarded(&["203.0.113.66, 203.0.113.67", "10.1.1.1, 198.51.100.4"])
            ),
            Some(ip("198.51.100.4"))
        );
        // A last line that is not an address: the proxy itself is counted,
        // never an earlier line.
        assert_eq!(
            limits.client_ip(Some(proxy), &forwarded(&["203.0.113.66", "unknown"])),
            Some(ip("127.0.0.1"))
        );
    }

    /// With `--listen [::]:…` an IPv4 proxy's connection arrives as
    /// `::ffff:a.b.c.d`: still the trusted proxy, its header still read
    /// (else every visitor is counted as the proxy).
    #[test]
    fn an_ipv4_mapped_proxy_is_the_trusted_proxy() {
        let limits = ConnectionLimits::new(10, 10, vec![ip("127.0.0.1")], 1000);
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().expect("addr");
        assert_eq!(
            limits.client_ip(Some(mapped), &forwarded(&["198.51.100.4"])),
            Some(ip("198.51.100.4"))
        );
        // And a trusted proxy written in its mapped form.
        let limits = ConnectionLimits::new(10, 10, vec![ip("::ffff:10.0.0.1")], 1000);
        let plain: SocketAddr = "10.0.0.1:5000".parse().expect("addr");
        assert_eq!(
            limits.client_ip(Some(plain), &forwarded(&["198.51.100.4"])),
            Some(ip("198.51.100.4"))
        );
        // An untrusted mapped peer is counted as its IPv4 address.
        let other: SocketAddr = "[::ffff:192.0.2.7]:5000".parse().expect("addr");
        assert_eq!(
            limits.client_ip(Some(other), &forwarded(&["198.51.100.4"])),
            Some(ip("192.0.2.7"))
        );
    }

    /// The forms proxies write for their entry: with a port, in brackets,
    /// with whitespace — each the client's address, not the proxy's.
    #[test]
    fn forwarded_entries_with_ports_and_brackets_are_read() {
        let limits = ConnectionLimits::new(10, 10, vec![ip("127.0.0.1")], 1000);
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        for (line, want) in [
            ("1.2.3.4:5678", "1.2.3.4"),
            ("10.0.0.9, 1.2.3.4:5678", "1.2.3.4"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("10.0.0.9,\t 2001:db8::2 ", "2001:db8::2"),
            ("::ffff:198.51.100.4", "198.51.100.4"),
        ] {
            assert_eq!(
                limits.client_ip(Some(proxy), &forwarded(&[line])),
                Some(ip(want)),
                "{line}"
            );
        }
        // Not addresses: the proxy is counted.
        for line in [
            "1.2.3.4,",
            "[2001:db8::1",
            "[2001:db8::1]x",
            "[1.2.3.4]",
            "1.2.3.4:99999",
            "2001:db8::1:443x",
        ] {
            assert_eq!(
                limits.client_ip(Some(proxy), &forwarded(&[line])),
                Some(ip("127.0.0.1")),
                "{line}"
            );
        }
    }

    /// nginx appends its entry to the client's header on one line: a
    /// non-ASCII byte in the client's part must not make the proxy's entry
    /// unreadable (the client would be counted as the proxy).
    #[test]
    fn a_non_ascii_byte_in_an_earlier_entry_does_not_hide_the_proxys() {
        let limits = ConnectionLimits::new(10, 10, vec![ip("127.0.0.1")], 1000);
        let proxy: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let mut headers = axum::http::HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"10.0.0.\xff\xfe, 198.51.100.4").expect("value"),
        );
        assert!(headers["x-forwarded-for"].to_str().is_err());
        assert_eq!(
            limits.client_ip(Some(proxy), &headers),
            Some(ip("198.51.100.4"))
        );
        // In the proxy's own entry it cannot be read: the proxy is counted.
        let mut headers = axum::http::HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            axum::http::HeaderValue::from_bytes(b"198.51.100.4\xff").expect("value"),
        );
        assert_eq!(
            limits.client_ip(Some(proxy), &headers),
            Some(ip("127.0.0.1"))
        );
    }
}
