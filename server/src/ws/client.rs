//! What one connection knows about its client beyond the session, for the
//! checks a chat message passes before it reaches the chat core.

use std::net::IpAddr;

use super::identify::Who;
use crate::chat::user_links::Joined;
use crate::frame::Frame;
use crate::outbox::Outbox;

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
    /// The connection's id (in logs).
    pub conn: u64,
    /// The connection's outbound queue (for [`Client::link`]).
    pub outbox: Option<Outbox>,
    /// Its place among its user's connections, once verified: told when
    /// the user's list changes on another connection.
    pub link: Option<Joined>,
}

impl Client {
    /// Joins the user's connections, if verified and not joined yet.
    pub fn link_user(&mut self, links: &std::sync::Arc<crate::chat::user_links::UserLinks>) {
        if self.link.is_some() {
            return;
        }
        if let (Some(user), Some(outbox)) = (self.who.user(), &self.outbox) {
            self.link = Some(links.join(&user.id, self.conn, outbox.clone()));
        }
    }

    /// Whether another connection of this user would hear a new list.
    pub fn others_listen(&self) -> bool {
        self.link.as_ref().is_some_and(Joined::has_others)
    }

    /// Tells this user's other connections `frame` (a new list), if any.
    pub fn tell_others(&self, frame: &Frame) {
        if let Some(link) = &self.link {
            link.tell_others(frame);
        }
    }
}
