//! Syntax highlighting of code blocks, on the relay.
//!
//! Why here: the grammars (syntect's bundled Sublime syntaxes, ~75
//! languages) weigh far more than the page could carry, and every visitor
//! would pay for them; the relay highlights each answer once and sends
//! typed spans ([`shared::rich_text::Span`]) — kinds, never colours, so the
//! page's theme decides how they look.
//!
//! syntect with `fancy-regex` (pure Rust, no oniguruma C library) rather
//! than tree-sitter-highlight: one crate with every grammar bundled, no C
//! compiler in the build, and a backtracking limit in the regex engine.
//!
//! Bounded: a block over [`MAX_BYTES`] or whose highlighting takes longer
//! than [`BUDGET`] is sent unhighlighted (the plain text is always sent),
//! so a pathological answer costs bounded relay CPU.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shared::rich_text::Span;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// The largest code block highlighted (bytes); larger ones are sent as
/// plain text. 16 KiB is a long source file — more than an answer shows
/// to be read. Measured by `cargo xtask bench` (section 3c, release,
/// fancy-regex): about 2.5 ms of CPU per KiB of Rust once the grammar is
/// compiled, so a block at this bound takes some 40 ms, well inside
/// [`BUDGET`]; on a busy machine several times that.
pub const MAX_BYTES: usize = 16 * 1024;

/// The most spans one block is sent with (the page makes one element per
/// span); a block that needs more is sent as plain text.
pub const MAX_SPANS: usize = 4_000;

/// The longest one block may take to highlight; past it, plain text.
/// It includes compiling a grammar's regexes on its first use (0.4–0.7 s
/// on the busy machine above, well under 0.1 s on an idle one), so on a
/// loaded relay a language's first block may be sent plain. Debug builds (the tests' relay) run
/// the regex engine unoptimised, some twenty times slower: they get a
/// larger budget so that a test's first block of a language is not sent
/// plain by chance.
pub const BUDGET: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(3)
} else {
    Duration::from_millis(250)
};

/// How many blocks may be highlighted at once: all cores but one (at
/// least one), so highlighting never takes every core from the sockets.
fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Runs `work` (formatting a text that has code to highlight) on the
/// blocking pool, at most [`permits`] at once.
///
/// Why: highlighting costs about 2.5 ms of CPU per KiB of code (release,
/// `cargo xtask bench` section 3c), up to [`BUDGET`] for one block. Run on
/// an async worker it would stall every socket that worker serves — on a
/// two-core relay half of them — for that long; here only the answer that
/// needs it waits. `None` if the work panicked.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = permits().acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// Whether `markdown` may hold a fenced code block with a language (the
/// only kind highlighted): a run of three or more of ```` ` ```` and `~`
/// followed, on its line, by something other than spaces — the start of
/// an info string. Anywhere, not only at the start of a line: a fence may
/// open inside a quote or a list item (`> ```rust`, `- ~~~js`), and such a
/// block is highlighted like any other. A cheap over-approximation — a
/// false "yes" costs a hop to the blocking pool, never a wrong result — in
/// one pass (each run is skipped whole, so a text of backticks is linear).
pub fn may_have_code(markdown: &str) -> bool {
    let mut rest = markdown;
    while let Some(at) = rest.find(['`', '~']) {
        let run = &rest[at..];
        let after = run.trim_start_matches(['`', '~']);
        if run.len() - after.len() >= 3
            && after
                .trim_start_matches([' ', '\t'])
                .starts_with(|c: char| c != '\n' && c != '\r')
        {
            return true;
        }
        rest = after;
    }
    false
}

/// The bundled grammars, decompressed once on first use (not at start:
/// a relay whose answers have no code never pays for them).
fn syntaxes() -> &'static SyntaxSet {
    static SYNTAXES: OnceLock<SyntaxSet> = OnceLock::new();
    SYNTAXES.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Scope prefixes and the span kind they mean, most specific first; the
/// innermost scope of a piece of text that matches one decides its kind.
const KINDS: &[(&str, &str)] = &[
    ("comment", "com"),
    ("string", "str"),
    ("constant.character", "str"),
    ("constant", "num"),
    ("entity.name.function", "fn"),
    ("support.function", "fn"),
    ("variable.function", "fn"),
    ("entity.name.tag", "tag"),
    ("entity.other.attribute-name", "attr"),
    ("entity.name", "ty"),
    ("support.type", "ty"),
    ("support.class", "ty"),
    ("storage.type", "kw"),
    ("storage", "kw"),
    ("keyword.operator", ""),
    ("keyword", "kw"),
    ("variable.language", "kw"),
];

/// Every span kind the relay sends (the page's theme styles these).
pub fn kinds() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&str> = Vec::new();
    for (_, kind) in KINDS {
        if !kind.is_empty() && !seen.contains(kind) {
            seen.push(kind);
        }
    }
    seen.into_iter()
}

/// [`KINDS`] as parsed scopes.
fn kind_scopes() -> &'static [(Scope, &'static str)] {
    static SCOPES: OnceLock<Vec<(Scope, &'static str)>> = OnceLock::new();
    SCOPES.get_or_init(|| {
        KINDS
            .iter()
            .filter_map(|(prefix, kind)| Some((Scope::new(prefix).ok()?, *kind)))
            .collect()
    })
}

/// Common fence names the bundled grammars do not know by that name.
fn alias(lang: &str) -> &str {
    match lang {
        "ts" | "typescript" | "tsx" | "jsx" | "node" | "javascript" => "js",
        "shell" | "zsh" | "console" | "shellscript" => "bash",
        "py3" | "python3" => "py",
        "golang" => "go",
        "c++" => "cpp",
        "c#" | "csharp" => "cs",
        "yml" => "yaml",
        other => other,
    }
}

/// The kind of text inside `stack`: its innermost scope with a known kind.
fn kind_of(stack: &ScopeStack) -> &'static str {
    for scope in stack.as_slice().iter().rev() {
        for (prefix, kind) in kind_scopes() {
            if prefix.is_prefix_of(*scope) {
                return kind;
            }
        }
    }
    ""
}

/// Appends text of `kind`, merging it into a preceding span of that kind.
fn push(spans: &mut Vec<Span>, kind: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some(Span(last_kind, last_text)) if last_kind == kind => last_text.push_str(text),
        _ => spans.push(Span(kind.to_owned(), text.to_owned())),
    }
}

/// `code` in `lang` as spans whose texts concatenate to `code`; `None`
/// when the language is unknown, the block is over a bound, or nothing in
/// it has a kind (the page then shows the plain text).
pub fn spans(lang: &str, code: &str) -> Option<Vec<Span>> {
    spans_within(lang, code, BUDGET)
}

/// [`spans`] with a time budget (tests use a zero one).
fn spans_within(lang: &str, code: &str, budget: Duration) -> Option<Vec<Span>> {
    let lang = lang.trim().to_ascii_lowercase();
    if lang.is_empty() || code.len() > MAX_BYTES {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(alias(&lang))?;
    let started = Instant::now();
    let mut state = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut spans = Vec::new();
    for line in LinesWithEndings::from(code) {
        if started.elapsed() >= budget {
            tracing::debug!(
                lang,
                bytes = code.len(),
                "highlighting over its time budget"
            );
            return None;
        }
        let ops = state.parse_line(line, set).ok()?;
        let mut at = 0;
        for (offset, op) in ops {
            let offset = offset.min(line.len());
            if offset > at {
                push(&mut spans, kind_of(&stack), line.get(at..offset)?);
                at = offset;
            }
            stack.apply(&op).ok()?;
        }
        push(&mut spans, kind_of(&stack), line.get(at..)?);
        if spans.len() > MAX_SPANS {
            return None;
        }
    }
    spans
        .iter()
        .any(|Span(kind, _)| !kind.is_empty())
        .then_some(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_with_a_language_is_recognised_cheaply() {
        assert!(may_have_code("Here:\n```rust\nfn main() {}\n```"));
        assert!(may_have_code("  ~~~ python\nx = 1\n~~~"));
        // Inside containers: a quote, list items, both.
        assert!(may_have_code("> ```rust\n> fn main() {}\n> ```"));
        assert!(may_have_code("- ```python\n  x = 1\n  ```"));
        assert!(may_have_code("1. ~~~js\n   let a = 1;\n   ~~~"));
        assert!(may_have_code("- > ````rust\n  > let a = 1;\n  > ````"));
        assert!(!may_have_code("```\nno language\n```"));
        assert!(!may_have_code(
            "inline `code` and ``a`` ending a line ```\nx"
        ));
        assert!(!may_have_code("plain words"));
        // One pass: a megabyte of backticks is one run, looked at once.
        assert!(!may_have_code(&"`".repeat(1 << 20)));
    }

    /// The work runs elsewhere: the future is not ready on its first poll
    /// (inline work would be), and it brings the result back.
    #[tokio::test(flavor = "current_thread")]
    async fn highlighting_runs_off_the_async_thread() {
        use futures_util::FutureExt as _;
        let code = "fn main() { let x = 1; }\n".repeat(200);
        let mut work = Box::pin(off_thread(move || spans("rust", &code)));
        assert!((&mut work).now_or_never().is_none(), "ran inline");
        let spans = work.await.flatten().expect("spans");
        assert!(spans.iter().any(|s| s.0 == "kw"));
    }

    fn text_of(spans: &[Span]) -> String {
        spans.iter().map(|Span(_, t)| t.as_str()).collect()
    }

    fn kind(spans: &[Span], text: &str) -> String {
        spans
            .iter()
            .find(|Span(_, t)| t.trim() == text)
            .map(|Span(k, _)| k.clone())
            .unwrap_or_else(|| panic!("no span {text:?} in {spans:?}"))
    }

    #[test]
    fn rust_gets_keywords_strings_numbers_comments() {
        let code = "// hi\nfn main() {\n    let s = \"x\";\n    let n = 42;\n}\n";
        let spans = spans("rust", code).expect("highlighted");
        assert_eq!(text_of(&spans), code, "nothing lost or added");
        assert_eq!(kind(&spans, "// hi"), "com");
        assert_eq!(kind(&spans, "fn"), "kw");
        assert_eq!(kind(&spans, "main"), "fn");
        assert_eq!(kind(&spans, "\"x\""), "str");
        assert_eq!(kind(&spans, "42"), "num");
        // Adjacent text of one kind is one span.
        assert!(spans.windows(2).all(|w| w[0].0 != w[1].0), "{spans:?}");
    }

    /// The e2e contrast check (experience x5) needs every kind on screen
    /// from these two blocks.
    #[test]
    fn two_small_blocks_show_every_kind() {
        let mut found: Vec<String> = Vec::new();
        for (lang, code) in [
            (
                "rust",
                "// note\nfn main() { let s: String = \"x\"; let n = 4; }\n",
            ),
            ("html", "<a href=\"x\">y</a>\n"),
        ] {
            for Span(kind, _) in spans(lang, code).expect("spans") {
                found.push(kind);
            }
        }
        for kind in kinds() {
            assert!(found.iter().any(|k| k == kind), "{kind} in {found:?}");
        }
    }

    #[test]
    fn fence_names_and_aliases() {
        for lang in [
            "python",
            "py",
            "JS",
            "typescript",
            "json",
            "bash",
            "sh",
            "sql",
            "html",
        ] {
            assert!(
                spans(lang, "x = \"a\" # 1\n").is_some() || spans(lang, "<a href=\"x\">").is_some(),
                "{lang}"
            );
        }
        let html = spans("html", "<a href=\"x\">hi</a>").expect("html");
        assert_eq!(kind(&html, "a"), "tag");
        assert_eq!(kind(&html, "href"), "attr");
    }

    #[test]
    fn unknown_languages_and_plain_text_get_no_spans() {
        assert_eq!(spans("klingon", "fn main() {}"), None);
        assert_eq!(spans("", "fn main() {}"), None);
        assert_eq!(spans("text", "just words"), None);
    }

    #[test]
    fn blocks_over_the_bounds_are_plain() {
        let big = "let a = 1;\n".repeat(MAX_BYTES / 11 + 1);
        // (About 4 spans a line: 1 490 lines are over MAX_SPANS.)
        assert!(big.len() > MAX_BYTES);
        assert_eq!(spans("rust", &big), None);
        let fits = &big[..MAX_BYTES - MAX_BYTES % 11];
        // Under the size bound but over the span bound (5 spans a line).
        assert!(fits.len() <= MAX_BYTES);
        assert_eq!(spans("rust", fits), None, "over MAX_SPANS");
        assert!(spans("rust", &"let a = 1;\n".repeat(50)).is_some());
        // Over the time budget.
        assert_eq!(spans_within("rust", "let a = 1;\n", Duration::ZERO), None);
    }

    #[test]
    fn kinds_are_a_small_fixed_set_of_class_names() {
        let kinds: Vec<_> = kinds().collect();
        assert_eq!(
            kinds,
            ["com", "str", "num", "fn", "tag", "attr", "ty", "kw"]
        );
        assert!(kinds
            .iter()
            .all(|k| k.bytes().all(|b| b.is_ascii_lowercase())));
    }
}
