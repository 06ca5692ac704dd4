//! The HTTP routes: the WebSocket on `/ws` and `/`, `/healthz`,
//! `/config.json`, and the
//! built page for everything else.

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::DefaultBodyLimit;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::connection::{self, Peer};
use crate::{health, page_config, push, AppState};

/// Read buffer per WebSocket connection (see [`upgrade`]).
const WS_READ_BUFFER: usize = 4096;
/// Write buffer target per WebSocket connection (see [`upgrade`]).
const WS_WRITE_BUFFER: usize = 4096;

/// The relay's router. The old page connected to `ws://host:3000` (no path),
/// so `/` upgrades too; a plain GET of `/` gets the page.
pub fn app(state: AppState) -> Router {
    let pages = pages(&state.config.static_dir);
    Router::new()
        .route("/ws", get(ws_only))
        .route("/", get(root))
        .route("/healthz", get(health::healthz))
        .route("/config.json", get(page_config::config_json))
        .route(
            "/api/sessions/{session}/messages",
            post(push::push).layer(DefaultBodyLimit::max(
                state.config.max_message_bytes.saturating_add(1),
            )),
        )
        .fallback_service(pages)
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// Every response gets the security headers (see [`crate::security_headers`]).
async fn security_headers(State(state): State<AppState>, mut response: Response) -> Response {
    state.security.apply(response.headers_mut());
    response
}

async fn ws_only(State(state): State<AppState>, request: Request<Body>) -> Response {
    upgrade(state, request).await
}

async fn root(State(state): State<AppState>, request: Request<Body>) -> Response {
    if is_websocket_upgrade(request.headers()) {
        return upgrade(state, request).await;
    }
    match pages(&state.config.static_dir).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(e) => match e {},
    }
}

/// The built page: files from `dir`, `index.html` for every other path.
fn pages(dir: &std::path::Path) -> ServeDir<ServeFile> {
    ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Checks the origin, then upgrades and hands the socket to
/// [`connection::serve`].
async fn upgrade(state: AppState, request: Request<Body>) -> Response {
    let (mut parts, _body) = request.into_parts();
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !state.origins.allows(origin) {
        let origin = origin.unwrap_or_default();
        tracing::warn!(
            origin = ?origin,
            host = ?host,
            "WebSocket refused: origin not allowed; {}",
            state.origins.refusal_hint(origin, host)
        );
        return (
            StatusCode::FORBIDDEN,
            "this origin may not open a WebSocket to the relay (see --public-url and --allowed-origin)",
        )
            .into_response();
    }
    if state.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the relay is shutting down",
        )
            .into_response();
    }
    let addr = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client_ip = state.limits.client_ip(addr, forwarded);
    let admission = match state.limits.admit(client_ip) {
        Ok(admission) => admission,
        Err(refusal) => {
            tracing::warn!(ip = ?client_ip, "connection refused: {}", refusal.reason());
            return (refusal.status(), refusal.reason()).into_response();
        }
    };
    let peer = Peer::from_query(parts.uri.query(), addr);
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Frames up to 4× the limit are read so the client gets a `too_large`
    // error naming its message; anything larger closes the socket (1009).
    let hard_limit = state.config.max_message_bytes.saturating_mul(4).max(4096);
    let tracker = state.conns.clone();
    ws.max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        // tungstenite allocates its read buffer eagerly (128 KiB by default):
        // with thousands of mostly idle chat connections that would be most
        // of the relay's memory. Chat frames are small; 4 KiB is plenty, and
        // larger frames still arrive (the buffer is only the read chunk).
        .read_buffer_size(WS_READ_BUFFER)
        // Frames are flushed as they are sent; the buffer only batches the
        // pieces of one frame. tungstenite requires the cap to exceed it.
        .write_buffer_size(WS_WRITE_BUFFER)
        .max_write_buffer_size(WS_WRITE_BUFFER + hard_limit.saturating_mul(2))
        .on_failed_upgrade(|e| tracing::debug!("WebSocket upgrade failed: {e}"))
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                connection::serve(socket, state, peer).await;
                // The connection's place is free again.
                drop(admission);
            })
        })
}
