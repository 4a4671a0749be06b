//! Reading the outbox's rows and getting a pooled connection, shared by the store and its
//! group commit and coalescing paths.

use deadpool_postgres::Pool;
use tokio_postgres::Row;

use crate::messages::{OutboundEnvelope, Platform};
use crate::store::StoreError;

/// `published_at` only tells the relay when a row was last put on the stream. A row locked by
/// a concurrent claim or send result is skipped rather than waited for: multi-row updates of
/// the same rows in different orders deadlock (seen under load), and skipping is harmless —
/// a row being claimed or sent no longer needs publishing, and one whose claim is later
/// abandoned is due for the relay after the lease anyway.
/// A hold stays (`Store::mark_published`): the claim that held the row may have read the very
/// entry this marks, and clearing the hold would hide the row from its release.
pub(super) const MARK_PUBLISHED: &str = "UPDATE outbox SET published_at = now() \
     WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1) FOR UPDATE SKIP LOCKED)";

/// `MARK_PUBLISHED` for released rows published again (`Store::mark_republished`): the hold
/// is cleared with the mark.
pub(super) const MARK_REPUBLISHED: &str = "UPDATE outbox \
     SET published_at = now(), held_at = NULL \
     WHERE id IN (SELECT id FROM outbox WHERE id = ANY($1) FOR UPDATE SKIP LOCKED)";

/// A pooled connection; a pool that cannot give one in time is an unavailable store.
pub(super) async fn get(pool: &Pool) -> Result<deadpool_postgres::Client, StoreError> {
    pool.get()
        .await
        .map_err(|error| StoreError::Pool(with_sources(&error)))
}

/// Reads an outbox row selected with `envelope_columns!()`.
pub(super) fn envelope(row: &Row) -> Result<OutboundEnvelope, StoreError> {
    let platform: String = row.try_get(1)?;
    let body: serde_json::Value = row.try_get(5)?;
    Ok(OutboundEnvelope {
        outbox_id: row.try_get(0)?,
        platform: parse_platform(&platform)?,
        account: row.try_get(2)?,
        to: row.try_get(3)?,
        reply_to: row.try_get(4)?,
        body: serde_json::from_value(body).map_err(|error| {
            StoreError::Other(format!("outbox body is not an OutboundBody: {error}"))
        })?,
        traceparent: row.try_get(6)?,
        to_group: row.try_get(7)?,
        thread: row.try_get(8)?,
    })
}

/// The inverse of [`Platform::as_str`], the form stored in the tables.
fn parse_platform(name: &str) -> Result<Platform, StoreError> {
    [
        Platform::WhatsApp,
        Platform::Slack,
        Platform::Console,
        Platform::Scheduler,
    ]
    .into_iter()
    .find(|platform| platform.as_str() == name)
    .ok_or_else(|| StoreError::Other(format!("unknown platform {name:?} in the outbox")))
}

/// An error and its causes on one line (tokio-postgres keeps the useful part in the source).
pub(super) fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
