//! The page build without needless rewrites of `dist/`.
//!
//! `server/build.rs` (with `--features embed-page`) watches `dist/` with
//! `cargo:rerun-if-changed=<dir>`: cargo reruns the build script — and then
//! recompiles and relinks the relay, about 1.5 minutes in release — as soon
//! as any file in that directory is newer than its last run. trunk clears
//! and rewrites its output directory on every build, even when not one byte
//! changes. So trunk builds into a staging directory, and only the files
//! whose bytes differ are copied into `dist/` (and files trunk no longer
//! makes are deleted): an unchanged page leaves every mtime in `dist/` as
//! it was, and a second `cargo xtask run` starts in seconds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cmd::{self, Result};
use crate::tools::Toolchain;

/// Builds the release page with trunk into `target/page-stage`, then brings
/// `dist/` up to date with it (see the module docs). Returns `dist/`.
pub fn build_page(tools: &Toolchain) -> Result<PathBuf> {
    let stage = cmd::root().join("target").join("page-stage");
    let dist = cmd::root().join("dist");
    cmd::run(
        cmd::program("trunk")
            .args(["build", "--release", "--offline", "--dist"])
            .arg(&stage)
            .env("PATH", tools.path_env()),
    )?;
    let changed = sync(&stage, &dist)?;
    if changed.is_empty() {
        eprintln!("  dist/: unchanged");
    } else {
        eprintln!("  dist/: {} updated: {}", changed.len(), changed.join(", "));
    }
    Ok(dist)
}

/// Makes `to` hold exactly the files of `from`, writing only files whose
/// bytes differ and deleting the rest. Returns the paths (relative, `/`
/// separated) it wrote or deleted.
pub fn sync(from: &Path, to: &Path) -> Result<Vec<String>> {
    let wanted = files_under(from)?;
    let present = if to.is_dir() {
        files_under(to)?
    } else {
        BTreeSet::new()
    };
    let mut changed = Vec::new();
    for rel in &wanted {
        let source = from.join(rel);
        let target = to.join(rel);
        let bytes =
            std::fs::read(&source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
        if std::fs::read(&target).is_ok_and(|old| old == bytes) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&target, &bytes)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        changed.push(slashed(rel));
    }
    for rel in present.difference(&wanted) {
        let target = to.join(rel);
        std::fs::remove_file(&target)
            .map_err(|e| format!("cannot delete {}: {e}", target.display()))?;
        changed.push(format!("{} (deleted)", slashed(rel)));
    }
    remove_empty_dirs(to);
    Ok(changed)
}

/// Every file below `dir`, relative to it, but for hidden ones.
fn files_under(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut files = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|e| format!("cannot list {}: {e}", current.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot list {}: {e}", current.display()))?;
            let path = entry.path();
            // trunk's own bookkeeping (`.trunk-lock`, `.stage`), which the
            // relay does not serve either: neither copied nor deleted.
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                files.insert(rel.to_path_buf());
            }
        }
    }
    Ok(files)
}

/// Deletes directories below `dir` left empty by `sync` (not `dir` itself).
fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_empty_dirs(&path);
            // Fails (and is meant to) unless empty.
            let _ = std::fs::remove_dir(&path);
        }
    }
}

fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-stage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn only_changed_files_are_written_and_stale_ones_deleted() {
        let (from, to) = (temp("from"), temp("to"));
        write(&from.join("index.html"), "page");
        write(&from.join("snippets/a.js"), "a");
        write(&from.join(".trunk-lock"), "");
        assert_eq!(
            sync(&from, &to).expect("first sync"),
            ["index.html", "snippets/a.js"]
        );
        let mtime = |p: &Path| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .expect("mtime")
        };
        let before = mtime(&to.join("index.html"));
        // Rewritten with the same bytes, as trunk does: nothing to do.
        write(&from.join("index.html"), "page");
        assert!(sync(&from, &to).expect("sync").is_empty());
        assert_eq!(mtime(&to.join("index.html")), before);
        // A changed file is written, a vanished one deleted with its dir.
        write(&from.join("index.html"), "new page");
        std::fs::remove_dir_all(from.join("snippets")).expect("rm");
        assert_eq!(
            sync(&from, &to).expect("sync"),
            ["index.html", "snippets/a.js (deleted)"]
        );
        assert_eq!(
            std::fs::read_to_string(to.join("index.html")).expect("read"),
            "new page"
        );
        assert!(!to.join("snippets").exists());
        let _ = std::fs::remove_dir_all(&from);
        let _ = std::fs::remove_dir_all(&to);
    }
}
