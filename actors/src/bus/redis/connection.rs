//! Connections of the Redis bus: tuning, pools, the reader connection guard, and the mapping
//! of client errors to [`BusError`]s (which failures mean "Redis is unavailable").
//!
//! A pool is of a single Redis or of a Redis Cluster ([`RedisPool`]); its connections
//! ([`RedisConnection`]) are [`ConnectionLike`], so every command of the bus is written once
//! and runs on either.

use std::time::Duration;

use deadpool_redis::redis::aio::ConnectionLike;
use deadpool_redis::redis::{
    self, ConnectionInfo, ErrorKind, RedisError, RedisFuture, ServerErrorKind, TlsCertificates,
    Value,
};
use deadpool_redis::{Connection, Manager, Pool, PoolError, Runtime};

use super::cluster;
use crate::bus::BusError;

/// A pool of connections to a single Redis or to a Redis Cluster.
#[derive(Clone)]
pub(super) enum RedisPool {
    Single(Pool),
    Cluster(cluster::Pool),
}

impl RedisPool {
    pub(super) async fn get(&self) -> Result<RedisConnection, PoolError> {
        Ok(match self {
            RedisPool::Single(pool) => RedisConnection::Single(pool.get().await?),
            RedisPool::Cluster(pool) => RedisConnection::Cluster(pool.get().await?),
        })
    }

    /// Whether commands on different keys may live on different servers (a transaction must
    /// then touch one slot only).
    pub(super) fn is_cluster(&self) -> bool {
        matches!(self, RedisPool::Cluster(_))
    }
}

/// A pooled connection to a single Redis or to a Redis Cluster.
pub(super) enum RedisConnection {
    Single(Connection),
    Cluster(cluster::Connection),
}

impl RedisConnection {
    /// Takes the connection out of its pool for good (it is broken, or Redis may still be
    /// blocking on it): the next checkout creates a fresh one.
    pub(super) fn discard(self) {
        match self {
            RedisConnection::Single(conn) => drop(Connection::take(conn)),
            RedisConnection::Cluster(conn) => drop(deadpool::managed::Object::take(conn)),
        }
    }

    /// Runs a blocking command that may take up to `limit` to answer: a single-node connection
    /// gets `limit` as its response timeout, a cluster connection (of the reader pool, built
    /// without one) is bounded here.
    pub(super) async fn query_blocking(
        &mut self,
        cmd: &redis::Cmd,
        limit: Duration,
    ) -> Result<Value, RedisError> {
        match self {
            RedisConnection::Single(conn) => {
                conn.set_response_timeout(limit);
                cmd.query_async(&mut **conn).await
            }
            RedisConnection::Cluster(conn) => {
                match tokio::time::timeout(limit, cmd.query_async(&mut **conn)).await {
                    Ok(answer) => answer,
                    Err(_) => Err(RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no answer from the Redis Cluster within the blocking read's time",
                    ))),
                }
            }
        }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(conn) => conn.req_packed_command(cmd),
            RedisConnection::Cluster(conn) => (**conn).req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(conn) => conn.req_packed_commands(cmd, offset, count),
            RedisConnection::Cluster(conn) => (**conn).req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(conn) => conn.get_db(),
            RedisConnection::Cluster(conn) => (**conn).get_db(),
        }
    }
}

/// Tuning of a [`RedisBus`](super::RedisBus). The defaults suit production.
#[derive(Debug, Clone)]
pub struct RedisBusConfig {
    /// Connections for short commands.
    pub pool_size: usize,
    /// Connections for blocking reads: at least the number of readers of this process.
    pub reader_pool_size: usize,
    /// Writer tasks, each with its own connection and one transaction in flight.
    pub writers: usize,
    /// Most entries coalesced into one transaction.
    pub max_batch_entries: usize,
    /// Publishes waiting for a writer before callers wait on the queue itself (back-pressure).
    pub queue_capacity: usize,
    /// Time to establish a connection (also the pool's create timeout).
    pub connect_timeout: Duration,
    /// Time to wait for any reply except a blocking read's (also the recycle timeout).
    pub response_timeout: Duration,
    /// Time to wait for a free pooled connection.
    pub wait_timeout: Duration,
}

impl Default for RedisBusConfig {
    fn default() -> Self {
        RedisBusConfig {
            pool_size: 16,
            reader_pool_size: 16,
            writers: 4,
            max_batch_entries: 1024,
            queue_capacity: 16_384,
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(1),
        }
    }
}

/// A reader connection that leaves the pool for good unless its read completed cleanly:
/// after a cancelled or timed-out `BLOCK`, Redis may still be blocking on it.
pub(super) struct ReaderConnection {
    pub(super) conn: Option<RedisConnection>,
    pub(super) healthy: bool,
}

impl Drop for ReaderConnection {
    fn drop(&mut self) {
        if !self.healthy {
            if let Some(conn) = self.conn.take() {
                conn.discard();
            }
        }
    }
}

/// A failed read: the group is missing (recreate and retry), or anything else.
pub(super) enum Failure {
    NoGroup,
    Bus(BusError),
}

impl Failure {
    pub(super) fn into_bus(self) -> BusError {
        match self {
            Failure::NoGroup => BusError::Other("the consumer group is missing".to_owned()),
            Failure::Bus(error) => error,
        }
    }
}

impl From<BusError> for Failure {
    fn from(error: BusError) -> Self {
        Failure::Bus(error)
    }
}

pub(super) fn classify(error: RedisError) -> Failure {
    if error.code() == Some("NOGROUP") {
        Failure::NoGroup
    } else {
        Failure::Bus(from_redis_error(error))
    }
}

/// A pool of `size` connections to the Redis or Redis Cluster of `target`. `blocking`: for the
/// reader pool, whose cluster connections get no response timeout of their own (see
/// [`RedisConnection::query_blocking`]).
pub(super) fn pool(
    target: &Target,
    config: &RedisBusConfig,
    size: usize,
    blocking: bool,
) -> Result<RedisPool, BusError> {
    match target {
        Target::Single(info) => single_pool(info, config, size).map(RedisPool::Single),
        Target::Cluster {
            nodes,
            certificates,
        } => {
            let response_timeout = (!blocking).then_some(config.response_timeout);
            // The error may quote a URL, password included: do not pass it on.
            let manager = cluster::Manager::new(
                nodes.clone(),
                config.connect_timeout,
                response_timeout,
                certificates.clone(),
            )
            .map_err(|error| {
                BusError::Other(format!(
                    "the Redis Cluster nodes in REDIS_URL cannot be used together ({:?}): give every node the same scheme, user and password",
                    error.kind()
                ))
            })?;
            cluster::Pool::builder(manager)
                .max_size(size.max(1))
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(config.wait_timeout))
                .create_timeout(Some(config.connect_timeout))
                .recycle_timeout(Some(config.response_timeout))
                .build()
                .map(RedisPool::Cluster)
                .map_err(|error| {
                    BusError::Other(format!("cannot build the Redis Cluster pool: {error}"))
                })
        }
    }
}

/// Where the bus connects: one Redis, or the seed nodes of a cluster with their certificates.
pub(super) enum Target {
    Single(ConnectionInfo),
    Cluster {
        nodes: Vec<ConnectionInfo>,
        certificates: Option<TlsCertificates>,
    },
}

fn single_pool(
    info: &ConnectionInfo,
    config: &RedisBusConfig,
    size: usize,
) -> Result<Pool, BusError> {
    let connection = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout));
    // The error may quote the URL, password included: do not pass it on.
    let manager = Manager::new_with_config(info.clone(), connection)
        .map_err(|_| BusError::Other("the Redis URL is not valid".to_owned()))?;
    Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(config.wait_timeout))
        .create_timeout(Some(config.connect_timeout))
        .recycle_timeout(Some(config.response_timeout))
        .build()
        .map_err(|error| BusError::Other(format!("cannot build the Redis pool: {error}")))
}

/// Connection-level failures (refused, dropped, timed out, Redis loading or read-only) are
/// `Unavailable`: callers answer 503 or retry. Everything else is a bug or a misconfiguration.
pub(crate) fn from_redis_error(error: RedisError) -> BusError {
    let unavailable = error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::ClusterDown
                )
        );
    if unavailable {
        BusError::Unavailable(error.to_string())
    } else if aborted_by_the_slot_map(&error) {
        // A transaction sent to a node that does not serve its slot: on a cluster, the slot's
        // master is down or moved and the client's map is stale (later commands refresh it).
        BusError::Unavailable(format!(
            "{error} (a Redis Cluster master is down or its slots moved; if REDIS_URL names a single node of a cluster, list the cluster's nodes, comma-separated)"
        ))
    } else if error.kind() == ErrorKind::Server(ServerErrorKind::Moved) {
        // Only a single-node client sees MOVED: the cluster client follows it.
        BusError::Other(format!(
            "{error}: REDIS_URL names one node of a Redis Cluster; list the cluster's nodes, comma-separated (redis://host1:port1,redis://host2:port2)"
        ))
    } else {
        BusError::Other(error.to_string())
    }
}

/// A `MULTI … EXEC` that Redis aborted because a command in it was for a slot this node does
/// not serve (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`): the cluster client follows redirects
/// of single commands but not of the commands queued in a transaction.
fn aborted_by_the_slot_map(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::ExecAbort)
        && error.clone().into_server_errors().is_some_and(|errors| {
            errors.iter().any(|(_, error)| {
                matches!(
                    error.kind(),
                    Some(
                        ServerErrorKind::Moved
                            | ServerErrorKind::Ask
                            | ServerErrorKind::TryAgain
                            | ServerErrorKind::ClusterDown
                    )
                )
            })
        })
}

pub(crate) fn from_pool_error(error: PoolError) -> BusError {
    match error {
        PoolError::Backend(error) if error.kind() == ErrorKind::AuthenticationFailed => {
            BusError::Other(error.to_string())
        }
        PoolError::Backend(error) => BusError::Unavailable(error.to_string()),
        PoolError::Timeout(_) | PoolError::Closed => BusError::Unavailable(error.to_string()),
        other => BusError::Other(other.to_string()),
    }
}
