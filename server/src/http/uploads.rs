//! `POST /api/uploads`: one file, its bytes as the body, its type as
//! `Content-Type`, its name as `X-File-Name` (percent-encoded) and its
//! conversation as `X-Chat-Session`.
//!
//! The session id is the conversation's credential, so it travels in a
//! header, which logs and proxies treat as private, not in the URL. The
//! older `?session=<id>` still works but is deprecated (a warning is
//! logged once).
//!
//! The same Origin rules as the WebSocket; only for a session with an open
//! connection on this relay; at most `--uploads-per-minute-per-ip` uploads
//! started per client address (counted like the WebSocket's: the TCP peer,
//! or a trusted proxy's `X-Forwarded-For`, IPv6 by /64); the body is
//! streamed to the store on disk, counted against every bound as it
//! arrives, never held whole in memory, and ended when it brings less than
//! [`MIN_BYTES_PER_WINDOW`] in a `--upload-stall-timeout` window; the first bytes decide whether the file
//! is what its type says. Answers `201` with the upload's id
//! ([`shared::Uploaded`]), or an error `{"code": …, "error": …}` (see
//! [`UploadError`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use shared::Uploaded;
use tokio::io::AsyncWriteExt;

use super::client_address;
use crate::admission::client::client_key;
use crate::uploads::sniff;
use crate::uploads::store::{safe_name, StoreError};
use crate::AppState;

/// Bytes looked at to tell what a file is.
const SNIFF_BYTES: usize = 512;

/// Bytes an upload must bring in each `--upload-stall-timeout` window (or
/// the rest of its declared length, if less). A timeout per chunk is not
/// enough: one byte every 29 s would hold a place, its reserved bytes and
/// an open file for ever, and a few addresses could fill the store that
/// way. 16 KiB per 30 s is a modem's pace; any real client beats it.
pub const MIN_BYTES_PER_WINDOW: u64 = 16 * 1024;

/// The header that names the conversation.
pub const SESSION_HEADER: &str = "x-chat-session";

#[derive(Debug, Default, Deserialize)]
struct Target {
    session: Option<String>,
}

/// Whether the deprecated `?session=` has been seen (warned about once).
static QUERY_SESSION_WARNED: AtomicBool = AtomicBool::new(false);

/// Why an upload was not taken; each becomes its status and
/// `{"code": …, "error": …}`.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// `404 uploads_off`: the relay was started without uploads.
    #[error("this relay does not take files (--allow-file-uploads)")]
    Off,
    /// `403 forbidden`: the origin is not admitted.
    #[error("this origin may not upload to the relay")]
    Origin,
    /// `503 draining`: the relay is shutting down.
    #[error("the relay is shutting down")]
    Draining,
    /// `400 invalid_session`: no valid session named.
    #[error("the X-Chat-Session header must name the conversation")]
    NoSession,
    /// `403 invalid_session`: the session has no connection here.
    #[error("upload while the conversation is connected to this relay")]
    NotConnected,
    /// `429 rate_limited`: this address starts uploads too fast.
    #[error("too many uploads from this address (--uploads-per-minute-per-ip); wait a little")]
    TooFast,
    /// `413`, `429`, `507`, `500`: a bound of the store (see
    /// [`StoreError`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `415 unsupported_file_type`.
    #[error("{0}")]
    Type(sniff::Refused),
    /// `400 empty_file`.
    #[error("the file is empty")]
    Empty,
    /// `400 upload_failed`: the body broke off.
    #[error("the upload broke off: {0}")]
    Broken(String),
    /// `408 upload_stalled`: the body stopped arriving, or brought less
    /// than [`MIN_BYTES_PER_WINDOW`] in one `--upload-stall-timeout`.
    #[error("the upload brought less than 16 KiB in {0:?} (--upload-stall-timeout)")]
    Stalled(Duration),
}

impl UploadError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            UploadError::Off => (StatusCode::NOT_FOUND, "uploads_off"),
            UploadError::Origin => (StatusCode::FORBIDDEN, "forbidden"),
            UploadError::Draining => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
            UploadError::NoSession => (StatusCode::BAD_REQUEST, "invalid_session"),
            UploadError::NotConnected => (StatusCode::FORBIDDEN, "invalid_session"),
            UploadError::TooFast => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            UploadError::Store(e) => match e {
                StoreError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
                StoreError::Full => (StatusCode::INSUFFICIENT_STORAGE, "uploads_full"),
                StoreError::SessionFull | StoreError::AddressFull => {
                    (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                }
                StoreError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "upload_failed"),
            },
            UploadError::Type(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type"),
            UploadError::Empty => (StatusCode::BAD_REQUEST, "empty_file"),
            UploadError::Broken(_) => (StatusCode::BAD_REQUEST, "upload_failed"),
            UploadError::Stalled(_) => (StatusCode::REQUEST_TIMEOUT, "upload_stalled"),
        }
    }
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        (
            status,
            Json(json!({ "code": code, "error": self.to_string() })),
        )
            .into_response()
    }
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        UploadError::Store(StoreError::Io(e.to_string()))
    }
}

/// The session an upload names: the `X-Chat-Session` header, else the
/// deprecated `?session=` (warned about once).
fn session_of(headers: &HeaderMap, query: Option<&str>) -> Result<shared::SessionId, UploadError> {
    let from_header = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let session = match from_header {
        Some(s) => Some(s),
        None => {
            let target = query.and_then(query_session).unwrap_or_default();
            if target.session.is_some() && !QUERY_SESSION_WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "an upload named its conversation in the URL (?session=), which is deprecated: the id is a credential and URLs end up in logs; send the X-Chat-Session header (the page does since this version)"
                );
            }
            target.session
        }
    };
    session
        .and_then(shared::SessionId::from_string)
        .ok_or(UploadError::NoSession)
}

/// `?session=` parsed from the query.
fn query_session(query: &str) -> Option<Target> {
    axum::extract::Query::<Target>::try_from_uri(
        &format!("/?{query}").parse::<axum::http::Uri>().ok()?,
    )
    .ok()
    .map(|q| q.0)
}

/// The name a file was sent under: percent-decoded (UTF-8, lossy; `+`
/// stays a plus) and made safe.
fn file_name(headers: &HeaderMap) -> String {
    headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
        .map(|v| safe_name(&v))
        .unwrap_or_else(|| "file".into())
}

/// The handler.
pub async fn upload(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, UploadError> {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let uploads = state.uploads().ok_or(UploadError::Off)?;
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !state.origins().allows(origin) {
        return Err(UploadError::Origin);
    }
    if state.is_draining() {
        return Err(UploadError::Draining);
    }
    let session = session_of(headers, parts.uri.query())?;
    if !state.store().is_connected(&session) {
        return Err(UploadError::NotConnected);
    }
    let address = client_key(client_address::of_request(
        &state,
        &parts.extensions,
        headers,
    ));
    if !uploads.admit(address) {
        static REFUSALS: crate::log_throttle::LogThrottle =
            crate::log_throttle::LogThrottle::every(crate::log_throttle::WARN_EVERY);
        match REFUSALS.warn() {
            Some(quiet) => {
                tracing::warn!(ip = ?address, quiet, "upload refused: too many from this address")
            }
            None => tracing::debug!(ip = ?address, "upload refused: too many from this address"),
        }
        return Err(UploadError::TooFast);
    }
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let name = file_name(headers);
    let limit = uploads.rules().max_bytes;
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_length.is_some_and(|n| n > limit) {
        return Err(StoreError::TooLarge { limit }.into());
    }
    // Dropped on any early return: the reservation and the file go back.
    let mut pending = uploads.store().begin(&session, address)?;
    let mut file = pending.create_file().await?;
    let mut stream = body.into_data_stream();
    let stall = uploads.stall_timeout();
    let mut head: Vec<u8> = Vec::new();
    let mut checked: Option<String> = None;
    // A body that stops arriving — or trickles — would hold its session's
    // place, its reserved bytes and an open file for as long as the client
    // likes: each window of `stall` must bring enough bytes.
    let mut received: u64 = 0;
    let mut window_end = tokio::time::Instant::now() + stall;
    let mut at_window_start: u64 = 0;
    loop {
        // Dropping `next()` at the deadline loses nothing (cancel-safe).
        let chunk = match tokio::time::timeout_at(window_end, stream.next()).await {
            Err(_) => {
                let need = declared_length.map_or(MIN_BYTES_PER_WINDOW, |len| {
                    MIN_BYTES_PER_WINDOW.min(len.saturating_sub(at_window_start))
                });
                if need > 0 && received - at_window_start >= need {
                    at_window_start = received;
                    // From now, not from the old end: a check that ran
                    // late (a busy relay) must not shorten the next window.
                    window_end = tokio::time::Instant::now() + stall;
                    continue;
                }
                tracing::info!(session = %crate::redact::session(&session), "upload stalled; ended");
                return Err(UploadError::Stalled(stall));
            }
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(e))) => return Err(UploadError::Broken(e.to_string())),
            Ok(None) => break,
        };
        pending.reserve(chunk.len() as u64)?;
        received += chunk.len() as u64;
        if checked.is_some() {
            file.write_all(&chunk).await?;
            continue;
        }
        head.extend_from_slice(&chunk);
        if head.len() >= SNIFF_BYTES {
            checked = Some(
                sniff::check(&mime, &head, &uploads.rules().allowed_types)
                    .map_err(UploadError::Type)?,
            );
            file.write_all(&std::mem::take(&mut head)).await?;
        }
    }
    let mime = match checked {
        Some(m) => m,
        // A file shorter than the sniffing window.
        None if head.is_empty() => return Err(UploadError::Empty),
        None => {
            let m = sniff::check(&mime, &head, &uploads.rules().allowed_types)
                .map_err(UploadError::Type)?;
            file.write_all(&head).await?;
            m
        }
    };
    file.flush().await?;
    drop(file);
    let stored = pending.finish(name, mime);
    state.metrics().upload(stored.size);
    tracing::info!(session = %crate::redact::session(&session), upload = %stored.id, bytes = stored.size, "file uploaded");
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            id: stored.id,
            name: stored.name,
            mime: stored.mime,
            size: stored.size,
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_ids::sid;

    fn named(value: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-file-name",
            axum::http::HeaderValue::from_str(value).expect("value"),
        );
        file_name(&headers)
    }

    #[test]
    fn names_arrive_percent_encoded() {
        assert_eq!(named("h%C3%A9llo%20%E2%9C%93.txt"), "héllo ✓.txt");
        assert_eq!(named("plain.pdf"), "plain.pdf");
        assert_eq!(named("bad%zzend%"), "bad%zzend%");
        assert_eq!(named("a+b"), "a+b");
        assert_eq!(named("%2E%2E%2Fetc%2Fpasswd"), "passwd");
        assert_eq!(file_name(&HeaderMap::new()), "file");
    }

    #[test]
    fn the_session_comes_from_the_header_or_the_old_query() {
        let mut headers = HeaderMap::new();
        assert!(matches!(
            session_of(&headers, None),
            Err(UploadError::NoSession)
        ));
        assert_eq!(
            session_of(&headers, Some("session=s-query")).ok(),
            Some(sid("s-query"))
        );
        headers.insert(SESSION_HEADER, "s-header".parse().expect("value"));
        assert_eq!(
            session_of(&headers, Some("session=s-query")).ok(),
            Some(sid("s-header")),
            "the header wins"
        );
        headers.insert(SESSION_HEADER, "bad id!".parse().expect("value"));
        assert!(matches!(
            session_of(&headers, None),
            Err(UploadError::NoSession)
        ));
    }
}
