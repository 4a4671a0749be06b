//! Dead letters operators can act on: list, show, replay and discard the entries of
//! `alfred-ingest:dead` and `alfred-outbox:dead`. The admin API and `alfred dead` share this
//! service; it needs the bus and Postgres only, so the CLI works while the server is down.
//!
//! What a replay promises (docs/adr/2026-12-02-dead-letter-replay.md):
//! * an **ingest** dead letter's message goes back onto the ingest stream as a fresh entry (a
//!   fresh delivery count); the inbox de-duplicates it, so a message answered since is not
//!   answered twice (and one the inbox already holds is not even republished);
//! * an **outbox** dead letter's reply is sent again: its outbox row, if dead, is made
//!   `pending` with no attempts by one conditional update and put on the outbox stream; a row
//!   sent since, or already on its way, is left alone; the sender's claim sends a row once;
//! * a replayed dead letter leaves its dead stream; replaying (or discarding) it again finds
//!   it in the audit log and does nothing;
//! * a discarded dead letter leaves its dead stream and is kept, secrets removed, in the
//!   audit log (`dead_letter_audit`) with who, what and when; so is every replay.
//!
//! The order of a replay is act, audit, delete: a failure in between leaves the dead letter in
//! place, and replaying it again is harmless (see above).
//!
//! Layout: `entry` reads every dead-letter shape ([`DeadEntry`]); `redact` removes secrets;
//! `list` pages and filters; `act` replays and discards, one or many; `store` what Postgres
//! keeps ([`DeadLetterStore`]).

mod act;
pub mod entry;
mod list;
pub mod redact;
pub mod store;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::bus::{Bus, BusError};
use crate::names;
use crate::store::StoreError;
pub use act::{Bulk, Done};
pub use entry::{DeadEntry, Origin};
pub use list::{Filter, ListQuery, Page, Selection};
pub use store::{AuditRecord, DeadLetterStore, Revival};

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
    fn dead_name(self) -> &'static str {
        match self {
            DeadStream::Ingest => names::INGEST_DEAD_STREAM,
            DeadStream::Outbox => names::OUTBOX_DEAD_STREAM,
        }
    }

    /// The stream a replay goes back to.
    fn live_name(self) -> &'static str {
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

/// The dead-letter service of one instance.
#[derive(Clone)]
pub struct DeadLetters {
    bus: Arc<dyn Bus>,
    store: Arc<dyn DeadLetterStore>,
    /// The instance's key prefix ([`names::instance_prefix`]).
    prefix: String,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// The service on `bus` and `store` for the instance whose keys start with `prefix`.
    pub fn new(bus: Arc<dyn Bus>, store: Arc<dyn DeadLetterStore>, prefix: String) -> Self {
        DeadLetters { bus, store, prefix }
    }

    fn dead_key(&self, stream: DeadStream) -> String {
        names::key(&self.prefix, stream.dead_name())
    }

    fn live_key(&self, stream: DeadStream) -> String {
        names::key(&self.prefix, stream.live_name())
    }

    /// One dead letter, if it is in its dead stream.
    pub async fn find(
        &self,
        stream: DeadStream,
        id: &str,
    ) -> Result<Option<DeadEntry>, DeadLetterError> {
        if !entry::is_entry_id(id) {
            return Err(DeadLetterError::BadRequest(format!(
                "{id:?} is not a stream entry id (like 1700000000000-0)"
            )));
        }
        let found = self
            .bus
            .entries_newest_first(&self.dead_key(stream), id, id, 1)
            .await?;
        Ok(found
            .into_iter()
            .find(|(found, _)| found == id)
            .map(|(id, raw)| DeadEntry::parse(stream, &id, &raw)))
    }

    /// One dead letter; [`DeadLetterError::NotFound`] when it is not there.
    pub async fn show(&self, stream: DeadStream, id: &str) -> Result<DeadEntry, DeadLetterError> {
        self.find(stream, id)
            .await?
            .ok_or_else(|| DeadLetterError::NotFound {
                stream: stream.as_str(),
                id: id.to_owned(),
            })
    }

    /// The latest `limit` operator actions on dead letters, newest first.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, DeadLetterError> {
        Ok(self.store.audit_log(limit.clamp(1, MAX_LIMIT)).await?)
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
