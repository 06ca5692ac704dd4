//! The session store: where dedup, answers and pushes live.
//!
//! Two implementations, chosen at start:
//! - [`memory::Sessions`] (in memory, the default): everything in this relay; a
//!   single relay needs nothing else.
//! - [`crate::store::redis::RedisStore`] (`--redis-url`): several relays
//!   behind a load balancer share one Redis, so a message resent to another
//!   relay after a reconnect reaches n8n once, and an answer or push reaches
//!   the session's connection on whichever relay holds it.
//!
//! Connections themselves always stay in the relay that accepted them; the
//! store routes frames to them.

use shared::{MessageId, SessionId};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use shared::ConversationItem;

use crate::frame::Frame;

mod conn;
pub mod conversations;
pub mod counters;
pub mod journal;
pub mod memory;
pub mod pause;
pub mod redis;
pub mod sqlite;
pub mod tombstones;
pub mod transcripts;

pub use conn::{ConnHandle, ConnId};

/// What connections, the push endpoint and `/healthz` need from the store.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Registers an open connection of `session` and sends it what the
    /// session was owed while no connection was open.
    async fn attach(&self, session: &SessionId, conn: ConnHandle);

    /// Unregisters a connection; the session is remembered for `--retain-for`.
    async fn detach(&self, session: &SessionId, conn: ConnId);

    /// Decides what to do with message `id` (see [`Verdict`]). On
    /// [`Verdict::Start`] the caller must later call [`SessionStore::complete`].
    async fn begin(&self, session: &SessionId, id: &MessageId, retry: bool) -> Verdict;

    /// Sends a piece of a streamed answer of message `id` to the session's
    /// open connections; the text so far is kept until the answer settles,
    /// so a page that reconnects mid-stream gets it at once. Never waits.
    fn chunk(&self, session: &SessionId, id: &MessageId, text: &str);

    /// Sends a `progress` frame of message `id` to the session's open
    /// connections while the message is in flight. Live only: nothing is
    /// kept (a page that reconnects sees the next step). Never waits.
    fn progress(&self, session: &SessionId, id: &MessageId, frame: Frame);

    /// Stores the final frame of message `id` and sends it to the session's
    /// open connections, or keeps it for the next one.
    async fn complete(&self, session: &SessionId, id: &MessageId, frame: Frame, failed: bool);

    /// Ends message `id` without an outcome (the relay is shutting down):
    /// `frame` goes to the session's open connections, and a resend runs
    /// the message again (see [`memory::Sessions::release`]).
    async fn release(&self, session: &SessionId, id: &MessageId, frame: Frame);

    /// Sends a pushed frame to the session's open connections or keeps it;
    /// `None` if the session is unknown.
    async fn push(&self, session: &SessionId, frame: Frame) -> Option<Pushed>;

    /// Forgets idle sessions and renews what must not expire; called
    /// regularly. Returns how many sessions were forgotten here.
    async fn maintain(&self) -> usize;

    /// Whether the session has an open connection on this relay.
    fn is_connected(&self, session: &SessionId) -> bool;

    /// Whether the session is remembered (here, or in the shared store):
    /// joining one that is not costs a new session (see
    /// [`crate::admission::new_sessions`]).
    async fn knows(&self, session: &SessionId) -> bool;

    /// Whether a message of `session` has begun (here, or in the shared
    /// store) and is still remembered. With `--proof-of-work` only a
    /// session that proved its work can have one, so this — not
    /// [`SessionStore::knows`], true as soon as a connection attaches —
    /// is what spares a returning session the proof: a session that came
    /// and went without proving pays when it comes back.
    async fn has_run(&self, session: &SessionId) -> bool;

    /// Forgets what `session` keeps — answers, pushes waiting, and the
    /// session itself unless a connection or a message in flight holds it
    /// (a `forget` frame: the visitor deleted the conversation). Forgotten
    /// ids leave tombstones (no content), so a resend is never run twice.
    async fn forget(&self, session: &SessionId);

    /// The stored answer frame of message `id` (not an error), while kept —
    /// what a rating (`feedback`) refers to.
    async fn answer_frame(&self, session: &SessionId, id: &MessageId) -> Option<Frame>;

    /// Whether `user` (`None`: an anonymous visitor) may join `session`,
    /// recording `user` as its owner when it has none yet (see [`Claim`]).
    /// A session's owner lives as long as the session (in Redis, twice
    /// `--retain-for`, like its tombstones).
    async fn claim(&self, session: &SessionId, user: Option<&str>) -> Claim;

    /// The verified `user`'s conversations at `now_ms` (unix ms), most
    /// recently saved first (see [`conversations`]); `None` while the store
    /// cannot say (Redis unreachable): the page then keeps its own list.
    async fn conversations(&self, user: &str, now_ms: u64) -> Option<Vec<ConversationItem>>;

    /// Adds or updates `item` in `user`'s list (the caller checked the
    /// session is the user's), applying the bounds at `now_ms`; the list
    /// afterwards, or `None` if it could not be saved.
    async fn save_conversation(
        &self,
        user: &str,
        item: ConversationItem,
        now_ms: u64,
    ) -> Option<Vec<ConversationItem>>;

    /// Takes `session` out of `user`'s list (the user forgot it).
    async fn drop_conversation(&self, user: &str, session: &SessionId);

    /// Whether `session` is in `user`'s list at `now_ms`: proof that the
    /// session was the user's, when the store has forgotten the session
    /// itself (its `--retain-for` is much shorter than the list's).
    async fn lists_conversation(&self, user: &str, session: &SessionId, now_ms: u64) -> bool;

    /// Appends `lines` (oldest first) to `session`'s transcript at `now_ms`
    /// (unix ms): the conversation a page that resumes the session is
    /// shown — on another tab, or a signed-in user's other device — from
    /// the relay rather than only from n8n's memory (see [`transcripts`]).
    /// Here in the store, not beside it, because a transcript lives and
    /// dies with its session: retained as long as it, kept longer for a
    /// conversation in its owner's list, deleted by [`SessionStore::forget`].
    /// `user`: the session's verified user if the caller knows it (the
    /// shared store looks up their list to choose the expiry; the others
    /// know the owner). Never waits for a write (at most queues one);
    /// nothing with `--no-transcripts`.
    async fn record_lines(
        &self,
        session: &str,
        user: Option<&str>,
        lines: Vec<transcripts::Line>,
        now_ms: u64,
    );

    /// `session`'s transcript, oldest first; `None` if it has none or the
    /// store cannot say (Redis unreachable): the caller then falls back to
    /// n8n's memory. The caller checked the session is the visitor's.
    async fn transcript(&self, session: &SessionId) -> Option<Vec<transcripts::Line>>;

    /// Counts of this relay.
    fn stats(&self) -> Stats;

    /// For `/healthz`.
    fn health(&self) -> StoreHealth;

    /// Waits until every change so far is written down (a store that
    /// writes to disk); called last when the relay stops.
    async fn flush(&self) {}
}

/// The store's part of `/healthz`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoreHealth {
    /// `"memory"`, `"sqlite"` or `"redis"`.
    pub kind: &'static str,
    /// False while the shared store is unreachable (the relay then works
    /// alone; see docs/scaling-out.md).
    pub ok: bool,
    /// Why not, when not ok — for the relay itself, never served:
    /// `/healthz` is public, and a store's error text names hosts, ports
    /// and causes. The log has it, once per change (see
    /// `store::redis::link`).
    #[serde(skip)]
    pub error: Option<String>,
    /// Answers waiting to be written to the shared store (Redis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingHealth>,
}

/// Answers waiting to be written to the shared store, for `/healthz`
/// (see [`redis::pending`]).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PendingHealth {
    /// Answers waiting to be written to Redis.
    pub answers: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Answers dropped from the queue at its bound since the start.
    pub dropped: u64,
}

/// The store every part of the relay holds.
pub type Store = Arc<dyn SessionStore>;

/// Default of `--max-tombstones`: about 8 MB at the bound.
pub const DEFAULT_MAX_TOMBSTONES: usize = 200_000;

/// Default of `--conversation-retention`: 30 days.
pub const DEFAULT_CONVERSATION_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Users whose conversation lists one relay keeps in memory at most (the
/// memory and SQLite stores): at most [`conversations::MAX_USER_LIST_BYTES`]
/// each.
pub const DEFAULT_MAX_CONVERSATION_USERS: usize = 100_000;

/// The bounds of the registry.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a session with no open connection is remembered.
    pub retain_for: Duration,
    /// Most sessions remembered at once.
    pub max_sessions: usize,
    /// Most bytes of stored answers, all sessions together.
    pub max_retained_bytes: usize,
    /// Most answered message ids remembered per session (oldest go first).
    pub max_answers_per_session: usize,
    /// Most messages of one session waiting for the responder at once.
    pub max_in_flight_per_session: usize,
    /// Most tombstones of forgotten outcomes (see [`tombstones`]).
    pub max_tombstones: usize,
    /// A message in flight when its relay died is run again when resent
    /// (`--rerun-interrupted`), instead of ending in `interrupted`.
    pub rerun_interrupted: bool,
    /// How long a verified user's conversation stays in their list after
    /// it was last saved (`--conversation-retention`).
    pub conversation_retention: Duration,
    /// Most conversations in one user's list (see [`conversations`]).
    pub max_conversations_per_user: usize,
    /// Most users whose lists this relay keeps in memory (memory and
    /// SQLite stores).
    pub max_conversation_users: usize,
    /// Whether sessions' transcripts are kept (off: `--no-transcripts`;
    /// see [`transcripts`]).
    pub keep_transcripts: bool,
}

impl Limits {
    /// How long a tombstone lives: twice `retain_for`, so it outlives the
    /// session it came from by at least `retain_for` however late in the
    /// session's life it was buried.
    pub fn tombstone_ttl(&self) -> Duration {
        self.retain_for.saturating_mul(2)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            retain_for: Duration::from_secs(600),
            max_sessions: 10_000,
            max_retained_bytes: 64 * 1024 * 1024,
            max_answers_per_session: 256,
            max_in_flight_per_session: 32,
            max_tombstones: DEFAULT_MAX_TOMBSTONES,
            rerun_interrupted: false,
            conversation_retention: DEFAULT_CONVERSATION_RETENTION,
            max_conversations_per_user: shared::validate::MAX_USER_CONVERSATIONS,
            max_conversation_users: DEFAULT_MAX_CONVERSATION_USERS,
            keep_transcripts: true,
        }
    }
}

/// The store's verdict on an incoming message id (the dedup decision):
/// what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// New id: ask the responder.
    Start,
    /// Already being answered; the answer will reach this connection too.
    InFlight,
    /// Being answered by another relay (shared store); if that relay stops
    /// for good, the message may be started here after its lease.
    Elsewhere,
    /// Already answered: send this frame again.
    Answered(Frame),
    /// Answered (or failed) once, but the outcome is no longer kept — its
    /// session was forgotten, or the answer pushed out by newer ones. Only
    /// a tombstone remains: not run again, the page gets `answer_lost`.
    Lost,
    /// New, but the session already has its maximum of messages in flight.
    Busy,
    /// In flight on a relay that died (shared store): it cannot be known
    /// whether n8n ran it, so it is not run again unless the user retries
    /// (or `--rerun-interrupted`). The frame is the `interrupted` error,
    /// now the message's stored outcome.
    Interrupted(Frame),
    /// New, but the store could not write down that it is in flight (disk
    /// full, database unwritable): not sent to n8n; the page may retry.
    Unavailable,
}

/// What the page is told about a message that was in flight when its relay
/// died (see [`Verdict::Interrupted`]).
pub const INTERRUPTED: &str = "the relay stopped while this message was being answered; it is not known whether it ran, so it was not run again";

/// The `interrupted` error frame of message `id`.
pub fn interrupted_frame(id: &str) -> Frame {
    Frame::from(
        shared::ServerMessage::error(
            Some(id.to_owned()),
            shared::ErrorCode::Interrupted,
            INTERRUPTED,
        )
        .encode(),
    )
}

/// Who may join a session (verified identity, see [`crate::identity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The store does not know the session (new, or forgotten): it cannot
    /// say whose it was.
    Unknown,
    /// The session is this user's (now, if it had no owner), or it has no
    /// owner and the visitor is anonymous.
    Granted,
    /// The session belongs to another user (or to a user, and the visitor
    /// is anonymous).
    Refused,
}

/// What became of a push (see [`memory::Sessions::push`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Sent to this many open connections.
    Delivered(usize),
    /// No connection open: kept for the next one.
    Kept,
    /// No connection open and the session already keeps as many frames as
    /// it may: refused, so the caller knows.
    Full,
}

/// Counts for `/healthz` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Sessions remembered.
    pub sessions: usize,
    /// Messages being answered right now.
    pub in_flight: usize,
    /// Bytes of stored answers.
    pub retained_bytes: usize,
}

/// Runs [`crate::store::SessionStore::maintain`] regularly (a tenth of `retain_for`,
/// between 1 s and 60 s) until the task is aborted.
pub async fn maintain_periodically(store: crate::store::Store, retain_for: Duration) {
    let period = (retain_for / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let n = store.maintain().await;
        if n > 0 {
            tracing::debug!("forgot {n} idle session(s)");
        }
    }
}
