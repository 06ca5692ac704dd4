//! `GET /config.json`: the page's deployment settings, built once at start
//! ([`crate::config::PageFlags::page_config`]), so one built page serves
//! many deployments.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// The handler. `no-cache`: a changed deployment shows on the next load.
pub async fn config_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.page_config().to_owned(),
    )
}
