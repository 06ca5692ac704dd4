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

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::admission::rate::TokenBucket;

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

/// Most client networks whose upgrade rate is tracked at once; beyond that
/// the least recently seen is forgotten.
pub const MAX_TRACKED_IPS: usize = 100_000;

/// The key a client is counted under: its IPv4 address, or its IPv6 /64.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(std::net::Ipv6Addr::from(segments))
            }
        },
    }
}

/// Counts open connections against the limits.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    trusted: Vec<IpAddr>,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    upgrades_per_minute: u32,
    upgrades: Mutex<lru::LruCache<IpAddr, TokenBucket>>,
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
            let mut map = self.limits.per_ip.lock().unwrap_or_else(|p| p.into_inner());
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
        let tracked = std::num::NonZeroUsize::new(tracked).unwrap_or(std::num::NonZeroUsize::MIN);
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            trusted,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            upgrades_per_minute: upgrades_per_minute.max(1),
            upgrades: Mutex::new(lru::LruCache::new(tracked)),
        })
    }

    fn upgrade_allowed(&self, key: IpAddr) -> bool {
        let mut map = self.upgrades.lock().unwrap_or_else(|p| p.into_inner());
        let rate = f64::from(self.upgrades_per_minute) / 60.0;
        map.get_or_insert_mut(key, || TokenBucket::new(self.upgrades_per_minute, rate))
            .take()
            .is_ok()
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
    /// every per-address limit. A last entry that is not an address means
    /// the peer (the proxy) is counted.
    pub fn client_ip(
        &self,
        peer: Option<SocketAddr>,
        headers: &axum::http::HeaderMap,
    ) -> Option<IpAddr> {
        let peer = peer?.ip();
        if !self.trusted.contains(&peer) {
            return Some(peer);
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse().ok())
            .or(Some(peer))
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
            let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
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
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(client_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(client_key(ip("10.0.0.1")), ip("10.0.0.1"));
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
        let tracked = limits.upgrades.lock().map(|m| m.len()).unwrap_or(0);
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
}
