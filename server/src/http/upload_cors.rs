//! Cross-origin uploads. When the page's `relayUrl` names a relay on
//! another origin, the browser asks first (a CORS preflight) before it
//! posts a file there — a `Content-Type` of an image and an `X-File-Name`
//! header are not "simple". Only origins the relay admits to its WebSocket
//! get a yes; every other site's page is refused, as on the socket.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// How long a browser may remember a yes, seconds.
const MAX_AGE: &str = "600";

/// The `Origin` of a request, when the relay admits it.
fn admitted(state: &AppState, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    state
        .origins()
        .allows(Some(origin.to_str().ok()?))
        .then(|| origin.clone())
}

/// `OPTIONS /api/uploads`: the preflight.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(origin) = admitted(&state, &headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-file-name, x-chat-session"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

/// The upload's answer readable by an admitted page on another origin.
pub async fn allow_origin(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let origin = admitted(&state, request.headers());
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}
