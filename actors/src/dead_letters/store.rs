//! What the dead-letter service needs of Postgres: a dead reply made sendable again, whether a
//! message was answered, and the audit log (`dead_letter_audit`, migration 0015). Implemented
//! by [`PgStore`](crate::store::PgStore) in `store/postgres/dead_letters.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::messages::{OutboundEnvelope, Platform};
use crate::store::StoreError;

/// What making a reply sendable again found.
#[derive(Debug, Clone, PartialEq)]
pub enum Revival {
    /// The row was dead: it is `pending` again with no attempts, marked published now; put
    /// this envelope on the outbox stream (if that fails, the relay republishes it after the
    /// claim lease).
    Revived(Box<OutboundEnvelope>),
    /// The row was sent since: nothing to do.
    Sent,
    /// The row is pending, being sent or waiting for a retry: the sender sends it once.
    InFlight,
    /// No such row (removed by hand: dead rows are never purged).
    Missing,
}

/// One operator action on a dead letter, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditRecord {
    /// When (set by the database; ignored when recording).
    pub at: DateTime<Utc>,
    /// Who: `admin-api from 10.0.0.5`, `cli as ops@host`.
    pub actor: String,
    /// `replay` or `discard`.
    pub action: String,
    /// `ingest` or `outbox`.
    pub stream: String,
    /// The dead letter's id in its dead stream.
    pub entry_id: String,
    /// What came of it (`replayed`, `already_sent`, `discarded`, …).
    pub outcome: String,
    /// The new stream entry a replay made, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
    /// The dead letter, secrets removed.
    pub entry: serde_json::Value,
}

/// The dead-letter service's storage.
#[async_trait]
pub trait DeadLetterStore: Send + Sync + 'static {
    /// Makes the outbox row `outbox_id` sendable again if it is dead (`pending`, attempts 0),
    /// with one conditional update, so two replays at once revive it once.
    async fn revive_reply(&self, outbox_id: i64) -> Result<Revival, StoreError>;
    /// Whether the inbox holds this message: it was answered.
    async fn answered(&self, platform: Platform, message_id: &str) -> Result<bool, StoreError>;
    /// Appends to the audit log.
    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// The latest audit record of one dead letter, if any.
    async fn audited(
        &self,
        stream: &str,
        entry_id: &str,
    ) -> Result<Option<AuditRecord>, StoreError>;
    /// The latest `limit` audit records, newest first.
    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
}
