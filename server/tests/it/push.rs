//! `POST /api/sessions/{id}/messages`: n8n pushing a message to a chat.

use crate::support::{config, Client, Relay};
use clap::Parser;
use server::config::Secret;
use server::Config;
use shared::rich_text::{Block, Inline};
use shared::ServerMessage;

const TOKEN: &str = "test-push-token-0123456789";

fn with_token() -> Config {
    let mut cfg = config();
    cfg.n8n.push_token = Some(Secret(TOKEN.into()));
    cfg
}

async fn push(
    relay: &Relay,
    session: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(relay.http_url(&format!("/api/sessions/{session}/messages")))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, json, challenge)
}

fn pushed(frame: ServerMessage) -> (String, String) {
    match frame {
        ServerMessage::Push { id, text, .. } => (id, text),
        other => panic!("expected a push, got {other:?}"),
    }
}

#[tokio::test]
async fn every_open_connection_of_the_session_gets_the_push() {
    let relay = Relay::start(with_token()).await;
    let mut a = Client::connect(&relay.ws_url("/ws")).await;
    let mut b = Client::connect(&relay.ws_url(&format!("/ws?session={}", a.session_id))).await;
    let mut other = Client::connect(&relay.ws_url("/ws")).await;
    let (status, body, _) = push(
        &relay,
        &a.session_id,
        Some(TOKEN),
        r#"{"text":"Your **report** is ready"}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["delivered"], 2);
    let frame = a.next().await;
    // Formatted by the relay, like every bot text.
    let ServerMessage::Push { doc, .. } = &frame else {
        panic!("expected a push, got {frame:?}");
    };
    assert_eq!(
        doc.as_deref(),
        Some(
            &[Block::P(vec![
                Inline::T("Your ".into()),
                Inline::B(vec![Inline::T("report".into())]),
                Inline::T(" is ready".into()),
            ])][..]
        )
    );
    let (id_a, text) = pushed(frame);
    assert_eq!(text, "Your **report** is ready");
    let (id_b, _) = pushed(b.next().await);
    assert_eq!(id_a, id_b, "one push, one id");
    assert_eq!(body["id"], id_a);
    other
        .expect_silence(std::time::Duration::from_millis(200))
        .await;
    relay.stop().await;
}

#[tokio::test]
async fn a_push_for_a_session_that_is_away_waits_for_its_return() {
    let relay = Relay::start(with_token()).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let session = client.session_id.clone();
    drop(client);
    // Wait until the relay has seen the connection go.
    relay
        .wait_health("the connection to close", |h| h["connections"] == 0)
        .await;
    let (status, body, _) = push(&relay, &session, Some(TOKEN), r#"{"text":"later"}"#).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["kept"], true);
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let (id, text) = pushed(back.next().await);
    assert_eq!(
        (id.as_str(), text.as_str()),
        (body["id"].as_str().unwrap_or_default(), "later")
    );
    relay.stop().await;
}

#[tokio::test]
async fn without_the_right_token_nothing_is_pushed() {
    let relay = Relay::start(with_token()).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let session = client.session_id.clone();
    for token in [
        None,
        Some("wrong-token-0123456789"),
        Some("test-push-token-012345678"),
    ] {
        let (status, _, challenge) = push(&relay, &session, token, r#"{"text":"x"}"#).await;
        assert_eq!(status, 401, "token {token:?}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
    }
    client
        .expect_silence(std::time::Duration::from_millis(200))
        .await;
    relay.stop().await;
}

#[tokio::test]
async fn unknown_sessions_bad_bodies_and_oversize_are_refused() {
    let mut cfg = with_token();
    cfg.limits.max_message_bytes = 1000;
    let relay = Relay::start(cfg).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let session = client.session_id.clone();
    let cases = [
        ("never-seen-session", r#"{"text":"x"}"#.to_owned(), 404),
        ("bad session id!", r#"{"text":"x"}"#.to_owned(), 404),
        (session.as_str(), r#"{"text":"   "}"#.to_owned(), 400),
        (session.as_str(), r#"{"txt":"x"}"#.to_owned(), 400),
        (session.as_str(), "not json".to_owned(), 400),
        (
            session.as_str(),
            format!(r#"{{"text":"{}"}}"#, "x".repeat(1000)),
            413,
        ),
        (
            session.as_str(),
            format!(r#"{{"text":"{}"}}"#, "x".repeat(100_000)),
            413,
        ),
    ];
    for (session, body, expected) in cases {
        let (status, json, _) = push(
            &relay,
            &session.replace(' ', "%20").replace('!', "%21"),
            Some(TOKEN),
            &body,
        )
        .await;
        assert_eq!(
            status,
            expected,
            "session {session:?}, body {} …: {json}",
            &body[..body.len().min(30)]
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn pushing_is_off_without_a_token() {
    let relay = Relay::start(config()).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let (status, body, _) = push(&relay, &client.session_id, Some(TOKEN), r#"{"text":"x"}"#).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("--push-token"),
        "{body}"
    );
    relay.stop().await;
}

#[test]
fn short_tokens_are_refused_at_start() {
    assert!(Config::try_parse_from(["relay", "--push-token", "short"]).is_err());
    assert!(Config::try_parse_from(["relay", "--push-token", TOKEN]).is_ok());
}

/// Sends a push request head announcing a 65537-byte body and never sends
/// the body; returns what the relay answered before it closed the
/// connection (read to its end) and how long that took. Fails the test if
/// the relay keeps it open for [`crate::support::STEP`].
async fn announce_a_body_that_never_comes(
    relay: &Relay,
    token: Option<&str>,
) -> (String, std::time::Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(relay.addr)
        .await
        .expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /api/sessions/x/messages HTTP/1.1\r\nHost: relay\r\n{auth}Content-Type: application/json\r\nContent-Length: 65537\r\n\r\n"
    );
    let sent = tokio::time::Instant::now();
    tcp.write_all(head.as_bytes()).await.expect("write");
    let read = async {
        let mut got = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return got,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let got = tokio::time::timeout(crate::support::STEP, read)
        .await
        .expect("the relay closed the connection in time");
    (String::from_utf8_lossy(&got).into_owned(), sent.elapsed())
}

/// Slow body: a push request that announces a body and never sends it.
/// With pushing off, or on and without the token, it is answered at once
/// (nothing waits for the body) and closed; with the right token the body
/// gets `--http-header-timeout` and then the answer is 408. Before, the
/// handler read the whole body first: the connection was held for ever.
#[tokio::test]
async fn a_push_body_that_never_comes_holds_no_connection() {
    let long = std::time::Duration::from_secs(60);
    let mut cfg = config();
    cfg.limits.http_header_timeout = long;
    let relay = Relay::start(cfg).await;
    let (got, took) = announce_a_body_that_never_comes(&relay, None).await;
    assert!(got.starts_with("HTTP/1.1 404"), "{got}");
    assert!(took < long / 2, "answered at once: {took:?}");
    relay.stop().await;

    let mut cfg = with_token();
    cfg.limits.http_header_timeout = long;
    let relay = Relay::start(cfg).await;
    let (got, took) = announce_a_body_that_never_comes(&relay, None).await;
    assert!(got.starts_with("HTTP/1.1 401"), "{got}");
    assert!(took < long / 2, "answered at once: {took:?}");
    let (got, _) = announce_a_body_that_never_comes(&relay, Some("wrong")).await;
    assert!(got.starts_with("HTTP/1.1 401"), "{got}");
    relay.stop().await;

    let deadline = std::time::Duration::from_millis(500);
    let mut cfg = with_token();
    cfg.limits.http_header_timeout = deadline;
    let relay = Relay::start(cfg).await;
    let (got, took) = announce_a_body_that_never_comes(&relay, Some(TOKEN)).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(took >= deadline, "the body had its deadline: {took:?}");
    relay.stop().await;
}
