//! Web pages may not change anything on the operator's listener.
//!
//! On loopback the listener needs no token, so a page open in a browser on
//! the same host — any site, or one that rebinds its name to 127.0.0.1 —
//! could `POST /pause` to it: the browser sends the request even though
//! the page cannot read the answer. Every browser sends an `Origin` with
//! such a request (cross-site or not); curl, scripts and Prometheus send
//! none. So a request that would change state and carries an `Origin` is
//! refused, token or not (with a token a browser could not send it anyway
//! without CORS, which this listener never answers). Reads (`GET`) stay
//! open: a page cannot read a cross-site answer, and they change nothing.

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses a state-changing request that comes from a web page.
pub async fn refuse_web_pages(request: Request, next: Next) -> Response {
    if !request.method().is_safe() && request.headers().contains_key(header::ORIGIN) {
        return (
            StatusCode::FORBIDDEN,
            "refused: this request came from a web page (it has an Origin header); \
             the operator's routes are for curl and scripts\n",
        )
            .into_response();
    }
    next.run(request).await
}
