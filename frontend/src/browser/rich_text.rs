//! A formatted bot text ([`shared::rich_text::Doc`]) built as DOM nodes.
//!
//! The relay parsed the markdown; this only maps each node kind to its
//! element and puts every text into a text node. No HTML string is made or
//! parsed, so nothing in an answer can become markup, and link targets are
//! checked again here ([`is_safe_url`]) in case a relay did not.
//! Code blocks get a copy button (`data-testid="copy-code"`), whose clicks
//! the message list handles by delegation.

use shared::rich_text::{is_image_src, is_safe_url, is_span_kind, Block, Doc, Inline, Item, Link};
use web_sys::{Document, Element, Node};

/// Replaces `target`'s content with `doc`.
pub fn fill(target: &Element, doc: &Doc, copy_label: &str) {
    target.set_text_content(None);
    let Some(document) = target.owner_document() else {
        return;
    };
    let builder = Builder {
        document,
        copy_label,
    };
    builder.blocks(target, doc);
}

struct Builder<'a> {
    document: Document,
    copy_label: &'a str,
}

impl Builder<'_> {
    /// A new `tag` element appended to `parent`.
    fn el(&self, parent: &Node, tag: &str) -> Option<Element> {
        let element = self.document.create_element(tag).ok()?;
        parent.append_child(&element).ok()?;
        Some(element)
    }

    fn text(&self, parent: &Node, text: &str) {
        let _ = parent.append_child(&self.document.create_text_node(text));
    }

    fn blocks(&self, parent: &Node, blocks: &[Block]) {
        for block in blocks {
            self.block(parent, block);
        }
    }

    fn block(&self, parent: &Node, block: &Block) {
        match block {
            Block::P(inlines) => {
                if let Some(p) = self.el(parent, "p") {
                    self.inlines(&p, inlines);
                }
            }
            Block::Text(inlines) => self.inlines(parent, inlines),
            Block::H(level, inlines) => {
                let tag =
                    ["h1", "h2", "h3", "h4", "h5", "h6"][usize::from(level.clamp(&1, &6) - 1)];
                if let Some(h) = self.el(parent, tag) {
                    self.inlines(&h, inlines);
                }
            }
            Block::Code(code) => {
                let Some(wrap) = self.el(parent, "div") else {
                    return;
                };
                wrap.set_class_name("code");
                if let Some(button) = self.el(&wrap, "button") {
                    let _ = button.set_attribute("type", "button");
                    button.set_class_name("copy-code");
                    let _ = button.set_attribute("data-testid", "copy-code");
                    self.text(&button, self.copy_label);
                }
                let Some(code_el) = self.el(&wrap, "pre").and_then(|pre| self.el(&pre, "code"))
                else {
                    return;
                };
                if !code.lang.is_empty() {
                    code_el.set_class_name(&format!("language-{}", code.lang));
                }
                if code.spans.is_empty() {
                    self.text(&code_el, &code.text);
                }
                // Highlighted on the relay: a class per kind, the theme's
                // colours; a kind that is no class name is plain text.
                for span in &code.spans {
                    if !is_span_kind(&span.0) {
                        self.text(&code_el, &span.1);
                    } else if let Some(el) = self.el(&code_el, "span") {
                        el.set_class_name(&format!("tok-{}", span.0));
                        self.text(&el, &span.1);
                    }
                }
            }
            Block::Quote(blocks) => {
                if let Some(quote) = self.el(parent, "blockquote") {
                    self.blocks(&quote, blocks);
                }
            }
            Block::Ul(items) => {
                if let Some(list) = self.el(parent, "ul") {
                    self.items(&list, items);
                }
            }
            Block::Ol(start, items) => {
                if let Some(list) = self.el(parent, "ol") {
                    if *start != 1 {
                        let _ = list.set_attribute("start", &start.to_string());
                    }
                    self.items(&list, items);
                }
            }
            Block::Table(table) => {
                let Some(table_el) = self
                    .el(parent, "div")
                    .inspect(|wrap| wrap.set_class_name("table"))
                    .and_then(|wrap| self.el(&wrap, "table"))
                else {
                    return;
                };
                if let Some(row) = self
                    .el(&table_el, "thead")
                    .and_then(|head| self.el(&head, "tr"))
                {
                    for cell in &table.head {
                        if let Some(th) = self.el(&row, "th") {
                            self.inlines(&th, cell);
                        }
                    }
                }
                let Some(body) = self.el(&table_el, "tbody") else {
                    return;
                };
                for cells in &table.rows {
                    let Some(row) = self.el(&body, "tr") else {
                        continue;
                    };
                    for cell in cells {
                        if let Some(td) = self.el(&row, "td") {
                            self.inlines(&td, cell);
                        }
                    }
                }
            }
            Block::Hr => {
                self.el(parent, "hr");
            }
        }
    }

    fn items(&self, list: &Node, items: &[Item]) {
        for item in items {
            let Some(li) = self.el(list, "li") else {
                continue;
            };
            if let Some(done) = item.task {
                if let Some(check) = self.el(&li, "input") {
                    let _ = check.set_attribute("type", "checkbox");
                    let _ = check.set_attribute("disabled", "");
                    if done {
                        let _ = check.set_attribute("checked", "");
                    }
                    let _ = check.set_attribute("aria-label", if done { "done" } else { "open" });
                }
                self.text(&li, " ");
            }
            self.blocks(&li, &item.body);
        }
    }

    fn inlines(&self, parent: &Node, inlines: &[Inline]) {
        for inline in inlines {
            match inline {
                Inline::T(text) => self.text(parent, text),
                Inline::Code(text) => {
                    if let Some(code) = self.el(parent, "code") {
                        self.text(&code, text);
                    }
                }
                Inline::Em(c) => self.wrapped(parent, "em", c),
                Inline::B(c) => self.wrapped(parent, "strong", c),
                Inline::Del(c) => self.wrapped(parent, "del", c),
                // An image the relay serves: shown, and a click opens it
                // full size. Its address is the relay's own, never a
                // third party's (checked again here).
                Inline::A(link) if is_image_src(&link.img) => self.image(parent, link),
                Inline::A(link) if is_safe_url(&link.href) => {
                    let Some(a) = self.el(parent, "a") else {
                        continue;
                    };
                    let _ = a.set_attribute("href", link.href.trim());
                    if !link.title.is_empty() {
                        let _ = a.set_attribute("title", &link.title);
                    }
                    let _ = a.set_attribute("target", "_blank");
                    let _ = a.set_attribute("rel", "noopener noreferrer");
                    self.inlines(&a, &link.body);
                }
                // Not a link the page opens: its text alone.
                Inline::A(link) => self.inlines(parent, &link.body),
                Inline::Br => {
                    self.el(parent, "br");
                }
            }
        }
    }

    fn image(&self, parent: &Node, link: &Link) {
        let Some(a) = self.el(parent, "a") else {
            return;
        };
        let _ = a.set_attribute("href", &link.img);
        let _ = a.set_attribute("target", "_blank");
        let _ = a.set_attribute("rel", "noopener noreferrer");
        a.set_class_name("image");
        if let Some(img) = self.el(&a, "img") {
            let _ = img.set_attribute("src", &link.img);
            let _ = img.set_attribute("alt", &plain(&link.body));
            let _ = img.set_attribute("loading", "lazy");
            if !link.title.is_empty() {
                let _ = img.set_attribute("title", &link.title);
            }
        }
    }

    fn wrapped(&self, parent: &Node, tag: &str, inlines: &[Inline]) {
        if let Some(el) = self.el(parent, tag) {
            self.inlines(&el, inlines);
        }
    }
}

/// The text of inlines (an image's alt text).
fn plain(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        match inline {
            Inline::T(t) | Inline::Code(t) => out.push_str(t),
            Inline::Em(c) | Inline::B(c) | Inline::Del(c) => out.push_str(&plain(c)),
            Inline::A(link) => out.push_str(&plain(&link.body)),
            Inline::Br => out.push(' '),
        }
    }
    out
}
