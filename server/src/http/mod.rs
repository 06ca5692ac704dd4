//! The HTTP edge: one router for everything on the relay's port.
//!
//! - `/ws` (and `/`, which the old page used) upgrades to the chat
//!   WebSocket ([`upgrade`]).
//! - `/healthz` ([`health`]), `/config.json` ([`page_config`]),
//!   `POST /api/sessions/{id}/messages` ([`push`]), `POST /api/uploads`
//!   ([`uploads`], asked for across origins with [`upload_cors`]).
//! - `/auth/login`, `/auth/callback`, `/auth/logout`, `/auth/me`: sign-in
//!   with OpenID Connect ([`auth`]).
//! - everything else: the built page ([`page_files`]: compressed, cached,
//!   `index.html` for the page's own routes).
//!
//! Every response carries the page's security headers
//! ([`crate::page::security_headers`]). [`serve`] accepts the connections: HTTP/1 with
//! a header-read timeout and bounds on open connections.

pub mod admin;
pub mod auth;
pub mod client_address;
pub mod health;
pub mod images;
pub mod page_config;
pub mod page_files;
pub mod push;
pub mod serve;
pub mod upgrade;
pub mod upload_cors;
pub mod uploads;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Request};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

/// The relay's router. The old page connected to `ws://host:3000` (no path),
/// so `/` upgrades too; a plain GET of `/` gets the page.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws_only))
        .route("/", get(root))
        .route("/healthz", get(health::healthz))
        .route("/config.json", get(page_config::config_json))
        // Sign-in with OpenID Connect (404 without --oidc-issuer).
        .route("/auth/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        // Reads its body itself, after the token, with a deadline.
        .route("/api/sessions/{session}/messages", post(push::push))
        // Bounded by the upload store itself, while the body streams in.
        .route(
            "/api/uploads",
            post(uploads::upload).options(upload_cors::preflight).layer(
                axum::middleware::from_fn_with_state(state.clone(), upload_cors::allow_origin),
            ),
        )
        // Images in answers, fetched by the relay (--image-host).
        .route("/api/image/{token}", get(images::image))
        .fallback(page_files::page_file)
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            with_security_headers,
        ))
        .with_state(state)
}

/// Every response gets the security headers.
async fn with_security_headers(State(state): State<AppState>, mut response: Response) -> Response {
    state.security().apply(response.headers_mut());
    response
}

async fn ws_only(State(state): State<AppState>, request: Request<Body>) -> Response {
    upgrade::upgrade(state, request).await
}

async fn root(State(state): State<AppState>, request: Request<Body>) -> Response {
    if is_websocket_upgrade(request.headers()) {
        return upgrade::upgrade(state, request).await;
    }
    page_files::serve(&state, request.method(), "/", request.headers())
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}
