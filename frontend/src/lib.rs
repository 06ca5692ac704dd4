//! The chat page.
//!
//! Four layers, imports pointing down only (`model` imports nothing of
//! the page; `browser` only `model`; `controller` both; `ui` any):
//! - [`model`]: plain Rust, tested natively with `cargo test` — the
//!   connection state machine (events in, commands and its next deadline
//!   out), the conversation and its outbox, settings, i18n,
//!   theme, ids. No web APIs.
//! - [`browser`]: the only code that touches web APIs — the WebSocket
//!   (gloo-net), the one timer for the machine's next deadline
//!   (gloo-timers), `localStorage`, the clipboard, `/config.json`, the page's
//!   URL, the `window.chatInstance` debug handle.
//! - [`controller`]: runs the machine on the socket and the timer, feeds
//!   frames to the conversation, and publishes state as signals.
//! - [`ui`]: thin Leptos components rendering those signals.

pub mod browser;
pub mod controller;
pub mod model;
pub mod ui;
