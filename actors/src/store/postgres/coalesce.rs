//! The coalesced statements of [`PgStore`](super::PgStore): `mark_published`,
//! `mark_republished`, `claim_outbox` and `record_send(Sent)`, each run for every request
//! waiting at the same moment at once (see [`batch`](super::batch) for why that is equivalent
//! to running them one by one).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio_postgres::types::{ToSql, Type};

use super::batch::Batcher;
use super::statements;
use super::{envelope, get};
use crate::messages::OutboundEnvelope;
use crate::store::StoreError;
use crate::store::{ClaimAttempt, Claimed};

/// Most requests coalesced into one statement.
const MAX_BATCH: usize = 256;
/// Runs of a statement chosen as a deadlock victim before its error is reported.
const DEADLOCK_ATTEMPTS: u32 = 3;

/// Claims rows for sending: `$1` ids, `$2` their leases in seconds, `$3` the attempts' tokens,
/// `$4` the tokens of lost claims the attempts may take over (`ClaimAttempt`; one list for
/// all). Claims pending rows, due retries, abandoned claims (claimed longer than the lease
/// ago) and claims under a token of `$4` — unless an earlier row of the same recipient is
/// still in flight: such a row is not claimed but *held* (`held_at`), to be republished once
/// the earlier one is finished (`RECORD_SENT_MANY`, or the relay).
///
/// Each row is first found through the primary key and locked (`locked`, in id order, so two
/// claims of overlapping rows do not deadlock), and whether it is claimable is decided on the
/// version locked; whether an earlier row is in flight reads the statement's snapshot. The two
/// updates then change the rows by id, and their sets are disjoint. Found by probes rather
/// than joined: planned before the table was analyzed, a join of the ids with the claimable
/// rows read every in-flight row (the whole backlog, under load) on every claim. A row named
/// twice takes the token of its first request (`n`), whose caller gets the claim.
pub(super) const CLAIM_MANY: &str = concat!(
    "WITH c AS (SELECT * FROM unnest($1::int8[], $2::float8[], $3::int8[]) \
                   WITH ORDINALITY AS c(id, lease, token, n) ORDER BY id), \
     locked AS (SELECT o.id, ",
    claimable!(),
    " AS claimable, ",
    earlier_in_flight!("o"),
    " AS blocked \
         FROM c CROSS JOIN LATERAL (SELECT * FROM outbox o WHERE o.id = c.id FOR UPDATE) o), \
     held AS (UPDATE outbox o SET held_at = now() \
         WHERE o.id = ANY (ARRAY(SELECT id FROM locked WHERE claimable AND blocked)) \
         RETURNING o.id) \
     UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1, claimed_at = now(), \
         held_at = NULL, claim_token = f.token \
     FROM (SELECT DISTINCT ON (id) id, token FROM c ORDER BY id, n) f \
     WHERE o.id = f.id \
       AND o.id = ANY (ARRAY(SELECT id FROM locked WHERE claimable AND NOT blocked)) \
     RETURNING o.id, o.platform, o.account, o.recipient, o.reply_to, o.body, o.traceparent, \
               o.to_group, o.thread, o.attempts"
);

/// Records rows as sent: `$1` ids, `$2` their provider ids, and returns the rows this
/// releases (`released!`), each with the id of the row that released it last. A sent row
/// stays sent whatever a late or duplicate report says.
pub(super) const RECORD_SENT_MANY: &str = concat!(
    "WITH r AS (SELECT * FROM unnest($1::int8[], $2::text[]) AS r(id, provider_id)), \
     done AS (UPDATE outbox o \
         SET state = 'sent', sent_at = now(), provider_id = r.provider_id, last_error = NULL \
         FROM r WHERE o.id = r.id \
         RETURNING o.id AS done_id, o.platform AS done_platform, o.account AS done_account, \
                   o.recipient AS done_recipient) ",
    released!()
);

/// `mark_published` or `mark_republished` coalesced: `statement` is `MARK_PUBLISHED` or
/// `MARK_REPUBLISHED`.
pub(super) fn mark(pool: Pool, statement: &'static str) -> Batcher<Vec<i64>, ()> {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |requests: Vec<Vec<i64>>| {
            let pool = pool.clone();
            Box::pin(async move {
                let count = requests.len();
                let ids: Vec<i64> = requests.into_iter().flatten().collect();
                let client = get(&pool).await?;
                statements::execute(&client, statement, &[Type::INT8_ARRAY], &[&ids]).await?;
                Ok(vec![(); count])
            })
        }),
    )
}

/// One `claim_outbox_as` call: the row, the lease in seconds, the attempt.
pub(super) struct Claim {
    pub(super) id: i64,
    pub(super) lease: f64,
    pub(super) attempt: ClaimAttempt,
}

pub(super) fn claims(pool: Pool) -> Batcher<Claim, Option<Claimed>> {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |requests: Vec<Claim>| {
            let pool = pool.clone();
            Box::pin(async move { claim_many(&pool, requests).await })
        }),
    )
}

/// `record_send(Sent)` coalesced: (outbox id, provider id) in, the rows each release out.
pub(super) type RecordSent = Batcher<(i64, Option<String>), Vec<OutboundEnvelope>>;

pub(super) fn record_sent(pool: Pool) -> RecordSent {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |requests: Vec<(i64, Option<String>)>| {
            let pool = pool.clone();
            Box::pin(async move {
                let (ids, provider_ids): (Vec<i64>, Vec<Option<String>>) =
                    requests.into_iter().unzip();
                let client = get(&pool).await?;
                let params: [&(dyn ToSql + Sync); 2] = [&ids, &provider_ids];
                let rows = retry_deadlock(|| {
                    statements::query(
                        &client,
                        RECORD_SENT_MANY,
                        &[Type::INT8_ARRAY, Type::TEXT_ARRAY],
                        &params,
                    )
                })
                .await?;
                let mut released = released_by(&rows)?;
                // A row named twice releases its successor once, for its first request.
                Ok(ids
                    .iter()
                    .map(|id| released.remove(id).unwrap_or_default())
                    .collect())
            })
        }),
    )
}

/// The rows a `released!()` statement returned, by the id of the row that released them.
pub(super) fn released_by(
    rows: &[tokio_postgres::Row],
) -> Result<HashMap<i64, Vec<OutboundEnvelope>>, StoreError> {
    let mut released: HashMap<i64, Vec<OutboundEnvelope>> = HashMap::new();
    for row in rows {
        // After the envelope's columns (see `envelope_columns!`).
        let by: i64 = row.try_get(9)?;
        released.entry(by).or_default().push(envelope(row)?);
    }
    Ok(released)
}

/// Claims many rows in one statement. A row named twice is claimed once, by its first request:
/// the later ones get `None`, as they would have, one after the other.
async fn claim_many(pool: &Pool, requests: Vec<Claim>) -> Result<Vec<Option<Claimed>>, StoreError> {
    let ids: Vec<i64> = requests.iter().map(|claim| claim.id).collect();
    let leases: Vec<f64> = requests.iter().map(|claim| claim.lease).collect();
    let tokens: Vec<i64> = requests.iter().map(|claim| claim.attempt.token).collect();
    // One list for every request: a token is one random attempt's, so it matches no other row.
    let retake: Vec<i64> = requests
        .iter()
        .flat_map(|claim| claim.attempt.retake.iter().copied())
        .collect();
    let client = get(pool).await?;
    let params: [&(dyn ToSql + Sync); 4] = [&ids, &leases, &tokens, &retake];
    let rows = retry_deadlock(|| {
        statements::query(
            &client,
            CLAIM_MANY,
            &[
                Type::INT8_ARRAY,
                Type::FLOAT8_ARRAY,
                Type::INT8_ARRAY,
                Type::INT8_ARRAY,
            ],
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
