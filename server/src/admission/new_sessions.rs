//! How many new sessions one client may start (`--new-sessions-per-minute-per-ip`).
//!
//! Sessions are remembered up to `--max-sessions`; at the cap the oldest
//! idle one is forgotten to make room. Without a limit on how fast sessions
//! are made, a few addresses opening thousands of cheap sessions push out
//! visitors who are away for a moment. (Their messages are still not run
//! twice — a forgotten outcome leaves a tombstone, see
//! [`crate::store::tombstones`] — but their answers are lost.)
//!
//! A connection costs a new session when it asks for none, for an invalid
//! one, or for one the store does not know (never seen, or forgotten):
//! each of these makes a new entry in the store. Continuing a known
//! session is free. Counted like the upgrade rate: per IPv4 address or
//! IPv6 /64 ([`client_key`](crate::admission::client::client_key)), in
//! token buckets for a bounded number of networks, the least recently seen
//! forgotten first. (The check itself, which asks the store, is
//! `ws::connection::admit_session`: this module is held by the state and
//! so imports none of it.)

use std::net::IpAddr;

use crate::admission::address_rate::AddressRate;
use crate::admission::client::MAX_TRACKED_IPS;

/// Why a connection was refused a new session (told to the client).
pub const REFUSED: &str =
    "too many new sessions from this address (--new-sessions-per-minute-per-ip); wait a little";

/// The new-session rate per client network.
#[derive(Debug)]
pub struct NewSessions {
    /// `None`: no limit.
    rate: Option<AddressRate>,
}

impl NewSessions {
    /// `per_minute` new sessions per network (0: no limit), a burst of as
    /// many, tracking at most `tracked` networks.
    pub fn new(per_minute: u32, tracked: usize) -> Self {
        NewSessions {
            rate: (per_minute > 0).then(|| AddressRate::new(per_minute, tracked)),
        }
    }

    /// With the relay's usual number of tracked networks.
    pub fn with_rate(per_minute: u32) -> Self {
        Self::new(per_minute, MAX_TRACKED_IPS)
    }

    /// Takes one new session for `ip`; false when over the rate. A client
    /// without a known address (tests, a Unix socket) is not limited.
    pub fn allow(&self, ip: Option<IpAddr>) -> bool {
        match (ip, &self.rate) {
            (Some(ip), Some(rate)) => rate.take(ip).is_ok(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn each_network_gets_its_rate_and_refills() {
        let limits = NewSessions::new(3, 10);
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::from([0; 4]));
        for _ in 0..3 {
            assert!(limits.allow(Some(a)));
        }
        assert!(!limits.allow(Some(a)), "the fourth in a minute");
        assert!(limits.allow(Some(b)), "another address has its own");
        // One /64 is one client, whatever address in it.
        let v6 = |s: &str| s.parse::<IpAddr>().ok();
        for i in 0..3 {
            assert!(limits.allow(v6(&format!("2001:db8::{i}"))));
        }
        assert!(!limits.allow(v6("2001:db8::ffff:1")));
        assert!(limits.allow(v6("2001:db8:0:1::1")), "another /64");
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(limits.allow(Some(a)), "one back after a third of a minute");
        assert!(!limits.allow(Some(a)));
        assert!(limits.allow(None), "no address: not limited");
        let off = NewSessions::new(0, 10);
        for _ in 0..100 {
            assert!(off.allow(Some(a)), "0: no limit");
        }
    }
}
