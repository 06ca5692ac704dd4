//! What the page knows and decides, without a browser: every rule here is a
//! native unit test.
//!
//! - [`machine`]: the connection state machine.
//! - [`conversation`]: the messages and the outbox.
//! - [`attachments`]: files attached to messages, and the relay's rules.
//! - [`settings`]: where the relay is, which session to adopt, timings.
//! - [`time`]: when a message was, as people say it.
//! - [`embed`]: the page inside another site — its options and commands.
//! - [`i18n`], [`theme`], [`ids`].

pub mod attachments;
pub mod conversation;
pub mod embed;
pub mod i18n;
pub mod ids;
pub mod machine;
pub mod settings;
pub mod speech;
pub mod theme;
pub mod time;
