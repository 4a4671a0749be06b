//! The message bus: Redis Streams in production, an in-process bus in ephemeral mode.
//!
//! Redis Streams in brief: `XADD` appends an entry; a consumer group hands each entry to one
//! consumer (`XREADGROUP … >`), which keeps it in its pending entries list (PEL) until `XACK`.
//! A consumer that restarts re-reads its own PEL (`XREADGROUP … 0`) before new entries; entries
//! left idle by a dead consumer are taken over with `XAUTOCLAIM`, which also counts deliveries.
//! Both implementations of [`Bus`] honour exactly these semantics.

pub mod bucket;
pub mod memory;
pub mod redis;

use std::time::Duration;

use async_trait::async_trait;

pub use bucket::{Admission, TokenBucket};

/// One entry read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// The stream entry id (`1700000000000-0`).
    pub id: String,
    /// The serialized envelope (the entry's `payload` field).
    pub payload: String,
    /// How many times the entry has been delivered to a consumer of the group, this delivery
    /// included.
    pub deliveries: u64,
}

/// How far one consumer group is behind on its stream (for `/metrics` and alerts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupHealth {
    /// Entries delivered to a consumer and not yet acknowledged.
    pub pending: u64,
    /// Entries added to the stream and not yet delivered to the group; `None` when the server
    /// cannot tell (Redis before 7, or after entries were trimmed or deleted out of order).
    pub lag: Option<u64>,
    /// How long ago the oldest pending entry was added to the stream; `None` with nothing
    /// pending.
    pub oldest_pending_age: Option<Duration>,
}

/// One consumer of a group, as `XINFO CONSUMERS` shows it (for `GET /admin/streams`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerHealth {
    /// The consumer's name (`{HOSTNAME}-ingest-0`).
    pub name: String,
    /// Entries delivered to it and not yet acknowledged.
    pub pending: u64,
    /// Time since its last read or claim.
    pub idle: Duration,
}

/// Where a group read starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadFrom {
    /// This consumer's own pending entries (`0`), read on start before new ones.
    Pending,
    /// Entries never delivered to the group (`>`).
    New,
}

/// Bus failures. `Unavailable` means the bus could not be reached; callers answer 503 or retry.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("message bus unavailable: {0}")]
    Unavailable(String),
    #[error("message bus error: {0}")]
    Other(String),
}

/// A stream-based message bus with consumer groups.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Appends one entry; returns its id once the bus has acknowledged it.
    async fn publish(&self, stream: &str, payload: &str) -> Result<String, BusError>;
    /// Appends several entries atomically as far as the caller can tell (one round trip);
    /// returns their ids in order once all are acknowledged.
    async fn publish_many(
        &self,
        stream: &str,
        payloads: &[String],
    ) -> Result<Vec<String>, BusError>;
    /// Creates the consumer group (and the stream) if missing; idempotent.
    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError>;
    /// Reads up to `count` entries for `consumer`, blocking up to `block` for new ones.
    /// A missing group (`NOGROUP`, e.g. after a Redis restart without persistence) is
    /// recreated and the read retried.
    async fn read(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        from: ReadFrom,
        count: usize,
        block: Duration,
    ) -> Result<Vec<StreamEntry>, BusError>;
    /// Acknowledges handled entries.
    async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError>;
    /// Claims for `consumer` up to `count` entries of the group idle for at least `min_idle`
    /// (its own included), counting the delivery.
    async fn claim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, BusError>;
    /// Gives the pending entries `ids` to `consumer` and resets their idle time **without**
    /// counting a delivery (`XCLAIM … 0 … JUSTID`): a consumer that keeps entries on purpose
    /// (a reader waiting for its handler's dependency) calls it so that no claim takes them.
    /// Ids no longer pending are ignored. The default does nothing (for test doubles).
    async fn keep_pending(
        &self,
        _stream: &str,
        _group: &str,
        _consumer: &str,
        _ids: &[String],
    ) -> Result<(), BusError> {
        Ok(())
    }
    /// [`Bus::keep_pending`], but only while the lease key `lease` still holds `holder`
    /// (`"{replica} {token}"`), checked in the same atomic step: a partition reader paused
    /// past its lease must not take back entries its partition's new owner took over. `false`
    /// (nothing done) when the lease is not held. The default keeps them and answers `true`
    /// (a bus without leases).
    async fn keep_pending_while_held(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
        _lease: &str,
        _holder: &str,
    ) -> Result<bool, BusError> {
        self.keep_pending(stream, group, consumer, ids).await?;
        Ok(true)
    }
    /// Hands pending entries back for a later claim **without counting** the delivery just
    /// made: each `(id, deliveries)` gets its delivery counter set back to `deliveries - 1`
    /// (`XCLAIM … RETRYCOUNT n JUSTID`) and its idle time restarted, so a claim delivers it
    /// again once it has been idle for the claim-idle time. For entries a handler deferred
    /// because they wait on an earlier, failed one. Ids no longer pending are ignored. The
    /// default does nothing (for test doubles).
    async fn defer(
        &self,
        _stream: &str,
        _group: &str,
        _consumer: &str,
        _entries: &[(String, u64)],
    ) -> Result<(), BusError> {
        Ok(())
    }
    /// Removes the entries of `stream` that every consumer group has been given and has
    /// acknowledged: everything before the oldest entry that is still pending in, or not yet
    /// delivered to, any group (the last entry delivered to a group may stay, so a stream that
    /// was read never shrinks below one entry). Returns how many were removed. A stream without groups, or
    /// missing, is left alone (0). Dead-letter streams have no groups and are never trimmed.
    /// The default removes nothing (for test doubles).
    async fn trim_handled(&self, _stream: &str) -> Result<u64, BusError> {
        Ok(0)
    }
    /// Stores a short-lived value (Redis `SET key value PX ttl`) that every process on this bus
    /// can read until it expires — for small shared facts such as a Slack command's response
    /// URL. The default keeps nothing (for test doubles).
    async fn put_expiring(&self, _key: &str, _value: &str, _ttl: Duration) -> Result<(), BusError> {
        Ok(())
    }
    /// A value stored with [`Bus::put_expiring`], if it has not expired.
    async fn get_value(&self, _key: &str) -> Result<Option<String>, BusError> {
        Ok(None)
    }
    /// Up to `count` entries of `stream` with their payloads, newest first, between `start`
    /// and `end` in Redis's range syntax (`-`/`+`, an id, an exclusive `(id`, a millisecond
    /// time). Reads outside any group and counts no delivery: for operators looking through
    /// the dead-letter streams. The default has none to show (an error, so that a bus without
    /// it never looks empty).
    async fn entries_newest_first(
        &self,
        _stream: &str,
        _start: &str,
        _end: &str,
        _count: usize,
    ) -> Result<Vec<(String, String)>, BusError> {
        Err(BusError::Other(
            "this bus cannot list stream entries".to_owned(),
        ))
    }
    /// Deletes entries of `stream` by id (`XDEL`); returns how many were there. For the
    /// dead-letter streams only: an entry deleted while a group holds it pending is
    /// acknowledged unhandled by its reader. The default deletes nothing (an error).
    async fn delete_entries(&self, _stream: &str, _ids: &[String]) -> Result<u64, BusError> {
        Err(BusError::Other(
            "this bus cannot delete stream entries".to_owned(),
        ))
    }
    /// Number of entries in a stream (0 when it does not exist).
    async fn len(&self, stream: &str) -> Result<u64, BusError>;
    /// How far `group` is behind on `stream`; `None` when the stream or the group does not
    /// exist. The default knows nothing (for test doubles).
    async fn group_health(
        &self,
        _stream: &str,
        _group: &str,
    ) -> Result<Option<GroupHealth>, BusError> {
        Ok(None)
    }
    /// Checks the bus is reachable (for `/readyz`).
    async fn ping(&self) -> Result<(), BusError>;
    /// Takes one token from the token bucket `key` (see [`bucket`]), atomically for every
    /// process on this bus; the key expires once the bucket is full again. The default admits
    /// everything (for test doubles).
    async fn take_token(&self, _key: &str, _bucket: &TokenBucket) -> Result<Admission, BusError> {
        Ok(Admission::Admitted)
    }
    /// Adds one to the counter `key` and returns its new value, atomically for every process on
    /// this bus; a new counter expires `ttl` after its first count. The default counts nothing
    /// (always 1, for test doubles).
    async fn count_up(&self, _key: &str, _ttl: Duration) -> Result<u64, BusError> {
        Ok(1)
    }
    /// Stores a value that every process on this bus can read with [`Bus::get_value`] until
    /// [`Bus::delete_value`] removes it (Redis `SET key value`, no expiry): a deployment-wide
    /// switch such as a stream's pause flag, which survives a restart of Alfred. The default
    /// keeps nothing (for test doubles).
    async fn put_value(&self, _key: &str, _value: &str) -> Result<(), BusError> {
        Ok(())
    }
    /// Removes a value stored with [`Bus::put_value`] (or [`Bus::put_expiring`]); a missing
    /// key is fine.
    async fn delete_value(&self, _key: &str) -> Result<(), BusError> {
        Ok(())
    }
    /// Acquires the lease `lease` for `owner` for `ttl`, drawing a fencing token from the counter
    /// `counter` in the same atomic step (see [`partitions`](crate::partitions)): `Some(token)`
    /// when `owner` holds it now — a new token, greater than every earlier one, when it was
    /// free; its own token, with the TTL restarted, when it held it already — and `None` when
    /// someone else holds it. The default has no leases (an error: partitions need Redis).
    async fn acquire_lease(
        &self,
        _lease: &str,
        _counter: &str,
        _owner: &str,
        _ttl: Duration,
    ) -> Result<Option<u64>, BusError> {
        Err(BusError::Other("this bus has no leases".to_owned()))
    }
    /// Restarts the TTL of a lease `owner` holds under `token`; `false` when it no longer holds
    /// it (expired, taken by another).
    async fn renew_lease(
        &self,
        _lease: &str,
        _owner: &str,
        _token: u64,
        _ttl: Duration,
    ) -> Result<bool, BusError> {
        Ok(false)
    }
    /// Gives a lease up, only if `owner` still holds it under `token`; returns whether it did.
    async fn release_lease(
        &self,
        _lease: &str,
        _owner: &str,
        _token: u64,
    ) -> Result<bool, BusError> {
        Ok(false)
    }
    /// Records that `member` is alive now in the set `members` and returns every member seen
    /// within `ttl` (by the bus's clock), the caller included.
    async fn heartbeat(
        &self,
        _members: &str,
        member: &str,
        _ttl: Duration,
    ) -> Result<Vec<String>, BusError> {
        Ok(vec![member.to_owned()])
    }
    /// Removes `member` from the set `members` (a replica leaving on shutdown).
    async fn leave(&self, _members: &str, _member: &str) -> Result<(), BusError> {
        Ok(())
    }
    /// Gives **every** pending entry of `group` to `consumer`, whatever its idle time, without
    /// counting a delivery (`XAUTOCLAIM … 0 … JUSTID` to the end): a partition's new owner
    /// takes its predecessor's entries before reading new ones. Returns how many. The default
    /// takes none.
    async fn take_over_pending(
        &self,
        _stream: &str,
        _group: &str,
        _consumer: &str,
    ) -> Result<u64, BusError> {
        Ok(0)
    }
    /// The consumers of `group` on `stream` with their pending counts and idle times, by
    /// name; empty when the stream or the group does not exist. The default knows none (for
    /// test doubles).
    async fn consumers(
        &self,
        _stream: &str,
        _group: &str,
    ) -> Result<Vec<ConsumerHealth>, BusError> {
        Ok(Vec::new())
    }
    /// Removes from `group` the consumers that have **nothing pending** and have been idle for
    /// at least `idle` (`XGROUP DELCONSUMER`), checking and removing in one atomic step so that
    /// a consumer given an entry in between is never removed (removing a consumer drops its
    /// pending entries from the group). Returns the removed names. A live consumer removed this
    /// way comes back at its next read. The default removes nothing (for test doubles).
    async fn remove_idle_consumers(
        &self,
        _stream: &str,
        _group: &str,
        _idle: Duration,
    ) -> Result<Vec<String>, BusError> {
        Ok(Vec::new())
    }
}
