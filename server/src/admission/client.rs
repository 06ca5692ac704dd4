//! The key a client is counted under, for every per-address limit and
//! rate: its IPv4 address, or its IPv6 /64 (one customer's network, which
//! can rotate through addresses at will).

use std::net::IpAddr;

/// Most client networks a per-address rate tracks at once; beyond that the
/// least recently seen is forgotten.
pub const MAX_TRACKED_IPS: usize = 100_000;

/// The key a client is counted under: its IPv4 address (also when written
/// as an IPv4-mapped IPv6 address), or its IPv6 /64.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0; 4]))
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(client_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(client_key(ip("10.0.0.1")), ip("10.0.0.1"));
        let key = client_key(ip("2001:db8::1"));
        assert_eq!(client_key(key), key, "a key is its own key");
    }
}
