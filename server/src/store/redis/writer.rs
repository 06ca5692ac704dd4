//! Writes a relay's streamed chunks and final answers to Redis in the order
//! they were produced, so a page never sees an answer's last chunk after the
//! answer itself.
//!
//! Order matters only within a session, so the writes are spread over
//! [`SHARDS`] tasks by session: one sequential writer was the relay's
//! bottleneck under load (each write waits for a Redis round trip), and the
//! answers waiting for it piled up in memory. The shards' commands share the
//! connection manager's one pipelined connection.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::core::Core;
use super::pending::Completion;
use crate::frame::Frame;

/// Writes waiting per shard; beyond it chunks are dropped (a chunk is only a
/// preview: the final answer carries the whole text) and answers wait.
pub const QUEUE: usize = 1024;

/// Writer tasks per relay.
pub const SHARDS: usize = 16;

/// The shard of `session` among `shards`.
pub fn shard_of(session: &str, shards: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    session.hash(&mut hasher);
    (hasher.finish() % shards.max(1) as u64) as usize
}

/// One write.
#[derive(Debug)]
pub enum Write {
    /// A piece of a streamed answer.
    Chunk(String, Frame),
    /// A final answer or error; `done` fires once it is delivered or kept.
    Complete(Completion, oneshot::Sender<()>),
    /// Lines for the session's transcript (see [`super::transcripts`]).
    Lines {
        /// The session.
        session: String,
        /// Its verified user, if the caller knew it.
        user: Option<String>,
        /// The lines, oldest first.
        lines: Vec<crate::store::transcripts::Line>,
        /// When they were written (unix ms).
        now_ms: u64,
    },
    /// Fires once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// Runs the writer until the store is dropped.
pub async fn run(core: Arc<Core>, mut writes: mpsc::Receiver<Write>) {
    while let Some(write) = writes.recv().await {
        match write {
            Write::Chunk(session, frame) => {
                // Delivered here already; lost for other relays while Redis
                // is down (the final answer carries the whole text).
                let _ = core.publish(&session, &frame).await;
            }
            Write::Complete(completion, done) => {
                if core.complete(&completion).await.is_err() {
                    // Redis is down: keep it here if no connection here has
                    // it, and share the answer once Redis is back.
                    if !completion.delivered_here
                        && core
                            .local
                            .push(&completion.session, completion.frame.clone())
                            .is_none()
                    {
                        tracing::warn!(session = %crate::redact::session(&completion.session), id = %completion.id, "answer for a session forgotten here; kept for Redis only");
                    }
                    core.hold(completion);
                }
                let _ = done.send(());
            }
            Write::Lines {
                session,
                user,
                lines,
                now_ms,
            } => {
                // Lost while Redis is down: the page has them, and n8n's
                // memory stays the fallback.
                if let Err(e) = core
                    .append_lines(&session, user.as_deref(), &lines, now_ms)
                    .await
                {
                    tracing::debug!(session = %crate::redact::session(&session), "transcript lines not written: {e}");
                }
            }
            Write::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}
