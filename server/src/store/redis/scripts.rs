//! The Redis keys of a session, and the Lua scripts that change them.
//!
//! Each step that must not interleave with another relay's (is this id new?
//! publish or keep?) is one script: Redis runs a script atomically, so two
//! relays can never both start the same message, and an answer published
//! while the session's connection moves between relays is either received
//! by a subscriber or kept — never neither.
//!
//! Per session `s` (prefix `p`, default `n8n-chat:`), all expiring
//! `--retain-for` after the last activity (renewed while connected):
//! - `p{s}` hash: `seen`, and `m:<id>` → `0<frame>` (answer) / `1<frame>` (error)
//! - `p{s}:run` hash: `<id>` → the relay answering it right now
//! - `p{s}:order` list: answered ids, oldest first (bounded)
//! - `p{s}:kept` list: frames waiting for the session's next connection
//! - channel `p{s}:ch`: frames for the session's open connections
//! - `p{s}:lines` list: the session's transcript, oldest first (bounded;
//!   kept `--conversation-retention` for a conversation in its user's
//!   list, see [`super::transcripts`])
//!
//! And one key that outlives the others, expiring twice `--retain-for`
//! after the last activity (so at least `--retain-for` after the session's
//! keys are gone):
//! - `p{s}:seen` sorted set: tombstones of answered ids — the first 16 hex
//!   digits of the SHA-1 of the id, `:0` (answer) or `:1` (error) — scored
//!   by when; at most [`MAX_SEEN_FACTOR`] × the per-session answer bound
//!   (`Limits::max_answers_per_session`; oldest go first). A resend of an id whose answer is no longer in the
//!   hash is refused as `lost`, not run again (see
//!   [`crate::store::tombstones`] for the same in memory).
//!
//! And per relay `p relay:<id>`: its lease, renewed while it runs. A message
//! whose relay's lease has expired (it crashed) may be started again.
//!
//! Keys are used beyond those passed as KEYS, so this is for a standalone
//! Redis (or one behind Sentinel), not Redis Cluster.

use redis::Script;

/// The key names of one session.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The session hash.
    pub hash: String,
    /// Messages being answered, by relay.
    pub run: String,
    /// Answered ids, oldest first.
    pub order: String,
    /// Frames kept for the next connection.
    pub kept: String,
    /// The pub/sub channel.
    pub channel: String,
    /// Tombstones of answered ids (outlives the others).
    pub seen: String,
    /// The verified user the session belongs to (outlives the others,
    /// like `seen`).
    pub owner: String,
    /// The session's transcript (see [`super::transcripts`]).
    pub lines: String,
}

/// The `:seen` set of a session holds this many times
/// `Limits::max_answers_per_session` tombstones at most.
pub const MAX_SEEN_FACTOR: usize = 4;

impl Keys {
    /// The keys of `session` under `prefix`.
    pub fn new(prefix: &str, session: &str) -> Self {
        // The braces make the session a hash tag, so its keys would land in
        // one slot should this ever run against Redis Cluster.
        let base = format!("{prefix}{{{session}}}");
        Keys {
            hash: base.clone(),
            run: format!("{base}:run"),
            order: format!("{base}:order"),
            kept: format!("{base}:kept"),
            channel: format!("{base}:ch"),
            seen: format!("{base}:seen"),
            owner: format!("{base}:owner"),
            lines: format!("{base}:lines"),
        }
    }

    /// The session a channel name belongs to.
    pub fn session_of_channel<'a>(prefix: &str, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(prefix)?
            .strip_prefix('{')?
            .strip_suffix("}:ch")
    }
}

/// What is published for `frame`. A frame the publishing relay has
/// already handed to the session's connections there is tagged with its id
/// (`@<relay>\n<frame>`) so that relay skips it when it comes back; other
/// relays deliver it. Untagged, it is the frame itself (JSON, `{…`).
pub fn payload(frame: &str, delivered_by: Option<&str>) -> String {
    match delivered_by {
        Some(relay) => format!("@{relay}\n{frame}"),
        None => frame.to_owned(),
    }
}

/// Reads a published payload: the relay that already delivered it (if
/// tagged), and the frame.
pub fn read_payload(payload: &str) -> (Option<&str>, &str) {
    match payload
        .strip_prefix('@')
        .and_then(|rest| rest.split_once('\n'))
    {
        Some((relay, frame)) => (Some(relay), frame),
        None => (None, payload),
    }
}

/// The key of a relay's lease.
pub fn lease_key(prefix: &str, relay: &str) -> String {
    format!("{prefix}relay:{relay}")
}

/// KEYS: hash, run, seen. ARGV: id, retry (0/1), relay, max in flight,
/// ttl (s), lease key prefix, rerun interrupted (0/1), and the
/// `interrupted` error frame split around its id (before, after).
/// Returns `{"start"}`, `{"elsewhere"}` (in flight on a relay whose lease
/// lives), `{"busy"}`, `{"answered", frame}`, `{"lost"}` (answered once,
/// the answer no longer kept) or `{"interrupted", frame}` (in flight on a
/// relay whose lease expired: now that error, stored as its outcome).
///
/// A message in flight on a dead relay cannot be known to have run or
/// not: unless ARGV[7] is 1 (`--rerun-interrupted`) or the page retries,
/// it becomes `interrupted` — also when its marker is found while counting
/// the session's messages in flight, so it is never silently run again.
pub const BEGIN: &str = r#"
local id = ARGV[1]
local rerun = ARGV[7] == '1'
local function interrupt(which)
  redis.call('HSET', KEYS[1], 'm:' .. which, '1' .. ARGV[8] .. which .. ARGV[9])
end
local owner = redis.call('HGET', KEYS[2], id)
if owner then
  -- Marked by this relay, which asks only when it does not know the id
  -- itself: a retry after a lost reply, or a restart. Run it.
  if owner == ARGV[3] then return {'start'} end
  if redis.call('EXISTS', ARGV[6] .. owner) == 1 then return {'elsewhere'} end
  redis.call('HDEL', KEYS[2], id)
  if not rerun and ARGV[2] ~= '1' then
    interrupt(id)
    return {'interrupted', ARGV[8] .. id .. ARGV[9]}
  end
end
local v = redis.call('HGET', KEYS[1], 'm:' .. id)
if v and not (string.sub(v, 1, 1) == '1' and ARGV[2] == '1') then
  return {'answered', string.sub(v, 2)}
end
if not v then
  local tomb = string.sub(redis.sha1hex(id), 1, 16)
  if redis.call('ZSCORE', KEYS[3], tomb .. ':0')
    or (ARGV[2] ~= '1' and redis.call('ZSCORE', KEYS[3], tomb .. ':1')) then
    return {'lost'}
  end
end
local all = redis.call('HGETALL', KEYS[2])
local n = 0
for i = 1, #all, 2 do
  if redis.call('EXISTS', ARGV[6] .. all[i + 1]) == 1 then
    n = n + 1
  else
    if not rerun then interrupt(all[i]) end
    redis.call('HDEL', KEYS[2], all[i])
  end
end
if n >= tonumber(ARGV[4]) then return {'busy'} end
redis.call('HSET', KEYS[2], id, ARGV[3])
redis.call('HSET', KEYS[1], 'seen', '1')
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {'start'}
"#;

/// KEYS: hash, run, order, kept, seen. ARGV: id, failed (0/1), frame,
/// ttl (s), max answers, channel, payload to publish (see [`payload`]), now
/// (unix ms), max tombstones. Stores the answer and its tombstone, then
/// publishes it, or keeps it if no relay listens. Returns how many relays
/// received it.
pub const COMPLETE: &str = r#"
local field = 'm:' .. ARGV[1]
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HEXISTS', KEYS[1], field) == 1 then
  redis.call('LREM', KEYS[3], 0, ARGV[1])
end
redis.call('HSET', KEYS[1], field, ARGV[2] .. ARGV[3])
redis.call('HSET', KEYS[1], 'seen', '1')
redis.call('RPUSH', KEYS[3], ARGV[1])
local max = tonumber(ARGV[5])
while redis.call('LLEN', KEYS[3]) > max do
  local old = redis.call('LPOP', KEYS[3])
  redis.call('HDEL', KEYS[1], 'm:' .. old)
end
redis.call('ZADD', KEYS[5], ARGV[8], string.sub(redis.sha1hex(ARGV[1]), 1, 16) .. ':' .. ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -tonumber(ARGV[9]) - 1)
redis.call('EXPIRE', KEYS[5], 2 * tonumber(ARGV[4]))
local n = redis.call('PUBLISH', ARGV[6], ARGV[7])
if n == 0 then
  redis.call('RPUSH', KEYS[4], ARGV[3])
  redis.call('LTRIM', KEYS[4], -max, -1)
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
return n
"#;

/// KEYS: hash, kept. ARGV: channel, frame, ttl (s), max kept. Returns -1 for
/// an unknown session, -2 when it keeps too much already, 0 when kept, or
/// how many relays received it.
pub const PUSH: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
local n = redis.call('PUBLISH', ARGV[1], ARGV[2])
if n > 0 then return n end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 0
"#;

/// KEYS: hash, kept. ARGV: ttl (s), max kept, frames to keep… Keeps frames
/// a relay received for a session whose connection had just left it.
pub const KEEP: &str = r#"
redis.call('HSET', KEYS[1], 'seen', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
for i = 3, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"#;

/// KEYS: hash, run, order, kept, seen. ARGV: ttl (s). Marks the session
/// seen, renews its keys (the tombstones for twice as long), and takes the
/// frames kept for it.
pub const ATTACH: &str = r#"
redis.call('HSET', KEYS[1], 'seen', '1')
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[1]) end
redis.call('EXPIRE', KEYS[5], 2 * tonumber(ARGV[1]))
local kept = redis.call('LRANGE', KEYS[4], 0, -1)
redis.call('DEL', KEYS[4])
return kept
"#;

/// Who may join a session (see [`crate::store::Claim`]). KEYS: owner,
/// hash. ARGV: the user (`""`: anonymous), the owner's ttl in seconds,
/// `"1"` if this relay knows the session (its hash may not exist yet).
/// Returns 0 unknown, 1 granted (recording an identified user as the
/// owner of a session without one), 2 refused.
pub const CLAIM: &str = r#"
local owner = redis.call('GET', KEYS[1])
if owner then
  if owner == ARGV[1] then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    return 1
  end
  return 2
end
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
if ARGV[1] ~= '' then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"#;

/// KEYS: a transcript (see [`super::transcripts`]). ARGV: expiry (ms).
/// Lengthens the transcript's expiry to it, never shortens it; nothing if
/// there is no transcript.
pub const EXTEND: &str = r"
local left = redis.call('PTTL', KEYS[1])
if left ~= -2 and left < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return left
";

/// The scripts, loaded once (redis-rs sends EVALSHA and falls back to EVAL,
/// so a restarted Redis that forgot them is fine).
#[derive(Debug)]
pub struct Scripts {
    /// [`BEGIN`].
    pub begin: Script,
    /// [`COMPLETE`].
    pub complete: Script,
    /// [`PUSH`].
    pub push: Script,
    /// [`KEEP`].
    pub keep: Script,
    /// [`ATTACH`].
    pub attach: Script,
    /// [`CLAIM`].
    pub claim: Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts {
            begin: Script::new(BEGIN),
            complete: Script::new(COMPLETE),
            push: Script::new(PUSH),
            keep: Script::new(KEEP),
            attach: Script::new(ATTACH),
            claim: Script::new(CLAIM),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_session() {
        let keys = Keys::new("n8n-chat:", "abc-1");
        assert_eq!(keys.hash, "n8n-chat:{abc-1}");
        assert_eq!(keys.channel, "n8n-chat:{abc-1}:ch");
        assert_eq!(keys.seen, "n8n-chat:{abc-1}:seen");
        assert_eq!(
            Keys::session_of_channel("n8n-chat:", &keys.channel),
            Some("abc-1")
        );
        assert_eq!(Keys::session_of_channel("other:", &keys.channel), None);
        assert_eq!(lease_key("p:", "r1"), "p:relay:r1");
    }

    #[test]
    fn payloads_say_who_delivered_them_already() {
        let frame = r#"{"type":"response","id":"m1","text":"@x\ny"}"#;
        assert_eq!(read_payload(&payload(frame, None)), (None, frame));
        assert_eq!(
            read_payload(&payload(frame, Some("r1"))),
            (Some("r1"), frame)
        );
    }
}
