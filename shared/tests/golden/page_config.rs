//! `/config.json`: the deployment's settings for the page.

use crate::golden;
use shared::rich_text::{Block, Inline};

#[test]
fn page_config() {
    let value = shared::PageConfig {
        title: Some("Support".into()),
        welcome: vec![
            "Hi! I am the **support** bot.".into(),
            "Ask me anything.".into(),
        ],
        welcome_docs: vec![
            vec![Block::P(vec![
                Inline::T("Hi! I am the ".into()),
                Inline::B(vec![Inline::T("support".into())]),
                Inline::T(" bot.".into()),
            ])],
            vec![Block::P(vec![Inline::T("Ask me anything.".into())])],
        ],
        language: Some("de".into()),
        streaming: false,
        placeholder: Some("Your question…".into()),
        relay_url: Some("wss://chat.example.com/ws".into()),
        uploads: Some(shared::UploadRules {
            allowed_types: "image/*,application/pdf".into(),
            max_bytes: 10485760,
            max_files: 5,
        }),
        suggestions: vec!["What can you do?".into(), "Track my order".into()],
        feedback: true,
        embed_origins: vec!["https://shop.example".into()],
        catalogues: [("de".into(), "i18n/de-0123456789abcdef.json".into())].into(),
        strings: Default::default(),
        sign_in: true,
        max_voice_seconds: 0,
    };
    let bytes = golden("page_config");
    assert_eq!(value.to_json(), bytes);
    assert_eq!(shared::PageConfig::from_json(&bytes), value);
    // Every field is optional; garbage gives the defaults.
    assert_eq!(
        shared::PageConfig::from_json("{}"),
        shared::PageConfig::default()
    );
    assert_eq!(
        shared::PageConfig::default().to_json(),
        r#"{"streaming":true}"#
    );
    assert_eq!(
        shared::PageConfig::from_json("<html>404</html>"),
        shared::PageConfig::default()
    );
    assert_eq!(
        shared::PageConfig::from_json(r#"{"title":"T","future":1}"#)
            .title
            .as_deref(),
        Some("T")
    );
}

/// Voice messages on (`--allow-voice`): the longest recording.
#[test]
fn page_config_voice() {
    let value = shared::PageConfig {
        max_voice_seconds: 90,
        ..shared::PageConfig::default()
    };
    let bytes = golden("page_config_voice");
    assert_eq!(value.to_json(), bytes);
    assert_eq!(shared::PageConfig::from_json(&bytes), value);
}
