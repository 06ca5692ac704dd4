//! The end-to-end harness: the real `relay` binary serving the built page,
//! headless Chromium driven over WebDriver (chromedriver), and the stand-in
//! n8n from `testkit`, all on 127.0.0.1 with free ports.
//!
//! The tests are `#[ignore]`d in a plain `cargo test` because they need the
//! built page and a browser; `cargo xtask test` builds and installs those
//! and runs them with `--ignored`, passing `RELAY_BIN`, `DIST_DIR`,
//! `CHROMEDRIVER`, `CHROME_BIN` and `AXE_JS` (axe-core, for the
//! accessibility checks), and for the embedding suites in other engines
//! `FIREFOX_BIN`/`GECKODRIVER` and `WEBKIT_DRIVER`/`WEBKIT_BROWSER`/`XVFB_RUN`.
//!
//! Everything started here is killed when its handle drops (also when a
//! test fails), by process group, so no stray processes are left.

pub mod browser;
pub mod files;
pub mod host_site;
pub mod nginx;
pub mod process;
pub mod proxy;
pub mod redis;
pub mod relay;
pub mod scenario;
pub mod ws;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// A test step's error: a readable sentence.
pub type Result<T = ()> = std::result::Result<T, String>;

/// A required environment variable, with a helpful panic when missing.
pub fn env_path(name: &str) -> PathBuf {
    match std::env::var_os(name) {
        Some(v) => PathBuf::from(v),
        None => panic!("{name} is not set: run the browser tests with `cargo xtask test`"),
    }
}

/// Where failure screenshots go: `target/e2e/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("e2e");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Polls `check` every 50 ms until it returns `Ok(Some(v))`, or fails after
/// `timeout` with the last error.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::from("condition not met");
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "timed out after {timeout:?} waiting for {what} ({last})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
