//! What the page fetches before it can show anything — `/config.json`,
//! then its language's catalogue — named in a `Link: rel=preload` header
//! of `index.html`, so the browser fetches both while the wasm still
//! downloads instead of one after the other once it runs.
//!
//! Why: the page shows nothing until its texts are in (never a flash of
//! the wrong language), so those two fetches were two round trips added
//! to every first paint. The language is the one the page will most
//! likely choose: the deployment's `--language`, else the first of the
//! request's `Accept-Language` (the browser's `navigator.languages`) that
//! has a catalogue, else English. A visitor who picked another language
//! before costs one small unused fetch.

use std::collections::BTreeMap;

/// The preload hints, fixed at start.
#[derive(Debug, Clone, Default)]
pub struct Preload {
    /// `--language` when it names one (not `auto`).
    configured: Option<String>,
    /// Language code → the catalogue's served path (`i18n/de-<hash>.json`).
    catalogues: BTreeMap<String, String>,
}

impl Preload {
    /// Hints for a page with these catalogues (`/config.json`'s
    /// `catalogues`) and configured language.
    pub fn new(configured: Option<&str>, catalogues: &BTreeMap<String, String>) -> Preload {
        Preload {
            configured: configured
                .filter(|c| catalogues.contains_key(*c))
                .map(str::to_owned),
            catalogues: catalogues.clone(),
        }
    }

    /// The `Link` header value for `index.html` requested with
    /// `accept_language`; `None` without catalogues (no page built with
    /// them, e.g. under `trunk serve`).
    pub fn link(&self, accept_language: Option<&str>) -> Option<String> {
        if self.catalogues.is_empty() {
            return None;
        }
        let code = self
            .configured
            .clone()
            .or_else(|| self.first_known(accept_language))
            .unwrap_or_else(|| "en".to_owned());
        let mut links = vec![hint("config.json")];
        if let Some(path) = self.catalogues.get(&code) {
            links.push(hint(path));
        }
        Some(links.join(", "))
    }

    /// Whether the hint depends on `Accept-Language` (then caches must
    /// keep one answer per value).
    pub fn varies_by_language(&self) -> bool {
        self.configured.is_none() && !self.catalogues.is_empty()
    }

    /// The first language of `Accept-Language` (by `q`, then order) with
    /// a catalogue: the exact tag (`pt-BR`), else its primary subtag
    /// (`de-AT` → `de`, `zh` → `zh-CN`), as the page matches them.
    fn first_known(&self, accept_language: Option<&str>) -> Option<String> {
        let mut tags: Vec<(f32, usize, &str)> = accept_language?
            .split(',')
            .take(32)
            .enumerate()
            .filter_map(|(i, item)| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, i, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        tags.into_iter().find_map(|(_, _, tag)| self.known(tag))
    }

    fn known(&self, tag: &str) -> Option<String> {
        if let Some(code) = self.catalogues.keys().find(|c| c.eq_ignore_ascii_case(tag)) {
            return Some(code.clone());
        }
        let base = tag.split(['-', '_']).next().unwrap_or_default();
        self.catalogues
            .keys()
            .find(|c| {
                let ours = c.split('-').next().unwrap_or_default();
                !base.is_empty() && ours.eq_ignore_ascii_case(base)
            })
            .cloned()
    }
}

/// One preload hint, fetched as the page fetches it (`fetch()`'s default:
/// CORS mode, same-origin credentials — `crossorigin` anonymous), so the
/// browser can hand the preloaded answer to the page's request.
fn hint(path: &str) -> String {
    format!(
        "</{}>; rel=preload; as=fetch; crossorigin",
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogues() -> BTreeMap<String, String> {
        ["en", "de", "pt-BR", "zh-CN"]
            .into_iter()
            .map(|c| (c.to_owned(), format!("i18n/{c}-0123abcd.json")))
            .collect()
    }

    #[test]
    fn the_browsers_first_known_language_is_preloaded_with_the_config() {
        let p = Preload::new(None, &catalogues());
        assert_eq!(
            p.link(Some("de-AT,de;q=0.9,en;q=0.8")).as_deref(),
            Some(
                "</config.json>; rel=preload; as=fetch; crossorigin, \
                 </i18n/de-0123abcd.json>; rel=preload; as=fetch; crossorigin"
            )
        );
        assert!(p.varies_by_language());
    }

    #[test]
    fn languages_are_matched_as_the_page_matches_them() {
        let p = Preload::new(None, &catalogues());
        let chosen = |accept: &str| p.first_known(Some(accept));
        assert_eq!(chosen("pt-br").as_deref(), Some("pt-BR"));
        assert_eq!(chosen("zh").as_deref(), Some("zh-CN"));
        assert_eq!(chosen("sv, de;q=0.5").as_deref(), Some("de"));
        // By q, not by order; q=0 means "not this one".
        assert_eq!(chosen("en;q=0.2, de;q=0.9").as_deref(), Some("de"));
        assert_eq!(chosen("de;q=0, en;q=0.1").as_deref(), Some("en"));
        assert_eq!(chosen("sv, fi"), None);
        assert_eq!(chosen("*"), None);
        assert_eq!(chosen("de;q=x"), None, "a broken q is skipped");
    }

    #[test]
    fn english_without_a_match_and_the_configured_language_first() {
        let p = Preload::new(None, &catalogues());
        assert!(p
            .link(Some("sv"))
            .is_some_and(|l| l.contains("/i18n/en-0123abcd.json")));
        assert!(p.link(None).is_some_and(|l| l.contains("/i18n/en-")));
        let fixed = Preload::new(Some("pt-BR"), &catalogues());
        assert!(fixed
            .link(Some("de"))
            .is_some_and(|l| l.contains("/i18n/pt-BR-0123abcd.json")));
        assert!(!fixed.varies_by_language());
    }

    #[test]
    fn no_catalogues_no_hints() {
        assert_eq!(Preload::new(None, &BTreeMap::new()).link(Some("de")), None);
    }
}
