//! Buses for tests: both real implementations for contract tests
//! ([`for_both_buses!`](crate::for_both_buses)), helpers for reading what they hold, and
//! [`RecordingBus`], an in-process bus that records what it is given and can be told to fail.
//!
//! The contract tests are written once as `async fn test(bus: Arc<dyn Bus>)` and generated for
//! the test Redis (`redis_bus::…`) and the in-process bus (`memory_bus::…`), so the two
//! implementations cannot drift apart unnoticed; and once more, one after another, on a private
//! Redis Cluster (`cluster_bus::…`), so that no command of the bus leaves one slot.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alfred_actors::bus::memory::MemoryBus;
use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Bus, BusError, ReadFrom, StreamEntry};
use async_trait::async_trait;

use crate::redis::{test_redis_url, unique_prefix};

/// A bus on the shared test Redis.
pub fn redis_bus() -> Arc<dyn Bus> {
    Arc::new(RedisBus::connect(&test_redis_url()).unwrap())
}

/// A bus on a private Redis Cluster (`REDIS_URL` listing its nodes).
pub fn cluster_bus(cluster: &crate::redis_cluster::RedisCluster) -> Arc<dyn Bus> {
    Arc::new(RedisBus::connect(&cluster.url()).unwrap())
}

/// An in-process bus.
pub fn memory_bus() -> Arc<dyn Bus> {
    Arc::new(MemoryBus::new())
}

/// A stream key no other test uses (under a [`unique_prefix`]).
pub fn unique_stream() -> String {
    format!("{}stream", unique_prefix())
}

/// A [`unique_stream`] with the consumer group `group`.
pub async fn grouped_stream(bus: &dyn Bus, group: &str) -> String {
    let stream = unique_stream();
    bus.ensure_group(&stream, group).await.unwrap();
    stream
}

/// The payloads of `entries`, in order.
pub fn payloads(entries: &[StreamEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.payload.as_str()).collect()
}

/// The ids of `entries`, in order.
pub fn ids(entries: &[StreamEntry]) -> Vec<String> {
    entries.iter().map(|entry| entry.id.clone()).collect()
}

/// What `consumer` of `group` has pending on `stream` (at most 10 entries; reading them counts
/// as a delivery).
pub async fn pending(bus: &dyn Bus, stream: &str, group: &str, consumer: &str) -> Vec<StreamEntry> {
    bus.read(
        stream,
        group,
        consumer,
        ReadFrom::Pending,
        10,
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

/// Claims for `consumer` the entries of `group` idle for 50 ms, polling until there are some
/// (entries only become idle with time); panics after `deadline`.
pub async fn claim_idle_eventually(
    bus: &dyn Bus,
    stream: &str,
    group: &str,
    consumer: &str,
    deadline: Duration,
) -> Vec<StreamEntry> {
    crate::eventually("idle entries to claim", deadline, || async {
        let claimed = bus
            .claim_idle(stream, group, consumer, Duration::from_millis(50), 10)
            .await
            .unwrap();
        (!claimed.is_empty()).then_some(claimed)
    })
    .await
}

/// Generates a `#[tokio::test]` for each named `async fn name(bus: Arc<dyn Bus>)` of the calling
/// module, once on Redis (`redis_bus::name`) and once in memory (`memory_bus::name`).
#[macro_export]
macro_rules! for_both_buses {
    ($($test:ident),* $(,)?) => {
        mod redis_bus {
            $(#[tokio::test] async fn $test() { super::$test($crate::buses::redis_bus()).await })*
        }
        mod memory_bus {
            $(#[tokio::test] async fn $test() { super::$test($crate::buses::memory_bus()).await })*
        }
        /// The same tests on a private three-master Redis Cluster, one after another on one
        /// cluster (starting a cluster per test would cost more than the tests).
        mod cluster_bus {
            #[tokio::test]
            async fn every_contract_test_on_a_redis_cluster() {
                let cluster = $crate::redis_cluster::RedisCluster::start();
                $(super::$test($crate::buses::cluster_bus(&cluster)).await;)*
            }
        }
    };
}

/// Records every publish per stream, numbering entries `1-0`, `2-0`, … per stream. Reads,
/// claims and acknowledgements find nothing to do.
///
/// It fails as Redis does when it is down ([`BusError::Unavailable`]): every call while
/// [`down`](Self::down) is set, publishes to dead-letter streams (ending in `:dead`) while
/// [`dead_down`](Self::dead_down) is set, and the next publishes counted by
/// [`fail_next_publishes`](Self::fail_next_publishes).
#[derive(Default)]
pub struct RecordingBus {
    streams: Mutex<HashMap<String, Vec<String>>>,
    /// Every call fails while set.
    pub down: AtomicBool,
    /// Publishes to a dead-letter stream fail while set.
    pub dead_down: AtomicBool,
    failures: AtomicUsize,
}

impl RecordingBus {
    /// A bus whose first `failures` publishes fail.
    pub fn failing(failures: usize) -> RecordingBus {
        let bus = RecordingBus::default();
        bus.fail_next_publishes(failures);
        bus
    }

    /// Makes the next `failures` publishes fail.
    pub fn fail_next_publishes(&self, failures: usize) {
        self.failures.store(failures, Ordering::SeqCst);
    }

    /// The payloads published to `stream`, in order.
    pub fn entries(&self, stream: &str) -> Vec<String> {
        let streams = self.streams.lock().unwrap();
        streams.get(stream).cloned().unwrap_or_default()
    }

    /// Whether nothing was published to any stream.
    pub fn is_empty(&self) -> bool {
        self.streams.lock().unwrap().is_empty()
    }

    /// The payloads published to `stream`, each parsed as JSON into `T`.
    pub fn parsed<T: serde::de::DeserializeOwned>(&self, stream: &str) -> Vec<T> {
        let entries = self.entries(stream);
        let parse = |entry: &String| serde_json::from_str(entry).unwrap();
        entries.iter().map(parse).collect()
    }

    fn check(&self, stream: &str) -> Result<(), BusError> {
        let dead = stream.ends_with(":dead") && self.dead_down.load(Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) || dead {
            return Err(BusError::Unavailable("connection refused".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, stream: &str, payload: &str) -> Result<String, BusError> {
        let mut published = self.publish_many(stream, &[payload.to_owned()]).await?;
        Ok(published.remove(0))
    }

    async fn publish_many(
        &self,
        stream: &str,
        payloads: &[String],
    ) -> Result<Vec<String>, BusError> {
        self.check(stream)?;
        let decrement = |left: usize| left.checked_sub(1);
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, decrement);
        if failing.is_ok() {
            return Err(BusError::Unavailable("connection refused".into()));
        }
        let mut streams = self.streams.lock().unwrap();
        let entries = streams.entry(stream.to_owned()).or_default();
        let mut published = Vec::with_capacity(payloads.len());
        for payload in payloads {
            entries.push(payload.clone());
            published.push(format!("{}-0", entries.len()));
        }
        Ok(published)
    }

    async fn ensure_group(&self, _stream: &str, _group: &str) -> Result<(), BusError> {
        Ok(())
    }

    async fn read(
        &self,
        _stream: &str,
        _group: &str,
        _consumer: &str,
        _from: ReadFrom,
        _count: usize,
        _block: Duration,
    ) -> Result<Vec<StreamEntry>, BusError> {
        Ok(Vec::new())
    }

    async fn ack(&self, _stream: &str, _group: &str, _ids: &[String]) -> Result<(), BusError> {
        Ok(())
    }

    async fn claim_idle(
        &self,
        _stream: &str,
        _group: &str,
        _consumer: &str,
        _min_idle: Duration,
        _count: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        Ok(Vec::new())
    }

    async fn len(&self, stream: &str) -> Result<u64, BusError> {
        self.check(stream)?;
        Ok(self.entries(stream).len() as u64)
    }

    async fn ping(&self) -> Result<(), BusError> {
        self.check("")
    }
}
