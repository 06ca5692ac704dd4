//! Sessions' transcripts in Redis, shared by every relay (see
//! [`crate::store::transcripts`] for what a transcript is and its bounds).
//!
//! Per session, `p{s}:lines`: a list of lines, oldest first, each `u` (the
//! user) or `b` (the bot) followed by the text. An append is one script
//! ([`APPEND`]): the lines, then the bounds (200 lines with `LTRIM`, then
//! the oldest until 64 KiB of text fit), then the expiry, which is never
//! shortened:
//! - `--retain-for`, like the session's other keys (renewed while the
//!   session is connected);
//! - `--conversation-retention` after the last line when the session is in
//!   its user's list (the script looks the session up in the list, whose
//!   key the relay names from the user), and from the moment the user saves
//!   the conversation in their list ([`Core::extend_transcript`]).
//!
//! `forget` deletes the key with the session's others. Written by the
//! session's writer shard, after the answer it belongs to; while Redis is
//! unreachable lines are not written (the page still has them; n8n's
//! memory stays the fallback).

use redis::{RedisResult, Script};

use super::conversations::user_keys;
use super::core::Core;
use super::scripts::EXTEND;
use crate::store::transcripts::{Line, MAX_BYTES, MAX_LINES};
use shared::Role;

/// KEYS: lines, the user's list (or lines again without a user). ARGV:
/// max lines, max bytes, the session's expiry (ms), the listed expiry (ms;
/// 0: none), `1` to look in the list, the list's cut-off (entries saved at
/// or before it are past the retention), the session, then the lines.
/// Returns how many lines the transcript keeps.
const APPEND: &str = r"
for i = 8, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
local all = redis.call('LRANGE', KEYS[1], 0, -1)
local bytes = 0
for _, l in ipairs(all) do bytes = bytes + #l - 1 end
local i = 1
while bytes > tonumber(ARGV[2]) and i < #all do
  redis.call('LPOP', KEYS[1])
  bytes = bytes - (#all[i] - 1)
  i = i + 1
end
local ttl = tonumber(ARGV[3])
if ARGV[5] == '1' and tonumber(ARGV[4]) > ttl then
  local score = redis.call('ZSCORE', KEYS[2], ARGV[7])
  if score and tonumber(score) > tonumber(ARGV[6]) then ttl = tonumber(ARGV[4]) end
end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return #all - (i - 1)
";

static SCRIPTS: std::sync::LazyLock<(Script, Script)> =
    std::sync::LazyLock::new(|| (Script::new(APPEND), Script::new(EXTEND)));

/// A line as the list holds it.
fn encode(line: &Line) -> String {
    let role = match line.role {
        Role::User => 'u',
        Role::Bot => 'b',
    };
    format!("{role}{}", line.text)
}

/// A line read back (`None`: not one this relay wrote).
fn decode(entry: &str) -> Option<Line> {
    let mut chars = entry.chars();
    let role = match chars.next()? {
        'u' => Role::User,
        'b' => Role::Bot,
        _ => return None,
    };
    Some(Line {
        role,
        text: chars.as_str().to_owned(),
    })
}

impl Core {
    fn ms(d: std::time::Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// Appends `lines` written at `now_ms` to `session`'s transcript; the
    /// expiry from `user`'s list (without a user, the session's owner).
    pub async fn append_lines(
        &self,
        session: &str,
        user: Option<&str>,
        lines: &[Line],
        now_ms: u64,
    ) -> RedisResult<()> {
        let keys = self.keys(session);
        let owner = match user {
            Some(user) => Some(user.to_owned()),
            None => {
                let key = keys.owner.clone();
                self.call(|mut conn| {
                    let key = key.clone();
                    async move {
                        redis::cmd("GET")
                            .arg(key)
                            .query_async::<Option<String>>(&mut conn)
                            .await
                    }
                })
                .await?
            }
        };
        let list = owner.as_deref().map(|u| user_keys(&self.prefix, u).0);
        let retention = Self::ms(self.limits.conversation_retention);
        let age = crate::clock::now_ms().saturating_sub(now_ms);
        let listed_ttl = retention.saturating_sub(age);
        let session_ttl = Self::ms(self.limits.retain_for);
        let cutoff = now_ms.saturating_sub(retention);
        let entries: Vec<String> = lines.iter().map(encode).collect();
        let lines_key = keys.lines.clone();
        let list_key = list.clone().unwrap_or_else(|| lines_key.clone());
        let look = if list.is_some() { "1" } else { "0" };
        self.call(|mut conn| {
            let (lines_key, list_key, entries) =
                (lines_key.clone(), list_key.clone(), entries.clone());
            async move {
                let mut invocation = SCRIPTS.0.key(lines_key);
                invocation
                    .key(list_key)
                    .arg(MAX_LINES)
                    .arg(MAX_BYTES)
                    .arg(session_ttl)
                    .arg(listed_ttl)
                    .arg(look)
                    .arg(cutoff)
                    .arg(session);
                for entry in entries {
                    invocation.arg(entry);
                }
                invocation.invoke_async::<i64>(&mut conn).await.map(|_| ())
            }
        })
        .await
    }

    /// `session`'s transcript, oldest first.
    pub async fn transcript(&self, session: &str) -> RedisResult<Vec<Line>> {
        let key = self.keys(session).lines;
        let entries: Vec<String> = self
            .call(|mut conn| {
                let key = key.clone();
                async move {
                    redis::cmd("LRANGE")
                        .arg(key)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut conn)
                        .await
                }
            })
            .await?;
        Ok(entries.iter().filter_map(|e| decode(e)).collect())
    }

    /// The user saved `session` in their list: its transcript is kept
    /// `--conversation-retention` from now (never less than it had).
    pub async fn extend_transcript(&self, session: &str) -> RedisResult<()> {
        let key = self.keys(session).lines;
        let ttl = Self::ms(self.limits.conversation_retention);
        self.call(|mut conn| {
            let key = key.clone();
            async move {
                SCRIPTS
                    .1
                    .key(key)
                    .arg(ttl)
                    .invoke_async::<i64>(&mut conn)
                    .await
                    .map(|_| ())
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_written() {
        for line in [
            Line::user("hi\nthere"),
            Line::bot("**bold** ü"),
            Line::bot(""),
        ] {
            assert_eq!(decode(&encode(&line)), Some(line));
        }
        assert_eq!(decode("x?"), None);
        assert_eq!(decode(""), None);
    }
}
