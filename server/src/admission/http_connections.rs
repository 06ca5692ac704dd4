//! Bounds on open plain-HTTP connections, in total and per client address,
//! decided the moment a connection is accepted.
//!
//! Every TCP connection is plain HTTP until it upgrades: the page, its
//! files, `/config.json`, `/healthz`, uploads, and each WebSocket's
//! handshake. Without a bound, connections that send nothing (or trickle
//! a header byte now and then) pile up uncounted; the header-read timeout
//! ends each of them, this bound caps how many exist meanwhile.
//!
//! Only the TCP peer is known at accept time (no `X-Forwarded-For` yet), so
//! the per-address bound counts peers — IPv6 by /64, like
//! [`super::limits`] — and skips `--trusted-proxy` peers, whose
//! connections carry many clients (bound those at the proxy); they still
//! count in the total.
//!
//! A connection that upgrades to a WebSocket leaves this count (its
//! [`HttpSlot`] is dropped when hyper hands the socket over) and is counted
//! by [`super::limits::ConnectionLimits`] from then on.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::client::client_key;

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpRefusal {
    /// `--max-http-connections` reached.
    Total,
    /// `--max-http-connections-per-ip` reached for this address.
    PerIp,
}

impl HttpRefusal {
    /// What the log says.
    pub fn reason(self) -> &'static str {
        match self {
            HttpRefusal::Total => {
                "too many open HTTP connections (--max-http-connections); new ones are closed at once"
            }
            HttpRefusal::PerIp => {
                "too many open HTTP connections from one address (--max-http-connections-per-ip); its new ones are closed at once"
            }
        }
    }
}

/// Counts open plain-HTTP connections against the bounds.
#[derive(Debug)]
pub struct HttpConnections {
    max_total: usize,
    max_per_ip: usize,
    trusted: Vec<IpAddr>,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
}

/// One open plain-HTTP connection; frees its place when dropped (when the
/// connection closes or upgrades).
#[derive(Debug)]
pub struct HttpSlot {
    owner: Arc<HttpConnections>,
    /// The key counted per address (none for trusted proxies).
    key: Option<IpAddr>,
}

impl Drop for HttpSlot {
    fn drop(&mut self) {
        self.owner.total.fetch_sub(1, Ordering::Relaxed);
        if let Some(key) = self.key {
            let mut map = self.owner.per_ip.lock();
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
    }
}

impl HttpConnections {
    /// Bounds of `max_total` open connections, `max_per_ip` per address
    /// (not applied to `trusted` proxies).
    pub fn new(max_total: usize, max_per_ip: usize, trusted: Vec<IpAddr>) -> Arc<Self> {
        Arc::new(HttpConnections {
            max_total,
            max_per_ip,
            // Canonical, like the peers compared against them: an operator
            // may write `::ffff:127.0.0.1` as well as `127.0.0.1`.
            trusted: trusted.iter().map(IpAddr::to_canonical).collect(),
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        })
    }

    /// Admits one more connection from `peer`, or says why not.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<HttpSlot, HttpRefusal> {
        let refused = |why| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Err(why)
        };
        if self.total.fetch_add(1, Ordering::Relaxed) >= self.max_total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return refused(HttpRefusal::Total);
        }
        let key = (!self.trusted.contains(&peer.to_canonical())).then(|| client_key(peer));
        if let Some(key) = key {
            let mut map = self.per_ip.lock();
            let n = map.entry(key).or_insert(0);
            if *n >= self.max_per_ip {
                if *n == 0 {
                    map.remove(&key);
                }
                drop(map);
                self.total.fetch_sub(1, Ordering::Relaxed);
                return refused(HttpRefusal::PerIp);
            }
            *n += 1;
        }
        Ok(HttpSlot {
            owner: self.clone(),
            key,
        })
    }

    /// Plain-HTTP connections open now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Connections closed at once since the start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn total_and_per_address_bounds_and_release_on_drop() {
        let bounds = HttpConnections::new(3, 2, vec![]);
        let a1 = bounds.admit(ip("10.0.0.1")).expect("a1");
        let _a2 = bounds.admit(ip("10.0.0.1")).expect("a2");
        assert_eq!(bounds.admit(ip("10.0.0.1")).err(), Some(HttpRefusal::PerIp));
        let _b = bounds.admit(ip("10.0.0.2")).expect("b");
        assert_eq!(bounds.admit(ip("10.0.0.3")).err(), Some(HttpRefusal::Total));
        assert_eq!((bounds.open(), bounds.refused()), (3, 2));
        drop(a1);
        assert!(bounds.admit(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn ipv6_peers_count_by_their_slash_64() {
        let bounds = HttpConnections::new(100, 2, vec![]);
        let _a = bounds.admit(ip("2001:db8::1")).expect("a");
        let _b = bounds.admit(ip("2001:db8::2")).expect("b");
        assert_eq!(
            bounds.admit(ip("2001:db8::3")).err(),
            Some(HttpRefusal::PerIp)
        );
        assert!(bounds.admit(ip("2001:db8:0:1::1")).is_ok());
    }

    #[test]
    fn trusted_proxies_are_bounded_by_the_total_only() {
        let bounds = HttpConnections::new(4, 1, vec![ip("10.0.0.9")]);
        let held: Vec<_> = (0..4)
            .map(|_| bounds.admit(ip("10.0.0.9")).expect("a proxy connection"))
            .collect();
        assert_eq!(bounds.admit(ip("10.0.0.9")).err(), Some(HttpRefusal::Total));
        // An IPv4-mapped form of the proxy is the proxy too.
        drop(held);
        assert!(bounds.admit(ip("::ffff:10.0.0.9")).is_ok());
        assert!(bounds.per_ip.lock().is_empty());
    }

    #[test]
    fn a_zero_bound_refuses_without_leaving_entries_behind() {
        let bounds = HttpConnections::new(10, 0, vec![]);
        assert_eq!(bounds.admit(ip("10.0.0.1")).err(), Some(HttpRefusal::PerIp));
        assert_eq!(bounds.open(), 0);
        assert!(bounds.per_ip.lock().is_empty());
    }
}
