//! The sending half of one connection's bounded queue of frames: where the
//! store routes answers and pushes, and where a run's question, the
//! history and a user's list changes are queued for that connection.
//!
//! **Why not the channel itself.** Everything that queues a frame does so
//! without waiting (nothing in the relay may wait for a slow page), and
//! what becomes of a frame that does not fit is each caller's rule: the
//! store closes a connection that cannot keep up with live frames (see
//! `store::ConnHandle::send_or_kick`); elsewhere the caller keeps the
//! frame for later or drops it. A type
//! with only [`Outbox::try_send`] says so, and the chat core and the
//! store hold it without naming the channel it is made of. The receiving
//! half ([`channel`]) is the connection's loop's (`ws`).

use tokio::sync::mpsc;

use crate::frame::Frame;

/// A new queue of at most `capacity` frames: its sending half, and the
/// receiving half the connection's loop reads.
pub fn channel(capacity: usize) -> (Outbox, mpsc::Receiver<Frame>) {
    let (tx, rx) = mpsc::channel(capacity);
    (Outbox(tx), rx)
}

/// Queues frames for one connection; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox(mpsc::Sender<Frame>);

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full: the connection is not reading fast enough.
    Full,
    /// The connection is gone.
    Closed,
}

impl Outbox {
    /// Queues `frame` if there is room, never waiting.
    pub fn try_send(&self, frame: Frame) -> Result<(), Refused> {
        self.0.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Refused::Full,
            mpsc::error::TrySendError::Closed(_) => Refused::Closed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_and_a_closed_one_refuse_differently() {
        let (outbox, mut rx) = channel(1);
        let frame = Frame::from_static("x");
        assert_eq!(outbox.try_send(frame.clone()), Ok(()));
        assert_eq!(outbox.try_send(frame.clone()), Err(Refused::Full));
        assert_eq!(rx.try_recv().ok(), Some(frame.clone()));
        drop(rx);
        assert_eq!(outbox.try_send(frame), Err(Refused::Closed));
    }
}
