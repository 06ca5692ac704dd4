//! What the page knows and decides, without a browser: every rule here is a
//! native unit test.
//!
//! - [`machine`]: the connection state machine.
//! - [`conversation`]: the messages and the outbox.
//! - [`conversations`]: the visitor's list of conversations, and export;
//!   [`relay_list`]: a signed-in user's list merged with the relay's.
//! - [`answers`]: regenerate (several answers to one text), and progress.
//! - [`attachments`]: files attached to messages, and the relay's rules.
//! - [`settings`]: where the relay is, which session to adopt, timings.
//! - [`time`]: when a message was, as people say it.
//! - [`proof`]: a relay's proof-of-work challenge — its rule, and when to
//!   try again or give up; [`quota_wake`]: when a refused message goes again.
//! - [`embed`]: the page inside another site — its options and commands.
//! - [`progress`]: what the workflow is doing for a message (its steps).
//! - [`i18n`]: the languages and the texts' keys; [`catalogue`]: texts as data.
//! - [`theme`], [`ids`].

pub mod answers;
pub mod attachments;
pub mod catalogue;
pub mod conversation;
pub mod conversations;
pub mod embed;
pub mod i18n;
pub mod ids;
pub mod machine;
pub mod progress;
pub mod proof;
pub mod quota_wake;
pub mod relay_list;
pub mod settings;
pub mod speech;
pub mod theme;
pub mod time;
