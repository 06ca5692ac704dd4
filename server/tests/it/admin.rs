//! The operator's listener (`--admin-listen`): Prometheus metrics that move
//! with real traffic, the bearer token, the refusal to run off loopback
//! without one, and the pause — nothing reaches n8n while paused, the page
//! is told (`paused`, then `status`), and its resend after the resume is
//! answered; shared by two relays through a real Redis.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{config_for, error_of, response_text, Client, Relay, STEP};
use shared::{ClientMessage, ErrorCode, ServerMessage};
use testkit::n8n::{Mode, StandIn};

const TOKEN: &str = "an-admin-token-0123456789";

/// Every sample of an exposition text: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(relay: &Relay) -> HashMap<String, f64> {
    let response = reqwest::get(relay.admin_url("/metrics"))
        .await
        .expect("metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.expect("text");
    assert!(text.ends_with("# EOF\n"), "{text}");
    samples(&text)
}

async fn post(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("post")
}

#[tokio::test]
async fn metrics_count_messages_by_outcome_and_n8n_latency() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Echo);
    let relay = Relay::start_with_admin(config_for(&n8n.url("/webhook/chat"))).await;
    let before = scrape(&relay).await;
    assert_eq!(
        before["relay_messages_total{outcome=\"answered\",code=\"\"}"],
        0.0
    );
    assert_eq!(before["relay_n8n_answer_seconds_count"], 0.0);

    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "hello").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hello");
    // The same id again: answered from the store, not sent to n8n.
    client.say("m1", "hello").await;
    assert_eq!(response_text(&client.next().await, "m1"), "echo: hello");
    n8n.set_mode(Mode::Error500);
    client.say("m2", "break").await;
    let (code, _) = error_of(&client.next().await, Some("m2"));
    assert_eq!(code, ErrorCode::WebhookError);

    let after = scrape(&relay).await;
    assert_eq!(
        after["relay_messages_total{outcome=\"answered\",code=\"\"}"],
        1.0
    );
    assert_eq!(
        after["relay_messages_total{outcome=\"deduplicated\",code=\"\"}"],
        1.0
    );
    assert_eq!(
        after["relay_messages_total{outcome=\"error\",code=\"webhook_error\"}"],
        1.0
    );
    assert_eq!(after["relay_n8n_answer_seconds_count"], 2.0);
    assert_eq!(after["relay_n8n_first_text_seconds_count"], 2.0);
    assert_eq!(after["relay_n8n_answer_seconds_bucket{le=\"+Inf\"}"], 2.0);
    assert_eq!(after["relay_connections"], 1.0);
    assert_eq!(after["relay_sessions"], 1.0);
    assert_eq!(after["relay_queue_depth{queue=\"connections\"}"], 1.0);
    assert!(after["relay_queue_limit{queue=\"connections\"}"] > 0.0);
    assert!(after["relay_queue_limit{queue=\"sessions\"}"] > 0.0);
    assert_eq!(after["relay_queue_depth{queue=\"webhook_requests\"}"], 0.0);
    assert!(after["relay_queue_limit{queue=\"webhook_waiting\"}"] > 0.0);
    assert_eq!(after["relay_store_up{kind=\"memory\"}"], 1.0);
    assert_eq!(after["relay_redis_link_up"], 0.0);
    assert_eq!(after["relay_paused"], 0.0);
    assert_eq!(n8n.requests().len(), 2, "the duplicate did not reach n8n");

    // Today's counts, as JSON.
    let usage: serde_json::Value = reqwest::get(relay.admin_url("/usage"))
        .await
        .expect("usage")
        .json()
        .await
        .expect("json");
    assert_eq!(usage["messages"]["answered"], 1, "{usage}");
    assert_eq!(usage["messages"]["deduplicated"], 1, "{usage}");
    assert_eq!(usage["messages"]["errors"]["webhook_error"], 1, "{usage}");
    assert_eq!(usage["day"].as_str().map(str::len), Some(10), "{usage}");

    // Never on the public port.
    let public = reqwest::get(relay.http_url("/metrics")).await.expect("get");
    let body = public.text().await.expect("body");
    assert!(!body.contains("relay_messages_total"), "{body}");
    let public = post(&relay.http_url("/pause"), None).await;
    assert_ne!(public.status(), 200);
    drop(client);
    relay.stop().await;
}

#[tokio::test]
async fn the_admin_token_is_required_and_checked() {
    let mut config = crate::support::config();
    config.admin.admin_token = Some(server::config::Secret(TOKEN.into()));
    let relay = Relay::start_with_admin(config).await;
    let none = reqwest::get(relay.admin_url("/metrics"))
        .await
        .expect("get");
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let client = reqwest::Client::new();
    let wrong = client
        .get(relay.admin_url("/metrics"))
        .bearer_auth("an-admin-token-0123456780")
        .send()
        .await
        .expect("get");
    assert_eq!(wrong.status(), 401);
    assert_eq!(post(&relay.admin_url("/pause"), None).await.status(), 401);
    let right = client
        .get(relay.admin_url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(right.status(), 200);
    assert_eq!(
        post(&relay.admin_url("/pause"), Some(TOKEN)).await.status(),
        200
    );
    relay.stop().await;
}

/// A web page open in a browser on the relay's host can send requests to
/// the loopback listener: whatever changes state is refused when it
/// carries an `Origin` (every browser sends one with a POST; curl and
/// Prometheus send none); reading is not.
#[tokio::test]
async fn a_web_pages_request_may_not_pause_the_chat() {
    let relay = Relay::start_with_admin(crate::support::config()).await;
    let client = reqwest::Client::new();
    let paused = || async {
        let state: serde_json::Value = reqwest::get(relay.admin_url("/pause"))
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        state["paused"].as_bool().expect("a boolean")
    };
    for origin in ["http://evil.example", "null", "http://127.0.0.1:9090"] {
        for path in ["/pause", "/resume"] {
            let refused = client
                .post(relay.admin_url(path))
                .header("origin", origin)
                .send()
                .await
                .expect("post");
            assert_eq!(refused.status(), 403, "{path} from {origin}");
        }
        assert!(!paused().await, "nothing changed ({origin})");
    }
    let read = client
        .get(relay.admin_url("/metrics"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(read.status(), 200, "reading is not refused");
    assert_eq!(post(&relay.admin_url("/pause"), None).await.status(), 200);
    assert!(paused().await, "a request without an Origin still works");
    relay.stop().await;
}

#[test]
fn off_loopback_without_a_token_the_relay_refuses_to_start() {
    let mut relay = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "0.0.0.0:0"])
        .env_remove("RELAY_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("relay starts");
    let deadline = std::time::Instant::now() + STEP;
    let status = loop {
        if let Some(status) = relay.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = relay.kill();
            panic!("the relay kept running without --admin-token");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let output = relay.wait_with_output().expect("output");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--admin-token"), "{said}");
}

#[tokio::test]
async fn a_paused_chat_sends_nothing_to_n8n_and_answers_the_resend_after_the_resume() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Echo);
    let relay = Relay::start_with_admin(config_for(&n8n.url("/webhook/chat"))).await;
    let mut open = Client::connect(&relay.ws_url("/ws")).await;

    let paused = post(&relay.admin_url("/pause"), None).await;
    assert_eq!(paused.status(), 200);
    // The open page hears it at once.
    assert_eq!(open.next().await, ServerMessage::Status { paused: true });
    // A page that connects now is told after the hello.
    let mut late = Client::connect(&relay.ws_url("/ws")).await;
    assert_eq!(late.next().await, ServerMessage::Status { paused: true });

    open.say("m1", "while paused").await;
    let (code, _) = error_of(&open.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::Paused);
    assert!(code.is_retryable());
    assert!(
        n8n.requests().is_empty(),
        "nothing went to n8n while paused"
    );
    let metrics = scrape(&relay).await;
    assert_eq!(
        metrics["relay_messages_total{outcome=\"paused\",code=\"\"}"],
        1.0
    );
    assert_eq!(metrics["relay_paused"], 1.0);

    assert_eq!(post(&relay.admin_url("/resume"), None).await.status(), 200);
    assert_eq!(open.next().await, ServerMessage::Status { paused: false });
    assert_eq!(late.next().await, ServerMessage::Status { paused: false });
    // The page sends what it kept: the same id, now answered.
    open.send(ClientMessage::Message {
        id: "m1".into(),
        text: "while paused".into(),
        metadata: None,
        retry: false,
        files: Vec::new(),
        regenerate: false,
    })
    .await;
    assert_eq!(
        response_text(&open.next().await, "m1"),
        "echo: while paused"
    );
    assert_eq!(n8n.requests().len(), 1);
    relay.stop().await;
}

/// A `redis-server` of its own on a free loopback port (no persistence),
/// killed when dropped; `None` (the test is skipped, said on stderr) when
/// the binary is not installed.
struct RedisServer {
    child: std::process::Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Option<RedisServer> {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = match Command::new(&binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => {
                eprintln!(
                    "SKIPPED: cannot start {binary} ({e}); install redis-server to run this test"
                );
                return None;
            }
        };
        let server = RedisServer { child, port };
        let deadline = std::time::Instant::now() + STEP;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_pause_on_one_relay_pauses_the_other_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Echo);
    let config = || {
        let mut config = config_for(&n8n.url("/webhook/chat"));
        config.cluster.redis_url = Some(redis.url().parse().expect("url"));
        config.cluster.redis_prefix = "admin-test:".into();
        config
    };
    let first = Relay::start_with_admin(config()).await;
    let second = Relay::start_with_admin(config()).await;
    let mut page = Client::connect(&second.ws_url("/ws")).await;

    // Paused on the first relay: the page on the second hears it.
    assert_eq!(post(&first.admin_url("/pause"), None).await.status(), 200);
    assert_eq!(page.next().await, ServerMessage::Status { paused: true });
    page.say("m1", "held").await;
    let (code, _) = error_of(&page.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::Paused);
    assert!(n8n.requests().is_empty());
    let paused: serde_json::Value = reqwest::get(second.admin_url("/pause"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(paused["paused"], true);

    // A relay that starts now reads the key: its pages are told at hello.
    let third = Relay::start_with_admin(config()).await;
    let deadline = tokio::time::Instant::now() + STEP;
    let mut late = loop {
        let mut late = Client::connect(&third.ws_url("/ws")).await;
        if let Ok(ServerMessage::Status { paused: true }) =
            tokio::time::timeout(Duration::from_millis(200), late.next()).await
        {
            break late;
        }
        // Its subscription reads the key just after it starts.
        assert!(
            tokio::time::Instant::now() < deadline,
            "the third relay never learnt of the pause"
        );
    };

    // Resumed on the second: everyone hears it, and the resend is answered.
    assert_eq!(post(&second.admin_url("/resume"), None).await.status(), 200);
    assert_eq!(page.next().await, ServerMessage::Status { paused: false });
    assert_eq!(late.next().await, ServerMessage::Status { paused: false });
    page.say("m1", "held").await;
    assert_eq!(response_text(&page.next().await, "m1"), "echo: held");
    assert_eq!(n8n.requests().len(), 1);
    drop((page, late));
    first.stop().await;
    second.stop().await;
    third.stop().await;
}

#[tokio::test]
async fn a_message_waiting_its_turn_is_handed_back_when_the_chat_is_paused() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Hang);
    let mut config = config_for(&n8n.url("/webhook/chat"));
    config.limits.session_concurrency = 1;
    let relay = Relay::start_with_admin(config).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "first").await;
    client.say("m2", "second").await;
    // m1 is with n8n; m2 waits its turn (both in flight).
    relay
        .wait_health("two messages in flight", |h| h["inFlight"] == 2)
        .await;
    let deadline = tokio::time::Instant::now() + STEP;
    while n8n.requests().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "m1 never reached n8n"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(post(&relay.admin_url("/pause"), None).await.status(), 200);
    assert_eq!(client.next().await, ServerMessage::Status { paused: true });
    // Stopping m1 gives m2 its turn: paused, it does not go to n8n.
    client.send(ClientMessage::Cancel { id: "m1".into() }).await;
    // (In either order: m1's outcome and m2's turn are settled apart.)
    let mut codes = HashMap::new();
    for _ in 0..2 {
        match client.next().await {
            ServerMessage::Error {
                id: Some(id), code, ..
            } => codes.insert(id, code),
            other => panic!("expected an error, got {other:?}"),
        };
    }
    assert_eq!(codes.get("m1"), Some(&ErrorCode::Cancelled));
    assert_eq!(codes.get("m2"), Some(&ErrorCode::Paused));
    assert_eq!(n8n.requests().len(), 1, "m2 did not reach n8n");
    relay.stop().await;
}
