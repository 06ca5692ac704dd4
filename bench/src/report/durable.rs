//! Section 3d: what the durable store costs — the relay against the minimal
//! webhook at 100 clients, with sessions in memory (`--store memory`) and
//! with the SQLite store the binary defaults to (a fresh `--data-dir`), in
//! interleaved rounds that swap which goes first. Each message is written
//! twice (its in-flight marker, awaited before n8n is called, and its
//! outcome) by the store's writer thread, one transaction per batch, WAL,
//! `synchronous=NORMAL`.
//!
//! Targets: the SQLite store's rate ≥ 0.8 × the memory store's, and ≤ +5 µs
//! of relay CPU per message (the median of the rounds' paired differences,
//! for the drift section 3b describes).

use std::fmt::Write as _;

use crate::minimal_webhook::MinimalWebhook;
use crate::relay::Relay;

use super::quotas::{differences_in_order, rate_and_cpu, ways_table, ways_table_in};
use crate::stats::median;

/// What section 3d measured.
#[derive(Debug, Clone, Copy)]
pub struct DurableCost {
    /// Median msg/s with the memory store.
    pub memory_rate: f64,
    /// Median msg/s with the SQLite store.
    pub sqlite_rate: f64,
    /// Median of the rounds' CPU differences (SQLite − memory), µs/msg.
    pub added_us: f64,
}

impl DurableCost {
    /// The SQLite store's rate as a share of the memory store's.
    pub fn rate_ratio(&self) -> f64 {
        self.sqlite_rate / self.memory_rate
    }
}

/// Section 3d.
pub async fn section(md: &mut String, relay_path: &str, quick: bool) -> Option<DurableCost> {
    let webhook = MinimalWebhook::start().await.ok()?;
    let dir = std::env::temp_dir().join(format!("bench-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data_dir = dir.to_string_lossy().into_owned();
    let memory = Relay::start(relay_path, &webhook.url(), &["--store", "memory"]).await;
    let sqlite = Relay::start(
        relay_path,
        &webhook.url(),
        &["--store", "sqlite", "--data-dir", &data_dir],
    )
    .await;
    let rounds = if quick { 3 } else { 9 };
    let messages = if quick { 100 } else { 300 };
    let (mut memory_rate, mut sqlite_rate) = (Vec::new(), Vec::new());
    let (mut memory_cpu, mut sqlite_cpu) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        eprintln!("durable store: round {} of {rounds}", r + 1);
        let (m, s) = if r % 2 == 0 {
            let m = rate_and_cpu(&memory, messages, None).await;
            (m, rate_and_cpu(&sqlite, messages, None).await)
        } else {
            let s = rate_and_cpu(&sqlite, messages, None).await;
            (rate_and_cpu(&memory, messages, None).await, s)
        };
        memory_rate.push(m.0);
        memory_cpu.push(m.1);
        sqlite_rate.push(s.0);
        sqlite_cpu.push(s.1);
    }
    drop((memory, sqlite));
    let _ = std::fs::remove_dir_all(&dir);
    let differences = differences_in_order(&sqlite_cpu, &memory_cpu);
    let cost = DurableCost {
        memory_rate: median(&memory_rate),
        sqlite_rate: median(&sqlite_rate),
        added_us: median(&differences),
    };
    let _ = writeln!(md, "\n### 3d. What the durable store costs\n");
    let _ = writeln!(md, "The relay against the minimal webhook, 100 clients × {messages} messages (8 in flight each), {rounds} interleaved rounds (which store goes first alternates): `--store memory` against the SQLite store the binary defaults to (a fresh `--data-dir`; each message's in-flight marker is on disk before n8n is called, its outcome after; one transaction per writer batch, WAL, `synchronous=NORMAL`: a crash keeps every message whose marker was written, so a resend is answered from the store or `interrupted`, never run twice).\n");
    md.push_str("Messages per second:\n\n");
    ways_table_in(
        md,
        "msg/s",
        &[
            ("memory", &memory_rate, cost.memory_rate),
            ("SQLite", &sqlite_rate, cost.sqlite_rate),
        ],
    );
    md.push_str("\nRelay CPU per message, µs:\n\n");
    let (memory_cpu_median, sqlite_cpu_median) = (median(&memory_cpu), median(&sqlite_cpu));
    ways_table(
        md,
        &[
            ("memory", &memory_cpu, memory_cpu_median),
            ("SQLite", &sqlite_cpu, sqlite_cpu_median),
            ("difference (SQLite − memory)", &differences, cost.added_us),
        ],
    );
    let _ = writeln!(
        md,
        "\nThe SQLite store runs at **{:.2} ×** the memory store's rate (target ≥ 0.8) and adds **{:+.1} µs** of relay CPU per message (median of the paired differences; target ≤ +5 µs).\n",
        cost.rate_ratio(),
        cost.added_us
    );
    Some(cost)
}
