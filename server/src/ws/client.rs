//! What one connection knows about its client beyond the session, for the
//! checks a chat message passes before it reaches the chat core.

use std::net::IpAddr;

use super::identify::Who;

/// One connection's client.
#[derive(Debug, Default)]
pub struct Client {
    /// Its address as the admission limits see it (behind a trusted proxy:
    /// the forwarded one), for `--quota-address`.
    pub ip: Option<IpAddr>,
    /// `--proof-of-work` asked this connection (a new session) for a proof
    /// it has not given yet: its messages are refused until it does.
    pub owes_proof: bool,
    /// Who is talking (verified identity), if anyone.
    pub who: Who,
}
