//! Section 4: many idle clients with a short heartbeat — memory per
//! connection, CPU per heartbeat round, and how long a round takes to reach
//! them all.

use std::fmt::Write as _;
use std::time::Duration;

use crate::relay::Relay;
use crate::stats;

/// What the targets table needs.
#[derive(Debug, Clone)]
pub struct Density {
    /// Clients attempted.
    pub idle: usize,
    /// RSS per connection, KiB.
    pub per_conn_kib: f64,
    /// Median fan-out of a heartbeat round, ms.
    pub fan_out_median_ms: Option<u64>,
}

/// Section 4, against a relay of its own (heartbeat every second).
pub async fn idle_clients(
    md: &mut String,
    relay_path: &str,
    webhook: &str,
    quick: bool,
) -> Density {
    let idle = if quick { 2_000 } else { 10_000 };
    eprintln!("density: {idle} idle clients, heartbeat every second");
    let dense = Relay::start(relay_path, webhook, &["--heartbeat-interval", "1s"]).await;
    let pid = dense.child.id();
    let rss_before = stats::rss_kib(pid).unwrap_or(0);
    let url = format!("ws://{}/ws", dense.addr);
    let clients = crate::idle::connect(&url, idle).await;
    let cpu_a = stats::cpu_ticks(pid);
    let window = Duration::from_secs(5);
    // Memory is read half-way through the window, with everyone connected.
    let rss_probe = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stats::rss_kib(pid).unwrap_or(0)
    });
    let beats = crate::idle::count_heartbeats(clients, window).await;
    let cpu_b = stats::cpu_ticks(pid);
    let rss_after = rss_probe.await.unwrap_or(0);
    let per_conn = (rss_after.saturating_sub(rss_before)) as f64 / beats.connected.max(1) as f64;
    let cpu_per_round_ms = match (cpu_a, cpu_b) {
        (Some(a), Some(b)) => (b - a) as f64 / stats::TICKS_PER_SEC * 1000.0 / window.as_secs_f64(),
        _ => f64::NAN,
    };
    drop(dense);
    let _ = writeln!(md, "## 4. Connection density\n");
    let _ = writeln!(
        md,
        "{} idle clients connected at once (of {idle} attempted), heartbeat every 1 s. Relay RSS {} KiB before, {} KiB after: **{per_conn:.1} KiB per connection**. Relay CPU per heartbeat round to all of them: **{cpu_per_round_ms:.0} ms** (CPU time over {} s / rounds). Heartbeats received in the window: {} (about {} expected).\n",
        beats.connected,
        rss_before,
        rss_after,
        window.as_secs(),
        beats.received,
        beats.connected * window.as_secs() as usize
    );
    let mut fan_out = beats.fan_out_ms.clone();
    fan_out.sort_unstable();
    let fan_out_median = fan_out.get(fan_out.len() / 2).copied();
    let fan_out_max = fan_out.last().copied();
    let _ = writeln!(
        md,
        "Heartbeat fan-out (one relay-wide clock; from a round's tick, the frame's `ts`, until the last of the {} clients had it, clients on the same cores): {} complete rounds, median **{} ms**, worst {} ms.\n",
        beats.connected,
        fan_out.len(),
        fan_out_median.map_or("–".into(), |v| v.to_string()),
        fan_out_max.map_or("–".into(), |v| v.to_string()),
    );
    Density {
        idle,
        per_conn_kib: per_conn,
        fan_out_median_ms: fan_out_median,
    }
}
