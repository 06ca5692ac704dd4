//! Bot texts parsed from markdown into the protocol's typed tree
//! ([`shared::rich_text`]), once, on the relay.
//!
//! AI agents answer in markdown. Parsing it here rather than in the page
//! keeps the parser out of every visitor's download, and the page never
//! handles markup: it renders the tree's node kinds, with every text in a
//! text node. Written for hostile input — the answer may echo anything a
//! user or a web page put into the workflow:
//! - raw HTML (blocks and inline) becomes text;
//! - links keep their target only for `http:`, `https:` and `mailto:`
//!   ([`is_safe_url`]); other links show their text alone;
//! - images become links (showing an answer requests nothing), except
//!   images from hosts the operator allows, which the relay serves itself
//!   ([`crate::images`]);
//! - code blocks with a known language get highlighted spans
//!   ([`crate::highlight`]), within its bounds;
//! - nesting deeper than [`MAX_DEPTH`] is flattened to text, and after
//!   [`MAX_NODES`] nodes the rest of a container is one text, so every tree
//!   decodes within serde_json's recursion limit and costs a bounded DOM.

use std::iter::Peekable;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};

use crate::images::ImageLinks;
use shared::rich_text::{
    is_safe_url, Block, CodeBlock, Doc, Inline, Item, Link, Table, MAX_DEPTH, MAX_NODES,
};

/// The markdown extensions agents commonly use.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Parses a bot text; every image stays a link.
pub fn parse(markdown: &str) -> Doc {
    parse_with(markdown, None)
}

/// Parses a bot text, showing images from the hosts `images` allows.
pub fn parse_with(markdown: &str, images: Option<&ImageLinks>) -> Doc {
    let mut builder = Builder {
        events: Parser::new_ext(markdown, options()).peekable(),
        nodes: 0,
        task: None,
        images,
    };
    builder.blocks(0)
}

/// [`parse`] for a frame field: `None` when there is nothing to format —
/// an empty text, or one line of plain text that markdown leaves exactly as
/// it is (most short answers). The page shows a frame without a tree as
/// plain text, which for such a text looks the same, so the text does not
/// travel twice.
pub fn parse_some(markdown: &str) -> Option<Doc> {
    parse_some_with(markdown, None)
}

/// [`parse_some`] showing images from the hosts `images` allows.
pub fn parse_some_with(markdown: &str, images: Option<&ImageLinks>) -> Option<Doc> {
    if markdown.is_empty() {
        return None;
    }
    let doc = parse_with(markdown, images);
    match doc.as_slice() {
        [Block::P(inlines)] if !markdown.contains('\n') => match inlines.as_slice() {
            [Inline::T(text)] if text == markdown => None,
            _ => Some(doc),
        },
        _ => Some(doc),
    }
}

struct Builder<'a> {
    events: Peekable<Parser<'a>>,
    /// Nodes made so far (bounded by [`MAX_NODES`]).
    nodes: usize,
    /// A task list marker seen inside the current item.
    task: Option<bool>,
    /// Which images are shown as images (none: all stay links).
    images: Option<&'a ImageLinks>,
}

/// Whether a start tag opens inline content (as opposed to a block).
fn is_inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

/// Whether an event belongs in a run of inline content.
fn is_inline_event(event: &Event<'_>) -> bool {
    match event {
        Event::Start(tag) => is_inline(tag),
        Event::End(_) | Event::Rule => false,
        _ => true,
    }
}

/// What an event shows when its formatting is dropped.
fn event_text<'e>(event: &'e Event<'_>) -> &'e str {
    match event {
        Event::Text(t)
        | Event::Code(t)
        | Event::Html(t)
        | Event::InlineHtml(t)
        | Event::InlineMath(t)
        | Event::DisplayMath(t) => t,
        Event::SoftBreak | Event::HardBreak => "\n",
        _ => "",
    }
}

/// Appends text, merging it into a preceding text node.
fn push_text(out: &mut Vec<Inline>, text: &str) {
    if let Some(Inline::T(last)) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(Inline::T(text.to_owned()));
    }
}

/// Appends inlines unwrapped from an element, merging text as [`push_text`].
fn append(out: &mut Vec<Inline>, inlines: Vec<Inline>) {
    for inline in inlines {
        match inline {
            Inline::T(t) => push_text(out, &t),
            other => out.push(other),
        }
    }
}

impl Builder<'_> {
    fn over_budget(&mut self) -> bool {
        self.nodes += 1;
        self.nodes > MAX_NODES
    }

    /// Past [`MAX_NODES`]: the text of the rest of the container, if any,
    /// to be its last node.
    fn rest_over_budget(&mut self) -> Option<String> {
        if !self.over_budget() {
            return None;
        }
        let rest = self.text_to_end();
        (!rest.is_empty()).then_some(rest)
    }

    /// Blocks up to the end of the enclosing container (which is consumed).
    fn blocks(&mut self, depth: usize) -> Vec<Block> {
        let mut out = Vec::new();
        loop {
            if let Some(rest) = self.rest_over_budget() {
                out.push(Block::P(vec![Inline::T(rest)]));
            }
            let Some(event) = self.events.peek() else {
                break;
            };
            if is_inline_event(event) {
                let run = self.inlines(depth, true);
                if !run.is_empty() {
                    out.push(Block::Text(run));
                }
                continue;
            }
            match self.events.next() {
                None | Some(Event::End(_)) => break,
                Some(Event::Rule) => out.push(Block::Hr),
                Some(Event::Start(tag)) => out.push(self.block(tag, depth + 1)),
                Some(_) => {}
            }
        }
        out
    }

    /// The block that `tag` opened (its start is consumed, its end will be).
    fn block(&mut self, tag: Tag<'_>, depth: usize) -> Block {
        if depth >= MAX_DEPTH {
            return Block::Text(vec![Inline::T(self.flatten())]);
        }
        match tag {
            Tag::Paragraph => Block::P(self.inlines(depth, false)),
            Tag::Heading { level, .. } => Block::H(level as u8, self.inlines(depth, false)),
            Tag::BlockQuote(_) => Block::Quote(self.blocks(depth)),
            Tag::CodeBlock(kind) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    CodeBlockKind::Indented => String::new(),
                };
                let text = self.flatten();
                // Highlighted here, once, so the page carries no grammars.
                let spans = crate::highlight::spans(&lang, &text).unwrap_or_default();
                Block::Code(CodeBlock { lang, text, spans })
            }
            Tag::List(start) => {
                let items = self.items(depth);
                match start {
                    Some(first) => Block::Ol(first, items),
                    None => Block::Ul(items),
                }
            }
            Tag::Table(_) => Block::Table(self.table(depth)),
            // Raw HTML blocks: shown as the text they are.
            Tag::HtmlBlock => Block::Text(vec![Inline::T(self.flatten())]),
            // Footnote bodies, definition lists, metadata: not enabled, or
            // shown as their plain content.
            _ => Block::P(vec![Inline::T(self.flatten())]),
        }
    }

    fn items(&mut self, depth: usize) -> Vec<Item> {
        let mut items = Vec::new();
        loop {
            if let Some(rest) = self.rest_over_budget() {
                items.push(Item {
                    task: None,
                    body: vec![Block::Text(vec![Inline::T(rest)])],
                });
            }
            match self.events.next() {
                None | Some(Event::End(_)) => break,
                Some(Event::Start(Tag::Item)) => {
                    let outer = self.task.take();
                    let body = self.blocks(depth + 1);
                    let task = std::mem::replace(&mut self.task, outer);
                    items.push(Item { task, body });
                }
                Some(Event::Start(_)) => {
                    self.flatten();
                }
                Some(_) => {}
            }
        }
        items
    }

    fn table(&mut self, depth: usize) -> Table {
        let mut table = Table::default();
        loop {
            if let Some(rest) = self.rest_over_budget() {
                table.rows.push(vec![vec![Inline::T(rest)]]);
            }
            match self.events.next() {
                None | Some(Event::End(_)) => break,
                Some(Event::Start(Tag::TableHead)) => table.head = self.cells(depth),
                Some(Event::Start(Tag::TableRow)) => {
                    let row = self.cells(depth);
                    table.rows.push(row);
                }
                Some(Event::Start(_)) => {
                    self.flatten();
                }
                Some(_) => {}
            }
        }
        table
    }

    fn cells(&mut self, depth: usize) -> Vec<Vec<Inline>> {
        let mut cells = Vec::new();
        loop {
            if let Some(rest) = self.rest_over_budget() {
                cells.push(vec![Inline::T(rest)]);
            }
            match self.events.next() {
                None | Some(Event::End(_)) => break,
                Some(Event::Start(Tag::TableCell)) => cells.push(self.inlines(depth + 1, false)),
                Some(Event::Start(_)) => {
                    self.flatten();
                }
                Some(_) => {}
            }
        }
        cells
    }

    /// Inline content. `run`: a run inside a block container (a tight list
    /// item's text), which stops before the next block or the container's
    /// end; otherwise the content of an element whose end is consumed.
    fn inlines(&mut self, depth: usize, run: bool) -> Vec<Inline> {
        let mut out = Vec::new();
        loop {
            if self.over_budget() {
                let rest = if run {
                    self.inline_text_run()
                } else {
                    self.text_to_end()
                };
                push_text(&mut out, &rest);
            }
            let Some(event) = self.events.peek() else {
                break;
            };
            if run && !is_inline_event(event) {
                break;
            }
            match self.events.next() {
                None => break,
                Some(Event::End(_)) => break,
                Some(Event::Text(t)) => push_text(&mut out, &t),
                Some(Event::Code(c)) => out.push(Inline::Code(c.into_string())),
                Some(
                    Event::Html(t)
                    | Event::InlineHtml(t)
                    | Event::InlineMath(t)
                    | Event::DisplayMath(t),
                ) => push_text(&mut out, &t),
                Some(Event::FootnoteReference(name)) => push_text(&mut out, &format!("[{name}]")),
                Some(Event::SoftBreak) => push_text(&mut out, "\n"),
                Some(Event::HardBreak) => out.push(Inline::Br),
                Some(Event::TaskListMarker(done)) => self.task = Some(done),
                Some(Event::Rule) => {}
                Some(Event::Start(tag)) => self.inline(tag, depth + 1, &mut out),
            }
        }
        out
    }

    /// The inline element that `tag` opened, appended to `out`.
    fn inline(&mut self, tag: Tag<'_>, depth: usize, out: &mut Vec<Inline>) {
        if depth >= MAX_DEPTH || !is_inline(&tag) {
            let text = self.flatten();
            push_text(out, &text);
            return;
        }
        match tag {
            Tag::Emphasis => out.push(Inline::Em(self.inlines(depth, false))),
            Tag::Strong => out.push(Inline::B(self.inlines(depth, false))),
            Tag::Strikethrough => out.push(Inline::Del(self.inlines(depth, false))),
            Tag::Link {
                dest_url, title, ..
            } => {
                let body = self.inlines(depth, false);
                self.link(out, &dest_url, title.into_string(), body, false);
            }
            Tag::Image {
                dest_url, title, ..
            } => {
                let body = self.inlines(depth, false);
                self.link(out, &dest_url, title.into_string(), body, true);
            }
            // Super/subscript (not enabled): their content.
            _ => {
                let content = self.inlines(depth, false);
                append(out, content);
            }
        }
    }

    /// A link (or an image) to `url` showing `body`, appended to `out`.
    /// An image on a host the relay allows gets the relay's address for it
    /// ([`ImageLinks::src`]); other images stay links.
    fn link(
        &self,
        out: &mut Vec<Inline>,
        url: &str,
        title: String,
        body: Vec<Inline>,
        image: bool,
    ) {
        if !is_safe_url(url) {
            // Not a link: its text alone.
            append(out, body);
            return;
        }
        let img = match self.images {
            Some(images) if image => images.src(url).unwrap_or_default(),
            _ => String::new(),
        };
        out.push(Inline::A(Link {
            href: url.trim().to_owned(),
            title,
            body,
            img,
        }));
    }

    /// The text of everything up to the end of the element whose start was
    /// just consumed; the end is consumed too.
    fn flatten(&mut self) -> String {
        let text = self.text_to_end();
        self.events.next();
        text
    }

    /// The text of everything up to (not including) the end of the
    /// enclosing element, without recursion however deep it nests.
    fn text_to_end(&mut self) -> String {
        let mut text = String::new();
        let mut open = 0usize;
        while let Some(event) = self.events.peek() {
            if matches!(event, Event::End(_)) {
                if open == 0 {
                    break;
                }
                open -= 1;
            }
            let Some(event) = self.events.next() else {
                break;
            };
            match event {
                Event::Start(_) => open += 1,
                Event::End(_) => text.push(' '),
                other => text.push_str(event_text(&other)),
            }
        }
        text
    }

    /// The text of the rest of an inline run (up to the next block or end).
    fn inline_text_run(&mut self) -> String {
        let mut text = String::new();
        while self.events.peek().is_some_and(is_inline_event) {
            match self.events.next() {
                Some(Event::Start(_)) => text.push_str(&self.flatten()),
                Some(other) => text.push_str(event_text(&other)),
                None => break,
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain text of inlines.
    fn plain_text(inlines: &[Inline]) -> String {
        inlines
            .iter()
            .map(|inline| match inline {
                Inline::T(t) | Inline::Code(t) => t.clone(),
                Inline::Em(c) | Inline::B(c) | Inline::Del(c) => plain_text(c),
                Inline::A(link) => plain_text(&link.body),
                Inline::Br => "\n".into(),
            })
            .collect()
    }

    fn t(s: &str) -> Inline {
        Inline::T(s.into())
    }

    #[test]
    fn common_markdown() {
        assert_eq!(parse("# Title"), vec![Block::H(1, vec![t("Title")])]);
        assert_eq!(
            parse("Some *em* and **strong** and `code`"),
            vec![Block::P(vec![
                t("Some "),
                Inline::Em(vec![t("em")]),
                t(" and "),
                Inline::B(vec![t("strong")]),
                t(" and "),
                Inline::Code("code".into()),
            ])]
        );
        assert_eq!(
            parse("- a\n- b"),
            vec![Block::Ul(vec![
                Item {
                    task: None,
                    body: vec![Block::Text(vec![t("a")])]
                },
                Item {
                    task: None,
                    body: vec![Block::Text(vec![t("b")])]
                },
            ])]
        );
        assert!(matches!(&parse("3. c\n4. d")[..], [Block::Ol(3, items)] if items.len() == 2));
        assert_eq!(
            parse("~~gone~~"),
            vec![Block::P(vec![Inline::Del(vec![t("gone")])])]
        );
        assert_eq!(
            parse("| a | b |\n|---|---|\n| 1 | 2 |"),
            vec![Block::Table(Table {
                head: vec![vec![t("a")], vec![t("b")]],
                rows: vec![vec![vec![t("1")], vec![t("2")]]],
            })]
        );
        assert_eq!(
            parse("a\\\nb")[0],
            Block::P(vec![t("a"), Inline::Br, t("b")])
        );
        assert_eq!(parse("a\nb")[0], Block::P(vec![t("a\nb")]));
        assert_eq!(parse("---"), vec![Block::Hr]);
        assert_eq!(
            parse("> quoted"),
            vec![Block::Quote(vec![Block::P(vec![t("quoted")])])]
        );
    }

    #[test]
    fn plain_one_line_texts_need_no_tree() {
        assert_eq!(parse_some(""), None);
        assert_eq!(parse_some("echo: hi there"), None);
        assert_eq!(parse_some("Größe: 3 × 4 = 12!"), None);
        // Anything markdown changes keeps its tree: markup, escapes,
        // entities, surrounding spaces, line breaks.
        for md in [
            "echo: **hi**",
            "a \\* b",
            "a &amp; b",
            " padded",
            "two\nlines",
            "# heading",
        ] {
            assert!(parse_some(md).is_some(), "{md:?}");
        }
        // Inline HTML and bare URLs are text in the tree too: no tree needed.
        assert_eq!(parse_some("<b>html</b>"), None);
        assert_eq!(parse_some("see https://n8n.io"), None);
    }

    #[test]
    fn task_lists_and_nested_lists() {
        let doc = parse("- [x] done\n- [ ] open\n  - inner");
        let [Block::Ul(items)] = &doc[..] else {
            panic!("{doc:?}");
        };
        assert_eq!(items[0].task, Some(true));
        assert_eq!(items[1].task, Some(false));
        assert!(
            matches!(&items[1].body[..], [Block::Text(_), Block::Ul(inner)] if inner[0].task.is_none())
        );
    }

    #[test]
    fn code_blocks_keep_their_text_and_language() {
        assert_eq!(
            parse("```rust\nlet a = 1 < 2;\n```"),
            vec![Block::Code(CodeBlock {
                lang: "rust".into(),
                text: "let a = 1 < 2;\n".into(),
                spans: crate::highlight::spans("rust", "let a = 1 < 2;\n").expect("spans"),
            })]
        );
        assert_eq!(
            parse("    indented"),
            vec![Block::Code(CodeBlock {
                lang: String::new(),
                text: "indented".into(),
                spans: Vec::new(),
            })]
        );
    }

    /// Whether `blocks` hold a code block with highlighted spans, at any depth.
    fn has_highlighted_code(blocks: &[Block]) -> bool {
        blocks.iter().any(|block| match block {
            Block::Code(code) => !code.spans.is_empty(),
            Block::Quote(inner) => has_highlighted_code(inner),
            Block::Ul(items) | Block::Ol(_, items) => {
                items.iter().any(|item| has_highlighted_code(&item.body))
            }
            _ => false,
        })
    }

    /// Fences inside quotes and list items are code blocks too: every text
    /// whose tree has highlighted code must be one that
    /// [`crate::highlight::may_have_code`] sends off the async threads.
    #[test]
    fn every_highlighted_block_is_foreseen_by_may_have_code() {
        for text in [
            "```rust\nfn main() {}\n```",
            "> ```rust\n> fn main() {}\n> ```",
            "- ```python\n  x = 1\n  ```",
            "1. ~~~js\n   let a = 1;\n   ~~~",
            "- > ````rust\n  > let a = 1;\n  > ````",
            "> - item\n>\n>   ```&#114;ust\n>   let a = 1;\n>   ```",
        ] {
            assert!(has_highlighted_code(&parse(text)), "highlighted: {text}");
            assert!(crate::highlight::may_have_code(text), "foreseen: {text}");
        }
    }

    #[test]
    fn links_keep_safe_targets_and_titles() {
        assert_eq!(
            parse("[n8n](https://n8n.io \"site\")"),
            vec![Block::P(vec![Inline::A(Link {
                href: "https://n8n.io".into(),
                title: "site".into(),
                body: vec![t("n8n")],
                img: String::new(),
            })])]
        );
        assert_eq!(
            parse("<https://example.com/a?b=1&c=2>"),
            vec![Block::P(vec![Inline::A(Link {
                href: "https://example.com/a?b=1&c=2".into(),
                title: String::new(),
                body: vec![t("https://example.com/a?b=1&c=2")],
                img: String::new(),
            })])]
        );
    }

    #[test]
    fn raw_html_is_text() {
        assert_eq!(
            parse("<img src=x onerror=alert(1)>"),
            vec![Block::Text(vec![t("<img src=x onerror=alert(1)>")])]
        );
        assert_eq!(
            parse("hi <script>alert(1)</script> there"),
            vec![Block::P(vec![t("hi <script>alert(1)</script> there")])]
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
            assert_eq!(parse(md), vec![Block::P(vec![t("click")])], "{md}");
        }
        assert_eq!(
            parse("<javascript:alert(1)>"),
            vec![Block::P(vec![t("javascript:alert(1)")])]
        );
    }

    #[test]
    fn images_from_allowed_hosts_become_the_relays_images() {
        let images = ImageLinks::new(&["img.example".into()], Some("0123456789abcdef"));
        let doc = parse_with(
            "![a cat](https://img.example/cat.png \"Cat\") ![x](https://other.example/x.png) [link](https://img.example/page)",
            Some(&images),
        );
        let [Block::P(inlines)] = &doc[..] else {
            panic!("{doc:?}");
        };
        let links: Vec<&Link> = inlines
            .iter()
            .filter_map(|i| match i {
                Inline::A(link) => Some(link),
                _ => None,
            })
            .collect();
        assert_eq!(links.len(), 3);
        assert_eq!(links[0].body, vec![t("a cat")], "alt text kept");
        assert_eq!(links[0].title, "Cat");
        assert_eq!(links[0].href, "https://img.example/cat.png");
        assert!(
            shared::rich_text::is_image_src(&links[0].img),
            "{}",
            links[0].img
        );
        assert_eq!(links[1].img, "", "other hosts stay links");
        assert_eq!(links[2].img, "", "links to an allowed host stay links");
    }

    #[test]
    fn images_become_links() {
        assert_eq!(
            parse("![a cat](https://img.example/cat.png)"),
            vec![Block::P(vec![Inline::A(Link {
                href: "https://img.example/cat.png".into(),
                title: String::new(),
                body: vec![t("a cat")],
                img: String::new(),
            })])]
        );
        assert_eq!(
            parse("![x](javascript:alert(1))"),
            vec![Block::P(vec![t("x")])]
        );
    }

    fn depth_of_blocks(blocks: &[Block]) -> usize {
        blocks.iter().map(depth_of_block).max().unwrap_or(0)
    }

    fn depth_of_block(block: &Block) -> usize {
        1 + match block {
            Block::P(i) | Block::Text(i) | Block::H(_, i) => depth_of_inlines(i),
            Block::Quote(b) => depth_of_blocks(b),
            Block::Ul(items) | Block::Ol(_, items) => items
                .iter()
                .map(|item| 1 + depth_of_blocks(&item.body))
                .max()
                .unwrap_or(0),
            Block::Table(table) => table
                .head
                .iter()
                .chain(table.rows.iter().flatten())
                .map(|c| depth_of_inlines(c))
                .max()
                .unwrap_or(0),
            Block::Code(_) | Block::Hr => 0,
        }
    }

    fn depth_of_inlines(inlines: &[Inline]) -> usize {
        inlines
            .iter()
            .map(|i| match i {
                Inline::Em(c) | Inline::B(c) | Inline::Del(c) => 1 + depth_of_inlines(c),
                Inline::A(link) => 1 + depth_of_inlines(&link.body),
                _ => 1,
            })
            .max()
            .unwrap_or(0)
    }

    fn count(blocks: &[Block]) -> usize {
        serde_json::to_string(blocks)
            .expect("json")
            .matches('{')
            .count()
    }

    #[test]
    fn deep_nesting_is_flattened_and_still_decodes_on_the_page() {
        for md in [
            format!("{}deep", "> ".repeat(5_000)),
            format!("{}deep", "- ".repeat(5_000)),
            format!("{}deep{}", "*a ".repeat(3_000), " a*".repeat(3_000)),
            format!(
                "{}deep{}",
                "[".repeat(3_000),
                "](https://x.example)".repeat(3_000)
            ),
            "1. ".repeat(2_000),
        ] {
            let doc = parse(&md);
            assert!(
                depth_of_blocks(&doc) <= MAX_DEPTH + 2,
                "depth {}",
                depth_of_blocks(&doc)
            );
            // Decoded as the page does: serde_json with its default
            // recursion limit.
            let json = serde_json::to_string(&doc).expect("json");
            let back: Result<Doc, _> = serde_json::from_str(&json);
            assert!(back.is_ok(), "{:?}", back.err());
            // Nothing is lost: the innermost text is still there.
            if md.contains("deep") {
                assert!(json.contains("deep"));
            }
        }
    }

    #[test]
    fn the_node_count_is_bounded_and_the_rest_is_text() {
        let md = "*a* ".repeat(MAX_NODES * 2);
        let doc = parse(&md);
        let nodes = count(&doc);
        assert!(nodes <= MAX_NODES + MAX_DEPTH * 2, "{nodes} nodes");
        let [Block::P(inlines)] = &doc[..] else {
            panic!("one paragraph");
        };
        // The text past the bound is all there, unformatted.
        assert_eq!(plain_text(inlines).matches('a').count(), MAX_NODES * 2);

        let list = "- x\n".repeat(MAX_NODES * 2);
        let nodes = count(&parse(&list));
        assert!(nodes <= MAX_NODES + MAX_DEPTH * 2, "{nodes} nodes");

        let table = format!("| a |\n|---|\n{}", "| x |\n".repeat(MAX_NODES * 2));
        let nodes = count(&parse(&table));
        assert!(nodes <= MAX_NODES + MAX_DEPTH * 2, "{nodes} nodes");
    }

    fn hrefs(blocks: &[Block], out: &mut Vec<String>) {
        fn inl(inlines: &[Inline], out: &mut Vec<String>) {
            for i in inlines {
                match i {
                    Inline::Em(c) | Inline::B(c) | Inline::Del(c) => inl(c, out),
                    Inline::A(link) => {
                        out.push(link.href.clone());
                        inl(&link.body, out);
                    }
                    _ => {}
                }
            }
        }
        for b in blocks {
            match b {
                Block::P(i) | Block::Text(i) | Block::H(_, i) => inl(i, out),
                Block::Quote(b) => hrefs(b, out),
                Block::Ul(items) | Block::Ol(_, items) => {
                    items.iter().for_each(|item| hrefs(&item.body, out))
                }
                Block::Table(table) => table
                    .head
                    .iter()
                    .chain(table.rows.iter().flatten())
                    .for_each(|c| inl(c, out)),
                Block::Code(_) | Block::Hr => {}
            }
        }
    }

    /// The first link target in `doc` that is not an absolute http(s) or
    /// mailto URL.
    fn unsafe_link(doc: &[Block]) -> Option<String> {
        let mut found = Vec::new();
        hrefs(doc, &mut found);
        found.into_iter().find(|href| !is_safe_url(href))
    }

    proptest::proptest! {
        /// Whatever the input, every link target is an absolute http(s) or
        /// mailto URL, and the tree decodes as the page decodes it.
        #[test]
        fn only_safe_links(input in "\\PC{0,300}") {
            let doc = parse(&input);
            proptest::prop_assert_eq!(unsafe_link(&doc), None, "from {:?}", input);
            let json = serde_json::to_string(&doc).expect("json");
            proptest::prop_assert!(serde_json::from_str::<Doc>(&json).is_ok());
        }

        /// Markdown-looking input from the same alphabet as real attacks.
        #[test]
        fn only_safe_links_in_link_soup(input in "[\\[\\]()<>!*_`~ a-z:/.\"\\\\\n-]{0,200}") {
            proptest::prop_assert_eq!(unsafe_link(&parse(&input)), None, "from {:?}", input);
        }
    }
}
