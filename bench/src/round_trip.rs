//! One message at a time, three ways, interleaved round by round so that
//! drift in the machine's speed affects all three alike:
//! - **relay**: a chat message over one persistent WebSocket through the
//!   relay to the webhook and back;
//! - **fresh POST**: what the old design did per message — a new TCP
//!   connection and an HTTP POST straight to the webhook;
//! - **keep-alive POST**: a POST on a reused connection straight to the
//!   webhook with reqwest (what the relay itself uses);
//! - **relay, echo mode** (when asked): the same through a relay that
//!   answers itself — the WebSocket side and the relay's core alone, no
//!   webhook call;
//! - **raw keep-alive POST**: the same on hyper's bare HTTP/1.1 client
//!   connection (no pool, no redirect layer): the floor, so the relay's
//!   own cost is the difference.

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
    /// Through a relay in echo mode (empty unless asked for).
    pub relay_echo: Histogram<u64>,
    /// New connection + POST per message.
    pub fresh_post: Histogram<u64>,
    /// Keep-alive POST (reqwest).
    pub keepalive_post: Histogram<u64>,
    /// Keep-alive POST on a bare hyper connection: the floor.
    pub raw_post: Histogram<u64>,
    /// Each measured round's relay and raw-floor summaries, in order, for
    /// the relay's overhead as the median of paired rounds.
    pub rounds: Vec<(stats::Summary, stats::Summary)>,
}

/// Runs `rounds` rounds of `per_round` messages each way (after a warm-up
/// of `per_round` each). Fails on any wrong answer.
pub async fn measure(
    ws_url: &str,
    webhook_url: &str,
    rounds: usize,
    per_round: usize,
) -> Result<RoundTrips, String> {
    measure_with_echo(ws_url, None, webhook_url, rounds, per_round).await
}

/// [`measure`], plus the round trip through a relay in echo mode at
/// `echo_ws_url`, interleaved with the others.
pub async fn measure_with_echo(
    ws_url: &str,
    echo_ws_url: Option<&str>,
    webhook_url: &str,
    rounds: usize,
    per_round: usize,
) -> Result<RoundTrips, String> {
    let mut ws = connect(ws_url).await?;
    let mut echo = match echo_ws_url {
        Some(url) => Some(connect(url).await?),
        None => None,
    };
    let keepalive = reqwest::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = RoundTrips {
        relay: stats::histogram(),
        relay_echo: stats::histogram(),
        fresh_post: stats::histogram(),
        keepalive_post: stats::histogram(),
        raw_post: stats::histogram(),
        rounds: Vec::new(),
    };
    let mut raw = RawPost::connect(webhook_url).await?;
    let mut n = 0usize;
    for round in 0..=rounds {
        let warmup = round == 0;
        let (mut relay_round, mut raw_round) = (stats::histogram(), stats::histogram());
        for _ in 0..per_round {
            n += 1;
            let text = format!("message {n}");
            let t = relay_once(&mut ws, &format!("m{n}"), &text).await?;
            if !warmup {
                let _ = out.relay.record(t);
                let _ = relay_round.record(t);
            }
            if let Some(echo) = echo.as_mut() {
                let t = relay_once(echo, &format!("e{n}"), &text).await?;
                if !warmup {
                    let _ = out.relay_echo.record(t);
                }
            }
            let t = post_once(&fresh, webhook_url, &text).await?;
            if !warmup {
                let _ = out.fresh_post.record(t);
            }
            let t = post_once(&keepalive, webhook_url, &text).await?;
            if !warmup {
                let _ = out.keepalive_post.record(t);
            }
            let t = raw.post(&text).await?;
            if !warmup {
                let _ = out.raw_post.record(t);
                let _ = raw_round.record(t);
            }
        }
        if !warmup {
            out.rounds
                .push((stats::summary(&relay_round), stats::summary(&raw_round)));
        }
    }
    Ok(out)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket to the relay at `url`, its connection frame read.
async fn connect(url: &str) -> Result<Ws, String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    ws.next()
        .await
        .ok_or("no connection frame")?
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

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

/// One kept-alive HTTP/1.1 connection to the webhook, hyper's bare client.
struct RawPost {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>,
    path: String,
    host: String,
}

impl RawPost {
    async fn connect(url: &str) -> Result<RawPost, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let host = uri.authority().ok_or("no host")?.to_string();
        let path = uri
            .path_and_query()
            .map_or("/".into(), |p| p.as_str().to_owned());
        let tcp = tokio::net::TcpStream::connect(&host)
            .await
            .map_err(|e| format!("connect {host}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        Ok(RawPost { send, path, host })
    }

    async fn post(&mut self, text: &str) -> Result<u64, String> {
        use http_body_util::BodyExt;
        let started = Instant::now();
        let body =
            serde_json::json!({"action": "sendMessage", "sessionId": "bench", "chatInput": text});
        let request = hyper::Request::post(self.path.as_str())
            .header(hyper::header::HOST, self.host.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(
                body.to_string(),
            )))
            .map_err(|e| e.to_string())?;
        self.send.ready().await.map_err(|e| e.to_string())?;
        let response = self
            .send
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let answer: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if answer["output"] != format!("echo: {text}") {
            return Err(format!("wrong webhook answer {answer}"));
        }
        Ok((started.elapsed().as_micros() as u64).max(1))
    }
}
