//! The Redis calls of the shared store, one method per script, each
//! recording whether Redis answered (see [`Link`]).

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::RedisResult;

use super::link::Link;
use super::pending::{Completion, Pending};
use super::scripts::{lease_key, payload, Keys, Scripts};
use crate::frame::Frame;
use crate::store::memory::Sessions;
use crate::store::{Limits, Verdict};

/// The wall clock in unix milliseconds (tombstones' scores).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the store's tasks share.
#[derive(Debug)]
pub struct Core {
    /// Connections here, and the whole store while Redis is down.
    pub local: Sessions,
    /// Commands (reconnects by itself).
    pub conn: ConnectionManager,
    /// The scripts.
    pub scripts: Scripts,
    /// Key prefix.
    pub prefix: String,
    /// This relay's id (in its lease and in-flight markers).
    pub relay: String,
    /// Bounds (the same as in memory).
    pub limits: Limits,
    /// Reachability.
    pub link: Arc<Link>,
    /// Completions waiting for Redis (bounded).
    pub pending: Mutex<Pending>,
}

impl Core {
    /// The keys of `session`.
    pub fn keys(&self, session: &str) -> Keys {
        Keys::new(&self.prefix, session)
    }

    fn ttl(&self) -> u64 {
        self.limits.retain_for.as_secs().max(1)
    }

    fn max_kept(&self) -> usize {
        self.limits.max_answers_per_session
    }

    /// Most tombstones per session in Redis (see [`super::scripts`]).
    fn max_seen(&self) -> usize {
        self.limits
            .max_answers_per_session
            .saturating_mul(super::scripts::MAX_SEEN_FACTOR)
            .max(1)
    }

    /// Whether `user` may join `session` (see [`super::scripts::CLAIM`]);
    /// `known_here`: this relay has the session.
    pub async fn claim(
        &self,
        session: &str,
        user: Option<&str>,
        known_here: bool,
    ) -> RedisResult<crate::store::Claim> {
        let keys = &self.keys(session);
        let user = user.unwrap_or("");
        let ttl = self.ttl().saturating_mul(2);
        let known = if known_here { "1" } else { "0" };
        let answer = self
            .call(|mut conn| async move {
                self.scripts
                    .claim
                    .key(&keys.owner)
                    .key(&keys.hash)
                    .arg(user)
                    .arg(ttl)
                    .arg(known)
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await?;
        Ok(match answer {
            0 => crate::store::Claim::Unknown,
            1 => crate::store::Claim::Granted,
            _ => crate::store::Claim::Refused,
        })
    }

    /// Deletes what Redis keeps of `session` (a `forget` frame): its
    /// outcomes, their order, the pushes waiting and its transcript. Its tombstones
    /// (`:seen`, ids only) and owner stay until they expire, so a resend
    /// is never run twice and nobody else can take the session over.
    pub async fn forget(&self, session: &str) -> RedisResult<()> {
        let keys = self.keys(session);
        self.call(|mut conn| {
            let keys = keys.clone();
            async move {
                redis::cmd("DEL")
                    .arg(&keys.hash)
                    .arg(&keys.order)
                    .arg(&keys.kept)
                    .arg(&keys.lines)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Whether a message of `session` is in flight, answered or buried
    /// (see [`crate::store::SessionStore::has_run`]).
    pub async fn has_run(&self, session: &str) -> RedisResult<bool> {
        let keys = self.keys(session);
        self.call(|mut conn| {
            let keys = [keys.run.clone(), keys.order.clone(), keys.seen.clone()];
            async move {
                redis::cmd("EXISTS")
                    .arg(&keys[..])
                    .query_async::<u32>(&mut conn)
                    .await
                    .map(|n| n > 0)
            }
        })
        .await
    }

    /// Whether Redis remembers the session (its hash exists).
    pub async fn exists(&self, session: &str) -> RedisResult<bool> {
        let key = self.keys(session).hash;
        self.call(|mut conn| {
            let key = key.clone();
            async move {
                redis::cmd("EXISTS")
                    .arg(key)
                    .query_async::<bool>(&mut conn)
                    .await
            }
        })
        .await
    }

    /// Fails at once while Redis just failed (see [`Link::fail_fast`]), so
    /// chats do not wait on an unreachable Redis message by message.
    fn check(&self) -> RedisResult<()> {
        if self.link.fail_fast() {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "Redis failed just now; not waiting for it",
            )));
        }
        Ok(())
    }

    /// Runs a chat-path command: at once an error while Redis just failed,
    /// and once more if the connection had dropped (the first command after
    /// a Redis restart finds the old connection dead; the manager has
    /// reconnected by the second). Running a step twice is harmless: at
    /// worst a frame is sent twice, and the page ignores repeats by id —
    /// except that a repeated [`Core::attach`] whose first reply was lost
    /// loses the kept frames it took (answers among them stay in the session
    /// hash, so a resend still gets them).
    pub(super) async fn call<T, F>(
        &self,
        command: impl Fn(ConnectionManager) -> F,
    ) -> RedisResult<T>
    where
        F: std::future::Future<Output = RedisResult<T>>,
    {
        self.check()?;
        self.probe(command).await
    }

    /// Like [`Core::call`] but tried even while Redis just failed: the
    /// lease renewal and key refresh, which notice that Redis is back.
    async fn probe<T, F>(&self, command: impl Fn(ConnectionManager) -> F) -> RedisResult<T>
    where
        F: std::future::Future<Output = RedisResult<T>>,
    {
        let mut result = command(self.conn.clone()).await;
        if matches!(&result, Err(e) if e.is_connection_dropped()) {
            result = command(self.conn.clone()).await;
        }
        self.seen(result)
    }

    fn seen<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        match &result {
            Ok(_) => self.link.command_ok(),
            Err(e) => self.link.command_failed(e),
        }
        result
    }

    /// Renews this relay's lease.
    pub async fn renew_lease(&self, lease: Duration) -> RedisResult<()> {
        let result = self
            .probe(|mut conn| async move {
                redis::cmd("SET")
                    .arg(lease_key(&self.prefix, &self.relay))
                    .arg(1)
                    .arg("PX")
                    .arg(lease.as_millis().max(1) as u64)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        result
    }

    /// The stored outcome of message `id`: `0<frame>` (answer) or
    /// `1<frame>` (error), if kept.
    pub async fn outcome(&self, session: &str, id: &str) -> RedisResult<Option<String>> {
        let key = self.keys(session).hash;
        let field = format!("m:{id}");
        self.call(|mut conn| {
            let (key, field) = (key.clone(), field.clone());
            async move {
                redis::cmd("HGET")
                    .arg(key)
                    .arg(field)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            }
        })
        .await
    }

    /// The shared dedup decision for a message this relay has not seen.
    pub async fn begin(&self, session: &str, id: &str, retry: bool) -> RedisResult<Verdict> {
        let keys = &self.keys(session);
        let (before, after) = interrupted_parts();
        let (before, after) = (&before, &after);
        let result = self
            .call(|mut conn| async move {
                self.scripts
                    .begin
                    .key(&keys.hash)
                    .key(&keys.run)
                    .key(&keys.seen)
                    .arg(id)
                    .arg(u8::from(retry))
                    .arg(&self.relay)
                    .arg(self.limits.max_in_flight_per_session)
                    .arg(self.ttl())
                    .arg(lease_key(&self.prefix, ""))
                    .arg(u8::from(self.limits.rerun_interrupted))
                    .arg(before)
                    .arg(after)
                    .invoke_async::<Vec<String>>(&mut conn)
                    .await
            })
            .await;
        let reply = result?;
        Ok(match reply.first().map(String::as_str) {
            Some("start") => Verdict::Start,
            Some("inflight") => Verdict::InFlight,
            Some("elsewhere") => Verdict::Elsewhere,
            Some("busy") => Verdict::Busy,
            Some("lost") => Verdict::Lost,
            Some("interrupted") => {
                Verdict::Interrupted(Frame::from(reply.get(1).cloned().unwrap_or_default()))
            }
            Some("answered") => {
                Verdict::Answered(Frame::from(reply.get(1).cloned().unwrap_or_default()))
            }
            _ => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Client,
                    "unexpected reply from the begin script",
                )))
            }
        })
    }

    /// Stores the final frame and publishes it (or keeps it). How many
    /// relays received it.
    pub async fn complete(&self, c: &Completion) -> RedisResult<i64> {
        let keys = &self.keys(&c.session);
        let result = self
            .call(|mut conn| async move {
                self.scripts
                    .complete
                    .key(&keys.hash)
                    .key(&keys.run)
                    .key(&keys.order)
                    .key(&keys.kept)
                    .key(&keys.seen)
                    .arg(&c.id)
                    .arg(u8::from(c.failed))
                    .arg(c.frame.as_str())
                    .arg(self.ttl())
                    .arg(self.limits.max_answers_per_session)
                    .arg(&keys.channel)
                    .arg(payload(c.frame.as_str(), self.tag(c.delivered_here)))
                    .arg(unix_ms())
                    .arg(self.max_seen())
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        result
    }

    /// Forgets that this relay runs message `id` (it is shutting down) and
    /// tells the session's connections on other relays (this relay's have
    /// the frame already).
    pub async fn release(&self, session: &str, id: &str, frame: &Frame) -> RedisResult<()> {
        let keys = &self.keys(session);
        let result = self
            .call(|mut conn| async move {
                redis::pipe()
                    .hdel(&keys.run, id)
                    .ignore()
                    .publish(&keys.channel, payload(frame.as_str(), self.tag(true)))
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await;
        result
    }

    /// The tag for a payload: this relay, if it delivered the frame itself.
    fn tag(&self, delivered_here: bool) -> Option<&str> {
        delivered_here.then_some(self.relay.as_str())
    }

    /// Publishes a chunk (not kept) for the session's connections on other
    /// relays (this relay's have it already).
    pub async fn publish(&self, session: &str, frame: &Frame) -> RedisResult<i64> {
        let keys = &self.keys(session);
        let result = self
            .call(|mut conn| async move {
                redis::cmd("PUBLISH")
                    .arg(&keys.channel)
                    .arg(payload(frame.as_str(), self.tag(true)))
                    .query_async::<i64>(&mut conn)
                    .await
            })
            .await;
        result
    }

    /// Publishes a push or keeps it: -1 unknown session, -2 full, 0 kept,
    /// else the relays that received it.
    pub async fn push(&self, session: &str, frame: &Frame) -> RedisResult<i64> {
        let keys = &self.keys(session);
        let result = self
            .call(|mut conn| async move {
                self.scripts
                    .push
                    .key(&keys.hash)
                    .key(&keys.kept)
                    .arg(&keys.channel)
                    .arg(frame.as_str())
                    .arg(self.ttl())
                    .arg(self.max_kept())
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
        result
    }

    /// Keeps frames for the session's next connection.
    pub async fn keep(&self, session: &str, frames: &[Frame]) -> RedisResult<()> {
        let keys = &self.keys(session);
        let mut invocation = self.scripts.keep.key(&keys.hash);
        invocation
            .key(&keys.kept)
            .arg(self.ttl())
            .arg(self.max_kept());
        for frame in frames {
            invocation.arg(frame.as_str());
        }
        let invocation = &invocation;
        self.call(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await })
            .await
            .map(|_| ())
    }

    /// Marks the session seen, renews its keys, takes its kept frames.
    pub async fn attach(&self, session: &str) -> RedisResult<Vec<String>> {
        let keys = &self.keys(session);
        let result = self
            .call(|mut conn| async move {
                self.scripts
                    .attach
                    .key(&keys.hash)
                    .key(&keys.run)
                    .key(&keys.order)
                    .key(&keys.kept)
                    .key(&keys.seen)
                    .arg(self.ttl())
                    .invoke_async::<Vec<String>>(&mut conn)
                    .await
            })
            .await;
        result
    }

    /// Sends frames taken from Redis to the session's connections here;
    /// what no connection took goes back.
    pub async fn hand_over(&self, session: &str, frames: Vec<String>) {
        let mut back = Vec::new();
        for frame in frames {
            let frame = Frame::from(frame);
            if self.local.deliver(session, &frame) == 0 {
                back.push(frame);
            }
        }
        if !back.is_empty() {
            self.keep_or_hold(session, back).await;
        }
    }

    /// Keeps frames in Redis, or here if Redis is down.
    pub async fn keep_or_hold(&self, session: &str, frames: Vec<Frame>) {
        if self.keep(session, &frames).await.is_err() {
            for frame in frames {
                let _ = self.local.push(session, frame);
            }
        }
    }

    /// Takes what Redis kept for each session connected here (after the
    /// subscription was down, answers published meanwhile were kept).
    ///
    /// Commands may still be failing for a moment when the subscription is
    /// back (the two use different connections): it tries for a while.
    pub async fn recover(&self, sessions: Vec<String>) {
        let mut left = sessions.into_iter().peekable();
        let mut attempts = 0;
        while let Some(session) = left.peek() {
            match self.attach(session).await {
                Ok(frames) => {
                    self.hand_over(session, frames).await;
                    left.next();
                }
                Err(_) if attempts < 30 => {
                    attempts += 1;
                    tokio::time::sleep(super::link::FAIL_FAST_FOR).await;
                }
                Err(_) => return,
            }
        }
        self.flush_pending().await;
    }

    /// Writes completions that waited for Redis.
    pub async fn flush_pending(&self) {
        let pending = self.pending().take();
        if pending.is_empty() {
            return;
        }
        let mut left = Vec::new();
        for c in pending {
            if self.complete(&c).await.is_err() {
                left.push(c);
            }
        }
        let written = left.is_empty();
        self.pending().put_back(left);
        if written {
            tracing::info!("answers given while Redis was down are now shared");
        }
    }

    fn pending(&self) -> parking_lot::MutexGuard<'_, Pending> {
        self.pending.lock()
    }

    /// Remembers a completion for [`Core::flush_pending`].
    pub fn hold(&self, c: Completion) {
        self.pending().hold(c);
    }

    /// The waiting completions, for `/healthz`.
    pub fn pending_health(&self) -> crate::store::PendingHealth {
        self.pending().health()
    }

    /// Renews the keys of the sessions connected here.
    pub async fn renew_sessions(&self) -> RedisResult<()> {
        let sessions = self.local.connected_sessions();
        if sessions.is_empty() {
            return Ok(());
        }
        let ttl = self.ttl() as i64;
        let mut pipe = redis::pipe();
        for session in &sessions {
            let keys = &self.keys(session);
            pipe.expire(&keys.hash, ttl).ignore();
            pipe.expire(&keys.run, ttl).ignore();
            pipe.expire(&keys.order, ttl).ignore();
            pipe.expire(&keys.kept, ttl).ignore();
            pipe.expire(&keys.seen, 2 * ttl).ignore();
            pipe.expire(&keys.owner, 2 * ttl).ignore();
            // The transcript at least as long as the session (a listed
            // conversation's may be kept longer: never shortened).
            pipe.cmd("EVAL")
                .arg(super::scripts::EXTEND)
                .arg(1)
                .arg(&keys.lines)
                .arg(ttl.saturating_mul(1000))
                .ignore();
        }
        let pipe = &pipe;
        self.probe(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await
    }
}

/// The `interrupted` error frame split around its id, for the begin
/// script to make the frame of any id (ids are of `[A-Za-z0-9_-]`, so
/// pasting one in keeps the JSON valid).
fn interrupted_parts() -> (String, String) {
    const MARK: &str = "--id--";
    let frame = crate::store::interrupted_frame(MARK);
    match frame.as_str().split_once(MARK) {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (frame.as_str().to_owned(), String::new()),
    }
}
