//! The chat page.
//!
//! The logic is plain Rust, tested natively with `cargo test`:
//! - [`connection::machine`]: the connection state machine — events in
//!   (socket opened/closed, frames, clock ticks, retry clicks), commands out
//!   (open, close, ping, flush the outbox). Time is an input, so every
//!   transition is tested without waiting.
//! - [`conversation`]: the messages and the outbox (what still awaits an
//!   answer, in order, resent after every reconnect).
//! - [`settings`]: intervals and the relay URL, with test-only overrides
//!   from the query string.
//! - [`i18n`]: German and English strings.
//! - [`markdown`]: bot answers rendered as markdown, to HTML that is safe
//!   for `innerHTML` (raw HTML escaped, only http/https/mailto links).
//!
//! - [`theme`]: light, dark or the system's.
//!
//! The browser glue is thin: [`connection::socket`] (the one WebSocket),
//! [`remote_config`] (`/config.json`), [`clipboard`],
//! [`storage`] (localStorage), [`debug_handle`] (`window.chatInstance`) and
//! [`chat`] (the controller that runs the machine on the socket) and
//! [`app`] (the Leptos components).

pub mod app;
pub mod chat;
pub mod clipboard;
pub mod connection;
pub mod conversation;
pub mod debug_handle;
pub mod i18n;
pub mod ids;
pub mod markdown;
pub mod remote_config;
pub mod settings;
pub mod storage;
pub mod theme;
