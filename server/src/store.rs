//! The session store: where dedup, answers and pushes live.
//!
//! Two implementations, chosen at start:
//! - [`Sessions`] (in memory, the default): everything in this relay; a
//!   single relay needs nothing else.
//! - [`crate::redis_store::RedisStore`] (`--redis-url`): several relays
//!   behind a load balancer share one Redis, so a message resent to another
//!   relay after a reconnect reaches n8n once, and an answer or push reaches
//!   the session's connection on whichever relay holds it.
//!
//! Connections themselves always stay in the relay that accepted them; the
//! store routes frames to them.

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use serde::Serialize;

use crate::sessions::{Begin, ConnHandle, ConnId, Pushed, Sessions, Stats};

/// What connections, the push endpoint and `/healthz` need from the store.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Registers an open connection of `session` and sends it what the
    /// session was owed while no connection was open.
    async fn attach(&self, session: &str, conn: ConnHandle);

    /// Unregisters a connection; the session is remembered for `--retain-for`.
    async fn detach(&self, session: &str, conn: ConnId);

    /// Decides what to do with message `id` (see [`Begin`]). On
    /// [`Begin::Start`] the caller must later call [`SessionStore::complete`].
    async fn begin(&self, session: &str, id: &str, retry: bool) -> Begin;

    /// Sends a piece of a streamed answer to the session's open connections
    /// (not retained: the final answer carries the whole text). Never waits.
    fn chunk(&self, session: &str, frame: Utf8Bytes);

    /// Stores the final frame of message `id` and sends it to the session's
    /// open connections, or keeps it for the next one.
    async fn complete(&self, session: &str, id: &str, frame: Utf8Bytes, failed: bool);

    /// Ends message `id` without an outcome (the relay is shutting down):
    /// `frame` goes to the session's open connections, and a resend runs
    /// the message again (see [`Sessions::release`]).
    async fn release(&self, session: &str, id: &str, frame: Utf8Bytes);

    /// Sends a pushed frame to the session's open connections or keeps it;
    /// `None` if the session is unknown.
    async fn push(&self, session: &str, frame: Utf8Bytes) -> Option<Pushed>;

    /// Forgets idle sessions and renews what must not expire; called
    /// regularly. Returns how many sessions were forgotten here.
    async fn maintain(&self) -> usize;

    /// Whether the session has an open connection on this relay.
    fn is_connected(&self, session: &str) -> bool;

    /// Counts of this relay.
    fn stats(&self) -> Stats;

    /// For `/healthz`.
    fn health(&self) -> StoreHealth;
}

/// The store's part of `/healthz`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoreHealth {
    /// `"memory"` or `"redis"`.
    pub kind: &'static str,
    /// False while the shared store is unreachable (the relay then works
    /// alone; see docs/scaling-out.md).
    pub ok: bool,
    /// Why not, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Answers waiting to be written to the shared store (Redis only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<crate::redis_store::pending::PendingHealth>,
}

/// The store every part of the relay holds.
pub type Store = Arc<dyn SessionStore>;

#[async_trait]
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

    fn chunk(&self, session: &str, frame: Utf8Bytes) {
        Sessions::chunk(self, session, &frame);
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
