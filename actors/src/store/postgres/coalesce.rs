//! The coalesced statements of [`PgStore`](super::PgStore): `mark_published`, `claim_outbox`
//! and `record_send(Sent)`, each run for every request waiting at the same moment at once (see
//! [`batch`](super::batch) for why that is equivalent to running them one by one).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio_postgres::types::{ToSql, Type};

use super::batch::Batcher;
use super::statements;
use super::{envelope, get, MARK_PUBLISHED};
use crate::store::Claimed;
use crate::store::StoreError;

/// Most requests coalesced into one statement.
const MAX_BATCH: usize = 256;
/// Runs of a statement chosen as a deadlock victim before its error is reported.
const DEADLOCK_ATTEMPTS: u32 = 3;

/// Claims rows for sending: `$1` ids, `$2` their leases in seconds. Claims pending rows, due
/// retries and abandoned claims (claimed longer than the lease ago).
const CLAIM_MANY: &str =
    "UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1, claimed_at = now() \
     FROM unnest($1::int8[], $2::float8[]) AS c(id, lease) \
     WHERE o.id = c.id AND ( \
         o.state = 'pending' \
      OR (o.state = 'retry' AND o.next_attempt_at <= now()) \
      OR (o.state = 'sending' AND o.claimed_at <= now() - c.lease * interval '1 second')) \
     RETURNING o.id, o.platform, o.account, o.recipient, o.reply_to, o.body, o.traceparent, \
               o.to_group, o.thread, o.attempts";

/// Records rows as sent: `$1` ids, `$2` their provider ids. A sent row stays sent whatever a
/// late or duplicate report says.
const RECORD_SENT_MANY: &str = "UPDATE outbox o \
     SET state = 'sent', sent_at = now(), provider_id = r.provider_id, last_error = NULL \
     FROM unnest($1::int8[], $2::text[]) AS r(id, provider_id) WHERE o.id = r.id";

pub(super) fn mark_published(pool: Pool) -> Batcher<Vec<i64>, ()> {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |requests: Vec<Vec<i64>>| {
            let pool = pool.clone();
            Box::pin(async move {
                let count = requests.len();
                let ids: Vec<i64> = requests.into_iter().flatten().collect();
                let client = get(&pool).await?;
                statements::execute(&client, MARK_PUBLISHED, &[Type::INT8_ARRAY], &[&ids]).await?;
                Ok(vec![(); count])
            })
        }),
    )
}

pub(super) fn claims(pool: Pool) -> Batcher<(i64, f64), Option<Claimed>> {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |requests: Vec<(i64, f64)>| {
            let pool = pool.clone();
            Box::pin(async move { claim_many(&pool, requests).await })
        }),
    )
}

pub(super) fn record_sent(pool: Pool) -> Batcher<(i64, Option<String>), ()> {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |requests: Vec<(i64, Option<String>)>| {
            let pool = pool.clone();
            Box::pin(async move {
                let count = requests.len();
                let (ids, provider_ids): (Vec<i64>, Vec<Option<String>>) =
                    requests.into_iter().unzip();
                let client = get(&pool).await?;
                let params: [&(dyn ToSql + Sync); 2] = [&ids, &provider_ids];
                retry_deadlock(|| {
                    statements::execute(
                        &client,
                        RECORD_SENT_MANY,
                        &[Type::INT8_ARRAY, Type::TEXT_ARRAY],
                        &params,
                    )
                })
                .await?;
                Ok(vec![(); count])
            })
        }),
    )
}

/// Claims many rows in one statement. A row named twice is claimed once, by its first request:
/// the later ones get `None`, as they would have, one after the other.
async fn claim_many(
    pool: &Pool,
    requests: Vec<(i64, f64)>,
) -> Result<Vec<Option<Claimed>>, StoreError> {
    let (ids, leases): (Vec<i64>, Vec<f64>) = requests.iter().copied().unzip();
    let client = get(pool).await?;
    let params: [&(dyn ToSql + Sync); 2] = [&ids, &leases];
    let rows = retry_deadlock(|| {
        statements::query(
            &client,
            CLAIM_MANY,
            &[Type::INT8_ARRAY, Type::FLOAT8_ARRAY],
            &params,
        )
    })
    .await?;
    let mut claimed: HashMap<i64, Claimed> = HashMap::with_capacity(rows.len());
    for row in &rows {
        // After the envelope's columns (see `envelope_columns!`).
        let attempts: i32 = row.try_get(9)?;
        let envelope = envelope(row)?;
        claimed.insert(
            envelope.outbox_id,
            Claimed {
                envelope,
                attempts: u32::try_from(attempts).unwrap_or(0),
            },
        );
    }
    let mut seen = HashSet::with_capacity(ids.len());
    Ok(ids
        .iter()
        .map(|id| {
            if seen.insert(*id) {
                claimed.remove(id)
            } else {
                None
            }
        })
        .collect())
}

/// Runs one autocommit statement again when Postgres chose it as a deadlock victim: the
/// statement was rolled back entirely, so running it again is what running it once means.
/// Two multi-row updates of overlapping rows lock them in plan order and may deadlock.
async fn retry_deadlock<T, F, Fut>(mut statement: F) -> Result<T, tokio_postgres::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    let mut attempts = 1;
    loop {
        match statement().await {
            Err(error)
                if attempts < DEADLOCK_ATTEMPTS
                    && error.code()
                        == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED) =>
            {
                attempts += 1;
            }
            result => return result,
        }
    }
}
