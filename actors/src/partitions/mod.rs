//! Partitioned ingest (`INGEST_PARTITIONS=N`, DESIGN.md §3a): `N` ingest streams, one owner
//! per stream at a time, so that any number of replicas keeps each conversation in order.
//!
//! The mechanism, and why each part is there:
//! * **Placement** ([`place`]): the edges put a message on the partition of its conversation
//!   (a fixed hash of platform and conversation id), so one conversation's messages are in one
//!   stream, in the order they were accepted.
//! * **Leases** (Redis, `alfred-ingest-lease:{pN}`): one replica reads a partition at a time.
//!   Acquiring a lease draws a **fencing token** from the partition's counter
//!   (`alfred-ingest-fence:{pN}`) in the same script; tokens only grow. The owner renews every
//!   third of the TTL and releases on shutdown; a dead owner's lease expires after the TTL.
//! * **Fencing** (Postgres, `ingest_partition_fences`): a lease alone is not safe — a paused
//!   owner wakes with a batch in hand and its lease gone. The new owner raises the partition's
//!   fence to its token *before* reading; every commit carries the token its entry was read
//!   under ([`crate::store::InboxKey::fence`]) and is refused when it is older
//!   ([`crate::store::StoreError::Fenced`]). The refused entry stays pending for the new owner.
//! * **Take-over**: the new owner gives itself every pending entry of the partition's group
//!   (whatever its idle time, without counting a delivery) and reads those first, in stream
//!   order, then new ones — so the order of a conversation survives the move.
//! * **Membership and balance** ([`owner`]): each replica heartbeats into a sorted set
//!   (`alfred-ingest-replicas`), computes every partition's owner from the live set by
//!   rendezvous hashing with bounded loads ([`place::owners`]: an even split), acquires what it
//!   should own and releases what it should not. Join and leave rebalance within about one
//!   lease TTL.
//! * **Migration** from the single stream: with partitions on, the replica still runs the
//!   `alfred-ingest` readers of before; partition readers start only once that stream is drained
//!   (nothing undelivered, nothing pending). The edges write only to partitions from then on.
//!
//! A partition's keys share a Redis Cluster hash tag (`{pN}`, see [`names::partition_tag`]).
//!
//! Layout: `place` the two hashes; `owner` the actor that holds leases and runs readers;
//! `health` what the admin API shows of each partition (owner, token, lag); [`IngestRoute`]
//! here, what the edges use to choose a stream.

pub mod health;
pub mod owner;
pub mod place;

use crate::messages::Platform;
use crate::names;

pub use health::{partitions_health, PartitionHealth};
pub use owner::{OwnerConfig, PartitionOwner};
pub use place::{owners, partition_of};

/// A replica id for this process: `{base}-{8 hex}`, `base` the host's consumer name. Unique
/// per process, not only per host: two processes on one host, or a restarted process whose
/// predecessor's lease has not expired yet, are two replicas.
pub fn replica_id(base: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{base}-{}", &random[..8])
}

/// Where the edges put an inbound message: the single `alfred-ingest` stream without
/// partitions, else its conversation's partition stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRoute {
    prefix: String,
    partitions: u32,
}

impl IngestRoute {
    /// The route of the instance whose key prefix is `prefix` ([`names::instance_prefix`]);
    /// `partitions` 0: no partitions.
    pub fn new(prefix: &str, partitions: u32) -> IngestRoute {
        IngestRoute {
            prefix: prefix.to_owned(),
            partitions,
        }
    }

    /// Partitions (0 without).
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// The stream a message of `conversation` on `platform` goes to.
    pub fn stream_for(&self, platform: Platform, conversation: &str) -> String {
        if self.partitions == 0 {
            return names::key(&self.prefix, names::INGEST_STREAM);
        }
        let partition = partition_of(platform, conversation, self.partitions);
        names::ingest_partition_stream(&self.prefix, partition)
    }

    /// Every partition stream, in partition order (none without partitions).
    pub fn partition_streams(&self) -> Vec<String> {
        (0..self.partitions)
            .map(|p| names::ingest_partition_stream(&self.prefix, p))
            .collect()
    }
}
