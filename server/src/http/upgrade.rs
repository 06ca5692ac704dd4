//! The WebSocket upgrade: origin check, drain check, admission (limits
//! per IP and in total, new sessions per IP), then the socket goes to
//! [`ws::serve`].

use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::ws::{self, Peer};
use crate::AppState;

/// Read buffer per WebSocket connection (see [`upgrade`]).
const WS_READ_BUFFER: usize = 2048;
/// Write buffer target per WebSocket connection (see [`upgrade`]).
const WS_WRITE_BUFFER: usize = 4096;

/// Checks the origin and the admission limits, then upgrades and hands the
/// socket to [`ws::serve`].
pub async fn upgrade(state: AppState, request: Request<Body>) -> Response {
    let (mut parts, _body) = request.into_parts();
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !state.origins().allows(origin) {
        let origin = origin.unwrap_or_default();
        tracing::warn!(
            origin = ?origin,
            host = ?host,
            "WebSocket refused: origin not allowed; {}",
            state.origins().refusal_hint(origin, host)
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
    let client_ip = state.limits().client_ip(addr, &parts.headers);
    let admission = match state.limits().admit(client_ip) {
        Ok(admission) => admission,
        Err(refusal) => {
            tracing::warn!(ip = ?client_ip, "connection refused: {}", refusal.reason());
            return (refusal.status(), refusal.reason()).into_response();
        }
    };
    let mut peer = Peer::from_query(parts.uri.query(), addr);
    peer.client_ip = client_ip;
    peer.signed_in = super::auth::signed_in(&state, &parts.headers).await;
    // Sign-in is the only way to be identified here: refused before the
    // upgrade (with the verifier on, the `hello` may still bring a token).
    if peer.signed_in.is_none() && state.config().oidc.require_login && state.identity().is_none() {
        return (
            StatusCode::UNAUTHORIZED,
            "sign-in required: open /auth/login (--require-login)",
        )
            .into_response();
    }
    // The deprecated `?session=` form (or none): the session is known now,
    // so a new one is refused before the upgrade. With `?hello` it comes in
    // the first frame and is checked then (see `ws::serve`).
    if !peer.awaits_hello && !ws::connection::admit_session(&state, &peer).await {
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            crate::admission::new_sessions::REFUSED,
        )
            .into_response();
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Frames up to 4× the limit are read so the client gets a `too_large`
    // error naming its message; anything larger closes the socket (1009).
    let hard_limit = state
        .config()
        .limits
        .max_message_bytes
        .saturating_mul(4)
        .max(4096);
    ws.max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        // tungstenite allocates its read buffer eagerly (128 KiB by default):
        // with thousands of mostly idle chat connections that would be most
        // of the relay's memory. Chat frames are small; 2 KiB holds a typical
        // message in one read, and larger frames still arrive (the buffer
        // grows for a frame that needs it; this is only its starting size).
        // It was the largest allocation per idle connection (massif).
        .read_buffer_size(WS_READ_BUFFER)
        // Frames are flushed as they are sent; the buffer only batches the
        // pieces of one frame.
        .write_buffer_size(WS_WRITE_BUFFER)
        // No cap of tungstenite's on top: it refuses (and the connection
        // drops, without a close frame) any one frame larger than the cap,
        // and the relay's frames are bounded where they are made — an
        // answer by `--max-answer-bytes`, JSON-escaped and with its
        // formatted tree beside it; a history by its source's bound — at
        // sizes no fixed multiple of `--max-message-bytes` covers. The
        // buffer never holds more than the frame being written: each send
        // (`ws::outgoing`) waits for its flush, within `--idle-timeout`,
        // before the connection takes the next frame from its bounded
        // queue, and a write that does not finish in time ends it.
        .max_write_buffer_size(usize::MAX)
        .on_failed_upgrade(|e| tracing::debug!("WebSocket upgrade failed: {e}"))
        .on_upgrade(move |socket| {
            let tracked = state.clone();
            // `map`, not an `async` block around `serve(…).await`: the block
            // would keep room for the socket and for `serve`'s whole state
            // twice over (captured, then moved to be awaited) — 4.8 KB
            // instead of 2.2 KB per connection, on every idle connection
            // the relay holds.
            let connection = ws::serve(socket, state, peer);
            // When it ends, the connection's place is free again.
            tracked.track_connection(connection.map(move |()| drop(admission)))
        })
}
