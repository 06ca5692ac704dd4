//! Many idle WebSocket clients, for the density measurement: they connect,
//! read their `connection` frame, then only listen for heartbeats.

use std::time::Duration;

use futures_util::StreamExt;
use shared::ServerMessage;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects `n` clients (64 at a time); returns those that got their
/// `connection` frame.
pub async fn connect(url: &str, n: usize) -> Vec<Ws> {
    let mut out = Vec::with_capacity(n);
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = url.to_owned();
        batch.spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.ok()?;
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t))))
                    if matches!(
                        ServerMessage::decode(&t),
                        Ok(ServerMessage::Connection { .. })
                    ) =>
                {
                    Some(ws)
                }
                _ => None,
            }
        });
        if batch.len() >= 64 || i + 1 == n {
            while let Some(r) = batch.join_next().await {
                if let Ok(Some(ws)) = r {
                    out.push(ws);
                }
            }
        }
    }
    out
}

/// What the idle clients heard.
#[derive(Debug, Clone)]
pub struct Heard {
    /// Clients that were connected.
    pub connected: usize,
    /// Heartbeats received by all of them together.
    pub received: usize,
    /// Per heartbeat round heard by every client: the time from the round's
    /// tick (the frame's `ts`) until the last client had it, in ms.
    pub fan_out_ms: Vec<u64>,
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Listens on every client for `window`, counting heartbeats; then closes them.
pub async fn count_heartbeats(clients: Vec<Ws>, window: Duration) -> Heard {
    let connected = clients.len();
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in clients {
        tasks.spawn(async move {
            // (round's ts, when this client had it)
            let mut beats = Vec::new();
            let deadline = tokio::time::Instant::now() + window;
            while let Ok(Some(Ok(Message::Text(t)))) =
                tokio::time::timeout_at(deadline, ws.next()).await
            {
                if let Ok(ServerMessage::Heartbeat { ts }) = ServerMessage::decode(&t) {
                    beats.push((ts, unix_ms()));
                }
            }
            beats
        });
    }
    let mut received = 0;
    // Per round: how many clients heard it, and the latest arrival.
    let mut rounds: std::collections::BTreeMap<u64, (usize, u64)> = Default::default();
    while let Some(r) = tasks.join_next().await {
        for (ts, at) in r.unwrap_or_default() {
            received += 1;
            let round = rounds.entry(ts).or_insert((0, 0));
            round.0 += 1;
            round.1 = round.1.max(at);
        }
    }
    let fan_out_ms = rounds
        .iter()
        .filter(|(_, (heard, _))| *heard == connected)
        .map(|(ts, (_, last))| last.saturating_sub(*ts))
        .collect();
    Heard {
        connected,
        received,
        fan_out_ms,
    }
}
