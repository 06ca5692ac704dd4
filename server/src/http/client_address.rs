//! Which client a plain HTTP request counts for, in the per-address rates
//! (uploads, sign-ins): the peer, or a trusted proxy's view of it, as for
//! the WebSocket's connections (`ConnectionLimits::client_ip`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

use crate::AppState;

/// The client address of a request with these `extensions` and `headers`;
/// one shared bucket (`0.0.0.0`) for a request without a peer address.
pub fn of_request(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    state
        .limits()
        .client_ip(peer, headers)
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}
