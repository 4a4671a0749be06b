//! [`MemoryBus`]: the [`Bus`] in process, for ephemeral mode and fast tests.
//!
//! It mirrors Redis Streams semantics exactly where the runtime relies on them: ids increase
//! (`{ms}-{seq}`), a group delivers each entry to one consumer and keeps it in that consumer's
//! pending list until acknowledged, re-reading the pending list (`0`) and claiming
//! (`XAUTOCLAIM`) both count a delivery and reset the idle time, and a missing group is created
//! from the start of the stream. A blocking read waits on a [`Notify`] woken by every publish.
//!
//! Entries are removed only by [`Bus::trim_handled`], with the Redis bus's rule: everything
//! before the oldest entry that some group still has pending or has not been given yet.
//! Nothing survives the process: fine for a console session or a test, not for production.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{
    Admission, Bus, BusError, ConsumerHealth, GroupHealth, ReadFrom, StreamEntry, TokenBucket,
};

/// The in-process bus. Share it behind an `Arc`.
#[derive(Default)]
pub struct MemoryBus {
    state: Mutex<HashMap<String, Stream>>,
    published: Notify,
    values: Mutex<Values>,
    /// Token buckets and counters ([`Bus::take_token`], [`Bus::count_up`]).
    limits: super::bucket::LocalLimits,
}

/// Values of [`Bus::put_expiring`] (with when they expire) and [`Bus::put_value`] (never).
type Values = HashMap<String, (String, Option<Instant>)>;

impl fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBus").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct EntryId {
    ms: u64,
    seq: u64,
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl EntryId {
    fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        Some(EntryId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

#[derive(Default)]
struct Stream {
    entries: BTreeMap<EntryId, String>,
    last_id: EntryId,
    groups: HashMap<String, Group>,
}

#[derive(Default)]
struct Group {
    last_delivered: EntryId,
    pending: BTreeMap<EntryId, Pending>,
    /// Every consumer that read or claimed, with when it last did (its idle time, as Redis
    /// counts it: reads and claims, even those that found nothing).
    consumers: HashMap<String, Instant>,
}

struct Pending {
    consumer: String,
    deliveries: u64,
    delivered_at: Instant,
}

impl Stream {
    fn append(&mut self, payload: &str) -> String {
        let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        let id = if now_ms > self.last_id.ms {
            EntryId { ms: now_ms, seq: 0 }
        } else {
            EntryId {
                ms: self.last_id.ms,
                seq: self.last_id.seq + 1,
            }
        };
        self.last_id = id;
        self.entries.insert(id, payload.to_owned());
        id.to_string()
    }

    /// Removes the entries every group has been given and has acknowledged; returns how many.
    /// A group still needs its oldest pending entry and everything after its last delivered
    /// one (kept too); the smaller of the two is taken, as on Redis. No group: nothing goes.
    fn trim_handled(&mut self) -> u64 {
        let oldest_needed = self
            .groups
            .values()
            .map(|group| match group.pending.keys().next() {
                Some(first) => (*first).min(group.last_delivered),
                None => group.last_delivered,
            })
            .min();
        let Some(keep) = oldest_needed else {
            return 0;
        };
        let kept = self.entries.split_off(&keep);
        let removed = std::mem::replace(&mut self.entries, kept).len();
        u64::try_from(removed).unwrap_or(u64::MAX)
    }

    /// The group, created from the start of the stream when missing (as the Redis bus does on
    /// `NOGROUP`).
    fn group(&mut self, group: &str) -> (&BTreeMap<EntryId, String>, &mut Group) {
        let group = self.groups.entry(group.to_owned()).or_default();
        (&self.entries, group)
    }
}

impl Group {
    /// How many entries `consumer` has pending.
    fn pending_of(&self, consumer: &str) -> u64 {
        self.pending
            .values()
            .filter(|pending| pending.consumer == consumer)
            .count() as u64
    }

    /// Records that `consumer` read or claimed now (creating it, as Redis does).
    fn seen(&mut self, consumer: &str) {
        self.consumers.insert(consumer.to_owned(), Instant::now());
    }

    /// Hands `pending` entries matching `take` to `consumer`, counting a delivery each.
    /// Entries deleted from the stream are dropped from the pending list.
    fn redeliver(
        &mut self,
        entries: &BTreeMap<EntryId, String>,
        consumer: &str,
        count: usize,
        take: impl Fn(&Pending) -> bool,
    ) -> Vec<StreamEntry> {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for (id, pending) in self.pending.iter_mut() {
            if out.len() >= count {
                break;
            }
            if !take(pending) {
                continue;
            }
            let Some(payload) = entries.get(id) else {
                gone.push(*id);
                continue;
            };
            pending.consumer = consumer.to_owned();
            pending.deliveries += 1;
            pending.delivered_at = now;
            out.push(StreamEntry {
                id: id.to_string(),
                payload: payload.clone(),
                deliveries: pending.deliveries,
            });
        }
        for id in gone {
            self.pending.remove(&id);
        }
        out
    }

    fn deliver_new(
        &mut self,
        entries: &BTreeMap<EntryId, String>,
        consumer: &str,
        count: usize,
    ) -> Vec<StreamEntry> {
        let now = Instant::now();
        let start = EntryId {
            ms: self.last_delivered.ms,
            seq: self.last_delivered.seq.saturating_add(1),
        };
        let fresh: Vec<(EntryId, String)> = entries
            .range(start..)
            .filter(|(id, _)| **id > self.last_delivered)
            .take(count)
            .map(|(id, payload)| (*id, payload.clone()))
            .collect();
        let mut out = Vec::with_capacity(fresh.len());
        for (id, payload) in fresh {
            self.last_delivered = id;
            self.pending.insert(
                id,
                Pending {
                    consumer: consumer.to_owned(),
                    deliveries: 1,
                    delivered_at: now,
                },
            );
            out.push(StreamEntry {
                id: id.to_string(),
                payload,
                deliveries: 1,
            });
        }
        out
    }
}

impl MemoryBus {
    /// An empty bus.
    pub fn new() -> MemoryBus {
        MemoryBus::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, HashMap<String, Stream>>, BusError> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing the bus; report it instead of propagating the panic.
        self.state
            .lock()
            .map_err(|_| BusError::Other("the in-memory bus lock is poisoned".to_owned()))
    }

    fn values(&self) -> Result<MutexGuard<'_, Values>, BusError> {
        self.values
            .lock()
            .map_err(|_| BusError::Other("the in-memory bus lock is poisoned".to_owned()))
    }

    /// Gives pending entries to `consumer` and restarts their idle time without counting a
    /// delivery; where an entry comes with a count, its delivery counter is set to it.
    fn reclaim_uncounted<'a>(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        entries: impl Iterator<Item = (&'a str, Option<u64>)>,
    ) -> Result<(), BusError> {
        let now = Instant::now();
        let mut state = self.lock()?;
        let Some(group) = state
            .get_mut(stream)
            .and_then(|stream| stream.groups.get_mut(group))
        else {
            return Ok(());
        };
        group.seen(consumer);
        for (id, count) in entries {
            let Some(pending) = EntryId::parse(id).and_then(|id| group.pending.get_mut(&id)) else {
                continue;
            };
            pending.consumer = consumer.to_owned();
            pending.delivered_at = now;
            if let Some(count) = count {
                pending.deliveries = count;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, stream: &str, payload: &str) -> Result<String, BusError> {
        let id = self
            .lock()?
            .entry(stream.to_owned())
            .or_default()
            .append(payload);
        self.published.notify_waiters();
        Ok(id)
    }

    async fn publish_many(
        &self,
        stream: &str,
        payloads: &[String],
    ) -> Result<Vec<String>, BusError> {
        let ids = {
            let mut state = self.lock()?;
            let stream = state.entry(stream.to_owned()).or_default();
            payloads
                .iter()
                .map(|payload| stream.append(payload))
                .collect()
        };
        self.published.notify_waiters();
        Ok(ids)
    }

    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        self.lock()?
            .entry(stream.to_owned())
            .or_default()
            .group(group);
        Ok(())
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
        let count = count.max(1);
        if from == ReadFrom::Pending {
            let mut state = self.lock()?;
            let (entries, group) = state.entry(stream.to_owned()).or_default().group(group);
            group.seen(consumer);
            return Ok(group.redeliver(entries, consumer, count, |pending| {
                pending.consumer == consumer
            }));
        }
        let deadline = Instant::now() + block;
        loop {
            // Register for the wake-up before looking, so a publish in between is not missed.
            let published = self.published.notified();
            tokio::pin!(published);
            published.as_mut().enable();
            let delivered = {
                let mut state = self.lock()?;
                let (entries, group) = state.entry(stream.to_owned()).or_default().group(group);
                group.seen(consumer);
                group.deliver_new(entries, consumer, count)
            };
            if !delivered.is_empty() || block.is_zero() {
                return Ok(delivered);
            }
            if tokio::time::timeout_at(deadline, published).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn ack(&self, stream: &str, group: &str, ids: &[String]) -> Result<(), BusError> {
        let mut state = self.lock()?;
        if let Some(group) = state
            .get_mut(stream)
            .and_then(|stream| stream.groups.get_mut(group))
        {
            for id in ids.iter().filter_map(|id| EntryId::parse(id)) {
                group.pending.remove(&id);
            }
        }
        Ok(())
    }

    async fn claim_idle(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        let now = Instant::now();
        let mut state = self.lock()?;
        let (entries, group) = state.entry(stream.to_owned()).or_default().group(group);
        group.seen(consumer);
        Ok(group.redeliver(entries, consumer, count.max(1), |pending| {
            now.duration_since(pending.delivered_at) >= min_idle
        }))
    }

    async fn keep_pending(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        ids: &[String],
    ) -> Result<(), BusError> {
        let entries = ids.iter().map(|id| (id.as_str(), None));
        self.reclaim_uncounted(stream, group, consumer, entries)
    }

    async fn defer(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        entries: &[(String, u64)],
    ) -> Result<(), BusError> {
        let entries = entries
            .iter()
            .map(|(id, deliveries)| (id.as_str(), Some(deliveries.saturating_sub(1))));
        self.reclaim_uncounted(stream, group, consumer, entries)
    }

    async fn trim_handled(&self, stream: &str) -> Result<u64, BusError> {
        Ok(self
            .lock()?
            .get_mut(stream)
            .map(Stream::trim_handled)
            .unwrap_or(0))
    }

    async fn put_expiring(&self, key: &str, value: &str, ttl: Duration) -> Result<(), BusError> {
        let now = Instant::now();
        let mut values = self.values()?;
        values.retain(|_, (_, expires)| expires.is_none_or(|expires| expires > now));
        values.insert(key.to_owned(), (value.to_owned(), Some(now + ttl)));
        Ok(())
    }

    async fn get_value(&self, key: &str) -> Result<Option<String>, BusError> {
        let now = Instant::now();
        Ok(self
            .values()?
            .get(key)
            .filter(|(_, expires)| expires.is_none_or(|expires| expires > now))
            .map(|(value, _)| value.clone()))
    }

    async fn len(&self, stream: &str) -> Result<u64, BusError> {
        let state = self.lock()?;
        Ok(state
            .get(stream)
            .map(|stream| stream.entries.len() as u64)
            .unwrap_or(0))
    }

    async fn group_health(
        &self,
        stream: &str,
        group: &str,
    ) -> Result<Option<GroupHealth>, BusError> {
        let state = self.lock()?;
        let Some(stream) = state.get(stream) else {
            return Ok(None);
        };
        let Some(group) = stream.groups.get(group) else {
            return Ok(None);
        };
        let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        Ok(Some(GroupHealth {
            pending: group.pending.len() as u64,
            lag: Some(
                stream
                    .entries
                    .range((Excluded(group.last_delivered), Unbounded))
                    .count() as u64,
            ),
            oldest_pending_age: group
                .pending
                .keys()
                .next()
                .map(|oldest| Duration::from_millis(now_ms.saturating_sub(oldest.ms))),
        }))
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }

    async fn take_token(&self, key: &str, bucket: &TokenBucket) -> Result<Admission, BusError> {
        Ok(self.limits.take_token(key, bucket))
    }

    async fn count_up(&self, key: &str, ttl: Duration) -> Result<u64, BusError> {
        Ok(self.limits.count_up(key, ttl))
    }

    async fn put_value(&self, key: &str, value: &str) -> Result<(), BusError> {
        self.values()?
            .insert(key.to_owned(), (value.to_owned(), None));
        Ok(())
    }

    async fn delete_value(&self, key: &str) -> Result<(), BusError> {
        self.values()?.remove(key);
        Ok(())
    }

    async fn consumers(&self, stream: &str, group: &str) -> Result<Vec<ConsumerHealth>, BusError> {
        let state = self.lock()?;
        let Some(group) = state
            .get(stream)
            .and_then(|stream| stream.groups.get(group))
        else {
            return Ok(Vec::new());
        };
        let mut consumers: Vec<ConsumerHealth> = group
            .consumers
            .iter()
            .map(|(name, seen)| ConsumerHealth {
                name: name.clone(),
                pending: group.pending_of(name),
                idle: seen.elapsed(),
            })
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(consumers)
    }

    async fn remove_idle_consumers(
        &self,
        stream: &str,
        group: &str,
        idle: Duration,
    ) -> Result<Vec<String>, BusError> {
        // One lock for the check and the removal, as the Redis bus's script is one step.
        let mut state = self.lock()?;
        let Some(group) = state
            .get_mut(stream)
            .and_then(|stream| stream.groups.get_mut(group))
        else {
            return Ok(Vec::new());
        };
        let mut stale: Vec<String> = group
            .consumers
            .iter()
            .filter(|(name, seen)| seen.elapsed() >= idle && group.pending_of(name) == 0)
            .map(|(name, _)| name.clone())
            .collect();
        stale.sort();
        for name in &stale {
            group.consumers.remove(name);
        }
        Ok(stale)
    }
}
