//! Graceful shutdown: answers in flight are delivered, then every client
//! gets close 1001 and `run` returns.

use std::time::Duration;

use crate::support::{config_for, error_of, response_text, Client, Relay};
use shared::ErrorCode;
use testkit::n8n::{Mode, StandIn};

#[tokio::test]
async fn in_flight_answers_are_delivered_before_closing_with_1001() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let mut idle = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "slow:300 finishing").await;
    assert!(n8n.wait_for_calls(1).await);
    relay.begin_shutdown();
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: slow:300 finishing"
    );
    assert_eq!(client.expect_close().await.0, 1001);
    assert_eq!(idle.expect_close().await.0, 1001);
    relay.stop().await;
}

#[tokio::test]
async fn answers_that_outlast_the_grace_period_end_in_shutting_down() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Hang);
    let mut cfg = config_for(&n8n.url("/webhook/chat"));
    cfg.serve.shutdown_grace = Duration::from_millis(200);
    let mut relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "never answered").await;
    assert!(n8n.wait_for_calls(1).await);
    relay.begin_shutdown();
    assert_eq!(
        error_of(&client.next().await, Some("m1")).0,
        ErrorCode::ShuttingDown
    );
    assert_eq!(client.expect_close().await.0, 1001);
    relay.stop().await;
}

#[tokio::test]
async fn messages_sent_during_the_drain_are_refused_not_lost() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "slow:500 keeps the drain open").await;
    assert!(n8n.wait_for_calls(1).await);
    relay.begin_shutdown();
    // Wait until the relay reports draining, then send.
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    loop {
        let draining = reqwest::get(relay.http_url("/healthz")).await.ok();
        let status = match draining {
            Some(r) => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .map(|v| v["status"].clone()),
            None => None,
        };
        // Once the listener is closed, /healthz is unreachable: also draining.
        if status.as_ref().is_none_or(|s| s == "draining") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.say("m2", "too late").await;
    let mut got_m1 = false;
    let mut got_m2 = false;
    while !(got_m1 && got_m2) {
        match client.next().await {
            shared::ServerMessage::Response { id, .. } if id == "m1" => got_m1 = true,
            frame @ shared::ServerMessage::Error { .. } => {
                assert_eq!(error_of(&frame, Some("m2")).0, ErrorCode::ShuttingDown);
                got_m2 = true;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(n8n.calls(), 1);
    relay.stop().await;
}
