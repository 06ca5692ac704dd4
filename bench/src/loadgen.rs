//! The load generator: `clients` WebSocket clients, each sending `messages`
//! chat messages with up to `window` in flight, checking every answer.
//!
//! A benchmark that counted a wrong or missing answer as a success would
//! measure nothing, so each answer's id must be one this client sent and
//! its text must be exactly `echo: <what was sent>`; anything else is
//! counted as wrong, and the run reports missing answers too.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use shared::{ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

use crate::stats;

/// What to run.
#[derive(Debug, Clone)]
pub struct Load {
    /// WebSocket URL of the relay.
    pub url: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Messages per client.
    pub messages: usize,
    /// Messages in flight per client.
    pub window: usize,
    /// Bytes of text per message.
    pub payload: usize,
    /// The text after each message's id instead of `payload` bytes of
    /// filler (section 3c sends a fenced code block).
    pub text: Option<String>,
    /// Give up after this long.
    pub deadline: Duration,
}

/// What happened.
#[derive(Debug)]
pub struct Report {
    /// Answers that matched.
    pub ok: u64,
    /// `error` frames.
    pub errors: u64,
    /// Answers with an unknown id or the wrong text.
    pub wrong: u64,
    /// Messages never answered (deadline or connection lost).
    pub missing: u64,
    /// Clients that could not connect.
    pub failed_clients: u64,
    /// Round-trip latency of the good answers, µs.
    pub latency: Histogram<u64>,
    /// Wall time from the first connect to the last answer.
    pub elapsed: Duration,
}

impl Report {
    /// Nothing counted yet.
    fn empty() -> Self {
        Report {
            ok: 0,
            errors: 0,
            wrong: 0,
            missing: 0,
            failed_clients: 0,
            latency: stats::histogram(),
            elapsed: Duration::ZERO,
        }
    }

    /// Good answers per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs the load; returns when every client is done or the deadline passes.
pub async fn run(load: Load) -> Report {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + load.deadline;
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..load.clients {
        let load = load.clone();
        tasks.spawn(async move { client(c, &load, deadline).await });
    }
    let mut total = Report::empty();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(Some(r)) => {
                total.ok += r.ok;
                total.errors += r.errors;
                total.wrong += r.wrong;
                total.missing += r.missing;
                let _ = total.latency.add(&r.latency);
            }
            _ => {
                total.failed_clients += 1;
                total.missing += load.messages as u64;
            }
        }
    }
    total.elapsed = started.elapsed();
    total
}

async fn client(index: usize, load: &Load, deadline: tokio::time::Instant) -> Option<Report> {
    let (mut ws, _) =
        tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(&load.url))
            .await
            .ok()?
            .ok()?;
    // The `connection` frame comes first.
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await.ok()?? {
            Ok(Message::Text(t))
                if matches!(
                    ServerMessage::decode(&t),
                    Ok(ServerMessage::Connection { .. })
                ) =>
            {
                break
            }
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
    let filler = load
        .text
        .clone()
        .unwrap_or_else(|| "x".repeat(load.payload));
    let mut report = Report::empty();
    let mut pending: HashMap<String, (String, Instant)> = HashMap::new();
    let mut sent = 0usize;
    let mut done = 0usize;
    while done < load.messages {
        while sent < load.messages && pending.len() < load.window {
            let id = format!("c{index}-m{sent}");
            let text = format!("{id} {filler}");
            let frame = ClientMessage::Message {
                id: id.clone(),
                text: text.clone(),
                metadata: None,
                retry: false,
                regenerate: false,
                files: Vec::new(),
            };
            if ws.send(Message::text(frame.encode())).await.is_err() {
                break;
            }
            pending.insert(id, (format!("echo: {text}"), Instant::now()));
            sent += 1;
        }
        let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => ServerMessage::decode(&t).ok(),
            Ok(Some(Ok(_))) => None,
            _ => break,
        };
        match frame {
            Some(ServerMessage::Response { id, text, .. }) => match pending.remove(&id) {
                Some((expected, at)) if expected == text => {
                    report.ok += 1;
                    let _ = report
                        .latency
                        .record((at.elapsed().as_micros() as u64).max(1));
                    done += 1;
                }
                Some(_) => {
                    report.wrong += 1;
                    done += 1;
                }
                None => report.wrong += 1,
            },
            Some(ServerMessage::Error { id: Some(id), .. }) if pending.remove(&id).is_some() => {
                report.errors += 1;
                done += 1;
            }
            _ => {}
        }
    }
    report.missing = (load.messages - done) as u64;
    let _ = ws.close(None).await;
    Some(report)
}
