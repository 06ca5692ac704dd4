//! Who may connect, decided before a WebSocket is upgraded, and how fast a
//! connection may send.
//!
//! - [`origin`]: which browser origins may open the WebSocket (never by
//!   the `Host` header: DNS rebinding).
//! - [`limits`]: connections in total and per client IP (IPv6 by /64), and
//!   new connections per IP per minute.
//! - [`http_connections`]: open plain-HTTP connections in total and per
//!   address, decided at accept.
//! - [`client`]: the key a client is counted under (IPv4, or IPv6 /64).
//! - [`rate`]: the token bucket behind both rates.
//! - [`address_rate`]: a rate per client address with a `Retry-After`
//!   (sign-ins started, `/auth/login`).
//! - [`new_sessions`]: how many new sessions one client may start.
//! - [`proof_of_work`]: the optional proof-of-work gate for new sessions.

pub mod address_rate;
pub mod client;
pub mod http_connections;
pub mod limits;
pub mod new_sessions;
pub mod origin;
pub mod proof_of_work;
pub mod rate;
