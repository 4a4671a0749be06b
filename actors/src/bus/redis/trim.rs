//! Trimming what every consumer group has handled ([`Bus::trim_handled`](crate::bus::Bus)).
//!
//! The oldest entry a group still needs is its oldest pending entry (`XPENDING` summary) or,
//! when nothing is pending, its `last-delivered-id`: the entries after it were never delivered
//! to the group and must stay, the last delivered one may stay too. (Both are taken, the
//! smaller wins: normally the oldest pending entry is never after the last delivered one, but
//! an `XGROUP SETID` moved backwards would redeliver the entries in between.) The minimum over
//! all groups is passed to `XTRIM … MINID =`, which removes the entries strictly before it.
//!
//! Why a Lua script: it runs atomically, so no `XREADGROUP`, `XACK`, `XADD` or `XGROUP CREATE`
//! of another client falls between computing the minimum and trimming.
//!
//! Why ids are compared as digit strings: `ms-seq` ids must be compared numerically (`9-0` is
//! before `10-0`, `1-9` before `1-10`), and Lua numbers are doubles, exact only up to 2^53
//! while an id part may reach 2^64 - 1. Redis prints id parts without leading zeros, so a
//! shorter digit string is the smaller number and equal lengths compare as text.
//!
//! Why `EVAL` and not `EVALSHA`: the client's `Script` helper (which tries `EVALSHA` and
//! loads the script on `NOSCRIPT`) sits behind the `script` feature of `redis`, which the
//! workspace does not enable; the script is short and called rarely (by the janitor), so
//! sending it each time costs nothing worth the extra round trips of managing its SHA by hand.
//! Redis caches it by body either way.

use super::connection::RedisConnection;
use deadpool_redis::redis;

use super::from_redis_error;
use crate::bus::BusError;

/// `KEYS[1]`: the stream. Returns how many entries `XTRIM` removed (0 for a missing stream or
/// one without groups). Inside a script replies are RESP2: `XINFO GROUPS` gives one flat
/// `field, value, …` list per group.
const TRIM_HANDLED: &str = r#"
local stream = KEYS[1]
if redis.call('EXISTS', stream) == 0 then
  return 0
end

local function parse(id)
  if type(id) ~= 'string' then
    return nil
  end
  return string.match(id, '^(%d+)%-(%d+)$')
end

-- Decimal digit strings without leading zeros, of any length.
local function less_digits(a, b)
  if #a ~= #b then
    return #a < #b
  end
  return a < b
end

local function less(a, b)
  local a_ms, a_seq = parse(a)
  local b_ms, b_seq = parse(b)
  if a_ms ~= b_ms then
    return less_digits(a_ms, b_ms)
  end
  return less_digits(a_seq, b_seq)
end

local keep = nil
for _, group in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
  local name, pending, last
  for i = 1, #group, 2 do
    local field = group[i]
    if field == 'name' then
      name = group[i + 1]
    elseif field == 'pending' then
      pending = group[i + 1]
    elseif field == 'last-delivered-id' then
      last = group[i + 1]
    end
  end
  if type(name) ~= 'string' or type(pending) ~= 'number' or parse(last) == nil then
    return redis.error_reply('trim_handled: unexpected XINFO GROUPS reply for ' .. stream)
  end
  local oldest = last
  if pending > 0 then
    local first = redis.call('XPENDING', stream, name)[2]
    if parse(first) == nil then
      return redis.error_reply('trim_handled: unexpected XPENDING reply for ' .. stream)
    end
    if less(first, oldest) then
      oldest = first
    end
  end
  if keep == nil or less(oldest, keep) then
    keep = oldest
  end
end

if keep == nil then
  return 0
end
return redis.call('XTRIM', stream, 'MINID', '=', keep)
"#;

/// Runs the trim script on `stream`; see the module doc.
pub(super) async fn trim_handled(
    conn: &mut RedisConnection,
    stream: &str,
) -> Result<u64, BusError> {
    redis::cmd("EVAL")
        .arg(TRIM_HANDLED)
        .arg(1)
        .arg(stream)
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)
}
