//! The relay between the chat page and n8n.
//!
//! One port serves everything: the WebSocket (on `/ws` and `/`), the built
//! page (`dist/`), and `/healthz`. Each chat message that arrives on a
//! WebSocket is forwarded to the n8n webhook over HTTP and the answer is sent
//! back on the same socket.
//!
//! The map:
//! - [`config`]: the flags (`relay --help`).
//! - [`app`]: the HTTP routes; [`run`] serves them until shutdown.
//! - [`connection`]: one WebSocket's life: frames in, frames out, heartbeat,
//!   idle close, size limits.
//! - [`heartbeat`]: the relay's one heartbeat clock, and a connection's idle
//!   deadline.
//! - [`store`]: the session-store interface — [`sessions`] in memory (the
//!   default), or [`redis_store`] shared by several relays (`--redis-url`).
//! - [`sessions`]: who is connected to which conversation; message-id dedup;
//!   answers kept for sessions that are briefly away.
//! - [`redis_store`]: the same, shared through Redis: cluster-wide dedup,
//!   answers routed to the relay holding the connection.
//! - [`takeover`]: running a message whose relay crashed mid-answer.
//! - [`responder`]: what answers a message — [`webhook`] (n8n) or [`echo`].
//! - [`n8n_answer`]: reading an answer out of n8n's (complete) response.
//! - [`n8n_stream`]: reading n8n's streamed (NDJSON) answers as they arrive.
//! - [`origin`]: which browser origins may connect.
//! - [`security_headers`]: the page's CSP, `nosniff`, `no-referrer`.
//! - [`limits`]: connections in total and per client IP.
//! - [`rate`]: the per-connection message rate (token bucket).
//! - [`health`]: the `/healthz` report.
//! - [`page_config`]: `/config.json`, the page's deployment settings.
//! - [`push`]: `POST /api/sessions/{id}/messages`, a workflow pushing a
//!   message to a chat.
//! - [`shutdown`]: the signal that starts a graceful drain.
//! - [`redact`]: what logs may show of URLs and sessions.

pub mod app;
pub mod config;
pub mod connection;
pub mod echo;
pub mod health;
pub mod heartbeat;
pub mod limits;
pub mod logging;
pub mod n8n_answer;
pub mod n8n_stream;
pub mod origin;
pub mod page_config;
pub mod push;
pub mod rate;
pub mod redact;
pub mod redis_store;
pub mod responder;
pub mod security_headers;
pub mod sessions;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod takeover;
pub mod webhook;

use std::future::Future;

pub use config::Config;
pub use state::AppState;

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
    /// The listener failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the relay on `listener` until `shutdown` completes, then drains:
/// stops accepting, waits (at most `--shutdown-grace`) for answers still
/// coming from n8n and delivers them, then closes every WebSocket with 1001
/// ("going away") so pages reconnect at once.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    let state = AppState::new(config)?;
    let addr = listener.local_addr()?;
    state.log_startup(addr);

    let sweeper = tokio::spawn(sessions::maintain_periodically(
        state.store.clone(),
        state.config.retain_for,
    ));
    let clock = tokio::spawn(heartbeat::run_clock(
        state.heartbeat.clone(),
        state.config.heartbeat_interval,
    ));
    let router = app::app(state.clone());
    let drain_state = state.clone();
    // Chat frames are small and latency-bound: no Nagle delay.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        drain_state.begin_drain();
    })
    .await?;

    state.drain().await;
    sweeper.abort();
    clock.abort();
    tracing::info!("relay stopped");
    Ok(())
}
