//! `bench soak`: the long soak (see [`crate::soak`] for one round).

use std::time::{Duration, Instant};

use testkit::n8n::StandIn;

use crate::relay::Relay;
use crate::stats;

/// `bench soak`: the long soak against the release relay and a flaky
/// stand-in n8n, `rounds` times over with new clients and sessions each
/// round; exits non-zero if any message was lost, got conflicting outcomes
/// or reached the webhook twice, if anything is left behind after a round,
/// or if the relay's memory keeps growing from round to round.
pub async fn run(relay_path: &str, quick: bool, rounds: usize, cluster: bool) -> i32 {
    use crate::soak::{self, Soak};
    let n8n = StandIn::start().await.expect("stand-in webhook");
    n8n.set_mode(testkit::n8n::Mode::Flaky {
        fail_every: 13,
        slow_every: 7,
        slow_ms: 50,
    });
    let (clients, messages) = if quick { (100, 20) } else { (1000, 100) };
    // Retention capped below what the rounds create (answers of 2 rounds),
    // so memory must level off once the caps are reached.
    let max_sessions = (2 * clients).to_string();
    let webhook = n8n.url("/webhook/chat");
    let extra = ["--max-sessions", max_sessions.as_str()];
    // One relay, or two sharing Redis behind nginx (`--cluster`).
    let (single, cluster) = if cluster {
        let c = crate::cluster::Cluster::start(relay_path, &webhook, &extra)
            .await
            .unwrap_or_else(|e| panic!("cluster: {e}"));
        (None, Some(c))
    } else {
        (Some(Relay::start(relay_path, &webhook, &extra).await), None)
    };
    let relays: Vec<&Relay> = match (&single, &cluster) {
        (Some(r), _) => vec![r],
        (_, Some(c)) => c.relays.iter().collect(),
        _ => Vec::new(),
    };
    let url = match &cluster {
        Some(c) => c.ws_url(),
        None => format!("ws://{}/ws", relays[0].addr),
    };
    let rss_of = |relays: &[&Relay]| -> u64 {
        relays
            .iter()
            .map(|r| stats::rss_kib(r.child.id()).unwrap_or(0))
            .sum()
    };
    let rss_start = rss_of(&relays);
    let mut rss_after_round = Vec::new();
    let mut failed = false;
    for round in 0..rounds.max(1) {
        eprintln!(
            "soak round {}/{rounds}: {clients} clients × {messages} messages, random cuts, flaky webhook, {}",
            round + 1,
            if cluster.is_some() { "2 relays sharing Redis behind nginx" } else { "1 relay" }
        );
        let started = Instant::now();
        let calls_before = n8n.inputs().len();
        let report = soak::run(Soak {
            url: url.clone(),
            clients,
            messages,
            window: 4,
            cut_one_in: 25,
            deadline: Duration::from_secs(if quick { 120 } else { 600 }),
            first_client: round * clients,
        })
        .await;
        let duplicate_calls =
            soak::duplicate_calls(n8n.inputs().into_iter().skip(calls_before)).len();
        // Afterwards nothing may be left behind: no connection, nothing in
        // flight, on any relay.
        let mut leftover = serde_json::json!({"connections": 0, "inFlight": 0, "sessions": 0});
        let mut clean = true;
        for relay in &relays {
            let health_url = format!("http://{}/healthz", relay.addr);
            let mut h = serde_json::Value::Null;
            for _ in 0..100 {
                h = match reqwest::get(&health_url).await {
                    Ok(r) => r.json().await.unwrap_or_default(),
                    Err(_) => serde_json::Value::Null,
                };
                if h["connections"] == 0 && h["inFlight"] == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            clean &= h["connections"] == 0 && h["inFlight"] == 0 && h["status"] == "ok";
            for key in ["connections", "inFlight", "sessions"] {
                leftover[key] = (leftover[key].as_u64().unwrap_or(0)
                    + h[key].as_u64().unwrap_or(u64::MAX / 4))
                .into();
            }
        }
        let rss = rss_of(&relays);
        rss_after_round.push(rss);
        println!(
            "soak round {}: {} messages in {:.1} s: {} answered, {} errors, {} lost, {} conflicting, {} duplicate webhook calls, {} connection cuts; afterwards {} connections, {} in flight, {} sessions kept; relay RSS {rss} KiB",
            round + 1,
            clients * messages,
            started.elapsed().as_secs_f64(),
            report.answered,
            report.errored,
            report.lost,
            report.conflicting,
            duplicate_calls,
            report.cuts,
            leftover["connections"],
            leftover["inFlight"],
            leftover["sessions"],
        );
        failed |= report.lost != 0 || report.conflicting != 0 || duplicate_calls != 0 || !clean;
    }
    // Flat memory: from the second round on (caps reached, allocator warm),
    // the last round may not sit more than 15 % (+ 2 MiB slack) above it.
    let plateau = match (rss_after_round.get(1), rss_after_round.last()) {
        (Some(&second), Some(&last)) if rss_after_round.len() >= 3 => {
            let ok = last as f64 <= second as f64 * 1.15 + 2048.0;
            println!(
                "soak memory: relay RSS {rss_start} KiB at start, after each round {rss_after_round:?} KiB: {}",
                if ok { "flat" } else { "STILL GROWING" }
            );
            ok
        }
        _ => {
            println!("soak memory: relay RSS {rss_start} KiB at start, after each round {rss_after_round:?} KiB (3+ rounds judge the plateau)");
            true
        }
    };
    if failed || !plateau {
        1
    } else {
        0
    }
}
