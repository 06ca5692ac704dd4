//! Log set-up: `tracing` with `RUST_LOG` (default `info`).
//!
//! Message bodies are never logged at info level; the webhook URL is logged
//! redacted and sessions by a short hash (see [`crate::redact`]).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (later calls
/// are no-ops), which tests rely on.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
