//! How much may be stored: the whole store, each session, and each
//! client address (files and bytes), which a client cannot choose.

use super::{left_in, scratch, upload, upload_from, with_uploads, PNG};
use crate::support::{Client, Relay};
use testkit::n8n::StandIn;

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
        let client = match crate::support::connect_with_headers(&relay.ws_url("/ws"), &[]).await {
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
