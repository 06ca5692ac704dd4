//! The quota counters with the SQLite store: counted in memory
//! ([`MemoryCounters`], which decides and keeps every bound), written
//! through the store's writer thread, read back at start — so a restart
//! does not hand every visitor a fresh day.
//!
//! The writes are not waited for (a message is not held up by its count):
//! a crash may lose the counts of the last few milliseconds, never more
//! than the writer's last batch.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, Connection};

use super::writer::{now_ms, Queue};
use crate::store::counters::memory::MemoryCounters;
use crate::store::counters::{Counters, Take, Taken, Window};
use crate::store::journal::{Change, Journal};

/// A counter read back at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCount {
    /// The counter's key.
    pub key: String,
    /// Its window.
    pub window: Window,
    /// The window's start (unix ms).
    pub start: u64,
    /// Its count.
    pub count: u64,
}

/// Reads the counters whose window has not ended.
pub fn read(conn: &Connection) -> rusqlite::Result<Vec<SavedCount>> {
    let now = now_ms();
    conn.execute("DELETE FROM quota_counts WHERE ends <= ?1", params![now])?;
    let mut select = conn.prepare("SELECT key, window, start, count FROM quota_counts")?;
    let rows = select.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut saved = Vec::new();
    for row in rows {
        let (key, window, start, count) = row?;
        let window = match window.as_str() {
            "day" => Window::Day,
            "hour" => Window::Hour,
            // A window this build does not know: not ours to restore.
            _ => continue,
        };
        saved.push(SavedCount {
            key,
            window,
            start: u64::try_from(start).unwrap_or(0),
            count: u64::try_from(count).unwrap_or(0),
        });
    }
    Ok(saved)
}

/// Quota counters kept in the session database.
#[derive(Debug)]
pub struct SqliteCounters {
    local: MemoryCounters,
    queue: Arc<Queue>,
}

impl SqliteCounters {
    /// Counters bounded by `max_tracked`, starting from `saved`, written
    /// through `queue`.
    pub fn new(max_tracked: usize, saved: Vec<SavedCount>, queue: Arc<Queue>) -> Self {
        let local = MemoryCounters::new(max_tracked);
        for s in saved {
            local.restore(&s.key, s.window, s.start, s.count);
        }
        SqliteCounters { local, queue }
    }
}

#[async_trait]
impl Counters for SqliteCounters {
    async fn take(&self, takes: &[Take<'_>], now_ms: u64) -> Taken {
        let taken = self.local.take_now(takes, now_ms);
        if let Taken::Allowed { .. } = taken {
            for take in takes {
                let (start, ends) = take.window.bounds(now_ms);
                let count = self.local.count(take.key, take.window, now_ms).await;
                self.queue.record(Change::Counted {
                    key: take.key.to_owned(),
                    window: take.window.name(),
                    start,
                    ends,
                    count,
                });
            }
        }
        taken
    }

    async fn count(&self, key: &str, window: Window, now_ms: u64) -> u64 {
        self.local.count(key, window, now_ms).await
    }

    async fn sweep(&self, now_ms: u64) -> usize {
        self.queue.record(Change::CountsEnded { now_ms });
        self.local.sweep(now_ms).await
    }

    fn tracked(&self) -> usize {
        self.local.tracked()
    }
}
