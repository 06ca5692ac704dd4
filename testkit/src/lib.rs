//! Helpers shared by the relay's integration tests and the browser tests.
//!
//! - [`n8n`]: a stand-in n8n webhook on 127.0.0.1 that answers with the exact
//!   bytes captured from a real n8n 2.8.4 (see `fixtures/README.md`), and can
//!   be told to be slow, fail, stream, hang or go away.
//! - [`fixtures`]: the captured bytes themselves.
//! - [`multipart`]: file uploads as n8n's Chat Trigger reads them.
//! - [`respond_to_chat`]: its Chat Trigger "Using Response Nodes": the
//!   `/chat` WebSocket of a running execution and the approval links.

pub mod fixtures;
pub use fixtures::{upload_capture, DOT_PNG, TINY_PDF};
pub mod multipart;
pub mod n8n;
pub mod respond_to_chat;
