//! Section 3: messages per second with 1 to 1 000 clients, every answer
//! checked, with the relay's CPU; and the stand-in webhook alone, so it is
//! known whether it, not the relay, is the ceiling.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::loadgen::{self, Load};
use crate::relay::Relay;
use crate::stats::{self, summary};

/// What section 3 measured at 100 clients, for the targets table.
#[derive(Debug, Clone, Copy, Default)]
pub struct At100 {
    /// Messages per second.
    pub rate: f64,
    /// Relay CPU time per message, µs (cores ÷ msg/s): how many
    /// conversations one relay carries, whatever the load generator costs.
    pub cpu_us: f64,
}

/// Section 3. Returns what it measured at 100 clients.
pub async fn clients(md: &mut String, relay: &Relay, quick: bool) -> At100 {
    let ws_url = format!("ws://{}/ws", relay.addr);
    let _ = writeln!(md, "## 3. Throughput\n");
    let _ = writeln!(md, "Each client keeps 8 messages in flight (64-byte payload); every answer is checked (id and text). Load generator, relay and stand-in webhook share the machine.\n");
    md.push_str("| clients | answered | wrong | errors | missing | msg/s | p50 µs | p99 µs | relay CPU (cores) | relay CPU µs/msg |\n|---|---|---|---|---|---|---|---|---|---|\n");
    let total = if quick { 20_000 } else { 100_000 };
    let mut at_100 = At100::default();
    for clients in [1usize, 10, 100, 1000] {
        let messages = (total / clients).max(20);
        eprintln!("throughput: {clients} clients × {messages}");
        let cpu_before = stats::cpu_ticks(relay.child.id());
        let report = loadgen::run(Load {
            url: ws_url.clone(),
            clients,
            messages,
            window: 8,
            payload: 64,
            deadline: Duration::from_secs(if quick { 60 } else { 180 }),
        })
        .await;
        let cpu = match (cpu_before, stats::cpu_ticks(relay.child.id())) {
            (Some(a), Some(b)) => {
                (b - a) as f64 / stats::TICKS_PER_SEC / report.elapsed.as_secs_f64()
            }
            _ => f64::NAN,
        };
        let s = summary(&report.latency);
        let cpu_us = cpu / report.rate() * 1e6;
        if clients == 100 {
            at_100 = At100 {
                rate: report.rate(),
                cpu_us,
            };
        }
        let _ = writeln!(
            md,
            "| {clients} | {} | {} | {} | {} | {:.0} | {} | {} | {cpu:.2} | {cpu_us:.0} |",
            report.ok,
            report.wrong,
            report.errors,
            report.missing,
            report.rate(),
            s.p50,
            s.p99
        );
    }
    at_100
}

/// The stand-in webhook alone (64 keep-alive HTTP clients, no relay).
pub async fn webhook_alone(md: &mut String, webhook: &str, quick: bool) {
    eprintln!("stand-in webhook alone");
    let client = reqwest::Client::new();
    let n = if quick { 10_000 } else { 40_000 };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..64 {
        let client = client.clone();
        let url = webhook.to_owned();
        tasks.spawn(async move {
            let mut ok = 0u64;
            for i in 0..n / 64 {
                let body = serde_json::json!({"action": "sendMessage", "sessionId": "b", "chatInput": format!("{w}-{i}")});
                if let Ok(r) = client.post(&url).json(&body).send().await {
                    if r.bytes().await.is_ok() {
                        ok += 1;
                    }
                }
            }
            ok
        });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        ok += r.unwrap_or(0);
    }
    let rate = ok as f64 / started.elapsed().as_secs_f64();
    let _ = writeln!(md, "\nThe stand-in webhook alone (64 keep-alive HTTP clients, no relay): **{rate:.0} requests/s** ({ok} answered).\n");
}
