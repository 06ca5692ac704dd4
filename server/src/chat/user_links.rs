//! A signed-in user's open connections on this relay, so that a change to
//! their list of conversations made in one tab or device (a save, a
//! rename, a delete) reaches the user's other open pages at once, not at
//! their next reconnect.
//!
//! **Bounds.** A connection joins at most once (a connection's user never
//! changes), so the map holds at most one entry per open connection. Per
//! user at most [`MAX_LINKS_PER_USER`]: past it the oldest link is
//! forgotten — that page stays connected and gets the list at its next
//! connect, only not live — so one user opening hundreds of sockets cannot
//! make every save a fan-out of hundreds of frames.
//!
//! **Reach.** This relay's connections only: with several relays (Redis) a
//! page on another relay gets the new list when it next connects.
//!
//! Telling never waits: a page whose queue is full misses the update (it
//! is being closed for falling behind, and gets the list on reconnect).

use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::sync::Arc;

use crate::frame::Frame;
use crate::outbox::Outbox;

/// How many of one user's connections hear about list changes.
pub const MAX_LINKS_PER_USER: usize = 16;

#[derive(Debug)]
struct Link {
    conn: u64,
    outbox: Outbox,
}

/// Every signed-in user's open connections on this relay.
#[derive(Debug, Default)]
pub struct UserLinks {
    map: Mutex<HashMap<String, Vec<Link>>>,
}

impl UserLinks {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<Link>>> {
        self.map.lock()
    }

    /// Connection `conn` of `user`, whose outbound queue is `outbox`, hears
    /// of the user's list changes until the returned guard is dropped.
    pub fn join(self: &Arc<Self>, user: &str, conn: u64, outbox: Outbox) -> Joined {
        let mut map = self.lock();
        let links = map.entry(user.to_owned()).or_default();
        if links.len() >= MAX_LINKS_PER_USER {
            links.remove(0);
        }
        links.push(Link { conn, outbox });
        Joined {
            links: Arc::clone(self),
            user: user.to_owned(),
            conn,
        }
    }

    /// Sends `frame` to `user`'s connections other than `from`, without
    /// waiting; returns how many took it.
    pub fn tell_others(&self, user: &str, from: u64, frame: &Frame) -> usize {
        let map = self.lock();
        let Some(links) = map.get(user) else {
            return 0;
        };
        links
            .iter()
            .filter(|link| link.conn != from)
            .filter(|link| link.outbox.try_send(frame.clone()).is_ok())
            .count()
    }

    /// Users with a connection here (for tests and metrics).
    pub fn users(&self) -> usize {
        self.lock().len()
    }

    /// Connections of `user` that hear about list changes.
    pub fn links_of(&self, user: &str) -> usize {
        self.lock().get(user).map_or(0, Vec::len)
    }

    fn leave(&self, user: &str, conn: u64) {
        let mut map = self.lock();
        if let Some(links) = map.get_mut(user) {
            links.retain(|link| link.conn != conn);
            if links.is_empty() {
                map.remove(user);
            }
        }
    }
}

/// A connection's place in [`UserLinks`]; leaves it when dropped (the
/// connection closed).
#[derive(Debug)]
pub struct Joined {
    links: Arc<UserLinks>,
    user: String,
    conn: u64,
}

impl Joined {
    /// The user this connection is of.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether another connection of this user hears list changes (so a
    /// new list is worth reading from the store).
    pub fn has_others(&self) -> bool {
        self.links.links_of(&self.user) > 1
    }

    /// Sends `frame` to this user's other connections (see
    /// [`UserLinks::tell_others`]).
    pub fn tell_others(&self, frame: &Frame) -> usize {
        self.links.tell_others(&self.user, self.conn, frame)
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        self.links.leave(&self.user, self.conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::channel;

    fn frame() -> Frame {
        Frame::from_static(r#"{"type":"conversations","items":[]}"#)
    }

    #[test]
    fn the_others_hear_not_the_sender_nor_other_users() {
        let links = Arc::new(UserLinks::default());
        let (a_tx, mut a_rx) = channel(4);
        let (b_tx, mut b_rx) = channel(4);
        let (c_tx, mut c_rx) = channel(4);
        let a = links.join("alice", 1, a_tx);
        let _b = links.join("alice", 2, b_tx);
        let _c = links.join("carol", 3, c_tx);
        assert_eq!(a.tell_others(&frame()), 1);
        assert_eq!(b_rx.try_recv().ok(), Some(frame()));
        assert!(a_rx.try_recv().is_err(), "not the sender");
        assert!(c_rx.try_recv().is_err(), "not another user");
        assert_eq!(links.users(), 2);
    }

    #[test]
    fn a_closed_connection_leaves_and_an_empty_user_is_forgotten() {
        let links = Arc::new(UserLinks::default());
        let (tx, _rx) = channel(4);
        let a = links.join("alice", 1, tx.clone());
        let b = links.join("alice", 2, tx);
        assert!(a.has_others() && b.has_others());
        drop(a);
        assert_eq!(links.links_of("alice"), 1);
        assert!(!b.has_others(), "alone now");
        drop(b);
        assert_eq!(
            links.users(),
            0,
            "nothing kept for a user with no connection"
        );
    }

    #[test]
    fn past_the_bound_the_oldest_link_no_longer_hears() {
        let links = Arc::new(UserLinks::default());
        let (first_tx, mut first_rx) = channel(4);
        let mut kept = vec![links.join("alice", 0, first_tx)];
        let mut receivers = Vec::new();
        for conn in 1..=MAX_LINKS_PER_USER as u64 {
            let (tx, rx) = channel(4);
            kept.push(links.join("alice", conn, tx));
            receivers.push(rx);
        }
        assert_eq!(links.links_of("alice"), MAX_LINKS_PER_USER, "never more");
        let (sender_tx, _sender_rx) = channel(4);
        let sender = links.join("alice", 999, sender_tx);
        assert_eq!(sender.tell_others(&frame()), MAX_LINKS_PER_USER - 1);
        assert!(first_rx.try_recv().is_err(), "the oldest was forgotten");
        // The forgotten guard's drop removes nothing of anyone else's.
        kept.remove(0);
        assert_eq!(links.links_of("alice"), MAX_LINKS_PER_USER);
    }

    #[test]
    fn a_full_queue_is_skipped_without_waiting() {
        let links = Arc::new(UserLinks::default());
        let (full_tx, _full_rx) = channel(1);
        full_tx.try_send(frame()).expect("fill");
        let _full = links.join("alice", 1, full_tx);
        let (tx, _rx) = channel(1);
        let sender = links.join("alice", 2, tx);
        assert_eq!(sender.tell_others(&frame()), 0);
    }
}
