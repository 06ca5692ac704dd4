//! One message at a time, three ways, interleaved round by round so that
//! drift in the machine's speed affects all three alike:
//! - **relay**: a chat message over one persistent WebSocket through the
//!   relay to the webhook and back;
//! - **fresh POST**: what the old design did per message — a new TCP
//!   connection and an HTTP POST straight to the webhook;
//! - **keep-alive POST**: a POST on a reused connection straight to the
//!   webhook, the floor (the relay's own cost is the difference).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use shared::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::stats;

/// Latencies of the three ways, µs.
#[derive(Debug)]
pub struct RoundTrips {
    /// Through the relay.
    pub relay: Histogram<u64>,
    /// New connection + POST per message.
    pub fresh_post: Histogram<u64>,
    /// Keep-alive POST.
    pub keepalive_post: Histogram<u64>,
}

/// Runs `rounds` rounds of `per_round` messages each way (after a warm-up
/// of `per_round` each). Fails on any wrong answer.
pub async fn measure(
    ws_url: &str,
    webhook_url: &str,
    rounds: usize,
    per_round: usize,
) -> Result<RoundTrips, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // Skip the connection frame.
    ws.next()
        .await
        .ok_or("no connection frame")?
        .map_err(|e| e.to_string())?;
    let keepalive = reqwest::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = RoundTrips {
        relay: stats::histogram(),
        fresh_post: stats::histogram(),
        keepalive_post: stats::histogram(),
    };
    let mut n = 0usize;
    for round in 0..=rounds {
        let warmup = round == 0;
        for _ in 0..per_round {
            n += 1;
            let text = format!("message {n}");
            let t = relay_once(&mut ws, &format!("m{n}"), &text).await?;
            if !warmup {
                let _ = out.relay.record(t);
            }
            let t = post_once(&fresh, webhook_url, &text).await?;
            if !warmup {
                let _ = out.fresh_post.record(t);
            }
            let t = post_once(&keepalive, webhook_url, &text).await?;
            if !warmup {
                let _ = out.keepalive_post.record(t);
            }
        }
    }
    Ok(out)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn relay_once(ws: &mut Ws, id: &str, text: &str) -> Result<u64, String> {
    let started = Instant::now();
    let frame = ClientMessage::Message {
        id: id.into(),
        text: text.into(),
        metadata: None,
        retry: false,
        regenerate: false,
        files: Vec::new(),
    };
    ws.send(Message::text(frame.encode()))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| "relay answer timed out".to_string())?
            .ok_or("relay closed")?
            .map_err(|e| e.to_string())?;
        let Message::Text(t) = message else { continue };
        match ServerMessage::decode(&t) {
            Ok(ServerMessage::Response {
                id: got,
                text: answer,
                ..
            }) if got == id => {
                if answer != format!("echo: {text}") {
                    return Err(format!("wrong answer {answer:?}"));
                }
                return Ok((started.elapsed().as_micros() as u64).max(1));
            }
            Ok(ServerMessage::Heartbeat { .. } | ServerMessage::Progress { .. }) => continue,
            other => return Err(format!("unexpected frame {other:?}")),
        }
    }
}

async fn post_once(client: &reqwest::Client, url: &str, text: &str) -> Result<u64, String> {
    let started = Instant::now();
    let body =
        serde_json::json!({"action": "sendMessage", "sessionId": "bench", "chatInput": text});
    let response = client
        .post(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let answer: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    if answer["output"] != format!("echo: {text}") {
        return Err(format!("wrong webhook answer {answer}"));
    }
    Ok((started.elapsed().as_micros() as u64).max(1))
}
