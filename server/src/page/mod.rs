//! The built page as the relay serves it: every file of trunk's `dist/`
//! in memory, with brotli and gzip forms, its type, how long browsers may
//! keep it and a validator — from `--static-dir`, or built into the
//! binary (`--features embed-page`, what `cargo xtask build` does), so the
//! `relay` binary alone is the app.
//!
//! - [`assets`]: the files and where they came from.
//! - [`catalogues`]: the texts per language, overridden and hashed.
//! - [`compress`]: brotli and gzip (also used by `build.rs` at build time).
//! - [`negotiate`]: which form a browser gets (`Accept-Encoding`).
//! - [`preload`]: what `index.html` asks the browser to fetch early.
//! - [`embedded`]: the page built into the binary.
//! - [`security_headers`]: the CSP made from the page (its inline script's
//!   hash) and the other headers every response carries.

pub mod assets;
pub mod catalogues;
/// Brotli and gzip, shared with `build.rs`.
pub mod compress;
pub mod embedded;
pub mod negotiate;
pub mod preload;
pub mod security_headers;

pub use assets::{Asset, PageAssets};
