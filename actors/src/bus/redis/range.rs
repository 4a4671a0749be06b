//! Reading a stream outside any consumer group, newest first, and deleting single entries
//! ([`Bus::entries_newest_first`](crate::bus::Bus::entries_newest_first),
//! [`Bus::delete_entries`](crate::bus::Bus::delete_entries)): what an operator needs to look
//! through and tidy the dead-letter streams, which no group reads.

use super::connection::RedisConnection;
use deadpool_redis::redis::{self, Value};

use super::from_redis_error;
use super::reply::{self, RawEntry};
use crate::bus::BusError;

/// `XREVRANGE stream end start COUNT count`: `end` and `start` in Redis's range syntax (`+`,
/// `-`, an id, an exclusive `(id`, or a millisecond time standing for its first or last id).
pub(super) async fn newest_first(
    conn: &mut RedisConnection,
    stream: &str,
    start: &str,
    end: &str,
    count: usize,
) -> Result<Vec<(String, String)>, BusError> {
    let value: Value = redis::cmd("XREVRANGE")
        .arg(stream)
        .arg(end)
        .arg(start)
        .arg("COUNT")
        .arg(count.max(1))
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)?;
    Ok(reply::entries(&value)
        .into_iter()
        .map(|RawEntry { id, payload }| (id, payload.unwrap_or_default()))
        .collect())
}

/// `XDEL stream ids…`: how many of `ids` were there and are gone.
pub(super) async fn delete(
    conn: &mut RedisConnection,
    stream: &str,
    ids: &[String],
) -> Result<u64, BusError> {
    if ids.is_empty() {
        return Ok(0);
    }
    redis::cmd("XDEL")
        .arg(stream)
        .arg(ids)
        .query_async(&mut *conn)
        .await
        .map_err(from_redis_error)
}
