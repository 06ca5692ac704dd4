//! Sections 5 and 6: the page in headless Chromium — its size, load →
//! online, and reconnect after a relay restart. Needs `DIST_DIR`,
//! `RELAY_BIN`, `CHROMEDRIVER` and `CHROME_BIN` (`cargo xtask bench` gives
//! them).

use std::fmt::Write as _;

/// What the page sections measured, for the targets table.
#[derive(Debug, Clone)]
pub struct PageResult {
    pub gzip_kib: f64,
    pub brotli_kib: f64,
    /// Bytes on the wire for a first visit (everything, headers included).
    pub first_visit_bytes: u64,
    pub loads: usize,
    pub online_ms: f64,
    pub restarts: usize,
    pub back_ms: f64,
    /// Enter → the first streamed text in the DOM, median ms (and how many
    /// messages); `None` if it could not be measured.
    pub first_chunk: Option<(f64, usize)>,
}

/// Sections 5 (page size, load → online) and 6 (reconnect). Needs
/// `DIST_DIR`, `RELAY_BIN`, `CHROMEDRIVER` and `CHROME_BIN`.
pub async fn sections(md: &mut String, webhook: &str, quick: bool) -> Option<PageResult> {
    let ready = ["DIST_DIR", "RELAY_BIN", "CHROMEDRIVER", "CHROME_BIN"]
        .iter()
        .all(|v| std::env::var_os(v).is_some());
    if !ready {
        md.push_str("## 5. The page\n\nNot measured: run through `cargo xtask bench`, which builds the page and provides the browser.\n\n");
        return None;
    }
    let dist = std::path::PathBuf::from(std::env::var_os("DIST_DIR")?);
    let files = crate::page::sizes(&dist);
    let _ = writeln!(md, "## 5. The page\n");
    let _ = writeln!(md, "Release build (`trunk build --release`: wasm-opt -Oz); gzip at level 9, brotli at quality 11 (what `relay` built with `--features embed-page` sends).\n");
    md.push_str("| file | raw bytes | gzip bytes | brotli bytes |\n|---|---|---|---|\n");
    let (mut raw, mut gzip, mut brotli) = (0, 0, 0);
    for f in &files {
        let kind = if f.name.ends_with(".wasm") {
            "wasm"
        } else {
            "js"
        };
        let _ = writeln!(
            md,
            "| {kind} (`{}`) | {} | {} | {} |",
            f.name, f.raw, f.gzip, f.brotli
        );
        raw += f.raw;
        gzip += f.gzip;
        brotli += f.brotli;
    }
    let gzip_kib = gzip as f64 / 1024.0;
    let brotli_kib = brotli as f64 / 1024.0;
    let _ = writeln!(
        md,
        "| **total** | {raw} | **{gzip} ({gzip_kib:.1} KiB)** | **{brotli} ({brotli_kib:.1} KiB)** |\n"
    );
    let (loads, restarts) = if quick { (5, 2) } else { (10, 5) };
    eprintln!("page: {loads} loads and {restarts} relay restarts in headless Chromium");
    let t = match crate::page::measure(webhook, loads, restarts).await {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(md, "Page timings failed: {e}\n");
            return None;
        }
    };
    let online_ms = crate::stats::median(&t.warm_ms);
    let _ = writeln!(md, "As it travels, from Chromium's Resource Timing API (`transferSize`: bytes on the wire with headers, 0 = taken from the cache without asking; `encodedBodySize` / `decodedBodySize`: the body compressed / as used):\n");
    md.push_str("| resource | first visit: on the wire | body sent | body used | later visit: on the wire |\n|---|---|---|---|---|\n");
    let short = |name: &str| {
        name.rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("/ (index.html)")
            .to_owned()
    };
    let (mut first_total, mut later_total) = (0u64, 0u64);
    for f in &t.first_visit {
        let later = t
            .later_visit
            .iter()
            .find(|l| l.name == f.name)
            .map(|l| l.transfer);
        first_total += f.transfer;
        later_total += later.unwrap_or(0);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | {} |",
            short(&f.name),
            f.transfer,
            f.encoded,
            f.decoded,
            later.map_or("–".into(), |v| v.to_string())
        );
    }
    let _ = writeln!(
        md,
        "| **total** | **{first_total}** | | | **{later_total}** |\n"
    );
    let _ = writeln!(md, "Load → status `online` in headless Chromium on loopback, read from the page's own `performance.mark` (ms since navigation start): first load (empty cache) **{:.0} ms**; then {loads} reloads, median **{online_ms:.0} ms** (all: {:?}).\n", t.cold_ms, t.warm_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>());
    let samples = if quick { 10 } else { 30 };
    eprintln!("page: {samples} messages, Enter → first streamed text");
    let first_chunk = match crate::page::first_chunk(3, samples).await {
        Ok(runs) => {
            let ms: Vec<f64> = runs.iter().map(|r| r.total).collect();
            let part = |f: fn(&crate::page::FirstChunk) -> Option<f64>| {
                crate::stats::median(&runs.iter().filter_map(f).collect::<Vec<_>>())
            };
            let (out, wire, page_in) =
                (part(|r| r.page_out), part(|r| r.wire), part(|r| r.page_in));
            let p50 = crate::stats::median(&ms);
            let mut sorted = ms.clone();
            sorted.sort_by(f64::total_cmp);
            let worst = sorted.last().copied().unwrap_or(f64::NAN);
            let _ = writeln!(md, "First message → first chunk on screen: a relay in front of a streaming webhook whose first piece leaves at once (`bench/src/streaming_webhook.rs`), {samples} messages one at a time after 3 unmeasured, from the Enter key going down in the input to the answer's first streamed text in the DOM (a `MutationObserver`, before the next paint), both read from the page's own `performance.now()`: median **{p50:.1} ms**, worst {worst:.1} ms (all: {:?}).\n", ms.iter().map(|v| (v * 10.0).round() / 10.0).collect::<Vec<_>>());
            let _ = writeln!(md, "Where it goes (medians, the page's clock; the page's socket watched from a script): Enter → the `message` frame handed to the WebSocket **{out:.1} ms** (the page: the key handler, the outbox, encoding); → the first `chunk` frame arriving **{wire:.1} ms** (loopback both ways, the relay, the webhook's first piece); → the text in the DOM **{page_in:.1} ms** (the page: decoding, the conversation, rendering).\n");
            Some((p50, samples))
        }
        Err(e) => {
            let _ = writeln!(md, "First message → first chunk: not measured ({e}).\n");
            None
        }
    };
    let back_ms = crate::stats::median(&t.back_online_ms);
    let _ = writeln!(md, "## 6. Reconnect\n");
    let _ = writeln!(md, "{restarts} relay restarts as a deploy does them (SIGTERM: the relay closes with 1001; then a new relay on the same port) with the page's default backoff, and a message typed while the relay is away. From the new relay listening: page `online` median **{back_ms:.0} ms** (all: {:?}); the queued message answered, median **{:.0} ms** (all: {:?}).\n",
        t.back_online_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>(),
        crate::stats::median(&t.queued_answered_ms),
        t.queued_answered_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>());
    Some(PageResult {
        gzip_kib,
        brotli_kib,
        first_visit_bytes: first_total,
        loads,
        online_ms,
        restarts,
        back_ms,
        first_chunk,
    })
}
