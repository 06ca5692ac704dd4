//! The load generator counts only correct answers: checked against a real
//! relay (echo mode) and against a server that answers wrongly.

mod support;

use std::time::Duration;

use bench::loadgen::{self, Load};
use futures_util::{SinkExt, StreamExt};
use shared::{ClientMessage, ServerMessage};
use support::InProcess;
use tokio_tungstenite::tungstenite::Message;

fn load(url: String, clients: usize, messages: usize) -> Load {
    Load {
        url,
        clients,
        messages,
        window: 4,
        payload: 16,
        text: None,
        deadline: Duration::from_secs(20),
    }
}

#[tokio::test]
async fn every_answer_from_a_real_relay_is_counted_once() {
    let mut config = server::Config::defaults();
    config.n8n.webhook_url = None;
    let relay = InProcess::start(config).await;
    let report = loadgen::run(load(relay.ws_url(), 5, 40)).await;
    assert_eq!(
        (report.ok, report.wrong, report.errors, report.missing),
        (200, 0, 0, 0)
    );
    assert_eq!(report.latency.len(), 200);
    relay.stop().await;
}

#[tokio::test]
async fn wrong_and_missing_answers_are_not_successes() {
    // A server that answers every other message with the wrong text and
    // never answers the rest.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let hello = ServerMessage::Connection {
                    client_id: "c".into(),
                    session_id: "s".into(),
                    heartbeat_ms: 30_000,
                    version: "fake".into(),
                    max_message_bytes: None,
                };
                let _ = ws.send(Message::text(hello.encode())).await;
                let mut n = 0;
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    if let Ok(ClientMessage::Message { id, .. }) = ClientMessage::decode(&t) {
                        n += 1;
                        if n % 2 == 0 {
                            let wrong = ServerMessage::Response {
                                id,
                                text: "not the echo".into(),
                                doc: None,
                            };
                            let _ = ws.send(Message::text(wrong.encode())).await;
                        }
                    }
                }
            });
        }
    });
    let mut l = load(format!("ws://{addr}/ws"), 1, 4);
    l.window = 4;
    l.deadline = Duration::from_millis(500);
    let report = loadgen::run(l).await;
    assert_eq!(report.ok, 0);
    assert_eq!(report.wrong, 2);
    assert_eq!(report.missing, 2);
}
