//! A stand-in n8n webhook on loopback.
//!
//! It speaks HTTP/1.1 with keep-alive over a raw socket so that it can send
//! exactly what n8n sends: the same header lines, chunk boundaries and gaps,
//! and it closes idle keep-alive connections after `keep_alive` (n8n: 5 s).
//!
//! What it answers is set with [`StandIn::set_mode`]; in addition, a chat
//! text starting with `slow:<ms> ` is answered after that many milliseconds
//! (so one slow message can be mixed with fast ones).
//!
//! - `stand_in`: [`StandIn`], the handle a test holds (start, set the
//!   mode, count and read the requests).
//! - `mode`: [`Mode`], the ways it can answer.
//! - `request`: reading one HTTP request off the socket (httparse, multer).
//! - `connection`: one keep-alive connection: which request goes where.
//! - `answer` / `stream`: the bytes of each answer mode, from the captures.

mod answer;
mod connection;
mod mode;
pub(crate) mod request;
mod stand_in;
mod stream;

pub use crate::respond_to_chat::{Outcome, Pace, Step};
pub use mode::Mode;
pub use request::Recorded;
pub use stand_in::StandIn;
