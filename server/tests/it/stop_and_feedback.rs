//! Stop and 👍/👎 (issue 18): a `cancel` ends an answer being streamed (what
//! arrived stays; nothing more is read) or a message waiting its turn, in
//! one `cancelled` error that a resend gets again without running n8n; a
//! `feedback` frame reaches `--feedback-url` from the relay, with the
//! answer the relay stored.

use std::time::Duration;

use crate::support::{config_for, error_of, response_text, Client, Relay};
use shared::{ClientMessage, ErrorCode, Rating, ServerMessage};
use testkit::n8n::{Mode, StandIn};

/// The stand-in n8n, and a relay sending chats to its `/webhook/chat`
/// and ratings to its `/webhook/feedback`.
async fn with_feedback_webhook() -> (StandIn, Relay) {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut config = config_for(&n8n.url("/webhook/chat"));
    config.n8n.feedback_url = Some(n8n.url("/webhook/feedback").parse().expect("url"));
    let relay = Relay::start(config).await;
    (n8n, relay)
}

async fn cancel(client: &mut Client, id: &str) {
    client.send(ClientMessage::Cancel { id: id.into() }).await;
}

#[tokio::test]
async fn stop_ends_a_streamed_answer_keeps_what_came_and_is_not_rerun() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_millis(600),
    });
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "tell me a long story").await;
    let ServerMessage::Chunk { id, .. } = client.next().await else {
        panic!("expected the first piece");
    };
    assert_eq!(id, "m1");
    cancel(&mut client, "m1").await;
    let (code, message) = error_of(&client.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::Cancelled);
    assert!(message.contains("kept"), "{message}");
    // The rest of the stream (due after the gap) is not read any more.
    client.expect_silence(Duration::from_millis(900)).await;
    // A resend (after a reconnect) gets the outcome again; n8n ran once.
    client.say("m1", "tell me a long story").await;
    assert_eq!(
        error_of(&client.next().await, Some("m1")).0,
        ErrorCode::Cancelled
    );
    assert_eq!(n8n.calls(), 1);
    // Run again on purpose.
    n8n.set_mode(Mode::Echo);
    client
        .send(ClientMessage::Message {
            id: "m1".into(),
            text: "tell me a long story".into(),
            metadata: None,
            retry: true,
            regenerate: false,
            files: Vec::new(),
        })
        .await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: tell me a long story"
    );
    assert_eq!(n8n.calls(), 2);
    // Stopping what is already answered changes nothing.
    cancel(&mut client, "m1").await;
    client.say("m1", "tell me a long story").await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: tell me a long story"
    );
    relay.stop().await;
}

#[tokio::test]
async fn stop_takes_a_message_out_of_its_turn() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Stream {
        gap: Duration::from_millis(800),
    });
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("first", "one").await;
    client.say("second", "two").await; // waits: one execution at a time
    assert!(n8n.wait_for_calls(1).await);
    cancel(&mut client, "second").await;
    let mut second_stopped = false;
    let mut first_answered = false;
    while !(second_stopped && first_answered) {
        match client.next().await {
            ServerMessage::Error { id, code, .. } if id.as_deref() == Some("second") => {
                assert_eq!(code, ErrorCode::Cancelled);
                assert!(!first_answered, "stopped at once, not after its turn");
                second_stopped = true;
            }
            ServerMessage::Response { id, .. } if id == "first" => first_answered = true,
            ServerMessage::Chunk { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(n8n.calls(), 1, "the stopped message never reached n8n");
    relay.stop().await;
}

#[tokio::test]
async fn a_rating_reaches_the_feedback_webhook_from_the_relay() {
    let (n8n, relay) = with_feedback_webhook().await;
    let page: serde_json::Value = reqwest::get(relay.http_url("/config.json"))
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert_eq!(page["feedback"], true, "the page shows the buttons");
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let session = client.session_id.clone();
    client.say("m1", "hi").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hi");
    for rating in [Some(Rating::Up), None] {
        client
            .send(ClientMessage::Feedback {
                id: "m1".into(),
                rating,
            })
            .await;
    }
    // A rating of nothing the relay answered goes nowhere.
    client
        .send(ClientMessage::Feedback {
            id: "never-asked".into(),
            rating: Some(Rating::Down),
        })
        .await;
    assert!(n8n.wait_for_calls(3).await);
    let ratings: Vec<serde_json::Value> = n8n
        .requests()
        .into_iter()
        .filter(|r| r.path == "/webhook/feedback")
        .map(|r| r.body)
        .collect();
    assert_eq!(ratings.len(), 2, "{ratings:?}");
    assert_eq!(ratings[0]["sessionId"], session.as_str());
    assert_eq!(ratings[0]["messageId"], "m1");
    assert_eq!(ratings[0]["rating"], "up");
    assert_eq!(ratings[0]["answer"], "echo: hi");
    assert!(ratings[0]["ratedAt"].is_u64());
    assert_eq!(ratings[1]["rating"], serde_json::Value::Null);
    client.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(n8n.calls(), 3, "the unknown message's rating was dropped");
    relay.stop().await;
}

#[tokio::test]
async fn ratings_on_their_way_are_bounded() {
    let (n8n, relay) = with_feedback_webhook().await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "hi").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hi");
    // The feedback webhook stops answering: ratings pile up to the bound.
    n8n.set_mode(Mode::Hang);
    let sent = server::responder::feedback::MAX_SENDING + 4;
    for i in 0..sent {
        let rating = if i % 2 == 0 { Rating::Up } else { Rating::Down };
        client
            .send(ClientMessage::Feedback {
                id: "m1".into(),
                rating: Some(rating),
            })
            .await;
    }
    assert!(
        n8n.wait_for_calls(1 + server::responder::feedback::MAX_SENDING)
            .await
    );
    let health = relay
        .wait_health("four ratings dropped", |h| h["feedbackDropped"] == 4)
        .await;
    assert_eq!(health["feedbackDropped"], 4);
    assert_eq!(
        n8n.calls(),
        1 + server::responder::feedback::MAX_SENDING,
        "never more on their way than the bound"
    );
    relay.stop().await;
}

#[tokio::test]
async fn without_a_feedback_url_the_page_shows_no_buttons() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let page: serde_json::Value = reqwest::get(relay.http_url("/config.json"))
        .await
        .expect("config")
        .json()
        .await
        .expect("json");
    assert!(page.get("feedback").is_none(), "{page}");
    relay.stop().await;
}
