//! The connection to the relay: the pure state machine and the socket glue.

pub mod machine;
pub mod socket;
