//! The upload directory a relay makes for itself when `--upload-dir` is
//! not given, and the clean-up of those that earlier relays left behind.
//!
//! The directory is removed when the store is dropped — but a relay that
//! is killed (`kill -9`, a crash, the OOM killer) never drops it, and each
//! start makes a new one with a random name, so its files would stay in
//! the temp dir for good. So every relay holds an exclusive lock on a
//! file in its own directory for as long as it runs (the kernel lets go of
//! it however the process ends), and at start removes each
//! `n8n-chat-relay-uploads-*` directory whose lock it can take: nobody
//! holds it, so its relay is gone. A directory another live relay holds
//! (two relays on one machine share the temp dir) stays.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name every such directory starts with.
const PREFIX: &str = "n8n-chat-relay-uploads-";

/// The lock file in each directory (no upload is named like it: theirs
/// are `up-*`).
const LOCK: &str = ".relay.lock";

/// A directory without a lock file is one of a relay from before the lock
/// (or one caught in the instant between making its directory and its
/// lock). Whether that relay still runs cannot be told, and removing a
/// live relay's directory would break every upload it takes afterwards;
/// so such a directory goes only when nothing in it has changed for this
/// long (its relay would have deleted its uploads by `--upload-retention`,
/// 30 minutes by default, and so touched it).
pub const UNLOCKED_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// This relay's directory, held while it exists; removed (files and all)
/// when dropped.
#[derive(Debug)]
pub struct OwnDir {
    /// Dropped first: the lock is let go, then the directory removed.
    _lock: File,
    dir: tempfile::TempDir,
}

impl OwnDir {
    /// Removes the directories of relays gone from `parent` (the system's
    /// temp dir), then makes a fresh private one there (mode 0700, a
    /// random name: a predictable one could be taken by another user
    /// first) and locks it.
    pub fn create_in(parent: &Path) -> std::io::Result<OwnDir> {
        let removed = remove_stale(parent);
        if removed > 0 {
            tracing::info!(
                removed,
                "removed upload directories left by relays that did not stop cleanly"
            );
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(PREFIX);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
        let dir = builder.tempdir_in(parent)?;
        let lock = lock(dir.path())?;
        Ok(OwnDir { _lock: lock, dir })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Creates and locks `dir`'s lock file. It is locked under another name
/// and only then given its own, so no other relay ever finds it there
/// unlocked (it would take that for a relay gone).
fn lock(dir: &Path) -> std::io::Result<File> {
    let fresh = dir.join(format!("{LOCK}.new"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&fresh)?;
    file.try_lock().map_err(std::io::Error::other)?;
    std::fs::rename(&fresh, dir.join(LOCK))?;
    Ok(file)
}

/// Whether `dir` (a candidate in the temp dir) belongs to no running
/// relay.
fn is_stale(dir: &Path) -> bool {
    match File::open(dir.join(LOCK)) {
        // Taken: its relay is gone. Let go at once (the directory goes
        // next; nobody locks a directory that is not their own).
        Ok(file) => file.try_lock().is_ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::symlink_metadata(dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= UNLOCKED_GRACE),
        Err(_) => false,
    }
}

/// Removes the directories in `parent` that no running relay holds; how
/// many. Only real directories (never a symlink named like one) of the
/// relay's own user: another user's cannot be removed anyway, and are
/// left to them.
pub fn remove_stale(parent: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return 0;
    };
    let me = Owner::relay();
    let candidates: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
        // Not followed: a symlink is not a directory here.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|dir| me.owns(dir))
        .collect();
    candidates
        .into_iter()
        .filter(|dir| is_stale(dir))
        .filter(|dir| std::fs::remove_dir_all(dir).is_ok())
        .count()
}

/// The relay's user, as the owner of what it creates.
struct Owner(Option<u32>);

impl Owner {
    /// Read off a file made now (it has the relay's effective user);
    /// unknown — nothing is taken for its own — when none can be made.
    #[cfg(unix)]
    fn relay() -> Owner {
        use std::os::unix::fs::MetadataExt;
        Owner(
            tempfile::tempfile()
                .and_then(|f| f.metadata())
                .map(|m| m.uid())
                .ok(),
        )
    }

    #[cfg(not(unix))]
    fn relay() -> Owner {
        Owner(Some(0))
    }

    /// Whether it owns `path` (not followed).
    #[cfg(unix)]
    fn owns(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(path).is_ok_and(|m| Some(m.uid()) == self.0)
    }

    #[cfg(not(unix))]
    fn owns(&self, _path: &Path) -> bool {
        self.0.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch temp dir of the test's own, so other tests' (and other
    /// relays') directories are never candidates.
    fn parent() -> tempfile::TempDir {
        tempfile::tempdir().expect("scratch parent")
    }

    #[test]
    fn a_crashed_relays_directory_is_removed_and_a_live_ones_kept() {
        let parent = parent();
        let live = OwnDir::create_in(parent.path()).expect("live");
        let crashed = OwnDir::create_in(parent.path()).expect("crashed");
        let crashed_path = crashed.path().to_owned();
        std::fs::write(crashed_path.join("up-left"), b"left behind").expect("file");
        // A crash: the process ends, so the kernel lets go of the lock,
        // but nothing removes the directory.
        let OwnDir { _lock, dir } = crashed;
        let _ = dir.keep();
        drop(_lock);

        let next = OwnDir::create_in(parent.path()).expect("next");
        assert!(
            !crashed_path.exists(),
            "the crashed relay's directory is removed"
        );
        assert!(live.path().join(LOCK).exists(), "a live relay's stays");
        assert!(next.path().exists());
        assert_ne!(next.path(), live.path());
        let made = next.path().to_owned();
        drop(next);
        assert!(!made.exists(), "removed with the store");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_without_a_lock_goes_only_when_long_untouched() {
        let parent = parent();
        let old = parent.path().join(format!("{PREFIX}old"));
        let recent = parent.path().join(format!("{PREFIX}recent"));
        for d in [&old, &recent] {
            std::fs::create_dir(d).expect("dir");
        }
        let long_ago = std::time::SystemTime::now() - UNLOCKED_GRACE - Duration::from_secs(60);
        File::open(&old)
            .and_then(|f| f.set_modified(long_ago))
            .expect("age the directory");
        let unrelated = parent.path().join("something-else");
        std::fs::create_dir(&unrelated).expect("dir");

        assert_eq!(remove_stale(parent.path()), 1);
        assert!(!old.exists());
        assert!(
            recent.exists(),
            "it may be a live relay's from before the lock"
        );
        assert!(unrelated.exists(), "not a relay's");
    }
}
