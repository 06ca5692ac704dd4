//! The page's only contact with web APIs, each behind a small Rust surface.
//!
//! - [`socket`]: the one WebSocket (gloo-net).
//! - [`timer`]: one gloo-timers timeout for the machine's next deadline.
//! - [`storage`]: `localStorage` (session, conversation, choices).
//! - [`remote_config`]: fetching `/config.json`.
//! - [`intl`]: plurals, numbers and dates from the browser's `Intl`.
//! - [`sign_in`]: who is signed in (`/auth/me`) and signing out.
//! - [`page`]: the page's URL, language and performance marks.
//! - [`files`]: picked, dropped or pasted files and their thumbnails.
//! - [`upload`]: sending a file to the relay, with progress.
//! - [`host_page`]: `postMessage` with the page embedding the chat.
//! - [`proof`]: solving a proof-of-work challenge with SubtleCrypto.
//! - [`sound`]: the optional unread tone.
//! - [`rich_text`]: a formatted bot text (the relay's tree) as DOM nodes.
//! - [`download`]: a text handed to the visitor as a file (export).
//! - [`clipboard`], [`debug_handle`] (`window.chatInstance`).

pub mod clipboard;
pub mod debug_handle;
pub mod download;
pub mod files;
pub mod host_page;
pub mod intl;
pub mod page;
pub mod proof;
pub mod remote_config;
pub mod rich_text;
pub mod sign_in;
pub mod socket;
pub mod sound;
pub mod storage;
pub mod timer;
pub mod upload;
pub mod voice;
