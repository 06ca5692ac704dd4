//! The session handshake: the page names its session in its first frame
//! (`hello`, on a connection opened with `?hello`), so the session id — a
//! credential — never travels in a URL (proxies' access logs keep URLs).
//! The older `?session=` query form still works (deprecated). And the
//! new-session rate per address (`--new-sessions-per-minute-per-ip`).

use std::time::Duration;

use crate::support::{config, response_text, Client, Relay};
use futures_util::SinkExt;
use shared::{ClientMessage, ErrorCode, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

/// Connects to `url` (which has `?hello`), sends the `hello` naming
/// `session` (none: a new one) and reads the `connection` frame.
async fn connect_hello(url: &str, session: Option<&str>) -> Client {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let hello = ClientMessage::Hello {
        session_id: session.map(str::to_owned),
        token: None,
    };
    ws.send(Message::text(hello.encode())).await.expect("hello");
    Client::after_connect(ws).await
}

#[tokio::test]
async fn the_session_in_the_first_frame_continues_it_without_any_query() {
    let relay = Relay::start(config()).await;
    let url = relay.ws_url("/ws?hello");
    let mut first = connect_hello(&url, None).await;
    let session = first.session_id.clone();
    assert_eq!(session.len(), 36, "a new session");
    first.say("m1", "hello there").await;
    assert_eq!(
        response_text(&first.next().await, "m1"),
        "echo: hello there"
    );
    drop(first);
    // Back, naming the session only in the frame: same session, and the
    // answered message is answered from memory.
    let mut back = connect_hello(&url, Some(&session)).await;
    assert_eq!(back.session_id, session);
    back.say("m1", "hello there").await;
    assert_eq!(response_text(&back.next().await, "m1"), "echo: hello there");
    // The deprecated query form reaches the same session.
    let mut old = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    assert_eq!(old.session_id, session);
    old.say("m1", "hello there").await;
    assert_eq!(response_text(&old.next().await, "m1"), "echo: hello there");
    // On `/` as well as `/ws`.
    let root = connect_hello(&relay.ws_url("/?hello"), Some(&session)).await;
    assert_eq!(root.session_id, session);
    relay.stop().await;
}

#[tokio::test]
async fn an_invalid_session_in_the_hello_gets_a_new_one_and_says_so() {
    let relay = Relay::start(config()).await;
    let mut client = connect_hello(&relay.ws_url("/ws?hello"), Some("not valid!")).await;
    assert_eq!(client.session_id.len(), 36);
    match client.next().await {
        ServerMessage::Error { id: None, code, .. } => {
            assert_eq!(code, ErrorCode::InvalidSession)
        }
        other => panic!("expected invalid_session, got {other:?}"),
    }
    // A second hello changes nothing.
    client
        .send(ClientMessage::Hello {
            session_id: Some("other".into()),
            token: None,
        })
        .await;
    match client.next().await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::InvalidMessage),
        other => panic!("expected invalid_message, got {other:?}"),
    }
    relay.stop().await;
}

#[tokio::test]
async fn without_a_hello_first_the_connection_is_closed() {
    let relay = Relay::start(config()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws?hello"))
        .await
        .expect("connect");
    ws.send(Message::text(ClientMessage::Ping { ts: None }.encode()))
        .await
        .expect("ping");
    let mut client = Client {
        ws,
        session_id: String::new(),
        client_id: String::new(),
        heartbeat_ms: 0,
    };
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1008);
    assert!(reason.contains("hello"), "{reason}");
    relay.stop().await;
}

#[tokio::test]
async fn a_hello_that_never_comes_ends_the_connection() {
    let mut cfg = config();
    cfg.serve.idle_timeout = Duration::from_millis(300);
    let relay = Relay::start(cfg).await;
    let (ws, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws?hello"))
        .await
        .expect("connect");
    let mut client = Client {
        ws,
        session_id: String::new(),
        client_id: String::new(),
        heartbeat_ms: 0,
    };
    let (code, _) = client.expect_close().await;
    assert_eq!(code, 1008);
    relay.stop().await;
}

/// Eviction is not cheap: an address gets this many new sessions a minute
/// (asked for none, or naming one the relay does not know), both forms;
/// continuing a known session is free.
#[tokio::test]
async fn new_sessions_per_address_are_limited() {
    let mut cfg = config();
    cfg.retention.new_sessions_per_minute_per_ip = 3;
    let relay = Relay::start(cfg).await;
    let first = Client::connect(&relay.ws_url("/ws")).await;
    let _second = connect_hello(&relay.ws_url("/ws?hello"), None).await;
    let _third = Client::connect(&relay.ws_url("/ws?session=made-up-1")).await;
    // The fourth: refused before the upgrade (query form)…
    let refused = tokio_tungstenite::connect_async(relay.ws_url("/ws?session=made-up-2")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429)
        }
        other => panic!("expected 429, got {:?}", other.map(|(_, r)| r.status())),
    }
    assert!(
        tokio_tungstenite::connect_async(relay.ws_url("/ws"))
            .await
            .is_err(),
        "no session asked for: a new one, refused too"
    );
    // …or after the hello: a rate_limited error, then close 1013.
    let (mut ws, _) = tokio_tungstenite::connect_async(relay.ws_url("/ws?hello"))
        .await
        .expect("connect");
    let hello = ClientMessage::Hello {
        session_id: None,
        token: None,
    }
    .encode();
    ws.send(Message::text(hello)).await.expect("hello");
    let mut refused = Client {
        ws,
        session_id: String::new(),
        client_id: String::new(),
        heartbeat_ms: 0,
    };
    match refused.next().await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::RateLimited),
        other => panic!("expected rate_limited, got {other:?}"),
    }
    assert_eq!(refused.expect_close().await.0, 1013);
    // Known sessions are free: both forms.
    let known = first.session_id.clone();
    let again = Client::connect(&relay.ws_url(&format!("/ws?session={known}"))).await;
    assert_eq!(again.session_id, known);
    let again = connect_hello(&relay.ws_url("/ws?hello"), Some(&known)).await;
    assert_eq!(again.session_id, known);
    relay.stop().await;
}
