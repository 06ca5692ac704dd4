//! Section 3: messages per second with 1 to 1 000 clients, every answer
//! checked, with the relay's CPU; the stand-in webhook alone; and the relay
//! against a minimal webhook far faster than itself, so the relay's own
//! ceiling shows.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use crate::http_load;
use crate::loadgen::{self, Load};
use crate::minimal_webhook::MinimalWebhook;
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
    let _ = writeln!(md, "## 3. Throughput\n");
    let _ = writeln!(md, "Each client keeps 8 messages in flight (64-byte payload); every answer is checked (id and text). Load generator, relay and stand-in webhook share the machine. The relay runs with 1 024 webhook calls at once and its default queue of 1 000 behind them: at 1 000 clients (8 000 in flight) the rest are refused at once with `rate_limited` — the `errors` column, the queue's bound doing its job, each an answer the client sees.\n");
    md.push_str(HEADER);
    let total = if quick { 20_000 } else { 100_000 };
    let mut at_100 = At100::default();
    for clients in [1usize, 10, 100, 1000] {
        let measured = row(md, relay, clients, total, quick).await;
        if clients == 100 {
            at_100 = measured;
        }
    }
    at_100
}

/// What the run against the minimal webhook measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Minimal {
    /// The minimal webhook alone, requests/s.
    pub alone: f64,
    /// The relay in front of it at 100 clients.
    pub at_100: At100,
}

/// The same against the minimal webhook ([`MinimalWebhook`]), whose own
/// ceiling is far above the relay's: what the relay itself can do.
pub async fn against_minimal_webhook(md: &mut String, relay_path: &str, quick: bool) -> Minimal {
    let Ok(webhook) = MinimalWebhook::start().await else {
        return Minimal::default();
    };
    let alone = http_load::requests_per_second(webhook.addr(), 64, alone_for(quick)).await;
    let relay = Relay::start(relay_path, &webhook.url(), &[]).await;
    let _ = writeln!(md, "\nAgainst the **minimal webhook** (hyper, the echo found by a scan — `bench/src/minimal_webhook.rs`), which answers **{alone:.0} requests/s** alone (64 keep-alive raw-TCP clients), so the relay, not the webhook, is the ceiling:\n");
    md.push_str(HEADER);
    let total = if quick { 20_000 } else { 100_000 };
    let mut at_100 = At100::default();
    for clients in [10usize, 100] {
        let measured = row(md, &relay, clients, total, quick).await;
        if clients == 100 {
            at_100 = measured;
        }
    }
    md.push('\n');
    Minimal { alone, at_100 }
}

const HEADER: &str = "| clients | answered | wrong | errors | missing | msg/s | p50 µs | p99 µs | relay CPU (cores) | relay CPU µs/msg |\n|---|---|---|---|---|---|---|---|---|---|\n";

/// One table row: `clients` clients sharing `total` messages.
async fn row(md: &mut String, relay: &Relay, clients: usize, total: usize, quick: bool) -> At100 {
    let messages = (total / clients).max(20);
    eprintln!("throughput: {clients} clients × {messages}");
    let cpu_before = stats::cpu_ticks(relay.child.id());
    let report = loadgen::run(Load {
        url: format!("ws://{}/ws", relay.addr),
        clients,
        messages,
        window: 8,
        payload: 64,
        text: None,
        deadline: Duration::from_secs(if quick { 60 } else { 180 }),
    })
    .await;
    let cpu = match (cpu_before, stats::cpu_ticks(relay.child.id())) {
        (Some(a), Some(b)) => (b - a) as f64 / stats::TICKS_PER_SEC / report.elapsed.as_secs_f64(),
        _ => f64::NAN,
    };
    let s = summary(&report.latency);
    let cpu_us = cpu / report.rate() * 1e6;
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
    At100 {
        rate: report.rate(),
        cpu_us,
    }
}

fn alone_for(quick: bool) -> Duration {
    Duration::from_secs(if quick { 2 } else { 5 })
}

/// The stand-in webhook alone (64 keep-alive raw-TCP clients, no relay).
pub async fn webhook_alone(md: &mut String, webhook: SocketAddr, quick: bool) {
    eprintln!("stand-in webhook alone");
    let rate = http_load::requests_per_second(webhook, 64, alone_for(quick)).await;
    let _ = writeln!(md, "\nThe stand-in webhook alone (it reproduces n8n's captured bytes; 64 keep-alive raw-TCP clients, no relay): **{rate:.0} requests/s**.\n");
}
