//! Writing frames to one connection.
//!
//! A write that cannot complete (the client stopped reading and the
//! socket's buffers are full) must not hold the connection's loop forever:
//! it gives way to the kick (the client's bounded queue filled up
//! meanwhile) and to a time limit; either closes the connection with 1008.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::Message;
use futures_util::{Sink, SinkExt};
use tokio_util::sync::CancellationToken;

use super::close::{close_code, End, NOT_READING};
use crate::frame::Frame;

/// The writing side of one connection.
#[derive(Debug)]
pub struct Outgoing {
    /// Cancelled when the connection's queue is full.
    pub kick: CancellationToken,
    /// How long one write may take.
    pub write_timeout: Duration,
}

impl Outgoing {
    /// Writes `frame`, or says how the connection ends.
    pub async fn send<S>(&self, socket: &mut S, frame: Frame) -> Result<(), End>
    where
        S: Sink<Message> + Unpin,
    {
        let mut write = std::pin::pin!(socket.send(Message::from(frame)));
        // Most writes complete at once (the socket has room): then no timer
        // and no kick watcher is set up — a heartbeat is 10 000 of these.
        let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
        let written = match first {
            Poll::Ready(written) => Ok(written),
            Poll::Pending => tokio::select! {
                written = tokio::time::timeout(self.write_timeout, write.as_mut()) => {
                    written.map_err(|_| End::Close(close_code::POLICY, NOT_READING))
                }
                _ = self.kick.cancelled() => Err(End::Close(close_code::POLICY, NOT_READING)),
            },
        };
        match written? {
            Ok(()) => Ok(()),
            Err(_) => Err(End::Gone),
        }
    }
}
