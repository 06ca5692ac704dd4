//! The components: thin views of the controller's signals.
//!
//! - [`app`]: the page (full page, or the chat bubble with `?mode=window`).
//! - [`header`]: title, connection status, language/theme/new chat/clear.
//! - [`messages`]: the conversation.
//! - [`composer`]: the input, and the storage note.
//! - [`window`]: the floating bubble and telling the embedding page.

pub mod app;
pub mod composer;
pub mod header;
pub mod messages;
pub mod window;
