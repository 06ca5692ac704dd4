//! Fetching `/config.json`, the deployment's settings for the page.
//!
//! From the site root, like `/ws` and the page's own files (the relay
//! serves `index.html` for any other path, so a relative URL from a deeper
//! path would get the page instead of the config). The chat does not wait
//! for it: the connection opens at once and the title,
//! welcome, language and placeholder update when it arrives. Missing or
//! unreadable (e.g. under `trunk serve`): the defaults — except for an
//! embedded chat, which then refuses to act as an embed.

use shared::PageConfig;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The page config, or `None` if it cannot be had (the caller decides
/// what that means: the standalone page uses the defaults, an embedded one
/// refuses, since only the relay's own list says which hosts may embed it).
pub async fn fetch() -> Option<PageConfig> {
    fetch_text("/config.json")
        .await
        .map(|text| PageConfig::from_json(&text))
}

/// The body of `url` if it answers 2xx (also used for the catalogues and
/// `/auth/me`).
pub async fn fetch_text(url: &str) -> Option<String> {
    let window = web_sys::window()?;
    let response = JsFuture::from(window.fetch_with_str(url))
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
