//! The page's text catalogues (`i18n/<code>.json`, one per language): the
//! deployment's overrides (`--strings`, `/config.json` `strings`) checked
//! against the keys the page knows and written in, then each served under
//! a hashed name (`i18n/<code>-<hash>.json`) that browsers keep for good.
//! The page learns the names from `/config.json` `catalogues`, so it
//! fetches the one language it shows, once.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::assets::{Asset, PageAssets};
use super::assets::{START_BROTLI_QUALITY, START_GZIP_LEVEL};
use super::compress::{brotli_bytes, gzip_bytes, worth_it};

/// The reference catalogue: its keys are the ones the page reads (a
/// frontend test keeps every catalogue and the code in step with it).
const REFERENCE: &str = include_str!("../../../frontend/i18n/en.json");

/// Every language the page has a catalogue for (`frontend/i18n/`).
pub const LANGUAGES: [&str; 12] = [
    "en", "de", "fr", "es", "it", "pt-BR", "nl", "pl", "tr", "ja", "zh-CN", "ar",
];

/// Overrides: language code, then key, then the text.
pub type Strings = BTreeMap<String, BTreeMap<String, String>>;

/// The keys the page knows (notes, `_…`, are not keys).
pub fn known_keys() -> BTreeSet<String> {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(REFERENCE)
        .map(|m| m.keys().filter(|k| !k.starts_with('_')).cloned().collect())
        .unwrap_or_default()
}

/// Refuses overrides for a language or key the page does not have, naming it.
pub fn check(strings: &Strings) -> Result<(), String> {
    let keys = known_keys();
    for (code, texts) in strings {
        if !LANGUAGES.contains(&code.as_str()) {
            return Err(format!(
                "strings: unknown language {code:?} (one of {})",
                LANGUAGES.join(", ")
            ));
        }
        if let Some(key) = texts.keys().find(|k| !keys.contains(*k)) {
            return Err(format!(
                "strings: unknown key {key:?} for {code} (the keys are in frontend/i18n/en.json)"
            ));
        }
    }
    Ok(())
}

/// Writes `strings` into the page's catalogues and adds each under its
/// hashed name; returns code → hashed path for `/config.json`. Without a
/// page (or catalogues in it), nothing.
pub fn publish(page: &mut PageAssets, strings: &Strings) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for code in LANGUAGES {
        let plain = format!("i18n/{code}.json");
        let Some(asset) = page.get(&plain) else {
            continue;
        };
        let mut bytes = asset.identity.clone();
        if let Some(texts) = strings.get(code) {
            let Ok(mut map) =
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes)
            else {
                continue;
            };
            for (key, text) in texts {
                map.insert(key.clone(), serde_json::Value::String(text.clone()));
            }
            let Ok(json) = serde_json::to_vec_pretty(&map) else {
                continue;
            };
            bytes = Bytes::from(json);
            page.insert(&plain, compressed(&plain, bytes.clone()));
        }
        let hash: String = Sha256::digest(&bytes)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hashed = format!("i18n/{code}-{hash}.json");
        page.insert(&hashed, compressed(&hashed, bytes));
        names.insert(code.to_owned(), hashed);
    }
    names
}

fn compressed(name: &str, bytes: Bytes) -> Asset {
    let br = brotli_bytes(&bytes, START_BROTLI_QUALITY);
    let gz = gzip_bytes(&bytes, START_GZIP_LEVEL);
    let brotli = worth_it(bytes.len(), br.len()).then(|| Bytes::from(br));
    let gzip = worth_it(bytes.len(), gz.len()).then(|| Bytes::from(gz));
    Asset::new(name, bytes, brotli, gzip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_languages_and_keys_are_named() {
        let ok: Strings = [("de".into(), [("composer.send".into(), "Los".into())].into())].into();
        assert_eq!(check(&ok), Ok(()));
        let bad_key: Strings =
            [("fr".into(), [("composer.sned".into(), "x".into())].into())].into();
        let error = check(&bad_key).expect_err("refused");
        assert!(error.contains("\"composer.sned\""), "{error}");
        let bad_lang: Strings = [("xx".into(), BTreeMap::new())].into();
        assert!(check(&bad_lang).expect_err("refused").contains("\"xx\""));
        assert!(known_keys().len() > 50);
    }
}
