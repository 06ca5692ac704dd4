//! The relay between the chat page and n8n.
//!
//! One port serves everything: the WebSocket (on `/ws` and `/`), the built
//! page, `/config.json` and `/healthz`. Each chat message that arrives on a
//! WebSocket is forwarded to the n8n webhook over HTTP and the answer is sent
//! back on the same socket.
//!
//! The map, in the order a message travels — imports point one way, from
//! the edge (`http`, `ws`) to the core (`chat`, `store`, `responder`) and
//! the leaves below it (the layers are checked by `tests/architecture.rs`):
//! - [`config`]: the flags, in groups (`relay --help`), each converted once
//!   into the small settings type of the part that uses it: only the edge
//!   and the wiring see a flag struct.
//! - [`http`]: the accept loop (HTTP/1 with a header-read timeout) and the
//!   routes — the WebSocket upgrade, the page with its security headers,
//!   `/config.json`, `/healthz`, the push endpoint.
//! - [`admission`]: who may connect — origin policy, open HTTP connections
//!   and WebSocket connections per IP and in total, the per-connection
//!   message rate.
//! - [`ws`]: one WebSocket's life — the `select!` loop, decoding frames,
//!   writing with bounds, heartbeat and idle deadline, close codes.
//! - [`chat`]: a message's lifecycle — dedup decision, asking the
//!   responder, settling the outcome (and its transcript lines); history
//!   on resume (the relay's transcript, or n8n's memory); takeover of a
//!   message whose relay crashed.
//! - [`store`]: sessions, dedup, retained answers, transcripts and
//!   routing — in memory, in SQLite, or shared through Redis.
//! - [`responder`]: what answers a message — n8n (the HTTP client and the
//!   readers of its answers and streams) or the built-in echo.
//! - [`page`]: the built page in memory — compressed, cached, from
//!   `--static-dir` or built into the binary.
//! - [`uploads`]: files attached to messages — the bounded store on disk
//!   and the checks of what a file is; [`attachment`]: the record of one,
//!   which the responder sends.
//! - [`state`]: what the routes and connections share.
//! - [`markdown`]: bot texts parsed into the protocol's typed tree, once,
//!   here rather than in every visitor's page.
//! - [`identity`]: verified identity — the host's signed tokens checked
//!   (HS256 secret or a JWKS), the user n8n receives; sign-in with OpenID
//!   Connect for the page on its own (`identity::oidc`, routes in
//!   `http::auth`).
//! - [`highlight`]: the syntax highlighting of answers' code blocks.
//! - [`images`]: which images in answers are shown, and their signed
//!   addresses on the relay.
//! - [`frame`]: an encoded server frame, as the store keeps it and
//!   connections send it; [`outbox`]: a connection's bounded queue of them.
//! - [`shutdown`], [`redact`] (what logs may show), [`logging`], [`error`],
//!   [`clock`] (the wall clock other machines read), [`secret`] (how a
//!   token a request brings is compared).

pub mod admission;
pub mod attachment;
pub mod chat;
pub mod clock;
pub mod config;
pub mod error;
pub mod frame;
pub mod highlight;
pub mod http;
pub mod identity;
pub mod images;
pub mod log_throttle;
pub mod logging;
pub mod markdown;
pub mod metrics;
pub mod outbox;
pub mod page;
pub mod redact;
pub mod responder;
pub mod secret;
pub mod shutdown;
pub mod state;
pub mod store;
#[cfg(test)]
mod test_ids;
pub mod uploads;
pub mod ws;

use std::future::Future;

pub use config::Config;
pub use error::RelayError;
pub use state::AppState;

/// Serves the relay on `listener` until `shutdown` completes, then drains:
/// stops accepting, waits (at most `--shutdown-grace`) for answers still
/// coming from n8n and delivers them, then closes every WebSocket with 1001
/// ("going away") so pages reconnect at once.
pub async fn run(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    run_with_admin(listener, None, config, shutdown).await
}

/// [`run`], with the operator's listener (`--admin-listen`, bound by the
/// caller) on `admin` when given: its own router on its own port, stopped
/// with the relay. Refuses to start if `admin` is not loopback and no
/// `--admin-token` is set.
pub async fn run_with_admin(
    listener: tokio::net::TcpListener,
    admin: Option<tokio::net::TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RelayError> {
    if let Some(admin) = &admin {
        config
            .admin
            .check(admin.local_addr()?)
            .map_err(RelayError::Admin)?;
    }
    let state = AppState::new(config)?;
    let addr = listener.local_addr()?;
    state.log_startup(addr);
    // One shutdown for both listeners.
    let stopping = tokio_util::sync::CancellationToken::new();
    let stop = stopping.clone();
    tokio::spawn(async move {
        shutdown.await;
        stop.cancel();
    });
    let admin =
        admin.map(|admin| tokio::spawn(serve_admin(admin, state.clone(), stopping.clone())));
    let days = tokio::spawn(metrics::roll_daily(state.metrics().clone()));

    let sweeper = tokio::spawn(store::maintain_periodically(
        state.store().clone(),
        state.config().retention.retain_for,
    ));
    let clock = tokio::spawn(ws::heartbeat::run_clock(
        state.heartbeat().clone(),
        state.config().serve.heartbeat_interval,
    ));
    let sweeping = state.clone();
    let sweep_uploads = tokio::spawn(async move {
        if let Some(uploads) = sweeping.uploads() {
            let store = sweeping.store();
            let retain_for = sweeping.config().retention.retain_for;
            uploads::sweep_periodically(
                uploads,
                |s| shared::SessionId::parse(s).is_some_and(|s| store.is_connected(&s)),
                retain_for,
            )
            .await;
        }
    });
    let quotas = state
        .quotas()
        .is_on()
        .then(|| tokio::spawn(chat::quotas::sweep_periodically(state.quotas().clone())));
    let router = http::app(state.clone());
    let limits = &state.config().limits;
    let edge = http::serve::Edge {
        header_timeout: limits.http_header_timeout,
        progress_timeout: limits.http_idle_progress_timeout,
        shutdown_grace: state.config().serve.shutdown_grace,
        connections: admission::http_connections::HttpConnections::new(
            limits.max_http_connections,
            limits.max_http_connections_per_ip,
            state.config().serve.trusted_proxies.clone(),
        ),
    };
    let drain_state = state.clone();
    http::serve::serve(listener, router, edge, async move {
        stopping.cancelled().await;
        drain_state.begin_drain();
    })
    .await;
    if let Some(admin) = admin {
        let _ = admin.await;
    }

    state.drain().await;
    sweeper.abort();
    clock.abort();
    sweep_uploads.abort();
    days.abort();
    if let Some(quotas) = quotas {
        quotas.abort();
    }
    tracing::info!("relay stopped");
    Ok(())
}

/// Serves the operator's router on `listener` until `stopping`, under the
/// public edge's timeouts and its own small connection bound.
async fn serve_admin(
    listener: tokio::net::TcpListener,
    state: AppState,
    stopping: tokio_util::sync::CancellationToken,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!("operator's listener on http://{addr} (/metrics, /pause, /resume, /usage)");
    }
    let limits = &state.config().limits;
    let edge = http::serve::Edge {
        header_timeout: limits.http_header_timeout,
        progress_timeout: limits.http_idle_progress_timeout,
        shutdown_grace: state.config().serve.shutdown_grace,
        connections: admission::http_connections::HttpConnections::new(
            http::admin::MAX_CONNECTIONS,
            http::admin::MAX_CONNECTIONS,
            Vec::new(),
        ),
    };
    let router = http::admin::router(state);
    http::serve::serve(listener, router, edge, stopping.cancelled_owned()).await;
}
