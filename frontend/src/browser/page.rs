//! The page itself: its URL, the browser's language, performance marks.

/// A query-string parameter of the page.
pub fn query_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(key)
}

/// The browser's preferred language tag (e.g. `de-DE`).
pub fn browser_language() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_default()
}

/// `(protocol, host)` of the page, e.g. `("https:", "chat.example.com")`.
pub fn origin_parts() -> (String, String) {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location
        .as_ref()
        .and_then(|l| l.protocol().ok())
        .unwrap_or_default();
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_default();
    (protocol, host)
}

/// The page's URL without its query string and fragment (sent to n8n as
/// `metadata.pageUrl`, like n8n's widget does).
pub fn url_without_query() -> Option<String> {
    let l = web_sys::window()?.location();
    Some(format!(
        "{}{}",
        l.origin().unwrap_or_default(),
        l.pathname().unwrap_or_default()
    ))
}

/// A `performance.mark` each time the page goes online, so load → online
/// and reconnect times can be read from the browser (`cargo xtask bench`).
pub fn mark_online() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark("n8n-chat:online");
    }
}

/// The time now (ms since the epoch), the clock of every machine event.
pub fn now() -> f64 {
    js_sys::Date::now()
}
