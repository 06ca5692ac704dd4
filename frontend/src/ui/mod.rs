//! The components: thin views of the controller's signals.
//!
//! - [`app`]: the page (full page, or the chat bubble with `?mode=window`).
//! - [`conversations`]: the visitor's conversation list.
//! - [`header`]: title, connection status, language/theme/new chat/clear.
//! - [`messages`]: the conversation.
//! - [`progress`]: the workflow's steps, regenerate and the answer switch.
//! - [`composer`]: the input with its attachments, and the storage note.
//! - [`attachments`]: files as chips (composer and sent messages).
//! - [`window`]: the floating bubble and telling the embedding page.

pub mod app;
pub mod attachments;
pub mod composer;
pub mod conversations;
pub mod header;
pub mod messages;
pub mod progress;
pub mod voice;
pub mod window;
