//! Sessions across reconnects: no double calls to n8n, no lost answers, and
//! many clients at once each getting exactly their own answers.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{config_for, response_text, Client, Relay};
use shared::ServerMessage;
use testkit::n8n::StandIn;

#[tokio::test]
async fn a_repeated_id_reaches_n8n_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "slow:300 once").await;
    assert!(n8n.wait_for_calls(1).await);
    client.say("m1", "slow:300 once").await; // while in flight
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: slow:300 once"
    );
    client.say("m1", "slow:300 once").await; // after the answer
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: slow:300 once"
    );
    client.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(n8n.calls(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn an_answer_that_completes_while_away_is_delivered_on_reconnect() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let session = client.session_id.clone();
    client.say("m1", "slow:300 while you were away").await;
    assert!(n8n.wait_for_calls(1).await);
    drop(client);
    assert!(n8n.wait_for_finished(1).await);
    relay.wait_idle().await;

    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    assert_eq!(back.session_id, session);
    assert_eq!(
        response_text(&back.next().await, "m1"),
        "echo: slow:300 while you were away"
    );
    // The page resends what it had no answer for; the relay answers from memory.
    back.say("m1", "slow:300 while you were away").await;
    assert_eq!(
        response_text(&back.next().await, "m1"),
        "echo: slow:300 while you were away"
    );
    assert_eq!(n8n.calls(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn a_message_resent_on_a_new_connection_while_in_flight_is_answered_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut first = Client::connect(&relay.ws_url("/ws")).await;
    let session = first.session_id.clone();
    first.say("m1", "slow:400 hello").await;
    assert!(n8n.wait_for_calls(1).await);
    drop(first);
    let mut second = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    second.say("m1", "slow:400 hello").await;
    assert_eq!(
        response_text(&second.next().await, "m1"),
        "echo: slow:400 hello"
    );
    second.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(n8n.calls(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn twenty_clients_each_get_exactly_their_own_answers() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let url = relay.ws_url("/ws");
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..20 {
        let url = url.clone();
        tasks.spawn(async move {
            let mut client = Client::connect(&url).await;
            for m in 0..5 {
                client
                    .say(&format!("c{c}-m{m}"), &format!("client {c} message {m}"))
                    .await;
            }
            let mut seen = HashSet::new();
            for _ in 0..5 {
                match client.next().await {
                    ServerMessage::Response { id, text, .. } => {
                        let m = id
                            .strip_prefix(&format!("c{c}-m"))
                            .expect("own id")
                            .to_owned();
                        assert_eq!(text, format!("echo: client {c} message {m}"));
                        assert!(seen.insert(id), "answered twice");
                    }
                    other => panic!("client {c}: {other:?}"),
                }
            }
            client.expect_silence(Duration::from_millis(100)).await;
            seen.len()
        });
    }
    let mut total = 0;
    while let Some(result) = tasks.join_next().await {
        total += result.expect("client task");
    }
    assert_eq!(total, 100);
    assert_eq!(n8n.calls(), 100);
    relay.stop().await;
}

/// A connection that never reads is closed with 1008 once its bounded
/// queue (`OUTBOUND_QUEUE` frames, after the TCP buffers) is full, and the
/// others — on the same session too — go on unhindered.
#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_does_not_slow_the_others() {
    let mut cfg = crate::support::config();
    cfg.limits.rate_burst = 100_000;
    cfg.limits.rate_limit = 100_000.0;
    let relay = Relay::start(cfg).await;
    // The stuck connection shares its session with a driver: every answer
    // the driver gets goes to the stuck one too, which never reads.
    let mut driver = Client::connect(&relay.ws_url("/ws")).await;
    let driver_session = driver.session_id.clone();
    let mut stuck = Client::connect(&relay.ws_url(&format!("/ws?session={driver_session}"))).await;
    let big = "y".repeat(60_000);
    let mut sent = 0;
    // Far more than the queue and any socket buffer hold (60 KB each).
    while relay.health().await["connections"] == 2 {
        assert!(sent < 5_000, "the stuck client was never closed");
        for _ in 0..20 {
            let id = format!("d{sent}");
            driver.say(&id, &big).await;
            assert_eq!(
                response_text(&driver.next().await, &id).len(),
                big.len() + 6
            );
            sent += 1;
        }
    }
    assert!(
        sent > server::ws::OUTBOUND_QUEUE,
        "closed after {sent} answers: the queue bound was passed"
    );
    // Reading what was buffered, the stuck client finds its connection
    // ended: with the 1008 close frame if it still fit in the socket's
    // buffers, else by the relay dropping the socket after trying.
    loop {
        match tokio::time::timeout(
            crate::support::STEP,
            futures_util::StreamExt::next(&mut stuck.ws),
        )
        .await
        .expect("the stuck connection ends")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                let frame = frame.expect("a close code");
                assert_eq!(u16::from(frame.code), 1008);
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    let mut fine = Client::connect(&relay.ws_url("/ws")).await;
    for i in 0..5 {
        let id = format!("f{i}");
        fine.say(&id, "hello").await;
        assert_eq!(response_text(&fine.next().await, &id), "echo: hello");
    }
    relay.stop().await;
}

/// The attack of eviction: with `--max-sessions 5`, a visitor's session is
/// pushed out by a dozen others while the visitor is away; its page then
/// resends its message. The relay must not run it again (n8n sees it once)
/// and says `answer_lost` instead. (Before tombstones: the resend looked
/// new and n8n ran it a second time.)
#[tokio::test]
async fn a_resend_after_eviction_is_not_run_again_but_answer_lost() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut cfg = config_for(&n8n.url("/webhook/chat"));
    cfg.retention.max_sessions = 5;
    let relay = Relay::start(cfg).await;
    let mut a = Client::connect(&relay.ws_url("/ws")).await;
    let session = a.session_id.clone();
    a.say("a-m1", "only once please").await;
    assert_eq!(
        response_text(&a.next().await, "a-m1"),
        "echo: only once please"
    );
    drop(a);
    // Away: no connection left (so A is the oldest idle session).
    relay
        .wait_health("A disconnected", |h| h["connections"] == 0)
        .await;
    for i in 0..12 {
        let mut other = Client::connect(&relay.ws_url("/ws")).await;
        let id = format!("o{i}");
        other.say(&id, &format!("other {i}")).await;
        assert_eq!(
            response_text(&other.next().await, &id),
            format!("echo: other {i}")
        );
        drop(other);
        relay
            .wait_health("the other disconnected", |h| h["connections"] == 0)
            .await;
    }
    let health = relay.health().await;
    assert!(health["sessions"].as_u64() <= Some(5), "{health}");
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    back.say("a-m1", "only once please").await;
    match back.next().await {
        ServerMessage::Error { id, code, .. } => {
            assert_eq!(id.as_deref(), Some("a-m1"));
            assert_eq!(code, shared::ErrorCode::AnswerLost);
        }
        other => panic!("expected answer_lost, got {other:?}"),
    }
    back.expect_silence(Duration::from_millis(200)).await;
    let runs = n8n
        .inputs()
        .iter()
        .filter(|t| t.as_str() == "only once please")
        .count();
    assert_eq!(runs, 1, "n8n ran A's message exactly once");
    assert_eq!(n8n.calls(), 13);
    relay.stop().await;
}
