//! Section 4b: 5 000 conversations streaming at once — each answer 2 KB in
//! 50 pieces over 2 s from a slow webhook, as AI agents answer. The relay's
//! memory and CPU, and how late each piece reaches its page.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::relay::Relay;
use crate::stats::{self, summary};
use crate::streaming;
use crate::streaming_webhook::{Shape, StreamingWebhook};

/// What the row measured, for the targets table.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamingRow {
    /// Conversations that ended with the whole answer.
    pub complete: usize,
    /// Conversations started.
    pub conversations: usize,
    /// Chunk delivery latency p50 / p99, µs.
    pub p50_us: u64,
    /// See `p50_us`.
    pub p99_us: u64,
    /// The relay's peak resident memory, MiB.
    pub peak_rss_mib: f64,
    /// The relay's CPU while streaming, cores.
    pub cpu_cores: f64,
    /// The relay's CPU per piece delivered, µs.
    pub cpu_us_per_piece: f64,
    /// The bench process (clients and webhook) while streaming, cores.
    pub bench_cores: f64,
}

/// Section 4b with 5 000 conversations (quick: 500).
pub async fn section(md: &mut String, relay_path: &str, quick: bool) -> Option<StreamingRow> {
    conversations(md, relay_path, if quick { 500 } else { 5_000 }).await
}

/// `n` conversations streaming at once, as a table. `None` if the webhook
/// could not start.
pub async fn conversations(md: &mut String, relay_path: &str, n: usize) -> Option<StreamingRow> {
    let shape = Shape {
        chunks: 50,
        chunk_bytes: 41,
        gap: Duration::from_millis(40),
    };
    eprintln!("streaming: {n} conversations");
    let webhook = StreamingWebhook::start(shape).await.ok()?;
    let relay = Relay::start(
        relay_path,
        &webhook.url(),
        &[
            "--max-concurrent-webhooks",
            "10000",
            "--max-queued-webhooks",
            "10000",
        ],
    )
    .await;
    let pid = relay.child.id();
    let ws_url = format!("ws://{}/ws", relay.addr);
    let connected_rss = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    // Peak memory, sampled every 50 ms.
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while let Some(rss) = stats::rss_kib(pid) {
                peak.fetch_max(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let on_connected = {
        let connected_rss = connected_rss.clone();
        move || connected_rss.store(stats::rss_kib(pid).unwrap_or(0), Ordering::Relaxed)
    };
    let me = std::process::id();
    let cpu_before = std::sync::Mutex::new((None, None));
    let result = streaming::run(&ws_url, n, shape.chunks * shape.chunk_bytes, || {
        on_connected();
        if let Ok(mut before) = cpu_before.lock() {
            *before = (stats::cpu_ticks(pid), stats::cpu_ticks(me));
        }
    })
    .await;
    let (cpu_before, bench_before) = cpu_before.into_inner().unwrap_or((None, None));
    let cpu_after = stats::cpu_ticks(pid);
    let bench_cores = match (bench_before, stats::cpu_ticks(me)) {
        (Some(a), Some(b)) => (b - a) as f64 / stats::TICKS_PER_SEC / result.elapsed.as_secs_f64(),
        _ => f64::NAN,
    };
    // Only the streaming part counts: connecting is measured elsewhere.
    let cpu_cores = match (cpu_before, cpu_after) {
        (Some(a), Some(b)) => (b - a) as f64 / stats::TICKS_PER_SEC / result.elapsed.as_secs_f64(),
        _ => f64::NAN,
    };
    peak.fetch_max(stats::rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
    sampler.abort();
    drop(relay);
    let s = summary(&result.latency);
    let peak_rss_mib = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    let connected_mib = connected_rss.load(Ordering::Relaxed) as f64 / 1024.0;
    let pieces = (result.complete * shape.chunks).max(1) as f64;
    let cpu_us_per_piece = cpu_cores * result.elapsed.as_secs_f64() / pieces * 1e6;
    let _ = writeln!(md, "## 4b. Many conversations streaming at once\n");
    let _ = writeln!(md, "{n} clients connect, then each sends one message at once; the webhook answers every one in n8n's streaming format, {} pieces of {} bytes {} ms apart (~2 KB over 2 s, an AI agent typing). Latency: from the moment the webhook wrote a piece (stamped in it) to its arrival at the client, all on one clock. CPU counts from the first message to the last answer (connecting excluded).\n", shape.chunks, shape.chunk_bytes, shape.gap.as_millis());
    md.push_str("| conversations | complete | failed | took s | piece latency p50 ms | p99 ms | relay RSS connected MiB | relay RSS peak MiB | relay CPU (cores) | relay CPU µs/piece | clients + webhook CPU (cores) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let _ = writeln!(
        md,
        "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {connected_mib:.0} | {peak_rss_mib:.0} | {cpu_cores:.2} | {cpu_us_per_piece:.1} | {bench_cores:.2} |\n",
        result.connected,
        result.complete,
        result.failed,
        result.elapsed.as_secs_f64(),
        s.p50 as f64 / 1000.0,
        s.p99 as f64 / 1000.0,
    );
    Some(StreamingRow {
        complete: result.complete,
        conversations: n,
        p50_us: s.p50,
        p99_us: s.p99,
        peak_rss_mib,
        cpu_cores,
        cpu_us_per_piece,
        bench_cores,
    })
}
