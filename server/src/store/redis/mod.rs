//! The shared session store (`--redis-url`): several relays behind a load
//! balancer act as one.
//!
//! - **Dedup** is decided by Redis ([`scripts::BEGIN`], atomic), so a message
//!   resent to another relay after a reconnect reaches n8n once.
//! - **Routing**: each relay subscribes to the channel of every session
//!   connected to it ([`subscriber`]); answers, chunks and pushes are
//!   published there, so they reach the session's connection wherever it is.
//! - **Retention**: an answer nobody receives is kept in Redis (same bounds
//!   and `--retain-for` as in memory) and taken by whichever relay the
//!   session reconnects to.
//!
//! The relay also keeps its in-memory [`Sessions`]: for its own connections,
//! as a cache of answered ids, and as the whole store while Redis is down
//! ([`link`]). Then it works alone — dedup and delivery within this relay —
//! and when Redis is back it resubscribes, takes what was kept, and writes
//! the answers it gave meanwhile.

pub mod conversations;
mod core;
pub mod counters;
pub mod link;
pub mod pause;
pub mod pending;
pub mod scripts;
mod subscriber;
pub mod transcripts;
mod writer;

use parking_lot::Mutex;
use shared::{MessageId, SessionId};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use shared::ConversationItem;
use tokio::sync::{mpsc, oneshot};

use self::core::Core;
use self::pending::Completion;
use crate::frame::Frame;
use crate::store::memory::Sessions;
use crate::store::{Claim, ConnHandle, ConnId, Limits, Pushed, Stats, Verdict};
use crate::store::{SessionStore, StoreHealth};

/// Longest a [`RedisStore`] flush waits for its writers.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// The Redis-backed store.
#[derive(Debug)]
pub struct RedisStore {
    core: Arc<Core>,
    subscriptions: mpsc::UnboundedSender<subscriber::Command>,
    /// One queue per writer shard (a session always uses the same one).
    writes: Vec<mpsc::Sender<writer::Write>>,
}

impl RedisStore {
    /// Connects lazily (the relay starts even while Redis is down, degraded)
    /// and starts the subscription, writer and lease tasks.
    pub fn start(
        url: &url::Url,
        prefix: &str,
        lease: Duration,
        limits: Limits,
        max_pending_bytes: usize,
    ) -> Result<Arc<RedisStore>, redis::RedisError> {
        let client = redis::Client::open(url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let core = Arc::new(Core {
            local: Sessions::new(limits.clone()),
            conn,
            scripts: scripts::Scripts::default(),
            prefix: prefix.to_owned(),
            relay: uuid::Uuid::new_v4().to_string(),
            limits,
            link: Arc::default(),
            pending: Mutex::new(pending::Pending::new(max_pending_bytes)),
        });
        let (subscriptions, commands) = mpsc::unbounded_channel();
        let writes = (0..writer::SHARDS)
            .map(|_| {
                let (tx, queue) = mpsc::channel(writer::QUEUE);
                tokio::spawn(writer::run(core.clone(), queue));
                tx
            })
            .collect();
        tokio::spawn(subscriber::run(client, core.clone(), commands));
        tokio::spawn(renew_lease(Arc::downgrade(&core), lease));
        tracing::info!(relay = %core.relay, "sessions shared through Redis at {}", crate::redact::url(url));
        Ok(Arc::new(RedisStore {
            core,
            subscriptions,
            writes,
        }))
    }

    /// Quota counters shared through the same Redis (see [`counters`]),
    /// counting at most `max_tracked` keys in memory while it is down.
    pub fn counters(&self, max_tracked: usize) -> counters::RedisCounters {
        counters::RedisCounters::new(self.core.clone(), max_tracked)
    }

    /// The writer queue of `session`.
    fn writer(&self, session: &str) -> &mpsc::Sender<writer::Write> {
        &self.writes[writer::shard_of(session, self.writes.len())]
    }

    async fn subscribe(&self, session: &str) -> bool {
        let (ack, subscribed) = oneshot::channel();
        if self
            .subscriptions
            .send(subscriber::Command::Subscribe(session.to_string(), ack))
            .is_err()
        {
            return false;
        }
        subscribed.await.unwrap_or(false)
    }
}

/// Keeps this relay's lease alive (every third of `lease`) until the store
/// is dropped. While it lives, other relays wait for this relay's answers
/// instead of starting the same messages again.
async fn renew_lease(core: std::sync::Weak<Core>, lease: Duration) {
    let mut tick = tokio::time::interval((lease / 3).max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(core) = core.upgrade() else { return };
        let _ = core.renew_lease(lease).await;
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn attach(&self, session: &SessionId, conn: ConnHandle) {
        self.core.local.attach(session, conn);
        // Subscribe first, then take what was kept: a frame published in
        // between reaches the subscription; one published before was kept.
        self.subscribe(session).await;
        if let Ok(frames) = self.core.attach(session).await {
            self.core.hand_over(session, frames).await;
        }
    }

    async fn detach(&self, session: &SessionId, conn: ConnId) {
        self.core.local.detach(session, conn);
        let _ = self
            .subscriptions
            .send(subscriber::Command::Unsubscribe(session.to_string()));
    }

    async fn begin(&self, session: &SessionId, id: &MessageId, retry: bool) -> Verdict {
        // Known here (in flight here, or answered here): no need to ask.
        let here = self.core.local.begin(session, id, retry);
        if here == Verdict::Lost {
            // Forgotten here (this relay's own bounds), but Redis may still
            // keep the outcome: send it if so. Never run it again.
            return match self.core.outcome(session, id).await {
                Ok(Some(stored)) => match stored.get(1..) {
                    Some(frame) if !frame.is_empty() => {
                        Verdict::Answered(Frame::from(frame.to_owned()))
                    }
                    _ => Verdict::Lost,
                },
                _ => Verdict::Lost,
            };
        }
        if here != Verdict::Start {
            return here;
        }
        match self.core.begin(session, id, retry).await {
            Ok(Verdict::Start) => Verdict::Start,
            Ok(shared) => {
                self.core.local.abandon(session, id);
                shared
            }
            // Redis is down: this relay decides alone.
            Err(_) => Verdict::Start,
        }
    }

    fn chunk(&self, session: &SessionId, id: &MessageId, text: &str) {
        // This relay's connections at once (and the text so far kept here
        // for a page that reconnects to this relay); other relays' through
        // Redis, live only.
        let Some(frame) = self.core.local.chunk(session, id, text) else {
            return;
        };
        if let Err(e) = self
            .writer(session)
            .try_send(writer::Write::Chunk(session.to_string(), frame))
        {
            tracing::debug!(session = %crate::redact::session(session), "chunk dropped: {e}");
        }
    }

    fn progress(&self, session: &SessionId, id: &MessageId, frame: Frame) {
        // Like a chunk: here at once, other relays through Redis, live only
        // (in order with the chunks: the same writer).
        if !self.core.local.progress(session, id, &frame) {
            return;
        }
        if let Err(e) = self
            .writer(session)
            .try_send(writer::Write::Chunk(session.to_string(), frame))
        {
            tracing::debug!(session = %crate::redact::session(session), "progress dropped: {e}");
        }
    }

    async fn complete(&self, session: &SessionId, id: &MessageId, frame: Frame, failed: bool) {
        self.core.local.record(session, id, frame.clone(), failed);
        // This relay's connections at once (also while draining, before they
        // close); other relays' through Redis, in order after the chunks.
        let delivered_here = self.core.local.deliver(session, &frame) > 0;
        let completion = Completion {
            session: session.to_string(),
            id: id.to_string(),
            frame,
            failed,
            delivered_here,
        };
        let (done, written) = oneshot::channel();
        let sent = self
            .writer(session)
            .send(writer::Write::Complete(completion, done))
            .await;
        match sent {
            Ok(()) => {
                let _ = written.await;
            }
            // The writers are gone (the relay is stopping): keep it here.
            Err(mpsc::error::SendError(writer::Write::Complete(completion, _))) => {
                if !completion.delivered_here {
                    self.core.local.push(session, completion.frame);
                }
            }
            Err(_) => {}
        }
    }

    async fn release(&self, session: &SessionId, id: &MessageId, frame: Frame) {
        self.core.local.release(session, id, &frame);
        let _ = self.core.release(session, id, &frame).await;
    }

    async fn push(&self, session: &SessionId, frame: Frame) -> Option<Pushed> {
        match self.core.push(session, &frame).await {
            Ok(-1) if self.core.local.is_connected(session) => {
                // Connected while Redis was down (or after it lost its data).
                self.core.local.push(session, frame)
            }
            Ok(-1) => None,
            Ok(-2) => Some(Pushed::Full),
            Ok(0) => Some(Pushed::Kept),
            Ok(relays) => Some(Pushed::Delivered(relays.max(0) as usize)),
            Err(_) => self.core.local.push(session, frame),
        }
    }

    async fn maintain(&self) -> usize {
        let forgotten = self.core.local.sweep();
        if self.core.renew_sessions().await.is_ok() {
            self.core.flush_pending().await;
        }
        forgotten
    }

    fn is_connected(&self, session: &SessionId) -> bool {
        self.core.local.is_connected(session)
    }

    async fn knows(&self, session: &SessionId) -> bool {
        // Redis down: only what this relay knows (a new session's cost is
        // then counted for one that may exist elsewhere — harmless).
        self.core.local.knows(session) || self.core.exists(session).await.unwrap_or(false)
    }

    async fn has_run(&self, session: &SessionId) -> bool {
        // Redis down: only what this relay knows (a returning session may
        // then be asked for its proof again — the safe side).
        self.core.local.has_run(session) || self.core.has_run(session).await.unwrap_or(false)
    }

    async fn forget(&self, session: &SessionId) {
        self.core.local.erase(session);
        if let Err(e) = self.core.forget(session).await {
            tracing::warn!(session = %crate::redact::session(session), "could not forget the session in Redis: {e}");
        }
    }

    async fn claim(&self, session: &SessionId, user: Option<&str>) -> Claim {
        let known_here = self.core.local.knows(session);
        match self.core.claim(session, user, known_here).await {
            Ok(claim) => {
                if claim == Claim::Granted {
                    // Kept here too, for while Redis is down.
                    self.core.local.claim(session, user);
                }
                claim
            }
            // Redis down: what this relay knows decides (a session it does
            // not have is unknown, so no one gets in on a guess).
            Err(_) => self.core.local.claim(session, user),
        }
    }

    async fn answer_frame(&self, session: &SessionId, id: &MessageId) -> Option<Frame> {
        if let Some(frame) = self.core.local.answer_frame(session, id) {
            return Some(frame);
        }
        // Answered by another relay: `0<frame>` in the session's hash.
        let stored = self.core.outcome(session, id).await.ok()??;
        stored.strip_prefix('0').map(|f| Frame::from(f.to_owned()))
    }

    // Lists live in Redis only: while it is down there is no list to give
    // (`None`: no `conversations` frame is sent, and the page keeps its own
    // entries and saves them again when it next gets a list).
    async fn conversations(&self, user: &str, now_ms: u64) -> Option<Vec<ConversationItem>> {
        match self.core.conversations(user, now_ms).await {
            Ok(items) => Some(items),
            Err(e) => {
                tracing::warn!("could not read a user's conversations from Redis: {e}");
                None
            }
        }
    }

    async fn save_conversation(
        &self,
        user: &str,
        item: ConversationItem,
        now_ms: u64,
    ) -> Option<Vec<ConversationItem>> {
        if let Err(e) = self.core.save_conversation(user, &item, now_ms).await {
            tracing::warn!("could not save a user's conversation in Redis: {e}");
            return None;
        }
        // Listed: its transcript is kept as long as the list keeps it.
        if self.core.limits.keep_transcripts {
            if let Err(e) = self.core.extend_transcript(&item.session).await {
                tracing::debug!(session = %crate::redact::session(&item.session), "transcript expiry not extended: {e}");
            }
        }
        self.conversations(user, now_ms).await
    }

    async fn drop_conversation(&self, user: &str, session: &SessionId) {
        if let Err(e) = self.core.drop_conversation(user, session).await {
            tracing::warn!(session = %crate::redact::session(session), "could not take a conversation out of its user's list in Redis: {e}");
        }
    }

    async fn lists_conversation(&self, user: &str, session: &SessionId, now_ms: u64) -> bool {
        self.core
            .lists_conversation(user, session, now_ms)
            .await
            .unwrap_or(false)
    }

    async fn record_lines(
        &self,
        session: &str,
        user: Option<&str>,
        lines: Vec<crate::store::transcripts::Line>,
        now_ms: u64,
    ) {
        if !self.core.limits.keep_transcripts {
            return;
        }
        let lines: Vec<_> = lines.into_iter().filter(|l| !l.is_blank()).collect();
        if lines.is_empty() {
            return;
        }
        // Through the session's writer, after the answer it belongs to;
        // never waited for.
        let write = writer::Write::Lines {
            session: session.to_string(),
            user: user.map(str::to_owned),
            lines,
            now_ms,
        };
        if let Err(e) = self.writer(session).try_send(write) {
            tracing::debug!(session = %crate::redact::session(session), "transcript lines dropped: {e}");
        }
    }

    async fn transcript(
        &self,
        session: &SessionId,
    ) -> Option<Vec<crate::store::transcripts::Line>> {
        if !self.core.limits.keep_transcripts {
            return None;
        }
        match self.core.transcript(session).await {
            Ok(lines) if !lines.is_empty() => Some(lines),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(session = %crate::redact::session(session), "transcript not read from Redis: {e}");
                None
            }
        }
    }

    fn stats(&self) -> Stats {
        self.core.local.stats()
    }

    fn health(&self) -> StoreHealth {
        StoreHealth {
            pending: Some(self.core.pending_health()),
            ..self.core.link.health()
        }
    }

    /// Waits (at most [`FLUSH_WAIT`]) until every writer shard has written
    /// what was queued before.
    async fn flush(&self) {
        let mut waits = Vec::new();
        for shard in &self.writes {
            let (done, written) = oneshot::channel();
            if shard.send(writer::Write::Flush(done)).await.is_ok() {
                waits.push(written);
            }
        }
        let all = futures_util::future::join_all(waits);
        let _ = tokio::time::timeout(FLUSH_WAIT, all).await;
    }
}
