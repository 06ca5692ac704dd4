//! Files attached to messages: uploaded over HTTP, checked, kept bounded,
//! and sent to n8n as its Chat Trigger takes them — byte for byte the
//! captured multipart of a real n8n 2.8.4's widget (`testkit/fixtures/uploads/`).

mod support;

use std::time::Duration;

use shared::{ClientMessage, ErrorCode, FileRef, ServerMessage};
use support::{config_for, error_of, response_text, Client, Relay};
use testkit::multipart::{n8n_view, FormPart};
use testkit::n8n::{Mode, StandIn};

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
/// a blocking thread); panics after `support::STEP`.
async fn wait_left_in(dir: &std::path::Path, n: usize) {
    let deadline = tokio::time::Instant::now() + support::STEP;
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

fn files_of(parts: &[FormPart]) -> Vec<&FormPart> {
    parts.iter().filter(|p| p.filename.is_some()).collect()
}

/// The captured upload `capture`, sent through the relay: what the
/// stand-in receives matches the capture part by part, and the workflow
/// sees what n8n's workflow saw.
async fn the_capture_through_the_relay(capture: &str, mode: Mode) {
    let (parts, seen) = testkit::upload_capture(capture).expect("capture");
    let session = seen["json"]["sessionId"]
        .as_str()
        .expect("session")
        .to_owned();
    let input = seen["json"]["chatInput"]
        .as_str()
        .expect("input")
        .to_owned();
    let metadata: serde_json::Value =
        serde_json::from_str(seen["json"]["metadata"].as_str().expect("metadata")).expect("json");
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(mode);
    let dir = scratch();
    let relay = Relay::start(with_uploads(&n8n.url("/webhook/e1/chat"), &dir)).await;
    let mut client = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let mut refs = Vec::new();
    for part in files_of(&parts) {
        let (status, answer) = upload(
            &relay,
            &session,
            part.filename.as_deref().unwrap_or_default(),
            part.content_type.as_deref().unwrap_or_default(),
            part.bytes.clone(),
        )
        .await;
        assert_eq!(status, 201, "{answer}");
        refs.push(file_ref(&answer));
    }
    say_with_files(&mut client, "m1", &input, Some(metadata.clone()), refs).await;
    let answer = loop {
        match client.next().await {
            ServerMessage::Chunk { .. } => continue,
            other => break response_text(&other, "m1"),
        }
    };
    assert!(
        answer.starts_with(&format!("echo: {input} [files: ")),
        "{answer}"
    );
    let sent = &n8n.requests()[0];
    // Text parts: the same names in the same order; metadata a JSON string.
    let texts: Vec<(&str, String)> = sent
        .parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| {
            (
                p.name.as_str(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect();
    let captured: Vec<(&str, String)> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| {
            (
                p.name.as_str(),
                String::from_utf8_lossy(&p.bytes).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        texts.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        captured.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    for ((name, value), (_, expected)) in texts.iter().zip(&captured) {
        if *name == "metadata" {
            let a: serde_json::Value = serde_json::from_str(value).expect("metadata is JSON text");
            let b: serde_json::Value = serde_json::from_str(expected).expect("captured metadata");
            assert_eq!(a, b);
        } else {
            assert_eq!(value, expected, "{name}");
        }
    }
    // File parts: all named `files`, same file names, types and bytes.
    let got = files_of(&sent.parts);
    let want = files_of(&parts);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.name, "files");
        assert_eq!(
            (&g.filename, &g.content_type),
            (&w.filename, &w.content_type)
        );
        assert!(g.bytes == w.bytes, "{:?}: bytes differ", g.filename);
    }
    // And the workflow sees what n8n's saw.
    let (view, keys) = n8n_view(&sent.parts);
    let mut expected = seen["json"].clone();
    // (metadata is compared as JSON above: key order is the page's.)
    expected["metadata"] = view["metadata"].clone();
    assert_eq!(view, expected);
    assert_eq!(keys.len(), want.len());
    // Answered: the files are gone.
    let health = relay
        .wait_health("uploads deleted", |h| h["uploads"]["files"] == 0)
        .await;
    assert_eq!(health["uploads"]["bytes"], 0);
    assert_eq!(left_in(&dir), 0, "nothing left on disk");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_file_reaches_n8n_as_the_widget_sends_it() {
    the_capture_through_the_relay("01-one-png", Mode::Echo).await;
}

#[tokio::test]
async fn three_files_reach_n8n_as_the_widget_sends_them() {
    the_capture_through_the_relay("02-three-files", Mode::Echo).await;
}

#[tokio::test]
async fn three_files_with_a_streaming_answer() {
    the_capture_through_the_relay(
        "03-three-files-streaming",
        Mode::Stream {
            gap: Duration::from_millis(50),
        },
    )
    .await;
}

#[tokio::test]
async fn one_file_with_a_streaming_answer() {
    the_capture_through_the_relay(
        "01-one-png",
        Mode::Stream {
            gap: Duration::from_millis(50),
        },
    )
    .await;
}

const PNG: &[u8] = testkit::DOT_PNG;

#[tokio::test]
async fn every_rule_is_the_relays_and_each_refusal_says_why() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.max_upload_bytes = 1000;
    config.uploads.max_files_per_message = 2;
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    // Too large (declared and streamed).
    let (status, answer) = upload(&relay, &s, "big.txt", "text/plain", vec![b'a'; 1001]).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (413, Some("too_large")),
        "{answer}"
    );
    // A type that is not allowed.
    let (status, answer) = upload(
        &relay,
        &s,
        "a.zip",
        "application/zip",
        b"PK\x03\x04zip".to_vec(),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (415, Some("unsupported_file_type")),
        "{answer}"
    );
    // Bytes that are not what the type says.
    let (status, answer) = upload(
        &relay,
        &s,
        "x.png",
        "image/png",
        b"%PDF-1.4 not a png".to_vec(),
    )
    .await;
    assert_eq!(status, 415, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("application/pdf"),
        "{answer}"
    );
    let (status, _) = upload(
        &relay,
        &s,
        "page.txt",
        "text/plain",
        b"<!DOCTYPE html><script>x</script>".to_vec(),
    )
    .await;
    assert_eq!(status, 415, "HTML is never taken as text");
    // An unknown session, a foreign origin.
    let (status, _) = upload(&relay, "nobody-here", "a.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 403);
    let response = reqwest::Client::new()
        .post(relay.http_url(&format!("/api/uploads?session={s}")))
        .header("origin", "https://evil.example")
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    // A name cannot reach outside the store, and what is kept is safe.
    let (status, answer) = upload(
        &relay,
        &s,
        "../../etc/passwd.png",
        "image/png",
        PNG.to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["name"], "passwd.png");
    assert_eq!(left_in(&dir), 1, "stored inside the upload directory");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn messages_with_files_are_checked_too() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.max_files_per_message = 2;
    let relay = Relay::start(config).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let mut other = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    let (_, a) = upload(&relay, &s, "a.png", "image/png", PNG.to_vec()).await;
    let (_, b) = upload(&relay, &s, "b.png", "image/png", PNG.to_vec()).await;
    let (_, c) = upload(&relay, &s, "c.png", "image/png", PNG.to_vec()).await;
    say_with_files(
        &mut client,
        "m1",
        "three",
        None,
        vec![file_ref(&a), file_ref(&b), file_ref(&c)],
    )
    .await;
    assert_eq!(
        error_of(&client.next().await, Some("m1")).0,
        ErrorCode::TooManyFiles
    );
    // Another conversation cannot use this one's upload.
    say_with_files(&mut other, "o1", "steal", None, vec![file_ref(&a)]).await;
    assert_eq!(
        error_of(&other.next().await, Some("o1")).0,
        ErrorCode::UploadMissing
    );
    assert_eq!(n8n.calls(), 0);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_store_and_each_session_are_bounded() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.max_stored_upload_bytes = (PNG.len() * 3) as u64;
    // One address (this test's) may hold the whole store here; the share
    // per address is tested on its own below.
    config.uploads.max_upload_bytes_per_ip = Some((PNG.len() * 3) as u64);
    config.uploads.max_files_per_message = 1; // two uploads per session
    let relay = Relay::start(config).await;
    let a = Client::connect(&relay.ws_url("/ws")).await;
    let b = Client::connect(&relay.ws_url("/ws")).await;
    for _ in 0..2 {
        assert_eq!(
            upload(&relay, &a.session_id, "a.png", "image/png", PNG.to_vec())
                .await
                .0,
            201
        );
    }
    let (status, answer) = upload(&relay, &a.session_id, "a.png", "image/png", PNG.to_vec()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (429, Some("rate_limited")),
        "per session"
    );
    assert_eq!(
        upload(&relay, &b.session_id, "b.png", "image/png", PNG.to_vec())
            .await
            .0,
        201
    );
    let (status, answer) = upload(&relay, &b.session_id, "b.png", "image/png", PNG.to_vec()).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (507, Some("uploads_full")),
        "all together"
    );
    let health = relay.health().await;
    assert_eq!(health["uploads"]["files"], 3);
    assert!(health["uploads"]["bytes"].as_u64().unwrap_or(0) <= (PNG.len() * 3) as u64);
    relay.stop().await;
    assert_eq!(left_in(&dir), 0, "a stopping relay leaves nothing behind");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_resend_after_a_restart_uploads_again_and_n8n_runs_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    let relay = Relay::start(config.clone()).await;
    let addr = relay.addr;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    let (_, up) = upload(&relay, &s, "dot.png", "image/png", PNG.to_vec()).await;
    drop(client);
    // The relay restarts before the message is sent: the upload is gone.
    relay.stop().await;
    let relay = Relay::start_on(addr, config).await;
    let mut client = Client::connect(&relay.ws_url(&format!("/ws?session={s}"))).await;
    say_with_files(&mut client, "m1", "look", None, vec![file_ref(&up)]).await;
    let (code, message) = error_of(&client.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::UploadMissing, "{message}");
    // The page uploads again and resends the same message: it runs once.
    let (status, again) = upload(&relay, &s, "dot.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 201);
    say_with_files(&mut client, "m1", "look", None, vec![file_ref(&again)]).await;
    let answer = response_text(&client.next().await, "m1");
    assert!(answer.contains("dot.png (image/png, 463 B)"), "{answer}");
    say_with_files(&mut client, "m1", "look", None, vec![file_ref(&again)]).await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        answer,
        "answered from memory"
    );
    assert_eq!(n8n.calls(), 1);
    relay
        .wait_health("uploads deleted", |h| h["uploads"]["files"] == 0)
        .await;
    assert_eq!(left_in(&dir), 0);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn uploads_are_off_unless_asked_for() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/e1/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let (status, _) = upload(
        &relay,
        &client.session_id.clone(),
        "a.png",
        "image/png",
        PNG.to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    let config: serde_json::Value = reqwest::get(relay.http_url("/config.json"))
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert!(config.get("uploads").is_none(), "{config}");
    say_with_files(
        &mut client,
        "m1",
        "x",
        None,
        vec![FileRef {
            upload: "up-x".into(),
            name: "a.png".into(),
            mime: "image/png".into(),
            size: 1,
        }],
    )
    .await;
    assert_eq!(
        error_of(&client.next().await, Some("m1")).0,
        ErrorCode::InvalidMessage
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_page_on_an_admitted_origin_may_upload_across_origins_and_no_other() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.serve.allowed_origins = vec!["https://site.example".into()];
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    let http = reqwest::Client::new();
    let url = relay.http_url(&format!("/api/uploads?session={s}"));
    let ask = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-file-name")
            .send()
    };
    let yes = ask("https://site.example").await.expect("preflight");
    assert_eq!(yes.status(), 204);
    let h = yes.headers();
    assert_eq!(h["access-control-allow-origin"], "https://site.example");
    assert_eq!(h["access-control-allow-methods"], "POST");
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default()
        .contains("x-file-name"));
    let no = ask("https://evil.example").await.expect("preflight");
    assert_eq!(no.status(), 403);
    assert!(!no.headers().contains_key("access-control-allow-origin"));
    // The upload itself: its answer is readable by the admitted page.
    let response = http
        .post(&url)
        .header("origin", "https://site.example")
        .header("content-type", "image/png")
        .header("x-file-name", "dot.png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://site.example"
    );
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_session_travels_in_a_header_and_the_old_query_still_works() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let relay = Relay::start(with_uploads(&n8n.url("/webhook/e1/chat"), &dir)).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    // The header (what the page sends).
    let (status, answer) = upload(&relay, &s, "a.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 201, "{answer}");
    // The deprecated query.
    let response = reqwest::Client::new()
        .post(relay.http_url(&format!("/api/uploads?session={s}")))
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    // Neither: refused, and the sentence names the header.
    let response = reqwest::Client::new()
        .post(relay.http_url("/api/uploads"))
        .header("content-type", "image/png")
        .body(PNG.to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    assert_eq!(answer["code"], "invalid_session");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains("X-Chat-Session"),
        "{answer}"
    );
    // Files are readable by the relay's user only.
    #[cfg(unix)]
    for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
        use std::os::unix::fs::PermissionsExt;
        let mode = entry.metadata().expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{:?}", entry.path());
    }
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_preflight_allows_the_session_header() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.serve.allowed_origins = vec!["https://site.example".into()];
    let relay = Relay::start(config).await;
    let yes = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, relay.http_url("/api/uploads"))
        .header("origin", "https://site.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-file-name,x-chat-session",
        )
        .send()
        .await
        .expect("preflight");
    assert_eq!(yes.status(), 204);
    let allowed = yes.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(allowed.contains("x-chat-session"), "{allowed}");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Uploads `per_session` one-byte files in each of `sessions` sessions,
/// all from this test's one address; how many were taken, and the
/// statuses of the rest.
async fn many_tiny_uploads(
    relay: &Relay,
    sessions: usize,
    per_session: usize,
) -> (usize, Vec<u16>) {
    let mut accepted = 0;
    let mut refused = Vec::new();
    for _ in 0..sessions {
        // A new WebSocket is a new session — as many as the relay lets this
        // address open (`--new-sessions-per-minute-per-ip`).
        let client = match support::connect_with_headers(&relay.ws_url("/ws"), &[]).await {
            Ok(client) => client,
            Err(status) => {
                assert_eq!(status, 429, "a session refused for its rate");
                continue;
            }
        };
        for _ in 0..per_session {
            match upload(
                relay,
                &client.session_id,
                "a.txt",
                "text/plain",
                b"a".to_vec(),
            )
            .await
            .0
            {
                201 => accepted += 1,
                other => refused.push(other),
            }
        }
    }
    (accepted, refused)
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_share_of_uploads() {
    let n8n = StandIn::start().await.expect("stand-in");
    // Default flags: 60 sessions × 10 one-byte files from one address (the
    // sessions past the new-session rate are refused too).
    let dir = scratch();
    let relay = Relay::start(with_uploads(&n8n.url("/webhook/e1/chat"), &dir)).await;
    let (accepted, refused) = many_tiny_uploads(&relay, 60, 10).await;
    assert!(accepted <= 200, "{accepted} of 600 accepted");
    assert!(accepted > 0);
    assert!(refused.iter().all(|s| *s == 429), "{refused:?}");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
    // The rates out of the way: the count per address is what stops it.
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.uploads_per_minute_per_ip = 100_000;
    config.retention.new_sessions_per_minute_per_ip = 0;
    let relay = Relay::start(config).await;
    let (accepted, _) = many_tiny_uploads(&relay, 60, 10).await;
    assert_eq!(accepted, 200, "--max-uploads-per-ip");
    let health = relay.health().await;
    assert_eq!(health["uploads"]["files"], 200);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_address_cannot_fill_the_byte_store_for_everyone() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.max_stored_upload_bytes = 2 * 1024 * 1024;
    config.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let relay = Relay::start(config).await;
    let file = vec![b'a'; 190 * 1024];
    let mut sessions = Vec::new();
    let mut taken = 0;
    for i in 0..40 {
        if i % 10 == 0 {
            sessions.push(Client::connect(&relay.ws_url("/ws")).await);
        }
        let s = &sessions[sessions.len() - 1].session_id;
        let (status, answer) = upload_from(
            &relay,
            s,
            &["203.0.113.1"],
            "a.txt",
            "text/plain",
            file.clone(),
        )
        .await;
        match status {
            201 => taken += 1,
            429 => assert_eq!(answer["code"], "rate_limited", "{answer}"),
            other => panic!("{other}: {answer}"),
        }
    }
    assert!(
        taken * 190 * 1024 <= 512 * 1024,
        "{taken} files: at most a quarter"
    );
    // Another address still gets in.
    let other = Client::connect(&relay.ws_url("/ws")).await;
    let (status, answer) = upload_from(
        &relay,
        &other.session_id,
        &["198.51.100.2"],
        "b.txt",
        "text/plain",
        file.clone(),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_client_cannot_pick_its_address_with_a_forwarded_for_line_of_its_own() {
    // The client sends `X-Forwarded-For: <anything>`; the proxy (HAProxy)
    // appends a line of its own with the address it saw.
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    config.uploads.max_uploads_per_ip = 2;
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    let mut statuses = Vec::new();
    for i in 0..4 {
        let invented = format!("192.0.2.{i}");
        let (status, _) = upload_from(
            &relay,
            &s,
            &[&invented, "203.0.113.7"],
            "a.png",
            "image/png",
            PNG.to_vec(),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(statuses, [201, 201, 429, 429], "counted as 203.0.113.7");
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_stalled_upload_gives_back_its_reservation() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.upload_stall_timeout = Duration::from_secs(1);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    // A byte every 50 ms (progress: not stalled) until the relay is seen
    // holding them, then nothing (the sender is kept open).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let request = reqwest::Client::new()
        .post(relay.http_url("/api/uploads"))
        .header("x-chat-session", client.session_id.clone())
        .header("content-type", "text/plain")
        .body(body)
        .send();
    let sent = tokio::spawn(request);
    let stop = tokio_util::sync::CancellationToken::new();
    let feeding = stop.clone();
    let feeder = tokio::spawn(async move {
        while !feeding.is_cancelled() {
            // Never waits: the relay may stop reading at any time.
            let _ = tx.try_send(Ok(vec![b'a']));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tx // kept open: the body neither ends nor breaks
    });
    relay
        .wait_health("bytes reserved", |h| {
            h["uploads"]["bytes"].as_u64().unwrap_or(0) > 0
        })
        .await;
    stop.cancel();
    let tx = feeder.await.expect("feeder");
    let health = relay
        .wait_health("the reservation given back", |h| {
            h["uploads"]["bytes"] == 0 && h["uploads"]["files"] == 0
        })
        .await;
    assert_eq!(health["uploads"]["files"], 0);
    wait_left_in(&dir, 0).await; // its file is deleted
                                 // The client is told, when it is still listening.
    if let Ok(Ok(Ok(response))) = tokio::time::timeout(Duration::from_secs(5), sent).await {
        assert_eq!(response.status(), 408);
    }
    drop(tx);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The sending end of a streamed upload body.
type BodySender = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

/// Sends `chunk` every `every` on a streamed upload body until `stop`; the
/// body is kept open afterwards only if `hold` (else it ends).
fn feed(
    relay: &Relay,
    session: &str,
    chunk: Vec<u8>,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
    hold: bool,
) -> (
    tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
    tokio::task::JoinHandle<Option<BodySender>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let request = reqwest::Client::new()
        .post(relay.http_url("/api/uploads"))
        .header("x-chat-session", session.to_owned())
        .header("content-type", "text/plain")
        .body(body)
        .send();
    let sent = tokio::spawn(request);
    let feeder = tokio::spawn(async move {
        while !stop.is_cancelled() {
            if tx.send(Ok(chunk.clone())).await.is_err() {
                break; // the relay stopped reading
            }
            tokio::time::sleep(every).await;
        }
        hold.then_some(tx)
    });
    (sent, feeder)
}

/// One byte every 100 ms is progress of a sort, but with a 1 s
/// `--upload-stall-timeout` the upload must bring 16 KiB a window: it is
/// ended within a window or two, though bytes keep coming. One that brings
/// enough each window (8 KiB every 100 ms) completes however long it runs.
#[tokio::test]
async fn a_trickling_upload_is_ended_and_a_steady_one_completes() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.upload_stall_timeout = Duration::from_secs(1);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;

    let stop = tokio_util::sync::CancellationToken::new();
    let started = tokio::time::Instant::now();
    let (sent, feeder) = feed(
        &relay,
        &client.session_id,
        vec![b'a'],
        Duration::from_millis(100),
        stop.clone(),
        true,
    );
    relay
        .wait_health("bytes reserved", |h| {
            h["uploads"]["bytes"].as_u64().unwrap_or(0) > 0
        })
        .await;
    // Still trickling: the relay ends it anyway.
    relay
        .wait_health("the trickle ended", |h| {
            h["uploads"]["bytes"] == 0 && h["uploads"]["files"] == 0
        })
        .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "ended after {took:?}");
    wait_left_in(&dir, 0).await;
    if let Ok(Ok(Ok(response))) = tokio::time::timeout(Duration::from_secs(5), sent).await {
        assert_eq!(response.status(), 408);
    }
    stop.cancel();
    drop(feeder.await.expect("feeder"));

    // Steady: 8 KiB every 100 ms for three windows, then the body ends.
    let stop = tokio_util::sync::CancellationToken::new();
    let (sent, feeder) = feed(
        &relay,
        &client.session_id,
        vec![b'b'; 8 * 1024],
        Duration::from_millis(100),
        stop.clone(),
        false,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    assert!(feeder.await.expect("feeder").is_none(), "body ended");
    let response = tokio::time::timeout(support::STEP, sent)
        .await
        .expect("answered")
        .expect("task")
        .expect("response");
    assert_eq!(response.status(), 201);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A stream of what arrives on `rx`.
fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn a_gone_sessions_uploads_are_released_when_its_answers_would_be() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.retention.retain_for = Duration::from_millis(500);
    let relay = Relay::start(config).await;
    let stays = Client::connect(&relay.ws_url("/ws")).await;
    let goes = Client::connect(&relay.ws_url("/ws")).await;
    for c in [&stays, &goes] {
        let (status, _) = upload(&relay, &c.session_id, "a.png", "image/png", PNG.to_vec()).await;
        assert_eq!(status, 201);
    }
    drop(goes);
    // --upload-retention is 30 minutes: only the session's absence frees it.
    relay
        .wait_health("the gone session's upload released", |h| {
            h["uploads"]["files"] == 1
        })
        .await;
    // (The file itself is deleted off the runtime's threads, just after.)
    wait_left_in(&dir, 1).await;
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_world_writable_upload_dir_is_refused_and_a_planted_default_is_not_used() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch();
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let config = with_uploads("http://127.0.0.1:9/webhook/x", &dir);
        let refused = server::AppState::new(config).map(|_| ());
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("--upload-dir") && message.contains("other users may write to it"),
            "{message}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        // Another user plants the old predictable default, writable by all.
        let planted =
            std::env::temp_dir().join(format!("n8n-chat-relay-uploads-{}", std::process::id()));
        std::fs::create_dir_all(&planted).expect("planted");
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let n8n = StandIn::start().await.expect("stand-in");
        let mut config = config_for(&n8n.url("/webhook/e1/chat"));
        config.uploads.allow_file_uploads = true;
        let relay = Relay::start(config).await;
        let client = Client::connect(&relay.ws_url("/ws")).await;
        let (status, _) = upload(
            &relay,
            &client.session_id,
            "a.png",
            "image/png",
            PNG.to_vec(),
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(
            left_in(&planted),
            0,
            "nothing goes into the planted directory"
        );
        relay.stop().await;
        let _ = std::fs::remove_dir_all(&planted);
    }
}
