//! Live progress (`progress` frames) and regenerate, through the relay:
//! the stand-in n8n streams the captured blocks of two nodes in sequence
//! and one node in a loop (`c-stream`, `c3-stream-tokens`); a real
//! WebSocket client reads what the page would.

use std::time::Duration;

use crate::support::{config_for, response_text, Client, Relay};
use shared::{ClientMessage, ProgressLabel, ServerMessage, StepState};
use testkit::n8n::{Mode, Pace, StandIn, Step};

async fn setup(mode: Mode, adjust: impl FnOnce(&mut server::Config)) -> (StandIn, Relay, Client) {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(mode);
    let mut config = config_for(&n8n.url("/webhook/abc/chat"));
    adjust(&mut config);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    (n8n, relay, client)
}

/// Every frame (progress included) up to the response to `id`.
async fn until_response(client: &mut Client, id: &str) -> Vec<ServerMessage> {
    let mut seen = Vec::new();
    loop {
        let frame = client.next_with_progress().await;
        let last = matches!(&frame, ServerMessage::Response { id: got, .. } if got == id);
        seen.push(frame);
        if last {
            return seen;
        }
    }
}

/// A frame in short: `P <seq> <text or label> <state>`, `C <text>`, `R <text>`.
fn short(frame: &ServerMessage) -> String {
    match frame {
        ServerMessage::Progress {
            step,
            label,
            seq,
            state,
            ..
        } => format!(
            "P {} {} {}",
            seq.map_or("-".into(), |s| s.to_string()),
            step.clone()
                .or(label.map(|l| format!("<{l:?}>")))
                .unwrap_or_default(),
            if *state == StepState::Running {
                "running"
            } else {
                "done"
            }
        ),
        ServerMessage::Chunk { text, .. } => format!("C {text}"),
        ServerMessage::Response { text, .. } => format!("R {text}"),
        other => format!("{other:?}"),
    }
}

const LOOP_RUN: [&str; 4] = ["echo: ", "hello ", "big ", "world"];

#[tokio::test]
async fn several_streaming_nodes_and_a_loop_become_numbered_steps() {
    let (_n8n, relay, mut client) = setup(
        Mode::StreamSteps {
            gap: Duration::from_millis(5),
        },
        |c| {
            c.progress.progress_labels = vec![server::config::progress::parse_progress_label(
                "Stream part 1=Searching the knowledge base",
            )
            .expect("label")];
        },
    )
    .await;
    client.say("m1", "hi").await;
    let frames = until_response(&mut client, "m1").await;
    let mut expected = vec![
        "P - <Workflow> running".to_owned(),
        "P 1 Searching the knowledge base running".into(),
        "C echo: ".into(),
        "P 1 Searching the knowledge base done".into(),
        "P 2 <Working> running".into(),
        "C hi".into(),
        "P 2 <Working> done".into(),
    ];
    for (n, text) in LOOP_RUN.iter().enumerate() {
        expected.push(format!("P {} <Working> running", n + 3));
        expected.push(format!("C {text}"));
        expected.push(format!("P {} <Working> done", n + 3));
    }
    expected.push("R echo: hiecho: hello big world".into());
    assert_eq!(frames.iter().map(short).collect::<Vec<_>>(), expected);
    // Node names are internal: none reaches the page.
    for frame in &frames {
        let json = frame.encode();
        for name in ["Stream part", "Stream token", "c3000000", "c2000000"] {
            assert!(!json.contains(name), "{json}");
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn node_names_are_shown_only_when_the_operator_says_so() {
    let (_n8n, relay, mut client) = setup(
        Mode::StreamSteps {
            gap: Duration::from_millis(1),
        },
        |c| {
            c.progress.show_node_names = true;
            c.progress.progress_labels =
                vec![
                    server::config::progress::parse_progress_label("Stream part 2=")
                        .expect("label"),
                ];
        },
    )
    .await;
    client.say("m1", "hi").await;
    let steps: Vec<String> = until_response(&mut client, "m1")
        .await
        .iter()
        .filter(|f| {
            matches!(
                f,
                ServerMessage::Progress {
                    seq: Some(_),
                    state: StepState::Running,
                    ..
                }
            )
        })
        .map(short)
        .collect();
    // "Stream part 2" is hidden by its empty label; the loop's runs count on.
    assert_eq!(
        steps,
        [
            "P 1 Stream part 1 running",
            "P 2 Stream token running",
            "P 3 Stream token running",
            "P 4 Stream token running",
            "P 5 Stream token running",
        ]
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_webhook_answer_without_a_stream_says_it_waits_for_the_workflow() {
    let (_n8n, relay, mut client) = setup(Mode::Echo, |_| {}).await;
    client.say("m1", "hi").await;
    let frames = until_response(&mut client, "m1").await;
    assert_eq!(
        frames.iter().map(short).collect::<Vec<_>>(),
        ["P - <Workflow> running", "R echo: hi"]
    );
    // The same id again: its stored answer, no new progress (nothing runs).
    client.say("m1", "hi").await;
    assert_eq!(short(&client.next_with_progress().await), "R echo: hi");
    relay.stop().await;
}

#[tokio::test]
async fn a_run_waiting_for_the_users_reply_says_so() {
    let (n8n, relay, mut client) = setup(
        Mode::RespondToChat(vec![
            Step::Ask("What is your name?".into()),
            Step::Send("Hello {reply}".into()),
        ]),
        |c| {
            c.n8n.respond_to_chat = true;
            c.n8n.run_settle = Duration::from_millis(50);
        },
    )
    .await;
    n8n.set_pace(Pace {
        poll: Duration::from_millis(100),
        heartbeat: Duration::from_millis(150),
        cancel_after: Duration::from_millis(600),
    });
    client.say("m1", "start").await;
    let mut labels = Vec::new();
    loop {
        match client.next_with_progress().await {
            ServerMessage::Progress {
                id,
                label: Some(label),
                seq: None,
                ..
            } => {
                assert_eq!(id, "m1");
                labels.push(label);
                if label == ProgressLabel::Reply {
                    break;
                }
            }
            ServerMessage::Progress { .. } => panic!("a run has no node steps"),
            _ => {}
        }
    }
    assert_eq!(labels, [ProgressLabel::Workflow, ProgressLabel::Reply]);
    client.say("r1", "Ada").await;
    loop {
        match client.next_with_progress().await {
            ServerMessage::Progress { label, .. } => {
                assert_eq!(label, Some(ProgressLabel::Workflow), "working again");
                break;
            }
            _ => continue,
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_message_behind_the_sessions_earlier_one_says_it_waits_its_turn() {
    let (_n8n, relay, mut client) = setup(
        Mode::Stream {
            gap: Duration::from_millis(300),
        },
        |_| {},
    )
    .await;
    client.say("m1", "first").await;
    // m1 is at n8n (its first piece came); m2 waits for it.
    loop {
        if let ServerMessage::Chunk { id, .. } = client.next_with_progress().await {
            assert_eq!(id, "m1");
            break;
        }
    }
    client.say("m2", "second").await;
    let mut m2 = Vec::new();
    loop {
        let frame = client.next_with_progress().await;
        match &frame {
            ServerMessage::Progress { id, label, .. } if id == "m2" => m2.push(*label),
            ServerMessage::Response { id, .. } if id == "m2" => break,
            _ => {}
        }
    }
    assert_eq!(
        m2.first(),
        Some(&Some(ProgressLabel::Queued)),
        "queued first: {m2:?}"
    );
    assert_eq!(m2.get(1), Some(&Some(ProgressLabel::Workflow)), "{m2:?}");
    relay.stop().await;
}

fn regenerate(id: &str, text: &str) -> ClientMessage {
    ClientMessage::Message {
        id: id.into(),
        text: text.into(),
        metadata: None,
        retry: false,
        files: Vec::new(),
        regenerate: true,
    }
}

#[tokio::test]
async fn regenerate_reaches_n8n_once_and_only_when_asked() {
    let (n8n, relay, mut client) = setup(Mode::Echo, |_| {}).await;
    client.say("m1", "tell me a joke").await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        "echo: tell me a joke"
    );
    client.send(regenerate("m2", "tell me a joke")).await;
    assert_eq!(
        response_text(&client.next().await, "m2"),
        "echo: tell me a joke"
    );
    // Resent after a reconnect: the stored answer, not a second run.
    client.send(regenerate("m2", "tell me a joke")).await;
    assert_eq!(
        response_text(&client.next().await, "m2"),
        "echo: tell me a joke"
    );
    let bodies: Vec<serde_json::Value> = n8n.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies.len(), 2, "each id ran once: {bodies:?}");
    assert_eq!(
        bodies[0].get("regenerate"),
        None,
        "an ordinary message is as before"
    );
    assert_eq!(bodies[1]["regenerate"], serde_json::json!(true));
    assert_eq!(bodies[1]["chatInput"], "tell me a joke");
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.get("regenerate").is_some())
            .count(),
        1
    );
    relay.stop().await;
}
