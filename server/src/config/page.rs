//! What the page shows; served as /config.json: from `--page-config <file>`
//! and the flags that override it field by field.

use shared::PageConfig;

use crate::markdown;
use crate::RelayError;

use std::path::PathBuf;

/// What the page shows; served as /config.json.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Page settings (/config.json)")]
pub struct PageFlags {
    /// A JSON file with the page's settings (the fields of `/config.json`).
    ///
    /// Title, welcome, language, streaming, placeholder. The flags below
    /// override it field by field.
    #[arg(long, env = "RELAY_PAGE_CONFIG")]
    pub page_config: Option<PathBuf>,

    /// The page's title (header and browser tab).
    #[arg(long, env = "RELAY_TITLE")]
    pub title: Option<String>,

    /// A welcome line shown at the start of a conversation (markdown; repeatable).
    ///
    /// In the env var, one per line.
    #[arg(long = "welcome", env = "RELAY_WELCOME", value_delimiter = '\n')]
    pub welcome: Vec<String>,

    /// The page's language unless the user picks one: auto or a language code.
    ///
    /// auto (the default): the first of the browser's languages with a
    /// catalogue, else English. Codes: en, de, fr, es, it, pt-BR, nl, pl,
    /// tr, ja, zh-CN, ar.
    #[arg(long, env = "RELAY_LANGUAGE", value_parser = ["auto", "en", "de", "fr", "es", "it", "pt-BR", "nl", "pl", "tr", "ja", "zh-CN", "ar"])]
    pub language: Option<String>,

    /// Show streamed answers as they arrive (true) or only once complete (false).
    ///
    /// Without it: the --page-config file's value, else true.
    #[arg(long, env = "RELAY_STREAMING", action = clap::ArgAction::Set)]
    pub streaming: Option<bool>,

    /// The input's placeholder text.
    #[arg(long, env = "RELAY_PLACEHOLDER")]
    pub placeholder: Option<String>,

    /// A starter prompt shown while a conversation is empty (repeatable, at most 4).
    ///
    /// A click sends it. In the env var, one per line.
    #[arg(long = "suggestion", env = "RELAY_SUGGESTIONS", value_delimiter = '\n')]
    pub suggestions: Vec<String>,

    /// A JSON file replacing page texts: {"<language>": {"<key>": "text"}}.
    ///
    /// Keys are those of frontend/i18n/en.json; an unknown language or key
    /// stops the start, named. Applied over the --page-config file's
    /// `strings`.
    #[arg(long, env = "RELAY_STRINGS")]
    pub strings: Option<PathBuf>,
}

impl PageFlags {
    /// The page config: the file (if any), then the flags; `relay_url` is
    /// where pages connect (`--relay-url`).
    pub fn page_config(&self, relay_url: Option<&url::Url>) -> Result<PageConfig, RelayError> {
        let config = self;
        let mut page = match &config.page_config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    RelayError::PageConfig(format!("cannot read {}: {e}", path.display()))
                })?;
                serde_json::from_str(&text).map_err(|e| {
                    RelayError::PageConfig(format!("{} is not a page config: {e}", path.display()))
                })?
            }
            None => PageConfig::default(),
        };
        if let Some(title) = &config.title {
            page.title = Some(title.clone());
        }
        let welcome: Vec<String> = config
            .welcome
            .iter()
            .filter(|w| !w.trim().is_empty())
            .cloned()
            .collect();
        if !welcome.is_empty() {
            page.welcome = welcome;
        }
        if let Some(language) = &config.language {
            page.language = Some(language.clone());
        }
        if page.language.as_deref() == Some("auto") {
            page.language = None;
        }
        if let Some(path) = &config.strings {
            let text = std::fs::read_to_string(path).map_err(|e| {
                RelayError::PageConfig(format!("cannot read {}: {e}", path.display()))
            })?;
            let strings: crate::page::catalogues::Strings = serde_json::from_str(&text)
                .map_err(|e| {
                    RelayError::PageConfig(format!(
                        "{} is not a strings file ({{\"<language>\": {{\"<key>\": \"text\"}}}}): {e}",
                        path.display()
                    ))
                })?;
            for (code, texts) in strings {
                page.strings.entry(code).or_default().extend(texts);
            }
        }
        crate::page::catalogues::check(&page.strings).map_err(RelayError::PageConfig)?;
        if let Some(streaming) = config.streaming {
            page.streaming = streaming;
        }
        if let Some(placeholder) = &config.placeholder {
            page.placeholder = Some(placeholder.clone());
        }
        let suggestions: Vec<String> = config
            .suggestions
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if !suggestions.is_empty() {
            page.suggestions = suggestions;
        }
        if page.suggestions.len() > shared::MAX_SUGGESTIONS {
            return Err(RelayError::PageConfig(format!(
                "{} suggestions; at most {} are shown",
                page.suggestions.len(),
                shared::MAX_SUGGESTIONS
            )));
        }
        if let Some(long) = page
            .suggestions
            .iter()
            .find(|s| s.chars().count() > shared::MAX_SUGGESTION_CHARS)
        {
            return Err(RelayError::PageConfig(format!(
                "a suggestion longer than {} characters: {long:.40}…",
                shared::MAX_SUGGESTION_CHARS
            )));
        }
        // Only the flag sets where the page connects: a `relayUrl` in the file
        // is ignored, so the file cannot point pages at another relay by itself.
        page.relay_url = relay_url.map(url::Url::to_string);
        // The welcome lines are formatted here, once, like every bot text
        // (a `welcomeDocs` in the file is replaced, never trusted).
        page.welcome_docs = page
            .welcome
            .iter()
            .map(|w| markdown::parse_some(w).unwrap_or_default())
            .collect();
        Ok(page)
    }
}
