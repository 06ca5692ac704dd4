//! `--log-format json`: every line is a JSON object a log shipper can read,
//! carrying the same redacted fields as the text form (a session by its
//! short hash, never its id; never a message's text), and the binary honours
//! the flag and `RELAY_LOG_FORMAT` from its very first line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::support::log_capture::Captured;
use crate::support::{config, response_text, Client, Relay, STEP};
use server::config::LogFormat;

#[tokio::test]
async fn json_lines_parse_and_carry_the_session_hash_not_the_session() {
    let captured = Captured::default();
    // The very subscriber `relay --log-format json` installs.
    let subscriber = server::logging::subscriber(LogFormat::Json, captured.clone());
    // This test's runtime has one thread: the relay's tasks log here too.
    let _guard = crate::support::log_capture::scoped(subscriber);
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
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.len() >= 2, "{logs}");
    for line in &lines {
        for key in ["timestamp", "level", "message"] {
            assert!(
                line.get(key).is_some_and(|v| v.is_string()),
                "{key}: {line}"
            );
        }
    }
    let hash = server::redact::session(session).to_string();
    assert!(
        lines
            .iter()
            .any(|l| l.get("session").and_then(|s| s.as_str()) == Some(hash.as_str())),
        "no line names the session by its hash in a `session` field: {logs}"
    );
    assert!(!logs.contains(session), "the session id leaked: {logs}");
    assert!(
        !logs.contains("private words"),
        "a message text leaked: {logs}"
    );
}

/// The first stdout line of `relay` started with `args` and `env`, then the
/// relay is killed (it has said what it was asked to by then).
fn first_line_of_relay(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command
        .args(["--listen", "127.0.0.1:0", "--static-dir"])
        .arg(std::env::temp_dir().join("relay-tests-no-such-dir"))
        // The first line is the listening line only without the sqlite
        // store's own start-up lines.
        .args(["--store", "memory"])
        .args(args)
        .env_remove("RELAY_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().expect("relay starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(STEP);
    let _ = child.kill();
    let _ = child.wait();
    line.expect("the relay logs its address within STEP")
}

fn assert_json_listening_line(line: &str) {
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let message = value["message"].as_str().unwrap_or_default();
    assert!(message.contains("listening on http://127.0.0.1:"), "{line}");
    assert_eq!(value["level"], "INFO", "{line}");
}

#[test]
fn the_binary_honours_log_format_from_its_first_line() {
    assert_json_listening_line(&first_line_of_relay(&["--log-format", "json"], &[]));
}

#[test]
fn the_binary_honours_relay_log_format_in_the_environment() {
    assert_json_listening_line(&first_line_of_relay(&[], &[("RELAY_LOG_FORMAT", "json")]));
}

#[test]
fn text_stays_the_default() {
    let line = first_line_of_relay(&[], &[]);
    assert!(line.contains("listening on http://127.0.0.1:"), "{line}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&line).is_err(),
        "{line}"
    );
}
