//! Bot answers as markdown, rendered to safe HTML.
//!
//! AI agents answer in markdown, so the page renders it — but the answer
//! comes from a workflow, which may echo anything a user or a web page put
//! into it. So this renderer is written for hostile input:
//! - raw HTML in the markdown (blocks and inline) is shown as text, escaped;
//!   no markup from n8n ever reaches the DOM as markup;
//! - link targets are kept only for `http:`, `https:` and `mailto:` URLs
//!   (so no `javascript:`/`data:` links), open in a new tab with
//!   `rel="noopener noreferrer"`;
//! - images become links (no requests to third parties just by showing an
//!   answer, no tracking pixels);
//! - every text and attribute goes through pulldown-cmark's escapers.
//!
//! Fenced and indented code blocks get a copy button (`data-testid="copy-code"`);
//! the page handles its clicks by delegation, see `app.rs`.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use pulldown_cmark_escape::{escape_href, escape_html, escape_html_body_text};

/// The markdown extensions agents commonly use.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Whether `url` may become a link: absolute `http(s)`/`mailto` only.
pub fn is_safe_url(url: &str) -> bool {
    let url = url.trim_start();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// Renders `markdown` to HTML that is safe to assign to `innerHTML`.
pub fn to_html(markdown: &str, copy_label: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    // Links and images that were not safe: their closing tag is dropped too.
    let mut link_open: Vec<bool> = Vec::new();
    let mut in_table_head = false;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(tag) => start(
                &mut out,
                tag,
                &mut link_open,
                &mut in_table_head,
                copy_label,
            ),
            Event::End(tag) => end(&mut out, tag, &mut link_open, &mut in_table_head),
            Event::Text(text) => escape(&mut out, &text),
            Event::Code(code) => {
                out.push_str("<code>");
                escape(&mut out, &code);
                out.push_str("</code>");
            }
            // Raw HTML from the answer: shown as the text it is.
            Event::Html(html) | Event::InlineHtml(html) => escape(&mut out, &html),
            Event::InlineMath(m) | Event::DisplayMath(m) => escape(&mut out, &m),
            Event::FootnoteReference(name) => {
                out.push('[');
                escape(&mut out, &name);
                out.push(']');
            }
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br>"),
            Event::Rule => out.push_str("<hr>"),
            Event::TaskListMarker(done) => out.push_str(if done {
                "<input type=\"checkbox\" disabled checked aria-label=\"done\"> "
            } else {
                "<input type=\"checkbox\" disabled aria-label=\"open\"> "
            }),
        }
    }
    out
}

fn escape(out: &mut String, text: &str) {
    // Writing to a String cannot fail.
    let _ = escape_html_body_text(&mut *out, text);
}

fn escape_attr(out: &mut String, text: &str) {
    let _ = escape_html(&mut *out, text);
}

fn start(
    out: &mut String,
    tag: Tag<'_>,
    link_open: &mut Vec<bool>,
    in_table_head: &mut bool,
    copy_label: &str,
) {
    match tag {
        Tag::Paragraph => out.push_str("<p>"),
        Tag::Heading { level, .. } => {
            out.push('<');
            out.push_str(&level.to_string());
            out.push('>');
        }
        Tag::BlockQuote(_) => out.push_str("<blockquote>"),
        Tag::CodeBlock(kind) => {
            out.push_str("<div class=\"code\"><button type=\"button\" class=\"copy-code\" data-testid=\"copy-code\">");
            escape(out, copy_label);
            out.push_str("</button><pre><code");
            if let CodeBlockKind::Fenced(info) = kind {
                let lang = info.split_whitespace().next().unwrap_or_default();
                if !lang.is_empty() {
                    out.push_str(" class=\"language-");
                    escape_attr(out, lang);
                    out.push('"');
                }
            }
            out.push('>');
        }
        Tag::List(Some(1)) => out.push_str("<ol>"),
        Tag::List(Some(first)) => {
            out.push_str("<ol start=\"");
            out.push_str(&first.to_string());
            out.push_str("\">");
        }
        Tag::List(None) => out.push_str("<ul>"),
        Tag::Item => out.push_str("<li>"),
        Tag::Table(_) => out.push_str("<div class=\"table\"><table>"),
        Tag::TableHead => {
            *in_table_head = true;
            out.push_str("<thead><tr>");
        }
        Tag::TableRow => out.push_str("<tr>"),
        Tag::TableCell => out.push_str(if *in_table_head { "<th>" } else { "<td>" }),
        Tag::Emphasis => out.push_str("<em>"),
        Tag::Strong => out.push_str("<strong>"),
        Tag::Strikethrough => out.push_str("<del>"),
        Tag::Link {
            dest_url, title, ..
        }
        | Tag::Image {
            dest_url, title, ..
        } => {
            let safe = is_safe_url(&dest_url);
            link_open.push(safe);
            if safe {
                out.push_str("<a href=\"");
                let _ = escape_href(&mut *out, dest_url.trim());
                out.push('"');
                if !title.is_empty() {
                    out.push_str(" title=\"");
                    escape_attr(out, &title);
                    out.push('"');
                }
                out.push_str(" target=\"_blank\" rel=\"noopener noreferrer\">");
            }
        }
        // Footnote bodies, definition lists, metadata, sub/superscript:
        // not enabled, or shown as their plain content.
        _ => {}
    }
}

fn end(out: &mut String, tag: TagEnd, link_open: &mut Vec<bool>, in_table_head: &mut bool) {
    match tag {
        TagEnd::Paragraph => out.push_str("</p>"),
        TagEnd::Heading(level) => {
            out.push_str("</");
            out.push_str(&level.to_string());
            out.push('>');
        }
        TagEnd::BlockQuote(_) => out.push_str("</blockquote>"),
        TagEnd::CodeBlock => out.push_str("</code></pre></div>"),
        TagEnd::List(true) => out.push_str("</ol>"),
        TagEnd::List(false) => out.push_str("</ul>"),
        TagEnd::Item => out.push_str("</li>"),
        TagEnd::Table => out.push_str("</tbody></table></div>"),
        TagEnd::TableHead => {
            *in_table_head = false;
            out.push_str("</tr></thead><tbody>");
        }
        TagEnd::TableRow => out.push_str("</tr>"),
        TagEnd::TableCell => out.push_str(if *in_table_head { "</th>" } else { "</td>" }),
        TagEnd::Emphasis => out.push_str("</em>"),
        TagEnd::Strong => out.push_str("</strong>"),
        TagEnd::Strikethrough => out.push_str("</del>"),
        TagEnd::Link | TagEnd::Image => {
            let was_safe = link_open.pop().unwrap_or(false);
            out.push_str(if was_safe { "</a>" } else { "" });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(md: &str) -> String {
        to_html(md, "Copy")
    }

    #[test]
    fn common_markdown() {
        assert_eq!(html("# Title"), "<h1>Title</h1>");
        assert_eq!(
            html("Some *em* and **strong** and `code`"),
            "<p>Some <em>em</em> and <strong>strong</strong> and <code>code</code></p>"
        );
        assert_eq!(html("- a\n- b"), "<ul><li>a</li><li>b</li></ul>");
        assert_eq!(
            html("3. c\n4. d"),
            "<ol start=\"3\"><li>c</li><li>d</li></ol>"
        );
        assert_eq!(html("~~gone~~"), "<p><del>gone</del></p>");
        assert_eq!(
            html("| a | b |\n|---|---|\n| 1 | 2 |"),
            "<div class=\"table\"><table><thead><tr><th>a</th><th>b</th></tr></thead>\
             <tbody><tr><td>1</td><td>2</td></tr></tbody></table></div>"
        );
    }

    #[test]
    fn code_blocks_get_a_copy_button() {
        assert_eq!(
            html("```rust\nlet a = 1 < 2;\n```"),
            "<div class=\"code\"><button type=\"button\" class=\"copy-code\" data-testid=\"copy-code\">Copy</button>\
             <pre><code class=\"language-rust\">let a = 1 &lt; 2;\n</code></pre></div>"
        );
    }

    #[test]
    fn links_open_in_a_new_tab_without_opener() {
        assert_eq!(
            html("[n8n](https://n8n.io \"site\")"),
            "<p><a href=\"https://n8n.io\" title=\"site\" target=\"_blank\" rel=\"noopener noreferrer\">n8n</a></p>"
        );
        assert_eq!(
            html("<https://example.com/a?b=1&c=2>"),
            "<p><a href=\"https://example.com/a?b=1&amp;c=2\" target=\"_blank\" rel=\"noopener noreferrer\">https://example.com/a?b=1&amp;c=2</a></p>"
        );
    }

    #[test]
    fn raw_html_is_text() {
        assert_eq!(
            html("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(
            html("hi <script>alert(1)</script> there"),
            "<p>hi &lt;script&gt;alert(1)&lt;/script&gt; there</p>"
        );
        assert_eq!(
            html("<div onclick=\"x()\">\n\n*a*\n\n</div>"),
            "&lt;div onclick=\"x()\"&gt;\n<p><em>a</em></p>&lt;/div&gt;"
        );
    }

    #[test]
    fn dangerous_links_lose_their_target() {
        for md in [
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click]( javascript:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD4=)",
            "[click](vbscript:x)",
            "[click](//evil.example)",
            "[click](/relative)",
        ] {
            let out = html(md);
            assert_eq!(out, "<p>click</p>", "{md}");
        }
        assert_eq!(html("<javascript:alert(1)>"), "<p>javascript:alert(1)</p>");
    }

    #[test]
    fn images_become_links() {
        assert_eq!(
            html("![a cat](https://img.example/cat.png)"),
            "<p><a href=\"https://img.example/cat.png\" target=\"_blank\" rel=\"noopener noreferrer\">a cat</a></p>"
        );
        assert_eq!(html("![x](javascript:alert(1))"), "<p>x</p>");
    }

    #[test]
    fn attribute_breakouts_are_escaped() {
        let out = html("[a](https://x.example/\"onmouseover=\"alert(1) \"t\\\"itle\")");
        assert!(!out.contains("\"onmouseover"), "{out}");
        let out = html("```\"><script>alert(1)</script>\nx\n```");
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("class=\"language-&quot;&gt;&lt;script&gt;"),
            "{out}"
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        /// Whatever the input, no tag other than the ones the renderer
        /// writes itself appears, and no attribute starts with `on`.
        #[test]
        fn no_markup_but_ours(input in "\\PC{0,200}") {
            let out = html(&input);
            let allowed = [
                "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "div", "button", "pre",
                "code", "ol", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "em",
                "strong", "del", "a", "br", "hr", "input",
            ];
            let mut rest = out.as_str();
            while let Some(i) = rest.find('<') {
                rest = &rest[i + 1..];
                let name: String = rest
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                proptest::prop_assert!(allowed.contains(&name.as_str()), "tag {name:?} in {out}");
                let tag_end = rest.find('>').unwrap_or(rest.len());
                let tag = rest[..tag_end].to_ascii_lowercase();
                proptest::prop_assert!(!tag.contains(" on"), "handler in {out}");
                proptest::prop_assert!(!tag.contains("javascript:"), "js url in {out}");
            }
        }
    }
}
