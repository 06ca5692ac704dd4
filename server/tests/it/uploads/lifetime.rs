//! How long an upload lives: past a restart, after its session is gone or
//! forgotten, and when its body stalls or trickles (the reservation given
//! back).

use std::time::Duration;

use super::{file_ref, left_in, say_with_files, scratch, upload, wait_left_in, with_uploads, PNG};
use crate::support::{error_of, response_text, Client, Relay};
use shared::{ClientMessage, ErrorCode, ServerMessage};
use testkit::n8n::StandIn;

#[tokio::test]
async fn a_resend_after_a_restart_uploads_again_and_n8n_runs_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    let relay = Relay::start(config.clone()).await;
    let addr = relay.addr;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    let s = client.session_id.clone();
    let (_, up) = upload(&relay, &s, "dot.png", "image/png", PNG.to_vec()).await;
    drop(client);
    // The relay restarts before the message is sent: the upload is gone.
    relay.stop().await;
    let relay = Relay::start_on(addr, config).await;
    let mut client = Client::connect(&relay.ws_url(&format!("/ws?session={s}"))).await;
    say_with_files(&mut client, "m1", "look", None, vec![file_ref(&up)]).await;
    let (code, message) = error_of(&client.next().await, Some("m1"));
    assert_eq!(code, ErrorCode::UploadMissing, "{message}");
    // The page uploads again and resends the same message: it runs once.
    let (status, again) = upload(&relay, &s, "dot.png", "image/png", PNG.to_vec()).await;
    assert_eq!(status, 201);
    say_with_files(&mut client, "m1", "look", None, vec![file_ref(&again)]).await;
    let answer = response_text(&client.next().await, "m1");
    assert!(answer.contains("dot.png (image/png, 463 B)"), "{answer}");
    say_with_files(&mut client, "m1", "look", None, vec![file_ref(&again)]).await;
    assert_eq!(
        response_text(&client.next().await, "m1"),
        answer,
        "answered from memory"
    );
    assert_eq!(n8n.calls(), 1);
    relay
        .wait_health("uploads deleted", |h| h["uploads"]["files"] == 0)
        .await;
    assert_eq!(left_in(&dir), 0);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_gone_sessions_uploads_are_released_when_its_answers_would_be() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.retention.retain_for = Duration::from_millis(500);
    let relay = Relay::start(config).await;
    let stays = Client::connect(&relay.ws_url("/ws")).await;
    let goes = Client::connect(&relay.ws_url("/ws")).await;
    for c in [&stays, &goes] {
        let (status, _) = upload(&relay, &c.session_id, "a.png", "image/png", PNG.to_vec()).await;
        assert_eq!(status, 201);
    }
    drop(goes);
    // --upload-retention is 30 minutes: only the session's absence frees it.
    relay
        .wait_health("the gone session's upload released", |h| {
            h["uploads"]["files"] == 1
        })
        .await;
    // (The file itself is deleted off the runtime's threads, just after.)
    wait_left_in(&dir, 1).await;
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The visitor deletes a conversation (a `forget` frame): its unsent
/// upload is deleted by the time the relay answers, not kept for
/// `--upload-retention`; another conversation's stays.
#[tokio::test]
async fn a_forgotten_sessions_uploads_are_deleted_at_once() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let relay = Relay::start(with_uploads(&n8n.url("/webhook/e1/chat"), &dir)).await;
    let mut forgets = Client::connect(&relay.ws_url("/ws")).await;
    let other = Client::connect(&relay.ws_url("/ws")).await;
    for c in [&forgets, &other] {
        let (status, _) = upload(&relay, &c.session_id, "a.png", "image/png", PNG.to_vec()).await;
        assert_eq!(status, 201);
    }
    assert_eq!(left_in(&dir), 2);
    forgets.send(ClientMessage::Forget { sessions: None }).await;
    match forgets.next().await {
        ServerMessage::Forgotten { sessions } => assert_eq!(sessions, 1),
        other => panic!("expected forgotten, got {other:?}"),
    }
    assert_eq!(left_in(&dir), 1, "the forgotten session's file is deleted");
    let health = relay.health().await;
    assert_eq!(health["uploads"]["files"], 1, "{health}");
    assert_eq!(health["uploads"]["bytes"], PNG.len(), "{health}");
    drop(other);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_stalled_upload_gives_back_its_reservation() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.upload_stall_timeout = Duration::from_secs(1);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;
    // A byte every 50 ms (progress: not stalled) until the relay is seen
    // holding them, then nothing (the sender is kept open).
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let request = reqwest::Client::new()
        .post(relay.http_url("/api/uploads"))
        .header("x-chat-session", client.session_id.clone())
        .header("content-type", "text/plain")
        .body(body)
        .send();
    let sent = tokio::spawn(request);
    let stop = tokio_util::sync::CancellationToken::new();
    let feeding = stop.clone();
    let feeder = tokio::spawn(async move {
        while !feeding.is_cancelled() {
            // Never waits: the relay may stop reading at any time.
            let _ = tx.try_send(Ok(vec![b'a']));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tx // kept open: the body neither ends nor breaks
    });
    relay
        .wait_health("bytes reserved", |h| {
            h["uploads"]["bytes"].as_u64().unwrap_or(0) > 0
        })
        .await;
    stop.cancel();
    let tx = feeder.await.expect("feeder");
    let health = relay
        .wait_health("the reservation given back", |h| {
            h["uploads"]["bytes"] == 0 && h["uploads"]["files"] == 0
        })
        .await;
    assert_eq!(health["uploads"]["files"], 0);
    wait_left_in(&dir, 0).await; // its file is deleted
                                 // The client is told, when it is still listening.
    if let Ok(Ok(Ok(response))) = tokio::time::timeout(Duration::from_secs(5), sent).await {
        assert_eq!(response.status(), 408);
    }
    drop(tx);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The sending end of a streamed upload body.
type BodySender = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

/// Sends `chunk` every `every` on a streamed upload body until `stop`; the
/// body is kept open afterwards only if `hold` (else it ends).
fn feed(
    relay: &Relay,
    session: &str,
    chunk: Vec<u8>,
    every: Duration,
    stop: tokio_util::sync::CancellationToken,
    hold: bool,
) -> (
    tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
    tokio::task::JoinHandle<Option<BodySender>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let request = reqwest::Client::new()
        .post(relay.http_url("/api/uploads"))
        .header("x-chat-session", session.to_owned())
        .header("content-type", "text/plain")
        .body(body)
        .send();
    let sent = tokio::spawn(request);
    let feeder = tokio::spawn(async move {
        while !stop.is_cancelled() {
            if tx.send(Ok(chunk.clone())).await.is_err() {
                break; // the relay stopped reading
            }
            tokio::time::sleep(every).await;
        }
        hold.then_some(tx)
    });
    (sent, feeder)
}

/// One byte every 100 ms is progress of a sort, but with a 1 s
/// `--upload-stall-timeout` the upload must bring 16 KiB a window: it is
/// ended within a window or two, though bytes keep coming. One that brings
/// enough each window (8 KiB every 100 ms) completes however long it runs.
#[tokio::test]
async fn a_trickling_upload_is_ended_and_a_steady_one_completes() {
    let n8n = StandIn::start().await.expect("stand-in");
    let dir = scratch();
    let mut config = with_uploads(&n8n.url("/webhook/e1/chat"), &dir);
    config.uploads.upload_stall_timeout = Duration::from_secs(1);
    let relay = Relay::start(config).await;
    let client = Client::connect(&relay.ws_url("/ws")).await;

    let stop = tokio_util::sync::CancellationToken::new();
    let started = tokio::time::Instant::now();
    let (sent, feeder) = feed(
        &relay,
        &client.session_id,
        vec![b'a'],
        Duration::from_millis(100),
        stop.clone(),
        true,
    );
    relay
        .wait_health("bytes reserved", |h| {
            h["uploads"]["bytes"].as_u64().unwrap_or(0) > 0
        })
        .await;
    // Still trickling: the relay ends it anyway.
    relay
        .wait_health("the trickle ended", |h| {
            h["uploads"]["bytes"] == 0 && h["uploads"]["files"] == 0
        })
        .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "ended after {took:?}");
    wait_left_in(&dir, 0).await;
    if let Ok(Ok(Ok(response))) = tokio::time::timeout(Duration::from_secs(5), sent).await {
        assert_eq!(response.status(), 408);
    }
    stop.cancel();
    drop(feeder.await.expect("feeder"));

    // Steady: 8 KiB every 100 ms for three windows, then the body ends.
    let stop = tokio_util::sync::CancellationToken::new();
    let (sent, feeder) = feed(
        &relay,
        &client.session_id,
        vec![b'b'; 8 * 1024],
        Duration::from_millis(100),
        stop.clone(),
        false,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    assert!(feeder.await.expect("feeder").is_none(), "body ended");
    let response = tokio::time::timeout(crate::support::STEP, sent)
        .await
        .expect("answered")
        .expect("task")
        .expect("response");
    assert_eq!(response.status(), 201);
    relay.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A stream of what arrives on `rx`.
fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
