//! A group's consumers ([`Bus::consumers`](crate::bus::Bus::consumers)) and the removal of
//! stale ones ([`Bus::remove_idle_consumers`](crate::bus::Bus::remove_idle_consumers)).
//!
//! A consumer name carries the replica's `HOSTNAME`, so every replaced container leaves one
//! behind in the group; `XINFO CONSUMERS` lists them forever unless removed. Removing a
//! consumer with `XGROUP DELCONSUMER` also drops its pending entries from the group, which
//! would lose them (the group has moved past them, no claim finds them again). So the check
//! (nothing pending, idle long enough) and the removal run in one Lua script: no read or claim
//! of another client falls between them. Why `EVAL`: see `trim.rs`.

use std::time::Duration;

use super::connection::RedisConnection;
use deadpool_redis::redis::{self, RedisError, Value};

use super::{from_redis_error, reply};
use crate::bus::{BusError, ConsumerHealth};

/// `KEYS[1]`: the stream; `ARGV[1]`: the group; `ARGV[2]`: the idle time in ms. Returns the
/// removed consumers' names (none for a missing stream or group). `XINFO CONSUMERS` answers
/// flat `name, value, …` arrays inside a script.
const REMOVE_IDLE: &str = r#"
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
local removed = {}
if consumers['err'] then
  return removed
end
local idle_ms = tonumber(ARGV[2])
for _, info in ipairs(consumers) do
  local fields = {}
  for i = 1, #info, 2 do
    fields[info[i]] = info[i + 1]
  end
  if fields['pending'] == 0 and fields['idle'] >= idle_ms then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
    table.insert(removed, fields['name'])
  end
end
return removed
"#;

/// Whether an error only says the stream or the group is not there (nothing to list).
fn missing(error: &RedisError) -> bool {
    error.code() == Some("NOGROUP") || error.to_string().contains("no such key")
}

/// `XINFO CONSUMERS`; empty for a missing stream or group.
pub(super) async fn list(
    conn: &mut RedisConnection,
    stream: &str,
    group: &str,
) -> Result<Vec<ConsumerHealth>, BusError> {
    let info: Result<Value, RedisError> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(stream)
        .arg(group)
        .query_async(&mut *conn)
        .await;
    let info = match info {
        Ok(info) => info,
        Err(error) if missing(&error) => return Ok(Vec::new()),
        Err(error) => return Err(from_redis_error(error)),
    };
    Ok(reply::consumers(&info)
        .into_iter()
        .map(|(name, pending, idle_ms)| ConsumerHealth {
            name,
            pending,
            idle: Duration::from_millis(idle_ms),
        })
        .collect())
}

/// Removes the consumers with nothing pending idle for at least `idle`; see the module doc.
pub(super) async fn remove_idle(
    conn: &mut RedisConnection,
    stream: &str,
    group: &str,
    idle: Duration,
) -> Result<Vec<String>, BusError> {
    let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
    redis::cmd("EVAL")
        .arg(REMOVE_IDLE)
        .arg(1)
        .arg(stream)
        .arg(group)
        .arg(idle_ms)
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)
}
