//! The dead-letter service's Postgres side ([`DeadLetterStore`]): reviving a dead reply and
//! the audit log (`dead_letter_audit`, migration 0015).

use async_trait::async_trait;
use tokio_postgres::types::Type;

use super::rows::envelope;
use super::{statements, PgStore};
use crate::dead_letters::{AuditRecord, DeadLetterStore, Revival};
use crate::messages::Platform;
use crate::store::{Prior, Store, StoreError};

/// `$1` outbox id. Only a dead row comes back to life, once however many replays race: it is
/// pending with its attempts reset (the sender's back-off and give-up start afresh) and
/// marked published now, since the caller puts it on the stream next; should that fail, the
/// relay republishes it once the claim lease has passed.
const REVIVE: &str = concat!(
    "UPDATE outbox SET state = 'pending', attempts = 0, claimed_at = NULL, \
         next_attempt_at = NULL, published_at = now() \
     WHERE id = $1 AND state = 'dead' RETURNING ",
    envelope_columns!()
);
const STATE: &str = "SELECT state FROM outbox WHERE id = $1";
const AUDIT: &str = "INSERT INTO dead_letter_audit \
     (actor, action, stream, entry_id, outcome, new_id, entry) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// The columns [`record`] reads (a macro so the statements stay `&'static str`s).
macro_rules! audit_select {
    () => {
        "SELECT at, actor, action, stream, entry_id, outcome, new_id, entry FROM dead_letter_audit "
    };
}
/// `$1` stream, `$2` entry id: the latest action on one dead letter.
const AUDITED: &str = concat!(
    audit_select!(),
    "WHERE stream = $1 AND entry_id = $2 ORDER BY id DESC LIMIT 1"
);
/// `$1` limit: the latest actions.
const AUDIT_LOG: &str = concat!(audit_select!(), "ORDER BY id DESC LIMIT $1");

#[async_trait]
impl DeadLetterStore for PgStore {
    async fn revive_reply(&self, outbox_id: i64) -> Result<Revival, StoreError> {
        let client = self.client().await?;
        let revived = statements::query_opt(&client, REVIVE, &[Type::INT8], &[&outbox_id]).await?;
        if let Some(row) = revived {
            return Ok(Revival::Revived(Box::new(envelope(&row)?)));
        }
        let state = statements::query_opt(&client, STATE, &[Type::INT8], &[&outbox_id]).await?;
        Ok(
            match state.map(|row| row.try_get::<_, String>(0)).transpose()? {
                None => Revival::Missing,
                Some(state) if state == "sent" => Revival::Sent,
                // Dead again between the two statements: another replay revived and lost it.
                Some(_) => Revival::InFlight,
            },
        )
    }

    async fn answered(&self, platform: Platform, message_id: &str) -> Result<bool, StoreError> {
        Ok(self.prior(platform, message_id).await? == Prior::Handled)
    }

    async fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        statements::execute(
            &client,
            AUDIT,
            &[
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::JSONB,
            ],
            &[
                &record.actor,
                &record.action,
                &record.stream,
                &record.entry_id,
                &record.outcome,
                &record.new_id,
                &record.entry,
            ],
        )
        .await?;
        Ok(())
    }

    async fn audited(
        &self,
        stream: &str,
        entry_id: &str,
    ) -> Result<Option<AuditRecord>, StoreError> {
        let client = self.client().await?;
        let rows = statements::query(
            &client,
            AUDITED,
            &[Type::TEXT, Type::TEXT],
            &[&stream, &entry_id],
        )
        .await?;
        rows.first().map(record).transpose()
    }

    async fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statements::query(&client, AUDIT_LOG, &[Type::INT8], &[&limit]).await?;
        rows.iter().map(record).collect()
    }
}

fn record(row: &tokio_postgres::Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        at: row.try_get(0)?,
        actor: row.try_get(1)?,
        action: row.try_get(2)?,
        stream: row.try_get(3)?,
        entry_id: row.try_get(4)?,
        outcome: row.try_get(5)?,
        new_id: row.try_get(6)?,
        entry: row.try_get(7)?,
    })
}
