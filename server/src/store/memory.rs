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
//! All methods take a short `std::sync::Mutex` and never await while
//! holding it. Sessions that may be forgotten (no connection, nothing in
//! flight) are also kept in an index ordered by when they were last seen,
//! so making room at the session cap and the periodic sweep take the oldest
//! in O(log n) instead of scanning every session under the lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use shared::ServerMessage;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::journal::{Change, Journal};
use super::tombstones::Tombstones;
use super::{Begin, Claim, ConnHandle, ConnId, Limits, Pushed, SessionStore, Stats, StoreHealth};

#[derive(Debug)]
enum Entry {
    InFlight,
    /// The final frame: an answer, or an error (`failed`).
    Done {
        frame: Utf8Bytes,
        failed: bool,
    },
}

#[derive(Debug)]
struct Session {
    conns: Vec<ConnHandle>,
    messages: HashMap<String, Entry>,
    answered: VecDeque<String>,
    undelivered: Vec<Utf8Bytes>,
    /// Bytes of pushes waiting in `undelivered` (answers there are also in
    /// `messages` and counted once, from there).
    kept_pushes: usize,
    in_flight: usize,
    /// The text streamed so far of each message in flight, for a page that
    /// reconnects mid-stream.
    streamed: HashMap<String, String>,
    last_seen: Instant,
    /// Its key in [`Inner::idle`] while it is evictable.
    idle_key: Option<IdleKey>,
    /// The verified user it belongs to (see [`Sessions::claim`]); bounded
    /// by the identity checks (`identity::claims::MAX_USER_ID_CHARS`).
    owner: Option<String>,
}

/// When a session was last seen, and a sequence number for ties.
type IdleKey = (Instant, u64);

impl Session {
    fn new(now: Instant) -> Self {
        Session {
            conns: Vec::new(),
            messages: HashMap::new(),
            answered: VecDeque::new(),
            undelivered: Vec::new(),
            kept_pushes: 0,
            in_flight: 0,
            streamed: HashMap::new(),
            last_seen: now,
            idle_key: None,
            owner: None,
        }
    }

    fn retained_bytes(&self) -> usize {
        self.messages
            .values()
            .map(|e| match e {
                Entry::Done { frame, .. } => frame.len(),
                Entry::InFlight => 0,
            })
            .sum::<usize>()
            + self.kept_pushes
            + self.streamed.values().map(String::len).sum::<usize>()
    }

    /// Forgets the streamed text of `id`; its bytes.
    fn forget_stream(&mut self, id: &str) -> usize {
        self.streamed.remove(id).map_or(0, |t| t.len())
    }

    fn evictable(&self) -> bool {
        self.conns.is_empty() && self.in_flight == 0
    }

    /// Sends `frame` to every open connection; true if at least one took it.
    fn send_all(&self, frame: &Utf8Bytes) -> bool {
        self.send_count(frame) > 0
    }

    /// Sends `frame` to every open connection; how many took it.
    fn send_count(&self, frame: &Utf8Bytes) -> usize {
        let mut delivered = 0;
        for conn in &self.conns {
            match conn.tx.try_send(frame.clone()) {
                Ok(()) => delivered += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(conn = conn.id, "client is not reading; closing it");
                    conn.kick.cancel();
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        delivered
    }
}

#[derive(Debug)]
struct Inner {
    map: HashMap<String, Session>,
    retained_bytes: usize,
    /// The evictable sessions, oldest first.
    idle: std::collections::BTreeMap<IdleKey, String>,
    next_seq: u64,
    /// Ids whose outcome was forgotten (see [`super::tombstones`]).
    tombs: Tombstones,
    /// Where changes are written down, if anywhere (see [`super::journal`]).
    journal: Option<std::sync::Arc<dyn Journal>>,
    /// While the store is read back from disk: only evictions are reported.
    restoring: bool,
}

impl Inner {
    /// Reports `change` to the journal, if there is one.
    fn note(&self, change: Change) {
        if let Some(journal) = &self.journal {
            if !(self.restoring && change.restates()) {
                journal.record(change);
            }
        }
    }

    fn seen(&self, session: &str) {
        if self.journal.is_some() {
            self.note(Change::Seen {
                session: session.to_owned(),
            });
        }
    }

    /// Brings the idle index up to date for `key` after a change to its
    /// connections, messages in flight or last-seen time. Every method that
    /// changes those calls it before releasing the lock.
    fn reindex(&mut self, key: &str) {
        let Inner {
            map,
            idle,
            next_seq,
            ..
        } = self;
        let Some(s) = map.get_mut(key) else {
            return;
        };
        let want = s.evictable().then_some(s.last_seen);
        if s.idle_key.map(|(at, _)| at) == want {
            return;
        }
        if let Some(old) = s.idle_key.take() {
            idle.remove(&old);
        }
        if let Some(at) = want {
            *next_seq += 1;
            let k = (at, *next_seq);
            s.idle_key = Some(k);
            idle.insert(k, key.to_owned());
        }
    }
}

/// The registry of sessions.
#[derive(Debug)]
pub struct Sessions {
    inner: Mutex<Inner>,
    limits: Limits,
}

impl Sessions {
    /// An empty registry with these bounds.
    pub fn new(limits: Limits) -> Self {
        Self::with_journal(limits, None)
    }

    /// An empty registry that reports every change to `journal`.
    pub fn with_journal(limits: Limits, journal: Option<std::sync::Arc<dyn Journal>>) -> Self {
        Sessions {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                retained_bytes: 0,
                idle: std::collections::BTreeMap::new(),
                next_seq: 0,
                tombs: Tombstones::new(limits.max_tombstones, limits.tombstone_ttl()),
                journal,
                restoring: false,
            }),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than losing them, so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers an open connection of `session` (creating the session if
    /// needed) and sends it every answer that arrived while none was open.
    pub fn attach(&self, session: &str, conn: ConnHandle) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
            inner.map.insert(session.to_owned(), Session::new(now));
        }
        let Some(s) = inner.map.get_mut(session) else {
            return;
        };
        s.last_seen = now;
        let undelivered = std::mem::take(&mut s.undelivered);
        for frame in undelivered {
            if conn.tx.try_send(frame.clone()).is_err() {
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
            let _ = conn.tx.try_send(Utf8Bytes::from(whole.encode()));
        }
        s.conns.push(conn);
        inner.reindex(session);
        if all_out {
            inner.note(Change::Delivered {
                session: session.to_owned(),
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
    pub fn answer_frame(&self, session: &str, id: &str) -> Option<Utf8Bytes> {
        let guard = self.lock();
        match guard.map.get(session)?.messages.get(id)? {
            Entry::Done {
                frame,
                failed: false,
            } => Some(frame.clone()),
            _ => None,
        }
    }

    /// Decides what to do with message `id` of `session` (see [`Begin`]).
    /// On [`Begin::Start`] the caller must later call [`Sessions::complete`].
    ///
    /// A message that failed gets its error again, unless `retry` (the user
    /// asked to try again): an automatic resend never runs it twice.
    pub fn begin(&self, session: &str, id: &str, retry: bool) -> Begin {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
        }
        let s = inner
            .map
            .entry(session.to_owned())
            .or_insert_with(|| Session::new(now));
        s.last_seen = now;
        let buried = match s.messages.get(id) {
            None => inner.tombs.find(session, id, now),
            Some(_) => None,
        };
        let begin = match s.messages.get(id) {
            Some(Entry::InFlight) => Begin::InFlight,
            Some(Entry::Done { frame, failed }) if !(*failed && retry) => {
                Begin::Answered(frame.clone())
            }
            // Answered once and forgotten since: never run again (an
            // error may be, when the user asks to retry).
            None if buried.is_some_and(|failed| !(failed && retry)) => Begin::Lost,
            _ if s.in_flight >= self.limits.max_in_flight_per_session => Begin::Busy,
            _ => {
                s.in_flight += 1;
                if let Some(Entry::Done { frame, .. }) =
                    s.messages.insert(id.to_owned(), Entry::InFlight)
                {
                    // A retry: the earlier error is no longer kept.
                    s.answered.retain(|a| a != id);
                    inner.retained_bytes = inner.retained_bytes.saturating_sub(frame.len());
                }
                Begin::Start
            }
        };
        inner.reindex(session);
        if begin == Begin::Start {
            inner.note(Change::Begun {
                session: session.to_owned(),
                id: id.to_owned(),
            });
        } else {
            inner.seen(session);
        }
        begin
    }

    /// Delivers a pushed frame to every open connection of `session`, or
    /// keeps it for the next one. `None` if the session is unknown (never
    /// seen, or forgotten after `retain_for`).
    pub fn push(&self, session: &str, frame: Utf8Bytes) -> Option<Pushed> {
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
            session: session.to_owned(),
            frame,
        });
        Some(Pushed::Kept)
    }

    /// Sends a piece of a streamed answer to the session's open
    /// connections, with its offset; the text so far is kept while the
    /// message is in flight (a page that reconnects gets it at once).
    /// Returns the frame sent (for other relays), if the session is known.
    pub fn chunk(&self, session: &str, id: &str, text: &str) -> Option<Utf8Bytes> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let s = inner.map.get_mut(session)?;
        if !matches!(s.messages.get(id), Some(Entry::InFlight)) {
            return None; // settled (or never started here): nothing to add
        }
        let so_far = s.streamed.entry(id.to_owned()).or_default();
        let offset = so_far.len() as u64;
        so_far.push_str(text);
        inner.retained_bytes += text.len();
        let frame = Utf8Bytes::from(
            ServerMessage::Chunk {
                id: id.to_owned(),
                text: text.to_owned(),
                offset: Some(offset),
            }
            .encode(),
        );
        s.send_all(&frame);
        Some(frame)
    }

    /// Stores the final frame for message `id` and sends it to the
    /// session's open connections, or keeps it for the next one.
    ///
    /// Sending the same id again returns this frame (for an error, unless
    /// the client asks to retry; see [`Sessions::begin`]).
    pub fn complete(&self, session: &str, id: &str, frame: Utf8Bytes, failed: bool) {
        self.settle(session, id, frame, failed, Settle::Deliver);
    }

    /// Like [`Sessions::complete`] but only records the frame: with a shared
    /// store the answer reaches the session's connections through Redis,
    /// wherever they are.
    pub fn record(&self, session: &str, id: &str, frame: Utf8Bytes, failed: bool) {
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
                    session: session.to_owned(),
                    id: id.to_owned(),
                });
            }
        }
        inner.reindex(session);
    }

    /// Sends `frame` (a `shutting_down` error) to the session's open
    /// connections and forgets message `id`, so that its resend — after the
    /// page reconnects, here or to another relay — runs it again instead of
    /// getting this error back.
    pub fn release(&self, session: &str, id: &str, frame: &Utf8Bytes) {
        self.abandon(session, id);
        self.deliver(session, frame);
    }

    /// Sends `frame` to the session's open connections here; how many took
    /// it (0 if none is open, or the session is unknown here).
    pub fn deliver(&self, session: &str, frame: &Utf8Bytes) -> usize {
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
                    session: session.to_owned(),
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
    /// kept as usual: it was asked before the forget.
    pub fn erase(&self, session: &str) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(s) = inner.map.get_mut(session) else {
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
        for (id, failed) in buried {
            inner.tombs.bury(session, &id, failed, now);
        }
        inner.retained_bytes = inner.retained_bytes.saturating_sub(removed);
        inner.note(Change::Erased {
            session: session.to_owned(),
        });
        if evictable {
            remove_session(inner, session);
        }
    }

    /// Whether the session is remembered here (connected or not).
    pub fn knows(&self, session: &str) -> bool {
        self.lock().map.contains_key(session)
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

    fn settle(&self, session: &str, id: &str, frame: Utf8Bytes, failed: bool, how: Settle) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if matches!(how, Settle::Restore { .. }) {
            if !inner.map.contains_key(session) {
                self.make_room_for_one(inner);
                inner.map.insert(session.to_owned(), Session::new(now));
            }
        }
        let Some(s) = inner.map.get_mut(session) else {
            tracing::warn!(session = %crate::redact::session(session), id, "answer for a forgotten session dropped");
            return;
        };
        let previous = s.messages.insert(
            id.to_owned(),
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
        s.answered.push_back(id.to_owned());
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
            session: session.to_owned(),
            id: id.to_owned(),
            frame,
            failed,
            undelivered,
        });
        for (old, failed) in dropped {
            inner.note(Change::Dropped {
                session: session.to_owned(),
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

/// Reading the store back from disk at start (see [`super::sqlite`]): the
/// same bounds apply as to live changes, and what they evict is reported
/// to the journal, so the disk is pruned to match.
impl Sessions {
    /// Starts or ends reading back: meanwhile only evictions are reported.
    pub fn set_restoring(&self, on: bool) {
        self.lock().restoring = on;
    }

    /// A stored outcome of `session` (oldest first), as if just settled.
    pub fn restore_outcome(
        &self,
        session: &str,
        id: &str,
        frame: Utf8Bytes,
        failed: bool,
        undelivered: bool,
    ) {
        self.settle(session, id, frame, failed, Settle::Restore { undelivered });
    }

    /// A kept push of `session`, as if just pushed with no connection open.
    pub fn restore_push(&self, session: &str, frame: Utf8Bytes) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
            inner.map.insert(session.to_owned(), Session::new(now));
        }
        let Some(s) = inner.map.get_mut(session) else {
            return;
        };
        let len = frame.len();
        if s.undelivered.len() >= self.limits.max_answers_per_session
            || inner.retained_bytes.saturating_add(len) > self.limits.max_retained_bytes
        {
            return;
        }
        s.undelivered.push(frame);
        s.kept_pushes += len;
        inner.retained_bytes += len;
        inner.reindex(session);
    }

    /// When `session` was last seen: `ago` before now (after its outcomes
    /// were restored, which made it look new).
    pub fn restore_seen(&self, session: &str, ago: std::time::Duration) {
        let now = Instant::now();
        let mut guard = self.lock();
        let inner = &mut *guard;
        if !inner.map.contains_key(session) {
            self.make_room_for_one(inner);
            inner.map.insert(session.to_owned(), Session::new(now));
        }
        if let Some(s) = inner.map.get_mut(session) {
            s.last_seen = now.checked_sub(ago).unwrap_or(now);
        }
        inner.reindex(session);
    }

    /// A tombstone read back from disk, with `left_secs` to live.
    pub fn restore_tombstone(&self, session: &str, id: &str, failed: bool, left_secs: u32) {
        self.lock()
            .tombs
            .bury_for(session, id, failed, Instant::now(), left_secs);
    }
}

/// Forgets a session; each outcome it kept leaves a tombstone.
fn remove_session(inner: &mut Inner, key: &str) {
    if let Some(s) = inner.map.remove(key) {
        inner.retained_bytes = inner.retained_bytes.saturating_sub(s.retained_bytes());
        if let Some(k) = s.idle_key {
            inner.idle.remove(&k);
        }
        let now = Instant::now();
        for (id, entry) in &s.messages {
            if let Entry::Done { failed, .. } = entry {
                inner.tombs.bury(key, id, *failed, now);
            }
        }
        inner.note(Change::Forgotten {
            session: key.to_owned(),
        });
    }
}

/// Evicts the idle session unseen for longest (never `keep`); false if none.
/// O(log n): the oldest from the idle index (skipping at most `keep`).
fn evict_oldest_idle(inner: &mut Inner, keep: Option<&str>) -> bool {
    let oldest = inner
        .idle
        .values()
        .find(|k| Some(k.as_str()) != keep)
        .cloned();
    match oldest {
        Some(key) => {
            tracing::debug!(session = %crate::redact::session(&key), "session evicted to stay within limits");
            remove_session(inner, &key);
            true
        }
        None => false,
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn attach(&self, session: &str, conn: ConnHandle) {
        Sessions::attach(self, session, conn);
    }

    async fn detach(&self, session: &str, conn: ConnId) {
        Sessions::detach(self, session, conn);
    }

    async fn begin(&self, session: &str, id: &str, retry: bool) -> Begin {
        Sessions::begin(self, session, id, retry)
    }

    fn chunk(&self, session: &str, id: &str, text: &str) {
        Sessions::chunk(self, session, id, text);
    }

    async fn complete(&self, session: &str, id: &str, frame: Utf8Bytes, failed: bool) {
        Sessions::complete(self, session, id, frame, failed);
    }

    async fn release(&self, session: &str, id: &str, frame: Utf8Bytes) {
        Sessions::release(self, session, id, &frame);
    }

    async fn push(&self, session: &str, frame: Utf8Bytes) -> Option<Pushed> {
        Sessions::push(self, session, frame)
    }

    async fn maintain(&self) -> usize {
        self.sweep()
    }

    fn is_connected(&self, session: &str) -> bool {
        Sessions::is_connected(self, session)
    }

    async fn knows(&self, session: &str) -> bool {
        Sessions::knows(self, session)
    }

    async fn forget(&self, session: &str) {
        Sessions::erase(self, session);
    }

    async fn claim(&self, session: &str, user: Option<&str>) -> Claim {
        Sessions::claim(self, session, user)
    }

    async fn answer_frame(&self, session: &str, id: &str) -> Option<Utf8Bytes> {
        Sessions::answer_frame(self, session, id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    fn conn(id: ConnId) -> (ConnHandle, mpsc::Receiver<Utf8Bytes>) {
        let (tx, rx) = mpsc::channel(4);
        (
            ConnHandle {
                id,
                tx,
                kick: CancellationToken::new(),
            },
            rx,
        )
    }

    fn frame(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s.to_owned())
    }

    fn limits() -> Limits {
        Limits {
            retain_for: Duration::from_secs(60),
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn kept_pushes_count_against_the_byte_cap_until_delivered() {
        let sessions = Sessions::new(Limits {
            max_retained_bytes: 10,
            ..limits()
        });
        assert_eq!(sessions.push("nobody", frame("x")), None, "unknown session");
        let (c, _rx) = conn(1);
        sessions.attach("s", c);
        sessions.detach("s", 1);
        assert_eq!(sessions.push("s", frame("123456")), Some(Pushed::Kept));
        assert_eq!(sessions.stats().retained_bytes, 6);
        assert_eq!(
            sessions.push("s", frame("12345")),
            Some(Pushed::Full),
            "6 + 5 bytes would pass the 10-byte cap"
        );
        assert_eq!(sessions.push("s", frame("1234")), Some(Pushed::Kept));
        assert_eq!(sessions.stats().retained_bytes, 10);
        let (c, mut rx) = conn(2);
        sessions.attach("s", c);
        assert_eq!(rx.try_recv().ok(), Some(frame("123456")));
        assert_eq!(rx.try_recv().ok(), Some(frame("1234")));
        assert_eq!(sessions.stats().retained_bytes, 0, "delivered: freed");
        assert_eq!(
            sessions.push("s", frame("live")),
            Some(Pushed::Delivered(1))
        );
        assert_eq!(rx.try_recv().ok(), Some(frame("live")));
        // A forgotten session takes its kept pushes' bytes with it.
        sessions.detach("s", 2);
        assert_eq!(sessions.push("s", frame("12345678")), Some(Pushed::Kept));
        assert_eq!(sessions.stats().retained_bytes, 8);
        tokio::time::pause();
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(sessions.sweep(), 1);
        assert_eq!(sessions.stats().retained_bytes, 0);
    }

    #[tokio::test]
    async fn a_released_message_starts_again_when_resent() {
        let sessions = Sessions::new(limits());
        let (c, mut rx) = conn(1);
        sessions.attach("s", c);
        assert_eq!(sessions.begin("s", "m1", false), Begin::Start);
        sessions.release("s", "m1", &frame("shutting down"));
        assert_eq!(rx.try_recv().ok(), Some(frame("shutting down")));
        assert_eq!(sessions.stats().in_flight, 0);
        assert_eq!(
            sessions.begin("s", "m1", false),
            Begin::Start,
            "not answered from memory"
        );
    }

    #[tokio::test]
    async fn new_ids_start_repeated_ids_do_not() {
        let sessions = Sessions::new(limits());
        let (c, mut rx) = conn(1);
        sessions.attach("s", c);
        assert_eq!(sessions.begin("s", "m1", false), Begin::Start);
        assert_eq!(sessions.begin("s", "m1", false), Begin::InFlight);
        assert_eq!(sessions.stats().in_flight, 1);
        sessions.complete("s", "m1", frame("answer"), false);
        assert_eq!(rx.try_recv().ok(), Some(frame("answer")));
        assert_eq!(
            sessions.begin("s", "m1", false),
            Begin::Answered(frame("answer"))
        );
        assert_eq!(sessions.stats().in_flight, 0);
        assert_eq!(
            sessions.begin("other", "m1", false),
            Begin::Start,
            "ids are per session"
        );
    }

    #[tokio::test]
    async fn errors_are_remembered_until_the_client_asks_to_retry() {
        let sessions = Sessions::new(limits());
        let (c, mut rx) = conn(1);
        sessions.attach("s", c);
        assert_eq!(sessions.begin("s", "m1", false), Begin::Start);
        sessions.complete("s", "m1", frame("error"), true);
        assert_eq!(rx.try_recv().ok(), Some(frame("error")));
        assert_eq!(sessions.stats().in_flight, 0);
        // A resend (e.g. after a reconnect) gets the error again, no new call.
        assert_eq!(
            sessions.begin("s", "m1", false),
            Begin::Answered(frame("error"))
        );
        // An explicit retry runs it again; its answer replaces the error.
        assert_eq!(sessions.begin("s", "m1", true), Begin::Start);
        sessions.complete("s", "m1", frame("answer"), false);
        assert_eq!(
            sessions.begin("s", "m1", true),
            Begin::Answered(frame("answer"))
        );
        assert_eq!(sessions.stats().retained_bytes, "answer".len());
    }

    #[tokio::test]
    async fn a_session_has_a_bounded_number_of_messages_in_flight() {
        let sessions = Sessions::new(Limits {
            max_in_flight_per_session: 2,
            ..limits()
        });
        assert_eq!(sessions.begin("s", "a", false), Begin::Start);
        assert_eq!(sessions.begin("s", "b", false), Begin::Start);
        assert_eq!(sessions.begin("s", "c", false), Begin::Busy);
        assert_eq!(
            sessions.begin("s", "a", false),
            Begin::InFlight,
            "known ids are not refused"
        );
        sessions.complete("s", "a", frame("x"), false);
        assert_eq!(sessions.begin("s", "c", false), Begin::Start);
    }

    #[tokio::test]
    async fn answers_wait_for_the_next_connection() {
        let sessions = Sessions::new(limits());
        let (c1, _rx1) = conn(1);
        sessions.attach("s", c1);
        assert_eq!(sessions.begin("s", "m1", false), Begin::Start);
        sessions.detach("s", 1);
        sessions.complete("s", "m1", frame("late answer"), false);
        let (c2, mut rx2) = conn(2);
        sessions.attach("s", c2);
        assert_eq!(rx2.try_recv().ok(), Some(frame("late answer")));
        let (c3, mut rx3) = conn(3);
        sessions.attach("s", c3);
        assert!(
            rx3.try_recv().is_err(),
            "delivered once, not to every later connection"
        );
    }

    #[tokio::test]
    async fn a_full_queue_kicks_the_slow_connection() {
        let sessions = Sessions::new(limits());
        let (c, _rx) = conn(1);
        let kick = c.kick.clone();
        sessions.attach("s", c);
        for i in 0..5 {
            let id = format!("m{i}");
            sessions.begin("s", &id, false);
            sessions.complete("s", &id, frame("x"), false);
        }
        assert!(kick.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_sessions_are_forgotten_after_retain_for() {
        let sessions = Sessions::new(limits());
        let (c, _rx) = conn(1);
        sessions.attach("s", c);
        sessions.begin("s", "m1", false);
        sessions.complete("s", "m1", frame("abc"), false);
        sessions.detach("s", 1);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(sessions.sweep(), 0);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(sessions.sweep(), 1);
        assert_eq!(
            sessions.stats(),
            Stats {
                sessions: 0,
                in_flight: 0,
                retained_bytes: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_with_work_in_flight_are_kept() {
        let sessions = Sessions::new(limits());
        sessions.begin("s", "m1", false);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(sessions.sweep(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn session_count_is_capped_by_evicting_the_oldest_idle() {
        let sessions = Sessions::new(Limits {
            max_sessions: 3,
            ..limits()
        });
        for name in ["a", "b", "c"] {
            let (c, _rx) = conn(1);
            sessions.attach(name, c);
            sessions.detach(name, 1);
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        let (c, _rx) = conn(2);
        sessions.attach("d", c);
        assert_eq!(sessions.stats().sessions, 3);
        assert_eq!(
            sessions.begin("a", "x", false),
            Begin::Start,
            "a was evicted and starts fresh"
        );
        assert_eq!(sessions.stats().sessions, 3, "b went to make room for a");
    }

    /// The idle index always holds exactly the evictable sessions, at
    /// their last-seen time, whatever happens to them.
    #[tokio::test(start_paused = true)]
    async fn the_idle_index_follows_every_change() {
        let sessions = Sessions::new(Limits {
            max_sessions: 8,
            max_in_flight_per_session: 2,
            ..limits()
        });
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut receivers = Vec::new();
        for step in 0..3000u64 {
            let session = format!("s{}", next(12));
            let id = format!("m{}", next(4));
            match next(7) {
                0 => {
                    let (c, rx) = conn(step % 3);
                    receivers.push(rx);
                    sessions.attach(&session, c);
                }
                1 => sessions.detach(&session, step % 3),
                2 => {
                    sessions.begin(&session, &id, next(2) == 0);
                }
                3 => sessions.complete(&session, &id, frame("answer"), next(2) == 0),
                4 => {
                    sessions.push(&session, frame("push"));
                }
                5 => sessions.abandon(&session, &id),
                _ => {
                    tokio::time::advance(Duration::from_secs(next(30))).await;
                    sessions.sweep();
                }
            }
            let inner = sessions.lock();
            let mut evictable: Vec<(Instant, String)> = inner
                .map
                .iter()
                .filter(|(_, s)| s.evictable())
                .map(|(k, s)| (s.last_seen, k.clone()))
                .collect();
            evictable.sort();
            let mut indexed: Vec<(Instant, String)> = inner
                .idle
                .iter()
                .map(|((at, _), k)| (*at, k.clone()))
                .collect();
            indexed.sort();
            assert_eq!(indexed, evictable, "after step {step}");
            drop(inner);
            if receivers.len() > 64 {
                receivers.clear();
            }
        }
    }

    #[tokio::test]
    async fn retained_bytes_are_capped() {
        let sessions = Sessions::new(Limits {
            max_retained_bytes: 10,
            ..limits()
        });
        let (c, _rx) = conn(1);
        sessions.attach("s", c);
        for i in 0..3 {
            let id = format!("m{i}");
            sessions.begin("s", &id, false);
            sessions.complete("s", &id, frame("1234"), false);
        }
        assert!(sessions.stats().retained_bytes <= 10);
        assert_eq!(
            sessions.begin("s", "m0", false),
            Begin::Lost,
            "oldest answer forgotten, its id not"
        );
        assert!(matches!(
            sessions.begin("s", "m2", false),
            Begin::Answered(_)
        ));
    }

    /// The attack: sessions opened to fill --max-sessions push out a
    /// visitor who is away; the page's resend of an answered message must
    /// not run it again.
    #[tokio::test(start_paused = true)]
    async fn an_evicted_sessions_answered_ids_are_not_run_again() {
        let sessions = Sessions::new(Limits {
            max_sessions: 5,
            ..limits()
        });
        let (c, _rx) = conn(1);
        sessions.attach("victim", c);
        assert_eq!(sessions.begin("victim", "m1", false), Begin::Start);
        sessions.complete("victim", "m1", frame("answer"), false);
        assert_eq!(sessions.begin("victim", "m2", false), Begin::Start);
        sessions.complete("victim", "m2", frame("error"), true);
        sessions.detach("victim", 1);
        for i in 0..12 {
            tokio::time::advance(Duration::from_millis(10)).await;
            let (c, _rx) = conn(100 + i);
            let name = format!("flood{i}");
            sessions.attach(&name, c);
            sessions.detach(&name, 100 + i);
        }
        assert_eq!(sessions.stats().sessions, 5);
        assert!(!sessions.knows("victim"), "evicted");
        assert_eq!(sessions.begin("victim", "m1", false), Begin::Lost);
        assert_eq!(
            sessions.begin("victim", "m1", true),
            Begin::Lost,
            "an answered id is not run again, even on a retry"
        );
        assert_eq!(sessions.begin("victim", "m2", false), Begin::Lost);
        assert_eq!(
            sessions.begin("victim", "m2", true),
            Begin::Start,
            "a failed one may be retried on purpose, as before eviction"
        );
        assert_eq!(
            sessions.begin("victim", "m3", false),
            Begin::Start,
            "new ids run"
        );
    }

    /// Forgotten after --retain-for too: the tombstone outlives the
    /// session by at least --retain-for, then goes.
    #[tokio::test(start_paused = true)]
    async fn a_swept_sessions_ids_are_remembered_for_another_retain_for() {
        let sessions = Sessions::new(limits());
        sessions.begin("s", "m1", false);
        sessions.complete("s", "m1", frame("answer"), false);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(sessions.sweep(), 1);
        assert_eq!(sessions.tombstones(), 1);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(sessions.sweep(), 0);
        assert_eq!(sessions.begin("s", "m1", false), Begin::Lost);
        tokio::time::advance(Duration::from_secs(120)).await;
        sessions.sweep();
        assert_eq!(sessions.tombstones(), 0, "tombstones expire too");
    }

    #[tokio::test]
    async fn answers_per_session_are_capped() {
        let sessions = Sessions::new(Limits {
            max_answers_per_session: 2,
            ..limits()
        });
        for i in 0..3 {
            let id = format!("m{i}");
            sessions.begin("s", &id, false);
            sessions.complete("s", &id, frame("a"), false);
        }
        assert_eq!(
            sessions.begin("s", "m0", false),
            Begin::Lost,
            "pushed out, but not run again"
        );
        assert!(matches!(
            sessions.begin("s", "m2", false),
            Begin::Answered(_)
        ));
    }
}
