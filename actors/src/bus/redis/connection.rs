//! Connections of the Redis bus: tuning, pools, the reader connection guard, and the mapping
//! of client errors to [`BusError`]s (which failures mean "Redis is unavailable").

use std::time::Duration;

use deadpool_redis::redis::{self, ConnectionInfo, ErrorKind, RedisError, ServerErrorKind};
use deadpool_redis::{Connection, Manager, Pool, PoolError, Runtime};

use crate::bus::BusError;

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
    pub(super) conn: Option<Connection>,
    pub(super) healthy: bool,
}

impl Drop for ReaderConnection {
    fn drop(&mut self) {
        if !self.healthy {
            if let Some(conn) = self.conn.take() {
                drop(Connection::take(conn));
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

pub(super) fn pool(
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
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ReadOnly
            )
        );
    if unavailable {
        BusError::Unavailable(error.to_string())
    } else {
        BusError::Other(error.to_string())
    }
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
