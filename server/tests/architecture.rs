//! The relay's shape: imports point one way. No source file uses a module
//! that uses it back, directly or around a longer loop — except the
//! documented one, the `Responder` enum (`responder/mod.rs`) and the
//! responders it chooses between (`responder/echo.rs`, `responder/n8n/`),
//! which share its request and error types.
//!
//! Read from the sources: every `crate::…`, `super::…` and `self::…` path
//! (grouped `use` lists expanded) is resolved to the file of the deepest
//! module it names. `lib.rs` is the crate's map and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module file, by its module path (`["chat", "answer"]`).
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<Vec<String>, PathBuf>) {
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

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths a source uses, as segment lists starting with `crate`,
/// `super` or `self`.
fn paths_in(text: &str) -> Vec<Vec<String>> {
    // Comments are not imports (a `//` after `:` is a URL in a string).
    let code: String = text
        .lines()
        .map(|l| {
            let cut = l
                .match_indices("//")
                .find(|(at, _)| *at == 0 || !l[..*at].ends_with(':'))
                .map_or(l.len(), |(at, _)| at);
            &l[..cut]
        })
        .collect::<Vec<_>>()
        .join("\n");
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| chars[i..].starts_with(&p.chars().collect::<Vec<_>>()));
        let boundary = i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':';
        if let (Some(_), true) = (starts, boundary) {
            let (paths, next) = parse_path(&chars, i);
            out.extend(paths);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

/// Parses `a::b::{c, d::e}` at `i`; returns the expanded paths and the end.
fn parse_path(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    loop {
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        if i > start {
            segments.push(chars[start..i].iter().collect::<String>());
        }
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
            if chars.get(i) == Some(&'{') {
                i += 1;
                let mut all = Vec::new();
                loop {
                    while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                        i += 1;
                    }
                    if i >= chars.len() || chars[i] == '}' {
                        return (all, i + 1);
                    }
                    let (inner, next) = parse_path(chars, i);
                    for tail in inner {
                        let mut p = segments.clone();
                        p.extend(tail);
                        all.push(p);
                    }
                    // A bare item (`Reply`) is a path of one segment.
                    i = if next == i { i + 1 } else { next };
                }
            }
            continue;
        }
        return (vec![segments], i);
    }
}

/// The file of the deepest module `path` (used from `from`) names.
fn resolve(
    from: &[String],
    is_mod_file: bool,
    path: &[String],
    modules: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => {
            let mut b = from.to_vec();
            if !is_mod_file {
                b.pop();
            }
            b
        }
        Some("super") => {
            let mut b = from.to_vec();
            if !is_mod_file {
                b.pop();
            }
            b.pop();
            b
        }
        _ => return None,
    };
    let mut rest = &path[1..];
    while rest.first().map(String::as_str) == Some("super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut best = base.clone();
    let mut cur = base;
    for seg in rest {
        cur.push(seg.clone());
        if modules.contains_key(&cur) {
            best = cur.clone();
        } else {
            break;
        }
    }
    // Re-exports at the root (`crate::AppState`, `crate::Config`, …).
    if best.is_empty() {
        let item = rest.first()?;
        let target = match item.as_str() {
            "AppState" => "state",
            "Config" => "config",
            "RelayError" => "error",
            _ => return None,
        };
        return Some(vec![target.to_owned()]);
    }
    Some(best)
}

fn allowed(a: &[String], b: &[String]) -> bool {
    let responder = |m: &[String]| m.first().map(String::as_str) == Some("responder");
    responder(a) && responder(b)
}

#[test]
fn imports_point_one_way() {
    let modules = modules();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (module, file) in &modules {
        if module.is_empty() {
            continue; // lib.rs, the map
        }
        let text = std::fs::read_to_string(file).expect("source");
        let is_mod_file = file.ends_with("mod.rs");
        for path in paths_in(&text) {
            if let Some(target) = resolve(module, is_mod_file, &path, &modules) {
                if &target != module && !target.is_empty() {
                    graph.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    assert!(
        modules.len() > 40 && graph.len() > 20,
        "the scan found too little: {} modules, {} importing",
        modules.len(),
        graph.len()
    );
    // Every cycle, by depth-first search from each module.
    let mut cycles = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, trail)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    let members: Vec<Vec<String>> = trail.clone();
                    let ok = members
                        .iter()
                        .all(|m| members.iter().all(|n| allowed(m, n)));
                    if !ok {
                        let mut names: Vec<String> = members.iter().map(|m| m.join("::")).collect();
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
    assert!(cycles.is_empty(), "import cycles:\n{cycles:#?}");
}

#[test]
fn the_scanner_reads_grouped_and_relative_paths() {
    let paths = paths_in("use super::{answer, takeover::Watching, Reply};\nlet x = crate::store::Begin::Start; // crate::ignored\n");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "super::answer",
            "super::takeover::Watching",
            "super::Reply",
            "crate::store::Begin::Start"
        ]
    );
}
