//! Where uploads wait for their message: files in a directory of the
//! relay's own, named by a random id (never by anything the user sent, so
//! no name can reach outside it), with their facts in memory.
//!
//! Bounded everywhere, because sessions cost nothing (every new WebSocket
//! is one) and so one client could otherwise open as many as it likes:
//! bytes per file (`--max-upload-bytes`, counted while the body streams
//! in, never buffered whole), bytes of all uploads together
//! (`--max-stored-upload-bytes`, reserved as bytes arrive), the **number**
//! of uploads together (`--max-stored-uploads`: each is an inode and an
//! entry here), uploads and bytes per client address
//! (`--max-uploads-per-ip`, `--max-upload-bytes-per-ip`: one address never
//! holds more than its share), uploads per session, and age
//! (`--upload-retention`). An upload belongs to the session that made it;
//! a message of another session cannot use it. Uploads are deleted when
//! their message is answered, by age, when their session has been gone
//! as long as its answers are kept (`--retain-for`), and when their
//! session is forgotten (the visitor deleted the conversation).
//!
//! The directory is private: a fresh one with a random name (mode 0700)
//! unless `--upload-dir` names one, which is refused when other users may
//! write to it; files are created new (never through an existing name)
//! with mode 0600.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::own_dir::OwnDir;
use crate::attachment::Attachment;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
struct Entry {
    file: Attachment,
    /// The client address that uploaded it (its share is counted).
    address: IpAddr,
    stored_at: Instant,
}

/// What one session holds.
#[derive(Debug)]
struct SessionUse {
    /// Uploads under way or stored.
    files: usize,
    /// When the session was last seen connected (at an upload, or by the
    /// sweep): its uploads go when it has been gone for `gone_after`.
    seen: Instant,
}

/// What one client address holds; the entry exists only while it holds
/// something, so the map is bounded by `--max-stored-uploads`.
#[derive(Debug, Default)]
struct AddressUse {
    /// Uploads under way or stored.
    files: usize,
    /// Their bytes (reserved as they arrive).
    bytes: u64,
}

#[derive(Debug, Default)]
struct Inner {
    done: HashMap<String, Entry>,
    /// Bytes of finished uploads plus bytes reserved by uploads under way.
    bytes: u64,
    /// Uploads under way or stored.
    files: usize,
    per_session: HashMap<String, SessionUse>,
    per_address: HashMap<IpAddr, AddressUse>,
}

impl Inner {
    /// Gives back what one upload of `session` from `address` held.
    fn release(&mut self, session: &str, address: IpAddr, bytes: u64) {
        self.bytes = self.bytes.saturating_sub(bytes);
        self.files = self.files.saturating_sub(1);
        if let Some(s) = self.per_session.get_mut(session) {
            s.files = s.files.saturating_sub(1);
            if s.files == 0 {
                self.per_session.remove(session);
            }
        }
        if let Some(a) = self.per_address.get_mut(&address) {
            a.files = a.files.saturating_sub(1);
            a.bytes = a.bytes.saturating_sub(bytes);
            if a.files == 0 {
                self.per_address.remove(&address);
            }
        }
    }

    /// Forgets stored upload `id`; the path of its file, to delete.
    fn take(&mut self, id: &str) -> Option<PathBuf> {
        let e = self.done.remove(id)?;
        self.release(&e.file.session, e.address, e.file.size);
        Some(e.file.path)
    }
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
    /// All uploads together would pass `--max-stored-upload-bytes` or
    /// `--max-stored-uploads`.
    #[error("the relay holds as many uploads as it may; try again in a while")]
    Full,
    /// This session holds as many uploads as it may.
    #[error("this conversation holds as many uploads as it may; send or remove some first")]
    SessionFull,
    /// This client address holds as many uploads (or bytes) as it may.
    #[error("this address holds as many uploads as it may; send some first or try again later")]
    AddressFull,
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
    /// Uploads (files) of all sessions, under way or stored.
    pub max_files: usize,
    /// Uploads per session at once.
    pub max_per_session: usize,
    /// Uploads per client address at once.
    pub max_files_per_address: usize,
    /// Bytes per client address at once.
    pub max_bytes_per_address: u64,
    /// Age after which an upload is deleted.
    pub retention: Duration,
}

/// The store.
#[derive(Debug)]
pub struct UploadStore {
    dir: PathBuf,
    /// The directory made for this run, when `--upload-dir` was not given:
    /// held while the store lives, removed with it.
    _own_dir: Option<OwnDir>,
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
    address: IpAddr,
    path: PathBuf,
    reserved: u64,
    finished: bool,
}

impl Pending<'_> {
    /// Where the bytes go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the upload's file: new (never opened through a name that is
    /// already there, a planted symlink included), readable by the relay's
    /// user only.
    pub async fn create_file(&self) -> std::io::Result<tokio::fs::File> {
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        options.open(&self.path).await
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
        let held = inner.per_address.get(&self.address).map_or(0, |a| a.bytes);
        if inner.bytes + n > self.store.bounds.max_total {
            return Err(StoreError::Full);
        }
        if held + n > self.store.bounds.max_bytes_per_address {
            return Err(StoreError::AddressFull);
        }
        inner.bytes += n;
        inner.per_address.entry(self.address).or_default().bytes += n;
        self.reserved = size;
        Ok(())
    }

    /// The upload is complete.
    pub fn finish(mut self, name: String, mime: String) -> Attachment {
        self.finished = true;
        let file = Attachment {
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
                address: self.address,
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
        self.store
            .lock()
            .release(&self.session, self.address, self.reserved);
        // One file, outside the lock.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why a directory may not hold uploads: other users could write to it
/// (replace, link or read what is uploaded), or it is not a directory.
#[cfg(unix)]
fn check_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let refuse = |why: String| {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "--upload-dir {}: {why}; give the relay a directory only its own user can write (e.g. mkdir -m 700)",
                dir.display()
            ),
        ))
    };
    // Not followed: `dir` is canonical, so a symlink here means it was
    // swapped since (see `UploadStore::open`).
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return refuse("not a directory".into());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return refuse(format!("other users may write to it (mode {mode:o})"));
    }
    // Owned by the relay's user: a file it creates there has its owner.
    let probe = tempfile::tempfile_in(dir)?;
    let me = probe.metadata()?.uid();
    if meta.uid() != me {
        return refuse(format!(
            "owned by user {} and not by the relay's user ({me})",
            meta.uid()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(dir: &Path) -> std::io::Result<()> {
    if !std::fs::metadata(dir)?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("--upload-dir {} is not a directory", dir.display()),
        ));
    }
    Ok(())
}

/// Deletes files on a blocking thread (there may be many: a sweep), so the
/// runtime's threads never wait on the disk.
async fn delete(paths: Vec<PathBuf>) {
    if paths.is_empty() {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        for path in paths {
            let _ = std::fs::remove_file(path);
        }
    })
    .await;
}

impl UploadStore {
    /// A store in `dir`, or — when `None` — in a fresh private directory
    /// with a random name in the system's temp dir (a predictable name
    /// could be taken by another user first; see [`OwnDir`], which also
    /// removes those of relays that were killed). A given `dir` is created
    /// (mode 0700) if missing, resolved to its canonical path (symlinks
    /// followed once, at start) and refused if other users may write to
    /// it; anything left there by an earlier run is deleted (those uploads'
    /// facts are gone with that run).
    pub fn open(dir: Option<PathBuf>, bounds: Bounds) -> std::io::Result<UploadStore> {
        let (dir, own_dir) = match dir {
            Some(dir) => {
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder.create(&dir)?;
                // Resolved once, and only the resolved path used from
                // then on: a symlink (the directory itself or a parent)
                // that is pointed elsewhere later — by whoever may change
                // it — must not move where uploads are written, read
                // and deleted (`up-*` files are deleted below) to a
                // directory that was never checked.
                let dir = std::fs::canonicalize(&dir)?;
                check_private(&dir)?;
                for entry in std::fs::read_dir(&dir)?.flatten() {
                    let name = entry.file_name();
                    if name.to_string_lossy().starts_with("up-") {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
                (dir, None)
            }
            None => {
                // A random name, never one that exists (mkdir fails on
                // it, and tempfile tries another), mode 0700; those of
                // relays that were killed are removed first.
                let own = OwnDir::create_in(&std::env::temp_dir())?;
                (own.path().to_owned(), Some(own))
            }
        };
        Ok(UploadStore {
            dir,
            _own_dir: own_dir,
            bounds,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        self.inner.lock()
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bounds.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// Starts an upload for `session` from client `address` (its key: an
    /// IPv4 address or an IPv6 /64).
    pub fn begin(&self, session: &str, address: IpAddr) -> Result<Pending<'_>, StoreError> {
        let mut inner = self.lock();
        if inner
            .per_session
            .get(session)
            .is_some_and(|s| s.files >= self.bounds.max_per_session)
        {
            return Err(StoreError::SessionFull);
        }
        if inner
            .per_address
            .get(&address)
            .is_some_and(|a| a.files >= self.bounds.max_files_per_address)
        {
            return Err(StoreError::AddressFull);
        }
        if inner.files >= self.bounds.max_files {
            return Err(StoreError::Full);
        }
        inner.files += 1;
        inner.per_address.entry(address).or_default().files += 1;
        let s = inner
            .per_session
            .entry(session.to_owned())
            .or_insert(SessionUse {
                files: 0,
                seen: Instant::now(),
            });
        s.files += 1;
        s.seen = Instant::now();
        let id = format!("up-{}", uuid::Uuid::new_v4().simple());
        let path = self.dir.join(&id);
        Ok(Pending {
            store: self,
            id,
            session: session.to_owned(),
            address,
            path,
            reserved: 0,
            finished: false,
        })
    }

    /// Upload `id`, if it exists and belongs to `session`.
    pub fn get(&self, session: &str, id: &str) -> Option<Attachment> {
        self.lock()
            .done
            .get(id)
            .filter(|e| e.file.session == session)
            .map(|e| e.file.clone())
    }

    /// Deletes uploads (their message was answered): at most a message's
    /// few files, deleted here, outside the lock.
    pub fn remove(&self, ids: &[String]) {
        let gone: Vec<PathBuf> = {
            let mut inner = self.lock();
            ids.iter().filter_map(|id| inner.take(id)).collect()
        };
        for path in gone {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Deletes the stored uploads of `session` (its visitor deleted the
    /// conversation: its unsent files, and those of messages that failed,
    /// are not kept until `--upload-retention`), giving their places and
    /// bytes back; how many. An upload still arriving is not among them:
    /// it goes with the session's absence or by age, as any other.
    pub async fn remove_session(&self, session: &str) -> usize {
        let paths: Vec<PathBuf> = {
            let mut inner = self.lock();
            let ids: Vec<String> = inner
                .done
                .iter()
                .filter(|(_, e)| e.file.session == session)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| inner.take(id)).collect()
        };
        let n = paths.len();
        delete(paths).await;
        n
    }

    /// Deletes uploads older than the retention, and the uploads of every
    /// session that `connected` says is gone and that has not been seen
    /// for `gone_after`; returns how many. The lock is held only for the
    /// bookkeeping (never while asking `connected`, never across the
    /// disk); the files are deleted on a blocking thread.
    pub async fn sweep(&self, connected: impl Fn(&str) -> bool, gone_after: Duration) -> usize {
        let sessions: Vec<String> = self.lock().per_session.keys().cloned().collect();
        let here: Vec<String> = sessions.into_iter().filter(|s| connected(s)).collect();
        let now = Instant::now();
        let retention = self.bounds.retention;
        let paths: Vec<PathBuf> = {
            let mut inner = self.lock();
            for s in &here {
                if let Some(u) = inner.per_session.get_mut(s) {
                    u.seen = now;
                }
            }
            let old: Vec<String> = inner
                .done
                .iter()
                .filter(|(_, e)| {
                    now.duration_since(e.stored_at) >= retention
                        || inner
                            .per_session
                            .get(&e.file.session)
                            .is_some_and(|s| now.duration_since(s.seen) >= gone_after)
                })
                .map(|(id, _)| id.clone())
                .collect();
            old.iter().filter_map(|id| inner.take(id)).collect()
        };
        let n = paths.len();
        delete(paths).await;
        n
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

    /// Client addresses holding uploads now (tests: the map stays bounded).
    pub fn addresses(&self) -> usize {
        self.lock().per_address.len()
    }
}

/// Whether `c` may stay in a file name: not a control character, not a
/// quote, and nothing invisible — no `Bidi_Control` (the overrides,
/// embeddings, isolates and marks that make `evil\u{202e}gnp.exe` show as
/// `evilexe.png`) and no `Default_Ignorable_Code_Point` (zero-width
/// spaces and joiners, variation selectors, tag characters, soft hyphen …
/// that hide characters or make two names look the same). The properties
/// come from the Unicode Character Database as ICU4X ships it
/// (`icu_properties`, already built for URL parsing), so the list follows
/// Unicode rather than a hand-kept table.
fn visible(c: char) -> bool {
    use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint};
    use icu_properties::CodePointSetData;
    !c.is_control()
        && c != '"'
        && !CodePointSetData::new::<BidiControl>().contains(c)
        && !CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
}

/// A file name that is safe to keep and to pass on: the last path
/// component only, no control or invisible characters (see [`visible`]),
/// at most 200 characters, never empty or a dot name.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|&c| visible(c)).take(200).collect();
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

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    /// A store with these bounds in a fresh directory of its own.
    fn open_with(bounds: Bounds) -> (UploadStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "relay-upload-unit-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let s = UploadStore::open(Some(dir.clone()), bounds).expect("open");
        (s, dir)
    }

    fn store(max_file: u64, max_total: u64) -> (UploadStore, PathBuf) {
        open_with(Bounds {
            max_file,
            max_total,
            max_files: 100,
            max_per_session: 2,
            max_files_per_address: 100,
            max_bytes_per_address: max_total,
            retention: Duration::from_secs(60),
        })
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
    fn every_bidi_control_and_invisible_character_is_stripped() {
        // Each of these was kept before: isolates, embeddings, the other
        // override, the Arabic letter mark, zero-width space/joiners, word
        // joiner, BOM, soft hyphen, a variation selector, a tag character.
        for hidden in [
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{202a}',
            '\u{202b}',
            '\u{202c}',
            '\u{202d}',
            '\u{061c}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{00ad}',
            '\u{fe0f}',
            '\u{e0041}',
            '\u{180e}',
            '\u{3164}',
        ] {
            assert_eq!(
                safe_name(&format!("report{hidden}.pdf")),
                "report.pdf",
                "U+{:04X}",
                hidden as u32
            );
        }
        assert_eq!(safe_name("in\u{2067}fdp.exe"), "infdp.exe");
        // Visible letters of every script stay.
        assert_eq!(safe_name("Grüße_報告_تقرير.pdf"), "Grüße_報告_تقرير.pdf");
    }

    #[test]
    fn every_bound_is_reached_and_gives_back_what_it_took() {
        let (s, dir) = store(10, 15);
        let mut a = s.begin("s1", A).expect("a");
        a.reserve(10).expect("10 bytes fit");
        assert_eq!(a.reserve(1), Err(StoreError::TooLarge { limit: 10 }));
        let mut b = s.begin("s1", A).expect("b");
        assert_eq!(b.reserve(6), Err(StoreError::Full), "10 + 6 > 15");
        assert_eq!(s.begin("s1", A).err(), Some(StoreError::SessionFull));
        drop(b);
        let a = a.finish("a.txt".into(), "text/plain".into());
        assert_eq!(s.usage(), (1, 10));
        assert!(s.get("s1", &a.id).is_some());
        assert!(s.get("s2", &a.id).is_none(), "another session's upload");
        s.remove(std::slice::from_ref(&a.id));
        assert_eq!(s.usage(), (0, 0));
        assert!(
            s.begin("s1", A).is_ok(),
            "the session's places are free again"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(start_paused = true)]
    async fn old_uploads_are_swept() {
        let (s, dir) = store(100, 100);
        let mut p = s.begin("s", A).expect("begin");
        std::fs::write(p.path(), b"hello").expect("write");
        p.reserve(5).expect("reserve");
        let f = p.finish("h.txt".into(), "text/plain".into());
        tokio::time::advance(Duration::from_secs(59)).await;
        let always = |_: &str| true;
        assert_eq!(s.sweep(always, Duration::MAX).await, 0);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(s.sweep(always, Duration::MAX).await, 1);
        assert!(!f.path.exists(), "the file is deleted");
        assert_eq!(s.usage(), (0, 0));
        let _ = std::fs::remove_dir_all(dir);
    }

    fn bounded(
        max_files: usize,
        per_address: usize,
        bytes_per_address: u64,
    ) -> (UploadStore, PathBuf) {
        open_with(Bounds {
            max_file: 100,
            max_total: 1000,
            max_files,
            max_per_session: 100,
            max_files_per_address: per_address,
            max_bytes_per_address: bytes_per_address,
            retention: Duration::from_secs(60),
        })
    }

    #[test]
    fn files_are_bounded_in_total_and_per_address_and_the_address_map_empties() {
        let (s, dir) = bounded(5, 3, 1000);
        let mut held = Vec::new();
        for i in 0..3 {
            held.push(
                s.begin(&format!("a{i}"), A)
                    .expect("within the address's share"),
            );
        }
        assert_eq!(
            s.begin("a-new", A).err(),
            Some(StoreError::AddressFull),
            "new sessions do not help one address"
        );
        held.push(s.begin("b1", B).expect("another address"));
        held.push(s.begin("b2", B).expect("another address"));
        assert_eq!(
            s.begin("c", IpAddr::from([10, 0, 0, 3])).err(),
            Some(StoreError::Full)
        );
        assert_eq!(s.addresses(), 2);
        drop(held);
        assert_eq!(s.addresses(), 0, "an address holding nothing has no entry");
        assert!(s.begin("c", IpAddr::from([10, 0, 0, 3])).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn one_address_holds_at_most_its_share_of_the_bytes() {
        let (s, dir) = bounded(100, 100, 250);
        let mut a1 = s.begin("a1", A).expect("a1");
        a1.reserve(100).expect("fits");
        let a1 = a1.finish("a".into(), "text/plain".into());
        let mut a2 = s.begin("a2", A).expect("a2");
        a2.reserve(100).expect("fits");
        let mut a3 = s.begin("a3", A).expect("a3");
        assert_eq!(
            a3.reserve(51),
            Err(StoreError::AddressFull),
            "250 per address"
        );
        let mut b = s.begin("b", B).expect("b");
        b.reserve(100).expect("another address still has room");
        drop(a2);
        a3.reserve(100)
            .expect("a reservation given back is room again");
        s.remove(std::slice::from_ref(&a1.id));
        drop((a3, b));
        assert_eq!((s.usage(), s.addresses()), ((0, 0), 0));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gone_sessions_uploads_go_after_the_answer_retention() {
        let (s, dir) = bounded(100, 100, 1000);
        let stay = s
            .begin("stay", A)
            .expect("stay")
            .finish("s".into(), "text/plain".into());
        let gone = s
            .begin("gone", A)
            .expect("gone")
            .finish("g".into(), "text/plain".into());
        let connected = |session: &str| session == "stay";
        let retain_for = Duration::from_secs(10);
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(s.sweep(connected, retain_for).await, 0);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(s.sweep(connected, retain_for).await, 1);
        assert!(s.get("gone", &gone.id).is_none());
        assert!(
            s.get("stay", &stay.id).is_some(),
            "a connected session keeps them"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_forgotten_sessions_uploads_are_deleted_and_their_bytes_given_back() {
        let (s, dir) = store(100, 100);
        let mut stored = Vec::new();
        for session in ["forgotten", "forgotten", "kept"] {
            let mut p = s.begin(session, A).expect("begin");
            std::fs::write(p.path(), b"hello").expect("write");
            p.reserve(5).expect("reserve");
            stored.push(p.finish("h.txt".into(), "text/plain".into()));
        }
        assert_eq!(s.remove_session("forgotten").await, 2);
        assert!(!stored[0].path.exists() && !stored[1].path.exists());
        assert!(stored[2].path.exists(), "another session's file stays");
        assert_eq!(s.usage(), (1, 5));
        assert!(
            s.begin("forgotten", A).and(s.begin("forgotten", A)).is_ok(),
            "the session's places are free again"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_is_refused_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "relay-upload-open-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let bounds = Bounds {
            max_file: 1,
            max_total: 1,
            max_files: 1,
            max_per_session: 1,
            max_files_per_address: 1,
            max_bytes_per_address: 1,
            retention: Duration::from_secs(1),
        };
        let refused = UploadStore::open(Some(dir.clone()), bounds.clone());
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("other users may write to it")),
            "{refused:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        // The default: a fresh, private directory with a random name.
        let a = UploadStore::open(None, bounds.clone()).expect("own dir");
        let b = UploadStore::open(None, bounds).expect("own dir");
        assert_ne!(a.dir(), b.dir());
        let mode = std::fs::metadata(a.dir())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let made = a.dir().to_owned();
        drop(a);
        assert!(!made.exists(), "removed with the store");
    }

    /// A symlinked `--upload-dir` is resolved once: pointing the link
    /// elsewhere afterwards does not move where uploads go (or which
    /// directory's `up-*` files are deleted).
    #[cfg(unix)]
    #[test]
    fn a_symlinked_upload_dir_is_resolved_once() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!(
            "relay-upload-link-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let (private, other, link) = (base.join("private"), base.join("other"), base.join("link"));
        for d in [&private, &other] {
            std::fs::create_dir_all(d).expect("dir");
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        }
        std::os::unix::fs::symlink(&private, &link).expect("symlink");
        let bounds = Bounds {
            max_file: 10,
            max_total: 10,
            max_files: 10,
            max_per_session: 10,
            max_files_per_address: 10,
            max_bytes_per_address: 10,
            retention: Duration::from_secs(60),
        };
        let store = UploadStore::open(Some(link.clone()), bounds).expect("open");
        let canonical = std::fs::canonicalize(&private).expect("canonical");
        assert_eq!(store.dir(), canonical);
        // The link now points at another directory.
        std::fs::remove_file(&link).expect("unlink");
        std::os::unix::fs::symlink(&other, &link).expect("symlink");
        let pending = store
            .begin("s1", "10.0.0.1".parse().expect("ip"))
            .expect("begin");
        assert!(
            pending.path().starts_with(&canonical),
            "{}",
            pending.path().display()
        );
        drop(pending);
        drop(store);
        let _ = std::fs::remove_dir_all(&base);
    }
}
