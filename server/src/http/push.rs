//! `POST /api/sessions/{sessionId}/messages`: a workflow pushes a message to
//! a chat later ("your report is ready"), with an HTTP Request node.
//!
//! Authenticated with a bearer token (`--push-token`; without one the
//! endpoint is off). The text goes to every open connection of the session
//! as a `push` frame, or is kept for the session's next connection like an
//! answer (within `--retain-for`). The relay only knows sessions it has seen:
//! anything else is 404, so the endpoint cannot create conversations.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use shared::ServerMessage;

use crate::secret::same_secret;
use crate::store::transcripts::Line;
use crate::store::Pushed;
use crate::AppState;

#[derive(Deserialize)]
struct PushBody {
    text: String,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn too_large(max: usize) -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("the body is larger than {max} bytes (--max-message-bytes)"),
    )
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same_secret(given.trim(), token))
}

/// The handler. It takes the body unread: whether pushing is on and the
/// token are checked first, so an anonymous client cannot make the relay
/// wait for a body (a `Content-Length` and no bytes held a connection for
/// ever). The body then has `--http-header-timeout` to arrive (a push is at
/// most `--max-message-bytes`: as quick to send as a request head).
pub async fn push(
    State(state): State<AppState>,
    Path(session): Path<String>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let Some(token) = &state.config().n8n.push_token else {
        return refuse(
            StatusCode::NOT_FOUND,
            "pushing is off: start the relay with --push-token",
        );
    };
    if !authorized(headers, &token.0) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "missing or wrong bearer token" })),
        )
            .into_response();
    }
    let max = state.config().limits.max_message_bytes;
    let deadline = state.config().limits.http_header_timeout;
    let body =
        match tokio::time::timeout(deadline, axum::body::to_bytes(body, max.saturating_add(1)))
            .await
        {
            Ok(Ok(body)) => body,
            // Longer than the limit (or a broken body): too large either way.
            Ok(Err(_)) => return too_large(max),
            Err(_) => {
                let mut response = refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    &format!("the body did not arrive within {deadline:?} (--http-header-timeout)"),
                );
                // The rest of the body may still come: the connection cannot
                // carry another request.
                response.headers_mut().insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
                return response;
            }
        };
    if body.len() > max {
        return too_large(max);
    }
    let text = match serde_json::from_slice::<PushBody>(&body) {
        Ok(b) if !b.text.trim().is_empty() => b.text,
        Ok(_) => return refuse(StatusCode::BAD_REQUEST, "\"text\" must not be empty"),
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"text\": \"…\"}}: {e}"),
            )
        }
    };
    let Some(session) = shared::SessionId::from_string(session) else {
        return refuse(StatusCode::NOT_FOUND, "no such session");
    };
    let id = format!("{}{}", shared::PUSH_ID_PREFIX, uuid::Uuid::new_v4());
    let line = Line::bot(&text);
    let frame = ServerMessage::Push {
        id: id.clone(),
        doc: state.chat().format_answer(&text).await,
        text,
    }
    .encode();
    let pushed = state.store().push(&session, frame.into()).await;
    if matches!(pushed, Some(Pushed::Delivered(_) | Pushed::Kept)) {
        // Part of the conversation now: in the session's transcript too.
        let now = crate::clock::now_ms();
        state
            .store()
            .record_lines(&session, None, vec![line], now)
            .await;
    }
    match pushed {
        None => refuse(StatusCode::NOT_FOUND, "no such session"),
        Some(Pushed::Full) => refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "the session keeps too many undelivered messages; try again when it is connected",
        ),
        Some(Pushed::Delivered(connections)) => {
            tracing::info!(session = %crate::redact::session(&session), id = %id, connections, "push delivered");
            (
                StatusCode::ACCEPTED,
                Json(json!({ "id": id, "delivered": connections })),
            )
                .into_response()
        }
        Some(Pushed::Kept) => {
            tracing::info!(session = %crate::redact::session(&session), id = %id, "push kept for the next connection");
            (
                StatusCode::ACCEPTED,
                Json(json!({ "id": id, "delivered": 0, "kept": true })),
            )
                .into_response()
        }
    }
}
