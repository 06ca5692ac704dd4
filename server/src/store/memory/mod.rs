//! Who is connected to which conversation, and what each conversation is
//! still owed.
//!
//! This is what makes "never lost, never run twice" work across reconnects:
//! - **Dedup.** Within a session every message id is remembered: a `message`
//!   whose id is already in flight is not sent to n8n again (its answer goes
//!   to every open connection of the session when it comes), and one already
//!   answered gets the stored answer.
//! - **Retention.** An answer that completes while the session has no open
//!   connection is kept and sent as soon as one opens.
//!
//! Everything is bounded: answers per session, sessions, bytes, and age
//! (`--retain-for`); a session idle for longer than that is forgotten.
//! An outcome forgotten by any of these bounds leaves a tombstone (see
//! [`super::tombstones`]), so its id is still never run twice: a resend
//! gets `answer_lost`.
//!
//! All methods take a short `parking_lot::Mutex` and never await while
//! holding it. Sessions that may be forgotten (no connection, nothing in
//! flight) are also kept in an index ordered by when they were last seen,
//! so making room at the session cap and the periodic sweep take the oldest
//! in O(log n) instead of scanning every session under the lock.
//!
//! Its parts: [`session`] (one conversation: its connections, message ids
//! and what it is owed), [`idle`] (the registry's maps, the index of
//! sessions that may be forgotten, and forgetting them), [`restore`]
//! (reading a store back from disk), [`transcript`] (the sessions'
//! transcripts), and here the registry's operations.

mod idle;
mod restore;
mod session;
#[cfg(test)]
mod tests;
mod transcript;

use parking_lot::{Mutex, MutexGuard};
use shared::{MessageId, SessionId};
use std::collections::HashMap;

use shared::{ConversationItem, ServerMessage};
use tokio::time::Instant;

use self::idle::{evict_oldest_idle, remove_session, Inner};
use self::session::{Entry, Session};
use super::conversations::UserLists;
use super::journal::{Change, Journal};
use super::tombstones::Tombstones;
use super::transcripts::Transcripts;
use super::{Claim, ConnHandle, ConnId, Limits, Pushed, SessionStore, Stats, StoreHealth, Verdict};
use crate::frame::Frame;

/// The registry of sessions.
#[derive(Debug)]
pub struct Sessions {
    inner: Mutex<Inner>,
    limits: Limits,
    /// Verified users' lists of conversations (their own lock: they are
    /// not part of any session's state).
    pub lists: UserLists,
}

impl Sessions {
    /// An empty registry with these bounds.
    pub fn new(limits: Limits) -> Self {
        Self::with_journal(limits, None)
    }

    /// An empty registry that reports every change to `journal`.
    pub fn with_journal(limits: Limits, journal: Option<std::sync::Arc<dyn Journal>>) -> Self {
        Sessions {
            lists: UserLists::new(limits.clone(), journal.clone()),
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                retained_bytes: 0,
                idle: std::collections::BTreeMap::new(),
                next_seq: 0,
                tombs: Tombstones::new(limits.max_tombstones, limits.tombstone_ttl()),
                journal,
                restoring: false,
                transcripts: Transcripts::new(limits.max_retained_bytes),
            }),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than losing them, so keep serving.
        self.inner.lock()
    }

    /// Registers an open connection of `session` (creating the session if
    /// needed) and sends it every answer that arrived while none was open.
    pub fn attach(&self, session: &str, conn: ConnHandle) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
            inner.map.insert(session.to_string(), Session::new(now));
        }
        let Some(s) = inner.map.get_mut(session) else {
            return;
        };
        s.last_seen = now;
        let undelivered = std::mem::take(&mut s.undelivered);
        for frame in undelivered {
            if conn.try_send(frame.clone()).is_err() {
                s.undelivered.push(frame);
            }
        }
        let all_out = s.undelivered.is_empty();
        if all_out {
            // Every kept push went out: its bytes are free again.
            let freed = std::mem::take(&mut s.kept_pushes);
            inner.retained_bytes = inner.retained_bytes.saturating_sub(freed);
        }
        // Answers being streamed: everything so far, then the rest live.
        for (id, text) in &s.streamed {
            let whole = ServerMessage::Chunk {
                id: id.clone(),
                text: text.clone(),
                offset: Some(0),
            };
            let _ = conn.try_send(Frame::from(whole.encode()));
        }
        s.conns.push(conn);
        inner.reindex(session);
        if all_out {
            inner.note(Change::Delivered {
                session: session.to_string(),
            });
        } else {
            inner.seen(session);
        }
    }

    /// Unregisters a connection; the session is kept for `retain_for`.
    pub fn detach(&self, session: &str, conn: ConnId) {
        let mut inner = self.lock();
        if let Some(s) = inner.map.get_mut(session) {
            s.conns.retain(|c| c.id != conn);
            s.last_seen = Instant::now();
            inner.seen(session);
        }
        inner.reindex(session);
    }

    /// The stored answer frame of message `id`, if it was answered (not
    /// failed) and is still kept.
    pub fn answer_frame(&self, session: &str, id: &str) -> Option<Frame> {
        let guard = self.lock();
        match guard.map.get(session)?.messages.get(id)? {
            Entry::Done {
                frame,
                failed: false,
            } => Some(frame.clone()),
            _ => None,
        }
    }

    /// Decides what to do with message `id` of `session` (see [`Verdict`]).
    /// On [`Verdict::Start`] the caller must later call [`Sessions::complete`].
    ///
    /// A message that failed gets its error again, unless `retry` (the user
    /// asked to try again): an automatic resend never runs it twice.
    pub fn begin(&self, session: &str, id: &str, retry: bool) -> Verdict {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
        }
        let s = inner
            .map
            .entry(session.to_string())
            .or_insert_with(|| Session::new(now));
        s.last_seen = now;
        let buried = match s.messages.get(id) {
            None => inner.tombs.find(session, id, now),
            Some(_) => None,
        };
        let begin = match s.messages.get(id) {
            Some(Entry::InFlight) => Verdict::InFlight,
            Some(Entry::Done { frame, failed }) if !(*failed && retry) => {
                Verdict::Answered(frame.clone())
            }
            // Answered once and forgotten since: never run again (an
            // error may be, when the user asks to retry).
            None if buried.is_some_and(|failed| !(failed && retry)) => Verdict::Lost,
            _ if s.in_flight >= self.limits.max_in_flight_per_session => Verdict::Busy,
            _ => {
                s.in_flight += 1;
                if let Some(Entry::Done { frame, .. }) =
                    s.messages.insert(id.to_string(), Entry::InFlight)
                {
                    // A retry: the earlier error is no longer kept.
                    s.answered.retain(|a| a != id);
                    inner.retained_bytes = inner.retained_bytes.saturating_sub(frame.len());
                }
                Verdict::Start
            }
        };
        inner.reindex(session);
        if begin == Verdict::Start {
            inner.note(Change::Begun {
                session: session.to_string(),
                id: id.to_string(),
            });
        } else {
            inner.seen(session);
        }
        begin
    }

    /// Delivers a pushed frame to every open connection of `session`, or
    /// keeps it for the next one. `None` if the session is unknown (never
    /// seen, or forgotten after `retain_for`).
    pub fn push(&self, session: &str, frame: Frame) -> Option<Pushed> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let s = inner.map.get_mut(session)?;
        s.last_seen = Instant::now();
        let delivered = s.send_all(&frame).then_some(s.conns.len());
        inner.reindex(session);
        inner.seen(session);
        let s = inner.map.get_mut(session)?;
        if let Some(n) = delivered {
            return Some(Pushed::Delivered(n));
        }
        // Kept pushes count against --max-retained-bytes like answers; when
        // it is reached the push is refused (the caller hears so) rather
        // than evicting other conversations' answers.
        let len = frame.len();
        if s.undelivered.len() >= self.limits.max_answers_per_session
            || inner.retained_bytes.saturating_add(len) > self.limits.max_retained_bytes
        {
            return Some(Pushed::Full);
        }
        s.undelivered.push(frame.clone());
        s.kept_pushes += len;
        inner.retained_bytes += len;
        inner.note(Change::Kept {
            session: session.to_string(),
            frame,
        });
        Some(Pushed::Kept)
    }

    /// Sends a piece of a streamed answer to the session's open
    /// connections, with its offset; the text so far is kept while the
    /// message is in flight (a page that reconnects gets it at once).
    /// Returns the frame sent (for other relays), if the session is known.
    pub fn chunk(&self, session: &str, id: &str, text: &str) -> Option<Frame> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let s = inner.map.get_mut(session)?;
        if !matches!(s.messages.get(id), Some(Entry::InFlight)) {
            return None; // settled (or never started here): nothing to add
        }
        let so_far = s.streamed.entry(id.to_string()).or_default();
        let offset = so_far.len() as u64;
        so_far.push_str(text);
        inner.retained_bytes += text.len();
        let frame = Frame::from(
            ServerMessage::Chunk {
                id: id.to_string(),
                text: text.to_owned(),
                offset: Some(offset),
            }
            .encode(),
        );
        s.send_all(&frame);
        Some(frame)
    }

    /// Sends a `progress` frame of message `id` to the session's open
    /// connections, if the message is in flight here; whether it was.
    pub fn progress(&self, session: &str, id: &str, frame: &Frame) -> bool {
        let inner = self.lock();
        let Some(s) = inner.map.get(session) else {
            return false;
        };
        if !matches!(s.messages.get(id), Some(Entry::InFlight)) {
            return false; // settled: a late step would follow its answer
        }
        s.send_all(frame);
        true
    }

    /// Stores the final frame for message `id` and sends it to the
    /// session's open connections, or keeps it for the next one.
    ///
    /// Sending the same id again returns this frame (for an error, unless
    /// the client asks to retry; see [`Sessions::begin`]).
    pub fn complete(&self, session: &str, id: &str, frame: Frame, failed: bool) {
        self.settle(session, id, frame, failed, Settle::Deliver);
    }

    /// Like [`Sessions::complete`] but only records the frame: with a shared
    /// store the answer reaches the session's connections through Redis,
    /// wherever they are.
    pub fn record(&self, session: &str, id: &str, frame: Frame, failed: bool) {
        self.settle(session, id, frame, failed, Settle::Record);
    }

    /// Forgets that message `id` is in flight here (the shared store said
    /// another relay answers it, or already has).
    pub fn abandon(&self, session: &str, id: &str) {
        let mut inner = self.lock();
        if let Some(s) = inner.map.get_mut(session) {
            if matches!(s.messages.get(id), Some(Entry::InFlight)) {
                s.messages.remove(id);
                s.in_flight = s.in_flight.saturating_sub(1);
                let freed = s.forget_stream(id);
                inner.retained_bytes = inner.retained_bytes.saturating_sub(freed);
                inner.note(Change::Removed {
                    session: session.to_string(),
                    id: id.to_string(),
                });
            }
        }
        inner.reindex(session);
    }

    /// Sends `frame` (a `shutting_down` error) to the session's open
    /// connections and forgets message `id`, so that its resend — after the
    /// page reconnects, here or to another relay — runs it again instead of
    /// getting this error back.
    pub fn release(&self, session: &str, id: &str, frame: &Frame) {
        self.abandon(session, id);
        self.deliver(session, frame);
    }

    /// Sends `frame` to the session's open connections here; how many took
    /// it (0 if none is open, or the session is unknown here).
    pub fn deliver(&self, session: &str, frame: &Frame) -> usize {
        let inner = self.lock();
        inner.map.get(session).map_or(0, |s| s.send_count(frame))
    }

    /// Whether `user` may join `session`; an identified user becomes the
    /// owner of a session that has none (see [`Claim`]).
    pub fn claim(&self, session: &str, user: Option<&str>) -> Claim {
        let mut inner = self.lock();
        let Some(s) = inner.map.get_mut(session) else {
            return Claim::Unknown;
        };
        match (s.owner.as_deref(), user) {
            (None, None) => Claim::Granted,
            (None, Some(user)) => {
                s.owner = Some(user.to_owned());
                inner.note(Change::Owned {
                    session: session.to_string(),
                    user: user.to_owned(),
                });
                Claim::Granted
            }
            (Some(owner), Some(user)) if owner == user => Claim::Granted,
            (Some(_), _) => Claim::Refused,
        }
    }

    /// Forgets what the session keeps (a `forget` frame: the visitor
    /// deleted the conversation): its answers, pushes waiting and streamed
    /// text; a session with no connection and nothing in flight goes
    /// altogether. Each forgotten outcome leaves a tombstone (a keyed hash,
    /// no content), so a resend of its id gets `answer_lost`, never a second
    /// run. A message still in flight keeps its marker and its answer is
    /// kept as usual: it was asked before the forget. The transcript goes
    /// too, also one kept for a session forgotten before.
    pub fn erase(&self, session: &str) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(s) = inner.map.get_mut(session) else {
            if inner.transcripts.remove(session) {
                inner.note(Change::TranscriptDropped {
                    session: session.to_string(),
                });
            }
            return;
        };
        let mut removed = s.kept_pushes;
        let mut buried = Vec::new();
        s.messages.retain(|id, entry| match entry {
            Entry::Done { frame, failed } => {
                removed += frame.len();
                buried.push((id.clone(), *failed));
                false
            }
            Entry::InFlight => true,
        });
        s.answered.clear();
        s.undelivered.clear();
        s.kept_pushes = 0;
        let evictable = s.evictable();
        // Its transcript too (`Change::Erased` deletes it from disk).
        inner.transcripts.remove(session);
        for (id, failed) in buried {
            inner.tombs.bury(session, &id, failed, now);
        }
        inner.retained_bytes = inner.retained_bytes.saturating_sub(removed);
        inner.note(Change::Erased {
            session: session.to_string(),
        });
        if evictable {
            remove_session(inner, session);
        }
    }

    /// Whether the session is remembered here (connected or not).
    pub fn knows(&self, session: &str) -> bool {
        self.lock().map.contains_key(session)
    }

    /// Whether a message of the session began and is remembered here (see
    /// [`SessionStore::has_run`]). A session's newest answers are kept up
    /// to its bound, so one that ran something keeps at least one.
    pub fn has_run(&self, session: &str) -> bool {
        self.lock()
            .map
            .get(session)
            .is_some_and(|s| !s.messages.is_empty())
    }

    /// How many tombstones are kept (see [`super::tombstones`]).
    pub fn tombstones(&self) -> usize {
        self.lock().tombs.len()
    }

    /// Whether the session has an open connection here.
    pub fn is_connected(&self, session: &str) -> bool {
        let inner = self.lock();
        inner.map.get(session).is_some_and(|s| !s.conns.is_empty())
    }

    /// The sessions with an open connection here.
    pub fn connected_sessions(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .map
            .iter()
            .filter(|(_, s)| !s.conns.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn settle(&self, session: &str, id: &str, frame: Frame, failed: bool, how: Settle) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if matches!(how, Settle::Restore { .. }) {
            self.ensure_session(inner, session, now);
        }
        let Some(s) = inner.map.get_mut(session) else {
            tracing::warn!(session = %crate::redact::session(session), id, "answer for a forgotten session dropped");
            return;
        };
        let previous = s.messages.insert(
            id.to_string(),
            Entry::Done {
                frame: frame.clone(),
                failed,
            },
        );
        let mut removed = s.forget_stream(id);
        match previous {
            Some(Entry::InFlight) => s.in_flight = s.in_flight.saturating_sub(1),
            // A retried failure replaces its earlier error.
            Some(Entry::Done { frame: old, .. }) => {
                removed += old.len();
                s.answered.retain(|a| a != id);
            }
            None => {}
        }
        s.answered.push_back(id.to_string());
        let added = frame.len();
        s.last_seen = now;
        let undelivered = match how {
            Settle::Deliver => !s.send_all(&frame),
            Settle::Record => false,
            Settle::Restore { undelivered } => undelivered,
        };
        if undelivered {
            s.undelivered.push(frame.clone());
        }
        let mut dropped = Vec::new();
        while s.answered.len() > self.limits.max_answers_per_session {
            if let Some(old) = s.answered.pop_front() {
                if let Some(Entry::Done { frame, failed }) = s.messages.remove(&old) {
                    removed += frame.len();
                    inner.tombs.bury(session, &old, failed, now);
                    dropped.push((old, failed));
                }
            }
        }
        inner.note(Change::Settled {
            session: session.to_string(),
            id: id.to_string(),
            frame,
            failed,
            undelivered,
        });
        for (old, failed) in dropped {
            inner.note(Change::Dropped {
                session: session.to_string(),
                id: old,
                failed,
            });
        }
        inner.retained_bytes = inner
            .retained_bytes
            .saturating_add(added)
            .saturating_sub(removed);
        inner.reindex(session);
        self.enforce_byte_cap(inner, session);
    }

    /// Forgets sessions idle (no connection, nothing in flight) for longer
    /// than `retain_for`. Returns how many were forgotten.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let retain_for = self.limits.retain_for;
        let mut inner = self.lock();
        let expired: Vec<String> = inner
            .idle
            .iter()
            .take_while(|((seen, _), _)| now.duration_since(*seen) >= retain_for)
            .map(|(_, key)| key.clone())
            .collect();
        for key in &expired {
            remove_session(&mut inner, key);
        }
        inner.tombs.expire(now);
        drop(inner);
        let now_ms = crate::clock::now_ms();
        self.lists.sweep(now_ms);
        self.sweep_transcripts(now_ms);
        expired.len()
    }

    /// Current counts.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            sessions: inner.map.len(),
            in_flight: inner.map.values().map(|s| s.in_flight).sum(),
            retained_bytes: inner.retained_bytes,
        }
    }

    /// Creates `session` if it is not remembered, making room first.
    fn ensure_session(&self, inner: &mut Inner, session: &str, now: Instant) {
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
            inner.map.insert(session.to_string(), Session::new(now));
        }
    }

    fn make_room_for_one(&self, inner: &mut Inner) {
        while inner.map.len() >= self.limits.max_sessions {
            if !evict_oldest_idle(inner, None) {
                break;
            }
        }
    }

    fn enforce_byte_cap(&self, inner: &mut Inner, current: &str) {
        while inner.retained_bytes > self.limits.max_retained_bytes {
            if evict_oldest_idle(inner, Some(current)) {
                continue;
            }
            // Only live sessions remain: drop the current session's oldest answers.
            let Some(s) = inner.map.get_mut(current) else {
                break;
            };
            let Some(old) = s.answered.pop_front() else {
                break;
            };
            if let Some(Entry::Done { frame, failed }) = s.messages.remove(&old) {
                inner.retained_bytes = inner.retained_bytes.saturating_sub(frame.len());
                inner.tombs.bury(current, &old, failed, Instant::now());
                inner.note(Change::Dropped {
                    session: current.to_owned(),
                    id: old,
                    failed,
                });
            }
        }
    }
}

/// What [`Sessions::settle`] does with the final frame besides storing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settle {
    /// Sends it to the open connections, or keeps it for the next one.
    Deliver,
    /// Nothing (another path delivers it).
    Record,
    /// Read back from disk at start: kept for the next connection if it
    /// had not been delivered.
    Restore { undelivered: bool },
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn attach(&self, session: &SessionId, conn: ConnHandle) {
        Sessions::attach(self, session, conn);
    }

    async fn detach(&self, session: &SessionId, conn: ConnId) {
        Sessions::detach(self, session, conn);
    }

    async fn begin(&self, session: &SessionId, id: &MessageId, retry: bool) -> Verdict {
        Sessions::begin(self, session, id, retry)
    }

    fn chunk(&self, session: &SessionId, id: &MessageId, text: &str) {
        Sessions::chunk(self, session, id, text);
    }

    fn progress(&self, session: &SessionId, id: &MessageId, frame: Frame) {
        Sessions::progress(self, session, id, &frame);
    }

    async fn complete(&self, session: &SessionId, id: &MessageId, frame: Frame, failed: bool) {
        Sessions::complete(self, session, id, frame, failed);
    }

    async fn release(&self, session: &SessionId, id: &MessageId, frame: Frame) {
        Sessions::release(self, session, id, &frame);
    }

    async fn push(&self, session: &SessionId, frame: Frame) -> Option<Pushed> {
        Sessions::push(self, session, frame)
    }

    async fn maintain(&self) -> usize {
        self.sweep()
    }

    fn is_connected(&self, session: &SessionId) -> bool {
        Sessions::is_connected(self, session)
    }

    async fn knows(&self, session: &SessionId) -> bool {
        Sessions::knows(self, session)
    }

    async fn has_run(&self, session: &SessionId) -> bool {
        Sessions::has_run(self, session)
    }

    async fn forget(&self, session: &SessionId) {
        Sessions::erase(self, session);
    }

    async fn claim(&self, session: &SessionId, user: Option<&str>) -> Claim {
        Sessions::claim(self, session, user)
    }

    async fn answer_frame(&self, session: &SessionId, id: &MessageId) -> Option<Frame> {
        Sessions::answer_frame(self, session, id)
    }

    async fn conversations(&self, user: &str, now_ms: u64) -> Option<Vec<ConversationItem>> {
        Some(self.lists.list(user, now_ms))
    }

    async fn save_conversation(
        &self,
        user: &str,
        item: ConversationItem,
        now_ms: u64,
    ) -> Option<Vec<ConversationItem>> {
        Some(self.lists.save(user, item, now_ms))
    }

    async fn drop_conversation(&self, user: &str, session: &SessionId) {
        self.lists.remove(user, session);
    }

    async fn lists_conversation(&self, user: &str, session: &SessionId, now_ms: u64) -> bool {
        self.lists.contains(user, session, now_ms)
    }

    async fn record_lines(
        &self,
        session: &str,
        _user: Option<&str>,
        lines: Vec<super::transcripts::Line>,
        now_ms: u64,
    ) {
        Sessions::record_lines(self, session, lines, now_ms);
    }

    async fn transcript(&self, session: &SessionId) -> Option<Vec<super::transcripts::Line>> {
        Sessions::transcript(self, session)
    }

    fn stats(&self) -> Stats {
        Sessions::stats(self)
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            kind: "memory",
            ok: true,
            error: None,
            pending: None,
        }
    }
}
