//! What "Read aloud" reads (issue 27): an answer's words, without the
//! markdown around them — a speech engine would read `**` and `#` aloud.

use shared::rich_text::{Block, Doc, Inline};

/// The text of a formatted answer, one block per line; `text` itself when
/// the answer has no tree (plain text, or still streaming).
pub fn spoken_text(text: &str, doc: Option<&Doc>) -> String {
    let Some(doc) = doc else {
        return text.trim().to_owned();
    };
    let mut out = String::new();
    blocks(doc, &mut out);
    out.trim().to_owned()
}

fn blocks(blocks_: &[Block], out: &mut String) {
    for block in blocks_ {
        match block {
            Block::P(i) | Block::Text(i) | Block::H(_, i) => inlines(i, out),
            Block::Code(code) => out.push_str(&code.text),
            Block::Quote(b) => blocks(b, out),
            Block::Ul(items) | Block::Ol(_, items) => {
                for item in items {
                    blocks(&item.body, out);
                    out.push('\n');
                }
            }
            Block::Table(table) => {
                for row in std::iter::once(&table.head).chain(table.rows.iter()) {
                    for cell in row {
                        inlines(cell, out);
                        out.push_str(", ");
                    }
                    out.push('\n');
                }
            }
            Block::Hr => {}
        }
        out.push('\n');
    }
}

fn inlines(inlines_: &[Inline], out: &mut String) {
    for inline in inlines_ {
        match inline {
            Inline::T(t) | Inline::Code(t) => out.push_str(t),
            Inline::Em(c) | Inline::B(c) | Inline::Del(c) => inlines(c, out),
            Inline::A(link) => inlines(&link.body, out),
            Inline::Br => out.push('\n'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_not_read() {
        let doc = vec![
            Block::H(1, vec![Inline::T("Title".into())]),
            Block::P(vec![
                Inline::T("Some ".into()),
                Inline::B(vec![Inline::T("bold".into())]),
                Inline::T(" text.".into()),
            ]),
        ];
        assert_eq!(
            spoken_text("# Title\n\nSome **bold** text.", Some(&doc)),
            "Title\nSome bold text."
        );
        assert_eq!(spoken_text(" plain ", None), "plain");
    }
}
