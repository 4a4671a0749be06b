//! The dead-letter service of one instance ([`DeadLetters`]): its stores, its keys, and
//! finding one dead letter. Listing is in `list`, replaying and discarding in `act`.

use std::sync::Arc;

use super::entry::{self, DeadEntry};
use super::store::{AuditRecord, DeadLetterStore};
use super::stream::{DeadLetterError, DeadStream, MAX_LIMIT};
use crate::bus::Bus;
use crate::names;
use crate::partitions::IngestRoute;

/// The dead-letter service of one instance.
#[derive(Clone)]
pub struct DeadLetters {
    pub(super) bus: Arc<dyn Bus>,
    pub(super) store: Arc<dyn DeadLetterStore>,
    /// The instance's key prefix ([`names::instance_prefix`]).
    prefix: String,
    /// Where a replayed message goes: its conversation's partition (`INGEST_PARTITIONS`).
    pub(super) ingest: IngestRoute,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// The service on `bus` and `store` for the instance whose keys start with `prefix`, with
    /// its `INGEST_PARTITIONS` (0: the single stream), so that a replayed message goes where
    /// the edges would put it.
    pub fn new(
        bus: Arc<dyn Bus>,
        store: Arc<dyn DeadLetterStore>,
        prefix: String,
        partitions: u32,
    ) -> Self {
        DeadLetters {
            bus,
            store,
            ingest: IngestRoute::new(&prefix, partitions),
            prefix,
        }
    }

    pub(super) fn dead_key(&self, stream: DeadStream) -> String {
        names::key(&self.prefix, stream.dead_name())
    }

    pub(super) fn live_key(&self, stream: DeadStream) -> String {
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
