//! Files attached to the reply to a waiting "Respond to Chat" run: they go
//! to the run on n8n's chat socket the way n8n's widget sends them
//! (`"files":[{"name","type","data":"data:<type>;base64,…"}]`, capture
//! `respond-to-chat/02b`; the workflow sees them as `$binary.data_0…`),
//! and are released once the reply is done.

use std::time::Duration;

use base64::Engine;
use shared::{ErrorCode, RunState, ServerMessage};
use testkit::n8n::{Mode, Pace, StandIn, Step};

use super::{file_ref, say_with_files, scratch, upload, wait_left_in, with_uploads, PNG};
use crate::support::{error_of, Client, Relay};

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

fn is_done(id: &str) -> impl Fn(&ServerMessage) -> bool + '_ {
    move |f| matches!(f, ServerMessage::Done { id: got } if got == id)
}

/// The stand-in asking one question, a relay with uploads in `dir`
/// following its runs, and a page whose message `m1` started the run that
/// now waits for the reply.
async fn a_waiting_run(dir: &std::path::Path) -> (StandIn, Relay, Client) {
    let n8n = StandIn::start().await.expect("stand-in");
    n8n.set_mode(Mode::RespondToChat(vec![
        Step::Ask("What is this?".into()),
        Step::Send("Thanks for {reply}".into()),
    ]));
    n8n.set_pace(Pace {
        poll: Duration::from_millis(100),
        heartbeat: Duration::from_millis(150),
        cancel_after: Duration::from_millis(600),
    });
    let mut config = with_uploads(&n8n.url("/webhook/f1/chat"), dir);
    config.n8n.run_settle = Duration::from_millis(50);
    config.n8n.respond_to_chat = true;
    let relay = Relay::start(config).await;
    let mut client = Client::connect(&relay.ws_url("/ws")).await;
    client.say("m1", "start").await;
    until(&mut client, |f| {
        matches!(
            f,
            ServerMessage::Run {
                state: RunState::Waiting,
                ..
            }
        )
    })
    .await;
    (n8n, relay, client)
}

fn data_url(bytes: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[tokio::test]
async fn files_with_a_reply_to_a_waiting_run_reach_the_run_and_are_released() {
    let dir = scratch();
    let (n8n, relay, mut client) = a_waiting_run(&dir).await;
    let (status, up) = upload(
        &relay,
        &client.session_id,
        "dot.png",
        "image/png",
        PNG.to_vec(),
    )
    .await;
    assert_eq!(status, 201, "{up}");
    say_with_files(&mut client, "r1", "the dot", None, vec![file_ref(&up)]).await;
    let frames = until(&mut client, is_done("m1")).await;
    assert!(frames.iter().any(is_done("r1")), "{frames:?}");

    let id = n8n.executions().ids().pop().expect("an execution");
    let replies = n8n.executions().replies(&id);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["chatInput"], "the dot");
    assert_eq!(
        replies[0]["files"],
        serde_json::json!([{ "name": "dot.png", "type": "image/png", "data": data_url(PNG) }])
    );
    assert_eq!(n8n.calls(), 1, "one execution");
    // Done: the upload is not needed again.
    relay
        .wait_health("the reply's upload released", |h| {
            h["uploads"]["files"] == 0
        })
        .await;
    wait_left_in(&dir, 0).await;
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A reply's file gone from the relay's disk when it is sent: like a
/// message's, `upload_missing` (not its outcome) and nothing reaches n8n;
/// the run still waits, and the page's resend with the file uploaded
/// again is the reply.
#[tokio::test]
async fn a_reply_whose_file_is_gone_is_asked_for_again_and_the_run_waits() {
    let dir = scratch();
    let (n8n, relay, mut client) = a_waiting_run(&dir).await;
    let (_, up) = upload(
        &relay,
        &client.session_id,
        "dot.png",
        "image/png",
        PNG.to_vec(),
    )
    .await;
    for entry in std::fs::read_dir(&dir).expect("the upload dir").flatten() {
        std::fs::remove_file(entry.path()).expect("removed");
    }
    say_with_files(&mut client, "r1", "the dot", None, vec![file_ref(&up)]).await;
    let frames = until(&mut client, |f| matches!(f, ServerMessage::Error { .. })).await;
    let last = frames.last().expect("a frame");
    let (code, message) = error_of(last, Some("r1"));
    assert_eq!(code, ErrorCode::UploadMissing, "{message}");
    assert!(message.contains("dot.png"), "{message}");
    let id = n8n.executions().ids().pop().expect("an execution");
    assert!(n8n.executions().replies(&id).is_empty(), "nothing sent");

    let (status, again) = upload(
        &relay,
        &client.session_id,
        "dot.png",
        "image/png",
        PNG.to_vec(),
    )
    .await;
    assert_eq!(status, 201);
    say_with_files(&mut client, "r1", "the dot", None, vec![file_ref(&again)]).await;
    let frames = until(&mut client, is_done("m1")).await;
    assert!(frames.iter().any(is_done("r1")), "{frames:?}");
    let replies = n8n.executions().replies(&id);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["files"][0]["data"], data_url(PNG));
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
