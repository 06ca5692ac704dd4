//! One session (conversation): its open connections, the message ids it
//! sent and their outcomes, and what it is owed while no connection is open.

use std::collections::{HashMap, VecDeque};

use tokio::time::Instant;

use crate::frame::Frame;
use crate::store::ConnHandle;

#[derive(Debug)]
pub(super) enum Entry {
    InFlight,
    /// The final frame: an answer, or an error (`failed`).
    Done {
        frame: Frame,
        failed: bool,
    },
}

#[derive(Debug)]
pub(super) struct Session {
    pub(super) conns: Vec<ConnHandle>,
    pub(super) messages: HashMap<String, Entry>,
    pub(super) answered: VecDeque<String>,
    pub(super) undelivered: Vec<Frame>,
    /// Bytes of pushes waiting in `undelivered` (answers there are also in
    /// `messages` and counted once, from there).
    pub(super) kept_pushes: usize,
    pub(super) in_flight: usize,
    /// The text streamed so far of each message in flight, for a page that
    /// reconnects mid-stream.
    pub(super) streamed: HashMap<String, String>,
    pub(super) last_seen: Instant,
    /// Its key in [`Inner::idle`] while it is evictable.
    pub(super) idle_key: Option<IdleKey>,
    /// The verified user it belongs to (see [`super::Sessions::claim`]);
    /// bounded by the identity checks (`identity::claims::MAX_USER_ID_CHARS`).
    pub(super) owner: Option<String>,
}

/// When a session was last seen, and a sequence number for ties.
pub(super) type IdleKey = (Instant, u64);

impl Session {
    pub(super) fn new(now: Instant) -> Self {
        Session {
            conns: Vec::new(),
            messages: HashMap::new(),
            answered: VecDeque::new(),
            undelivered: Vec::new(),
            kept_pushes: 0,
            in_flight: 0,
            streamed: HashMap::new(),
            last_seen: now,
            idle_key: None,
            owner: None,
        }
    }

    pub(super) fn retained_bytes(&self) -> usize {
        self.messages
            .values()
            .map(|e| match e {
                Entry::Done { frame, .. } => frame.len(),
                Entry::InFlight => 0,
            })
            .sum::<usize>()
            + self.kept_pushes
            + self.streamed.values().map(String::len).sum::<usize>()
    }

    /// Forgets the streamed text of `id`; its bytes.
    pub(super) fn forget_stream(&mut self, id: &str) -> usize {
        self.streamed.remove(id).map_or(0, |t| t.len())
    }

    pub(super) fn evictable(&self) -> bool {
        self.conns.is_empty() && self.in_flight == 0
    }

    /// Sends `frame` to every open connection; true if at least one took it.
    pub(super) fn send_all(&self, frame: &Frame) -> bool {
        self.send_count(frame) > 0
    }

    /// Sends `frame` to every open connection; how many took it.
    pub(super) fn send_count(&self, frame: &Frame) -> usize {
        self.conns
            .iter()
            .filter(|conn| conn.send_or_kick(frame.clone()))
            .count()
    }
}
