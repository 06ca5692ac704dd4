//! The formatted-text renderer in a real (headless) Chromium: the relay's
//! tree becomes the elements it names, every text stays text, and a tree
//! with a link the page would not open (from a relay that did not check)
//! shows its text alone. Run by `cargo xtask test`
//! (`cargo test -p frontend --target wasm32-unknown-unknown`).
#![cfg(target_arch = "wasm32")]

use frontend::browser::rich_text;
use shared::rich_text::{Block, CodeBlock, Doc, Inline, Item, Link, Span, Table};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn render(doc: &Doc) -> web_sys::Element {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let div = document.create_element("div").expect("div");
    rich_text::fill(&div, doc, "Copy");
    div
}

fn t(s: &str) -> Inline {
    Inline::T(s.into())
}

#[wasm_bindgen_test]
fn every_node_kind_becomes_its_element() {
    let doc = vec![
        Block::H(2, vec![t("Title")]),
        Block::P(vec![
            t("a "),
            Inline::B(vec![t("b")]),
            Inline::Em(vec![t("c")]),
            Inline::Del(vec![t("d")]),
            Inline::Code("e".into()),
            Inline::Br,
            Inline::A(Link {
                href: "https://n8n.io".into(),
                title: "site".into(),
                body: vec![t("n8n")],
                img: String::new(),
            }),
        ]),
        Block::Code(CodeBlock {
            lang: "rust".into(),
            text: "let a = 1 < 2;".into(),
            spans: Vec::new(),
        }),
        Block::Quote(vec![Block::P(vec![t("q")])]),
        Block::Ul(vec![Item {
            task: Some(true),
            body: vec![Block::Text(vec![t("done")])],
        }]),
        Block::Ol(
            3,
            vec![Item {
                task: None,
                body: vec![Block::Text(vec![t("third")])],
            }],
        ),
        Block::Table(Table {
            head: vec![vec![t("h")]],
            rows: vec![vec![vec![t("1")]]],
        }),
        Block::Hr,
    ];
    let html = render(&doc).inner_html();
    assert_eq!(
        html,
        "<h2>Title</h2>\
         <p>a <strong>b</strong><em>c</em><del>d</del><code>e</code><br>\
         <a href=\"https://n8n.io\" title=\"site\" target=\"_blank\" rel=\"noopener noreferrer\">n8n</a></p>\
         <div class=\"code\"><button type=\"button\" class=\"copy-code\" data-testid=\"copy-code\">Copy</button>\
         <pre><code class=\"language-rust\">let a = 1 &lt; 2;</code></pre></div>\
         <blockquote><p>q</p></blockquote>\
         <ul><li><input type=\"checkbox\" disabled=\"\" checked=\"\" aria-label=\"done\"> done</li></ul>\
         <ol start=\"3\"><li>third</li></ol>\
         <div class=\"table\"><table><thead><tr><th>h</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table></div>\
         <hr>"
    );
}

#[wasm_bindgen_test]
fn markup_in_texts_stays_text_and_unsafe_links_are_not_links() {
    let doc = vec![Block::P(vec![
        t("<img src=x onerror=alert(1)>"),
        Inline::A(Link {
            href: "javascript:alert(1)".into(),
            title: String::new(),
            body: vec![t("click")],
            img: String::new(),
        }),
        Inline::Code("</code><script>x()</script>".into()),
    ])];
    let div = render(&doc);
    assert!(div
        .query_selector("img, script, a")
        .expect("query")
        .is_none());
    assert_eq!(
        div.text_content().unwrap_or_default(),
        "<img src=x onerror=alert(1)>click</code><script>x()</script>"
    );
    // A second fill replaces the first.
    rich_text::fill(&div, &vec![Block::Hr], "Copy");
    assert_eq!(div.inner_html(), "<hr>");
}

#[wasm_bindgen_test]
fn highlighted_code_is_spans_with_kind_classes_and_only_those() {
    let span = |k: &str, t: &str| Span(k.into(), t.into());
    let doc = vec![Block::Code(CodeBlock {
        lang: "rust".into(),
        text: "fn x".into(),
        spans: vec![
            span("kw", "fn"),
            span("", " "),
            // A kind that is no class name (from a relay that did not
            // check) is plain text.
            span("a b\"><script>", "x"),
        ],
    })];
    let div = render(&doc);
    let code = div.query_selector("pre code").expect("q").expect("code");
    assert_eq!(code.inner_html(), r#"<span class="tok-kw">fn</span> x"#);
}

#[wasm_bindgen_test]
fn relay_images_show_with_alt_text_and_other_sources_stay_links() {
    let link = |img: &str| {
        Inline::A(Link {
            href: "https://img.example/cat.png".into(),
            title: String::new(),
            body: vec![t("a cat")],
            img: img.into(),
        })
    };
    let div = render(&vec![Block::P(vec![
        link("api/image/abc.def"),
        link("https://img.example/cat.png"),
    ])]);
    let html = div.inner_html();
    assert_eq!(html.matches("<img").count(), 1, "{html}");
    let img = div
        .query_selector("a.image > img")
        .expect("q")
        .expect("img");
    assert_eq!(
        img.get_attribute("src").as_deref(),
        Some("api/image/abc.def")
    );
    assert_eq!(img.get_attribute("alt").as_deref(), Some("a cat"));
    // A third-party source is never loaded: that one stays a link.
    assert_eq!(html.matches("<a ").count(), 2, "{html}");
}
