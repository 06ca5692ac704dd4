//! `bench`: runs the relay benchmarks and writes BENCHMARKS.md.
//! Usually started by `cargo xtask bench [--quick]`.
//!
//! `bench --relay <path to relay binary> [--quick] [--out BENCHMARKS.md]`

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use bench::delay_proxy::DelayProxy;
use bench::loadgen::{self, Load};
use bench::relay::Relay;
use bench::round_trip;
use bench::stats::{self, summary, Summary};
use testkit::n8n::StandIn;

async fn start_relay(path: &str, webhook: &str) -> Relay {
    start_relay_with(path, webhook, &[]).await
}

async fn start_relay_with(path: &str, webhook: &str, extra: &[&str]) -> Relay {
    Relay::start(path, webhook, extra).await
}

fn row(name: &str, s: Summary) -> String {
    format!("| {name} | {} | {} | {} |\n", s.count, s.p50, s.p99)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let relay_path = arg("--relay").unwrap_or_else(|| "target/release/relay".into());
    let out = arg("--out").unwrap_or_else(|| "BENCHMARKS.md".into());
    // Tools for profiling the relay under a profiler of your choice
    // (BENCHMARKS.md, "Profile"): a stand-in webhook alone, and the load
    // generator alone against any relay.
    if args.get(1).is_some_and(|a| a == "standin") {
        let port = arg("--port").unwrap_or_else(|| "0".into());
        let addr = format!("127.0.0.1:{port}").parse().expect("--port");
        let n8n = StandIn::start_at(addr).await.expect("stand-in webhook");
        println!("{}", n8n.url("/webhook/chat"));
        std::future::pending::<()>().await;
    }
    if args.get(1).is_some_and(|a| a == "load") {
        let num =
            |name: &str, default: usize| arg(name).and_then(|v| v.parse().ok()).unwrap_or(default);
        let report = loadgen::run(Load {
            url: arg("--url").unwrap_or_else(|| "ws://127.0.0.1:3000/ws".into()),
            clients: num("--clients", 10),
            messages: num("--messages", 1000),
            window: num("--window", 8),
            payload: 64,
            deadline: Duration::from_secs(600),
        })
        .await;
        let s = summary(&report.latency);
        println!(
            "{} answered, {} wrong, {} errors, {} missing in {:.2} s: {:.0} msg/s, p50 {} µs, p99 {} µs",
            report.ok,
            report.wrong,
            report.errors,
            report.missing,
            report.elapsed.as_secs_f64(),
            report.rate(),
            s.p50,
            s.p99
        );
        std::process::exit(i32::from(
            report.ok == 0 || report.wrong + report.missing > 0,
        ));
    }
    if args.iter().any(|a| a == "soak") {
        let rounds = arg("--rounds")
            .and_then(|r| r.parse().ok())
            .unwrap_or(if quick { 3 } else { 5 });
        let cluster = args.iter().any(|a| a == "--cluster");
        std::process::exit(soak(&relay_path, quick, rounds, cluster).await);
    }

    let n8n = StandIn::start().await.expect("stand-in webhook");
    let webhook = n8n.url("/webhook/chat");
    let relay = start_relay(&relay_path, &webhook).await;
    let ws_url = format!("ws://{}/ws", relay.addr);
    let mut md = String::new();
    let started = Instant::now();

    // 1. Round trip on loopback.
    let (rounds, per_round) = if quick { (5, 200) } else { (10, 500) };
    eprintln!("round trip on loopback: {rounds} rounds × {per_round}");
    let rt = round_trip::measure(&ws_url, &webhook, rounds, per_round)
        .await
        .expect("round trip");
    let (relay_s, fresh_s, keep_s) = (
        summary(&rt.relay),
        summary(&rt.fresh_post),
        summary(&rt.keepalive_post),
    );
    let _ = writeln!(md, "## 1. Per-message round trip, loopback\n");
    let _ = writeln!(md, "One client, one message at a time, {rounds} interleaved rounds of {per_round} messages per way after a warm-up round. Stand-in webhook answers at once.\n");
    md.push_str("| way | messages | p50 µs | p99 µs |\n|---|---|---|---|\n");
    md.push_str(&row("through the relay (WebSocket)", relay_s));
    md.push_str(&row("fresh TCP + POST per message (old design)", fresh_s));
    md.push_str(&row(
        "keep-alive POST straight to the webhook (floor)",
        keep_s,
    ));
    let _ = writeln!(
        md,
        "\nRelay overhead over the floor: **p50 {} µs, p99 {} µs**. Relay / fresh POST at p50: {:.2}.\n",
        relay_s.p50.saturating_sub(keep_s.p50),
        relay_s.p99.saturating_sub(keep_s.p99),
        relay_s.p50 as f64 / fresh_s.p50.max(1) as f64
    );

    // 2. Round trip across a simulated wide-area link (10 ms each way).
    let delay = Duration::from_millis(10);
    let ws_proxy = DelayProxy::start(relay.addr, delay).await.expect("proxy");
    let hook_proxy = DelayProxy::start(n8n.addr(), delay).await.expect("proxy");
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
    drop(ws_proxy);
    drop(hook_proxy);

    // 3. Throughput.
    let _ = writeln!(md, "## 3. Throughput\n");
    let _ = writeln!(md, "Each client keeps 8 messages in flight (64-byte payload); every answer is checked (id and text). Load generator, relay and stand-in webhook share the machine.\n");
    md.push_str("| clients | answered | wrong | errors | missing | msg/s | p50 µs | p99 µs | relay CPU (cores) |\n|---|---|---|---|---|---|---|---|---|\n");
    let total = if quick { 20_000 } else { 100_000 };
    let mut rate_at_100 = 0.0;
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
        if clients == 100 {
            rate_at_100 = report.rate();
        }
        let _ = writeln!(
            md,
            "| {clients} | {} | {} | {} | {} | {:.0} | {} | {} | {cpu:.2} |",
            report.ok,
            report.wrong,
            report.errors,
            report.missing,
            report.rate(),
            s.p50,
            s.p99
        );
    }

    // 4. Connection density: idle clients with a short heartbeat.
    drop(relay);
    let idle = if quick { 2_000 } else { 10_000 };
    eprintln!("density: {idle} idle clients, heartbeat every second");
    let dense = start_relay_with(&relay_path, &webhook, &["--heartbeat-interval", "1s"]).await;
    let pid = dense.child.id();
    let rss_before = stats::rss_kib(pid).unwrap_or(0);
    let url = format!("ws://{}/ws", dense.addr);
    let clients = bench::idle::connect(&url, idle).await;
    let cpu_a = stats::cpu_ticks(pid);
    let window = Duration::from_secs(5);
    // Memory is read half-way through the window, with everyone connected.
    let rss_probe = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        stats::rss_kib(pid).unwrap_or(0)
    });
    let beats = bench::idle::count_heartbeats(clients, window).await;
    let cpu_b = stats::cpu_ticks(pid);
    let rss_after = rss_probe.await.unwrap_or(0);
    let per_conn = (rss_after.saturating_sub(rss_before)) as f64 / beats.connected.max(1) as f64;
    let cpu_per_round_ms = match (cpu_a, cpu_b) {
        (Some(a), Some(b)) => (b - a) as f64 / stats::TICKS_PER_SEC * 1000.0 / window.as_secs_f64(),
        _ => f64::NAN,
    };
    drop(dense);
    let _ = writeln!(
        md,
        "## 4. Connection density
"
    );
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

    // The stand-in alone, so it is known not to be the bottleneck.
    eprintln!("stand-in webhook alone");
    let client = reqwest::Client::new();
    let n = if quick { 10_000 } else { 40_000 };
    let started_hook = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..64 {
        let client = client.clone();
        let url = webhook.clone();
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
    let rate = ok as f64 / started_hook.elapsed().as_secs_f64();
    let _ = writeln!(md, "\nThe stand-in webhook alone (64 keep-alive HTTP clients, no relay): **{rate:.0} requests/s** ({ok} answered).\n");

    // 5 and 6. The page, in headless Chromium (when the browser tools are
    // there: `cargo xtask bench` provides them).
    let page = page_sections(&mut md, &webhook, quick).await;

    let verdict = |ok: bool| if ok { "met" } else { "not met" };
    let (p50_over, p99_over) = (
        relay_s.p50.saturating_sub(keep_s.p50),
        relay_s.p99.saturating_sub(keep_s.p99),
    );
    let _ = writeln!(md, "## Targets (this run)\n");
    md.push_str("| target | measured | status |\n|---|---|---|\n");
    let _ = writeln!(
        md,
        "| relay overhead p50 ≤ 50 µs | {p50_over} µs | {} |",
        verdict(p50_over <= 50)
    );
    let _ = writeln!(
        md,
        "| relay overhead p99 ≤ 300 µs | {p99_over} µs | {} |",
        verdict(p99_over <= 300)
    );
    let _ = writeln!(
        md,
        "| 10 ms link: relay ≤ 0.55 × fresh POST (p50) | {wan_ratio:.2} | {} |",
        verdict(wan_ratio <= 0.55)
    );
    let _ = writeln!(
        md,
        "| ≥ 40 000 msg/s at 100 clients | {rate_at_100:.0} | {} |",
        verdict(rate_at_100 >= 40_000.0)
    );
    let _ = writeln!(
        md,
        "| heartbeat round to all {idle} clients ≤ 50 ms (median round) | {} ms | {} |",
        fan_out_median.map_or("–".into(), |v| v.to_string()),
        verdict(fan_out_median.is_some_and(|v| v <= 50))
    );
    let _ = writeln!(
        md,
        "| ≤ 10 KiB RSS per idle connection ({idle} clients) | {per_conn:.1} KiB | {} |",
        verdict(per_conn <= 10.0)
    );
    match &page {
        Some(p) => {
            let _ = writeln!(
                md,
                "| page wasm+js ≤ 110 KiB gzip | {:.1} KiB | {} |",
                p.gzip_kib,
                verdict(p.gzip_kib <= 110.0)
            );
            let _ = writeln!(
                md,
                "| page `online` ≤ 300 ms after load (median of {}) | {:.0} ms | {} |",
                p.loads,
                p.online_ms,
                verdict(p.online_ms <= 300.0)
            );
            let _ = writeln!(
                md,
                "| back `online` ≤ 1 s after the relay returns (median of {}) | {:.0} ms | {} |\n",
                p.restarts,
                p.back_ms,
                verdict(p.back_ms <= 1000.0)
            );
        }
        None => md.push_str("| page targets | not measured (no browser) | – |\n\n"),
    }
    md.push_str(TARGETS);
    let header = header(quick, started.elapsed());
    let text = format!("{header}{md}");
    println!("{text}");
    if let Err(e) = std::fs::write(&out, &text) {
        eprintln!("cannot write {out}: {e}");
        std::process::exit(1);
    }
    eprintln!("wrote {out}");
}

/// What the page sections measured, for the targets table.
struct PageResult {
    gzip_kib: f64,
    loads: usize,
    online_ms: f64,
    restarts: usize,
    back_ms: f64,
}

/// Sections 5 (page size, load → online) and 6 (reconnect). Needs
/// `DIST_DIR`, `RELAY_BIN`, `CHROMEDRIVER` and `CHROME_BIN`.
async fn page_sections(md: &mut String, webhook: &str, quick: bool) -> Option<PageResult> {
    let ready = ["DIST_DIR", "RELAY_BIN", "CHROMEDRIVER", "CHROME_BIN"]
        .iter()
        .all(|v| std::env::var_os(v).is_some());
    if !ready {
        md.push_str("## 5. The page\n\nNot measured: run through `cargo xtask bench`, which builds the page and provides the browser.\n\n");
        return None;
    }
    let dist = std::path::PathBuf::from(std::env::var_os("DIST_DIR")?);
    let files = bench::page::sizes(&dist);
    let _ = writeln!(md, "## 5. The page\n");
    let _ = writeln!(md, "Release build (`trunk build --release`: wasm-opt -Oz), sizes as served; gzip at level 9.\n");
    md.push_str("| file | raw bytes | gzip bytes |\n|---|---|---|\n");
    let (mut raw, mut gzip) = (0, 0);
    for f in &files {
        let kind = if f.name.ends_with(".wasm") {
            "wasm"
        } else {
            "js"
        };
        let _ = writeln!(md, "| {kind} (`{}`) | {} | {} |", f.name, f.raw, f.gzip);
        raw += f.raw;
        gzip += f.gzip;
    }
    let gzip_kib = gzip as f64 / 1024.0;
    let _ = writeln!(
        md,
        "| **total** | {raw} | **{gzip} ({gzip_kib:.1} KiB)** |\n"
    );
    let (loads, restarts) = if quick { (5, 2) } else { (10, 5) };
    eprintln!("page: {loads} loads and {restarts} relay restarts in headless Chromium");
    let t = match bench::page::measure(webhook, loads, restarts).await {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(md, "Page timings failed: {e}\n");
            return None;
        }
    };
    let online_ms = bench::page::median(&t.warm_ms);
    let _ = writeln!(md, "Load → status `online` in headless Chromium on loopback, read from the page's own `performance.mark` (ms since navigation start): first load (empty cache) **{:.0} ms**; then {loads} reloads, median **{online_ms:.0} ms** (all: {:?}).\n", t.cold_ms, t.warm_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>());
    let back_ms = bench::page::median(&t.back_online_ms);
    let _ = writeln!(md, "## 6. Reconnect\n");
    let _ = writeln!(md, "{restarts} relay restarts as a deploy does them (SIGTERM: the relay closes with 1001; then a new relay on the same port) with the page's default backoff, and a message typed while the relay is away. From the new relay listening: page `online` median **{back_ms:.0} ms** (all: {:?}); the queued message answered, median **{:.0} ms** (all: {:?}).\n",
        t.back_online_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>(),
        bench::page::median(&t.queued_answered_ms),
        t.queued_answered_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>());
    Some(PageResult {
        gzip_kib,
        loads,
        online_ms,
        restarts,
        back_ms,
    })
}

/// `bench soak`: the long soak against the release relay and a flaky
/// stand-in n8n, `rounds` times over with new clients and sessions each
/// round; exits non-zero if any message was lost, got conflicting outcomes
/// or reached the webhook twice, if anything is left behind after a round,
/// or if the relay's memory keeps growing from round to round.
async fn soak(relay_path: &str, quick: bool, rounds: usize, cluster: bool) -> i32 {
    use bench::soak::{self, Soak};
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
        let c = bench::cluster::Cluster::start(relay_path, &webhook, &extra)
            .await
            .unwrap_or_else(|e| panic!("cluster: {e}"));
        (None, Some(c))
    } else {
        (
            Some(start_relay_with(relay_path, &webhook, &extra).await),
            None,
        )
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

/// What stood in the way of the targets missed, when this file was last
/// reviewed (2026-11-26), with the profile that shows it.
const TARGETS: &str = r#"## What stands in the way

Runs on these shared 2-core machines vary by up to 2× from one run to the next: compare ways within
one run (they are interleaved), not absolute numbers across runs. The loopback overhead targets were
met in some runs and missed in others; the medians of the interleaved rounds are the honest number.

**Profile.** `valgrind --tool=callgrind target/release/relay …` under `target/release/bench load
--clients 10 --messages 200` (with `target/release/bench standin --port P` as the webhook): about
100 000 instructions per message in the relay, of which the HTTP client side (reqwest → tower
redirect layer → hyper-util pool → hyper) is over half; **12 % is `url::Url::parse`**, which reqwest
0.12's always-present redirect layer runs on every request (`TowerRedirectPolicy::on_request` parses
the request's URI back into a `Url`, even with no redirect to follow; we already pass a pre-parsed
`Url`); malloc/free are 17 %, memcpy 8 %, JSON in and out about 10 %, the WebSocket side (frame in,
frame out, session bookkeeping) about 15 %. Kernel time (four socket syscalls and their wake-ups per
message) comes on top and is not in the instruction count.

**Throughput (≥ 40 000 msg/s at 100 clients).** Not reachable on these 2 cores with this set-up:
the stand-in webhook *alone* answers about 20 000–33 000 requests/s on the same two cores (measured
above), so the relay in front of it cannot exceed that, and the load generator (every answer
checked) shares the cores too. Relay CPU per message is about 100 µs (CPU cores ÷ msg/s in the
table), half of it in reqwest/hyper. What would move it: a webhook client without the redirect
layer (hyper-util's client directly; the product pins reqwest), batching answers per connection,
and a faster allocator — tried: mimalloc as the relay's global allocator gave +20–40 % msg/s at
100 clients (two `--quick` runs each: 13.9k and 11.1k vs 10.0k and 9.3k) but 12.4–15.4 KiB RSS per
idle connection instead of 10.1, breaking the density target that is met; not adopted.

**Heartbeat round ≤ 50 ms to 10 000 clients.** The relay now has one heartbeat clock (one timer,
one serialisation per round, the frame shared by reference); a round's fan-out is 10 000 socket
writes plus 10 000 task wake-ups, and the measured time also includes the 10 000 client tasks reading
and decoding the frame on the same two cores. About 15–35 µs per client end to end (202 ms for 10 000 in the committed run; before the shared clock the CPU per round was 310 ms, now 250 ms); the 50 ms target
would need ≤ 5 µs per client including the clients' share.

**Page ≤ 110 KiB gzip.** Markdown (issue 8 asks for pulldown-cmark) costs about 67 KiB gzip by
itself (measured by building the page with the renderer stubbed out: 130 KiB without, 197 KiB with);
the other features of issue 8 (language switch, themes, `/config.json`, controls, window mode,
copy) another 32 KiB. Before them the page was 103 KiB. Load → online stays far inside its target
on loopback. What would move it: a smaller markdown parser written for the subset agents use (not
pulldown-cmark), and fewer monomorphised Leptos views.

**50 000 idle clients** (asked for "if the box allows"): it does not. The hard limit on open files
is 20 000 per process here and cannot be raised (`ulimit -n 100000` → "Operation not permitted",
no `CAP_SYS_RESOURCE` in this sandbox), and 50 000 clients need 50 000 descriptors in the relay and
as many in the load generator (plus source addresses beyond 127.0.0.1, whose ephemeral port range
holds about 28 000). Section 4 runs 10 000, inside the limit.

**What was changed, and what it bought:**
tungstenite's read buffer (128 KiB, allocated eagerly per connection) and write buffer cut to 4 KiB —
the relay's RSS per idle connection went from at least that buffer each to **9.9 KiB**; one relay-wide
heartbeat clock instead of a timer per connection, with the frame serialised once per round — relay
CPU per heartbeat round to 10 000 clients **310 ms → 250 ms**; `TCP_NODELAY` on every accepted
socket (no Nagle delay on small frames; not measured separately); in the page, decoding relay frames through a flat struct
instead of serde's internally-tagged enums — **−29 KiB gzip**.
"#;
