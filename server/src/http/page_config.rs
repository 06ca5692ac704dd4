//! `GET /config.json`: the page's deployment settings, built once at start
//! ([`crate::config::PageFlags::page_config`]), so one built page serves
//! many deployments.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The handler. `no-cache` with an `ETag`: a changed deployment shows on
/// the next load, an unchanged one costs a `304`.
pub async fn config_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (body, etag) = (state.page_config(), state.page_config_etag());
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| {
            given
                .split(',')
                .any(|t| t.trim() == etag || t.trim() == "*")
        });
    let cache = [
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::ETAG, etag.to_owned()),
    ];
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_owned(),
    )
        .into_response()
}
