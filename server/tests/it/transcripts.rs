//! Conversation transcripts kept on the relay (issue 24), over a real
//! WebSocket against the stand-in n8n: a second tab resuming a session gets
//! what was said as one `history` frame, from the relay's store (n8n's
//! memory not asked); a signed-in user's other device opening a listed
//! conversation gets it, also after a restart on the same `--data-dir`;
//! another user or an anonymous visitor naming the session gets none;
//! `forget` deletes it; `--no-transcripts` keeps none, and n8n's memory is
//! then the history (`--load-previous-session`).
//!
//! "Got none" is decided by the relay's own answer, not by waiting: the
//! relay queues a resumed session's transcript before it reads any frame,
//! so it would come before the answer to a ping.

use crate::support::signed_in::{self, open, token};
use crate::support::{config_for, error_of, response_text, Client, Relay};
use serde_json::json;
use shared::{ClientMessage, ErrorCode, Role, ServerMessage};
use testkit::n8n::StandIn;

/// Sends message `id` and waits for its answer's text.
async fn chat(client: &mut Client, id: &str, text: &str) -> String {
    client.say(id, text).await;
    loop {
        match client.next().await {
            ServerMessage::Chunk { .. } => continue,
            frame => return response_text(&frame, id),
        }
    }
}

/// Every frame up to the answer to a ping (heartbeats left out).
async fn frames_until_pong(client: &mut Client) -> Vec<ServerMessage> {
    client.send(ClientMessage::Ping { ts: None }).await;
    let mut seen = Vec::new();
    loop {
        match client.next_any().await {
            ServerMessage::Pong { .. } => return seen,
            ServerMessage::Heartbeat { .. } => continue,
            other => seen.push(other),
        }
    }
}

/// The `history` among `frames`, as (role, text) pairs; `None` if none.
fn history(frames: &[ServerMessage]) -> Option<Vec<(Role, String)>> {
    frames.iter().find_map(|f| match f {
        ServerMessage::History { messages } => {
            Some(messages.iter().map(|m| (m.role, m.text.clone())).collect())
        }
        _ => None,
    })
}

fn lines(said: &[(Role, &str)]) -> Vec<(Role, String)> {
    said.iter().map(|(r, t)| (*r, (*t).to_owned())).collect()
}

fn signed_in(n8n: &StandIn, dir: &std::path::Path) -> server::Config {
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.identity.identity_secret = Some(server::config::Secret(signed_in::SECRET.into()));
    config.store.data_dir = Some(dir.to_owned());
    config
}

#[tokio::test]
async fn a_second_tab_gets_the_conversation_from_the_relays_store() {
    let n8n = StandIn::start().await.expect("stand-in");
    // n8n's memory says something else: the relay's transcript wins, and
    // n8n is not asked.
    n8n.set_history(&[(true, "from n8n's memory")]);
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.n8n.load_previous_session = true;
    let relay = Relay::start(config).await;
    let mut first = Client::connect(&relay.ws_url("/ws")).await;
    assert!(
        history(&frames_until_pong(&mut first).await).is_none(),
        "a new session has none"
    );
    assert_eq!(chat(&mut first, "m1", "hello").await, "echo: hello");
    assert_eq!(
        chat(&mut first, "m2", "how *are* you").await,
        "echo: how *are* you"
    );
    let session = first.session_id.clone();

    let mut second = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let frames = frames_until_pong(&mut second).await;
    assert_eq!(
        history(&frames),
        Some(lines(&[
            (Role::User, "hello"),
            (Role::Bot, "echo: hello"),
            (Role::User, "how *are* you"),
            (Role::Bot, "echo: how *are* you"),
        ])),
        "the four lines in order"
    );
    // The bot's lines come formatted like live answers, the user's not.
    let Some(ServerMessage::History { messages }) = frames
        .iter()
        .find(|f| matches!(f, ServerMessage::History { .. }))
    else {
        panic!("a history frame");
    };
    assert!(messages[3].doc.is_some(), "*are* is emphasis");
    assert!(messages[2].doc.is_none());
    assert_eq!(n8n.calls(), 2, "two messages; n8n's memory not asked");
    relay.stop().await;
}

#[tokio::test]
async fn a_signed_in_users_other_device_gets_a_listed_conversation_after_a_restart() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = Relay::start(signed_in(&n8n, dir.path())).await;
    let alice = token("alice");
    let mut laptop = open(&relay, None, Some(&alice)).await;
    let session = laptop.session_id.clone();
    assert_eq!(
        chat(&mut laptop, "m1", "plan a trip").await,
        "echo: plan a trip"
    );
    laptop
        .send(ClientMessage::SaveConversation {
            session: session.clone(),
            title: "Trip".into(),
        })
        .await;
    let listed = laptop.next_conversations().await;
    assert_eq!(listed.len(), 1);
    let said = lines(&[
        (Role::User, "plan a trip"),
        (Role::Bot, "echo: plan a trip"),
    ]);

    let mut phone = open(&relay, Some(&session), Some(&alice)).await;
    assert_eq!(phone.session_id, session, "alice's own conversation");
    assert_eq!(
        history(&frames_until_pong(&mut phone).await),
        Some(said.clone())
    );

    // Nobody else gets it by naming the session: another user, and an
    // anonymous visitor, are given a new session and no history.
    for (who, token) in [("bob", Some(token("bob"))), ("anonymous", None)] {
        let mut other = open(&relay, Some(&session), token.as_deref()).await;
        assert_ne!(other.session_id, session, "{who}");
        let frames = frames_until_pong(&mut other).await;
        assert!(history(&frames).is_none(), "{who}: {frames:?}");
        let refused = frames
            .iter()
            .find(|f| matches!(f, ServerMessage::Error { .. }))
            .expect("told");
        assert_eq!(error_of(refused, None).0, ErrorCode::SessionForbidden);
    }
    drop((laptop, phone));
    relay.stop().await;

    // The same --data-dir after a restart: still there, for alice only.
    let relay = Relay::start(signed_in(&n8n, dir.path())).await;
    let mut tablet = open(&relay, Some(&session), Some(&alice)).await;
    assert_eq!(tablet.session_id, session);
    assert_eq!(history(&frames_until_pong(&mut tablet).await), Some(said));
    let mut bob = open(&relay, Some(&session), Some(&token("bob"))).await;
    assert!(history(&frames_until_pong(&mut bob).await).is_none());

    // Deleted: `forget` takes the transcript with the answers.
    tablet.send(ClientMessage::Forget { sessions: None }).await;
    loop {
        if let ServerMessage::Forgotten { sessions } = tablet.next().await {
            assert_eq!(sessions, 1);
            break;
        }
    }
    let mut again = open(&relay, Some(&session), Some(&alice)).await;
    assert_eq!(again.session_id, session, "still open on the tablet");
    assert!(
        history(&frames_until_pong(&mut again).await).is_none(),
        "forgotten"
    );
    relay.stop().await;
}

#[tokio::test]
async fn no_transcripts_keeps_none_and_n8ns_memory_is_the_history() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_history(&[(true, "hello"), (false, "from n8n's memory")]);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.store.data_dir = Some(dir.path().to_owned());
    config.retention.no_transcripts = true;
    config.n8n.load_previous_session = true;
    let relay = Relay::start(config.clone()).await;
    let mut first = Client::connect(&relay.ws_url("/ws")).await;
    assert_eq!(chat(&mut first, "m1", "hello").await, "echo: hello");
    let session = first.session_id.clone();
    let mut second = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    // n8n's memory is loaded by a task of its own: wait for its frame.
    let from_n8n = loop {
        if let ServerMessage::History { messages } = second.next_with_progress().await {
            break messages;
        }
    };
    assert_eq!(
        from_n8n.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["hello", "from n8n's memory"]
    );
    drop((first, second));
    relay.stop().await;

    // Nothing of it on disk either: the same data without n8n's memory
    // and with transcripts on has no history to give.
    config.retention.no_transcripts = false;
    config.n8n.load_previous_session = false;
    let relay = Relay::start(config).await;
    let mut third = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    assert_eq!(third.session_id, session);
    assert!(history(&frames_until_pong(&mut third).await).is_none());
    relay.stop().await;
}

/// A pushed message is part of the conversation: a tab that opens later
/// finds it in the history after the answer before it.
#[tokio::test]
async fn a_push_is_in_the_transcript() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    config.n8n.push_token = Some(server::config::Secret("a-push-token-0123456789".into()));
    let relay = Relay::start(config).await;
    let mut first = Client::connect(&relay.ws_url("/ws")).await;
    assert_eq!(chat(&mut first, "m1", "report?").await, "echo: report?");
    let session = first.session_id.clone();
    let pushed = reqwest::Client::new()
        .post(relay.http_url(&format!("/api/sessions/{session}/messages")))
        .bearer_auth("a-push-token-0123456789")
        .json(&json!({"text": "your report is ready"}))
        .send()
        .await
        .expect("push");
    assert_eq!(pushed.status(), 202);
    assert!(matches!(first.next().await, ServerMessage::Push { .. }));
    let mut second = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    assert_eq!(
        history(&frames_until_pong(&mut second).await),
        Some(lines(&[
            (Role::User, "report?"),
            (Role::Bot, "echo: report?"),
            (Role::Bot, "your report is ready"),
        ]))
    );
    relay.stop().await;
}
