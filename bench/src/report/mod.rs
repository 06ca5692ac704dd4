//! `bench report`: every benchmark, written to BENCHMARKS.md — one file
//! per section, and the targets table at the end.

pub mod density;
pub mod durable;
pub mod highlight;
pub mod page;
pub mod quotas;
pub mod round_trip;
pub mod streaming;
pub mod targets;
pub mod throughput;

use std::process::Command;
use std::time::{Duration, Instant};

use testkit::n8n::StandIn;

use crate::relay::Relay;
use crate::stats::Summary;

/// A row of a round-trip table.
pub fn row(name: &str, s: Summary) -> String {
    format!("| {name} | {} | {} | {} |\n", s.count, s.p50, s.p99)
}

/// Runs every section against the relay at `relay_path` and writes the
/// report to `out` (and stdout).
pub async fn run(relay_path: &str, out: &str, quick: bool) -> Result<(), String> {
    let n8n = StandIn::start()
        .await
        .map_err(|e| format!("stand-in webhook: {e}"))?;
    let webhook = n8n.url("/webhook/chat");
    let relay = Relay::start(relay_path, &webhook, &[]).await;
    let ws_url = format!("ws://{}/ws", relay.addr);
    let mut md = String::new();
    let started = Instant::now();

    let overhead = round_trip::loopback(&mut md, relay_path, &ws_url, &webhook, quick).await;
    let wan_ratio = round_trip::wide_area(&mut md, relay.addr, n8n.addr(), quick).await;
    let at_100 = throughput::clients(&mut md, &relay, quick).await;
    drop(relay);
    throughput::webhook_alone(&mut md, n8n.addr(), quick).await;
    let minimal = throughput::against_minimal_webhook(&mut md, relay_path, quick).await;
    let quota_cost = quotas::section(&mut md, relay_path, quick).await;
    let highlight_cost = highlight::section(&mut md, relay_path, quick).await;
    let durable_cost = durable::section(&mut md, relay_path, quick).await;
    let density = density::idle_clients(&mut md, relay_path, &webhook, quick).await;
    let streamed = streaming::section(&mut md, relay_path, quick).await;
    let page = page::sections(&mut md, &webhook, quick).await;
    let round_trips = round_trip::RoundTrips {
        wan_ratio,
        overhead,
    };
    let engine = targets::Engine {
        at_100,
        minimal,
        streamed,
        quota_cost,
        highlight_cost,
        durable_cost,
    };
    targets::table(&mut md, &round_trips, &engine, &density, page.as_ref());

    let text = format!("{}{md}", header(quick, started.elapsed()));
    println!("{text}");
    std::fs::write(out, &text).map_err(|e| format!("cannot write {out}: {e}"))?;
    eprintln!("wrote {out}");
    Ok(())
}

fn header(quick: bool, took: Duration) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "# Benchmarks\n\nProduced by `cargo xtask bench{}` on {date}: {cpu}, {cores} cores; {rustc}; relay {} (release build, `RUST_LOG=warn`). Took {:.0} s. Everything on 127.0.0.1.\n\n",
        if quick { " --quick" } else { "" },
        env!("CARGO_PKG_VERSION"),
        took.as_secs_f64()
    )
}
