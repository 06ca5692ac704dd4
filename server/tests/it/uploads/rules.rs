//! Who may upload what: the relay's checks on a file and a message's
//! files, uploads off unless asked for, origins, the session header, and
//! an upload directory others could write.

use super::{file_ref, left_in, say_with_files, scratch, upload, with_uploads, PNG};
use crate::support::{config_for, error_of, Client, Relay};
use shared::{ErrorCode, FileRef};
use testkit::n8n::StandIn;

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
