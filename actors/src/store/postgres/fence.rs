//! Fencing of ingest partitions in Postgres (see [`partitions`](crate::partitions)): the
//! latest fencing token of each partition in `ingest_partition_fences`, raised by a new owner
//! ([`advance`]) and checked inside every group commit of the partition's messages ([`check`]).
//!
//! Why here and not only in Redis: a lease tells a replica it *may* read, but a replica paused
//! (GC, SIGSTOP, a VM migration) past its lease wakes up with its batch in hand and does not
//! know. The commit is where effects become real, so the commit is where an old token is
//! refused. The check takes a share lock on the partition's row and the advance updates it, so
//! the two are serialized: a commit that checked before the advance committed first (its
//! message is then a duplicate for the new owner), one that checks after it sees the new token.
//!
//! A replica paused *inside* a commit holds that share lock while it is paused. The new owner
//! waits for it only a little ([`advance`] with a lock timeout; the owner gives the lease back
//! and tries again next tick, renewing its other leases meanwhile), and every commit's
//! transaction sets `idle_in_transaction_session_timeout` ([`COMMIT_IDLE_LIMIT`]): the server ends a transaction left idle that long,
//! which releases the lock; the paused replica finds its connection gone when it wakes, and
//! nothing of its batch was committed.

use std::time::Duration;

use crate::store::{Fence, StoreError};
use deadpool_postgres::Transaction;
use tokio_postgres::error::SqlState;

/// Sent first in every group commit's transaction: the server ends the transaction (and the
/// session) when it sits idle, waiting for Alfred, longer than this. A healthy commit waits on
/// Alfred only for its own next statement (effects touch nothing outside the transaction);
/// five seconds idle means a paused or stalled process, whose locks — the partition's fence
/// row, a household's advisory lock — would otherwise hold everyone else back until it woke
/// (see the module doc). `SET LOCAL`: no session state is left behind (transaction poolers).
pub(crate) const COMMIT_IDLE_LIMIT: &str = "SET LOCAL idle_in_transaction_session_timeout = 5000";

const CHECK: &str = "SELECT token FROM ingest_partition_fences WHERE partition = $1 FOR SHARE";

pub(super) const CHECK_MANY: &str = "SELECT partition, token FROM ingest_partition_fences \
     WHERE partition = ANY($1) ORDER BY partition FOR SHARE";

const ADVANCE: &str = "INSERT INTO ingest_partition_fences (partition, token) VALUES ($1, $2) \
     ON CONFLICT (partition) DO UPDATE \
     SET token = GREATEST(ingest_partition_fences.token, EXCLUDED.token)";

fn params(fence: Fence) -> Result<(i32, i64), StoreError> {
    let partition = i32::try_from(fence.partition)
        .map_err(|_| StoreError::Other(format!("partition {} out of range", fence.partition)))?;
    let token = i64::try_from(fence.token)
        .map_err(|_| StoreError::Other(format!("fencing token {} out of range", fence.token)))?;
    Ok((partition, token))
}

/// Inside a commit's transaction: `Some(refusal)` when `fence` is older than its partition's
/// latest token. No fence (no partitions), or a partition never fenced: nothing to check.
pub(super) async fn check(
    tx: &Transaction<'_>,
    fence: Option<Fence>,
) -> Result<Option<StoreError>, StoreError> {
    let Some(fence) = fence else {
        return Ok(None);
    };
    let (partition, _) = params(fence)?;
    let statement = tx.prepare_cached(CHECK).await?;
    let latest: Option<i64> = tx
        .query_opt(&statement, &[&partition])
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    let latest = latest.map_or(0, |token| u64::try_from(token).unwrap_or(0));
    Ok((latest > fence.token).then_some(StoreError::Fenced {
        partition: fence.partition,
        token: fence.token,
        latest,
    }))
}

/// Inside a set-based batch's transaction: the first refusal among `fences` (one statement for
/// the batch's partitions, their rows share-locked in partition order), or `None`. No fence at
/// all (no partitions): no statement. The caller rolls the batch back on a refusal and runs
/// it again with a savepoint per message, where [`check`] refuses each stale message alone.
pub(super) async fn check_batch(
    tx: &Transaction<'_>,
    fences: impl Iterator<Item = Option<Fence>>,
) -> Result<Option<StoreError>, StoreError> {
    let fences: Vec<Fence> = fences.flatten().collect();
    if fences.is_empty() {
        return Ok(None);
    }
    let mut partitions = fences
        .iter()
        .map(|fence| params(*fence).map(|(partition, _)| partition))
        .collect::<Result<Vec<i32>, StoreError>>()?;
    partitions.sort_unstable();
    partitions.dedup();
    let statement = tx.prepare_cached(CHECK_MANY).await?;
    let rows = tx.query(&statement, &[&partitions]).await?;
    for row in rows {
        let partition: i32 = row.try_get(0)?;
        let latest = u64::try_from(row.try_get::<_, i64>(1)?).unwrap_or(0);
        let stale = fences
            .iter()
            .find(|fence| i32::try_from(fence.partition) == Ok(partition) && fence.token < latest);
        if let Some(fence) = stale {
            return Ok(Some(StoreError::Fenced {
                partition: fence.partition,
                token: fence.token,
                latest,
            }));
        }
    }
    Ok(None)
}

/// Raises the partition's token to `fence.token`, never lowering it, waiting at most `wait`
/// for the commits in flight under the old token (they share-lock the row, see [`check`]).
pub(super) async fn advance(
    client: &mut deadpool_postgres::Client,
    fence: Fence,
    wait: Duration,
) -> Result<(), StoreError> {
    let (partition, token) = params(fence)?;
    let tx = client.transaction().await?;
    // A whole number of milliseconds, at least one (0 would mean "wait for ever").
    let millis = wait.as_millis().clamp(1, i32::MAX as u128);
    tx.batch_execute(&format!("SET LOCAL lock_timeout = {millis}"))
        .await?;
    match tx.execute(ADVANCE, &[&partition, &token]).await {
        Ok(_) => {}
        Err(error) if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
            return Err(StoreError::Other(format!(
                "a commit under an older token of ingest partition {} did not end within {} ms \
                 (its previous owner paused or slow?); its fence stays at the old token",
                fence.partition, millis
            )));
        }
        Err(error) => return Err(error.into()),
    }
    tx.commit().await?;
    Ok(())
}
