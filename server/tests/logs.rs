//! What the relay logs: a session by a short hash, never its id (the
//! conversation's only credential), and never a message's text.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use support::{config, response_text, Client, Relay};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn sessions_are_logged_by_hash_and_texts_not_at_all() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    // This test's runtime has one thread: the relay's tasks log here too.
    let _guard = tracing::subscriber::set_default(subscriber);
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
    let logs = String::from_utf8_lossy(&captured.0.lock().expect("logs")).into_owned();
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
