//! Reading the database back at start.
//!
//! First the messages the last run left in flight: it died while n8n was
//! (maybe) running them, so nobody can know whether they ran. By default
//! each becomes its `interrupted` error — a stored outcome, so a resend
//! gets that error and only the user's Retry runs it again; with
//! `--rerun-interrupted` the marker is removed and a resend runs it.
//!
//! Then everything is handed to the memory store, sessions oldest first,
//! through the same bounds as live changes: what they push out (the flags
//! were lowered since) is reported to the journal and so pruned from disk.

use std::time::Duration;

use rusqlite::{params, Connection};

use super::writer::now_ms;
use crate::frame::Frame;
use crate::store::interrupted_frame;
use crate::store::memory::Sessions;
use crate::store::transcripts::Line;

/// What the database holds, read in one go.
#[derive(Debug, Default)]
pub struct Saved {
    /// Sessions, least recently seen first.
    sessions: Vec<SavedSession>,
    /// Tombstones, oldest first: (session, id, failed, ms left).
    tombs: Vec<(String, String, bool, i64)>,
    /// Messages found in flight (now `interrupted`, or removed).
    pub interrupted: usize,
    /// Users' conversations, least recently saved first: (user, entry).
    conversations: Vec<(String, shared::ConversationItem)>,
    /// Transcripts, the least recently written first: (session, lines
    /// oldest first, when the last was written).
    transcripts: Vec<(String, Vec<Line>, u64)>,
}

#[derive(Debug)]
struct SavedSession {
    id: String,
    idle_ms: i64,
    /// (id, frame, failed, undelivered), oldest first.
    outcomes: Vec<(String, String, bool, bool)>,
    kept: Vec<String>,
    /// The verified user it belongs to, if any.
    owner: Option<String>,
}

/// Settles the last run's messages in flight, then reads everything.
pub fn read(conn: &mut Connection, rerun_interrupted: bool) -> rusqlite::Result<Saved> {
    let now = now_ms();
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM tombs WHERE expires <= ?1", params![now])?;
    let in_flight: Vec<(i64, String)> = tx
        .prepare("SELECT seq, id FROM messages WHERE frame IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (seq, id) in &in_flight {
        if rerun_interrupted {
            tx.execute("DELETE FROM messages WHERE seq = ?1", params![seq])?;
        } else {
            tx.execute(
                "UPDATE messages SET frame = ?2, failed = 1, undelivered = 0 WHERE seq = ?1",
                params![seq, interrupted_frame(id).as_str()],
            )?;
        }
    }
    tx.commit()?;
    let mut saved = Saved {
        interrupted: in_flight.len(),
        ..Saved::default()
    };
    let mut sessions =
        conn.prepare("SELECT id, last_seen, owner FROM sessions ORDER BY last_seen")?;
    let mut outcomes = conn.prepare(
        "SELECT id, frame, failed, undelivered FROM messages WHERE session = ?1 ORDER BY seq",
    )?;
    let mut kept = conn.prepare("SELECT frame FROM kept WHERE session = ?1 ORDER BY seq")?;
    let rows: Vec<(String, i64, Option<String>)> = sessions
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, last_seen, owner) in rows {
        saved.sessions.push(SavedSession {
            outcomes: outcomes
                .query_map(params![id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?,
            kept: kept
                .query_map(params![id], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            idle_ms: now.saturating_sub(last_seen).max(0),
            owner,
            id,
        });
    }
    saved.tombs = conn
        .prepare("SELECT session, id, failed, expires FROM tombs ORDER BY seq")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? - now))
        })?
        .collect::<Result<_, _>>()?;
    saved.conversations = conn
        .prepare(
            "SELECT user, session, title, updated_at FROM user_conversations ORDER BY updated_at",
        )?
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                shared::ConversationItem {
                    session: r.get(1)?,
                    title: r.get(2)?,
                    updated_at: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                },
            ))
        })?
        .collect::<Result<_, _>>()?;
    saved.transcripts = read_transcripts(conn)?;
    Ok(saved)
}

/// Every transcript, grouped by session, the least recently written first.
fn read_transcripts(conn: &Connection) -> rusqlite::Result<Vec<(String, Vec<Line>, u64)>> {
    let mut by_session: std::collections::HashMap<String, (i64, Vec<Line>, u64)> =
        std::collections::HashMap::new();
    let mut rows =
        conn.prepare("SELECT seq, session, role, text, at FROM transcript_lines ORDER BY seq")?;
    let rows = rows.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    for row in rows {
        let (seq, session, role, text, at) = row?;
        let line = Line {
            role: if role == 1 {
                shared::Role::Bot
            } else {
                shared::Role::User
            },
            text,
        };
        let entry = by_session.entry(session).or_insert((seq, Vec::new(), 0));
        entry.0 = seq;
        entry.1.push(line);
        entry.2 = entry.2.max(u64::try_from(at).unwrap_or(0));
    }
    let mut all: Vec<(i64, String, Vec<Line>, u64)> = by_session
        .into_iter()
        .map(|(session, (seq, lines, at))| (seq, session, lines, at))
        .collect();
    all.sort_by_key(|(seq, ..)| *seq);
    Ok(all
        .into_iter()
        .map(|(_, session, lines, at)| (session, lines, at))
        .collect())
}

/// Hands what was read to the memory store (its journal attached, so what
/// the bounds evict is pruned from disk). How many sessions were read.
pub fn restore(saved: Saved, local: &Sessions) -> usize {
    local.set_restoring(true);
    for (session, id, failed, left_ms) in saved.tombs {
        let left = u32::try_from(left_ms.max(0) / 1000 + 1).unwrap_or(u32::MAX);
        local.restore_tombstone(&session, &id, failed, left);
    }
    let n = saved.sessions.len();
    for s in saved.sessions {
        for (id, frame, failed, undelivered) in s.outcomes {
            local.restore_outcome(&s.id, &id, Frame::from(frame), failed, undelivered);
        }
        for frame in s.kept {
            local.restore_push(&s.id, Frame::from(frame));
        }
        let idle = Duration::from_millis(u64::try_from(s.idle_ms).unwrap_or(0));
        local.restore_seen(&s.id, idle);
        if let Some(owner) = s.owner {
            local.claim(&s.id, Some(&owner));
        }
    }
    // Through the same bounds as live saves: what they push out (expired,
    // or the bounds were lowered) is deleted from disk by the journal.
    let now = u64::try_from(now_ms()).unwrap_or(0);
    for (user, item) in saved.conversations {
        local.lists.restore(&user, item, now);
    }
    // After the sessions and lists: one whose session is gone is kept only
    // for the user whose list holds it.
    for (session, lines, at) in saved.transcripts {
        local.restore_lines(&session, lines, at);
    }
    local.restore_orphans(now);
    local.set_restoring(false);
    n
}
