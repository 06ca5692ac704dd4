//! Formatted answers as a typed tree: what the relay's markdown parser
//! makes of a bot text, and all the page ever renders.
//!
//! Why a tree and not HTML: the answer comes from a workflow, which may echo
//! anything a user or a web page put into it. With a tree, the page builds
//! DOM nodes of the kinds listed here and puts every text into a text node —
//! no HTML string exists anywhere, so there is nothing to escape and nothing
//! to forget. Link targets are limited to `http:`, `https:` and `mailto:` by
//! the relay *and* again by the page ([`is_safe_url`]). And the markdown
//! parser stays on the relay, which keeps it out of the page's download.
//!
//! The shape is serde's default (externally tagged) enums, which decode
//! without buffering: `[{"p":[{"t":"Hi "},{"b":[{"t":"you"}]}]},"hr"]`.

use serde::{Deserialize, Serialize};

/// A formatted text: its blocks, in order.
pub type Doc = Vec<Block>;

/// The deepest nesting of blocks and inlines the relay sends. Deeper
/// markdown (a thousand `>`) is flattened to text at this depth, so every
/// tree decodes within serde_json's recursion limit (128) on the page and
/// renders without deep recursion.
pub const MAX_DEPTH: usize = 24;

/// The most nodes one tree holds; what follows is sent as one plain
/// paragraph, so a pathological answer costs the page a bounded DOM.
pub const MAX_NODES: usize = 20_000;

/// A block: paragraph, heading, code, quote, list, table or rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Block {
    /// A paragraph (`<p>`).
    P(Vec<Inline>),
    /// Inlines without a paragraph around them: a tight list item's text,
    /// or an HTML block shown as the text it is.
    Text(Vec<Inline>),
    /// A heading, level 1–6.
    H(u8, Vec<Inline>),
    /// A code block with the copy button.
    Code(CodeBlock),
    /// A block quote.
    Quote(Vec<Block>),
    /// A bullet list.
    Ul(Vec<Item>),
    /// A numbered list and the number of its first item.
    Ol(u64, Vec<Item>),
    /// A table.
    Table(Table),
    /// A thematic break (`<hr>`).
    Hr,
}

/// A code block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBlock {
    /// The fence's language (first word of the info string), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lang: String,
    /// The code, verbatim (always sent: pages older than [`Span`]s show
    /// it, and it is what the copy button copies).
    pub text: String,
    /// The code again as highlighted spans, when the relay knows the
    /// language and the block is within its bounds; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// A piece of highlighted code: its kind and its text, `["kw","fn"]` on the
/// wire. The kind is a class name (`tok-<kind>` on the page), never a
/// colour: `kw` keyword, `str` string, `num` number or constant, `com`
/// comment, `fn` function name, `ty` type, `tag` markup tag, `attr`
/// attribute; empty for text with no kind. The texts of a block's spans
/// concatenate to its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span(pub String, pub String);

/// Whether a span kind may become a class name on the page: a few
/// lowercase letters (a relay could send anything).
pub fn is_span_kind(kind: &str) -> bool {
    !kind.is_empty() && kind.len() <= 8 && kind.bytes().all(|b| b.is_ascii_lowercase())
}

/// A list item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// A task list item's box: ticked or not (`None`: not a task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<bool>,
    /// Its content.
    pub body: Vec<Block>,
}

/// A table: the header row, then the body rows; a row is its cells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The header cells.
    pub head: Vec<Vec<Inline>>,
    /// The body rows.
    #[serde(default)]
    pub rows: Vec<Vec<Vec<Inline>>>,
}

/// Text and its formatting inside a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Inline {
    /// Plain text (soft line breaks are `\n` in it).
    T(String),
    /// Inline code.
    Code(String),
    /// Emphasis (`<em>`).
    Em(Vec<Inline>),
    /// Strong (`<strong>`).
    B(Vec<Inline>),
    /// Strikethrough (`<del>`).
    Del(Vec<Inline>),
    /// A link; images become links too, or images the relay serves
    /// ([`Link::img`]): showing an answer loads nothing from elsewhere.
    A(Link),
    /// A hard line break.
    Br,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Where it goes: `http:`, `https:` or `mailto:` only.
    pub href: String,
    /// Its title (tooltip), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// What it shows (for an image: its alt text).
    pub body: Vec<Inline>,
    /// An image the relay serves: `api/image/<token>`, relative to the
    /// page ([`is_image_src`]); the page shows it, linked to itself (full
    /// size), with `body` as its alt text. Empty for links and for images
    /// from hosts the relay does not allow, which stay links; pages older
    /// than this field show the link.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub img: String,
}

/// Whether `src` may be an image's address: the relay's own
/// `api/image/<token>` only (a token is base64url and a dot), never a
/// third-party URL, so showing an answer contacts nobody else.
pub fn is_image_src(src: &str) -> bool {
    src.strip_prefix("api/image/").is_some_and(|token| {
        !token.is_empty()
            && token.len() <= 8192
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    })
}

/// Whether `url` may become a link: absolute `http(s)`/`mailto` only, so no
/// `javascript:`/`data:` links and no relative ones (which would point into
/// the relay).
pub fn is_safe_url(url: &str) -> bool {
    let url = url.trim_start();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_urls() {
        for ok in ["https://n8n.io", "HTTP://x", " mailto:a@b", "https://"] {
            assert!(is_safe_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:x",
            "data:text/html,x",
            "//evil.example",
            "/relative",
            "vbscript:x",
            "",
        ] {
            assert!(!is_safe_url(bad), "{bad}");
        }
    }

    #[test]
    fn image_sources_are_the_relays_own() {
        assert!(is_image_src("api/image/aHR0cHM6Ly94.AbC-_9"));
        for bad in [
            "",
            "api/image/",
            "https://img.example/x.png",
            "/api/image/x",
            "api/image/../../x",
            "api/image/a/b",
            "api/image/a?b",
            "api/image/a b",
            "javascript:alert(1)",
        ] {
            assert!(!is_image_src(bad), "{bad}");
        }
    }

    #[test]
    fn the_wire_shape_is_compact() {
        let doc: Doc = vec![
            Block::P(vec![
                Inline::T("Hi ".into()),
                Inline::B(vec![Inline::T("you".into())]),
            ]),
            Block::Hr,
        ];
        let json = serde_json::to_string(&doc).expect("json");
        assert_eq!(json, r#"[{"p":[{"t":"Hi "},{"b":[{"t":"you"}]}]},"hr"]"#);
        let back: Doc = serde_json::from_str(&json).expect("back");
        assert_eq!(back, doc);
    }
}
