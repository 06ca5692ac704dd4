//! A rate per client address: `per_minute` requests, a burst of as many,
//! for each IPv4 address or IPv6 /64 ([`client_key`]).
//!
//! The one mechanism behind the upgrade, new-session, upload and sign-in
//! rates: token buckets for a bounded number of networks, the least
//! recently seen forgotten first, so a flood of fresh addresses cannot
//! reset the buckets of the clients that are actually active (the
//! flooder's own among them). A refusal says how long to wait (for a
//! `Retry-After`, where the answer is HTTP).

use parking_lot::Mutex;
use std::net::IpAddr;
use std::time::Duration;

use crate::admission::client::{client_key, MAX_TRACKED_IPS};
use crate::admission::rate::TokenBucket;

/// Token buckets per client network.
#[derive(Debug)]
pub struct AddressRate {
    per_minute: u32,
    buckets: Mutex<lru::LruCache<IpAddr, TokenBucket>>,
}

impl AddressRate {
    /// `per_minute` per network (at least 1), tracking at most `tracked`
    /// networks.
    pub fn new(per_minute: u32, tracked: usize) -> Self {
        let tracked = std::num::NonZeroUsize::new(tracked).unwrap_or(std::num::NonZeroUsize::MIN);
        AddressRate {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(lru::LruCache::new(tracked)),
        }
    }

    /// With the relay's usual number of tracked networks.
    pub fn per_minute(per_minute: u32) -> Self {
        Self::new(per_minute, MAX_TRACKED_IPS)
    }

    /// Takes one for `ip`'s network, or says how long until there is one.
    pub fn take(&self, ip: IpAddr) -> Result<(), Duration> {
        let rate = f64::from(self.per_minute) / 60.0;
        self.buckets
            .lock()
            .get_or_insert_mut(client_key(ip), || TokenBucket::new(self.per_minute, rate))
            .take()
    }

    /// Networks tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0; 4]))
    }

    #[tokio::test(start_paused = true)]
    async fn each_network_gets_its_rate_and_is_told_how_long_to_wait() {
        let rate = AddressRate::new(3, 10);
        for _ in 0..3 {
            assert!(rate.take(ip("192.0.2.1")).is_ok());
        }
        assert_eq!(
            rate.take(ip("192.0.2.1")),
            Err(Duration::from_secs(20)),
            "3 a minute: the next in 20 s"
        );
        assert!(rate.take(ip("192.0.2.2")).is_ok(), "another address");
        // One /64 is one client.
        for i in 0..3 {
            assert!(rate.take(ip(&format!("2001:db8::{i}"))).is_ok());
        }
        assert!(rate.take(ip("2001:db8::ffff:1")).is_err());
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(rate.take(ip("192.0.2.1")).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_fresh_networks_is_bounded_and_keeps_the_flooders_bucket() {
        let rate = AddressRate::new(2, 100);
        let flooder = ip("10.9.9.9");
        for _ in 0..2 {
            assert!(rate.take(flooder).is_ok());
        }
        for i in 0..300u16 {
            let fresh = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, i, 0, 0, 0, 0, 1));
            assert!(rate.take(fresh).is_ok(), "a new network");
            if i % 10 == 0 {
                assert!(rate.take(flooder).is_err(), "after {i} fresh networks");
            }
        }
        assert_eq!(rate.tracked(), 100, "bounded");
    }
}
