//! Sections 1 and 2: one message at a time through the relay vs. a fresh
//! HTTP POST per message (the old design) vs. a keep-alive POST straight to
//! the webhook (the floor) — on loopback, and across a 10 ms-each-way link.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use super::row;
use crate::delay_proxy::DelayProxy;
use crate::round_trip;
use crate::stats::{summary, Summary};

/// What the targets table needs from these sections.
#[derive(Debug, Clone, Copy)]
pub struct RoundTrips {
    /// Relay / fresh POST at p50 across the 10 ms link.
    pub wan_ratio: f64,
    /// The relay's overhead over the raw floor, p50 and p99, µs: the median
    /// of the rounds' paired differences.
    pub overhead: (u64, u64),
}

/// The median of whole microseconds (exact as `f64`); 0 when there are
/// none (NaN casts to 0).
fn median_us(v: impl Iterator<Item = u64>) -> u64 {
    crate::stats::median(&v.map(|us| us as f64).collect::<Vec<_>>()) as u64
}

/// The relay's overhead over the raw floor in each of `rounds`, p50 and
/// p99, and their medians.
pub fn paired_overhead(rounds: &[(Summary, Summary)]) -> (u64, u64) {
    let p50 = rounds.iter().map(|(r, f)| r.p50.saturating_sub(f.p50));
    let p99 = rounds.iter().map(|(r, f)| r.p99.saturating_sub(f.p99));
    (median_us(p50), median_us(p99))
}

/// Section 1: loopback.
pub async fn loopback(
    md: &mut String,
    relay_path: &str,
    ws_url: &str,
    webhook: &str,
    quick: bool,
) -> (u64, u64) {
    let (rounds, per_round) = if quick { (5, 200) } else { (10, 500) };
    eprintln!("round trip on loopback: {rounds} rounds × {per_round}");
    let echo = crate::relay::Relay::start_echo(relay_path, &[]).await;
    let echo_url = format!("ws://{}/ws", echo.addr);
    let rt = round_trip::measure_with_echo(ws_url, Some(&echo_url), webhook, rounds, per_round)
        .await
        .expect("round trip");
    drop(echo);
    let echo_s = summary(&rt.relay_echo);
    let (relay_s, fresh_s, keep_s, raw_s) = (
        summary(&rt.relay),
        summary(&rt.fresh_post),
        summary(&rt.keepalive_post),
        summary(&rt.raw_post),
    );
    let _ = writeln!(md, "## 1. Per-message round trip, loopback\n");
    let _ = writeln!(md, "One client, one message at a time, {rounds} interleaved rounds of {per_round} messages per way after a warm-up round. Stand-in webhook answers at once.\n");
    md.push_str("| way | messages | p50 µs | p99 µs |\n|---|---|---|---|\n");
    md.push_str(&row("through the relay (WebSocket)", relay_s));
    md.push_str(&row(
        "through a relay in echo mode (WebSocket, no webhook call)",
        echo_s,
    ));
    md.push_str(&row("fresh TCP + POST per message (old design)", fresh_s));
    md.push_str(&row(
        "keep-alive POST straight to the webhook (reqwest, as the relay posts)",
        keep_s,
    ));
    md.push_str(&row(
        "raw keep-alive POST straight to the webhook (hyper's bare HTTP/1.1 connection: the floor)",
        raw_s,
    ));
    let overhead = paired_overhead(&rt.rounds);
    let _ = writeln!(
        md,
        "\nRelay overhead over the raw floor, the median of the {} rounds' paired differences: **p50 {} µs, p99 {} µs** (per round: {:?} at p50). Over reqwest's keep-alive POST, all rounds together: p50 {} µs, p99 {} µs. Relay / fresh POST at p50: {:.2}.\n",
        rt.rounds.len(),
        overhead.0,
        overhead.1,
        rt.rounds
            .iter()
            .map(|(r, f)| r.p50.saturating_sub(f.p50))
            .collect::<Vec<_>>(),
        relay_s.p50.saturating_sub(keep_s.p50),
        relay_s.p99.saturating_sub(keep_s.p99),
        relay_s.p50 as f64 / fresh_s.p50.max(1) as f64
    );
    let _ = writeln!(
        md,
        "Split at p50: the WebSocket side and the relay's core (echo mode) **{} µs**; the webhook call inside the relay (with webhook − echo mode) **{} µs**, against {} µs for the same POST made by reqwest from outside and {} µs raw.\n",
        echo_s.p50,
        relay_s.p50.saturating_sub(echo_s.p50),
        keep_s.p50,
        raw_s.p50
    );
    overhead
}

/// Section 2: across a simulated wide-area link (10 ms each way). Returns
/// relay / fresh POST at p50.
pub async fn wide_area(
    md: &mut String,
    relay: SocketAddr,
    webhook: SocketAddr,
    quick: bool,
) -> f64 {
    let delay = Duration::from_millis(10);
    let ws_proxy = DelayProxy::start(relay, delay).await.expect("proxy");
    let hook_proxy = DelayProxy::start(webhook, delay).await.expect("proxy");
    let (rounds, per_round) = if quick { (3, 20) } else { (5, 100) };
    eprintln!("round trip with 10 ms each way: {rounds} rounds × {per_round}");
    let rt = round_trip::measure(
        &format!("ws://{}/ws", ws_proxy.addr),
        &format!("http://{}/webhook/chat", hook_proxy.addr),
        rounds,
        per_round,
    )
    .await
    .expect("round trip over the delay proxy");
    let (relay_w, fresh_w, keep_w) = (
        summary(&rt.relay),
        summary(&rt.fresh_post),
        summary(&rt.keepalive_post),
    );
    let _ = writeln!(
        md,
        "## 2. Per-message round trip across a 10 ms-each-way link\n"
    );
    let _ = writeln!(md, "The same three ways with a latency-injecting TCP proxy (10 ms each way, connection set-up included) between the client and the relay / the webhook; the relay reaches the webhook directly, as it would sit next to n8n. {rounds} rounds of {per_round}.\n");
    md.push_str("| way | messages | p50 µs | p99 µs |\n|---|---|---|---|\n");
    md.push_str(&row("through the relay (WebSocket)", relay_w));
    md.push_str(&row("fresh TCP + POST per message (old design)", fresh_w));
    md.push_str(&row("keep-alive POST straight to the webhook", keep_w));
    let wan_ratio = relay_w.p50 as f64 / fresh_w.p50.max(1) as f64;
    let _ = writeln!(
        md,
        "\nRelay / fresh POST at p50: **{wan_ratio:.2}** (target ≤ 0.55).\n"
    );
    wan_ratio
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p50: u64, p99: u64) -> Summary {
        Summary { count: 1, p50, p99 }
    }

    #[test]
    fn the_overhead_is_the_median_of_paired_rounds() {
        // A slow round for both ways cancels out; the odd one is outvoted.
        let rounds = [
            (s(200, 300), s(80, 140)),
            (s(400, 500), s(270, 330)),
            (s(210, 900), s(90, 150)),
        ];
        assert_eq!(paired_overhead(&rounds), (120, 170));
        assert_eq!(paired_overhead(&[]), (0, 0));
    }
}
