//! Why the relay could not start, or stopped with an error.

/// Why the relay could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Building the HTTP client for n8n failed.
    #[error("cannot set up the webhook client: {0}")]
    WebhookClient(#[from] reqwest::Error),
    /// `--page-config` could not be read.
    #[error("page config: {0}")]
    PageConfig(String),
    /// `--redis-url` could not be used.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// `--static-dir` is too large to serve from memory.
    #[error("{0}")]
    Page(#[from] crate::page::assets::TooLarge),
    /// `--admin-listen` off loopback without `--admin-token`.
    #[error("{0}")]
    Admin(String),
    /// The identity flags could not be used (e.g. an unreadable
    /// `--identity-secret-file`).
    #[error("identity: {0}")]
    Identity(String),
    /// The listener failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// The session store flags cannot be used (see `--store`).
    #[error("{0}")]
    Store(String),
}
