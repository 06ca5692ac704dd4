//! `forget` over a real WebSocket: a deleted conversation's stored answers
//! are gone from the relay (a resend gets `answer_lost`, never the answer
//! and never a second run), for the connection's own session and for
//! other sessions of the same browser named in the frame.

use crate::support::{config_for, error_of, response_text, Client, Relay};
use shared::{ClientMessage, ErrorCode, ServerMessage};
use testkit::n8n::StandIn;

async fn forgotten(client: &mut Client) -> u32 {
    match client.next().await {
        ServerMessage::Forgotten { sessions } => sessions,
        other => panic!("expected forgotten, got {other:?}"),
    }
}

#[tokio::test]
async fn a_forgotten_session_no_longer_gives_its_answers() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    // Two conversations of one browser: `other` is away, `current` open.
    let mut other = Client::connect(&relay.ws_url("/ws")).await;
    let other_session = other.session_id.clone();
    other.say("m1", "my address is 1 Main St").await;
    assert_eq!(
        response_text(&other.next().await, "m1"),
        "echo: my address is 1 Main St"
    );
    drop(other);
    let mut current = Client::connect(&relay.ws_url("/ws")).await;
    let session = current.session_id.clone();
    current.say("m1", "hello").await;
    assert_eq!(response_text(&current.next().await, "m1"), "echo: hello");
    relay.wait_idle().await;

    // The other conversation, named; then the own one.
    current
        .send(ClientMessage::Forget {
            sessions: Some(vec![other_session.clone(), "not a session!".into()]),
        })
        .await;
    assert_eq!(
        forgotten(&mut current).await,
        1,
        "the invalid id is not counted"
    );
    current.send(ClientMessage::Forget { sessions: None }).await;
    assert_eq!(forgotten(&mut current).await, 1);

    // The own session's resend: not the stored answer, not run again.
    current.say("m1", "hello").await;
    let (code, _) = error_of(&current.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::AnswerLost);
    // The other session's resend, on a new connection: the same.
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={other_session}"))).await;
    assert_eq!(back.session_id, other_session);
    back.say("m1", "my address is 1 Main St").await;
    let (code, _) = error_of(&back.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::AnswerLost);
    assert_eq!(n8n.calls(), 2, "nothing ran twice");
    assert_ne!(session, other_session);
    relay.stop().await;
}

#[tokio::test]
async fn one_forget_frame_names_at_most_a_bounded_number_of_sessions() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let many: Vec<String> = (0..shared::validate::MAX_FORGET_SESSIONS + 50)
        .map(|i| format!("s-{i}"))
        .collect();
    client
        .send(ClientMessage::Forget {
            sessions: Some(many),
        })
        .await;
    assert_eq!(
        forgotten(&mut client).await as usize,
        shared::validate::MAX_FORGET_SESSIONS
    );
    relay.stop().await;
}
