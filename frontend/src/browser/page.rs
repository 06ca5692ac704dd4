//! The page itself: its URL, the browser's language, performance marks.

/// A query-string parameter of the page.
pub fn query_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(key)
}

/// The browser's preferred language tags, best first
/// (`navigator.languages`, else `navigator.language`).
pub fn browser_languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return Vec::new();
    };
    let mut tags: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|t| t.as_string())
        .collect();
    if tags.is_empty() {
        tags.extend(navigator.language());
    }
    tags
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

/// `ms` (since the epoch) in the user's local time.
pub fn local(ms: f64) -> crate::model::time::Local {
    let d = js_sys::Date::new(&ms.into());
    let offset_ms = d.get_timezone_offset() * 60_000.0;
    crate::model::time::Local {
        day: ((ms - offset_ms) / 86_400_000.0).floor() as i64,
        month: d.get_month() + 1,
        date: d.get_date(),
        hour: d.get_hours(),
        minute: d.get_minutes(),
    }
}

/// `ms` as the browser writes a full date and time in `lang` (for the
/// title of a timestamp), and as ISO 8601 (for `<time datetime>`).
pub fn exact_time(ms: f64, lang: &str) -> (String, String) {
    let d = js_sys::Date::new(&ms.into());
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"full".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    (
        d.to_locale_string(lang, &options).into(),
        d.to_iso_string().into(),
    )
}
