//! Section 3b: what the quotas and the metrics cost per message — the
//! relay against the minimal webhook at 100 clients, alternately without
//! and with every quota on (limits far above the load, so nothing is
//! refused) and the operator's listener scraped every second, in
//! interleaved rounds; the difference of the medians of relay CPU per
//! message is their cost.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::loadgen::{self, Load};
use crate::minimal_webhook::MinimalWebhook;
use crate::relay::{free_port, Relay};
use crate::stats;

/// What section 3b measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuotaCost {
    /// Median relay CPU per message without quotas, µs.
    pub off_us: f64,
    /// The same with quotas on and metrics scraped, µs.
    pub on_us: f64,
}

impl QuotaCost {
    /// What quotas and metrics add per message, µs.
    pub fn added_us(&self) -> f64 {
        self.on_us - self.off_us
    }
}

/// The flags that turn every quota on, far above what the load sends.
const QUOTAS_ON: &[&str] = &[
    "--quota-visitor",
    "1000000000/day",
    "--quota-address",
    "1000000000/day",
    "--daily-budget",
    "1000000000/day",
];

/// Section 3b.
pub async fn section(md: &mut String, relay_path: &str, quick: bool) -> Option<QuotaCost> {
    let webhook = MinimalWebhook::start().await.ok()?;
    let admin_port = free_port();
    let admin = format!("127.0.0.1:{admin_port}");
    let mut on_flags: Vec<&str> = QUOTAS_ON.to_vec();
    on_flags.extend(["--admin-listen", admin.as_str()]);
    let off = Relay::start(relay_path, &webhook.url(), &[]).await;
    let on = Relay::start(relay_path, &webhook.url(), &on_flags).await;
    let scraper = tokio::spawn(scrape_every_second(admin.clone()));
    let rounds = if quick { 3 } else { 5 };
    let messages = if quick { 100 } else { 300 };
    let (mut off_us, mut on_us) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        eprintln!("quotas and metrics: round {} of {rounds}", round + 1);
        off_us.push(cpu_per_message(&off, messages, None).await);
        on_us.push(cpu_per_message(&on, messages, None).await);
    }
    scraper.abort();
    let cost = QuotaCost {
        off_us: median(&mut off_us),
        on_us: median(&mut on_us),
    };
    let _ = writeln!(md, "\n### 3b. What quotas and metrics cost\n");
    let _ = writeln!(md, "The relay against the minimal webhook, 100 clients × {messages} messages (8 in flight each), {rounds} interleaved rounds per way: once with no quota, once with `--quota-visitor`, `--quota-address` and `--daily-budget` all on (limits far above the load, so every message is counted and none refused) and `--admin-listen` with `/metrics` scraped every second. Relay CPU per message, µs:\n");
    ways_table(
        md,
        &[
            ("no quotas", &off_us, cost.off_us),
            ("quotas + metrics scraped", &on_us, cost.on_us),
        ],
    );
    let _ = writeln!(
        md,
        "\nQuotas and metrics add **{:+.1} µs** per message (target ≤ 2 µs).\n",
        cost.added_us()
    );
    Some(cost)
}

/// Relay CPU per answered message, µs, for `messages` per client at 100
/// clients (8 in flight each), each message `text` after its id (`None`:
/// 64 bytes of filler).
pub(crate) async fn cpu_per_message(relay: &Relay, messages: usize, text: Option<&str>) -> f64 {
    let before = stats::cpu_ticks(relay.child.id());
    let report = loadgen::run(Load {
        url: format!("ws://{}/ws", relay.addr),
        clients: 100,
        messages,
        window: 8,
        payload: 64,
        text: text.map(str::to_owned),
        deadline: Duration::from_secs(300),
    })
    .await;
    if report.wrong > 0 || report.errors > 0 {
        eprintln!("{} wrong answers, {} errors", report.wrong, report.errors);
    }
    match (before, stats::cpu_ticks(relay.child.id())) {
        (Some(a), Some(b)) if report.ok > 0 => {
            (b - a) as f64 / stats::TICKS_PER_SEC / report.ok as f64 * 1e6
        }
        _ => f64::NAN,
    }
}

/// A table of ways measured in interleaved rounds: each way's rounds and
/// their median, relay CPU µs per message.
pub(crate) fn ways_table(md: &mut String, ways: &[(&str, &[f64], f64)]) {
    md.push_str("| way | rounds (µs/msg) | median µs/msg |\n|---|---|---|\n");
    for (name, rounds, median) in ways {
        let rounds = rounds
            .iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(md, "| {name} | {rounds} | {median:.1} |");
    }
}

/// The median (NaN for none).
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Scrapes `/metrics` once a second, as Prometheus would (the cost of the
/// scrape is part of what is measured).
async fn scrape_every_second(admin: String) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Ok(mut tcp) = tokio::net::TcpStream::connect(&admin).await {
            let request =
                format!("GET /metrics HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
            if tcp.write_all(request.as_bytes()).await.is_ok() {
                let mut sink = Vec::new();
                let _ = tcp.read_to_end(&mut sink).await;
            }
        }
    }
}
