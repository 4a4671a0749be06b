//! The two dead-letter streams by the names operators use, the service's one error, and the
//! limits of a listing.

use chrono::{DateTime, Utc};

use crate::bus::BusError;
use crate::names;
use crate::store::StoreError;

/// Most entries one listing returns.
pub const MAX_LIMIT: usize = 500;
/// Entries a listing returns unless told.
pub const DEFAULT_LIMIT: usize = 50;

/// The two dead-letter streams, by the name operators use (`ingest`, `outbox`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadStream {
    Ingest,
    Outbox,
}

impl DeadStream {
    /// `ingest` or `outbox`; anything else is a bad request.
    pub fn parse(name: &str) -> Result<DeadStream, DeadLetterError> {
        match name {
            "ingest" => Ok(DeadStream::Ingest),
            "outbox" => Ok(DeadStream::Outbox),
            other => Err(DeadLetterError::BadRequest(format!(
                "unknown stream {other:?}: use \"ingest\" or \"outbox\""
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeadStream::Ingest => "ingest",
            DeadStream::Outbox => "outbox",
        }
    }

    /// The dead stream's name (before the instance's prefix).
    pub(super) fn dead_name(self) -> &'static str {
        match self {
            DeadStream::Ingest => names::INGEST_DEAD_STREAM,
            DeadStream::Outbox => names::OUTBOX_DEAD_STREAM,
        }
    }

    /// The stream a replay goes back to.
    pub(super) fn live_name(self) -> &'static str {
        match self {
            DeadStream::Ingest => names::INGEST_STREAM,
            DeadStream::Outbox => names::OUTBOX_STREAM,
        }
    }
}

/// Why an operation on dead letters failed. The admin API maps each to one status.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// A bad stream name, id, filter or body (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such dead letter, and none by that id was ever replayed or discarded (404).
    #[error("no dead letter {id} in the {stream} dead letters")]
    NotFound { stream: &'static str, id: String },
    /// The dead letter is there but a replay cannot help it (409).
    #[error("dead letter {id} cannot be replayed: {why}")]
    NotReplayable { id: String, why: String },
    /// Redis or Postgres could not be reached (503).
    #[error("a store is unavailable: {0}")]
    Unavailable(String),
    /// Anything else (500).
    #[error("{0}")]
    Failed(String),
}

impl From<BusError> for DeadLetterError {
    fn from(error: BusError) -> Self {
        match error {
            BusError::Unavailable(why) => DeadLetterError::Unavailable(format!("Redis: {why}")),
            BusError::Other(why) => DeadLetterError::Failed(format!("Redis: {why}")),
        }
    }
}

impl From<StoreError> for DeadLetterError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            DeadLetterError::Unavailable(format!("Postgres: {error}"))
        } else {
            DeadLetterError::Failed(format!("Postgres: {error}"))
        }
    }
}

/// A time given as RFC 3339 (`2026-12-02T10:00:00Z`), for the filters.
pub fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, DeadLetterError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|time| time.to_utc())
        .map_err(|_| {
            DeadLetterError::BadRequest(format!(
                "{name} must be an RFC 3339 time like 2026-12-02T10:00:00Z, not {text:?}"
            ))
        })
}
