//! `POST /pause`, `POST /resume`: the operator's switch. While paused,
//! nothing is sent to n8n; a message gets the error `paused` and the page
//! keeps it until the resume, which every open page hears at once (a
//! `status` frame). Shared by every relay of the store (see
//! `store::pause`). `GET /pause` says whether the chat is paused.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pause", post(pause).get(current))
        .route("/resume", post(resume))
}

async fn pause(State(state): State<AppState>) -> Response {
    switch(&state, true).await
}

async fn resume(State(state): State<AppState>) -> Response {
    switch(&state, false).await
}

async fn current(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "paused": state.chat().is_paused() }))
}

async fn switch(state: &AppState, paused: bool) -> Response {
    match state.pause().set(paused).await {
        Ok(()) => Json(json!({ "paused": paused })).into_response(),
        Err(e) => {
            tracing::warn!("the pause could not be switched: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "the shared store is unreachable; nothing changed" })),
            )
                .into_response()
        }
    }
}
