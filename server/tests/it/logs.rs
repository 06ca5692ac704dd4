//! What the relay logs: a session by a short hash, never its id (the
//! conversation's only credential), and never a message's text.

use crate::support::log_capture::Captured;
use crate::support::{config, response_text, Client, Relay};

#[tokio::test]
async fn sessions_are_logged_by_hash_and_texts_not_at_all() {
    let (captured, _guard) = Captured::text_debug();
    let relay = Relay::start(config()).await;
    let session = "a-secret-session-id-42";
    let mut client = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    client.say("m1", "my private words").await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: my private words"
    );
    drop(client);
    relay.stop().await;
    let logs = captured.text();
    assert!(logs.contains("connected"), "{logs}");
    assert!(
        logs.contains(&server::redact::session(session).to_string()),
        "the hash names the session: {logs}"
    );
    assert!(!logs.contains(session), "the session id leaked: {logs}");
    assert!(
        !logs.contains("private words"),
        "a message text leaked: {logs}"
    );
}

/// Ids are written to logs as they are (`%`); tracing escapes control
/// characters like ESC in values, but not a newline. An id with one must be
/// refused before it reaches any log line — it would forge one. (Before the
/// id alphabet: the duplicate's debug line carried the id and so a
/// second, forged line.)
#[tokio::test]
async fn a_newline_in_a_message_id_cannot_forge_a_log_line() {
    let (captured, _guard) = Captured::text_debug();
    let relay = Relay::start(config()).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    let frame = r#"{"type":"message","id":"m1\nFORGED ERROR admin logged in","text":"x"}"#;
    for _ in 0..2 {
        // Twice: a duplicate is logged with its id.
        client.send_raw(frame).await;
        match client.next().await {
            shared::ServerMessage::Error { id, code, .. } => {
                assert_eq!(code, shared::ErrorCode::InvalidMessage);
                assert_eq!(id, None, "the bad id is not echoed");
            }
            other => panic!("expected invalid_message, got {other:?}"),
        }
    }
    client.say("m2", "still fine").await;
    assert_eq!(
        response_text(&client.next().await, "m2"),
        "echo: still fine"
    );
    drop(client);
    relay.stop().await;
    let logs = captured.text();
    assert!(
        !logs.lines().any(|l| l.starts_with("FORGED")),
        "a forged log line: {logs}"
    );
    assert!(!logs.contains("admin logged in"), "{logs}");
}

/// The capture these tests read must not miss a line that another test's
/// thread (with no subscriber of its own) reached first: `tracing` caches
/// per line whether anyone wants it (CI once missed `verified identity on`).
#[test]
fn a_line_reached_first_on_another_thread_is_still_captured() {
    fn line() {
        tracing::info!("a line both threads reach");
    }
    let (captured, _guard) = Captured::text_debug();
    std::thread::spawn(line).join().expect("the other thread");
    line();
    assert!(
        captured.text().contains("a line both threads reach"),
        "missed: {}",
        captured.text()
    );
}
