//! How the store reaches one open connection: its id, its queue of frames
//! and its kick, behind the two ways the store queues a frame.

use tokio_util::sync::CancellationToken;

use crate::frame::Frame;
use crate::outbox::{Outbox, Refused};

/// Identifies one WebSocket connection inside the relay.
pub type ConnId = u64;

/// How the sessions registry reaches one open connection.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    /// The connection.
    pub id: ConnId,
    /// Its bounded outbound queue of encoded frames.
    outbox: Outbox,
    /// Cancelled when the connection cannot keep up (its queue is full): it
    /// is closed rather than allowed to grow without bound; the page
    /// reconnects and gets what it missed.
    kick: CancellationToken,
}

impl ConnHandle {
    /// Connection `id`, reached through `outbox`, closed by `kick`.
    pub fn new(id: ConnId, outbox: Outbox, kick: CancellationToken) -> Self {
        ConnHandle { id, outbox, kick }
    }

    /// Queues `frame` if there is room, never waiting and kicking no one;
    /// the caller decides what becomes of a frame that does not fit (a
    /// session's kept frames, handed to a connection as it attaches, stay
    /// kept; the text streamed so far is dropped, the answer follows).
    pub fn try_send(&self, frame: Frame) -> Result<(), Refused> {
        self.outbox.try_send(frame)
    }

    /// Queues a live frame (an answer, a push, a chunk); a connection whose
    /// queue is full cannot keep up and is kicked. Whether it took the
    /// frame.
    pub fn send_or_kick(&self, frame: Frame) -> bool {
        match self.outbox.try_send(frame) {
            Ok(()) => true,
            Err(Refused::Full) => {
                tracing::warn!(conn = self.id, "client is not reading; closing it");
                self.kick.cancel();
                false
            }
            Err(Refused::Closed) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox;

    #[test]
    fn only_a_live_frame_that_does_not_fit_kicks() {
        let (tx, _rx) = outbox::channel(1);
        let kick = CancellationToken::new();
        let conn = ConnHandle::new(1, tx, kick.clone());
        assert!(conn.send_or_kick(Frame::from_static("a")));
        assert_eq!(conn.try_send(Frame::from_static("b")), Err(Refused::Full));
        assert!(!kick.is_cancelled(), "kept for later, not kicked");
        assert!(!conn.send_or_kick(Frame::from_static("c")));
        assert!(kick.is_cancelled(), "a slow connection is closed");
    }

    #[test]
    fn a_closed_connection_is_not_kicked() {
        let (tx, rx) = outbox::channel(1);
        let kick = CancellationToken::new();
        let conn = ConnHandle::new(1, tx, kick.clone());
        drop(rx);
        assert!(!conn.send_or_kick(Frame::from_static("a")));
        assert!(!kick.is_cancelled());
    }
}
