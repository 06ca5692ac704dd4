//! Files attached to messages: uploaded over HTTP, checked, kept bounded,
//! and sent to n8n as its Chat Trigger takes them — byte for byte the
//! captured multipart of a real n8n 2.8.4's widget (`testkit/fixtures/uploads/`).
//!
//! One module per topic; this file holds the helpers they share.

mod bounds;
mod capture;
mod lifetime;
mod rules;
mod run_reply;

use std::time::Duration;

use crate::support::{config_for, Client, Relay};
use shared::{ClientMessage, FileRef};

fn with_uploads(url: &str, dir: &std::path::Path) -> server::Config {
    let mut config = config_for(url);
    config.uploads.allow_file_uploads = true;
    config.uploads.upload_dir = Some(dir.to_owned());
    config
}

fn scratch() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "relay-uploads-test-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// Files left in the upload directory.
fn left_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Uploads one file as the page does (the session in `X-Chat-Session`);
/// the status and the JSON answer.
async fn upload(
    relay: &Relay,
    session: &str,
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    upload_from(relay, session, &[], name, mime, bytes).await
}

/// Like [`upload`], with `X-Forwarded-For` lines (one header line each,
/// in order) — a client's own and a proxy's.
async fn upload_from(
    relay: &Relay,
    session: &str,
    forwarded: &[&str],
    name: &str,
    mime: &str,
    bytes: Vec<u8>,
) -> (u16, serde_json::Value) {
    // As the page sends it: the session in the header, the sticky-session
    // `route` (a hash of it, which the relay ignores) in the URL.
    let mut request = reqwest::Client::new()
        .post(relay.http_url("/api/uploads?route=6c8f0e2d4b1a3957"))
        .header("x-chat-session", session)
        .header("content-type", mime)
        .header("x-file-name", urlencode(name));
    for line in forwarded {
        // `header` appends: each is a line of its own.
        request = request.header("x-forwarded-for", *line);
    }
    let response = request.body(bytes).send().await.expect("upload request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Waits until `n` files are left in `dir` (deletions after a sweep run on
/// a blocking thread); panics after `crate::support::STEP`.
async fn wait_left_in(dir: &std::path::Path, n: usize) {
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    while left_in(dir) != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} files left, not {n}",
            left_in(dir)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn urlencode(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn file_ref(answer: &serde_json::Value) -> FileRef {
    serde_json::from_value(serde_json::json!({
        "upload": answer["id"], "name": answer["name"], "type": answer["type"], "size": answer["size"],
    }))
    .expect("an upload answer")
}

async fn say_with_files(
    client: &mut Client,
    id: &str,
    text: &str,
    metadata: Option<serde_json::Value>,
    files: Vec<FileRef>,
) {
    client
        .send(ClientMessage::Message {
            id: id.into(),
            text: text.into(),
            metadata: metadata.and_then(|m| m.as_object().cloned()),
            retry: false,
            regenerate: false,
            files,
        })
        .await;
}

const PNG: &[u8] = testkit::DOT_PNG;
