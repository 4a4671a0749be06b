//! Partition leases, replica heartbeats and the take-over of a partition's pending entries on
//! Redis (see [`partitions`](crate::partitions) for what they are for).
//!
//! Why Lua: acquiring a lease and drawing its fencing token must be one step — a holder whose
//! token was drawn by someone else's `INCR` in between would commit under a token it does not
//! own. A lease is a plain key `"{owner} {token}"` with a TTL (`PX`), so that a holder that
//! dies simply lets it expire; renew and release compare the whole value, so a holder whose
//! lease expired and was taken can neither extend nor delete the new one. The lease key and
//! its counter share the partition's hash tag, so the scripts stay in one slot on Redis
//! Cluster.
//!
//! The heartbeat is a sorted set (member = replica id, score = Redis's `TIME` in ms): one
//! script adds the caller, drops members older than the TTL and returns the rest. Redis's
//! clock, not the callers', decides who is live, so replicas with skewed clocks agree.

use std::time::Duration;

use super::connection::RedisConnection;
use deadpool_redis::redis::{self, Value};

use super::connection::from_redis_error;
use crate::bus::BusError;

/// `KEYS`: lease, counter. `ARGV`: owner, ttl (ms). Returns the token held by `owner` (a new
/// one when the lease was free, its own when it held it already, the TTL then restarted), or
/// 0 when someone else holds it.
const ACQUIRE: &str = r#"
local current = redis.call('GET', KEYS[1])
if current then
  local owner, token = string.match(current, '^(.*) (%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token
"#;

/// `KEYS`: lease. `ARGV`: `"{owner} {token}"`, ttl (ms). 1 when renewed, 0 when lost.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

/// `KEYS`: lease. `ARGV`: `"{owner} {token}"`. 1 when released, 0 when not held.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"#;

/// `KEYS`: the replicas' sorted set. `ARGV`: member, ttl (ms). Returns the live members.
const HEARTBEAT: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - ttl))
redis.call('PEXPIRE', KEYS[1], ttl * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"#;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// See [`Bus::acquire_lease`](crate::bus::Bus::acquire_lease).
pub(super) async fn acquire(
    conn: &mut RedisConnection,
    lease: &str,
    counter: &str,
    owner: &str,
    ttl: Duration,
) -> Result<Option<u64>, BusError> {
    let token: u64 = redis::cmd("EVAL")
        .arg(ACQUIRE)
        .arg(2)
        .arg(lease)
        .arg(counter)
        .arg(owner)
        .arg(millis(ttl))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)?;
    Ok((token > 0).then_some(token))
}

/// See [`Bus::renew_lease`](crate::bus::Bus::renew_lease).
pub(super) async fn renew(
    conn: &mut RedisConnection,
    lease: &str,
    owner: &str,
    token: u64,
    ttl: Duration,
) -> Result<bool, BusError> {
    let renewed: i64 = redis::cmd("EVAL")
        .arg(RENEW)
        .arg(1)
        .arg(lease)
        .arg(format!("{owner} {token}"))
        .arg(millis(ttl))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)?;
    Ok(renewed == 1)
}

/// See [`Bus::release_lease`](crate::bus::Bus::release_lease).
pub(super) async fn release(
    conn: &mut RedisConnection,
    lease: &str,
    owner: &str,
    token: u64,
) -> Result<bool, BusError> {
    let released: i64 = redis::cmd("EVAL")
        .arg(RELEASE)
        .arg(1)
        .arg(lease)
        .arg(format!("{owner} {token}"))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)?;
    Ok(released == 1)
}

/// See [`Bus::heartbeat`](crate::bus::Bus::heartbeat).
pub(super) async fn heartbeat(
    conn: &mut RedisConnection,
    members: &str,
    member: &str,
    ttl: Duration,
) -> Result<Vec<String>, BusError> {
    redis::cmd("EVAL")
        .arg(HEARTBEAT)
        .arg(1)
        .arg(members)
        .arg(member)
        .arg(millis(ttl))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)
}

/// `KEYS`: stream. `ARGV`: group, consumer, cursor, count. One batch of the take-over:
/// `XAUTOCLAIM … 0 cursor COUNT n JUSTID` (which counts no delivery), then each claimed entry's
/// delivery count lowered by one (`XCLAIM … RETRYCOUNT count-1 JUSTID`), so that the new
/// owner's re-read of its pending list, which Redis counts as a delivery, leaves the count as
/// it was before the move: a partition moving `INGEST_MAX_DELIVERIES` times never
/// dead-letters an entry. Returns the next cursor and how many were taken.
const TAKE_OVER: &str = r#"
local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'COUNT', ARGV[4], 'JUSTID')
local ids = claimed[2]
for _, id in ipairs(ids) do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] then
    local count = tonumber(pending[1][4])
    if count > 0 then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'RETRYCOUNT', count - 1, 'JUSTID')
    end
  end
end
return {claimed[1], #ids}
"#;

/// See [`Bus::take_over_pending`](crate::bus::Bus::take_over_pending): [`TAKE_OVER`] from the
/// start of the pending list until the cursor comes back to `0-0`.
pub(super) async fn take_over_pending(
    conn: &mut RedisConnection,
    stream: &str,
    group: &str,
    consumer: &str,
) -> Result<u64, redis::RedisError> {
    let mut cursor = "0-0".to_owned();
    let mut taken = 0u64;
    loop {
        let value: Value = redis::cmd("EVAL")
            .arg(TAKE_OVER)
            .arg(1)
            .arg(stream)
            .arg(group)
            .arg(consumer)
            .arg(&cursor)
            .arg(1000)
            .query_async(&mut *conn)
            .await?;
        let (next, count) = match value {
            Value::Array(parts) if parts.len() >= 2 => {
                let next = match &parts[0] {
                    Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    Value::SimpleString(text) => text.clone(),
                    _ => "0-0".to_owned(),
                };
                let count = match parts[1] {
                    Value::Int(n) => u64::try_from(n).unwrap_or(0),
                    _ => 0,
                };
                (next, count)
            }
            _ => ("0-0".to_owned(), 0),
        };
        taken += count;
        if next == "0-0" {
            return Ok(taken);
        }
        cursor = next;
    }
}

/// `KEYS`: stream, lease. `ARGV`: group, consumer, holder (`"{replica} {token}"`), ids….
/// `XCLAIM … 0 ids JUSTID` (no delivery counted) only while the lease holds `holder`; 1 when
/// done, 0 when the lease is someone else's or gone. The stream and the lease share the
/// partition's hash tag, so the script stays in one slot on Redis Cluster.
const KEEP_WHILE_HELD: &str = r#"
if redis.call('GET', KEYS[2]) ~= ARGV[3] then
  return 0
end
if #ARGV < 4 then
  return 1
end
local args = {KEYS[1], ARGV[1], ARGV[2], 0}
for i = 4, #ARGV do
  args[#args + 1] = ARGV[i]
end
args[#args + 1] = 'JUSTID'
redis.call('XCLAIM', unpack(args))
return 1
"#;

/// See [`Bus::keep_pending_while_held`](crate::bus::Bus::keep_pending_while_held).
pub(super) async fn keep_pending_while_held(
    conn: &mut RedisConnection,
    keys: [&str; 2],
    group: &str,
    consumer: &str,
    holder: &str,
    ids: &[String],
) -> Result<bool, redis::RedisError> {
    let [stream, lease] = keys;
    let kept: i64 = redis::cmd("EVAL")
        .arg(KEEP_WHILE_HELD)
        .arg(2)
        .arg(stream)
        .arg(lease)
        .arg(group)
        .arg(consumer)
        .arg(holder)
        .arg(ids)
        .query_async(&mut *conn)
        .await?;
    Ok(kept == 1)
}
