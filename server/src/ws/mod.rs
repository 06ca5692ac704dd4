//! One WebSocket connection's life.
//!
//! - [`connection`]: the `select!` loop — frames in, queued frames out,
//!   heartbeat, idle deadline, shutdown.
//! - [`frames`]: what an incoming text frame means (ping, message, junk).
//! - [`outgoing`]: writing to the socket without ever blocking the loop for
//!   good.
//! - [`peer`]: who is connecting (the session asked for, in the query or
//!   in the first frame).
//! - [`identify`]: who a connection speaks for (verified identity), and
//!   whose session it may join.
//! - [`heartbeat`]: the relay-wide heartbeat clock and the idle deadline.
//! - [`client`]: what a connection knows of its client (its address).
//! - [`close`]: close codes and why a connection ends.

pub mod client;
pub mod close;
pub mod connection;
pub mod frames;
pub mod heartbeat;
pub mod identify;
pub mod outgoing;
pub mod peer;

pub use connection::{serve, OUTBOUND_QUEUE};
pub use peer::Peer;
