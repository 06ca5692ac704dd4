//! The page, measured in headless Chromium (sections 5 and 6 of
//! BENCHMARKS.md): the size of the release `dist/`, the time from page load
//! to status `online`, and how soon the page is back after a relay restart.
//!
//! Times come from the page itself: it sets a `performance.mark` named
//! `n8n-chat:online` each time it goes online, so load → online is that
//! mark's `startTime` (ms since navigation start), measured by the browser,
//! not by WebDriver's polling.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use e2e::browser::{Browser, Fetched};
use e2e::relay::Relay;
use e2e::wait_for;

/// One file of `dist/`.
#[derive(Debug, Clone)]
pub struct FileSize {
    /// File name.
    pub name: String,
    /// Bytes on disk.
    pub raw: u64,
    /// Bytes after gzip -9.
    pub gzip: u64,
    /// Bytes after brotli at quality 11 (what the relay built with the
    /// page inside sends).
    pub brotli: u64,
}

/// The wasm and js files of `dist`, with their gzip sizes.
pub fn sizes(dist: &Path) -> Vec<FileSize> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dist) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(ext, "wasm" | "js") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = gz
            .write_all(&bytes)
            .and_then(|()| gz.finish())
            .map(|v| v.len() as u64)
            .unwrap_or(0);
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 64 * 1024, 11, 22);
            let _ = w.write_all(&bytes);
        }
        out.push(FileSize {
            name: entry.file_name().to_string_lossy().into_owned(),
            raw: bytes.len() as u64,
            gzip,
            brotli: br.len() as u64,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Page timings.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Load → online on the first load (nothing cached), ms.
    pub cold_ms: f64,
    /// Load → online for each further load (cached page), ms.
    pub warm_ms: Vec<f64>,
    /// Relay back (listening) → page online, per restart, ms.
    pub back_online_ms: Vec<f64>,
    /// Relay back → the message queued while it was away answered, ms.
    pub queued_answered_ms: Vec<f64>,
    /// What crossed the wire on the first visit (Resource Timing).
    pub first_visit: Vec<Fetched>,
    /// And on a later visit (cached page).
    pub later_visit: Vec<Fetched>,
}

const LAST_ONLINE: &str = "const m = performance.getEntriesByName('n8n-chat:online'); \
     return m.length ? performance.timeOrigin + m[m.length - 1].startTime : null;";
const FIRST_ONLINE: &str = "const m = performance.getEntriesByName('n8n-chat:online'); \
     return m.length ? m[0].startTime : null;";

async fn mark(browser: &Browser, script: &str) -> Result<f64, String> {
    wait_for("the online mark", Duration::from_secs(10), || async {
        Ok(browser.eval(script).await?.as_f64())
    })
    .await
}

fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A relay serving the page, forwarding to `webhook`: with
/// `RELAY_PAGE_EMBEDDED` set (`cargo xtask bench`), the page built into it,
/// as a deployed binary serves it.
async fn page_relay(webhook: &str) -> Result<Relay, String> {
    if std::env::var_os("RELAY_PAGE_EMBEDDED").is_some() {
        Relay::start_embedded(Some(webhook), &[]).await
    } else {
        Relay::start(Some(webhook), &[]).await
    }
}

/// Loads the page `loads` times (the first with an empty cache), then
/// restarts the relay `restarts` times (SIGTERM, then a new relay on the
/// same port, as a deploy does) with a message typed while it is away.
///
/// With `RELAY_PAGE_EMBEDDED` set (`cargo xtask bench`), the relay serves
/// the page built into it, as a deployed binary does.
pub async fn measure(webhook: &str, loads: usize, restarts: usize) -> Result<Timings, String> {
    let mut relay = page_relay(webhook).await?;
    let browser = Browser::start().await?;
    let result = run(&browser, &mut relay, loads, restarts).await;
    browser.close().await;
    result
}

async fn run(
    browser: &Browser,
    relay: &mut Relay,
    loads: usize,
    restarts: usize,
) -> Result<Timings, String> {
    let mut t = Timings::default();
    let url = relay.page_url("");
    for i in 0..=loads {
        browser.open_online(&url).await?;
        let ms = mark(browser, FIRST_ONLINE).await?;
        if i == 0 {
            t.cold_ms = ms;
            t.first_visit = browser.fetched().await?;
        } else {
            t.warm_ms.push(ms);
        }
        if i == 1 {
            t.later_visit = browser.fetched().await?;
        }
    }
    for _ in 0..restarts {
        browser.open_online(&url).await?;
        relay.terminate();
        browser
            .wait_state_for(&["reconnecting", "offline"], Duration::from_secs(10))
            .await?;
        let id = browser.send("typed while the relay restarts").await?;
        relay.restart().await?;
        let back = unix_ms();
        let online = wait_for("online again", Duration::from_secs(40), || async {
            Ok(browser
                .eval(LAST_ONLINE)
                .await?
                .as_f64()
                .filter(|at| *at >= back - 1.0))
        })
        .await?;
        t.back_online_ms.push((online - back).max(0.0));
        wait_for(
            "the queued message answered",
            Duration::from_secs(40),
            || async { Ok((browser.message_state(&id).await? == "answered").then_some(())) },
        )
        .await?;
        t.queued_answered_ms.push(unix_ms() - back);
    }
    Ok(t)
}

/// Installed before each message: the moment Enter goes down in the input
/// (`sent`) and the moment the answer's first streamed text is in the DOM
/// (`chunk`, a `MutationObserver`'s callback: after the DOM change, before
/// the next paint), both on the page's own clock (`performance.now()`).
const FIRST_CHUNK_PROBE: &str = r#"
const input = document.querySelector('[data-testid=message-input]');
const bots = () => document.querySelectorAll('[data-testid=message][data-role=bot]').length;
const probe = { sent: null, out: null, arrived: null, chunk: null, before: bots() };
window.__firstChunk = probe;
// Where the time goes: the frame handed to the socket, the first `chunk`
// frame's arrival (a listener added to the page's own socket on its send).
if (!window.__firstChunkSend) {
  window.__firstChunkSend = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const p = window.__firstChunk;
    if (p && p.sent !== null && p.out === null && String(data).includes('"message"')) {
      p.out = performance.now();
    }
    if (!this.__firstChunkHeard) {
      this.__firstChunkHeard = true;
      this.addEventListener('message', (e) => {
        const q = window.__firstChunk;
        if (q && q.out !== null && q.arrived === null && String(e.data).includes('"chunk"')) {
          // The event's own time: the page's handler, added first, runs
          // before this one.
          q.arrived = e.timeStamp;
        }
      });
    }
    return window.__firstChunkSend.call(this, data);
  };
}
if (window.__firstChunkObserver) { window.__firstChunkObserver.disconnect(); }
if (window.__firstChunkKey) { input.removeEventListener('keydown', window.__firstChunkKey, true); }
window.__firstChunkKey = (e) => { if (e.key === 'Enter' && probe.sent === null) { probe.sent = performance.now(); } };
input.addEventListener('keydown', window.__firstChunkKey, true);
const observer = new MutationObserver(() => {
  if (probe.chunk !== null || probe.sent === null) { return; }
  const lines = document.querySelectorAll('[data-testid=message][data-role=bot]');
  if (lines.length > probe.before && lines[lines.length - 1].innerText.includes('@')) {
    probe.chunk = performance.now();
  }
});
observer.observe(document.body, { subtree: true, childList: true, characterData: true });
window.__firstChunkObserver = observer;
return true;
"#;

/// One message's way to its first chunk, in ms on the page's clock.
#[derive(Debug, Clone, Copy)]
pub struct FirstChunk {
    /// Enter → the first streamed text in the DOM.
    pub total: f64,
    /// Enter → the `message` frame handed to the WebSocket (the page).
    pub page_out: Option<f64>,
    /// That → the first `chunk` frame's arrival (the relay, the webhook,
    /// loopback both ways).
    pub wire: Option<f64>,
    /// That → the text in the DOM (the page's decode and render).
    pub page_in: Option<f64>,
}

/// Sends `samples` messages (after `warm_up` unmeasured ones) to a relay in
/// front of a streaming webhook whose first piece leaves at once, and
/// returns, per measured message, the ms from Enter to the first streamed
/// text in the DOM — the page's encode and send, the relay, the webhook's
/// first piece, the relay again, and the page's decode and render.
pub async fn first_chunk(warm_up: usize, samples: usize) -> Result<Vec<FirstChunk>, String> {
    let webhook =
        crate::streaming_webhook::StreamingWebhook::start(crate::streaming_webhook::Shape {
            chunks: 3,
            chunk_bytes: 40,
            gap: Duration::from_millis(20),
        })
        .await
        .map_err(|e| format!("streaming webhook: {e}"))?;
    let relay = page_relay(&webhook.url()).await?;
    let browser = Browser::start().await?;
    let result = async {
        browser.open_online(&relay.page_url("")).await?;
        let mut out = Vec::with_capacity(samples);
        for i in 0..warm_up + samples {
            browser.eval(FIRST_CHUNK_PROBE).await?;
            let id = browser.send(&format!("message {i}")).await?;
            let ms = wait_for("the first chunk", Duration::from_secs(10), || async {
                let v = browser.eval("return window.__firstChunk;").await?;
                let (sent, chunk) = (v["sent"].as_f64(), v["chunk"].as_f64());
                let (out, arrived) = (v["out"].as_f64(), v["arrived"].as_f64());
                Ok(sent.zip(chunk).map(|(s, c)| FirstChunk {
                    total: c - s,
                    page_out: out.map(|o| o - s),
                    wire: out.zip(arrived).map(|(o, a)| a - o),
                    page_in: arrived.map(|a| c - a),
                }))
            })
            .await?;
            wait_for("the answer", Duration::from_secs(10), || async {
                Ok((browser.message_state(&id).await? == "answered").then_some(()))
            })
            .await?;
            if i >= warm_up {
                out.push(ms);
            }
        }
        Ok(out)
    }
    .await;
    browser.close().await;
    result
}
