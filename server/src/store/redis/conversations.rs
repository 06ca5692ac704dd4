//! Verified users' lists of conversations in Redis, shared by every relay
//! (see [`crate::store::conversations`] for what a list is and its bounds).
//!
//! Per user (the key names a SHA-256 of the user id, so ids with any
//! characters make safe keys and key listings do not show who), both
//! expiring `--conversation-retention` after the user's last save:
//! - `p user:<hash>:convs` sorted set: session → when it was saved (ms);
//! - `p user:<hash>:titles` hash: session → title.
//!
//! A save is one script (`SAVE`): the entry, then the bounds — entries
//! past the retention, then beyond the count or the bytes, least recently
//! saved first — so two relays saving for one user never leave it over
//! its bounds.

use redis::{RedisResult, Script};
use sha2::{Digest, Sha256};
use shared::ConversationItem;

use super::core::Core;
use crate::store::conversations::{clean_title, newest_first, MAX_USER_LIST_BYTES};

/// Adds or updates one entry, then applies the bounds.
/// KEYS: convs, titles. ARGV: session, title, updated_at, cut-off (entries
/// saved at or before it are past the retention), max entries, max bytes,
/// TTL in ms.
const SAVE: &str = r"
local cutoff = ARGV[4]
for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)) do
  redis.call('HDEL', KEYS[2], s)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local max, max_bytes = tonumber(ARGV[5]), tonumber(ARGV[6])
local bytes, keep = 0, 0
for _, s in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, -1)) do
  local t = redis.call('HGET', KEYS[2], s) or ''
  local b = #s + #t
  if keep >= max or (keep > 0 and bytes + b > max_bytes) then
    redis.call('ZREM', KEYS[1], s)
    redis.call('HDEL', KEYS[2], s)
  else
    bytes = bytes + b
    keep = keep + 1
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return keep
";

/// The entries saved after the cut-off: session, score, title, … flat.
/// KEYS: convs, titles. ARGV: cut-off.
const LIST: &str = r"
local out = {}
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
for i = 1, #entries, 2 do
  local s = entries[i]
  out[#out + 1] = s
  out[#out + 1] = entries[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], s) or ''
end
return out
";

/// The scripts of the lists (made once; `redis::Script` keeps its hash).
struct ListScripts {
    save: Script,
    list: Script,
}

static SCRIPTS: std::sync::LazyLock<ListScripts> = std::sync::LazyLock::new(|| ListScripts {
    save: Script::new(SAVE),
    list: Script::new(LIST),
});

/// The two keys of `user`'s list under `prefix`.
pub(super) fn user_keys(prefix: &str, user: &str) -> (String, String) {
    let digest = Sha256::digest(user.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    (
        format!("{prefix}user:{hex}:convs"),
        format!("{prefix}user:{hex}:titles"),
    )
}

impl Core {
    fn retention_ms(&self) -> u64 {
        u64::try_from(self.limits.conversation_retention.as_millis()).unwrap_or(u64::MAX)
    }

    /// The cut-off at `now_ms`: entries saved at or before it are gone.
    fn cutoff(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.retention_ms())
    }

    /// `user`'s list at `now_ms`, most recently saved first.
    pub async fn conversations(
        &self,
        user: &str,
        now_ms: u64,
    ) -> RedisResult<Vec<ConversationItem>> {
        let (convs, titles) = user_keys(&self.prefix, user);
        let cutoff = self.cutoff(now_ms);
        let flat: Vec<String> = self
            .call(|mut conn| {
                let (convs, titles) = (convs.clone(), titles.clone());
                async move {
                    SCRIPTS
                        .list
                        .key(convs)
                        .key(titles)
                        .arg(cutoff)
                        .invoke_async(&mut conn)
                        .await
                }
            })
            .await?;
        let mut items: Vec<ConversationItem> = flat
            .chunks_exact(3)
            .map(|e| ConversationItem {
                session: e[0].clone(),
                // Scores are whole milliseconds, written by SAVE.
                updated_at: e[1].parse::<f64>().map_or(0, |f| f as u64),
                title: e[2].clone(),
            })
            .collect();
        newest_first(&mut items);
        items.truncate(self.limits.max_conversations_per_user.max(1));
        Ok(items)
    }

    /// Saves `item` in `user`'s list, applying the bounds at `now_ms`.
    pub async fn save_conversation(
        &self,
        user: &str,
        item: &ConversationItem,
        now_ms: u64,
    ) -> RedisResult<()> {
        let (convs, titles) = user_keys(&self.prefix, user);
        let title = clean_title(&item.title);
        let cutoff = self.cutoff(now_ms);
        let max = self.limits.max_conversations_per_user.max(1);
        let ttl = self.retention_ms().max(1);
        self.call(|mut conn| {
            let (convs, titles, title) = (convs.clone(), titles.clone(), title.clone());
            async move {
                SCRIPTS
                    .save
                    .key(convs)
                    .key(titles)
                    .arg(&item.session)
                    .arg(title)
                    .arg(item.updated_at)
                    .arg(cutoff)
                    .arg(max)
                    .arg(MAX_USER_LIST_BYTES)
                    .arg(ttl)
                    .invoke_async::<i64>(&mut conn)
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Takes `session` out of `user`'s list.
    pub async fn drop_conversation(&self, user: &str, session: &str) -> RedisResult<()> {
        let (convs, titles) = user_keys(&self.prefix, user);
        self.call(|mut conn| {
            let (convs, titles) = (convs.clone(), titles.clone());
            async move {
                redis::pipe()
                    .atomic()
                    .zrem(convs, session)
                    .ignore()
                    .hdel(titles, session)
                    .ignore()
                    .query_async::<()>(&mut conn)
                    .await
            }
        })
        .await
    }

    /// Whether `session` is in `user`'s list at `now_ms`.
    pub async fn lists_conversation(
        &self,
        user: &str,
        session: &str,
        now_ms: u64,
    ) -> RedisResult<bool> {
        let (convs, _) = user_keys(&self.prefix, user);
        let cutoff = self.cutoff(now_ms);
        let score: Option<f64> = self
            .call(|mut conn| {
                let convs = convs.clone();
                async move {
                    redis::cmd("ZSCORE")
                        .arg(convs)
                        .arg(session)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(score.is_some_and(|s| s > cutoff as f64))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_name_a_hash_of_the_user_not_the_user() {
        let (convs, titles) = super::user_keys("p:", "alice@example.com\nx");
        assert!(convs.starts_with("p:user:") && convs.ends_with(":convs"));
        assert!(titles.ends_with(":titles"));
        assert!(!convs.contains("alice"));
        assert_eq!(convs.len(), "p:user:".len() + 32 + ":convs".len());
    }
}
