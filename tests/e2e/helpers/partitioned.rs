//! Partitioned ingest with several replicas (`INGEST_PARTITIONS`), as the replica tests see it
//! from outside: a replica's settings, who holds which partition's lease (Redis), the live set,
//! a round-robin balancer in front of the replicas, and what the fake Graph API was asked to
//! answer, in the order it was asked.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use alfred_testkit::free_port;
use alfred_testkit::graph::FakeGraph;

use super::{eventually, AlfredProcess, Backends};

/// `INGEST_LEASE_MS` of the replica tests, in milliseconds: short, so that a dead or paused
/// replica's partitions move within a test.
pub const LEASE_MS: u64 = 1500;

/// A replica's settings: partitions on, with a short lease. `hostname` names the replica: its
/// id is `{hostname}-{8 hex}`.
pub fn partitioned(hostname: &str, partitions: u32) -> Vec<(&'static str, String)> {
    vec![
        ("HOSTNAME", hostname.to_owned()),
        ("INGEST_PARTITIONS", partitions.to_string()),
        ("INGEST_LEASE_MS", LEASE_MS.to_string()),
        // A killed replica's outbox entries are claimed by another within the test.
        ("OUTBOX_CLAIM_IDLE_MS", "1000".to_owned()),
        // Longer than a partition move, so that a `sent` callback stored on a killed replica's
        // partition is handled before the reply it confirms would be sent again.
        ("OUTBOUND_CLAIM_LEASE_MS", "6000".to_owned()),
    ]
}

/// The holders (lease holders' replica ids) of the partitions, by partition.
pub async fn lease_holders(backends: &Backends, partitions: u32) -> Vec<Option<String>> {
    let mut conn = backends.redis().await;
    let prefix = alfred_actors::names::instance_prefix(&backends.prefix, backends.instance);
    let mut holders = Vec::new();
    for p in 0..partitions {
        let value: Option<String> = deadpool_redis::redis::cmd("GET")
            .arg(alfred_actors::names::ingest_lease_key(&prefix, p))
            .query_async(&mut conn)
            .await
            .unwrap();
        // The value is "{replica} {token}".
        holders.push(value.and_then(|v| v.rsplit_once(' ').map(|(owner, _)| owner.to_owned())));
    }
    holders
}

/// The live replicas' ids, as the partition owners see them (`alfred-ingest-replicas`).
pub async fn live_replicas(backends: &Backends) -> Vec<String> {
    let mut conn = backends.redis().await;
    let prefix = alfred_actors::names::instance_prefix(&backends.prefix, backends.instance);
    deadpool_redis::redis::cmd("ZRANGE")
        .arg(alfred_actors::names::key(
            &prefix,
            alfred_actors::names::INGEST_REPLICAS,
        ))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// The holder of each partition once the partitions are balanced over exactly `replicas` live
/// replicas (every lease held by the partition's owner among them, as each replica computes
/// it); `None` until then.
pub async fn balanced_holders(
    backends: &Backends,
    partitions: u32,
    replicas: usize,
) -> Option<Vec<String>> {
    let live = live_replicas(backends).await;
    if live.len() != replicas {
        return None;
    }
    let holders = lease_holders(backends, partitions).await;
    let owners = alfred_actors::partitions::owners(partitions, &live);
    holders
        .iter()
        .zip(owners)
        .map(|(holder, owner)| {
            let holder = holder.as_deref()?;
            (holder == owner).then(|| holder.to_owned())
        })
        .collect()
}

/// The partitions held by the replica named `hostname` (see [`partitioned`]).
pub fn held_by(holders: &[String], hostname: &str) -> Vec<u32> {
    let stem = format!("{hostname}-");
    (0u32..)
        .zip(holders)
        .filter(|(_, holder)| holder.starts_with(&stem))
        .map(|(p, _)| p)
        .collect()
}

/// Starts the `alfred` replica `hostname` until, the partitions balanced over `replicas`
/// live replicas, `wanted(holders)` is true — typically "it holds a partition": a replica's
/// id is random, so which partitions it owns is chance. An attempt that misses is killed and
/// the next one waits for it to be forgotten. Returns the replica and the holders.
pub async fn start_replica_until(
    backends: &Backends,
    hostname: &str,
    partitions: u32,
    replicas: usize,
    wanted: impl Fn(&[String]) -> bool,
) -> (AlfredProcess, Vec<String>) {
    for _ in 0..8 {
        let process =
            AlfredProcess::start_with(backends, free_port(), &partitioned(hostname, partitions))
                .await;
        let holders = eventually("the partitions to be balanced over the replicas", || {
            balanced_holders(backends, partitions, replicas)
        })
        .await;
        if wanted(&holders) {
            return (process, holders);
        }
        drop(process);
    }
    panic!("replica {hostname} never came to own what the test needs in 8 starts");
}

/// Waits until every partition stream's group has handled everything, and every reply is
/// final.
pub async fn partitions_quiescent(backends: &Backends, partitions: u32) {
    eventually("every partition to be worked off", || async {
        for p in 0..partitions {
            let stream = format!("alfred-ingest:{{p{p}}}");
            if backends
                .group_backlog(&stream, "alfred-orchestrators")
                .await
                != (0, 0)
            {
                return None;
            }
        }
        Some(())
    })
    .await;
    backends.quiescent().await;
}

/// Sorted message ids the Graph API was asked to answer (every request, accepted or not).
pub fn answered(graphs: &[&FakeGraph]) -> Vec<String> {
    let mut answered: Vec<String> = graphs
        .iter()
        .flat_map(|graph| graph.requests())
        .map(|send| send.reply_to().unwrap().to_owned())
        .collect();
    answered.sort();
    answered
}

/// The message ids each conversation's replies answer, in the order they were committed
/// (outbox ids follow the commits).
pub async fn committed_order(backends: &Backends) -> BTreeMap<String, Vec<String>> {
    let rows = backends
        .pg()
        .await
        .query(
            "SELECT recipient, reply_to FROM outbox WHERE reply_to IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        order.entry(row.get(0)).or_default().push(row.get(1));
    }
    order
}

/// The message ids each recipient's replies answered, in the order the Graph API received
/// them: the order a person sees.
pub fn received_order(graph: &FakeGraph) -> BTreeMap<String, Vec<String>> {
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for send in graph.requests() {
        order
            .entry(send.to().unwrap().to_owned())
            .or_default()
            .push(send.reply_to().unwrap().to_owned());
    }
    order
}

/// A round-robin balancer in front of replicas, as a load balancer meets Meta's webhook
/// deliveries: each post goes to the next replica, and one refused or failed (a replica
/// killed, stopping, not answering) is posted again to the next, as Meta retries, until one
/// accepts it.
pub struct RoundRobin {
    bases: Vec<String>,
    next: usize,
    http: reqwest::Client,
    /// Posts refused or failed and posted again to the next replica.
    pub retried: usize,
}

impl RoundRobin {
    /// A balancer in front of the replicas at `bases` (`http://127.0.0.1:port`).
    pub fn new(bases: Vec<String>) -> RoundRobin {
        RoundRobin {
            bases,
            next: 0,
            // A replica that accepts the connection and never answers (stopped) is a failure.
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            retried: 0,
        }
    }

    /// Puts one more replica behind the balancer.
    pub fn add(&mut self, base: &str) {
        self.bases.push(base.to_owned());
    }

    /// Posts the signed webhook `body`: true once a replica accepted it (200), false when
    /// every replica refused or failed it.
    pub async fn post(&mut self, body: &str) -> bool {
        for _ in 0..self.bases.len() {
            let base = &self.bases[self.next % self.bases.len()];
            self.next += 1;
            if super::post_signed_to(&self.http, base, body).await {
                return true;
            }
            self.retried += 1;
        }
        false
    }
}
