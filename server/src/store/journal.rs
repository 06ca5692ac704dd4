//! The changes of the in-memory store, in the order they happen, for a
//! store that writes them down ([`super::sqlite`]).
//!
//! The memory store ([`super::memory::Sessions`]) decides everything —
//! dedup, bounds, evictions, tombstones — under its lock, and reports each
//! change to its [`Journal`] while still holding it, so the journal sees
//! the changes in exactly the order they were made. A journal must never
//! block: it queues the change and returns.

use crate::frame::Frame;

/// One change of the session registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The session was seen (created, connected, disconnected, pushed to).
    Seen {
        /// The session.
        session: String,
    },
    /// Message `id` was handed to the responder: a resend after a crash
    /// finds it in flight (see `interrupted` in docs/protocol.md).
    Begun {
        /// The session.
        session: String,
        /// The message.
        id: String,
    },
    /// Message `id` has its outcome.
    Settled {
        /// The session.
        session: String,
        /// The message.
        id: String,
        /// The final frame.
        frame: Frame,
        /// An error, not an answer.
        failed: bool,
        /// No connection took it: it is sent to the next one.
        undelivered: bool,
    },
    /// Message `id` is no longer in flight and has no outcome (released:
    /// a resend runs it).
    Removed {
        /// The session.
        session: String,
        /// The message.
        id: String,
    },
    /// The outcome of `id` was pushed out by a bound; a tombstone remains.
    Dropped {
        /// The session.
        session: String,
        /// The message.
        id: String,
        /// It was an error.
        failed: bool,
    },
    /// A push was kept for the session's next connection.
    Kept {
        /// The session.
        session: String,
        /// The pushed frame.
        frame: Frame,
    },
    /// Everything kept for the session was handed to a connection.
    Delivered {
        /// The session.
        session: String,
    },
    /// The session now belongs to a verified user (its first one).
    Owned {
        /// The session.
        session: String,
        /// The user's id (the token's `sub`).
        user: String,
    },
    /// A quota counter's count in its window (see `sqlite::counters`).
    Counted {
        /// The counter.
        key: String,
        /// `day` or `hour`.
        window: &'static str,
        /// The window's start (unix ms).
        start: u64,
        /// Its end.
        ends: u64,
        /// The count now.
        count: u64,
    },
    /// Quota counters whose window ended before `now_ms` are gone.
    CountsEnded {
        /// Now (unix ms).
        now_ms: u64,
    },
    /// The session was forgotten; each outcome it kept leaves a tombstone.
    Forgotten {
        /// The session.
        session: String,
    },
    /// A verified user saved a conversation in their list (see
    /// [`super::conversations`]).
    ConversationSaved {
        /// The user's id.
        user: String,
        /// The entry as kept.
        item: shared::ConversationItem,
    },
    /// A conversation left a user's list (forgotten, or pushed out by a
    /// bound).
    ConversationDropped {
        /// The user's id.
        user: String,
        /// Its session.
        session: String,
    },
    /// Conversations saved at or before `before_ms` are past the retention.
    ConversationsExpired {
        /// The cut-off (unix ms).
        before_ms: u64,
    },
    /// The visitor deleted the conversation (`forget` frame): its outcomes
    /// (each leaving a tombstone), kept pushes and transcript are gone; the
    /// session itself stays while a connection or a message in flight
    /// holds it.
    Erased {
        /// The session.
        session: String,
    },
    /// Lines were added to the session's transcript (see
    /// [`super::transcripts`]), then its `dropped` oldest lines went.
    Lines {
        /// The session.
        session: String,
        /// The new lines, oldest first.
        lines: Vec<super::transcripts::Line>,
        /// When (unix ms).
        at_ms: u64,
        /// How many of its oldest lines its bounds dropped afterwards.
        dropped: usize,
    },
    /// The session's transcript is gone (its session was forgotten and no
    /// list holds it, it expired, or the total bound pushed it out).
    TranscriptDropped {
        /// The session.
        session: String,
    },
}

impl Change {
    /// Whether the caller waits for this change to be written: a message
    /// is not sent to n8n before its in-flight marker is on disk, and an
    /// answer task ends only once its outcome is.
    pub fn awaited(&self) -> bool {
        matches!(self, Change::Begun { .. } | Change::Settled { .. })
    }

    /// Whether the change only records what is already on disk when the
    /// store is being read back at start (everything but a bound's
    /// evictions).
    pub fn restates(&self) -> bool {
        !matches!(
            self,
            Change::Dropped { .. }
                | Change::Forgotten { .. }
                | Change::Erased { .. }
                | Change::TranscriptDropped { .. }
        )
    }
}

/// Where the memory store reports its changes.
pub trait Journal: Send + Sync + std::fmt::Debug {
    /// Queues `change`; called under the store's lock, so it never blocks.
    fn record(&self, change: Change);
}
