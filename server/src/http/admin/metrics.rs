//! `GET /metrics`: the relay's Prometheus metrics. The levels (connections,
//! sessions, queue depths and bounds, store health) are read here, at the
//! scrape, so they cost nothing between scrapes.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::metrics::{Levels, CONTENT_TYPE};
use crate::AppState;

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    let metrics = state.metrics();
    metrics.set_levels(&levels(&state));
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.encode())
}

/// What the relay holds now, and the bounds its flags set.
fn levels(state: &AppState) -> Levels {
    let config = state.config();
    let stats = state.store().stats();
    let health = state.store().health();
    let connections = state.limits().open();
    let mut queues = vec![
        (
            "connections",
            connections as u64,
            config.limits.max_connections as u64,
        ),
        (
            "sessions",
            stats.sessions as u64,
            config.retention.max_sessions as u64,
        ),
        (
            "retained_bytes",
            stats.retained_bytes as u64,
            config.retention.max_retained_bytes as u64,
        ),
    ];
    if let Some((free, waiting)) = state.responder().webhook_load() {
        let slots = config.n8n.max_concurrent_webhooks.max(1);
        queues.push((
            "webhook_requests",
            slots.saturating_sub(free) as u64,
            slots as u64,
        ));
        queues.push((
            "webhook_waiting",
            waiting as u64,
            config.n8n.max_queued_webhooks as u64,
        ));
    }
    if let Some(pending) = health.pending {
        queues.push((
            "redis_pending_bytes",
            pending.bytes as u64,
            config.cluster.redis_max_pending_bytes as u64,
        ));
    }
    if let Some(uploads) = state.uploads() {
        let (files, bytes) = uploads.store().usage();
        let bounds = uploads.store().bounds();
        queues.push(("upload_bytes", bytes, bounds.max_total));
        queues.push(("upload_files", files as u64, bounds.max_files as u64));
    }
    Levels {
        connections,
        sessions: stats.sessions,
        in_flight: stats.in_flight,
        queues,
        store_kind: health.kind,
        store_ok: health.ok,
        paused: state.chat().is_paused(),
    }
}
