//! Many conversations streaming at once: every client sends one message
//! and reads its answer arrive in pieces from the slow streaming webhook,
//! measuring how late each piece reaches it (the piece's `@<µs>;` stamp to
//! its arrival) and that every answer ends complete.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use shared::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::idle;
use crate::stats;
use crate::streaming_webhook::{stamps, unix_us};

/// What the conversations saw.
#[derive(Debug, Clone)]
pub struct Streamed {
    /// Clients connected.
    pub connected: usize,
    /// Answers that ended complete (every byte, then one `response`).
    pub complete: usize,
    /// Answers that ended otherwise (error, short, cut off).
    pub failed: usize,
    /// Chunk delivery latency, µs.
    pub latency: Histogram<u64>,
    /// From the first message sent to the last answer.
    pub elapsed: Duration,
}

/// Connects `conversations` clients to `ws_url`, calls `connected` (to
/// take measurements), then has each send one message at once; each answer
/// should be `answer_bytes` long.
pub async fn run(
    ws_url: &str,
    conversations: usize,
    answer_bytes: usize,
    connected: impl FnOnce(),
) -> Streamed {
    let clients = idle::connect(ws_url, conversations).await;
    connected();
    let connected = clients.len();
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut ws) in clients.into_iter().enumerate() {
        tasks.spawn(async move {
            // Raw samples: a histogram per client would cost ~0.4 MB each.
            let mut latency: Vec<u64> = Vec::with_capacity(64);
            let frame = ClientMessage::Message {
                id: format!("s{i}"),
                text: "stream to me".into(),
                metadata: None,
                retry: false,
                regenerate: false,
                files: Vec::new(),
            };
            if ws.send(Message::text(frame.encode())).await.is_err() {
                return (false, latency);
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            loop {
                let text = match tokio::time::timeout_at(deadline, ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => t,
                    Ok(Some(Ok(_))) => continue,
                    _ => return (false, latency),
                };
                let now = unix_us();
                match ServerMessage::decode(&text) {
                    Ok(ServerMessage::Chunk { text, .. }) => {
                        for stamp in stamps(&text) {
                            latency.push(now.saturating_sub(stamp).max(1));
                        }
                    }
                    Ok(ServerMessage::Response { text, .. }) => {
                        return (text.len() == answer_bytes, latency);
                    }
                    Ok(ServerMessage::Error { .. }) => return (false, latency),
                    _ => {}
                }
            }
        });
    }
    let mut all = stats::histogram();
    let (mut complete, mut failed) = (0, 0);
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok((ok, latency)) => {
                for us in latency {
                    let _ = all.record(us);
                }
                if ok {
                    complete += 1;
                } else {
                    failed += 1;
                }
            }
            Err(_) => failed += 1,
        }
    }
    Streamed {
        connected,
        complete,
        failed,
        latency: all,
        elapsed: started.elapsed(),
    }
}
