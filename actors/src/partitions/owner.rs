//! [`PartitionOwner`]: the actor that makes this replica a member, holds the leases of the
//! partitions it should own and runs one reader per owned partition (see the parent module).
//!
//! Every `lease / 3` it: heartbeats and reads the live replicas; renews each lease it holds
//! (a lease found lost stops its reader at once); computes the owners of all partitions
//! ([`owners`]); releases those it holds but should not (stopping their readers first); and
//! acquires those it should own and does not — raising the fence in Postgres and taking every
//! pending entry of the partition over before starting the reader (renewing the leases it
//! holds on the way whenever a third of the lease has passed, so that a slow start-up under
//! load never lets the first partitions' leases lapse while it takes the last). A step that
//! fails (Redis or Postgres down) is retried on the next tick; a lease acquired whose fence
//! could not be raised is released again, so no reader ever runs without its fence in place.
//!
//! Each reader gets a [`Ownership`] valid until the last renewal's *send* time plus four fifths
//! of the TTL: a replica that stops renewing (paused, cut off from Redis) has readers that stop
//! reading before its lease can expire and move.
//!
//! The readers are plain futures on this actor's arbiter, aborted when their lease goes. When
//! the actor stops (shutdown, restart) every reader is aborted and a best-effort task releases
//! the leases and leaves the live set, so the partitions move at once rather than after the TTL.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::{Actor, AsyncContext, Context, Recipient, SpawnHandle};

use super::place::owners;
use crate::bus::Bus;
use crate::names;
use crate::store::{Fence, Store};
use crate::stream_reader::{Delivery, Ownership, ReaderConfig};

/// What a partition owner is built from.
#[derive(Clone)]
pub struct OwnerConfig {
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    /// The instance's key prefix ([`names::instance_prefix`]).
    pub prefix: String,
    /// `INGEST_PARTITIONS` (at least 1).
    pub partitions: u32,
    /// This process's replica id: unique among live replicas (`{HOSTNAME}-{random}`); also the
    /// lease owner and the stem of its consumer names (`{replica}-p3`).
    pub replica: String,
    /// `INGEST_LEASE_MS`: lease and heartbeat TTL.
    pub lease: Duration,
    /// How every partition reader reads: group, dead-letter stream, pause flag, tuning. Its
    /// `stream`, `consumer` and `lease` are replaced per partition.
    pub reader: ReaderConfig,
    /// The single stream of before (`alfred-ingest`): partition readers start only once it is
    /// drained. `None`: nothing to wait for.
    pub legacy_stream: Option<String>,
}

impl std::fmt::Debug for OwnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerConfig")
            .field("prefix", &self.prefix)
            .field("partitions", &self.partitions)
            .field("replica", &self.replica)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// The partition owner actor; its work is one loop spawned into its context.
pub struct PartitionOwner {
    config: OwnerConfig,
    handler: Recipient<Delivery>,
    running: Option<SpawnHandle>,
}

impl PartitionOwner {
    /// An owner whose readers deliver to `handler` (the orchestrator).
    pub fn new(config: OwnerConfig, handler: Recipient<Delivery>) -> PartitionOwner {
        PartitionOwner {
            config,
            handler,
            running: None,
        }
    }
}

impl Actor for PartitionOwner {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(previous) = self.running.take() {
            ctx.cancel_future(previous);
        }
        tracing::info!(replica = %self.config.replica, partitions = self.config.partitions, "Partition owner started.");
        let run = run(self.config.clone(), self.handler.clone());
        self.running = Some(ctx.spawn(actix::fut::wrap_future(run)));
    }
}

impl actix::Supervised for PartitionOwner {
    fn restarting(&mut self, ctx: &mut Self::Context) {
        if let Some(previous) = self.running.take() {
            ctx.cancel_future(previous);
        }
    }
}

/// One owned partition: its lease and its reader.
struct Owned {
    token: u64,
    hold: Ownership,
    reader: tokio::task::JoinHandle<()>,
}

/// The loop's state. Dropping it (the actor stops) aborts every reader and releases, best
/// effort, every lease.
struct Owner {
    config: OwnerConfig,
    handler: Recipient<Delivery>,
    members: String,
    owned: BTreeMap<u32, Owned>,
    legacy_drained: bool,
}

async fn run(config: OwnerConfig, handler: Recipient<Delivery>) {
    let mut owner = Owner {
        members: names::key(&config.prefix, names::INGEST_REPLICAS),
        legacy_drained: config.legacy_stream.is_none(),
        config,
        handler,
        owned: BTreeMap::new(),
    };
    let every = owner.renew_every();
    loop {
        owner.tick().await;
        tokio::time::sleep(every).await;
    }
}

impl Owner {
    fn lease_key(&self, partition: u32) -> String {
        names::ingest_lease_key(&self.config.prefix, partition)
    }

    /// Until when a lease renewed (or acquired) by a call sent at `sent` is surely held.
    fn valid_until(&self, sent: Instant) -> Instant {
        sent + self.config.lease * 4 / 5
    }

    async fn tick(&mut self) {
        let sent = Instant::now();
        let config = &self.config;
        let live = match config
            .bus
            .heartbeat(&self.members, &config.replica, config.lease)
            .await
        {
            Ok(live) => Some(live),
            Err(error) => {
                tracing::warn!(%error, replica = %config.replica, "Could not heartbeat; keeping the partitions held while their leases last.");
                None
            }
        };
        self.renew(sent).await;
        let Some(live) = live else { return };
        let wanted: Vec<u32> = (0u32..)
            .zip(owners(self.config.partitions, &live))
            .filter(|(_, owner)| *owner == self.config.replica)
            .map(|(p, _)| p)
            .collect();
        let unwanted: Vec<u32> = self
            .owned
            .keys()
            .copied()
            .filter(|p| !wanted.contains(p))
            .collect();
        for partition in unwanted {
            self.hand_over(partition).await;
        }
        if !self.legacy_drained {
            self.legacy_drained = self.legacy_is_drained().await;
            if !self.legacy_drained {
                return;
            }
        }
        let mut renewed = sent;
        for partition in wanted {
            if !self.owned.contains_key(&partition) {
                self.take(partition).await;
            }
            // Taking a partition over is several round trips to Redis and Postgres; under load
            // taking all of them can outlast a lease, so the leases already held are renewed
            // on the way, as often as a tick would.
            if renewed.elapsed() >= self.renew_every() {
                renewed = Instant::now();
                self.renew(renewed).await;
            }
        }
    }

    /// How often held leases are renewed: a third of the lease.
    fn renew_every(&self) -> Duration {
        (self.config.lease / 3).max(Duration::from_millis(10))
    }

    /// Renews every held lease; a lost one stops its reader.
    async fn renew(&mut self, sent: Instant) {
        let mut lost = Vec::new();
        for (partition, owned) in &self.owned {
            let lease = self.lease_key(*partition);
            match self
                .config
                .bus
                .renew_lease(&lease, &self.config.replica, owned.token, self.config.lease)
                .await
            {
                Ok(true) => owned.hold.extend(self.valid_until(sent)),
                Ok(false) => lost.push(*partition),
                // Not renewed, not known lost: the reader stops by itself once the hold lapses.
                Err(error) => {
                    tracing::warn!(%error, partition, "Could not renew a partition lease.");
                }
            }
        }
        for partition in lost {
            if let Some(owned) = self.owned.remove(&partition) {
                owned.hold.lose();
                owned.reader.abort();
                tracing::warn!(
                    partition,
                    token = owned.token,
                    "The partition's lease was lost; its reader stopped."
                );
            }
        }
    }

    /// Stops the partition's reader and releases its lease for its new owner.
    async fn hand_over(&mut self, partition: u32) {
        let Some(owned) = self.owned.remove(&partition) else {
            return;
        };
        owned.hold.lose();
        owned.reader.abort();
        let lease = self.lease_key(partition);
        if let Err(error) = self
            .config
            .bus
            .release_lease(&lease, &self.config.replica, owned.token)
            .await
        {
            tracing::warn!(%error, partition, "Could not release a partition lease; it expires by itself.");
        }
        tracing::info!(
            partition,
            token = owned.token,
            "Partition handed over to another replica."
        );
    }

    /// Acquires the partition, raises its fence, takes its pending entries over and starts its
    /// reader; on any failure gives the lease back and tries again next tick.
    async fn take(&mut self, partition: u32) {
        let config = &self.config;
        let lease = self.lease_key(partition);
        let counter = names::ingest_fence_key(&config.prefix, partition);
        let sent = Instant::now();
        let token = match config
            .bus
            .acquire_lease(&lease, &counter, &config.replica, config.lease)
            .await
        {
            Ok(Some(token)) => token,
            // Held by its previous owner until it releases it or the lease expires.
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, partition, "Could not acquire a partition lease.");
                return;
            }
        };
        let fence = Fence { partition, token };
        // A commit of the previous owner still in flight holds the fence back; waiting for it
        // longer than a tick would stop this loop renewing the leases it holds (and, paused,
        // that owner may hold it long): give the lease back and try again next tick.
        let wait = self.renew_every();
        let stream = names::ingest_partition_stream(&config.prefix, partition);
        let consumer = format!("{}-p{partition}", config.replica);
        let ready = async {
            config
                .store
                .advance_fence(fence, wait)
                .await
                .map_err(|e| e.to_string())?;
            config
                .bus
                .ensure_group(&stream, &config.reader.group)
                .await
                .map_err(|e| e.to_string())?;
            config
                .bus
                .take_over_pending(&stream, &config.reader.group, &consumer)
                .await
                .map_err(|e| e.to_string())
        };
        let taken = match ready.await {
            Ok(taken) => taken,
            Err(error) => {
                tracing::warn!(%error, partition, token, "Could not fence a partition or take its pending entries over; giving its lease back.");
                let _ = config
                    .bus
                    .release_lease(&lease, &config.replica, token)
                    .await;
                return;
            }
        };
        let hold = Ownership::new(fence, self.valid_until(sent))
            .with_lease(lease.clone(), format!("{} {token}", config.replica));
        let reader = ReaderConfig {
            stream,
            consumer,
            lease: Some(hold.clone()),
            ..config.reader.clone()
        };
        tracing::info!(partition, token, taken_over = taken, consumer = %reader.consumer, "Partition acquired; its reader starts with the pending entries.");
        let task = actix::spawn(crate::stream_reader::run(reader, self.handler.clone()));
        self.owned.insert(
            partition,
            Owned {
                token,
                hold,
                reader: task,
            },
        );
    }

    /// Whether the single stream of before has nothing undelivered and nothing pending (or
    /// does not exist).
    async fn legacy_is_drained(&self) -> bool {
        let Some(legacy) = &self.config.legacy_stream else {
            return true;
        };
        match self
            .config
            .bus
            .group_health(legacy, &self.config.reader.group)
            .await
        {
            Ok(None) => true,
            Ok(Some(health)) => {
                let drained = health.pending == 0 && health.lag == Some(0);
                if !drained {
                    tracing::info!(stream = %legacy, pending = health.pending, lag = ?health.lag, "Waiting for the single ingest stream to drain before reading partitions.");
                }
                drained
            }
            Err(error) => {
                tracing::warn!(%error, "Could not look at the single ingest stream; trying again.");
                false
            }
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let owned = std::mem::take(&mut self.owned);
        let mut leases = Vec::with_capacity(owned.len());
        for (partition, owned) in owned {
            owned.hold.lose();
            owned.reader.abort();
            leases.push((self.lease_key(partition), owned.token));
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (bus, replica, members) = (
            self.config.bus.clone(),
            self.config.replica.clone(),
            self.members.clone(),
        );
        runtime.spawn(async move {
            for (lease, token) in leases {
                let _ = bus.release_lease(&lease, &replica, token).await;
            }
            let _ = bus.leave(&members, &replica).await;
        });
    }
}
