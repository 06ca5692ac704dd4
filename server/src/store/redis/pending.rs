//! Answers given while Redis was unreachable, waiting to be written to it
//! (so other relays learn the messages were answered).
//!
//! Bounded by bytes (`--redis-max-pending-bytes`): during a long outage
//! under load the oldest are dropped from the queue, counted, and reported
//! in `/healthz`. A dropped write loses nothing the page sees — the page
//! has the answer, and this relay still knows it — but until the session's
//! keys expire another relay may run that message again if the page
//! resends it there.

use std::collections::VecDeque;

use crate::frame::Frame;
use crate::store::PendingHealth;

/// A final frame that could not be written to Redis yet (it was down); it
/// is written when Redis is back, so other relays see the message answered.
#[derive(Debug)]
pub struct Completion {
    /// The session.
    pub session: String,
    /// The message id.
    pub id: String,
    /// The `response` or `error` frame.
    pub frame: Frame,
    /// Whether it is an error.
    pub failed: bool,
    /// Whether the session's connections on this relay already have it.
    pub delivered_here: bool,
}

/// The queue.
#[derive(Debug)]
pub struct Pending {
    items: VecDeque<Completion>,
    bytes: usize,
    max_bytes: usize,
    dropped: u64,
}

fn size(c: &Completion) -> usize {
    c.frame.len() + c.session.len() + c.id.len()
}

impl Pending {
    /// An empty queue holding at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Pending {
            items: VecDeque::new(),
            bytes: 0,
            max_bytes,
            dropped: 0,
        }
    }

    /// Adds a completion at the back; the oldest go while over the bound.
    pub fn hold(&mut self, c: Completion) {
        self.bytes += size(&c);
        self.items.push_back(c);
        while self.bytes > self.max_bytes {
            let Some(old) = self.items.pop_front() else {
                break;
            };
            self.bytes -= size(&old);
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped,
                    "answers waiting for Redis passed --redis-max-pending-bytes; the oldest are no longer shared"
                );
            }
        }
    }

    /// Takes everything, oldest first.
    pub fn take(&mut self) -> Vec<Completion> {
        self.bytes = 0;
        self.items.drain(..).collect()
    }

    /// Puts back what could not be written (oldest first), ahead of
    /// anything held meanwhile.
    pub fn put_back(&mut self, left: Vec<Completion>) {
        let newer: Vec<Completion> = self.items.drain(..).collect();
        self.bytes = 0;
        for c in left.into_iter().chain(newer) {
            self.hold(c);
        }
    }

    /// For `/healthz`.
    pub fn health(&self) -> PendingHealth {
        PendingHealth {
            answers: self.items.len(),
            bytes: self.bytes,
            dropped: self.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;

    fn completion(id: &str, bytes: usize) -> Completion {
        Completion {
            session: "s".into(),
            id: id.into(),
            frame: Frame::from("x".repeat(bytes)),
            failed: false,
            delivered_here: true,
        }
    }

    #[test]
    fn the_queue_is_bounded_by_bytes_and_counts_what_it_drops() {
        let mut p = Pending::new(100);
        for i in 0..10 {
            p.hold(completion(&format!("m{i}"), 28));
        }
        let h = p.health();
        assert!(h.bytes <= 100, "{h:?}");
        assert_eq!(h.answers, 3);
        assert_eq!(h.dropped, 7);
        let kept: Vec<String> = p.take().into_iter().map(|c| c.id).collect();
        assert_eq!(kept, ["m7", "m8", "m9"], "the newest stay");
        assert_eq!(p.health().bytes, 0);
    }

    #[test]
    fn what_could_not_be_written_goes_back_ahead_of_newer_ones() {
        let mut p = Pending::new(1000);
        p.hold(completion("a", 10));
        let taken = p.take();
        p.hold(completion("b", 10));
        p.put_back(taken);
        let order: Vec<String> = p.take().into_iter().map(|c| c.id).collect();
        assert_eq!(order, ["a", "b"]);
    }
}
