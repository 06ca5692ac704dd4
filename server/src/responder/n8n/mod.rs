//! n8n as the responder.
//!
//! - [`client`]: the HTTP client — one POST per message, bounded and timed.
//! - [`answer`]: reading an answer out of a complete response (and
//!   `loadPreviousSession`'s history, and n8n's error bodies).
//! - [`stream`]: reading n8n's streamed (NDJSON) answers as they arrive.
//! - [`chat_socket`]: n8n's `/chat` socket of a "Respond to Chat" run.
//! - [`approval`]: acting on an approval button's signed link.
//! - [`multipart`]: a message with files, as the Chat Trigger takes it.
//! - [`settings`]: what the client is set up with, converted once from the
//!   flags.

pub mod answer;
pub mod approval;
pub mod chat_socket;
pub mod client;
pub mod multipart;
pub mod settings;
pub mod stream;

pub use client::Webhook;
pub use settings::ClientSettings;
