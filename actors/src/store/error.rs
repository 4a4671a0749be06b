//! [`StoreError`]: the one error of the store boundary, and which of its failures mean the
//! store could not be reached (SQLSTATE classification).

/// Errors from the store, as effects and the orchestrator see them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("database pool error: {0}")]
    Pool(String),
    #[error("{0}")]
    Other(String),
    /// The commit's fencing token is older than its partition's latest: another replica owns
    /// the partition now, and this one must not commit (nothing was applied).
    #[error("ingest partition {partition} is fenced: token {token} is older than {latest}")]
    Fenced {
        partition: u32,
        token: u64,
        latest: u64,
    },
}

impl StoreError {
    /// Whether the store could not be reached — no connection from the pool in time, connection
    /// refused, a connection that closed or was terminated by a server shutdown, the server
    /// out of connections — as opposed to a statement that failed. An unavailable store says
    /// nothing about the message being handled: try it again later without counting it against
    /// the message (see [`DeliveryError::Unavailable`](crate::stream_reader::DeliveryError)).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) => true,
            StoreError::Db(error) => is_connection_error(error),
            StoreError::Other(_) | StoreError::Fenced { .. } => false,
        }
    }
}

/// A connection-level failure of tokio-postgres: closed, an I/O error, or a server error of
/// class 08 (connection exception), 53 (insufficient resources, e.g. too many connections) or
/// 57P01–57P03 (shutdown, crash, still starting up).
fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    if let Some(code) = error.code() {
        let code = code.code();
        return code.starts_with("08")
            || code.starts_with("53")
            || matches!(code, "57P01" | "57P02" | "57P03");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}
