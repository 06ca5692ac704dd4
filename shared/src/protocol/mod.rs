//! The frames of the chat protocol.
//!
//! Page → relay: [`ClientMessage`]. Relay → page: [`ServerMessage`].
//! The exact bytes of each frame are pinned by the golden tests in
//! `shared/tests/golden/`.
//!
//! One file per part, every item re-exported here (`shared::protocol::X`)
//! and the common ones at the crate root (`shared::X`):
//! - `client`: [`ClientMessage`], its checks when decoded, [`DecodeError`];
//! - `server`: [`ServerMessage`] and its constructors;
//! - `decode`: how a relay frame is read (a flat struct, for a small wasm);
//! - `items`: the types frames carry — files, buttons, ratings, history,
//!   a run's and a step's state, a user's conversations;
//! - `errors`: [`ErrorCode`] and [`QuotaKind`], why a message failed.

mod client;
mod decode;
mod errors;
mod items;
mod server;

pub use client::{ClientMessage, DecodeError};
pub use errors::{ErrorCode, QuotaKind};
pub use items::{
    ButtonStyle, ChatButton, ConversationItem, FileRef, HistoryMessage, ProgressLabel, Rating,
    Role, RunState, StepState, Uploaded, MAX_PROGRESS_STEPS, MAX_PROGRESS_STEP_CHARS,
};
pub use server::{ServerMessage, PUSH_ID_PREFIX};

fn is_false(b: &bool) -> bool {
    !*b
}
