//! Per-sender limits on Redis ([`Bus::take_token`](crate::bus::Bus::take_token),
//! [`Bus::count_up`](crate::bus::Bus::count_up)), shared by every replica on the same Redis.
//!
//! Why a Lua script: reading the bucket, refilling it and taking a token must be one step, or
//! two replicas handling the same sender at once would both take the last token. A script runs
//! atomically. It reads the time with `TIME`, Redis's clock, not the caller's: replicas whose
//! clocks differ by a second would otherwise refill one bucket by different amounts. (Since
//! Redis 5 a script replicates its effects, not itself, so a non-deterministic `TIME` is
//! allowed.) The rule is [`bucket::take`](crate::bus::bucket::take), line for line; the key
//! expires once the bucket is full again and its notice period over, so an idle sender costs
//! nothing.
//!
//! The counter is `INCR` plus a `PEXPIRE` on the first count, in one script for the same
//! reason: a crash between the two would leave a counter that never expires.
//!
//! Why `EVAL`: see `trim.rs`; both scripts are short.

use std::time::Duration;

use super::connection::RedisConnection;
use deadpool_redis::redis;

use super::from_redis_error;
use crate::bus::{Admission, BusError, TokenBucket};

/// `KEYS[1]`: the bucket, a hash of `tokens`, `at` (ms) and `noticed` (ms).
/// `ARGV`: tokens per ms, burst, notice period (ms), key lifetime (ms).
/// Returns `{admitted, notify}` as 0/1.
const TAKE_TOKEN: &str = r#"
local key = KEYS[1]
local per_ms = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local notice_every = tonumber(ARGV[3])
local memory = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at', 'noticed')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
local noticed = tonumber(state[3])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
local elapsed = now - at
if elapsed < 0 then
  elapsed = 0
end
tokens = math.min(burst, tokens + elapsed * per_ms)
local admitted = 0
local notify = 0
if tokens >= 1 then
  tokens = tokens - 1
  admitted = 1
elseif noticed == nil or now - noticed >= notice_every then
  noticed = now
  notify = 1
end
redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'at', string.format('%d', now))
if noticed ~= nil then
  redis.call('HSET', key, 'noticed', string.format('%d', noticed))
end
redis.call('PEXPIRE', key, memory)
return {admitted, notify}
"#;

/// `KEYS[1]`: the counter; `ARGV[1]`: its lifetime in ms from the first count.
const COUNT_UP: &str = r#"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"#;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Takes one token from the bucket `key`; see the module doc.
pub(super) async fn take_token(
    conn: &mut RedisConnection,
    key: &str,
    bucket: &TokenBucket,
) -> Result<Admission, BusError> {
    let (admitted, notify): (i64, i64) = redis::cmd("EVAL")
        .arg(TAKE_TOKEN)
        .arg(1)
        .arg(key)
        .arg(bucket.per_ms())
        .arg(bucket.burst.max(1))
        .arg(millis(bucket.notice_every))
        .arg(millis(bucket.memory()))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)?;
    Ok(if admitted == 1 {
        Admission::Admitted
    } else {
        Admission::Refused {
            notify: notify == 1,
        }
    })
}

/// Adds one to the counter `key`; see the module doc.
pub(super) async fn count_up(
    conn: &mut RedisConnection,
    key: &str,
    ttl: Duration,
) -> Result<u64, BusError> {
    redis::cmd("EVAL")
        .arg(COUNT_UP)
        .arg(1)
        .arg(key)
        .arg(millis(ttl))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)
}
