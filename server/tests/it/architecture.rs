//! The relay's shape, checked on every `cargo test`: imports point one way.
//!
//! **Folders in layers.** Each top-level module of `server/src` (a folder
//! such as `chat/`, or a file such as `redact.rs`) sits in a layer, and a
//! file may use another folder only in a layer below its own:
//!
//! ```text
//! http  →  ws  →  state  →  config  →  chat  →  {responder, store, uploads}  →  leaves
//! ```
//!
//! Leaves are everything else (`admission`, `markdown`, `redact`, `page`,
//! `shutdown`, `logging`, `error`, `clock`, `frame`, `outbox`, and any new
//! module until it is placed here); they may use each other as long as no two use each other
//! (no cycle between folders). `state` (`AppState`, what the routes and
//! connections share) may be used only by the edge — `http`, `ws` — and by
//! `lib.rs`/`main.rs`, which wire everything and are not checked. Inside a
//! folder anything goes, except a cycle between files (below).
//!
//! **The flags stay at the top.** `config` (the clap flag structs) sits
//! above the core: the core folders and the leaves never see a flag
//! struct, they take their own small settings types (`responder::n8n::ClientSettings`,
//! `uploads::Settings`, `chat::quotas::Settings`, …), built once from the
//! flags by the wiring or by `config` itself — which may therefore import
//! the core's types, never the other way round. A test in the core builds
//! the settings type, not the flags.
//!
//! **Files without cycles.** No source file uses a module that uses it back,
//! directly or around a longer loop — except the documented one, the
//! `Responder` enum (`responder/mod.rs`) and the responders it chooses
//! between (`responder/echo.rs`, `responder/n8n/`), which share its request
//! and error types.
//!
//! **A ratchet.** The test fails on any violation not listed in
//! [`KNOWN_VIOLATIONS`] (or cycle not in [`KNOWN_CYCLES`]), and on any
//! listed one that no longer occurs: the lists only shrink. Both are empty
//! now — the layering holds everywhere.
//!
//! The sources are read as Rust with `syn`: every `use` tree (groups
//! expanded), every path in code, types and patterns, and `crate::`/
//! `super::`/`self::` paths inside macro calls. `super` and `self` are
//! resolved against the module the code is in (inline `mod tests` blocks
//! included), a bare first segment naming a child module (`run::hold` in
//! `chat/mod.rs`) against that child, and the root's re-exports
//! (`crate::AppState`) against `lib.rs`'s `pub use` items.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// Known (file → folder) imports that break a rule. Empty since the
/// `AppState` hub was dissolved (the chat core takes `chat::core::Chat`);
/// it stays as the ratchet's mechanism: never add to it to make a new
/// import pass — fix the import.
const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

/// Known file-level cycles (members sorted, as reported). Empty too: the
/// last two (`chat::lifecycle ↔ chat::takeover`, `store::redis::core ↔
/// store::redis::pending`) were broken by moving a type to its user.
const KNOWN_CYCLES: &[&str] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// A module path from the crate root (`["chat", "answer"]`; `[]` is `lib.rs`).
type Module = Vec<String>;

/// Every module file, by its module path. `main.rs` is its own crate.
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(name);
                walk(&path, &p, out);
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let mut p = prefix.to_vec();
                if stem != "mod" && stem != "lib" && stem != "main" {
                    p.push(stem.to_owned());
                }
                if stem != "main" {
                    out.insert(p, path);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&src(), &[], &mut out);
    out
}

/// One path the code names, resolved to start at the crate root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    /// In `#[cfg(test)]` code.
    in_test: bool,
    /// From the crate root: `["chat", "answer", "Reply"]`.
    path: Vec<String>,
}

/// Collects every crate-internal path in one file.
struct Collector<'a> {
    modules: &'a BTreeMap<Module, PathBuf>,
    /// The module the code being visited is in: the file's, then any inline
    /// `mod` it is inside.
    here: Module,
    /// Inside a `#[cfg(test)]` module.
    in_test: bool,
    found: Vec<Reference>,
}

impl Collector<'_> {
    /// Resolves `segments` (as written) from `self.here`; `None` for an
    /// outside crate, a local name or a receiver `self`.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?.as_str();
        let (mut base, mut rest) = match first {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (self.here.clone(), &segments[1..]),
            "super" => {
                let mut b = self.here.clone();
                b.pop();
                (b, &segments[1..])
            }
            _ => {
                // A child module of this one, named bare (`run::hold`).
                let mut child = self.here.clone();
                child.push(first.to_owned());
                if segments.len() > 1 && self.modules.contains_key(&child) {
                    (self.here.clone(), segments)
                } else {
                    return None;
                }
            }
        };
        while rest.first().map(String::as_str) == Some("super") {
            base.pop();
            rest = &rest[1..];
        }
        if rest.is_empty() {
            // `self`, `pub(super)`, `use super::{self}`: the module itself.
            return (first != "self" || segments.len() > 1).then_some(base);
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn add(&mut self, line: usize, segments: &[String]) {
        if let Some(path) = self.resolve(segments) {
            self.found.push(Reference {
                line,
                in_test: self.in_test,
                path,
            });
        }
    }

    /// Every path a `use` tree names, groups expanded.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let line = n.ident.span().start().line;
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                self.add(line, &path);
            }
            syn::UseTree::Rename(r) => {
                let line = r.ident.span().start().line;
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                self.add(line, &path);
            }
            syn::UseTree::Glob(g) => {
                let line = g.star_token.span.start().line;
                let path = prefix.clone();
                self.add(line, &path);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    /// `crate::…`, `super::…` and `self::…` paths inside a macro call's
    /// tokens (`matches!(x, crate::store::Verdict::Start)`).
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id)
                    if ["crate", "super", "self"].contains(&id.to_string().as_str())
                        && !is_path_sep(&trees, i.wrapping_sub(2)) =>
                {
                    let line = id.span().start().line;
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while is_path_sep(&trees, j) {
                        match trees.get(j + 2) {
                            Some(TokenTree::Ident(next)) => {
                                segments.push(next.to_string());
                                j += 3;
                            }
                            _ => break,
                        }
                    }
                    if segments.len() > 1 {
                        self.add(line, &segments);
                    }
                    i = j.max(i + 1);
                }
                _ => i += 1,
            }
        }
    }
}

/// `#[cfg(test)]`.
fn is_cfg_test(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("cfg")
        && attr
            .parse_args::<syn::Ident>()
            .is_ok_and(|arg| arg == "test")
}

/// Whether `trees[at..]` starts with `::`.
fn is_path_sep(trees: &[TokenTree], at: usize) -> bool {
    let colon =
        |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    colon(trees.get(at)) && colon(trees.get(at.wrapping_add(1)))
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        if item.leading_colon.is_none() {
            self.use_tree(&mut Vec::new(), &item.tree);
        }
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // `mod x;` is a declaration, not a use; an inline `mod x { … }`
        // is code in module `here::x`.
        if item.content.is_some() {
            let was_test = self.in_test;
            self.in_test |= item.attrs.iter().any(is_cfg_test);
            self.here.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.here.pop();
            self.in_test = was_test;
        }
    }

    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {
        // `pub(crate)`, `pub(super)`, `pub(in crate::chat)`: who may see an
        // item, not what it uses.
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            let line = path.segments[0].ident.span().start().line;
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.add(line, &segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }
}

/// Every crate-internal path in `text`, the source of module `module`.
fn references(
    module: &[String],
    text: &str,
    modules: &BTreeMap<Module, PathBuf>,
) -> Result<Vec<Reference>, syn::Error> {
    let file = syn::parse_file(text)?;
    let mut collector = Collector {
        modules,
        here: module.to_vec(),
        in_test: false,
        found: Vec::new(),
    };
    collector.visit_file(&file);
    Ok(collector.found)
}

/// The root's re-exports (`pub use state::AppState;` → `AppState` →
/// `["state"]`), read from `lib.rs`.
fn root_exports(lib: &str) -> BTreeMap<String, Module> {
    let mut out = BTreeMap::new();
    let Ok(file) = syn::parse_file(lib) else {
        return out;
    };
    fn walk(prefix: &mut Vec<String>, tree: &syn::UseTree, out: &mut BTreeMap<String, Module>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(prefix, &p.tree, out);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                out.insert(n.ident.to_string(), prefix.clone());
            }
            syn::UseTree::Rename(r) => {
                out.insert(r.rename.to_string(), prefix.clone());
            }
            syn::UseTree::Glob(_) => {}
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    walk(prefix, t, out);
                }
            }
        }
    }
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            if matches!(u.vis, syn::Visibility::Public(_)) {
                walk(&mut Vec::new(), &u.tree, &mut out);
            }
        }
    }
    out
}

/// The deepest module `path` names (its file); a root re-export counts as
/// the module it comes from. `[]` is an item of `lib.rs` itself.
fn target(
    path: &[String],
    modules: &BTreeMap<Module, PathBuf>,
    exports: &BTreeMap<String, Module>,
) -> Module {
    let mut best = Vec::new();
    let mut cur = Vec::new();
    for seg in path {
        cur.push(seg.clone());
        if modules.contains_key(&cur) {
            best = cur.clone();
        } else {
            break;
        }
    }
    if best.is_empty() {
        if let Some(from) = path.first().and_then(|item| exports.get(item)) {
            return target(from, modules, &BTreeMap::new());
        }
    }
    best
}

/// The folder (top-level module) of a module; `""` for `lib.rs`.
fn folder(module: &[String]) -> &str {
    module.first().map_or("", String::as_str)
}

/// The layers, top first. Unlisted folders are leaves.
const LAYERS: &[&[&str]] = &[
    &["http"],
    &["ws"],
    &["state"],
    &["config"],
    &["chat"],
    &["responder", "store", "uploads"],
];

/// Higher is nearer the edge; leaves are 0.
fn layer(folder: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&folder))
        .map_or(0, |i| LAYERS.len() - i)
}

const ORDER: &str = "http → ws → state → config → chat → {responder, store, uploads} → leaves";

/// The rule an import from folder `from` of folder `to` breaks, if any.
/// Leaf-to-leaf imports are checked for cycles separately.
fn broken_rule(from: &str, to: &str) -> Option<String> {
    if from == to || from.is_empty() {
        return None;
    }
    if to.is_empty() {
        return Some("lib.rs is the map: nothing uses its own items".into());
    }
    if to == "state" && from != "http" && from != "ws" {
        return Some(format!(
            "only the edge (http, ws) and lib.rs/main.rs may use state; `{from}` may not"
        ));
    }
    let (a, b) = (layer(from), layer(to));
    if to == "config" && b > a {
        return Some(format!(
            "`{from}` may not use `config`: the core and the leaves take their own settings types, converted once from the flags"
        ));
    }
    if b > a {
        return Some(format!(
            "`{from}` may not use `{to}`, a layer above it ({ORDER})"
        ));
    }
    if a == b && a > 0 {
        return Some(format!(
            "`{from}` may not use `{to}`: folders of one layer do not use each other ({ORDER})"
        ));
    }
    None
}

/// One import that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    /// Relative to `server/`.
    file: String,
    line: usize,
    /// The folder used.
    to: String,
    rule: String,
}

/// Every source file read: its module, its path relative to `server/`, and
/// the modules its references name.
struct Scan {
    files: Vec<(Module, String, Vec<Named>)>,
}

/// A module a file names, and where.
#[derive(Debug, Clone)]
struct Named {
    line: usize,
    in_test: bool,
    module: Module,
}

/// `references` resolved to the modules (files) they name.
fn named(
    refs: Vec<Reference>,
    modules: &BTreeMap<Module, PathBuf>,
    exports: &BTreeMap<String, Module>,
) -> Vec<Named> {
    refs.into_iter()
        .map(|r| Named {
            line: r.line,
            in_test: r.in_test,
            module: target(&r.path, modules, exports),
        })
        .collect()
}

fn scan() -> Scan {
    let modules = modules();
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let exports = root_exports(&lib);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("source");
        let refs = references(module, &text, &modules)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
        let named = named(refs, &modules, &exports);
        let rel = file
            .strip_prefix(manifest)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        files.push((module.clone(), rel, named));
    }
    Scan { files }
}

/// Every import in `scan` that breaks a layer rule, and every cycle
/// between leaf folders.
fn violations(scan: &Scan) -> Vec<Violation> {
    let mut out = Vec::new();
    // Leaf folder → leaf folders it uses, with where.
    let mut leaves: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    for (module, file, named) in &scan.files {
        let from = folder(module);
        for n in named {
            let to = folder(&n.module);
            if let Some(rule) = broken_rule(from, to) {
                out.push(Violation {
                    file: file.clone(),
                    line: n.line,
                    to: to.to_owned(),
                    rule,
                });
            } else if from != to && !from.is_empty() && layer(from) == 0 && layer(to) == 0 {
                leaves
                    .entry(from.to_owned())
                    .or_default()
                    .entry(to.to_owned())
                    .or_insert((file.clone(), n.line));
            }
        }
    }
    // Leaves may use leaves, one way only: a use inside a folder cycle
    // breaks the rule.
    for (from, uses) in &leaves {
        for (to, (file, line)) in uses {
            if reaches(&leaves, to, from) {
                out.push(Violation {
                    file: file.clone(),
                    line: *line,
                    to: to.clone(),
                    rule: format!(
                        "leaves `{from}` and `{to}` use each other (a cycle between folders)"
                    ),
                });
            }
        }
    }
    out.sort();
    out
}

/// Whether folder `to` is reachable from `from` in `graph`.
fn reaches<V>(graph: &BTreeMap<String, BTreeMap<String, V>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(node) = stack.pop() {
        if node == to {
            return true;
        }
        if seen.insert(node.clone()) {
            stack.extend(graph.get(&node).into_iter().flat_map(|m| m.keys().cloned()));
        }
    }
    false
}

fn report(list: &[Violation]) -> String {
    list.iter()
        .map(|v| format!("  {}:{} uses `{}` — {}", v.file, v.line, v.to, v.rule))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn folders_are_layered_and_the_known_violations_only_shrink() {
    let scan = scan();
    assert!(
        scan.files.len() > 40,
        "the scan found too little: {} files",
        scan.files.len()
    );
    let found = violations(&scan);
    let known: BTreeSet<(&str, &str)> = KNOWN_VIOLATIONS.iter().copied().collect();
    let new: Vec<Violation> = found
        .iter()
        .filter(|v| !known.contains(&(v.file.as_str(), v.to.as_str())))
        .cloned()
        .collect();
    let occurring: BTreeSet<(&str, &str)> = found
        .iter()
        .map(|v| (v.file.as_str(), v.to.as_str()))
        .collect();
    let gone: Vec<String> = known
        .difference(&occurring)
        .map(|(file, to)| format!("  (\"{file}\", \"{to}\")"))
        .collect();
    let mut problems = Vec::new();
    if !new.is_empty() {
        problems.push(format!(
            "imports that break the layering ({ORDER}):\n{}",
            report(&new)
        ));
    }
    if !gone.is_empty() {
        problems.push(format!(
            "KNOWN_VIOLATIONS lists imports that are gone — remove these lines:\n{}",
            gone.join("\n")
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

fn allowed_cycle(a: &[String], b: &[String]) -> bool {
    let responder = |m: &[String]| m.first().map(String::as_str) == Some("responder");
    responder(a) && responder(b)
}

/// Every file-level cycle (members sorted, joined by ` → `) outside the
/// allowed one. `#[cfg(test)]` code is not counted: a test module using
/// its parent's facade (`crate::Config` in `config/limits.rs`'s tests) is
/// no dependency of the code.
fn cycles(scan: &Scan) -> BTreeSet<String> {
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, _, named) in &scan.files {
        if module.is_empty() {
            continue; // lib.rs, the map
        }
        for n in named.iter().filter(|n| !n.in_test) {
            if &n.module != module && !n.module.is_empty() {
                graph
                    .entry(module.clone())
                    .or_default()
                    .insert(n.module.clone());
            }
        }
    }
    // Every cycle, by depth-first search from each module.
    let mut cycles = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, trail)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    let ok = trail
                        .iter()
                        .all(|m| trail.iter().all(|n| allowed_cycle(m, n)));
                    if !ok {
                        let mut names: Vec<String> = trail.iter().map(|m| m.join("::")).collect();
                        names.sort();
                        cycles.insert(names.join(" → "));
                    }
                } else if !trail.contains(next) && trail.len() < 8 {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    cycles
}

#[test]
fn files_do_not_use_each_other_in_a_cycle_and_the_known_ones_only_shrink() {
    let scan = scan();
    let importing = scan.files.iter().filter(|(_, _, n)| !n.is_empty()).count();
    assert!(
        importing > 20,
        "the scan found too little: {importing} importing"
    );
    let found = cycles(&scan);
    let known: BTreeSet<String> = KNOWN_CYCLES.iter().map(|c| (*c).to_owned()).collect();
    let new: Vec<&String> = found.difference(&known).collect();
    let gone: Vec<&String> = known.difference(&found).collect();
    assert!(
        new.is_empty() && gone.is_empty(),
        "import cycles between files: {new:#?}\nKNOWN_CYCLES lists cycles that are gone — remove them: {gone:#?}"
    );
}

/// The checker itself, on sources made up here: it must see each way a
/// file can name another folder, and report the rule with the line.
mod checker {
    use super::*;

    fn map(names: &[&str]) -> BTreeMap<Module, PathBuf> {
        names
            .iter()
            .map(|n| {
                let m: Module = n
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                (m, PathBuf::new())
            })
            .collect()
    }

    fn paths(module: &str, text: &str) -> Vec<String> {
        let modules = map(&["", "chat", "chat::answer", "chat::run", "store", "ws"]);
        let module: Module = module.split("::").map(str::to_owned).collect();
        references(&module, text, &modules)
            .expect("parses")
            .into_iter()
            .map(|r| format!("{}:{}", r.line, r.path.join("::")))
            .collect()
    }

    #[test]
    fn use_trees_paths_and_macros_are_read_and_resolved() {
        let text = "use super::{answer, run::Watching, Reply};\n\
                    fn f() { let x = crate::store::Verdict::Start; } // crate::not_code\n\
                    fn g() -> bool { matches!(1, self::Here) && assert_eq!(super::super::ws::X, 1) }\n\
                    pub(super) fn h(self) { answer::reply(self.0); let s = \"crate::in_a_string\"; }\n\
                    mod tests { use super::*; use super::super::answer::T; }\n\
                    use std::fmt; use ::chat::Outside;\n";
        assert_eq!(
            paths("chat::run", text),
            [
                "1:chat::answer",
                "1:chat::run::Watching",
                "1:chat::Reply",
                "2:store::Verdict::Start",
                "3:chat::run::Here",
                "3:ws::X",
                "5:chat::run",
                "5:chat::answer::T",
            ],
            "`answer::reply` in chat::run is no child module of run: not a path here"
        );
        assert_eq!(
            paths("chat", "fn f() { run::hold(); other::x(); }"),
            ["1:chat::run::hold"],
            "a child module named bare"
        );
    }

    /// `text` as the source of `module`, scanned against a made-up crate.
    fn scan_of(module: &str, file: &str, text: &str) -> Scan {
        let modules = map(&[
            "",
            "chat",
            "chat::feedback",
            "chat::lifecycle",
            "chat::takeover",
            "ws",
            "ws::heartbeat",
            "state",
            "redact",
            "config",
        ]);
        let exports: BTreeMap<String, Module> =
            [("AppState".to_owned(), vec!["state".to_owned()])].into();
        let module: Module = module.split("::").map(str::to_owned).collect();
        let refs = references(&module, text, &modules).expect("parses");
        Scan {
            files: vec![(module, file.to_owned(), named(refs, &modules, &exports))],
        }
    }

    #[test]
    fn an_upward_import_and_a_use_of_state_below_the_edge_are_reported() {
        let scan = scan_of(
            "chat::feedback",
            "src/chat/feedback.rs",
            "use crate::redact;\n\
             use crate::AppState;\n\
             fn f() -> u64 { serde_json::json!({ \"at\": crate::ws::heartbeat::now_ms() }) }\n",
        );
        let all = violations(&scan);
        let found: Vec<(&str, usize, &str)> = all
            .iter()
            .map(|v| (v.file.as_str(), v.line, v.to.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("src/chat/feedback.rs", 2, "state"),
                ("src/chat/feedback.rs", 3, "ws"),
            ],
            "{}",
            report(&all)
        );
        assert!(all[0].rule.contains("only the edge"), "{}", report(&all));
        assert!(all[1].rule.contains("a layer above"), "{}", report(&all));
        // The edge may use both.
        let edge = scan_of(
            "ws::heartbeat",
            "src/ws/heartbeat.rs",
            "use crate::AppState;\nuse crate::redact;",
        );
        assert_eq!(violations(&edge), []);
    }

    #[test]
    fn leaves_may_use_leaves_one_way_only() {
        assert_eq!(broken_rule("admission", "redact"), None);
        assert_eq!(broken_rule("chat", "redact"), None);
        assert_eq!(broken_rule("http", "state"), None);
        assert_eq!(broken_rule("state", "chat"), None);
        assert!(broken_rule("store", "state").is_some());
        assert!(broken_rule("store", "uploads").is_some());
        assert!(broken_rule("markdown", "chat").is_some());
        assert!(broken_rule("a_new_leaf", "ws").is_some());
        let at = |line, to: &str| Named {
            line,
            in_test: false,
            module: vec![to.to_owned()],
        };
        let scan = Scan {
            files: vec![
                (
                    vec!["markdown".into()],
                    "src/markdown.rs".into(),
                    vec![at(7, "page")],
                ),
                (
                    vec!["page".into()],
                    "src/page/mod.rs".into(),
                    vec![at(9, "markdown")],
                ),
            ],
        };
        let found: Vec<(String, usize)> = violations(&scan)
            .into_iter()
            .map(|v| (v.file, v.line))
            .collect();
        assert_eq!(
            found,
            [
                ("src/markdown.rs".to_owned(), 7),
                ("src/page/mod.rs".to_owned(), 9)
            ]
        );
    }

    #[test]
    fn the_flags_are_seen_only_above_the_core() {
        // The wiring and the edge read the flags; the flags' layer may
        // import the core's settings and value types.
        for from in ["http", "ws", "state"] {
            assert_eq!(broken_rule(from, "config"), None, "{from}");
        }
        for to in ["chat", "responder", "store", "uploads", "redact"] {
            assert_eq!(broken_rule("config", to), None, "{to}");
        }
        // Neither the core nor a leaf sees a flag struct.
        for from in [
            "chat",
            "responder",
            "store",
            "uploads",
            "admission",
            "logging",
        ] {
            let rule = broken_rule(from, "config").unwrap_or_default();
            assert!(rule.contains("own settings types"), "{from}: {rule:?}");
        }
        let scan = scan_of(
            "chat::feedback",
            "src/chat/feedback.rs",
            "#[cfg(test)]\nmod tests { use crate::config::Config; }",
        );
        let found: Vec<(usize, String)> = violations(&scan)
            .into_iter()
            .map(|v| (v.line, v.to))
            .collect();
        assert_eq!(found, [(2, "config".to_owned())], "test code counts too");
    }

    #[test]
    fn a_cycle_between_files_is_found_but_not_one_through_tests() {
        let mut scan = scan_of(
            "chat::lifecycle",
            "src/chat/lifecycle.rs",
            "use super::takeover;",
        );
        let back = scan_of(
            "chat::takeover",
            "src/chat/takeover.rs",
            "#[cfg(test)]\nmod tests { use super::super::lifecycle::start; }",
        );
        scan.files.extend(back.files.clone());
        assert_eq!(cycles(&scan), BTreeSet::new(), "the way back is test code");
        let back = scan_of(
            "chat::takeover",
            "src/chat/takeover.rs",
            "fn f() { super::lifecycle::start(); }",
        );
        scan.files.truncate(1);
        scan.files.extend(back.files);
        assert_eq!(
            cycles(&scan),
            BTreeSet::from(["chat::lifecycle → chat::takeover".to_owned()])
        );
    }
}
