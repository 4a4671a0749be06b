//! Redis Cluster: the pool of cluster connections, and how `REDIS_URL` names a cluster.
//!
//! `REDIS_URL` lists the cluster's nodes, comma-separated (`redis://10.0.0.1:6379,redis://
//! 10.0.0.2:6379`); a single URL is a single Redis. The listed nodes are only where the client
//! starts: it asks one of them for the slot map and then talks to whichever master owns a key's
//! slot, following `MOVED`/`ASK` redirects by itself (`redis::cluster_async`).
//!
//! Why a pool of our own rather than `deadpool_redis::cluster::Manager`: that manager builds its
//! `ClusterClient` with the client's defaults (16 retries with back-off up to minutes, no
//! response timeout), which would make a command wait through a master's failure far longer
//! than the second after which the webhook must answer 503. Here the client gets the bus's
//! connect and response timeouts and a few quick retries (enough to follow a redirect or a
//! fail-over's slot-map refresh), and the same certificates as a single node for `rediss://`.
//!
//! Every command the bus sends stays within one slot: each command names one key, except the
//! lease script (the lease and its fencing counter share the partition's hash tag, see
//! [`names::partition_tag`](crate::names::partition_tag)) and the writer's transactions, which
//! the writer splits per stream on a cluster (see `writer`).

use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleResult};
use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::cluster::{ClusterClient, ClusterClientBuilder};
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{self, ConnectionInfo, RedisError, TlsCertificates, Value};

/// A pool of cluster connections. Each pooled connection is a [`ClusterConnection`] of its own
/// (one multiplexed connection per node), used by one caller at a time like a single-node one.
pub(super) type Pool = managed::Pool<Manager>;
/// A cluster connection checked out of a [`Pool`].
pub(super) type Connection = managed::Object<Manager>;

/// Quick retries inside one command: a redirect after a slot moved, or a slot-map refresh
/// after a fail-over; never long enough to outlast the response timeout.
const RETRIES: u32 = 3;
const MIN_RETRY_WAIT_MS: u64 = 10;
const MAX_RETRY_WAIT_MS: u64 = 200;

/// Creates cluster connections from one configured [`ClusterClient`] and checks them with `PING`
/// on recycle.
pub(super) struct Manager {
    client: ClusterClient,
}

impl std::fmt::Debug for Manager {
    // The client holds the password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").finish_non_exhaustive()
    }
}

impl Manager {
    /// A manager for the cluster seeded by `nodes`. `response_timeout` bounds every command but
    /// is `None` for the reader pool, whose blocking reads are bounded by the caller instead.
    /// `certificates`: the roots and client certificate for `rediss://` (the redis crate's web
    /// roots when `None`).
    pub(super) fn new(
        nodes: Vec<ConnectionInfo>,
        connect_timeout: Duration,
        response_timeout: Option<Duration>,
        certificates: Option<TlsCertificates>,
    ) -> Result<Manager, RedisError> {
        let mut builder = ClusterClientBuilder::new(nodes)
            .connection_timeout(connect_timeout)
            .retries(RETRIES)
            .min_retry_wait(MIN_RETRY_WAIT_MS)
            .max_retry_wait(MAX_RETRY_WAIT_MS);
        if let Some(timeout) = response_timeout {
            builder = builder.response_timeout(timeout);
        }
        if let Some(certificates) = certificates {
            builder = builder.certs(certificates);
        }
        Ok(Manager {
            client: builder.build()?,
        })
    }
}

impl managed::Manager for Manager {
    type Type = ClusterConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<ClusterConnection, RedisError> {
        self.client.get_async_connection().await
    }

    async fn recycle(
        &self,
        conn: &mut ClusterConnection,
        _: &Metrics,
    ) -> RecycleResult<RedisError> {
        // PING goes to every node: a connection is reused only while the whole cluster answers.
        let _: Value = redis::cmd("PING").query_async(conn).await?;
        Ok(())
    }
}

/// Whether `CLUSTER INFO` of one node says `cluster_state:ok` (readiness on a cluster). A `PING` would not
/// do: the client sends it only to the masters it is connected to, so it answers while a master
/// is down. The nodes declare the cluster failed once a master has been unreachable for
/// `cluster-node-timeout` with no replica to take over: from then on until it is back (or
/// replaced), this is `false`.
pub(super) async fn state_ok(conn: &mut impl ConnectionLike) -> Result<bool, RedisError> {
    let info: String = redis::cmd("CLUSTER").arg("INFO").query_async(conn).await?;
    Ok(info.lines().any(|line| line.trim() == "cluster_state:ok"))
}

/// The node URLs of a cluster `REDIS_URL` (two or more, comma-separated), or `None` for a
/// single Redis.
pub fn cluster_nodes(url: &str) -> Option<Vec<&str>> {
    let nodes: Vec<&str> = url
        .split(',')
        .map(str::trim)
        .filter(|node| !node.is_empty())
        .collect();
    (nodes.len() > 1).then_some(nodes)
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn a_list_of_urls_is_a_cluster_and_one_url_a_single_redis() {
        assert_eq!(cluster_nodes("redis://a:1"), None);
        assert_eq!(cluster_nodes("redis://a:1,"), None);
        assert_eq!(
            cluster_nodes("redis://a:1, redis://b:2,redis://c:3"),
            Some(vec!["redis://a:1", "redis://b:2", "redis://c:3"])
        );
    }
}
