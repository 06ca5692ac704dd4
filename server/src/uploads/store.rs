//! Where uploads wait for their message: files in a directory of the
//! relay's own, named by a random id (never by anything the user sent, so
//! no name can reach outside it), with their facts in memory.
//!
//! Bounded everywhere: bytes per file (`--max-upload-bytes`, counted while
//! the body streams in, never buffered whole), bytes of all uploads
//! together (`--max-stored-upload-bytes`, reserved as bytes arrive), uploads
//! per session, and age (`--upload-retention`). An upload belongs to the
//! session that made it; a message of another session cannot use it.
//! Uploads are deleted when their message is answered, and by age.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// One stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its id (`up-…`).
    pub id: String,
    /// The session it belongs to.
    pub session: String,
    /// The name to give n8n (made safe).
    pub name: String,
    /// The checked MIME type.
    pub mime: String,
    /// Bytes.
    pub size: u64,
    /// Where the bytes are.
    pub path: PathBuf,
}

#[derive(Debug)]
struct Entry {
    file: Stored,
    stored_at: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    done: HashMap<String, Entry>,
    /// Bytes of finished uploads plus bytes reserved by uploads under way.
    bytes: u64,
    /// Uploads under way or stored, per session.
    per_session: HashMap<String, usize>,
}

/// Why an upload could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The file is larger than `--max-upload-bytes`.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The bound.
        limit: u64,
    },
    /// All uploads together would pass `--max-stored-upload-bytes`.
    #[error("the relay holds as many uploaded bytes as it may; try again in a while")]
    Full,
    /// This session holds as many uploads as it may.
    #[error("this conversation holds as many uploads as it may; send or remove some first")]
    SessionFull,
    /// Writing the file failed.
    #[error("the file could not be stored: {0}")]
    Io(String),
}

/// The facts of the store's bounds.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Bytes per file.
    pub max_file: u64,
    /// Bytes of all uploads.
    pub max_total: u64,
    /// Uploads per session at once.
    pub max_per_session: usize,
    /// Age after which an upload is deleted.
    pub retention: Duration,
}

/// The store.
#[derive(Debug)]
pub struct UploadStore {
    dir: PathBuf,
    bounds: Bounds,
    inner: Mutex<Inner>,
}

/// An upload under way: bytes are reserved as they arrive; dropped before
/// [`Pending::finish`], it gives its reservation back and deletes its file.
#[derive(Debug)]
pub struct Pending<'a> {
    store: &'a UploadStore,
    id: String,
    session: String,
    path: PathBuf,
    reserved: u64,
    finished: bool,
}

impl Pending<'_> {
    /// Where the bytes go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reserves `n` more bytes (the file grows by them).
    pub fn reserve(&mut self, n: u64) -> Result<(), StoreError> {
        let size = self.reserved + n;
        if size > self.store.bounds.max_file {
            return Err(StoreError::TooLarge {
                limit: self.store.bounds.max_file,
            });
        }
        let mut inner = self.store.lock();
        if inner.bytes + n > self.store.bounds.max_total {
            return Err(StoreError::Full);
        }
        inner.bytes += n;
        self.reserved = size;
        Ok(())
    }

    /// The upload is complete.
    pub fn finish(mut self, name: String, mime: String) -> Stored {
        self.finished = true;
        let file = Stored {
            id: self.id.clone(),
            session: self.session.clone(),
            name,
            mime,
            size: self.reserved,
            path: self.path.clone(),
        };
        self.store.lock().done.insert(
            self.id.clone(),
            Entry {
                file: file.clone(),
                stored_at: Instant::now(),
            },
        );
        file
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        {
            let mut inner = self.store.lock();
            inner.bytes = inner.bytes.saturating_sub(self.reserved);
            release_session(&mut inner, &self.session);
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn release_session(inner: &mut Inner, session: &str) {
    if let Some(n) = inner.per_session.get_mut(session) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            inner.per_session.remove(session);
        }
    }
}

impl UploadStore {
    /// A store in `dir` (created; anything left there by an earlier run is
    /// deleted: those uploads' facts are gone with that run).
    pub fn open(dir: PathBuf, bounds: Bounds) -> std::io::Result<UploadStore> {
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with("up-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(UploadStore {
            dir,
            bounds,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bounds.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// Starts an upload for `session`.
    pub fn begin(&self, session: &str) -> Result<Pending<'_>, StoreError> {
        let mut inner = self.lock();
        let n = inner.per_session.entry(session.to_owned()).or_insert(0);
        if *n >= self.bounds.max_per_session {
            return Err(StoreError::SessionFull);
        }
        *n += 1;
        let id = format!("up-{}", uuid::Uuid::new_v4().simple());
        let path = self.dir.join(&id);
        Ok(Pending {
            store: self,
            id,
            session: session.to_owned(),
            path,
            reserved: 0,
            finished: false,
        })
    }

    /// Upload `id`, if it exists and belongs to `session`.
    pub fn get(&self, session: &str, id: &str) -> Option<Stored> {
        self.lock()
            .done
            .get(id)
            .filter(|e| e.file.session == session)
            .map(|e| e.file.clone())
    }

    /// Deletes uploads (their message was answered).
    pub fn remove(&self, ids: &[String]) {
        let mut gone = Vec::new();
        {
            let mut inner = self.lock();
            for id in ids {
                if let Some(e) = inner.done.remove(id) {
                    inner.bytes = inner.bytes.saturating_sub(e.file.size);
                    release_session(&mut inner, &e.file.session);
                    gone.push(e.file.path);
                }
            }
        }
        for path in gone {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Deletes uploads older than the retention; returns how many.
    pub fn sweep(&self) -> usize {
        let retention = self.bounds.retention;
        let old: Vec<String> = self
            .lock()
            .done
            .iter()
            .filter(|(_, e)| e.stored_at.elapsed() >= retention)
            .map(|(id, _)| id.clone())
            .collect();
        self.remove(&old);
        old.len()
    }

    /// Deletes everything (the relay stops).
    pub fn clear(&self) {
        let all: Vec<String> = self.lock().done.keys().cloned().collect();
        self.remove(&all);
    }

    /// (uploads, bytes) stored now, for `/healthz` and tests.
    pub fn usage(&self) -> (usize, u64) {
        let inner = self.lock();
        (inner.done.len(), inner.bytes)
    }
}

/// A file name that is safe to keep and to pass on: the last path
/// component only, no control characters, at most 200 characters, never
/// empty or a dot name.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\u{202e}' | '\u{200f}' | '\u{200e}'))
        .take(200)
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        "file".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_file: u64, max_total: u64) -> (UploadStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "relay-upload-unit-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let s = UploadStore::open(
            dir.clone(),
            Bounds {
                max_file,
                max_total,
                max_per_session: 2,
                retention: Duration::from_secs(60),
            },
        )
        .expect("open");
        (s, dir)
    }

    #[test]
    fn names_cannot_reach_outside_or_hide_anything() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\Users\\me\\report.pdf"), "report.pdf");
        assert_eq!(safe_name("..."), "file");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(safe_name("evil\u{202e}gnp.exe"), "evilgnp.exe");
        assert_eq!(safe_name(".hidden"), "hidden");
        assert_eq!(safe_name(&"x".repeat(500)).len(), 200);
        assert_eq!(safe_name("dot.png"), "dot.png");
    }

    #[test]
    fn every_bound_is_reached_and_gives_back_what_it_took() {
        let (s, dir) = store(10, 15);
        let mut a = s.begin("s1").expect("a");
        a.reserve(10).expect("10 bytes fit");
        assert_eq!(a.reserve(1), Err(StoreError::TooLarge { limit: 10 }));
        let mut b = s.begin("s1").expect("b");
        assert_eq!(b.reserve(6), Err(StoreError::Full), "10 + 6 > 15");
        assert_eq!(s.begin("s1").err(), Some(StoreError::SessionFull));
        drop(b);
        let a = a.finish("a.txt".into(), "text/plain".into());
        assert_eq!(s.usage(), (1, 10));
        assert!(s.get("s1", &a.id).is_some());
        assert!(s.get("s2", &a.id).is_none(), "another session's upload");
        s.remove(std::slice::from_ref(&a.id));
        assert_eq!(s.usage(), (0, 0));
        assert!(s.begin("s1").is_ok(), "the session's places are free again");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(start_paused = true)]
    async fn old_uploads_are_swept() {
        let (s, dir) = store(100, 100);
        let mut p = s.begin("s").expect("begin");
        std::fs::write(p.path(), b"hello").expect("write");
        p.reserve(5).expect("reserve");
        let f = p.finish("h.txt".into(), "text/plain".into());
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(s.sweep(), 0);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(s.sweep(), 1);
        assert!(!f.path.exists(), "the file is deleted");
        assert_eq!(s.usage(), (0, 0));
        let _ = std::fs::remove_dir_all(dir);
    }
}
