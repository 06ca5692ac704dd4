//! n8n's `/chat` WebSocket for one execution: the heartbeat and its
//! cancel window, one Chat node per poll, replies, the end (rules 3–6, 8
//! and 9 of `fixtures/respond-to-chat/README.md`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::{links, Executions, Outcome, Step};

impl Executions {
    /// Serves one `/chat` WebSocket (the upgrade request already read).
    pub async fn serve_socket(self: Arc<Self>, mut stream: TcpStream, key: &str, query: &str) {
        *self.chat_connections.lock() += 1;
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
        let params: HashMap<String, String> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let Some(id) = params.get("executionId").cloned() else {
            let _ = ws.close(Some(close(CloseCode::Policy))).await;
            return;
        };
        let generation = {
            let mut runs = self.runs.lock();
            match runs.get_mut(&id) {
                Some(e) => {
                    e.sockets += 1;
                    e.generation += 1;
                    // A new socket gets the pending message again.
                    e.delivered = false;
                    Some(e.generation)
                }
                None => None,
            }
        };
        let Some(generation) = generation else {
            let text = format!("Execution with id \"{id}\" does not exist");
            let _ = ws.send(Message::text(text)).await;
            let _ = ws.close(Some(close(CloseCode::Policy))).await;
            return;
        };
        let pace = self.pace();
        let _ = ws.send(Message::text("n8n|heartbeat")).await;
        let mut last_ack = Instant::now();
        let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + pace.poll, pace.poll);
        let mut beat =
            tokio::time::interval_at(tokio::time::Instant::now() + pace.heartbeat, pace.heartbeat);
        loop {
            tokio::select! {
                _ = poll.tick() => {
                    match self.poll(&id, generation) {
                        Poll::Frames(frames) => {
                            for f in frames {
                                let message = !f.starts_with("n8n|");
                                if ws.send(Message::text(f)).await.is_err() {
                                    return;
                                }
                                if message {
                                    if let Some(e) = self.runs.lock().get_mut(&id) {
                                        e.messages_sent += 1;
                                    }
                                }
                            }
                        }
                        Poll::Close => {
                            // Success: a close frame with no status code.
                            let _ = ws.send(Message::Close(None)).await;
                            let _ = tokio::time::timeout(Duration::from_secs(1), ws.next()).await;
                            return;
                        }
                        // Failed, cancelled or replaced: drop the TCP
                        // connection without a close frame.
                        Poll::Drop => return,
                    }
                }
                _ = beat.tick() => {
                    if last_ack.elapsed() > pace.cancel_after {
                        let mut runs = self.runs.lock();
                        if let Some(e) = runs.get_mut(&id) {
                            if e.outcome == Outcome::Running {
                                e.outcome = Outcome::Canceled;
                            }
                        }
                        return;
                    }
                    if ws.send(Message::text("n8n|heartbeat")).await.is_err() {
                        return;
                    }
                }
                incoming = ws.next() => {
                    match incoming {
                        Some(Ok(Message::Text(text))) => {
                            if text.as_str() == "n8n|heartbeat-ack" {
                                last_ack = Instant::now();
                            } else {
                                self.on_reply(&id, text.as_str());
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                        Some(Ok(_)) => {}
                    }
                }
            }
        }
    }

    /// One poll of execution `id` for the socket of `generation`.
    fn poll(&self, id: &str, generation: u64) -> Poll {
        let mut runs = self.runs.lock();
        let Some(e) = runs.get_mut(id) else {
            return Poll::Drop;
        };
        if e.generation != generation {
            return Poll::Drop;
        }
        match e.outcome {
            Outcome::Running => {}
            Outcome::Success => return Poll::Close,
            Outcome::Failed | Outcome::Canceled => return Poll::Drop,
        }
        let mut frames = Vec::new();
        if e.resumed {
            e.resumed = false;
            if e.waiting {
                // Resumed by a button link: "no longer waiting for you".
                e.waiting = false;
                e.at += 1;
                e.delivered = false;
                frames.push("n8n|continue".to_owned());
                return Poll::Frames(frames);
            }
        }
        if e.waiting && e.delivered {
            return Poll::Frames(frames);
        }
        let Some(step) = e.steps.get(e.at).cloned() else {
            e.outcome = Outcome::Success;
            return Poll::Close;
        };
        let fill = |t: &str| {
            t.replace("{input}", &e.input)
                .replace("{reply}", &e.last_reply)
        };
        match step {
            Step::Send(text) => {
                frames.push(fill(&text));
                frames.push("n8n|continue".to_owned());
                e.at += 1;
                e.delivered = false;
            }
            Step::Ask(text) => {
                frames.push(fill(&text));
                e.waiting = true;
                e.delivered = true;
            }
            Step::Approve {
                text,
                buttons,
                block,
            } => {
                let node = format!("f0000000-0000-4000-8000-{:012}", e.at + 2);
                let host = self.host.lock().clone();
                let links: Vec<serde_json::Value> = buttons
                    .iter()
                    .enumerate()
                    .map(|(i, label)| {
                        let approved = i == 0;
                        let path = format!("/webhook-waiting/{id}/{node}?approved={approved}");
                        let signature = links::sign(&host, &path);
                        serde_json::json!({
                            "text": label,
                            "link": format!("http://{host}{path}&signature={signature}"),
                            "type": if approved { "primary" } else { "secondary" },
                        })
                    })
                    .collect();
                let frame = serde_json::json!({
                    "type": "with-buttons",
                    "text": fill(&text),
                    "blockUserInput": block,
                    "buttons": links,
                });
                frames.push(frame.to_string());
                e.waiting = true;
                e.delivered = true;
            }
            Step::Fail => {
                e.outcome = Outcome::Failed;
                return Poll::Drop;
            }
        }
        Poll::Frames(frames)
    }

    /// A text frame from the client that is not a heartbeat ack.
    fn on_reply(&self, id: &str, text: &str) {
        let Ok(reply) = serde_json::from_str::<serde_json::Value>(text) else {
            return; // n8n only logs that it is not JSON.
        };
        if reply["action"] != "sendMessage" || !reply["sessionId"].is_string() {
            return;
        }
        let mut runs = self.runs.lock();
        let Some(e) = runs.get_mut(id) else {
            return;
        };
        if e.outcome != Outcome::Running {
            return;
        }
        if let Some(Step::Approve { block: true, .. }) = e.steps.get(e.at) {
            if e.waiting {
                return; // input blocked until a button is used
            }
        }
        if let Some(Step::Approve { block: false, .. }) = e.steps.get(e.at) {
            if e.waiting {
                e.approvals.push(false);
            }
        }
        e.last_reply = reply["chatInput"].as_str().unwrap_or_default().to_owned();
        e.replies.push(reply);
        // Resumes the execution, waiting or not (a reply while n8n was not
        // waiting swallows the pending message: capture 01c).
        e.waiting = false;
        e.at += 1;
        e.delivered = false;
    }
}

enum Poll {
    Frames(Vec<String>),
    Close,
    Drop,
}

fn close(code: CloseCode) -> CloseFrame {
    CloseFrame {
        code,
        reason: "".into(),
    }
}
