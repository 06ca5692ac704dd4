//! The quota counters in Redis (`--redis-url`): shared by every relay and
//! kept across restarts.
//!
//! One key per counter and window, `p quota:<key>:<window start ms>`, a
//! plain integer that expires an hour after its window ends (a relay whose
//! clock is a little behind still finds it). [`TAKE`] checks every counter
//! and counts them all, or none, in one script, so two relays cannot both
//! take the last message of a day. While Redis is unreachable the relay
//! counts in its own memory ([`MemoryCounters`]) and says so in the log,
//! like the rest of the store: the quotas then hold per relay.

use std::sync::Arc;

use async_trait::async_trait;
use redis::Script;

use super::core::Core;
use crate::store::counters::memory::MemoryCounters;
use crate::store::counters::{Counters, Take, Taken, Window};

/// How long a counter outlives its window in Redis.
const GRACE_MS: u64 = 3_600_000;

/// KEYS: the counters. ARGV: per counter its limit, then when its key
/// expires (unix ms). Returns `{1, remaining}` when every counter was below
/// its limit (each counted once), `{0, index}` (from 1) of the first that
/// was not (none counted).
pub const TAKE: &str = r#"
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then return {0, i} end
end
local least = -1
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('PEXPIREAT', KEYS[i], ARGV[2 * i]) end
  local left = tonumber(ARGV[2 * i - 1]) - n
  if least < 0 or left < least then least = left end
end
return {1, math.max(least, 0)}
"#;

/// Quota counters shared through Redis.
#[derive(Debug)]
pub struct RedisCounters {
    core: Arc<Core>,
    script: Script,
    /// What counts while Redis is down.
    alone: MemoryCounters,
}

impl RedisCounters {
    pub(super) fn new(core: Arc<Core>, max_tracked: usize) -> Self {
        RedisCounters {
            core,
            script: Script::new(TAKE),
            alone: MemoryCounters::new(max_tracked),
        }
    }

    fn key(&self, key: &str, window: Window, now_ms: u64) -> String {
        let (start, _) = window.bounds(now_ms);
        format!("{}quota:{key}:{start}", self.core.prefix)
    }
}

#[async_trait]
impl Counters for RedisCounters {
    async fn take(&self, takes: &[Take<'_>], now_ms: u64) -> Taken {
        if takes.is_empty() {
            return Taken::Allowed { remaining: 0 };
        }
        let keys: Vec<String> = takes
            .iter()
            .map(|t| self.key(t.key, t.window, now_ms))
            .collect();
        let result = self
            .core
            .call(|mut conn| {
                let mut invocation = self.script.prepare_invoke();
                for (take, key) in takes.iter().zip(&keys) {
                    let (_, end) = take.window.bounds(now_ms);
                    invocation
                        .key(key)
                        .arg(take.limit.max(1))
                        .arg(end + GRACE_MS);
                }
                async move { invocation.invoke_async::<(u8, u64)>(&mut conn).await }
            })
            .await;
        match result {
            Ok((1, remaining)) => Taken::Allowed { remaining },
            Ok((_, index)) => {
                let index = (index.max(1) - 1) as usize;
                let window = takes.get(index).map_or(Window::Day, |t| t.window);
                Taken::Refused {
                    index,
                    resets_at: window.bounds(now_ms).1,
                }
            }
            // Unreachable (logged once by the link): count here alone.
            Err(_) => self.alone.take(takes, now_ms).await,
        }
    }

    async fn count(&self, key: &str, window: Window, now_ms: u64) -> u64 {
        let key = self.key(key, window, now_ms);
        let result = self
            .core
            .call(|mut conn| {
                let key = key.clone();
                async move {
                    redis::cmd("GET")
                        .arg(key)
                        .query_async::<Option<u64>>(&mut conn)
                        .await
                }
            })
            .await;
        match result {
            Ok(n) => n.unwrap_or(0),
            Err(_) => 0,
        }
    }

    async fn sweep(&self, now_ms: u64) -> usize {
        // Redis expires its keys itself; only the fallback needs sweeping.
        self.alone.sweep(now_ms).await
    }

    fn tracked(&self) -> usize {
        self.alone.tracked()
    }
}
