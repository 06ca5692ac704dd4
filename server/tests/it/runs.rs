//! "Respond to Chat" runs held by the relay, against the stand-in n8n that
//! reproduces n8n 2.8.4's `/chat` socket (`testkit/fixtures/respond-to-chat/`),
//! at a fast pace; and a session's messages one at a time.

use std::time::Duration;

use crate::support::{config_for, error_of, response_text, Client, Relay};
use shared::{ClientMessage, ErrorCode, RunState, ServerMessage};
use testkit::n8n::{Mode, Outcome, Pace, StandIn, Step};

const PACE: Pace = Pace {
    poll: Duration::from_millis(100),
    heartbeat: Duration::from_millis(150),
    cancel_after: Duration::from_millis(600),
};

async fn setup(steps: Vec<Step>) -> (StandIn, Relay, Client) {
    setup_with(steps, |_| {}).await
}

/// The stand-in running `steps`, and a relay started with
/// `--respond-to-chat` (then changed by `configure`).
async fn setup_with(
    steps: Vec<Step>,
    configure: impl FnOnce(&mut server::Config),
) -> (StandIn, Relay, Client) {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::RespondToChat(steps));
    n8n.set_pace(PACE);
    let mut config = config_for(&n8n.url("/webhook/f1/chat"));
    config.n8n.run_settle = Duration::from_millis(50);
    config.n8n.respond_to_chat = true;
    configure(&mut config);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    (n8n, relay, client)
}

/// The next frames up to and including the first that `last` accepts.
async fn until(client: &mut Client, last: impl Fn(&ServerMessage) -> bool) -> Vec<ServerMessage> {
    let mut seen = Vec::new();
    loop {
        let frame = client.next().await;
        let done = last(&frame);
        seen.push(frame);
        if done {
            return seen;
        }
    }
}

fn chat(frame: &ServerMessage) -> Option<(u32, &str)> {
    match frame {
        ServerMessage::Chat { seq, text, .. } => Some((*seq, text.as_str())),
        _ => None,
    }
}

fn is_done(id: &str) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |f| matches!(f, ServerMessage::Done { id: got } if got == id)
}

fn is_waiting(frame: &ServerMessage) -> bool {
    matches!(
        frame,
        ServerMessage::Run {
            state: RunState::Waiting,
            ..
        }
    )
}

fn texts(frames: &[ServerMessage]) -> Vec<String> {
    frames
        .iter()
        .filter_map(chat)
        .map(|(_, t)| t.to_owned())
        .collect()
}

#[tokio::test]
async fn a_run_delivers_each_message_then_the_message_is_done() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Send("first message (you said: {input})".into()),
        Step::Send("second message".into()),
    ])
    .await;
    client.say("m1", "hi").await;
    let frames = until(&mut client, is_done("m1")).await;
    let seqs: Vec<(u32, String)> = frames
        .iter()
        .filter_map(chat)
        .map(|(s, t)| (s, t.to_owned()))
        .collect();
    assert_eq!(
        seqs,
        [
            (1, "first message (you said: hi)".to_owned()),
            (2, "second message".to_owned())
        ]
    );
    assert_eq!(n8n.calls(), 1);
    let id = n8n.executions().ids().pop().expect("an execution");
    assert_eq!(n8n.executions().outcome(&id), Some(Outcome::Success));
    // Resent after the end: answered from memory, not run again.
    client.say("m1", "hi").await;
    assert!(is_done("m1")(&client.next().await));
    assert_eq!(n8n.calls(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn a_question_waits_for_the_reply_which_resumes_the_run_once() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Ask("What is your name?".into()),
        Step::Send("Hello {reply}".into()),
    ])
    .await;
    client.say("m1", "start").await;
    let frames = until(&mut client, is_waiting).await;
    assert_eq!(texts(&frames), ["What is your name?"]);
    client.say("r1", "Ada").await;
    let frames = until(&mut client, is_done("m1")).await;
    assert!(
        frames.iter().any(is_done("r1")),
        "the reply is done: {frames:?}"
    );
    assert_eq!(texts(&frames), ["Hello Ada"]);
    // The reply resent (a reconnect) does not reach the run again.
    client.say("r1", "Ada").await;
    assert!(is_done("r1")(&client.next().await));
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(n8n.executions().replies(&id).len(), 1);
    assert_eq!(n8n.calls(), 1, "one execution for the whole conversation");
    relay.stop().await;
}

#[tokio::test]
async fn the_page_may_be_away_longer_than_n8ns_cancel_window() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Ask("What is your name?".into()),
        Step::Send("Hello {reply}".into()),
    ])
    .await;
    let session = client.session_id.clone();
    client.say("m1", "start").await;
    until(&mut client, is_waiting).await;
    drop(client);
    // Three times n8n's cancel window (600 ms here) without a page.
    tokio::time::sleep(PACE.cancel_after * 3).await;
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(
        n8n.executions().outcome(&id),
        Some(Outcome::Running),
        "the relay kept acking n8n's heartbeats"
    );
    // Back: the question again, and the reply still works.
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let frames = until(&mut back, is_waiting).await;
    assert_eq!(texts(&frames), ["What is your name?"]);
    back.say("r1", "Grace").await;
    let frames = until(&mut back, is_done("m1")).await;
    assert_eq!(texts(&frames), ["Hello Grace"]);
    assert_eq!(n8n.executions().outcome(&id), Some(Outcome::Success));
    relay.stop().await;
}

/// The formatted tree of the first `chat` frame among `frames`.
fn chat_doc(frames: &[ServerMessage]) -> Option<shared::rich_text::Doc> {
    frames.iter().find_map(|f| match f {
        ServerMessage::Chat { doc, .. } => Some(doc.clone()),
        _ => None,
    })?
}

#[tokio::test]
async fn a_run_question_with_code_is_highlighted_and_replayed_as_first_sent() {
    let question = "Deploy this?\n\n```rust\nfn main() { let x = 1; }\n```";
    let (_n8n, relay, mut client) = setup(vec![
        Step::Ask(question.into()),
        Step::Send("Deployed {reply}".into()),
    ])
    .await;
    let session = client.session_id.clone();
    client.say("m1", "start").await;
    let frames = until(&mut client, is_waiting).await;
    let doc = chat_doc(&frames).expect("the question formatted");
    let highlighted = doc.iter().any(|block| {
        matches!(block, shared::rich_text::Block::Code(code)
            if code.lang == "rust" && code.spans.iter().any(|s| s.0 == "kw"))
    });
    assert!(highlighted, "no highlighted rust block in {doc:?}");
    // A page that connects while the run waits gets the same bubble.
    drop(client);
    let mut back = Client::connect(&relay.ws_url(&format!("/ws?session={session}"))).await;
    let frames = until(&mut back, is_waiting).await;
    assert_eq!(texts(&frames), [question]);
    assert_eq!(chat_doc(&frames), Some(doc));
    back.say("r1", "yes").await;
    let frames = until(&mut back, is_done("m1")).await;
    assert_eq!(texts(&frames), ["Deployed yes"]);
    relay.stop().await;
}

#[tokio::test]
async fn a_message_typed_while_the_run_works_waits_to_be_the_reply() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Send("one moment".into()),
        Step::Ask("Your name?".into()),
        Step::Send("Hi {reply}".into()),
    ])
    .await;
    client.say("m1", "start").await;
    // Typed at once, before n8n asked: n8n would swallow "one moment" if
    // this reached it now (capture 01c); the relay holds it.
    client.say("r1", "Ada").await;
    let frames = until(&mut client, is_done("m1")).await;
    assert_eq!(texts(&frames), ["one moment", "Your name?", "Hi Ada"]);
    assert!(frames.iter().any(is_done("r1")));
    assert_eq!(n8n.calls(), 1, "the reply did not start a second execution");
    relay.stop().await;
}

#[tokio::test]
async fn an_approval_button_acts_once_and_its_link_never_reaches_the_page() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Approve {
            text: "Deploy version 1.2.3?".into(),
            buttons: vec!["Yes, deploy".into(), "No".into()],
            block: true,
        },
        Step::Send("approval result {reply}".into()),
    ])
    .await;
    client.say("m1", "deploy").await;
    let frames = until(&mut client, is_waiting).await;
    let question = frames
        .iter()
        .find_map(|f| match f {
            ServerMessage::Chat {
                seq,
                buttons,
                block_user_input,
                ..
            } => Some((*seq, buttons.clone(), *block_user_input)),
            _ => None,
        })
        .expect("the question");
    assert_eq!(question.0, 1);
    assert_eq!(
        question
            .1
            .iter()
            .map(|b| b.text.as_str())
            .collect::<Vec<_>>(),
        ["Yes, deploy", "No"]
    );
    assert!(question.2, "input is blocked");
    for f in &frames {
        assert!(
            !f.encode().contains("webhook-waiting"),
            "a link leaked: {f:?}"
        );
    }
    // Typing does not answer a blocking approval.
    client.say("t1", "just do it").await;
    let (code, message) = error_of(&client.next().await, Some("t1"));
    assert_eq!(code, ErrorCode::InvalidMessage);
    assert!(message.contains("button"), "{message}");
    // Pressed twice (a double click, a resend): acted on once.
    for _ in 0..2 {
        client
            .send(ClientMessage::Choice {
                id: "m1".into(),
                seq: 1,
                button: 0,
            })
            .await;
    }
    let frames = until(&mut client, is_done("m1")).await;
    assert_eq!(texts(&frames), ["approval result approved"]);
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(n8n.executions().approvals(&id), [true]);
    relay.stop().await;
}

#[tokio::test]
async fn a_typed_reply_to_a_non_blocking_approval_declines_it() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Approve {
            text: "Approve the refund?".into(),
            buttons: vec!["Approve".into()],
            block: false,
        },
        Step::Send("done: {reply}".into()),
    ])
    .await;
    client.say("m1", "refund").await;
    until(&mut client, is_waiting).await;
    client.say("r1", "no, do not").await;
    let frames = until(&mut client, is_done("m1")).await;
    assert_eq!(texts(&frames), ["done: no, do not"]);
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(n8n.executions().approvals(&id), [false]);
    relay.stop().await;
}

#[tokio::test]
async fn a_failing_run_ends_in_an_error_the_page_can_see() {
    let (n8n, relay, mut client) =
        setup(vec![Step::Send("working on it...".into()), Step::Fail]).await;
    client.say("m1", "go").await;
    let frames = until(&mut client, |f| matches!(f, ServerMessage::Error { .. })).await;
    assert_eq!(texts(&frames), ["working on it..."]);
    let (code, message) = error_of(frames.last().expect("error"), Some("m1"));
    assert_eq!(code, ErrorCode::WebhookError);
    assert!(message.contains("stopped"), "{message}");
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(n8n.executions().outcome(&id), Some(Outcome::Failed));
    assert!(
        n8n.executions().sockets(&id) > 1,
        "the relay tried again first"
    );
    relay.stop().await;
}

/// An execution n8n no longer knows (deleted or pruned while the run
/// waited) ends the run with an error, and n8n's refusal, which names the
/// execution id, stays in the relay's log: the id never reaches a browser.
#[tokio::test(flavor = "current_thread")]
async fn a_run_n8n_forgot_ends_in_an_error_without_the_execution_id() {
    let (captured, _guard) = crate::support::log_capture::Captured::text_debug();
    let (n8n, relay, mut client) = setup(vec![Step::Ask("What is your name?".into())]).await;
    client.say("m1", "go").await;
    until(&mut client, is_waiting).await;
    let id = n8n.executions().ids().pop().expect("execution");
    n8n.executions().forget(&id);
    let frames = until(&mut client, |f| matches!(f, ServerMessage::Error { .. })).await;
    let (code, message) = error_of(frames.last().expect("error"), Some("m1"));
    assert_eq!(code, ErrorCode::WebhookError);
    assert!(
        !message.contains(&id) && !message.contains("Execution with id"),
        "n8n's text stays on the relay: {message}"
    );
    assert!(
        captured
            .text()
            .contains(&format!("Execution with id \"{id}\" does not exist")),
        "n8n's text is logged"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_waiting_run_at_shutdown_is_told_and_left_waiting_in_n8n() {
    let (n8n, mut relay, mut client) = setup(vec![
        Step::Ask("What is your name?".into()),
        Step::Send("never".into()),
    ])
    .await;
    client.say("m1", "start").await;
    until(&mut client, is_waiting).await;
    relay.begin_shutdown();
    let (code, message) = error_of(&client.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::WebhookError);
    assert!(message.contains("restarted"), "{message}");
    relay.stop().await;
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(
        n8n.executions().outcome(&id),
        Some(Outcome::Running),
        "closed normally: n8n keeps the execution"
    );
}

#[tokio::test]
async fn a_sessions_messages_reach_n8n_one_at_a_time_in_order() {
    let n8n = StandIn::start().await.expect("stand-in");
    let relay = Relay::start(config_for(&n8n.url("/webhook/chat"))).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("a", "slow:300 first").await;
    client.say("b", "second").await;
    client.say("c", "slow:100 third").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(match client.next().await {
            ServerMessage::Response { id, .. } => id,
            other => panic!("{other:?}"),
        });
    }
    assert_eq!(got, ["a", "b", "c"], "answered in the order sent");
    assert_eq!(n8n.peak_in_flight(), 1, "one at a time");
    assert_eq!(n8n.inputs(), ["slow:300 first", "second", "slow:100 third"]);
    // Another session is not held up by this one.
    client.say("d", "slow:500 long").await;
    let mut other = Client::connect(&relay.ws_url("/ws")).await;
    other.say("x", "quick").await;
    assert_eq!(response_text(&other.next().await, "x"), "echo: quick");
    assert_eq!(
        response_text(&client.next().await, "d"),
        "echo: slow:500 long"
    );
    relay.stop().await;
}

#[tokio::test]
async fn session_concurrency_lets_several_run_at_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    let mut config = config_for(&n8n.url("/webhook/chat"));
    config.limits.session_concurrency = 3;
    let relay = Relay::start(config).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    for id in ["a", "b", "c"] {
        client.say(id, "slow:300 x").await;
    }
    for _ in 0..3 {
        assert!(matches!(
            client.next().await,
            ServerMessage::Response { .. }
        ));
    }
    assert_eq!(n8n.peak_in_flight(), 3);
    relay.stop().await;
}

#[tokio::test]
async fn a_lost_socket_to_n8n_is_reopened_and_the_question_not_shown_twice() {
    let (n8n, relay, mut client) = setup(vec![
        Step::Ask("What is your name?".into()),
        Step::Send("Hello {reply}".into()),
    ])
    .await;
    client.say("m1", "start").await;
    until(&mut client, is_waiting).await;
    let id = n8n.executions().ids().pop().expect("execution");
    n8n.executions().drop_socket(&id);
    // The relay opens it again; n8n sends the pending question again.
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    while n8n.executions().sockets(&id) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never reopened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // n8n sends the pending question again on the new socket (its first
    // poll there): wait for that, so the reply below cannot come first and
    // leave nothing to recognise.
    let deadline = tokio::time::Instant::now() + crate::support::STEP;
    while n8n.executions().messages_sent(&id) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never sent again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.say("r1", "Ada").await;
    let frames = until(&mut client, is_done("m1")).await;
    assert_eq!(
        texts(&frames),
        ["Hello Ada"],
        "no second question: {frames:?}"
    );
    let seqs: Vec<u32> = frames.iter().filter_map(chat).map(|(s, _)| s).collect();
    assert_eq!(seqs, [2]);
    assert_eq!(n8n.executions().outcome(&id), Some(Outcome::Success));
    relay.stop().await;
}

#[tokio::test]
async fn n8n_refuses_a_socket_for_an_unknown_execution() {
    use server::responder::n8n::chat_socket::{chat_endpoint, chat_url, ChatSocket, FromN8n};
    let n8n = StandIn::start().await.expect("stand-in");
    let hook: url::Url = n8n.url("/webhook/f1/chat").parse().expect("url");
    let base = chat_endpoint(&hook).expect("endpoint");
    let mut socket = ChatSocket::connect(
        &chat_url(&base, "s", "999999"),
        &Default::default(),
        Duration::from_secs(5),
    )
    .await
    .expect("the upgrade itself succeeds");
    assert_eq!(
        socket.next().await,
        FromN8n::Refused("Execution with id \"999999\" does not exist".into())
    );
}

#[tokio::test]
async fn without_the_flag_an_execution_start_is_invalid_and_no_socket_opens() {
    // Default flags: a body of n8n's execution-start shape (which a workflow
    // echoing user JSON can produce, naming another conversation's
    // execution) is not followed.
    let (n8n, relay, mut client) = setup_with(vec![Step::Ask("Secret?".into())], |c| {
        c.n8n.respond_to_chat = false;
    })
    .await;
    client.say("m1", "hi").await;
    let (code, message) = error_of(&client.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::WebhookInvalidResponse);
    assert!(message.contains("--respond-to-chat"), "{message}");
    assert_eq!(n8n.calls(), 1);
    assert_eq!(
        n8n.executions().chat_connections(),
        0,
        "no socket to n8n's /chat"
    );
    relay.stop().await;
}

#[tokio::test]
async fn with_the_flag_a_body_with_another_key_is_not_followed() {
    let (n8n, relay, mut client) = setup(vec![Step::Ask("Secret?".into())]).await;
    n8n.executions()
        .set_start_extra(Some(r#""sessionId":"someone-else""#));
    client.say("m1", "hi").await;
    let (code, _) = error_of(&client.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::WebhookInvalidResponse);
    assert_eq!(n8n.executions().chat_connections(), 0);
    // n8n's own answer again: followed.
    n8n.executions().set_start_extra(None);
    client.say("m2", "hi").await;
    let frames = until(&mut client, is_waiting).await;
    assert_eq!(texts(&frames), ["Secret?"]);
    assert_eq!(n8n.executions().chat_connections(), 1);
    relay.stop().await;
}

/// An approval whose links n8n signs over `host`.
async fn approval_on(
    host: &str,
    configure: impl FnOnce(&mut server::Config),
) -> (StandIn, Relay, Client) {
    let (n8n, relay, mut client) = setup_with(
        vec![
            Step::Approve {
                text: "Deploy?".into(),
                buttons: vec!["Yes".into(), "No".into()],
                block: true,
            },
            Step::Send("result {reply}".into()),
        ],
        configure,
    )
    .await;
    n8n.executions().set_host(host);
    client.say("m1", "deploy").await;
    until(&mut client, is_waiting).await;
    client
        .send(ClientMessage::Choice {
            id: "m1".into(),
            seq: 1,
            button: 0,
        })
        .await;
    (n8n, relay, client)
}

#[tokio::test]
async fn a_link_off_n8ns_origin_is_not_opened() {
    // The links name another host than the webhook's: without
    // --n8n-public-url saying it is n8n's, the relay opens nothing.
    let (n8n, relay, mut client) = approval_on("admin.internal", |_| {}).await;
    // A typed message goes to the run after the choice (one queue): its
    // refusal says the choice was handled.
    client.say("t1", "yes").await;
    let (code, _) = error_of(&client.next().await, Some("t1"));
    assert_eq!(code, ErrorCode::InvalidMessage);
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(n8n.executions().link_requests(), 0, "nothing fetched");
    assert!(n8n.executions().approvals(&id).is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn links_on_n8ns_public_url_are_sent_with_its_host() {
    // n8n's WEBHOOK_URL is https://n8n.example.com/, the relay reaches it on
    // loopback: the link is accepted and sent with the configured Host.
    let (n8n, relay, mut client) = approval_on("n8n.example.com", |c| {
        c.n8n.n8n_public_url = Some("http://n8n.example.com/".parse().expect("url"));
    })
    .await;
    let frames = until(&mut client, is_done("m1")).await;
    assert_eq!(texts(&frames), ["result approved"]);
    let id = n8n.executions().ids().pop().expect("execution");
    assert_eq!(n8n.executions().approvals(&id), [true]);
    relay.stop().await;
}
