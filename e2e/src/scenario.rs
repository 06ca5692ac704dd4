//! What most scenarios start with, and how they end.

use testkit::n8n::StandIn;

use crate::browser::{Browser, Engine, UI_TIMEOUT};
use crate::relay::Relay;
use crate::Result;

/// Ends a scenario: on error, a screenshot (`target/e2e/<name>.png`) and a
/// panic naming both.
pub async fn finish(browser: &Browser, name: &str, result: Result) {
    if let Err(e) = result {
        let shot = browser
            .screenshot(name)
            .await
            .map(|p| p.display().to_string())
            .unwrap_or_else(|e| e);
        panic!("{name}: {e}\nscreenshot: {shot}");
    }
}

/// The stand-in n8n (echo mode).
pub async fn n8n() -> StandIn {
    StandIn::start().await.expect("stand-in n8n")
}

/// The stand-in n8n, the relay forwarding to it, and a browser.
pub async fn scene() -> (StandIn, Relay, Browser) {
    scene_with(&[], &[]).await
}

/// Like [`scene`], with extra relay flags and Chromium flags.
pub async fn scene_with(relay_flags: &[&str], browser_flags: &[&str]) -> (StandIn, Relay, Browser) {
    let n8n = n8n().await;
    let relay = Relay::start(Some(&n8n.url("/webhook/chat")), relay_flags)
        .await
        .expect("relay");
    let browser = Browser::start_with(browser_flags).await.expect("browser");
    (n8n, relay, browser)
}

/// Like [`scene_with`] in browser `engine` (Chromium takes no extra flags
/// here).
pub async fn scene_in(engine: Engine, relay_flags: &[&str]) -> (StandIn, Relay, Browser) {
    let n8n = n8n().await;
    let relay = Relay::start(Some(&n8n.url("/webhook/chat")), relay_flags)
        .await
        .expect("relay");
    let browser = Browser::start_engine(engine).await.expect("browser");
    (n8n, relay, browser)
}

/// Waits until user message `id` is answered, with exactly one answer
/// reading `expected`.
pub async fn answered_once(browser: &Browser, id: &str, expected: &str) -> Result {
    browser
        .wait_message_state(id, "answered", UI_TIMEOUT)
        .await?;
    let answers = browser.answers_for(id).await?;
    if answers != [expected.to_owned()] {
        return Err(format!(
            "answers for {id}: {answers:?}, expected exactly [{expected:?}]"
        ));
    }
    Ok(())
}
