//! The one thread that writes to the database, with group commit.
//!
//! The memory store reports each change ([`Change`]) under its lock; the
//! [`Queue`] takes it without blocking (a bounded channel) and the writer
//! thread — never an async worker, SQLite blocks — commits everything
//! waiting in one transaction: while one commit runs the next batch
//! gathers, so a busy relay commits more per transaction rather than
//! queueing longer, and a lone change is committed at once (the latency
//! is one commit).
//!
//! A change whose caller waits ([`Change::awaited`]) carries an
//! acknowledgement, answered when its transaction committed or failed.
//! The other changes (a forget, a dropped answer, a deleted transcript)
//! have no one to tell, yet memory already acts on them: if their batch
//! fails they are kept (the backlog) and written first with the next
//! batch, or tried again every [`RETRY`] when nothing else comes — else a
//! restart would bring back what the user deleted. The store is not ok
//! while a backlog waits; it also holds every new message's in-flight
//! marker back (same transaction), so messages are refused meanwhile.
//!
//! At the queue's bound a change is dropped: counted, the store reported
//! unhealthy, and its waiter told (a message is then refused with
//! `store_unavailable` before n8n is called). A dropped change nobody
//! waits for, or one past the backlog's bound ([`BACKLOG`]), is lost: the
//! disk then disagrees with memory, so the store stays not ok until the
//! relay restarts.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, Transaction};
use tokio::sync::oneshot;

use crate::store::journal::{Change, Journal};

/// Changes waiting for the writer at most.
pub const QUEUE: usize = 65_536;

/// Changes committed in one transaction at most.
const BATCH: usize = 4_096;

/// Changes of failed batches kept for the next one at most: as many as
/// the queue holds, so a long outage of the disk is bounded too.
pub const BACKLOG: usize = QUEUE;

/// How soon a backlog is tried again when no other change comes.
const RETRY: Duration = Duration::from_secs(1);

/// Whether a change reached the disk.
pub type Ack = Result<(), String>;

/// What the writer thread is asked to do.
#[derive(Debug)]
pub enum Op {
    /// Write a change; answer `ack` once committed (or not).
    Change(Change, Option<oneshot::Sender<Ack>>),
    /// Forget expired tombstones and keep at most `max`.
    Prune {
        /// `--max-tombstones`.
        max: usize,
    },
    /// Answer once everything before it was written.
    Flush(oneshot::Sender<()>),
    /// Write what came before, then close the database and end (the
    /// store is dropped; changes sent after are not written).
    Stop,
    /// Tests: run this SQL in the writer's transaction (e.g. a pragma
    /// that makes the disk look full).
    #[cfg(test)]
    Exec(String),
}

/// The writer's health, for `/healthz` and the log.
#[derive(Debug, Default)]
pub struct Status {
    /// The last write's error, until a write that adds a message succeeds
    /// again (a delete that succeeds on a full disk proves nothing).
    pub error: Mutex<Option<String>>,
    /// Changes dropped at the queue's bound since the start.
    pub dropped: AtomicU64,
    /// Changes of failed batches waiting to be written.
    pub backlog: AtomicUsize,
    /// Changes nobody waited for that were never written (dropped at the
    /// queue's or the backlog's bound): the disk disagrees with memory
    /// until the relay restarts.
    pub lost: AtomicU64,
}

impl Status {
    /// Records a batch's `result`; `adds`: whether it wrote a message that
    /// waited for its acknowledgement (what a full disk refuses).
    fn set(&self, result: &Ack, adds: bool) {
        let mut error = self.error.lock();
        match (result, error.as_ref()) {
            (Err(e), None) => tracing::error!("session database write failed: {e}"),
            (Ok(()), Some(_)) if !adds => return,
            (Ok(()), Some(_)) => tracing::info!("session database writes work again"),
            _ => {}
        }
        *error = result.as_ref().err().cloned();
    }

    /// What is wrong, for `/healthz`: `None` when every change is on disk.
    pub fn problem(&self) -> Option<String> {
        let lost = self.lost.load(Ordering::Relaxed);
        if lost > 0 {
            return Some(format!(
                "{lost} change(s) were never written: the database disagrees with memory \
                 (a restart would bring back what they deleted)"
            ));
        }
        let error = self.error.lock().clone();
        match self.backlog.load(Ordering::Relaxed) {
            0 => error,
            n => Some(format!(
                "{}{n} change(s) wait to be written",
                error.map_or_else(String::new, |e| format!("{e}; "))
            )),
        }
    }

    /// Counts a change nobody waits for that will never be written.
    fn lose(&self) {
        if self.lost.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::error!(
                "session database changes are being lost; the relay reports itself not ok until it restarts"
            );
        }
    }
}

/// The memory store's journal: queues changes for the writer thread.
#[derive(Debug)]
pub struct Queue {
    tx: SyncSender<Op>,
    /// Acknowledgements of awaited changes, by (session, id), until their
    /// caller takes them — right after the memory store returns.
    acks: Mutex<HashMap<(String, String), oneshot::Receiver<Ack>>>,
    /// Shared with the writer thread.
    pub status: Arc<Status>,
}

impl Queue {
    /// A queue for a writer reading `rx` (see [`run`]).
    pub fn new(tx: SyncSender<Op>, status: Arc<Status>) -> Self {
        Queue {
            tx,
            acks: Mutex::default(),
            status,
        }
    }

    /// Asks the writer to end after what is queued (see [`Op::Stop`]);
    /// blocks while the queue is full.
    pub fn stop(&self) {
        let _ = self.tx.send(Op::Stop);
    }

    /// Queues `op` from an async task, waiting for room if need be (a
    /// flush or a prune, never under the memory lock).
    pub async fn send(&self, op: Op) {
        let tx = self.tx.clone();
        let _ = tokio::task::spawn_blocking(move || tx.send(op)).await;
    }

    /// Waits until the awaited change of (`session`, `id`) just reported
    /// is on disk; `Ok` if there was none.
    pub async fn written(&self, session: &str, id: &str) -> Ack {
        let ack = self
            .acks
            .lock()
            .remove(&(session.to_owned(), id.to_owned()));
        match ack {
            None => Ok(()),
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Err("the change was not queued (the queue is full)".into())),
        }
    }
}

impl Journal for Queue {
    fn record(&self, change: Change) {
        let ack = match &change {
            Change::Begun { session, id } | Change::Settled { session, id, .. } => {
                let (tx, rx) = oneshot::channel();
                self.acks.lock().insert((session.clone(), id.clone()), rx);
                Some(tx)
            }
            _ => None,
        };
        match self.tx.try_send(Op::Change(change, ack)) {
            Ok(()) => {}
            // Dropping the op drops its ack: the waiter hears "not queued".
            Err(TrySendError::Full(op)) => {
                let n = self.status.dropped.fetch_add(1, Ordering::Relaxed);
                if n == 0 {
                    tracing::error!("session database queue full; changes are being dropped");
                }
                // A waiter refuses its message; nobody else learns of it.
                if matches!(op, Op::Change(_, None)) {
                    self.status.lose();
                }
                self.status
                    .set(&Err("the write queue is full".into()), false);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// The writer thread: commits what is queued, a batch per transaction
/// (after the backlog of failed ones), until every sender is gone.
/// `_lock`: the data directory's lock ([`super::lock`]), held until the
/// database is closed.
pub fn run(
    mut conn: Connection,
    rx: Receiver<Op>,
    status: Arc<Status>,
    tomb_ttl_ms: i64,
    _lock: std::fs::File,
) {
    let mut backlog: Vec<Change> = Vec::new();
    loop {
        let first = if backlog.is_empty() {
            match rx.recv() {
                Ok(op) => Some(op),
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(RETRY) {
                Ok(op) => Some(op),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    // Once more before the store closes.
                    if write(&mut conn, &backlog, &[], tomb_ttl_ms).is_err() {
                        tracing::error!(
                            "{} session database change(s) could not be written before the store closed",
                            backlog.len()
                        );
                    }
                    break;
                }
            }
        };
        let mut batch: Vec<Op> = first.into_iter().collect();
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let result = write(&mut conn, &backlog, &batch, tomb_ttl_ms).map_err(|e| e.to_string());
        let adds = batch.iter().any(|op| matches!(op, Op::Change(_, Some(_))));
        let stop = batch.iter().any(|op| matches!(op, Op::Stop));
        if result.is_ok() && !backlog.is_empty() {
            tracing::info!("{} session database change(s) written late", backlog.len());
            backlog.clear();
        }
        let mut acks = Vec::new();
        let mut flushes = Vec::new();
        for op in batch {
            match op {
                Op::Change(_, Some(ack)) => acks.push(ack),
                Op::Change(change, None) if result.is_err() => {
                    if backlog.len() < BACKLOG {
                        backlog.push(change);
                    } else {
                        status.lose();
                    }
                }
                Op::Flush(done) => flushes.push(done),
                _ => {}
            }
        }
        status.backlog.store(backlog.len(), Ordering::Relaxed);
        status.set(&result, adds);
        for ack in acks {
            let _ = ack.send(result.clone());
        }
        for done in flushes {
            let _ = done.send(());
        }
        if stop {
            if !backlog.is_empty() {
                tracing::error!(
                    "{} session database change(s) could not be written before the store closed",
                    backlog.len()
                );
            }
            break;
        }
    }
    // The connection closes before the lock goes.
    drop(conn);
}

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes `backlog` (failed before, oldest first) then `batch`, in one
/// transaction: all of it or nothing.
fn write(
    conn: &mut Connection,
    backlog: &[Change],
    batch: &[Op],
    tomb_ttl_ms: i64,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let now = now_ms();
    for change in backlog {
        apply(&tx, change, now, now + tomb_ttl_ms)?;
    }
    for op in batch {
        match op {
            Op::Change(change, _) => apply(&tx, change, now, now + tomb_ttl_ms)?,
            Op::Prune { max } => prune(&tx, now, *max)?,
            Op::Flush(_) | Op::Stop => {}
            #[cfg(test)]
            Op::Exec(sql) => tx.execute_batch(sql)?,
        }
    }
    tx.commit()
}

fn seen(tx: &Transaction<'_>, session: &str, now: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO sessions (id, last_seen) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
    )?
    .execute(params![session, now])?;
    Ok(())
}

fn remove(tx: &Transaction<'_>, session: &str, id: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM messages WHERE session = ?1 AND id = ?2")?
        .execute(params![session, id])?;
    Ok(())
}

/// Keeps a tombstone (until `expires`) for every finished message of
/// `session` before its rows go, so a late resend of one is still refused
/// as a duplicate instead of running again. The ids themselves, not the
/// memory store's keyed hash: its key is random at each start, so a hash
/// written here could not be matched after a restart.
fn entomb(tx: &Transaction<'_>, session: &str, expires: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO tombs (session, id, failed, expires)
         SELECT session, id, failed, ?2 FROM messages
         WHERE session = ?1 AND frame IS NOT NULL ORDER BY seq",
    )?
    .execute(params![session, expires])?;
    Ok(())
}

/// One change, with prepared statements cached on the connection.
fn apply(tx: &Transaction<'_>, change: &Change, now: i64, expires: i64) -> rusqlite::Result<()> {
    match change {
        Change::Seen { session } => seen(tx, session, now)?,
        Change::Begun { session, id } => {
            seen(tx, session, now)?;
            remove(tx, session, id)?;
            tx.prepare_cached("INSERT INTO messages (session, id) VALUES (?1, ?2)")?
                .execute(params![session, id])?;
        }
        Change::Settled {
            session,
            id,
            frame,
            failed,
            undelivered,
        } => {
            seen(tx, session, now)?;
            // A new row: `seq` orders outcomes as the memory store does.
            remove(tx, session, id)?;
            tx.prepare_cached(
                "INSERT INTO messages (session, id, frame, failed, undelivered)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![session, id, frame.as_str(), failed, undelivered])?;
        }
        Change::Removed { session, id } => remove(tx, session, id)?,
        Change::Counted {
            key,
            window,
            start,
            ends,
            count,
        } => {
            // Never lower a count of the same window: two takes may report
            // theirs out of order.
            tx.prepare_cached(
                "INSERT INTO quota_counts (key, window, start, ends, count)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (key, window) DO UPDATE SET
                   count = CASE WHEN start = excluded.start
                                THEN max(count, excluded.count) ELSE excluded.count END,
                   start = excluded.start, ends = excluded.ends",
            )?
            .execute(params![
                key,
                window,
                i64::try_from(*start).unwrap_or(i64::MAX),
                i64::try_from(*ends).unwrap_or(i64::MAX),
                i64::try_from(*count).unwrap_or(i64::MAX)
            ])?;
        }
        Change::CountsEnded { now_ms } => {
            tx.prepare_cached("DELETE FROM quota_counts WHERE ends <= ?1")?
                .execute(params![i64::try_from(*now_ms).unwrap_or(i64::MAX)])?;
        }
        Change::Owned { session, user } => {
            seen(tx, session, now)?;
            tx.prepare_cached("UPDATE sessions SET owner = ?2 WHERE id = ?1")?
                .execute(params![session, user])?;
        }
        Change::Dropped {
            session,
            id,
            failed,
        } => {
            remove(tx, session, id)?;
            tx.prepare_cached(
                "INSERT INTO tombs (session, id, failed, expires) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![session, id, failed, expires])?;
        }
        Change::Kept { session, frame } => {
            seen(tx, session, now)?;
            tx.prepare_cached("INSERT INTO kept (session, frame) VALUES (?1, ?2)")?
                .execute(params![session, frame.as_str()])?;
        }
        Change::Delivered { session } => {
            seen(tx, session, now)?;
            tx.prepare_cached(
                "UPDATE messages SET undelivered = 0 WHERE session = ?1 AND undelivered = 1",
            )?
            .execute(params![session])?;
            tx.prepare_cached("DELETE FROM kept WHERE session = ?1")?
                .execute(params![session])?;
        }
        Change::Erased { session } => {
            entomb(tx, session, expires)?;
            for table in [
                "DELETE FROM messages WHERE session = ?1 AND frame IS NOT NULL",
                "DELETE FROM kept WHERE session = ?1",
                "DELETE FROM transcript_lines WHERE session = ?1",
            ] {
                tx.prepare_cached(table)?.execute(params![session])?;
            }
        }
        Change::Lines {
            session,
            lines,
            at_ms,
            dropped,
        } => {
            let at = i64::try_from(*at_ms).unwrap_or(i64::MAX);
            for line in lines {
                let role = i64::from(line.role == shared::Role::Bot);
                tx.prepare_cached(
                    "INSERT INTO transcript_lines (session, role, text, at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![session, role, line.text, at])?;
            }
            if *dropped > 0 {
                tx.prepare_cached(
                    "DELETE FROM transcript_lines WHERE seq IN
                     (SELECT seq FROM transcript_lines WHERE session = ?1 ORDER BY seq LIMIT ?2)",
                )?
                .execute(params![
                    session,
                    i64::try_from(*dropped).unwrap_or(i64::MAX)
                ])?;
            }
        }
        Change::TranscriptDropped { session } => {
            tx.prepare_cached("DELETE FROM transcript_lines WHERE session = ?1")?
                .execute(params![session])?;
        }
        Change::ConversationSaved { user, item } => {
            tx.prepare_cached(
                "INSERT INTO user_conversations (user, session, title, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user, session) DO UPDATE SET
                   title = excluded.title, updated_at = excluded.updated_at",
            )?
            .execute(params![
                user,
                item.session,
                item.title,
                i64::try_from(item.updated_at).unwrap_or(i64::MAX)
            ])?;
        }
        Change::ConversationDropped { user, session } => {
            tx.prepare_cached("DELETE FROM user_conversations WHERE user = ?1 AND session = ?2")?
                .execute(params![user, session])?;
        }
        Change::ConversationsExpired { before_ms } => {
            tx.prepare_cached("DELETE FROM user_conversations WHERE updated_at <= ?1")?
                .execute(params![i64::try_from(*before_ms).unwrap_or(i64::MAX)])?;
        }
        Change::Forgotten { session } => {
            entomb(tx, session, expires)?;
            for table in [
                "DELETE FROM messages WHERE session = ?1",
                "DELETE FROM kept WHERE session = ?1",
                "DELETE FROM sessions WHERE id = ?1",
            ] {
                tx.prepare_cached(table)?.execute(params![session])?;
            }
        }
    }
    Ok(())
}

/// Tombstones past their time go; beyond `max`, the oldest.
fn prune(tx: &Transaction<'_>, now: i64, max: usize) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM tombs WHERE expires <= ?1")?
        .execute(params![now])?;
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "DELETE FROM tombs WHERE seq <= (SELECT seq FROM tombs ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
    )?
    .execute(params![max])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dropped(i: usize) -> Change {
        Change::Dropped {
            session: "s".into(),
            id: format!("m{i}"),
            failed: false,
        }
    }

    /// The queue's bound: beyond it a change is dropped, counted, the
    /// store reported not ok, and its waiter told; one nobody waits for
    /// keeps the store not ok.
    #[tokio::test]
    async fn a_full_queue_drops_counts_and_tells_the_waiter() {
        let (tx, _rx) = std::sync::mpsc::sync_channel(2);
        let queue = Queue::new(tx, Arc::default());
        queue.record(dropped(0));
        queue.record(dropped(1));
        assert_eq!(queue.status.dropped.load(Ordering::Relaxed), 0);
        assert!(queue.status.error.lock().is_none());
        queue.record(Change::Begun {
            session: "s".into(),
            id: "m".into(),
        });
        assert_eq!(queue.status.dropped.load(Ordering::Relaxed), 1);
        assert!(queue.status.error.lock().is_some());
        assert!(queue.written("s", "m").await.is_err(), "not on disk");
        assert_eq!(
            queue.status.lost.load(Ordering::Relaxed),
            0,
            "its waiter knows"
        );
        // One nobody waits for is lost: not ok until a restart, whatever
        // is written after.
        queue.record(dropped(2));
        assert_eq!(queue.status.lost.load(Ordering::Relaxed), 1);
        queue.status.set(&Ok(()), true);
        assert!(queue.status.error.lock().is_none());
        assert!(queue.status.problem().is_some(), "still not ok");
    }

    #[test]
    fn tombstones_are_pruned_to_their_bound_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut conn = super::super::schema::open(dir.path(), false).expect("open");
        let ops: Vec<Op> = (0..5).map(|i| Op::Change(dropped(i), None)).collect();
        write(&mut conn, &[], &ops, 60_000).expect("write");
        write(&mut conn, &[], &[Op::Prune { max: 2 }], 60_000).expect("prune");
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM tombs ORDER BY seq")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(ids, ["m3", "m4"]);
        // Expired ones go whatever the bound.
        write(&mut conn, &[], &[Op::Change(dropped(9), None)], -1).expect("write");
        write(&mut conn, &[], &[Op::Prune { max: 100 }], 0).expect("prune");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM tombs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 2, "the expired tombstone went");
    }
}
