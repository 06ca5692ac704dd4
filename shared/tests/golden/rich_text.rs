//! Formatted bot texts as they travel: every node kind, highlighted code,
//! images.

use crate::golden;
use shared::rich_text::{Block, CodeBlock, Doc, Inline, Item, Link, Span, Table};

/// Every node kind of a formatted text, as it travels.
#[test]
fn rich_text_tree() {
    // (Without spans or images: the shape older relays send, which must
    // keep decoding.)
    let doc: Doc = vec![
        Block::H(2, vec![Inline::T("Title".into())]),
        Block::P(vec![
            Inline::T("Some ".into()),
            Inline::Em(vec![Inline::T("em".into())]),
            Inline::T(", ".into()),
            Inline::Del(vec![Inline::T("gone".into())]),
            Inline::T(", ".into()),
            Inline::Code("code".into()),
            Inline::Br,
            Inline::A(Link {
                href: "https://n8n.io".into(),
                title: "site".into(),
                body: vec![Inline::T("n8n".into())],
                img: String::new(),
            }),
        ]),
        Block::Code(CodeBlock {
            lang: "rust".into(),
            text: "let a = 1 < 2;\n".into(),
            spans: Vec::new(),
        }),
        Block::Quote(vec![Block::P(vec![Inline::T("quoted".into())])]),
        Block::Ul(vec![Item {
            task: Some(true),
            body: vec![Block::Text(vec![Inline::T("done".into())])],
        }]),
        Block::Ol(
            3,
            vec![Item {
                task: None,
                body: vec![Block::Text(vec![Inline::T("third".into())])],
            }],
        ),
        Block::Table(Table {
            head: vec![vec![Inline::T("a".into())]],
            rows: vec![vec![vec![Inline::T("1".into())]]],
        }),
        Block::Hr,
    ];
    let bytes = golden("rich_text");
    assert_eq!(serde_json::to_string(&doc).expect("json"), bytes);
    assert_eq!(serde_json::from_str::<Doc>(&bytes).expect("decode"), doc);
}

/// A highlighted code block: the plain text stays (older pages show it,
/// the copy button copies it) and the spans carry kinds, never colours.
#[test]
fn rich_text_code_spans() {
    let doc: Doc = vec![Block::Code(CodeBlock {
        lang: "rust".into(),
        text: "fn main() {}\n".into(),
        spans: vec![
            Span("kw".into(), "fn".into()),
            Span(String::new(), " ".into()),
            Span("fn".into(), "main".into()),
            Span(String::new(), "() {}\n".into()),
        ],
    })];
    let bytes = golden("rich_text_code_spans");
    assert_eq!(serde_json::to_string(&doc).expect("json"), bytes);
    assert_eq!(serde_json::from_str::<Doc>(&bytes).expect("decode"), doc);
}

/// An image the relay serves (`--image-host`): a link with `img`, which
/// older pages ignore (they show the link).
#[test]
fn rich_text_image() {
    let doc: Doc = vec![Block::P(vec![Inline::A(Link {
        href: "https://img.example/cat.png".into(),
        title: String::new(),
        body: vec![Inline::T("a cat".into())],
        img: "api/image/aHR0cHM6Ly9pbWcuZXhhbXBsZS9jYXQucG5n.c2lnbmF0dXJl".into(),
    })])];
    let bytes = golden("rich_text_image");
    assert_eq!(serde_json::to_string(&doc).expect("json"), bytes);
    assert_eq!(serde_json::from_str::<Doc>(&bytes).expect("decode"), doc);
}
