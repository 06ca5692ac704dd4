//! `/config.json`: what a deployment tells the page without rebuilding it.
//!
//! The relay serves it (from flags, env vars or a JSON file); the page
//! fetches it at start and falls back to [`PageConfig::default`] when it is
//! missing (e.g. under `trunk serve`). So one built `dist/` serves many
//! deployments, each with its own title, welcome and language.

use serde::{Deserialize, Serialize};

/// The page's deployment settings. Every field is optional on the wire;
/// unknown fields are ignored, so older pages read newer relays' files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PageConfig {
    /// The header title and the document title (`None`: "n8n Chat").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Bot lines shown at the start of an empty conversation (empty: the
    /// page's own translated greeting). Markdown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub welcome: Vec<String>,
    /// The welcome lines as formatted trees, same order (the relay parses
    /// them once at start; an empty tree, or none, means plain text).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub welcome_docs: Vec<crate::rich_text::Doc>,
    /// A catalogue's code (`"de"`, `"pt-BR"`, …) or `"auto"`: the language
    /// when the user has not picked one (`None`/`auto`: the browser's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Show streamed answers as they arrive (`false`: only when complete).
    pub streaming: bool,
    /// The input's placeholder (`None`: the translated default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// The WebSocket URL to connect to when it is not `/ws` on the page's
    /// own origin (the relay's `--relay-url`). The page takes a relay URL
    /// from here only — never from its query string, fragment or storage,
    /// so a crafted link cannot send the conversation elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_url: Option<String>,
    /// What the relay accepts as attachments; absent when uploads are off
    /// (`--allow-file-uploads`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploads: Option<UploadRules>,
    /// Starter prompts shown while a conversation is empty (at most
    /// [`MAX_SUGGESTIONS`]); a click sends one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
    /// Whether answers get 👍/👎 (the relay has a `--feedback-url`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub feedback: bool,
    /// The longest voice recording in seconds, when the page may record
    /// voice messages (`--allow-voice` with uploads on); 0: no microphone.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_voice_seconds: u32,
    /// The host origins allowed to embed the chat (the relay's
    /// `--embed-origin`; empty: any). In `?mode=window&host=…` the page
    /// refuses to act as an embed for a host not listed: no events, no
    /// commands, no state kept, no connection.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub embed_origins: Vec<String>,
    /// Where each language's text catalogue is, by code (`"de"` →
    /// `"i18n/de-<hash>.json"`): hashed names the browser keeps for good.
    /// Empty (e.g. under `trunk serve`): the page asks for `i18n/<code>.json`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub catalogues: std::collections::BTreeMap<String, String>,
    /// Overrides of page texts, by language code then key (`--strings`,
    /// or this field of `--page-config`). The relay checks the keys at
    /// start and writes the texts into the catalogues it serves, so the
    /// served `/config.json` never carries them.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub strings: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// Whether the page offers sign-in (the relay has `--oidc-issuer`):
    /// a "Sign in" link to `/auth/login`, "Sign out" when `/auth/me` says
    /// the browser is signed in.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sign_in: bool,
}

/// The most starter prompts a page shows.
pub const MAX_SUGGESTIONS: usize = 4;
/// The longest starter prompt, in characters.
pub const MAX_SUGGESTION_CHARS: usize = 200;

/// The relay's rules for attachments, so the page refuses what the relay
/// would refuse before uploading anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadRules {
    /// Allowed MIME types as n8n writes them: comma-separated patterns
    /// like `image/*,application/pdf`.
    pub allowed_types: String,
    /// Largest file, in bytes.
    pub max_bytes: u64,
    /// Most files per message.
    pub max_files: u32,
}

impl UploadRules {
    /// Whether `mime` matches one of the allowed patterns (`*`, `type/*`
    /// or exact; case-insensitive; parameters after `;` ignored).
    pub fn allows_type(&self, mime: &str) -> bool {
        allows_type(&self.allowed_types, mime)
    }
}

/// Whether `mime` matches one of the comma-separated `patterns`.
pub fn allows_type(patterns: &str, mime: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, _)) = mime.split_once('/') else {
        return false;
    };
    patterns
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .any(|p| p == "*" || p == "*/*" || p == mime || p.strip_suffix("/*") == Some(kind))
}

impl Default for PageConfig {
    fn default() -> Self {
        PageConfig {
            title: None,
            welcome: Vec::new(),
            welcome_docs: Vec::new(),
            language: None,
            streaming: true,
            placeholder: None,
            relay_url: None,
            uploads: None,
            suggestions: Vec::new(),
            feedback: false,
            sign_in: false,
            embed_origins: Vec::new(),
            catalogues: std::collections::BTreeMap::new(),
            strings: std::collections::BTreeMap::new(),
            max_voice_seconds: 0,
        }
    }
}

impl PageConfig {
    /// Reads a config; anything unreadable gives the defaults (the page
    /// must come up whatever the file says).
    pub fn from_json(text: &str) -> PageConfig {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// The JSON the relay serves.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// For `skip_serializing_if` on counts where 0 means off.
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns_as_n8n_writes_them() {
        let p = "image/*, application/pdf,text/plain";
        assert!(allows_type(p, "image/png"));
        assert!(allows_type(p, "IMAGE/JPEG"));
        assert!(allows_type(p, "application/pdf"));
        assert!(allows_type(p, "text/plain; charset=utf-8"));
        assert!(!allows_type(p, "application/zip"));
        assert!(!allows_type(p, "text/html"));
        assert!(!allows_type(p, "imagepng"));
        assert!(!allows_type(p, ""));
        assert!(allows_type("*", "application/zip"));
        assert!(!allows_type("", "image/png"));
    }
}
