//! The LLM's answers kept with their messages (`llm_answers`, migration 0014), and the
//! inbox look-up that comes before asking ([`Store::prior`](crate::store::Store::prior)).
//!
//! The look-ups are coalesced (see [`batch`](super::batch)): with the rate limit on, the
//! orchestrator asks before every person's message, so under load the look-ups waiting at the
//! same moment run as one read-only statement over all their keys. Each key is read as it
//! would have been alone — the statement starts after every one of them was asked — so a
//! message committed before it was asked is found handled, and a duplicate still takes no
//! rate-limit token (docs/adr/2026-12-02-per-sender-limits.md).

use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio_postgres::types::{ToSql, Type};

use super::batch::Batcher;
use super::{get, statements};
use crate::messages::Platform;
use crate::store::{LlmAnswer, Prior, StoreError};

/// Most look-ups in one statement.
const MAX_BATCH: usize = 256;

/// `$1` platforms, `$2` message ids: for each key, in order, its position (from 1), whether the
/// inbox holds it, and the kept answer if any (at most one: the key is `llm_answers`' primary
/// key). Each key is probed through the primary keys (a `LATERAL` subquery with `LIMIT 1`
/// cannot be turned into a join that hashes a whole table): planned on an empty inbox, an
/// `EXISTS` became a hashed subplan that read the whole inbox on every call, for as long as the
/// connection kept the plan (`alfred_testkit::plans`).
pub(super) const PRIORS: &str = "SELECT k.n, i.handled IS NOT NULL, a.outcome, a.command \
     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (platform, message_id, n) \
     LEFT JOIN LATERAL (SELECT true AS handled FROM inbox i \
         WHERE i.platform = k.platform AND i.message_id = k.message_id LIMIT 1) i ON true \
     LEFT JOIN LATERAL (SELECT a.outcome, a.command FROM llm_answers a \
         WHERE a.platform = k.platform AND a.message_id = k.message_id LIMIT 1) a ON true \
     ORDER BY k.n";

/// The first answer kept wins: two replicas that asked at once keep one of them.
const KEEP: &str = "INSERT INTO llm_answers (platform, message_id, outcome, command) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (platform, message_id) DO NOTHING";

/// Answers kept before `$1`, at most `$2` of them.
pub(super) const PURGE: &str = "DELETE FROM llm_answers WHERE ctid = ANY (ARRAY(\
     SELECT ctid FROM llm_answers WHERE answered_at < $1 LIMIT $2))";

/// The coalesced look-ups of a store on `pool`.
pub(super) fn priors(pool: Pool) -> Batcher<(Platform, String), Prior> {
    Batcher::new(
        MAX_BATCH,
        Arc::new(move |keys: Vec<(Platform, String)>| {
            let pool = pool.clone();
            Box::pin(async move { priors_of(&pool, &keys).await })
        }),
    )
}

async fn priors_of(pool: &Pool, keys: &[(Platform, String)]) -> Result<Vec<Prior>, StoreError> {
    let platforms: Vec<&str> = keys.iter().map(|(platform, _)| platform.as_str()).collect();
    let message_ids: Vec<&str> = keys.iter().map(|(_, id)| id.as_str()).collect();
    let params: [&(dyn ToSql + Sync); 2] = [&platforms, &message_ids];
    let client = get(pool).await?;
    let rows = statements::query(
        &client,
        PRIORS,
        &[Type::TEXT_ARRAY, Type::TEXT_ARRAY],
        &params,
    )
    .await?;
    let mut priors = Vec::with_capacity(rows.len());
    for (expected, row) in (1_i64..).zip(&rows) {
        let n: i64 = row.try_get(0)?;
        if n != expected {
            return Err(StoreError::Other(format!(
                "the inbox look-up returned key {n} where {expected} was expected"
            )));
        }
        priors.push(prior(row)?);
    }
    // A count that does not match fails every caller (see `Batcher`).
    Ok(priors)
}

fn prior(row: &tokio_postgres::Row) -> Result<Prior, StoreError> {
    if row.try_get::<_, bool>(1)? {
        return Ok(Prior::Handled);
    }
    let outcome: Option<String> = row.try_get(2)?;
    Ok(match outcome {
        Some(outcome) => Prior::Interpreted(LlmAnswer {
            outcome,
            command: row.try_get(3)?,
        }),
        None => Prior::New,
    })
}

pub(super) async fn keep(
    client: &deadpool_postgres::Client,
    platform: Platform,
    message_id: &str,
    answer: &LlmAnswer,
) -> Result<(), StoreError> {
    statements::execute(
        client,
        KEEP,
        &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
        &[
            &platform.as_str(),
            &message_id,
            &answer.outcome,
            &answer.command,
        ],
    )
    .await?;
    Ok(())
}
