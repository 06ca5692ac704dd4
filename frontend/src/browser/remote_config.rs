//! Fetching `/config.json`, the deployment's settings for the page.
//!
//! From the site root, like `/ws` and the page's own files (the relay
//! serves `index.html` for any other path, so a relative URL from a deeper
//! path would get the page instead of the config). The chat does not wait
//! for it: the connection opens at once and the title,
//! welcome, language and placeholder update when it arrives. Missing or
//! unreadable (e.g. under `trunk serve`): the defaults.

use shared::PageConfig;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The page config, or the defaults if it cannot be had.
pub async fn fetch() -> PageConfig {
    match fetch_text().await {
        Some(text) => PageConfig::from_json(&text),
        None => PageConfig::default(),
    }
}

async fn fetch_text() -> Option<String> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str("/config.json"))
        .await
        .ok()?
        .dyn_into::<web_sys::Response>()
        .ok()?;
    if !response.ok() {
        return None;
    }
    JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()
}
