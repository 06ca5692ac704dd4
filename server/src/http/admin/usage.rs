//! `GET /usage`: today's counts (UTC), as JSON: messages by outcome, since
//! midnight or since this relay started, whichever is later. Counts are
//! this relay's (each relay of several answers for itself).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::metrics::usage::{date, utc_day};
use crate::AppState;

/// The route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/usage", get(usage))
}

async fn usage(State(state): State<AppState>) -> Json<serde_json::Value> {
    let day = utc_day();
    let messages = state.metrics().today(day);
    // The quotas' own counts: the budget's use is the whole chat's (shared
    // through Redis), the refusals this relay's since it started.
    let budget = state.quotas().budget_usage().await;
    Json(json!({
        "day": date(day),
        "messages": messages,
        "paused": state.chat().is_paused(),
        "budget": budget,
        "quotas": state.quotas().stats(),
    }))
}
