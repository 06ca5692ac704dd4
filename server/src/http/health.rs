//! `GET /healthz`: is the relay up, how busy is it, where do answers come from.
//!
//! Public (a load balancer asks it), so it holds states and counts only:
//! why the shared store is unreachable — error texts naming hosts, ports
//! and causes — goes to the log, once when it changes.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::AppState;

/// The body of `/healthz`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `"ok"`, `"degraded"` (the shared store is unreachable: the relay
    /// works alone), or `"draining"` during shutdown.
    pub status: &'static str,
    /// Open WebSocket connections.
    pub connections: usize,
    /// Sessions remembered (connected or retained).
    pub sessions: usize,
    /// Messages being answered right now.
    pub in_flight: usize,
    /// Messages in flight on another relay that this relay watches, to
    /// take them over if that relay crashed (shared store only).
    pub watching: usize,
    /// `"n8n"` or `"echo"`.
    pub webhook: &'static str,
    /// Where sessions live, and whether that works (`status` is
    /// `"degraded"` while the shared store is unreachable).
    pub store: crate::store::StoreHealth,
    /// Uploads waiting for their messages (when uploads are on).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<UploadUsage>,
    /// Ratings not passed on because too many were on their way (when
    /// `--feedback-url` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback_dropped: Option<u64>,
    /// The relay's version.
    pub version: &'static str,
}

/// The upload store's part of `/healthz`.
#[derive(Debug, Serialize)]
pub struct UploadUsage {
    /// Files stored.
    pub files: usize,
    /// Bytes stored or being uploaded.
    pub bytes: u64,
}

/// The handler.
pub async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let stats = state.store().stats();
    let store = state.store().health();
    Json(Health {
        status: if state.is_draining() {
            "draining"
        } else if !store.ok {
            "degraded"
        } else {
            "ok"
        },
        connections: state.limits().open(),
        sessions: stats.sessions,
        in_flight: stats.in_flight,
        watching: state.chat().watchers().count(),
        webhook: state.responder().mode(),
        store,
        uploads: state.uploads().map(|u| {
            let (files, bytes) = u.store().usage();
            UploadUsage { files, bytes }
        }),
        feedback_dropped: state.chat().feedback().map(|f| f.dropped()),
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[cfg(test)]
mod tests {
    use crate::store::StoreHealth;

    #[test]
    fn the_store_error_text_is_never_served() {
        let store = StoreHealth {
            kind: "redis",
            ok: false,
            error: Some("commands: Connection refused (os error 111) for 10.0.0.5:6379".into()),
            pending: None,
        };
        let json = serde_json::to_string(&store).expect("serializes");
        assert_eq!(json, r#"{"kind":"redis","ok":false}"#);
    }
}
