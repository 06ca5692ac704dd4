//! The soak: many clients, each in its own session, sending messages while
//! their connections are cut at random; after every reconnect a client
//! resends everything still unanswered, as the page does. At the end every
//! message must have exactly one outcome (answer or error), none lost, and
//! the webhook must have been called at most once per message.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shared::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

/// What to run.
#[derive(Debug, Clone)]
pub struct Soak {
    /// `ws://host:port/ws` of the relay.
    pub url: String,
    /// Clients (each its own session).
    pub clients: usize,
    /// Messages per client.
    pub messages: usize,
    /// Messages in flight per client.
    pub window: usize,
    /// A connection is cut after a received frame with probability 1/`cut_one_in`.
    pub cut_one_in: u64,
    /// Give up after this long.
    pub deadline: Duration,
    /// Number of the first client: later rounds of a multi-round soak use
    /// new numbers, so their sessions and texts are new too.
    pub first_client: usize,
}

/// What happened.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SoakReport {
    /// Messages answered.
    pub answered: u64,
    /// Messages that ended in an error.
    pub errored: u64,
    /// Messages without any outcome.
    pub lost: u64,
    /// Messages that got an answer *and* an error, or two different answers.
    pub conflicting: u64,
    /// Connections cut on purpose.
    pub cuts: u64,
}

/// The text a client sends as message `i`: unique across the soak, so the
/// webhook's log shows duplicates.
pub fn text_of(client: usize, i: usize) -> String {
    format!("soak c{client} m{i}")
}

/// Runs the soak.
pub async fn run(soak: Soak) -> SoakReport {
    let mut tasks = tokio::task::JoinSet::new();
    for c in soak.first_client..soak.first_client + soak.clients {
        let soak = soak.clone();
        tasks.spawn(async move { client(c, &soak).await });
    }
    let mut total = SoakReport::default();
    while let Some(result) = tasks.join_next().await {
        let r = result.unwrap_or_else(|_| SoakReport {
            lost: soak.messages as u64,
            ..SoakReport::default()
        });
        total.answered += r.answered;
        total.errored += r.errored;
        total.lost += r.lost;
        total.conflicting += r.conflicting;
        total.cuts += r.cuts;
    }
    total
}

#[derive(Clone, PartialEq, Eq)]
enum Outcome {
    Answer(String),
    Error,
}

async fn client(c: usize, soak: &Soak) -> SoakReport {
    let deadline = tokio::time::Instant::now() + soak.deadline;
    let session = format!("soak-{c}-{}", std::process::id());
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let mut next_random = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    let mut conflicting = 0u64;
    let mut sent = 0usize;
    let mut cuts = 0u64;
    'connect: while outcomes.len() < soak.messages && tokio::time::Instant::now() < deadline {
        let url = format!("{}?session={session}", soak.url);
        let Ok(Ok((mut ws, _))) =
            tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(&url)).await
        else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        // After (re)connecting: resend everything sent but without outcome.
        let mut in_flight = 0usize;
        for i in 0..sent {
            let id = format!("m{i}");
            if !outcomes.contains_key(&id) {
                let frame = ClientMessage::Message {
                    id,
                    text: text_of(c, i),
                    metadata: None,
                    retry: false,
                    regenerate: false,
                    files: Vec::new(),
                };
                if ws.send(Message::text(frame.encode())).await.is_err() {
                    continue 'connect;
                }
                in_flight += 1;
            }
        }
        loop {
            while sent < soak.messages && in_flight < soak.window {
                let frame = ClientMessage::Message {
                    id: format!("m{sent}"),
                    text: text_of(c, sent),
                    metadata: None,
                    retry: false,
                    regenerate: false,
                    files: Vec::new(),
                };
                if ws.send(Message::text(frame.encode())).await.is_err() {
                    continue 'connect;
                }
                sent += 1;
                in_flight += 1;
            }
            if outcomes.len() >= soak.messages {
                break 'connect;
            }
            let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => ServerMessage::decode(&t).ok(),
                Ok(Some(Ok(_))) => None,
                Ok(_) => continue 'connect,
                Err(_) => break 'connect,
            };
            let (id, outcome) = match frame {
                Some(ServerMessage::Response { id, text, .. }) => (id, Outcome::Answer(text)),
                Some(ServerMessage::Error { id: Some(id), .. }) => (id, Outcome::Error),
                _ => continue,
            };
            match outcomes.get(&id) {
                // The same outcome delivered twice (a resend raced it): the
                // page shows it once.
                Some(previous) if *previous == outcome => {}
                Some(_) => conflicting += 1,
                None => {
                    outcomes.insert(id, outcome);
                    in_flight = in_flight.saturating_sub(1);
                }
            }
            if soak.cut_one_in > 0 && next_random() % soak.cut_one_in == 0 {
                cuts += 1;
                // Dropped without a close frame: like a lost network.
                drop(ws);
                continue 'connect;
            }
        }
    }
    let answered = outcomes
        .values()
        .filter(|o| matches!(o, Outcome::Answer(_)))
        .count() as u64;
    SoakReport {
        answered,
        errored: outcomes.len() as u64 - answered,
        lost: (soak.messages - outcomes.len()) as u64,
        conflicting,
        cuts,
    }
}

/// The texts the webhook received more than once (with how often).
pub fn duplicate_calls(inputs: impl IntoIterator<Item = String>) -> Vec<(String, usize)> {
    let mut calls: HashMap<String, usize> = HashMap::new();
    for input in inputs {
        *calls.entry(input).or_default() += 1;
    }
    calls.into_iter().filter(|(_, n)| *n > 1).collect()
}

/// The soak's verdict for `sent` messages: every one ended once, none was
/// lost, connections were really cut, and the webhook got each text exactly
/// once (`inputs`: what it received).
pub fn verdict(report: &SoakReport, sent: usize, inputs: Vec<String>) -> Result<(), String> {
    if report.lost != 0 || report.conflicting != 0 {
        return Err(format!("lost or conflicting: {report:?}"));
    }
    if report.answered + report.errored != sent as u64 {
        return Err(format!("{sent} sent, but {report:?}"));
    }
    if report.cuts <= 10 {
        return Err(format!(
            "the soak must actually cut connections: {report:?}"
        ));
    }
    let received = inputs.len();
    let duplicates = duplicate_calls(inputs);
    if !duplicates.is_empty() {
        return Err(format!("webhook called twice for {duplicates:?}"));
    }
    if received != sent {
        return Err(format!("{sent} sent, the webhook got {received}"));
    }
    Ok(())
}
