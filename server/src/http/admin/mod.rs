//! The operator's listener (`--admin-listen`): its own router on its own
//! port, never the public one, served by the same accept loop with its own
//! small bounds, and stopped with the relay.
//!
//! - `GET /metrics` ([`metrics`]): Prometheus.
//! - `POST /pause`, `POST /resume`, `GET /pause` ([`pause`]).
//! - `GET /usage` ([`usage`]): today's counts.
//!
//! Every route is behind [`auth`] (`--admin-token`, required off loopback),
//! and no web page may change anything ([`origin`]).
//! A new route is one file here with a `routes()` like the others, merged
//! in [`router`].

pub mod auth;
pub mod metrics;
pub mod origin;
pub mod pause;
pub mod usage;

use axum::Router;

use crate::AppState;

/// Open connections the operator's listener takes (Prometheus and an
/// operator's script need a few; the bound keeps a flood from costing
/// more than that).
pub const MAX_CONNECTIONS: usize = 16;

/// The operator's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(metrics::routes())
        .merge(pause::routes())
        .merge(usage::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        // Outermost: a browser's request is refused before anything else.
        .layer(axum::middleware::from_fn(origin::refuse_web_pages))
        .with_state(state)
}
