//! The embedded store (`--store sqlite`, the default): the memory store,
//! written through to a SQLite file in `--data-dir`, so a restarted relay
//! — even one killed with SIGKILL — still knows which messages it ran.
//!
//! The live state (connections, routing, the dedup map, every bound) stays
//! in [`Sessions`], which answers every read. Each change it makes is
//! written down by one writer thread ([`writer`], group commit) and read
//! back at start ([`load`]). Two changes are waited for:
//! - a message's in-flight marker, before n8n is called: if it cannot be
//!   written (disk full, database unwritable) the message is refused with
//!   `store_unavailable` and n8n is not called;
//! - a message's outcome, before its answer task ends. If it cannot be
//!   written the answer still reaches the page (it is in memory); only a
//!   restart before the page has it would lose it, and the store reports
//!   itself unhealthy meanwhile.
//!
//! What a crash keeps: every commit, with WAL and `synchronous=NORMAL`,
//! when the relay process dies; a power loss of the machine may lose the
//! last commits (`--sqlite-full-sync` waits for the disk instead).

pub mod counters;
mod load;
mod lock;
pub mod schema;
#[cfg(test)]
mod tests;
pub mod writer;

use shared::{MessageId, SessionId};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use shared::ConversationItem;

use self::schema::OpenError;
use self::writer::{Op, Queue, Status};
use crate::frame::Frame;
use crate::store::memory::Sessions;
use crate::store::{
    Claim, ConnHandle, ConnId, Limits, Pushed, SessionStore, Stats, StoreHealth, Verdict,
};

/// The SQLite-backed store.
#[derive(Debug)]
pub struct SqliteStore {
    local: Sessions,
    queue: Arc<Queue>,
    max_tombstones: usize,
    /// The quota counters read at start, until [`SqliteStore::counters`]
    /// takes them.
    counts: parking_lot::Mutex<Vec<counters::SavedCount>>,
    /// The writer thread, which holds the data directory's lock.
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SqliteStore {
    /// Waits for the writer to write what was queued and close the
    /// database: only then is the directory's lock free, so no other store
    /// (a relay started again) reads the file while this one still writes.
    /// Brief: one last commit.
    fn drop(&mut self) {
        self.queue.stop();
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("the session database writer panicked");
            }
        }
    }
}

impl SqliteStore {
    /// Opens (or creates) the database in `dir`, reads it back and starts
    /// the writer thread. `full_sync`: `synchronous=FULL`.
    pub fn open(dir: &Path, limits: Limits, full_sync: bool) -> Result<Arc<Self>, OpenError> {
        schema::create_dir(dir)?;
        // Before the database is touched: a second relay must not
        // migrate it or settle the first one's messages in flight.
        let lock = lock::take(dir)?;
        let mut conn = schema::open(dir, full_sync)?;
        let file = dir.join(schema::FILE);
        let saved = load::read(&mut conn, limits.rerun_interrupted).map_err(|source| {
            OpenError::Sqlite {
                file: file.clone(),
                source,
            }
        })?;
        let counts = counters::read(&conn).map_err(|source| OpenError::Sqlite {
            file: file.clone(),
            source,
        })?;
        let status = Arc::new(Status::default());
        let (tx, rx) = std::sync::mpsc::sync_channel(writer::QUEUE);
        let ttl_ms = i64::try_from(limits.tombstone_ttl().as_millis()).unwrap_or(i64::MAX);
        let thread_status = status.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, rx, thread_status, ttl_ms, lock))
            .map_err(|source| OpenError::Dir {
                dir: dir.to_owned(),
                source,
            })?;
        let queue = Arc::new(Queue::new(tx, status));
        let max_tombstones = limits.max_tombstones;
        let rerun = limits.rerun_interrupted;
        let journal: Arc<dyn crate::store::journal::Journal> = queue.clone();
        let local = Sessions::with_journal(limits, Some(journal));
        if saved.interrupted > 0 {
            let then = if rerun {
                "resends run them again (--rerun-interrupted)"
            } else {
                "resends get `interrupted`; Retry runs them"
            };
            tracing::warn!(
                "{} message(s) were being answered when the relay stopped; {then}",
                saved.interrupted
            );
        }
        let sessions = load::restore(saved, &local);
        tracing::info!("sessions kept in {} ({sessions} read back)", file.display());
        Ok(Arc::new(SqliteStore {
            local,
            queue,
            max_tombstones,
            counts: parking_lot::Mutex::new(counts),
            writer: Some(writer),
        }))
    }
}

impl SqliteStore {
    /// The quota counters, kept in this database (read back at start).
    pub fn counters(&self, max_tracked: usize) -> counters::SqliteCounters {
        let saved = std::mem::take(&mut *self.counts.lock());
        counters::SqliteCounters::new(max_tracked, saved, self.queue.clone())
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn attach(&self, session: &SessionId, conn: ConnHandle) {
        self.local.attach(session, conn);
    }

    async fn detach(&self, session: &SessionId, conn: ConnId) {
        self.local.detach(session, conn);
    }

    async fn begin(&self, session: &SessionId, id: &MessageId, retry: bool) -> Verdict {
        let begin = self.local.begin(session, id, retry);
        if begin == Verdict::Start {
            if let Err(e) = self.queue.written(session, id).await {
                tracing::warn!(session = %crate::redact::session(session), id = %id, "not started: its in-flight marker could not be written: {e}");
                self.local.abandon(session, id);
                return Verdict::Unavailable;
            }
        }
        begin
    }

    fn chunk(&self, session: &SessionId, id: &MessageId, text: &str) {
        // Streamed text is not written down: after a crash the message is
        // `interrupted` as a whole.
        self.local.chunk(session, id, text);
    }

    fn progress(&self, session: &SessionId, id: &MessageId, frame: Frame) {
        // Live only, like chunks: never written down.
        self.local.progress(session, id, &frame);
    }

    async fn complete(&self, session: &SessionId, id: &MessageId, frame: Frame, failed: bool) {
        self.local.complete(session, id, frame, failed);
        if let Err(e) = self.queue.written(session, id).await {
            tracing::warn!(session = %crate::redact::session(session), id = %id, "outcome kept in memory only: {e}");
        }
    }

    async fn release(&self, session: &SessionId, id: &MessageId, frame: Frame) {
        self.local.release(session, id, &frame);
    }

    async fn push(&self, session: &SessionId, frame: Frame) -> Option<Pushed> {
        self.local.push(session, frame)
    }

    async fn maintain(&self) -> usize {
        let forgotten = self.local.sweep();
        self.queue
            .send(Op::Prune {
                max: self.max_tombstones,
            })
            .await;
        forgotten
    }

    fn is_connected(&self, session: &SessionId) -> bool {
        self.local.is_connected(session)
    }

    async fn knows(&self, session: &SessionId) -> bool {
        self.local.knows(session)
    }

    async fn has_run(&self, session: &SessionId) -> bool {
        self.local.has_run(session)
    }

    async fn forget(&self, session: &SessionId) {
        // The memory store decides; the journal deletes the rows.
        self.local.erase(session);
    }

    async fn claim(&self, session: &SessionId, user: Option<&str>) -> Claim {
        // The memory store decides; a new owner reaches the disk through
        // the journal (`Change::Owned`), so it holds after a restart.
        self.local.claim(session, user)
    }

    async fn answer_frame(&self, session: &SessionId, id: &MessageId) -> Option<Frame> {
        self.local.answer_frame(session, id)
    }

    // The lists live in memory (read back at start) and reach the disk
    // through the journal, like every other change.
    async fn conversations(&self, user: &str, now_ms: u64) -> Option<Vec<ConversationItem>> {
        Some(self.local.lists.list(user, now_ms))
    }

    async fn save_conversation(
        &self,
        user: &str,
        item: ConversationItem,
        now_ms: u64,
    ) -> Option<Vec<ConversationItem>> {
        Some(self.local.lists.save(user, item, now_ms))
    }

    async fn drop_conversation(&self, user: &str, session: &SessionId) {
        self.local.lists.remove(user, session);
    }

    async fn lists_conversation(&self, user: &str, session: &SessionId, now_ms: u64) -> bool {
        self.local.lists.contains(user, session, now_ms)
    }

    // Like every change: decided in memory, written by the journal (not
    // waited for: a transcript line lost to a crash costs nothing of the
    // answer itself).
    async fn record_lines(
        &self,
        session: &str,
        _user: Option<&str>,
        lines: Vec<crate::store::transcripts::Line>,
        now_ms: u64,
    ) {
        self.local.record_lines(session, lines, now_ms);
    }

    async fn transcript(
        &self,
        session: &SessionId,
    ) -> Option<Vec<crate::store::transcripts::Line>> {
        self.local.transcript(session)
    }

    fn stats(&self) -> Stats {
        self.local.stats()
    }

    fn health(&self) -> StoreHealth {
        let error = self.queue.status.problem();
        StoreHealth {
            kind: "sqlite",
            ok: error.is_none(),
            error,
            pending: None,
        }
    }

    async fn flush(&self) {
        let (done, flushed) = tokio::sync::oneshot::channel();
        self.queue.send(Op::Flush(done)).await;
        let _ = flushed.await;
    }
}
