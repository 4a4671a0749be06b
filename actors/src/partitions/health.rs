//! What `GET /admin/streams` shows of each ingest partition, read from the bus at the time of
//! asking: its stream's depth, lag and consumers (as for any stream), and who reads it — the
//! replica holding its lease and the fencing token that lease was acquired with.
//!
//! The owner and token come from the lease key (`"{replica} {token}"`, see
//! `bus/redis/lease.rs`); a partition without a lease (its owner died less than a lease ago, or
//! no replica is up) shows no owner, and its lag grows until one takes it.

use serde::Serialize;

use crate::bus::{Bus, BusError};
use crate::names;
use crate::streams::ConsumerView;

/// One partition of ingest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionHealth {
    /// Its number (`0..INGEST_PARTITIONS`).
    pub partition: u32,
    /// Its stream key (`…alfred-ingest:{pK}`).
    pub key: String,
    /// The replica holding its lease (`{HOSTNAME}-{8 hex}`); `None` while nobody does.
    pub owner: Option<String>,
    /// The fencing token of that lease: commits under an older one are refused.
    pub token: Option<u64>,
    /// The latest token ever drawn for the partition (0 before the first lease).
    pub latest_token: u64,
    /// Entries in the stream (`XLEN`): handled ones too until the janitor trims them.
    pub length: u64,
    /// Entries not yet delivered to the group; `None` when Redis cannot tell.
    pub lag: Option<u64>,
    /// Entries delivered and not yet acknowledged.
    pub pending: u64,
    /// Age of the oldest pending entry, in seconds; `None` with nothing pending.
    pub oldest_pending_age_secs: Option<f64>,
    /// The group's consumers on this partition (`{replica}-p{K}`).
    pub consumers: Vec<ConsumerView>,
}

/// Each of the `partitions` partitions (`INGEST_PARTITIONS`), in partition order (none with
/// 0), as read by `group`. `prefix` is the instance's key prefix ([`names::instance_prefix`]).
pub async fn partitions_health(
    bus: &dyn Bus,
    prefix: &str,
    partitions: u32,
    group: &str,
) -> Result<Vec<PartitionHealth>, BusError> {
    let mut all = Vec::new();
    for partition in 0..partitions {
        let key = names::ingest_partition_stream(prefix, partition);
        all.push(partition_health(bus, prefix, partition, key, group).await?);
    }
    Ok(all)
}

async fn partition_health(
    bus: &dyn Bus,
    prefix: &str,
    partition: u32,
    key: String,
    group: &str,
) -> Result<PartitionHealth, BusError> {
    let health = bus.group_health(&key, group).await?.unwrap_or_default();
    let consumers = bus
        .consumers(&key, group)
        .await?
        .into_iter()
        .map(|consumer| ConsumerView {
            name: consumer.name,
            pending: consumer.pending,
            idle_ms: u64::try_from(consumer.idle.as_millis()).unwrap_or(u64::MAX),
        })
        .collect();
    let lease = bus
        .get_value(&names::ingest_lease_key(prefix, partition))
        .await?;
    let (owner, token) = lease.as_deref().map(holder).unwrap_or_default();
    let latest_token = bus
        .get_value(&names::ingest_fence_key(prefix, partition))
        .await?
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(0);
    Ok(PartitionHealth {
        partition,
        length: bus.len(&key).await?,
        key,
        owner,
        token,
        latest_token,
        lag: health.lag,
        pending: health.pending,
        oldest_pending_age_secs: health.oldest_pending_age.map(|age| age.as_secs_f64()),
        consumers,
    })
}

/// The holder and token of a lease value `"{replica} {token}"`.
fn holder(lease: &str) -> (Option<String>, Option<u64>) {
    match lease.rsplit_once(' ') {
        Some((owner, token)) => (Some(owner.to_owned()), token.parse().ok()),
        None => (Some(lease.to_owned()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_value_names_its_holder_and_token() {
        assert_eq!(
            holder("web-1-0a1b2c3d 42"),
            (Some("web-1-0a1b2c3d".to_owned()), Some(42))
        );
        assert_eq!(holder("odd"), (Some("odd".to_owned()), None));
    }
}
