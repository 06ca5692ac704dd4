//! `POST /api/uploads?session=<id>`: one file, its bytes as the body, its
//! type as `Content-Type` and its name as `X-File-Name` (percent-encoded).
//!
//! The same Origin rules as the WebSocket; only for a session with an open
//! connection on this relay; the body is streamed to the store on disk,
//! counted against every bound as it arrives, never held whole in memory;
//! the first bytes decide whether the file is what its type says. Answers
//! `201` with the upload's id ([`shared::Uploaded`]), or an error
//! `{"code": …, "error": …}`: `400` (bad request), `403` (origin or
//! session), `404` (uploads are off), `413` (`too_large`), `415`
//! (`unsupported_file_type`), `429` (the session holds as many uploads as
//! it may), `507` (the store is full).

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use shared::{validate, Uploaded};
use tokio::io::AsyncWriteExt;

use crate::uploads::sniff;
use crate::uploads::store::{safe_name, StoreError};
use crate::AppState;

/// Bytes looked at to tell what a file is.
const SNIFF_BYTES: usize = 512;

#[derive(Debug, Deserialize)]
pub struct Target {
    session: Option<String>,
}

fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "code": code, "error": message.into() })),
    )
        .into_response()
}

fn store_refusal(e: &StoreError) -> Response {
    match e {
        StoreError::TooLarge { .. } => {
            refuse(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
        StoreError::Full => refuse(
            StatusCode::INSUFFICIENT_STORAGE,
            "uploads_full",
            e.to_string(),
        ),
        StoreError::SessionFull => {
            refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string())
        }
        StoreError::Io(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "upload_failed",
            e.to_string(),
        ),
    }
}

/// The handler.
pub async fn upload(
    State(state): State<AppState>,
    Query(target): Query<Target>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(uploads) = state.uploads() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "uploads_off",
            "this relay does not take files (--allow-file-uploads)",
        );
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !state.origins().allows(origin) {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this origin may not upload to the relay",
        );
    }
    let session = match target.session {
        Some(s) if validate::is_valid_session_id(&s) => s,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid_session",
                "?session= must name the conversation",
            )
        }
    };
    if !state.store().is_connected(&session) {
        return refuse(
            StatusCode::FORBIDDEN,
            "invalid_session",
            "upload while the conversation is connected to this relay",
        );
    }
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let name = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .map(|v| safe_name(&v))
        .unwrap_or_else(|| "file".into());
    let limit = uploads.rules().max_bytes;
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > limit) {
        return store_refusal(&StoreError::TooLarge { limit });
    }
    let mut pending = match uploads.store().begin(&session) {
        Ok(p) => p,
        Err(e) => return store_refusal(&e),
    };
    let mut file = match tokio::fs::File::create(pending.path()).await {
        Ok(f) => f,
        Err(e) => return store_refusal(&StoreError::Io(e.to_string())),
    };
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = Vec::new();
    let mut checked: Option<String> = None;
    loop {
        let chunk = match stream.next().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "upload_failed",
                    format!("the upload broke off: {e}"),
                )
            }
            None => break,
        };
        if let Err(e) = pending.reserve(chunk.len() as u64) {
            return store_refusal(&e);
        }
        if checked.is_none() {
            head.extend_from_slice(&chunk);
            if head.len() < SNIFF_BYTES {
                continue;
            }
            match sniff::check(&mime, &head, &uploads.rules().allowed_types) {
                Ok(m) => checked = Some(m),
                Err(refused) => {
                    return refuse(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_file_type",
                        refused.to_string(),
                    )
                }
            }
            if let Err(e) = file.write_all(&std::mem::take(&mut head)).await {
                return store_refusal(&StoreError::Io(e.to_string()));
            }
            continue;
        }
        if let Err(e) = file.write_all(&chunk).await {
            return store_refusal(&StoreError::Io(e.to_string()));
        }
    }
    let mime = match checked {
        Some(m) => m,
        None => {
            // A file shorter than the sniffing window.
            if head.is_empty() {
                return refuse(StatusCode::BAD_REQUEST, "empty_file", "the file is empty");
            }
            match sniff::check(&mime, &head, &uploads.rules().allowed_types) {
                Ok(m) => {
                    if let Err(e) = file.write_all(&head).await {
                        return store_refusal(&StoreError::Io(e.to_string()));
                    }
                    m
                }
                Err(refused) => {
                    return refuse(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_file_type",
                        refused.to_string(),
                    )
                }
            }
        }
    };
    if let Err(e) = file.flush().await {
        return store_refusal(&StoreError::Io(e.to_string()));
    }
    drop(file);
    let stored = pending.finish(name, mime);
    tracing::info!(session = %crate::redact::session(&session), upload = %stored.id, bytes = stored.size, "file uploaded");
    (
        StatusCode::CREATED,
        Json(Uploaded {
            id: stored.id,
            name: stored.name,
            mime: stored.mime,
            size: stored.size,
        }),
    )
        .into_response()
}

/// `%XX` escapes decoded (as UTF-8, lossy); `+` stays a plus.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_arrive_percent_encoded() {
        assert_eq!(percent_decode("h%C3%A9llo%20%E2%9C%93.txt"), "héllo ✓.txt");
        assert_eq!(percent_decode("plain.pdf"), "plain.pdf");
        assert_eq!(percent_decode("bad%zzend%"), "bad%zzend%");
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("%é%"), "%é%", "no panic inside a character");
    }
}
