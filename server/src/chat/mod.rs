//! A chat message's lifecycle, after the socket has decoded it and before
//! the store delivers its outcome:
//! [`lifecycle::receive`] asks the store what to do with the id (new →
//! start, in flight → wait, answered → send the stored answer again), and
//! [`answer::answer`] asks the responder and settles the outcome in the
//! store, which routes it to the session's connections.
//!
//! - [`core`]: the handles the chat core is given ([`core::Chat`]).
//! - [`incoming`]: a message as the page sent it.
//! - [`lifecycle`]: the dedup decision when a message arrives.
//! - [`answer`]: asking the responder and settling the outcome.
//! - [`takeover`]: watching a message whose relay may have crashed
//!   mid-answer, to run it here; one [`watchers`] entry per message.
//! - [`turns`]: a session's messages one after another; a waiting run's
//!   reply.
//! - [`run`]: a "Respond to Chat" run held open by the relay.
//! - [`history`]: a resumed session's earlier messages, from the relay's
//!   transcript or n8n's memory.
//! - [`quotas`]: what a public chat may cost — messages per visitor,
//!   address and day, counted before n8n is called.
//! - [`cancel`]: Stop — the answers in flight here, each cancellable.
//! - [`feedback`]: 👍/👎 passed on to `--feedback-url`.
//! - [`forget`]: a deleted conversation dropped from the store.
//! - [`conversations`]: a verified user's list of conversations, kept on
//!   the relay so it follows the user to another browser.
//! - [`user_links`]: a signed-in user's open connections, told at once
//!   when the user's list changes elsewhere.
//! - [`paused`]: a message handed back while the operator paused the chat.
//! - [`progress`]: the workflow's steps and waiting states as `progress`
//!   frames.

pub mod answer;
pub mod cancel;
pub mod conversations;
pub mod core;
pub mod feedback;
pub mod forget;
pub mod history;
pub mod incoming;
pub mod lifecycle;
pub mod paused;
pub mod progress;
pub mod quotas;
pub mod run;
pub mod takeover;
pub mod turns;
pub mod user_links;
pub mod watchers;

use shared::ServerMessage;

use crate::frame::Frame;

/// What goes straight back to the connection that sent a frame (not a
/// run's reply, [`turns::RunCommand::Reply`], which is the user's).
#[derive(Debug)]
pub enum Direct {
    /// A new frame (an error, a pong).
    Frame(ServerMessage),
    /// A stored answer, sent again as it was.
    Stored(Frame),
}

/// A frame as the wire carries it.
pub fn encode(frame: &ServerMessage) -> Frame {
    Frame::from(frame.encode())
}
