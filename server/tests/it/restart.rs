//! The real `relay` binary with the sqlite store, killed with SIGKILL and
//! started again on the same `--data-dir`, against the testkit stand-in:
//! - killed after an answer was stored and before the page got it: the
//!   page's resend gets the answer, and n8n was called once;
//! - killed while n8n was still answering: the resend gets `interrupted`
//!   (n8n not called again); the user's Retry runs it (a second call).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{error_of, Client, STEP};
use shared::{ClientMessage, ErrorCode, ServerMessage};
use testkit::n8n::{Mode, StandIn};

/// A relay process.
struct Binary {
    child: Child,
    addr: SocketAddr,
}

impl Binary {
    /// Starts `relay` on a free port with its sessions in `data`.
    fn start(data: &Path, webhook: &str) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["--listen", "127.0.0.1:0", "--static-dir"])
            .arg(std::env::temp_dir().join("relay-tests-no-such-dir"))
            .arg("--data-dir")
            .arg(data)
            .args(["--webhook-url", webhook])
            // An exported store setting must not change the outcome.
            .env_remove("RELAY_STORE")
            .env_remove("RELAY_RERUN_INTERRUPTED")
            .env_remove("RELAY_REDIS_URL")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relay starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    if let Some(tx) = tx.take() {
                        let addr = rest.split_whitespace().next().unwrap_or_default();
                        let _ = tx.send(addr.to_owned());
                    }
                }
                eprintln!("[relay] {line}");
            }
        });
        let addr = rx
            .recv_timeout(STEP)
            .expect("the relay listens")
            .parse()
            .expect("address");
        Binary { child, addr }
    }

    /// The socket's URL, joining `session` (a new one if empty).
    fn ws(&self, session: &str) -> String {
        match session {
            "" => format!("ws://{}/ws", self.addr),
            _ => format!("ws://{}/ws?session={session}", self.addr),
        }
    }

    /// SIGKILL: no drain, no flush.
    fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the database holds the outcome of `id` (the relay has
/// committed it).
async fn wait_until_stored(data: &Path, id: &str) {
    let file = data.join(server::store::sqlite::schema::FILE);
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let stored = rusqlite::Connection::open_with_flags(
            &file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM messages WHERE id = ?1 AND frame IS NOT NULL",
                [id],
                |r| r.get::<_, i64>(0),
            )
        })
        .unwrap_or(0);
        if stored > 0 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn message(id: &str, text: &str, retry: bool) -> ClientMessage {
    ClientMessage::Message {
        metadata: None,
        retry,
        id: id.into(),
        text: text.into(),
        files: Vec::new(),
        regenerate: false,
    }
}

/// The next frame about `id` that is not a piece of a stream.
async fn outcome(client: &mut Client, id: &str) -> ServerMessage {
    loop {
        let frame = client.next().await;
        match &frame {
            ServerMessage::Chunk { .. } => continue,
            ServerMessage::Response { id: got, .. }
            | ServerMessage::Error { id: Some(got), .. }
                if got == id =>
            {
                return frame
            }
            _ => continue,
        }
    }
}

#[tokio::test]
async fn an_answer_stored_before_the_kill_is_answered_after_the_restart() {
    let data = tempfile::tempdir().expect("tempdir");
    let n8n = StandIn::start().await.expect("stand-in");
    let webhook = n8n.url("/webhook/chat");
    let relay = Binary::start(data.path(), &webhook);
    let mut page = Client::connect(&relay.ws("")).await;
    let session = page.session_id.clone();
    page.send(message("m1", "slow:300 hello", false)).await;
    assert!(n8n.wait_for_calls(1).await);
    // The page goes away before the answer comes; the relay stores it.
    drop(page);
    assert!(n8n.wait_for_finished(1).await);
    wait_until_stored(data.path(), "m1").await;
    relay.kill9();

    let relay = Binary::start(data.path(), &webhook);
    let mut page = Client::connect(&relay.ws(&session)).await;
    assert_eq!(page.session_id, session, "the session is known again");
    // The page resends its outbox.
    page.send(message("m1", "slow:300 hello", false)).await;
    match outcome(&mut page, "m1").await {
        ServerMessage::Response { text, .. } => {
            assert!(text.starts_with("echo: "), "{text}")
        }
        other => panic!("expected the stored answer, got {other:?}"),
    }
    assert_eq!(n8n.calls(), 1, "n8n ran it once");
}

#[tokio::test]
async fn a_message_in_flight_at_the_kill_is_interrupted_and_retry_runs_it() {
    let data = tempfile::tempdir().expect("tempdir");
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Hang);
    let webhook = n8n.url("/webhook/chat");
    let relay = Binary::start(data.path(), &webhook);
    let mut page = Client::connect(&relay.ws("")).await;
    let session = page.session_id.clone();
    page.send(message("m1", "hello", false)).await;
    assert!(n8n.wait_for_calls(1).await);
    relay.kill9();

    n8n.set_mode(Mode::Echo);
    let relay = Binary::start(data.path(), &webhook);
    let mut page = Client::connect(&relay.ws(&session)).await;
    page.send(message("m1", "hello", false)).await;
    let (code, text) = error_of(&outcome(&mut page, "m1").await, Some("m1"));
    assert_eq!(code, ErrorCode::Interrupted, "{text}");
    assert!(code.is_retryable(), "the page offers Retry");
    // A second resend (another tab, a reconnect) neither.
    page.send(message("m1", "hello", false)).await;
    let (code, _) = error_of(&outcome(&mut page, "m1").await, Some("m1"));
    assert_eq!(code, ErrorCode::Interrupted);
    assert_eq!(n8n.calls(), 1, "not run again by itself");
    // The user presses Retry.
    page.send(message("m1", "hello", true)).await;
    match outcome(&mut page, "m1").await {
        ServerMessage::Response { text, .. } => assert_eq!(text, "echo: hello"),
        other => panic!("expected an answer, got {other:?}"),
    }
    assert_eq!(n8n.calls(), 2, "Retry ran it once more");
}

/// Starts `relay` on `dir` and expects it to exit by itself, failing,
/// without listening; returns what it logged.
fn refused_start(dir: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["--listen", "127.0.0.1:0", "--static-dir"])
        .arg(std::env::temp_dir().join("relay-tests-no-such-dir"))
        .arg("--data-dir")
        .arg(dir)
        .env_remove("RELAY_STORE")
        .env_remove("RELAY_REDIS_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("relay runs");
    // It must exit by itself; one that starts serving is killed and fails.
    let deadline = std::time::Instant::now() + STEP;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("output");
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(status.is_some_and(|s| !s.success()), "refused: {log}");
    assert!(!log.contains("listening on"), "{log}");
    log
}

/// An explicit `--data-dir` that cannot be used stops the relay with a
/// sentence naming it, rather than quietly keeping sessions in memory.
#[test]
fn an_unusable_explicit_data_dir_refuses_to_start() {
    let file = tempfile::NamedTempFile::new().expect("a file");
    // A directory inside a regular file cannot be created, even by root.
    let dir = file.path().join("data");
    let log = refused_start(&dir);
    assert!(
        log.contains("the sqlite store") && log.contains(&dir.display().to_string()),
        "{log}"
    );
}

/// A second relay on a `--data-dir` in use would settle the first one's
/// messages in flight as `interrupted`: it refuses to start, saying why.
#[tokio::test]
async fn a_second_relay_on_the_same_data_dir_refuses_to_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let n8n = StandIn::start().await.expect("stand-in");
    let first = Binary::start(data.path(), &n8n.url("/webhook/chat"));
    let log = refused_start(data.path());
    let expected = format!(
        "another relay is using --data-dir {}",
        data.path().display()
    );
    assert!(log.contains(&expected), "{log}");
    // The first one still serves.
    let page = Client::connect(&first.ws("")).await;
    assert!(!page.session_id.is_empty());
}
