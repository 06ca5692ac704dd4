//! Sections 5 and 6: the page in headless Chromium — its size, load →
//! online, and reconnect after a relay restart. Needs `DIST_DIR`,
//! `RELAY_BIN`, `CHROMEDRIVER` and `CHROME_BIN` (`cargo xtask bench` gives
//! them).

use std::fmt::Write as _;

/// What the page sections measured, for the targets table.
#[derive(Debug, Clone)]
pub struct PageResult {
    pub gzip_kib: f64,
    pub loads: usize,
    pub online_ms: f64,
    pub restarts: usize,
    pub back_ms: f64,
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
    let t = match crate::page::measure(webhook, loads, restarts).await {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(md, "Page timings failed: {e}\n");
            return None;
        }
    };
    let online_ms = crate::page::median(&t.warm_ms);
    let _ = writeln!(md, "Load → status `online` in headless Chromium on loopback, read from the page's own `performance.mark` (ms since navigation start): first load (empty cache) **{:.0} ms**; then {loads} reloads, median **{online_ms:.0} ms** (all: {:?}).\n", t.cold_ms, t.warm_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>());
    let back_ms = crate::page::median(&t.back_online_ms);
    let _ = writeln!(md, "## 6. Reconnect\n");
    let _ = writeln!(md, "{restarts} relay restarts as a deploy does them (SIGTERM: the relay closes with 1001; then a new relay on the same port) with the page's default backoff, and a message typed while the relay is away. From the new relay listening: page `online` median **{back_ms:.0} ms** (all: {:?}); the queued message answered, median **{:.0} ms** (all: {:?}).\n",
        t.back_online_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>(),
        crate::page::median(&t.queued_answered_ms),
        t.queued_answered_ms.iter().map(|v| v.round() as u64).collect::<Vec<_>>());
    Some(PageResult {
        gzip_kib,
        loads,
        online_ms,
        restarts,
        back_ms,
    })
}
