//! A message with files, as n8n's Chat Trigger takes it
//! (`testkit/fixtures/uploads/README.md`, rules 1–2): `multipart/form-data`
//! with the text parts `action`, the session field, the chat-input field
//! (names from `--session-key` / `--chat-input-key`), `metadata` as a JSON
//! *string* (n8n does not parse multipart text fields), then one part per
//! file, **every one named `files`** (other names collide on `data0`), each
//! with its file name and content type. The bytes stream from the upload
//! store; nothing is read into memory whole.

use reqwest::multipart::{Form, Part};
use tokio_util::io::ReaderStream;

use crate::responder::{ChatRequest, ResponderError};

/// The form for `request` (which has files).
pub async fn form(
    request: &ChatRequest,
    session_key: &str,
    chat_input_key: &str,
) -> Result<Form, ResponderError> {
    // File names as a browser's FormData sends them (UTF-8 in quotes; the
    // store's names hold no quotes or control characters).
    let mut form = Form::new()
        .percent_encode_noop()
        .text("action", "sendMessage")
        .text(session_key.to_owned(), request.session_id.to_string())
        .text(chat_input_key.to_owned(), request.text.clone());
    if let Some(metadata) = &request.metadata {
        let json = serde_json::to_string(metadata).unwrap_or_else(|_| "{}".into());
        form = form.text("metadata", json);
    }
    // Like `metadata`: a JSON string (n8n does not parse text parts).
    if let Some(user) = &request.user {
        let json = serde_json::to_string(user).unwrap_or_else(|_| "{}".into());
        form = form.text("user", json);
    }
    if request.regenerate {
        // A text part, so the workflow reads the string "true".
        form = form.text("regenerate", "true");
    }
    for file in &request.files {
        let handle = tokio::fs::File::open(&file.path)
            .await
            .map_err(|_| ResponderError::UploadGone(file.name.clone()))?;
        let body = reqwest::Body::wrap_stream(ReaderStream::new(handle));
        let part = Part::stream_with_length(body, file.size)
            .file_name(file.name.clone())
            .mime_str(&file.mime)
            .map_err(|_| ResponderError::UploadGone(file.name.clone()))?;
        form = form.part("files", part);
    }
    Ok(form)
}
