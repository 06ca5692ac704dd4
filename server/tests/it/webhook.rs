//! Forwarding to n8n: the request the stand-in receives, every answer shape
//! n8n produces (captured bytes), and every way it can fail.

use std::time::Duration;

use crate::support::{config_for, error_of, response_text, Client, Relay};
use shared::rich_text::{Block, Inline};
use shared::{ErrorCode, ServerMessage};

async fn setup_with(
    mode: Mode,
    adjust: impl FnOnce(&mut server::Config),
) -> (StandIn, Relay, Client) {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(mode);
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    adjust(&mut config);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    (n8n, relay, client)
}
use testkit::n8n::{Mode, StandIn};

async fn setup(mode: Mode) -> (StandIn, Relay, Client) {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(mode);
    let relay = Relay::start(config_for(&n8n.url("/webhook/abc/chat"))).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    (n8n, relay, client)
}

#[tokio::test]
async fn the_request_is_a_chat_trigger_send_message() {
    let (n8n, relay, mut client) = setup(Mode::Echo).await;
    client.say("m1", "hi \"there\"").await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: hi \"there\""
    );
    let requests = n8n.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/webhook/abc/chat")
    );
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert_eq!(
        r.body,
        serde_json::json!({"action": "sendMessage", "sessionId": client.session_id, "chatInput": "hi \"there\""})
    );
    assert_eq!(relay.health().await["webhook"], "n8n");
    relay.stop().await;
}

#[tokio::test]
async fn the_pages_metadata_is_passed_on() {
    let (n8n, relay, mut client) = setup(Mode::Echo).await;
    client
        .send_raw(r#"{"type":"message","id":"m","text":"hi","metadata":{"language":"de-DE"}}"#)
        .await;
    assert_eq!(response_text(&client.next().await, "m"), "echo: hi");
    assert_eq!(
        n8n.requests()[0].body["metadata"],
        serde_json::json!({"language": "de-DE"})
    );
    relay.stop().await;
}

#[tokio::test]
async fn array_and_plain_text_answers() {
    let (n8n, relay, mut client) = setup(Mode::EchoArray).await;
    client.say("a", "one").await;
    assert_eq!(response_text(&client.next().await, "a"), "echo: one");
    n8n.set_mode(Mode::PlainText);
    client.say("b", "two").await;
    assert_eq!(response_text(&client.next().await, "b"), "echo: two");
    relay.stop().await;
}

#[tokio::test]
async fn n8n_errors_map_to_their_codes_with_n8ns_explanation() {
    let (n8n, relay, mut client) = setup(Mode::Error500).await;
    client.say("a", "x").await;
    let (code, message) = error_of(&client.next().await, Some("a"));
    assert_eq!(code, ErrorCode::WebhookError);
    assert!(
        message.contains("500") && message.contains("Error in workflow"),
        "{message}"
    );

    n8n.set_mode(Mode::NotRegistered);
    client.say("b", "x").await;
    let (code, message) = error_of(&client.next().await, Some("b"));
    assert_eq!(code, ErrorCode::WebhookError);
    assert!(
        message.contains("404") && message.contains("must be active"),
        "{message}"
    );

    n8n.set_mode(Mode::EmptyBody);
    client.say("c", "x").await;
    let (code, message) = error_of(&client.next().await, Some("c"));
    assert_eq!(code, ErrorCode::WebhookInvalidResponse);
    assert!(message.contains("empty"), "{message}");

    n8n.set_mode(Mode::InvalidJson);
    client.say("d", "x").await;
    // Declared JSON that does not parse is an invalid answer, and the body
    // stays out of the page (only the log sees its beginning).
    let (code, message) = error_of(&client.next().await, Some("d"));
    assert_eq!(code, ErrorCode::WebhookInvalidResponse);
    assert!(!message.contains("unterminated"), "{message}");

    n8n.set_mode(Mode::CutOff);
    client.say("e", "x").await;
    assert_eq!(
        error_of(&client.next().await, Some("e")).0,
        ErrorCode::WebhookUnreachable
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_failed_message_is_run_again_only_when_the_client_asks_to_retry() {
    let (n8n, relay, mut client) = setup(Mode::Error500).await;
    client.say("r", "try").await;
    assert_eq!(
        error_of(&client.next().await, Some("r")).0,
        ErrorCode::WebhookError
    );
    n8n.set_mode(Mode::Echo);
    // A plain resend (what the page does after a reconnect) gets the same error.
    client.say("r", "try").await;
    assert_eq!(
        error_of(&client.next().await, Some("r")).0,
        ErrorCode::WebhookError
    );
    assert_eq!(n8n.calls(), 1);
    client
        .send(shared::ClientMessage::Message {
            id: "r".into(),
            text: "try".into(),
            metadata: None,
            retry: true,
            regenerate: false,
            files: Vec::new(),
        })
        .await;
    assert_eq!(response_text(&client.next().await, "r"), "echo: try");
    assert_eq!(n8n.calls(), 2);
    relay.stop().await;
}

#[tokio::test]
async fn unreachable_n8n() {
    let n8n = StandIn::start().await.expect("stand-in");
    let url = n8n.url("/webhook/chat");
    let _ = n8n.stop();
    let relay = Relay::start(config_for(&url)).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m", "anyone?").await;
    let (code, message) = error_of(&client.next().await, Some("m"));
    assert_eq!(code, ErrorCode::WebhookUnreachable);
    assert!(
        !message.contains("/webhook/chat"),
        "no URL in client-facing errors: {message}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_hanging_n8n_times_out() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::Hang);
    let mut cfg = config_for(&n8n.url("/webhook/chat"));
    cfg.n8n.webhook_timeout = Duration::from_millis(200);
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m", "hello?").await;
    assert_eq!(
        error_of(&client.next().await, Some("m")).0,
        ErrorCode::WebhookTimeout
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_slow_answer_does_not_hold_up_faster_ones() {
    // Within one conversation messages go one at a time (runs.rs); with
    // --session-concurrency above 1 a slow one does not hold up the next.
    let (_n8n, relay, mut client) = setup_with(Mode::Echo, |c| {
        c.limits.session_concurrency = 2;
    })
    .await;
    client.say("slow", "slow:800 take your time").await;
    client.say("fast", "quick").await;
    assert_eq!(response_text(&client.next().await, "fast"), "echo: quick");
    assert_eq!(
        response_text(&client.next().await, "slow"),
        "echo: slow:800 take your time"
    );
    relay.stop().await;
}

#[tokio::test]
async fn streamed_answers_arrive_as_chunks_then_one_response() {
    let (_n8n, relay, mut client) = setup(Mode::Stream {
        gap: Duration::from_millis(100),
    })
    .await;
    client.say("s", "**hi**").await;
    assert_eq!(
        client.next().await,
        ServerMessage::Chunk {
            id: "s".into(),
            text: "echo: ".into(),
            offset: Some(0),
        }
    );
    assert_eq!(
        client.next().await,
        ServerMessage::Chunk {
            id: "s".into(),
            text: "**hi**".into(),
            offset: Some(6),
        }
    );
    // Chunks are plain text; the final response brings the formatted tree
    // of the whole answer.
    assert_eq!(
        client.next().await,
        ServerMessage::Response {
            id: "s".into(),
            text: "echo: **hi**".into(),
            doc: Some(vec![Block::P(vec![
                Inline::T("echo: ".into()),
                Inline::B(vec![Inline::T("hi".into())]),
            ])]),
        }
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_failing_stream_ends_in_an_error() {
    let (_n8n, relay, mut client) = setup(Mode::StreamError).await;
    client.say("s", "boom").await;
    assert_eq!(
        error_of(&client.next().await, Some("s")).0,
        ErrorCode::WebhookError
    );
    relay.stop().await;
}

#[tokio::test]
async fn keep_alive_connections_n8n_closed_are_not_reused() {
    // n8n closes idle keep-alive connections after 5 s; here after 300 ms,
    // with the relay's pool idle timeout at 4 s the relay must cope anyway
    // (a request on a closed pooled connection is retried only if unsent).
    let n8n = StandIn::start_with_keep_alive(Duration::from_millis(300))
        .await
        .expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for i in 0..3 {
        let id = format!("k{i}");
        client.say(&id, "again").await;
        assert_eq!(response_text(&client.next().await, &id), "echo: again");
        // n8n closes the idle connection the answer came on: wait for that
        // close, so the next message meets a pool whose connection is gone.
        let deadline = tokio::time::Instant::now() + crate::support::STEP;
        while n8n.idle_closed() <= i {
            assert!(tokio::time::Instant::now() < deadline, "never closed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    assert_eq!(n8n.calls(), 3, "each message ran the workflow exactly once");
    relay.stop().await;
}

#[tokio::test]
async fn secrets_headers_and_field_names_go_to_n8n_only() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut cfg = config_for(&n8n.url("/webhook/chat"));
    cfg.n8n.webhook_headers = vec![server::config::WebhookHeader {
        name: "X-Api-Key".into(),
        value: server::config::Secret("k-123".into()),
    }];
    cfg.n8n.webhook_basic_auth = Some(server::config::BasicAuth {
        user: "chat".into(),
        password: server::config::Secret("pw".into()),
    });
    cfg.n8n.chat_input_key = "question".into();
    cfg.n8n.session_key = "conversation".into();
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m", "hi").await;
    // The stand-in echoes `chatInput`; with a renamed field it sees none.
    assert_eq!(response_text(&client.next().await, "m"), "echo: ");
    let r = &n8n.requests()[0];
    assert_eq!(
        r.headers.get("x-api-key").map(String::as_str),
        Some("k-123")
    );
    // "chat:pw" in base64.
    assert_eq!(
        r.headers.get("authorization").map(String::as_str),
        Some("Basic Y2hhdDpwdw==")
    );
    assert_eq!(
        r.body,
        serde_json::json!({"action": "sendMessage", "conversation": client.session_id, "question": "hi"})
    );
    relay.stop().await;
}

#[tokio::test]
async fn requests_to_n8n_are_bounded_and_the_rest_wait_their_turn() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut cfg = config_for(&n8n.url("/webhook/chat"));
    cfg.n8n.max_concurrent_webhooks = 2;
    // One conversation with six at once: the relay-wide bound is what holds.
    cfg.limits.session_concurrency = 6;
    let relay = Relay::start(cfg).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for i in 0..6 {
        client.say(&format!("m{i}"), "slow:150 wait").await;
    }
    let mut answered = std::collections::HashSet::new();
    for _ in 0..6 {
        match client.next().await {
            ServerMessage::Response { id, .. } => assert!(answered.insert(id)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(n8n.calls(), 6);
    assert_eq!(n8n.peak_in_flight(), 2);
    relay.stop().await;
}

#[tokio::test]
async fn a_stream_cut_off_midway_ends_in_an_error_after_the_partial_text() {
    let (_n8n, relay, mut client) = setup(Mode::StreamCutOff).await;
    client.say("s", "hi").await;
    assert_eq!(
        client.next().await,
        ServerMessage::Chunk {
            id: "s".into(),
            text: "echo: ".into(),
            offset: Some(0),
        }
    );
    let (code, message) = error_of(&client.next().await, Some("s"));
    assert_eq!(code, ErrorCode::WebhookUnreachable);
    assert!(
        message.contains("broke off after 6 characters"),
        "{message}"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_resumed_session_gets_its_history_from_n8n_when_enabled() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_history(&[(true, "hi"), (false, "echo: *hi*")]);
    let mut cfg = config_for(&n8n.url("/webhook/abc/chat"));
    cfg.n8n.load_previous_session = true;
    let relay = Relay::start(cfg).await;

    // A new session has no history to ask for.
    let mut fresh = Client::connect(&relay.ws_url("/ws")).await;
    fresh.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(n8n.calls(), 0);

    let mut back = Client::connect(&relay.ws_url("/ws?session=returning-1")).await;
    assert_eq!(
        back.next_with_progress().await,
        ServerMessage::History {
            messages: vec![
                shared::HistoryMessage {
                    role: shared::Role::User,
                    text: "hi".into(),
                    doc: None,
                },
                // The bot's lines come formatted, like live answers.
                shared::HistoryMessage {
                    role: shared::Role::Bot,
                    text: "echo: *hi*".into(),
                    doc: Some(vec![Block::P(vec![
                        Inline::T("echo: ".into()),
                        Inline::Em(vec![Inline::T("hi".into())]),
                    ])]),
                },
            ]
        }
    );
    let r = &n8n.requests()[0];
    assert_eq!(
        r.body,
        serde_json::json!({"action": "loadPreviousSession", "sessionId": "returning-1"})
    );
    relay.stop().await;
}

#[tokio::test]
async fn history_is_not_requested_unless_enabled() {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_history(&[(true, "hi")]);
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut back = Client::connect(&relay.ws_url("/ws?session=returning-2")).await;
    back.expect_silence(Duration::from_millis(200)).await;
    assert_eq!(n8n.calls(), 0);
    relay.stop().await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_name_their_location() {
    let (n8n, relay, mut client) = setup_with(Mode::Echo, |c| {
        c.n8n.webhook_headers = vec![server::config::WebhookHeader {
            name: "X-N8N-Token".into(),
            value: server::config::Secret("s3cret".into()),
        }];
    })
    .await;
    n8n.set_mode(Mode::Redirect {
        location: n8n.url("/elsewhere?token=leak"),
    });
    client.say("r", "x").await;
    let (code, message) = error_of(&client.next().await, Some("r"));
    assert_eq!(code, ErrorCode::WebhookError);
    assert!(
        message.contains("302") && message.contains("/elsewhere"),
        "{message}"
    );
    assert!(
        !message.contains("leak"),
        "the query stays hidden: {message}"
    );
    assert_eq!(n8n.calls(), 1, "the redirect was not followed");
    relay.stop().await;
}

#[tokio::test]
async fn an_answer_past_max_answer_bytes_is_an_error() {
    let (n8n, relay, mut client) = setup_with(Mode::Huge { bytes: 5000 }, |c| {
        c.n8n.max_answer_bytes = 1000;
    })
    .await;
    client.say("big", "x").await;
    let (code, message) = error_of(&client.next().await, Some("big"));
    assert_eq!(code, ErrorCode::WebhookInvalidResponse);
    assert!(message.contains("--max-answer-bytes"), "{message}");
    n8n.set_mode(Mode::Huge { bytes: 900 });
    client.say("fits", "x").await;
    assert_eq!(response_text(&client.next().await, "fits").len(), 900);
    relay.stop().await;
}

/// An answer at the default `--max-answer-bytes` (far past the largest
/// frame a page may send) reaches the page in one frame, and again when a
/// page that reconnected resends the message: a frame larger than the
/// socket's write-buffer cap used to drop the connection every time.
#[tokio::test]
async fn an_answer_at_the_default_bound_is_delivered_and_replayed() {
    let bound = crate::support::config().n8n.max_answer_bytes;
    let (n8n, relay, mut client) = setup(Mode::Huge { bytes: bound }).await;
    let session = client.session_id.clone();
    client.say("big", "x").await;
    assert_eq!(response_text(&client.next().await, "big").len(), bound);
    drop(client);
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    back.say("big", "x").await;
    assert_eq!(response_text(&back.next().await, "big").len(), bound);
    assert_eq!(n8n.calls(), 1, "the stored answer was sent again");
    relay.stop().await;
}

/// An endless stream (or an endless line) ends at the bound with an
/// error; the chunks that arrived before stay with the page.
#[tokio::test]
async fn an_endless_stream_ends_at_the_bound_with_what_arrived_kept() {
    let (n8n, relay, mut client) = setup_with(Mode::EndlessStream, |c| {
        c.n8n.max_answer_bytes = 10_000;
    })
    .await;
    client.say("s", "x").await;
    let mut streamed = 0;
    let message = loop {
        match client.next().await {
            ServerMessage::Chunk { id, text, .. } if id == "s" => streamed += text.len(),
            other => break error_of(&other, Some("s")),
        }
    };
    assert_eq!(message.0, ErrorCode::WebhookInvalidResponse);
    assert!(message.1.contains("--max-answer-bytes"), "{}", message.1);
    assert!(
        (9_000..=10_000).contains(&streamed),
        "chunks up to the bound were passed on: {streamed}"
    );
    n8n.set_mode(Mode::EndlessLine);
    client.say("l", "x").await;
    let (code, message) = error_of(&client.next().await, Some("l"));
    assert_eq!(code, ErrorCode::WebhookInvalidResponse);
    assert!(message.contains("--max-answer-bytes"), "{message}");
    relay.stop().await;
}

/// `--webhook-timeout` counts from acceptance, waiting for a slot
/// included, and the line of waiting messages is bounded.
#[tokio::test]
async fn the_timeout_counts_from_acceptance_and_the_queue_is_bounded() {
    let timeout = Duration::from_millis(1000);
    let (n8n, relay, mut client) = setup_with(Mode::Hang, |c| {
        c.n8n.max_concurrent_webhooks = 1;
        c.n8n.max_queued_webhooks = 1;
        c.n8n.webhook_timeout = timeout;
        c.limits.session_concurrency = 3;
    })
    .await;
    client.say("first", "x").await;
    assert!(n8n.wait_for_calls(1).await);
    let accepted = tokio::time::Instant::now();
    client.say("second", "x").await;
    client.say("third", "x").await;
    // The line holds one: the third is refused at once, with a hint.
    let (code, message) = error_of(&client.next().await, Some("third"));
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("try again in"), "{message}");
    let mut timed_out = Vec::new();
    for _ in 0..2 {
        match client.next().await {
            ServerMessage::Error { id, code, .. } => {
                assert_eq!(code, ErrorCode::WebhookTimeout);
                timed_out.push(id.unwrap_or_default());
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
    let waited = accepted.elapsed();
    timed_out.sort();
    assert_eq!(timed_out, ["first", "second"]);
    // The second's clock ran while it waited for the first's slot: it ends
    // one timeout after acceptance, not after the first's timeout plus its
    // own (2 s).
    assert!(
        waited < timeout.mul_f64(1.6),
        "the second message took {waited:?} (timeout {timeout:?})"
    );
    relay.stop().await;
}

/// A page that reconnects in the middle of a streamed answer gets the text
/// so far at once (offset 0), then the rest live: one bubble, nothing twice.
#[tokio::test]
async fn a_stream_survives_a_reconnect() {
    let (_n8n, relay, mut client) = setup(Mode::Stream {
        gap: Duration::from_millis(600),
    })
    .await;
    let session = client.session_id.clone();
    client.say("s", "there").await;
    assert!(matches!(
        client.next().await,
        ServerMessage::Chunk {
            offset: Some(0),
            ..
        }
    ));
    drop(client); // gone in the middle of the answer
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    assert_eq!(
        back.next().await,
        ServerMessage::Chunk {
            id: "s".into(),
            text: "echo: ".into(),
            offset: Some(0),
        },
        "everything so far, at once"
    );
    assert_eq!(
        back.next().await,
        ServerMessage::Chunk {
            id: "s".into(),
            text: "there".into(),
            offset: Some(6),
        },
        "then the rest, live"
    );
    assert_eq!(response_text(&back.next().await, "s"), "echo: there");
    assert_eq!(relay.health().await["inFlight"], 0);
    relay.stop().await;
}
