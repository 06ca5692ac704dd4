//! The proof of work a relay may ask of a new session (`challenge` frame).
//! The rule (what is hashed, how many zero bits solve it) is the relay's
//! too, so it lives in [`shared::proof`]; the hashing is the browser's
//! (`browser::proof`). What is the page's alone is how long it searches.

pub use shared::proof::{input, solves};

/// Nonces to try before giving up (about 2^32: far past any difficulty a
/// relay asks of a browser).
pub const MAX_TRIES: u64 = 1 << 32;
