//! The page as it travels (issue 17): the `relay` binary alone — started
//! from an empty directory, no `--static-dir`, no `dist/` — serves the page
//! built into it, compressed, and a later visit takes trunk's hashed files
//! from the browser's cache without asking and revalidates only
//! `index.html` and `/config.json`. Read from Chromium's Resource Timing
//! API. Run with `cargo xtask test` (it builds the relay with
//! `--features embed-page`).

use e2e::browser::{Browser, Fetched};
use e2e::relay::Relay;
use e2e::scenario::{answered_once, finish};
use e2e::Result;

fn find<'a>(all: &'a [Fetched], suffix: &str) -> Result<&'a Fetched> {
    // By its end first: `.js` must not find `/config.json` (which the
    // page's preload hint now fetches before the script).
    all.iter()
        .find(|f| f.name.ends_with(suffix))
        .or_else(|| all.iter().find(|f| f.name.contains(suffix)))
        .ok_or_else(|| format!("no {suffix} among {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the relay built with the page inside, and Chromium: run `cargo xtask test`"]
async fn d1_the_binary_alone_serves_the_page_compressed_and_cached() {
    let relay = Relay::start_embedded(None, &[]).await.expect("relay");
    let browser = Browser::start().await.expect("browser");
    let result = async {
        let url = relay.page_url("");
        browser.open_online(&url).await?;
        let id = browser.send("from the built-in page").await?;
        answered_once(&browser, &id, "echo: from the built-in page").await?;
        let first = browser.fetched().await?;
        let wasm = find(&first, "_bg.wasm")?;
        let js = find(&first, ".js")?;
        for f in [wasm, js] {
            if f.encoded * 2 > f.decoded || f.transfer < f.encoded {
                return Err(format!("not compressed on the wire: {f:?}"));
            }
        }
        for f in &first {
            eprintln!("first visit: {}", f.row());
        }
        // The preload hints (`Link` on index.html) are used, not fetched
        // a second time by the page: one `/config.json`, one catalogue.
        for (what, count) in [
            (
                "/config.json",
                first
                    .iter()
                    .filter(|f| f.name.ends_with("/config.json"))
                    .count(),
            ),
            (
                "a catalogue",
                first.iter().filter(|f| f.name.contains("/i18n/")).count(),
            ),
        ] {
            if count != 1 {
                return Err(format!("{what} fetched {count} times on the first visit"));
            }
        }
        // A later visit: the hashed files come from the cache unasked; the
        // page and its settings are revalidated (304).
        browser.open_online(&url).await?;
        let again = browser.fetched().await?;
        for f in &again {
            eprintln!("second visit: {}", f.row());
        }
        for suffix in ["_bg.wasm", ".js", ".css"] {
            let f = find(&again, suffix)?;
            if f.transfer != 0 {
                return Err(format!("{suffix} fetched again: {f:?}"));
            }
        }
        // Revalidated: only headers crossed the wire (a 304; Chromium then
        // reports the cached response's status, and the headers' size as
        // transferSize).
        for (what, suffix) in [
            ("index.html", url.as_str()),
            ("config.json", "/config.json"),
        ] {
            let (before, after) = (find(&first, suffix)?, find(&again, suffix)?);
            if after.transfer == 0 || after.transfer >= before.transfer {
                return Err(format!("{what} not revalidated: {before:?} then {after:?}"));
            }
        }
        Ok(())
    }
    .await;
    finish(&browser, "d1", result).await;
    browser.close().await;
}
