//! Abuse limits: connections in total and per IP, message rate, messages
//! in flight per session. Over a limit the client is told, never ignored.

use std::time::Duration;

use crate::support::{config, config_for, error_of, response_text, Client, Relay};
use shared::{ErrorCode, ServerMessage};
use testkit::n8n::StandIn;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn refused_status(url: &str, forwarded_for: Option<&str>) -> Option<u16> {
    let mut request = url.into_client_request().expect("request");
    if let Some(xff) = forwarded_for {
        request.headers_mut().insert(
            "X-Forwarded-For",
            HeaderValue::from_str(xff).expect("header"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => {
            drop(Client::after_connect(ws).await);
            None
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Some(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn the_total_number_of_connections_is_capped_and_places_free_up() {
    let mut cfg = config();
    cfg.limits.max_connections = 2;
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    let a = Client::connect(&url).await;
    let _b = Client::connect(&url).await;
    assert_eq!(refused_status(&url, None).await, Some(503));
    drop(a);
    // The place frees up once the relay has seen the close.
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    while relay.health().await["connections"] != 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    loop {
        match refused_status(&url, None).await {
            None => break,
            Some(_) => assert!(tokio::time::Instant::now() < deadline, "place never freed"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    relay.stop().await;
}

#[tokio::test]
async fn connections_per_ip_are_capped_and_forwarded_for_counts_only_from_trusted_proxies() {
    let mut cfg = config();
    cfg.limits.max_connections_per_ip = 1;
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    let _a = Client::connect(&url).await;
    assert_eq!(refused_status(&url, None).await, Some(429));
    // An invented X-Forwarded-For from an untrusted peer changes nothing.
    assert_eq!(refused_status(&url, Some("198.51.100.1")).await, Some(429));
    relay.stop().await;

    let mut cfg = config();
    cfg.limits.max_connections_per_ip = 1;
    cfg.serve.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    let mut request = url.as_str().into_client_request().expect("request");
    request
        .headers_mut()
        .insert("X-Forwarded-For", HeaderValue::from_static("198.51.100.1"));
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("first via proxy");
    let _first = Client::after_connect(ws).await;
    assert_eq!(refused_status(&url, Some("198.51.100.1")).await, Some(429));
    assert_eq!(refused_status(&url, Some("198.51.100.2")).await, None);
    relay.stop().await;
}

#[tokio::test]
async fn messages_over_the_rate_get_rate_limited_with_a_retry_time() {
    let mut cfg = config();
    cfg.limits.rate_limit = 1.0;
    cfg.limits.rate_burst = 3;
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for i in 0..5 {
        client.say(&format!("m{i}"), "hi").await;
    }
    let mut answered = 0;
    let mut limited = 0;
    for _ in 0..5 {
        match client.next().await {
            ServerMessage::Response { .. } => answered += 1,
            frame @ ServerMessage::Error { .. } => {
                let id = frame.answer_id().map(str::to_owned);
                let (code, message) = error_of(&frame, id.as_deref());
                assert_eq!(code, ErrorCode::RateLimited);
                assert!(message.contains("try again in"), "{message}");
                limited += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((answered, limited), (3, 2));
    // Pings are never limited.
    client.send(shared::ClientMessage::Ping { ts: None }).await;
    assert!(matches!(client.next().await, ServerMessage::Pong { .. }));
    relay.stop().await;
}

/// Button presses and Stops reach a run's bounded command queue: they
/// share the connection's message rate, so one page cannot fill it.
#[tokio::test]
async fn button_presses_and_stops_share_the_message_rate() {
    let mut cfg = config();
    cfg.limits.rate_limit = 1.0;
    cfg.limits.rate_burst = 3;
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for button in 0..3 {
        client
            .send(shared::ClientMessage::Choice {
                id: "m0".into(),
                seq: 1,
                button,
            })
            .await;
    }
    client
        .send(shared::ClientMessage::Cancel { id: "m0".into() })
        .await;
    // Not the message's error: the run (if any) goes on.
    let (code, message) = error_of(&client.next().await, None);
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("too many frames"), "{message}");
    client.say("m1", "hi").await;
    assert_eq!(
        error_of(&client.next().await, Some("m1")).0,
        ErrorCode::RateLimited,
        "one rate for all of them"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_session_has_a_bounded_number_of_messages_waiting_for_n8n() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut cfg = config_for(&n8n.url("/webhook/chat"));
    cfg.limits.max_in_flight_per_session = 2;
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("a", "slow:300 a").await;
    client.say("b", "slow:300 b").await;
    client.say("c", "slow:300 c").await;
    assert_eq!(
        error_of(&client.next().await, Some("c")).0,
        ErrorCode::RateLimited
    );
    let mut ids = vec![];
    for _ in 0..2 {
        match client.next().await {
            ServerMessage::Response { id, .. } => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    ids.sort();
    assert_eq!(ids, ["a", "b"]);
    client.say("c", "slow:0 c").await;
    assert_eq!(response_text(&client.next().await, "c"), "echo: slow:0 c");
    relay.stop().await;
}

#[tokio::test]
async fn new_connections_from_one_ip_are_rate_limited() {
    let mut cfg = config();
    cfg.limits.upgrades_per_minute_per_ip = 2;
    let relay = Relay::start(cfg).await;
    let url = relay.ws_url("/ws");
    assert_eq!(refused_status(&url, None).await, None);
    assert_eq!(refused_status(&url, None).await, None);
    assert_eq!(refused_status(&url, None).await, Some(429));
    relay.stop().await;
}
