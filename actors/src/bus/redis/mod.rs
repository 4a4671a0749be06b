//! [`RedisBus`]: the [`Bus`] on Redis Streams, through `deadpool-redis`.
//!
//! Connections, and why there are three kinds:
//! * a **command pool** for short commands (`XACK`, `XAUTOCLAIM`, pending reads, …) with short
//!   wait, create and recycle timeouts and a response timeout, so that with Redis down every call
//!   fails within about a second with [`BusError::Unavailable`] (the webhook answers 503), and
//!   with Redis back the next checkout creates a fresh connection: no restart needed;
//! * a **reader pool**: a blocking `XREADGROUP … BLOCK` occupies its connection on the server
//!   until it returns, so it never shares one with other commands. Each read checks out a
//!   connection of its own, sets a response timeout longer than the BLOCK time, and a read that
//!   is cancelled or fails takes its connection out of the pool (Redis may still be blocking on
//!   it);
//! * the **batching writer** (`writer`): a few tasks each owning a connection, coalescing
//!   concurrent publishes into one `MULTI … EXEC` pipeline.
//!
//! Each pool is of a single Redis or, when `REDIS_URL` lists several nodes, of a Redis Cluster
//! (`cluster`, `connection::RedisPool`); every command below is written once for both, and
//! keeps to one hash slot (see docs/adr/2026-12-02-redis-cluster.md).
//!
//! Construction does no I/O: the process starts with Redis down and `/readyz` reports it.
//! With `rediss://` every connection is TLS (`tls`), and [`RedisBus::check_tls`] lets start-up
//! tell a certificate problem (permanent: stop) from an outage (wait).
//!
//! Group creation starts at ID `0`, never `$`: after a Redis restart without persistence the
//! stream is recreated by the first `XADD` of the webhook, possibly before any reader notices
//! `NOGROUP`; a group created at `$` would skip those entries, which were acknowledged to the
//! platform with a 200 and would be lost. Starting at `0` may deliver old entries again when
//! only the group was lost, which the inbox (de-duplication by platform message id) absorbs.
//!
//! Streams are trimmed only by [`Bus::trim_handled`] (`trim`): up to the oldest entry that
//! some consumer group still has pending or has not been given yet, never further.

mod bucket;
mod cluster;
mod connection;
mod consumers;
mod lease;
mod range;
mod reply;
mod tls;
mod trim;
mod writer;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::{self, RedisError, Value};

use super::{
    Admission, Bus, BusError, ConsumerHealth, GroupHealth, ReadFrom, StreamEntry, TokenBucket,
};
use alfred_config::RedisTls;
pub use cluster::cluster_nodes;
pub use connection::RedisBusConfig;
use connection::{
    classify, from_pool_error, from_redis_error, pool, Failure, ReaderConnection, RedisConnection,
    RedisPool, Target,
};
use reply::RawEntry;
pub use tls::TlsProblem;
use writer::Writer;

/// The Redis Streams bus. Cheap to clone; clones share pools and writer.
#[derive(Clone)]
pub struct RedisBus {
    commands: RedisPool,
    readers: RedisPool,
    writer: Writer,
    response_timeout: Duration,
}

impl std::fmt::Debug for RedisBus {
    // The URL may hold a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").finish_non_exhaustive()
    }
}

impl RedisBus {
    /// A bus on `url` with the default tuning. Does no I/O; must be called inside a Tokio
    /// runtime (it spawns the writer tasks there).
    pub fn connect(url: &str) -> Result<RedisBus, BusError> {
        RedisBus::connect_with(url, RedisBusConfig::default())
    }

    /// A bus on `url` with the given tuning. Does no I/O.
    pub fn connect_with(url: &str, config: RedisBusConfig) -> Result<RedisBus, BusError> {
        RedisBus::connect_with_tls(url, config, &RedisTls::default())
    }

    /// A bus on `url` with the given tuning and, for `rediss://`, the TLS files of the
    /// settings (a private CA, a client certificate); every connection uses them. Does no
    /// I/O: see [`RedisBus::check_tls`].
    pub fn connect_with_tls(
        url: &str,
        config: RedisBusConfig,
        tls: &RedisTls,
    ) -> Result<RedisBus, BusError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BusError::Other(
                "RedisBus::connect must be called inside a Tokio runtime".to_owned(),
            ));
        }
        let target = match cluster_nodes(url) {
            Some(nodes) => {
                let (nodes, certificates) = tls::cluster_nodes_info(&nodes, tls)?;
                Target::Cluster {
                    nodes,
                    certificates,
                }
            }
            None => Target::Single(tls::connection_info(url, tls)?),
        };
        let commands = pool(&target, &config, config.pool_size + config.writers, false)?;
        let readers = pool(&target, &config, config.reader_pool_size, true)?;
        let writer = Writer::spawn(
            commands.clone(),
            config.writers,
            config.max_batch_entries,
            config.queue_capacity,
        );
        Ok(RedisBus {
            commands,
            readers,
            writer,
            response_timeout: config.response_timeout,
        })
    }

    /// Opens one command connection and sends `PING`: `Err` only for a TLS failure that will
    /// not go away by itself (an untrusted, expired or misnamed certificate, a refused client
    /// certificate). A server that cannot be reached is `Ok`: start-up waits for Redis as it
    /// does without TLS.
    pub async fn check_tls(&self) -> Result<(), TlsProblem> {
        tls::check(&self.commands).await
    }

    async fn command(&self) -> Result<RedisConnection, BusError> {
        self.commands.get().await.map_err(from_pool_error)
    }

    /// Runs `cmd` for its effect, an error with the code `done` meaning there was nothing
    /// left to do (`BUSYGROUP`: the group exists; `NOGROUP`: no group, so no pending entry).
    async fn run_unless(&self, cmd: &redis::Cmd, done: &str) -> Result<(), BusError> {
        let mut conn = self.command().await?;
        let ran: Result<Value, RedisError> = cmd.query_async(&mut conn).await;
        match ran {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(done) => Ok(()),
            Err(error) => Err(from_redis_error(error)),
        }
    }

    /// `XCLAIM … 0 ids [RETRYCOUNT n] JUSTID`: gives pending entries to `consumer` and restarts
    /// their idle time; JUSTID leaves the delivery counter alone, RETRYCOUNT sets it.
    async fn reclaim_uncounted(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        retry_count: Option<u64>,
    ) -> Result<(), BusError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(stream).arg(group).arg(consumer).arg(0).arg(ids);
        if let Some(count) = retry_count {
            cmd.arg("RETRYCOUNT").arg(count);
        }
        cmd.arg("JUSTID");
        // No group, no pending entry: there is nothing to claim.
        self.run_unless(&cmd, "NOGROUP").await
    }

    /// `XGROUP CREATE … 0 MKSTREAM`, an existing group being fine (see the module doc for `0`).
    async fn create_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(stream)
            .arg(group)
            .arg("0")
            .arg("MKSTREAM");
        self.run_unless(&cmd, "BUSYGROUP").await
    }

    async fn read_once(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        from: ReadFrom,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, Failure> {
        match from {
            ReadFrom::New => self.read_new(stream, group, consumer, count, block).await,
            ReadFrom::Pending => self.read_pending(stream, group, consumer, count).await,
        }
    }

    /// `XREADGROUP … >` on a reader connection of its own.
    async fn read_new(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, Failure> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count.max(1));
        let block_ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX);
        // BLOCK 0 would block forever: a zero block time means "do not block".
        if block_ms > 0 {
            cmd.arg("BLOCK").arg(block_ms);
        }
        cmd.arg("STREAMS").arg(stream).arg(">");
        let mut reader = ReaderConnection {
            conn: Some(self.readers.get().await.map_err(from_pool_error)?),
            healthy: false,
        };
        let Some(conn) = reader.conn.as_mut() else {
            return Err(Failure::Bus(BusError::Other(
                "reader connection missing".to_owned(),
            )));
        };
        let value = match conn
            .query_blocking(&cmd, block + self.response_timeout)
            .await
        {
            Ok(value) => value,
            Err(error) => {
                let failure = classify(error);
                // A server error leaves the connection usable; a broken or timed-out one is not.
                reader.healthy = !matches!(failure, Failure::Bus(BusError::Unavailable(_)));
                return Err(failure);
            }
        };
        reader.healthy = true;
        let entries = reply::read_reply(&value)
            .into_iter()
            .filter_map(|RawEntry { id, payload }| {
                payload.map(|payload| StreamEntry {
                    id,
                    payload,
                    deliveries: 1,
                })
            })
            .collect();
        Ok(entries)
    }

    /// This consumer's own pending entries (`XREADGROUP … 0`) with their delivery counts
    /// (`XPENDING`), in one transaction so both see the same pending list.
    async fn read_pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>, Failure> {
        let count = count.max(1);
        let mut pipe = redis::pipe();
        pipe.atomic().ignore_errors();
        pipe.cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(stream)
            .arg("0");
        pipe.cmd("XPENDING")
            .arg(stream)
            .arg(group)
            .arg("-")
            .arg("+")
            .arg(count)
            .arg(consumer);
        let mut conn = self.command().await?;
        let results: Vec<Value> = pipe.query_async(&mut conn).await.map_err(classify)?;
        let [read, pending] = results.as_slice() else {
            return Err(Failure::Bus(BusError::Other(
                "unexpected reply to a pending read".to_owned(),
            )));
        };
        for value in [read, pending] {
            if let Value::ServerError(error) = value {
                return Err(classify(error.clone().into()));
            }
        }
        let counts: HashMap<String, u64> = reply::pending_counts(pending).into_iter().collect();
        let (entries, deleted) = split_deleted(reply::read_reply(read), &counts);
        if !deleted.is_empty() {
            tracing::warn!(%stream, count = deleted.len(), "Pending entries were deleted from the stream before being handled; acknowledging them.");
            self.ack(stream, group, &deleted).await?;
        }
        Ok(entries)
    }

    async fn claim_once(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, Failure> {
        let count = count.max(1);
        let min_idle_ms = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.command().await?;
        let mut cursor = "0-0".to_owned();
        let mut claimed = Vec::new();
        // XAUTOCLAIM scans at most 10 × COUNT pending entries per call; a few calls cover a
        // long pending list without holding Redis for long.
        for _ in 0..8 {
            let value: Value = redis::cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(group)
                .arg(consumer)
                .arg(min_idle_ms)
                .arg(&cursor)
                .arg("COUNT")
                .arg(count - claimed.len())
                .query_async(&mut conn)
                .await
                .map_err(classify)?;
            let (next, entries) = reply::autoclaim_reply(&value);
            claimed.extend(entries);
            cursor = next;
            if cursor == "0-0" || claimed.len() >= count {
                break;
            }
        }
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        // XAUTOCLAIM does not report delivery counts: ask XPENDING for each claimed id.
        let mut pipe = redis::pipe();
        for entry in &claimed {
            pipe.cmd("XPENDING")
                .arg(stream)
                .arg(group)
                .arg(&entry.id)
                .arg(&entry.id)
                .arg(1)
                .arg(consumer);
        }
        let rows: Vec<Value> = pipe.query_async(&mut conn).await.map_err(classify)?;
        let counts: HashMap<String, u64> = rows.iter().flat_map(reply::pending_counts).collect();
        let (entries, deleted) = split_deleted(claimed, &counts);
        if !deleted.is_empty() {
            self.ack(stream, group, &deleted).await?;
        }
        Ok(entries)
    }
}

/// Entries with a payload, and the ids of entries deleted while pending.
fn split_deleted(
    raw: Vec<RawEntry>,
    counts: &HashMap<String, u64>,
) -> (Vec<StreamEntry>, Vec<String>) {
    let mut entries = Vec::with_capacity(raw.len());
    let mut deleted = Vec::new();
    for RawEntry { id, payload } in raw {
        match payload {
            Some(payload) => {
                let deliveries = counts.get(&id).copied().unwrap_or(1);
                entries.push(StreamEntry {
                    id,
                    payload,
                    deliveries,
                });
            }
            None => deleted.push(id),
        }
    }
    (entries, deleted)
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, stream: &str, payload: &str) -> Result<String, BusError> {
        let mut ids = self
            .writer
            .publish(stream, vec![payload.to_owned()])
            .await?;
        ids.pop()
            .ok_or_else(|| BusError::Other("XADD returned no id".to_owned()))
    }

    async fn publish_many(
        &self,
        stream: &str,
        payloads: &[String],
    ) -> Result<Vec<String>, BusError> {
        self.writer.publish(stream, payloads.to_vec()).await
    }

    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        self.create_group(stream, group).await
    }

    async fn read(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        from: ReadFrom,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, BusError> {
        match self
            .read_once(stream, group, consumer, from, count, block)
            .await
        {
            Err(Failure::NoGroup) => {
                tracing::warn!(%stream, %group, "The consumer group is missing (Redis lost its data?); recreating it from the start of the stream.");
                self.create_group(stream, group).await?;
                self.read_once(stream, group, consumer, from, count, block)
                    .await
                    .map_err(Failure::into_bus)
            }
            other => other.map_err(Failure::into_bus),
        }
    }

    async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XACK");
        cmd.arg(stream).arg(group).arg(ids);
        // No group, no pending entry: there is nothing left to acknowledge.
        self.run_unless(&cmd, "NOGROUP").await
    }

    async fn claim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        match self
            .claim_once(stream, group, consumer, min_idle, count)
            .await
        {
            Err(Failure::NoGroup) => {
                // A recreated group has no pending entries: nothing to claim.
                self.create_group(stream, group).await?;
                Ok(Vec::new())
            }
            other => other.map_err(Failure::into_bus),
        }
    }

    async fn keep_pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> Result<(), BusError> {
        self.reclaim_uncounted(stream, group, consumer, ids, None)
            .await
    }

    async fn defer(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        entries: &[(String, u64)],
    ) -> Result<(), BusError> {
        // RETRYCOUNT takes one value per command: one XCLAIM per distinct count (usually one).
        let mut by_count: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
        for (id, deliveries) in entries {
            by_count
                .entry(deliveries.saturating_sub(1))
                .or_default()
                .push(id.clone());
        }
        for (count, ids) in by_count {
            self.reclaim_uncounted(stream, group, consumer, &ids, Some(count))
                .await?;
        }
        Ok(())
    }

    async fn trim_handled(&self, stream: &str) -> Result<u64, BusError> {
        let mut conn = self.command().await?;
        trim::trim_handled(&mut conn, stream).await
    }

    async fn put_expiring(&self, key: &str, value: &str, ttl: Duration) -> Result<(), BusError> {
        let mut conn = self.command().await?;
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: Value = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("PX")
            .arg(millis)
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)?;
        Ok(())
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, BusError> {
        let mut conn = self.command().await?;
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)
    }

    async fn entries_newest_first(
        &self,
        stream: &str,
        start: &str,
        end: &str,
        count: usize,
    ) -> Result<Vec<(String, String)>, BusError> {
        let mut conn = self.command().await?;
        range::newest_first(&mut conn, stream, start, end, count).await
    }

    async fn delete_entries(&self, stream: &str, ids: &[String]) -> Result<u64, BusError> {
        let mut conn = self.command().await?;
        range::delete(&mut conn, stream, ids).await
    }

    async fn len(&self, stream: &str) -> Result<u64, BusError> {
        let mut conn = self.command().await?;
        redis::cmd("XLEN")
            .arg(stream)
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)
    }

    async fn group_health(
        &self,
        stream: &str,
        group: &str,
    ) -> Result<Option<GroupHealth>, BusError> {
        let mut conn = self.command().await?;
        let info: Result<Value, RedisError> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(stream)
            .query_async(&mut conn)
            .await;
        let info = match info {
            Ok(info) => info,
            // No stream yet: no group to be behind.
            Err(error) if error.to_string().contains("no such key") => return Ok(None),
            Err(error) => return Err(from_redis_error(error)),
        };
        let Some((pending, lag)) = reply::group_info(&info, group) else {
            return Ok(None);
        };
        let oldest_pending_age = if pending == 0 {
            None
        } else {
            let summary: Value = redis::cmd("XPENDING")
                .arg(stream)
                .arg(group)
                .query_async(&mut conn)
                .await
                .map_err(from_redis_error)?;
            // Entry ids carry Redis's clock; Alfred's may differ by a little.
            let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
            reply::oldest_pending_ms(&summary)
                .map(|added| Duration::from_millis(now_ms.saturating_sub(added)))
        };
        Ok(Some(GroupHealth {
            pending,
            lag,
            oldest_pending_age,
        }))
    }

    async fn ping(&self) -> Result<(), BusError> {
        let mut conn = self.command().await?;
        if self.commands.is_cluster() {
            return match cluster::state_ok(&mut conn).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(BusError::Unavailable(
                    "the Redis Cluster reports cluster_state:fail: a master is unreachable with no replica to take over, or slots are unassigned (see CLUSTER INFO and CLUSTER NODES)".to_owned(),
                )),
                Err(error) => Err(from_redis_error(error)),
            };
        }
        let _: Value = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)?;
        Ok(())
    }

    async fn take_token(&self, key: &str, bucket: &TokenBucket) -> Result<Admission, BusError> {
        let mut conn = self.command().await?;
        bucket::take_token(&mut conn, key, bucket).await
    }

    async fn count_up(&self, key: &str, ttl: Duration) -> Result<u64, BusError> {
        let mut conn = self.command().await?;
        bucket::count_up(&mut conn, key, ttl).await
    }

    async fn acquire_lease(
        &self,
        lease: &str,
        counter: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<Option<u64>, BusError> {
        let mut conn = self.command().await?;
        lease::acquire(&mut conn, lease, counter, owner, ttl).await
    }

    async fn renew_lease(
        &self,
        lease: &str,
        owner: &str,
        token: u64,
        ttl: Duration,
    ) -> Result<bool, BusError> {
        let mut conn = self.command().await?;
        lease::renew(&mut conn, lease, owner, token, ttl).await
    }

    async fn release_lease(&self, lease: &str, owner: &str, token: u64) -> Result<bool, BusError> {
        let mut conn = self.command().await?;
        lease::release(&mut conn, lease, owner, token).await
    }

    async fn heartbeat(
        &self,
        members: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<Vec<String>, BusError> {
        let mut conn = self.command().await?;
        lease::heartbeat(&mut conn, members, member, ttl).await
    }

    async fn leave(&self, members: &str, member: &str) -> Result<(), BusError> {
        let mut conn = self.command().await?;
        let _: Value = redis::cmd("ZREM")
            .arg(members)
            .arg(member)
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)?;
        Ok(())
    }

    async fn keep_pending_while_held(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        lease: &str,
        holder: &str,
    ) -> Result<bool, BusError> {
        let mut conn = self.command().await?;
        match lease::keep_pending_while_held(
            &mut conn,
            [stream, lease],
            group,
            consumer,
            holder,
            ids,
        )
        .await
        {
            Ok(kept) => Ok(kept),
            Err(error) => match classify(error) {
                // No group, no pending entry: there is nothing to keep.
                Failure::NoGroup => Ok(true),
                other => Err(other.into_bus()),
            },
        }
    }

    async fn take_over_pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
    ) -> Result<u64, BusError> {
        let mut conn = self.command().await?;
        match lease::take_over_pending(&mut conn, stream, group, consumer).await {
            Ok(taken) => Ok(taken),
            Err(error) => match classify(error) {
                // No group, so nothing pending: create it for the reader.
                Failure::NoGroup => {
                    drop(conn);
                    self.create_group(stream, group).await?;
                    Ok(0)
                }
                other => Err(other.into_bus()),
            },
        }
    }

    async fn put_value(&self, key: &str, value: &str) -> Result<(), BusError> {
        let mut conn = self.command().await?;
        let _: Value = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)?;
        Ok(())
    }

    async fn delete_value(&self, key: &str) -> Result<(), BusError> {
        let mut conn = self.command().await?;
        let _: Value = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(from_redis_error)?;
        Ok(())
    }

    async fn consumers(&self, stream: &str, group: &str) -> Result<Vec<ConsumerHealth>, BusError> {
        let mut conn = self.command().await?;
        consumers::list(&mut conn, stream, group).await
    }

    async fn remove_idle_consumers(
        &self,
        stream: &str,
        group: &str,
        idle: Duration,
    ) -> Result<Vec<String>, BusError> {
        let mut conn = self.command().await?;
        consumers::remove_idle(&mut conn, stream, group, idle).await
    }
}
