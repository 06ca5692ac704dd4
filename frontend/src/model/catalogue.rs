//! One language's texts as data: a flat JSON object read at start from
//! `i18n/<code>.json` (see `docs/translations.md`), so no language's
//! texts are compiled into the wasm.
//!
//! A value is either a text with `{name}` placeholders, or an object of
//! CLDR plural categories (`zero`, `one`, `two`, `few`, `many`, `other`)
//! whose category the browser's `Intl.PluralRules` picks. Keys starting
//! with `_` are notes for translators (the draft header) and never shown.

use std::sync::Arc;

use serde_json::{Map, Value};

/// The most bytes a catalogue may have: a bound on what the page parses.
pub const MAX_CATALOGUE_BYTES: usize = 256 * 1024;

/// Why a catalogue was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogueError {
    /// Larger than [`MAX_CATALOGUE_BYTES`].
    TooLarge,
    /// Not a flat JSON object of texts and plural objects.
    NotACatalogue(String),
}

/// A parsed catalogue, cheap to clone (it is shared). Kept as the JSON
/// object itself: the page already carries `serde_json::Value` (for
/// metadata), so this adds no parsing code to the wasm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    entries: Arc<Map<String, Value>>,
}

impl Catalogue {
    /// Reads a catalogue; notes (`_…`) are dropped. Every value must be a
    /// text or an object of texts with an `other` form.
    pub fn parse(json: &str) -> Result<Catalogue, CatalogueError> {
        if json.len() > MAX_CATALOGUE_BYTES {
            return Err(CatalogueError::TooLarge);
        }
        // The parser's own message is not kept: formatting it would only
        // add code to the wasm for a case the completeness test rules out.
        // Read as a `Value`, the one JSON reader the page already has.
        let Ok(Value::Object(mut entries)) = serde_json::from_str::<Value>(json) else {
            return Err(CatalogueError::NotACatalogue("not a JSON object".into()));
        };
        entries.retain(|k, _| !k.starts_with('_'));
        for (key, value) in &entries {
            let fine = match value {
                Value::String(_) => true,
                Value::Object(forms) => {
                    forms.contains_key("other") && forms.values().all(Value::is_string)
                }
                _ => false,
            };
            if !fine {
                return Err(CatalogueError::NotACatalogue(format!(
                    "{key}: neither a text nor plural forms with `other`"
                )));
            }
        }
        Ok(Catalogue {
            entries: Arc::new(entries),
        })
    }

    /// Whether nothing is loaded yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys (for tests and the relay's override check).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The text for `key` with `{name}` placeholders filled from `args`; a
    /// plural entry gives its `category` form (else `other`). A missing key
    /// shows as itself, so a gap is visible, never a blank.
    pub fn format(&self, key: &str, category: &str, args: &[(&str, &str)]) -> String {
        let text = match self.entries.get(key) {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Object(forms)) => forms
                .get(category)
                .or_else(|| forms.get("other"))
                .and_then(Value::as_str)
                .unwrap_or(key),
            _ => key,
        };
        fill(text, args)
    }
}

/// Replaces each `{name}` in `text` with its value in `args` (one pass, so
/// a value containing braces is never expanded again).
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_plurals_and_placeholders() {
        let c = Catalogue::parse(
            r#"{"_draft": "note", "hi": "Hi {name}!",
                "n": {"one": "{n} file", "other": "{n} files"}}"#,
        )
        .expect("parses");
        assert_eq!(c.keys().count(), 2, "notes are dropped");
        assert_eq!(c.format("hi", "other", &[("name", "{n}")]), "Hi {n}!");
        assert_eq!(c.format("n", "one", &[("n", "1")]), "1 file");
        assert_eq!(c.format("n", "few", &[("n", "3")]), "3 files");
        assert_eq!(c.format("gone", "other", &[]), "gone");
        assert_eq!(fill("{a} {b} {", &[("a", "x")]), "x {b} {");
    }

    #[test]
    fn bad_catalogues_are_refused() {
        assert!(matches!(
            Catalogue::parse(r#"{"n": {"one": "x"}}"#),
            Err(CatalogueError::NotACatalogue(m)) if m.contains("other")
        ));
        assert!(Catalogue::parse("[1]").is_err());
        assert!(Catalogue::parse(r#"{"a": 3}"#).is_err());
        let huge = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_CATALOGUE_BYTES));
        assert_eq!(Catalogue::parse(&huge), Err(CatalogueError::TooLarge));
    }
}
