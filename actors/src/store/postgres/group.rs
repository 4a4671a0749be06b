//! Group commit of message transactions: the `commit`s of [`PgStore`](super::PgStore) waiting
//! at the same moment run in one Postgres transaction, one `SAVEPOINT` per message.
//!
//! Why: Postgres' CPU limits the pipeline on a small box, and a transaction per message costs
//! a `BEGIN`, a `COMMIT` (a WAL flush) and their round trips each. Under load the orchestrator
//! commits hundreds of messages of different conversations concurrently; taking those that are
//! waiting into one transaction shares the commit among them. Under light load a batch holds
//! one message, so latency does not grow.
//!
//! Each message keeps the semantics it had alone (DESIGN.md §3):
//! * its inbox row, its effect and its outbox rows are applied inside its own savepoint; a
//!   duplicate key (`ON CONFLICT DO NOTHING` inserted nothing), a failed effect or a failed
//!   outbox insert rolls back to that savepoint only, so one message never takes the others
//!   down (and a message that failed leaves nothing behind, as a rollback would);
//! * every caller is answered only after the batch's `COMMIT` returned: `Done` means its rows
//!   are durable. When the `BEGIN`, a savepoint command or the `COMMIT` fails, every message of
//!   the batch gets the error and nothing of the batch is committed (with the connection lost
//!   during `COMMIT` the outcome is unknown, exactly as for a single transaction: a redelivery
//!   then finds the inbox row, and the relay publishes the committed replies).
//! * The same key twice in one batch: the second finds the first's row (its own transaction)
//!   and is a duplicate, unless the first rolled back to its savepoint.
//!
//! Round trips: the savepoint travels with the inbox insert and its release with the outbox
//! inserts (tokio-postgres pipelines requests issued together), so a message costs two round
//! trips plus its effect's, and the batch one `BEGIN` and one `COMMIT`.
//!
//! Batches are bounded below 64 messages: a transaction with more subtransactions than
//! Postgres caches per backend (64) makes every other session's snapshots slower.
//! Several workers run batches at once (each on its own pooled connection): a message's
//! effect costs several round trips, so one batch at a time would leave Postgres idle while
//! it waits on Alfred, and a batch waiting on a lock (messages of one household in two
//! batches) does not stall the pipeline.
//! Two batches that lock two households in opposite orders deadlock; Postgres aborts one
//! statement after `deadlock_timeout`, which rolls back that one message's savepoint (the
//! message is retried) and lets both batches finish.

use std::sync::Arc;

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

use super::batch::Batcher;
use super::get;
use crate::skill::Effect;
use crate::store::{Commit, InboxKey, ReplyTarget};
use crate::store::{StoreError, Tx};

/// Most messages in one transaction (see the module doc for the bound).
const MAX_BATCH: usize = 32;
/// Batches in flight at once (at most half the pool: the other statements need connections
/// too). Measured in BENCHMARKS.md: 4 → 8 gains ~30 % end to end on two cores.
const WORKERS: usize = 8;

const INSERT_INBOX: &str = "INSERT INTO inbox (platform, message_id, conversation, person_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

const INSERT_OUTBOX: &str = "INSERT INTO outbox \
     (platform, account, recipient, reply_to, body, traceparent, to_group, thread) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

const SAVEPOINT: &str = "SAVEPOINT message";
const RELEASE: &str = "RELEASE SAVEPOINT message";
const ROLLBACK_AND_RELEASE: &str = "ROLLBACK TO SAVEPOINT message; RELEASE SAVEPOINT message";

type Param = dyn ToSql + Sync;

/// One message's commit, as `Store::commit` received it.
pub(super) struct Job {
    pub(super) inbox: InboxKey,
    pub(super) effect: Box<dyn Effect>,
    pub(super) target: ReplyTarget,
}

/// What one message's caller learns.
pub(super) type Outcome = Result<Commit, StoreError>;

/// The group-commit queue of a store on `pool`.
pub(super) fn commits(pool: Pool) -> Batcher<Job, Outcome> {
    let workers = WORKERS.min(pool.status().max_size / 2).max(1);
    Batcher::with_workers(
        MAX_BATCH,
        workers,
        Arc::new(move |jobs: Vec<Job>| {
            let pool = pool.clone();
            Box::pin(async move { commit_batch(&pool, jobs).await })
        }),
    )
}

struct Statements {
    inbox: Statement,
    outbox: Statement,
}

/// Runs `jobs` in one transaction. `Err` fails the whole batch (nothing committed); otherwise
/// one outcome per job, in order, after the `COMMIT`.
async fn commit_batch(pool: &Pool, jobs: Vec<Job>) -> Result<Vec<Outcome>, StoreError> {
    let mut client = get(pool).await?;
    let tx = client.transaction().await?;
    let outcomes = run_batch(&tx, jobs).await;
    // With the statement cache off, every statement of the transaction is closed before its
    // end (COMMIT, or the ROLLBACK sent when `tx` drops) hands the server connection back to a
    // transaction pooler; prepared statements outlive a rollback.
    super::statements::before_commit(&tx);
    let outcomes = outcomes?;
    tx.commit().await?;
    Ok(outcomes)
}

async fn run_batch(tx: &Transaction<'_>, jobs: Vec<Job>) -> Result<Vec<Outcome>, StoreError> {
    let statements = Statements {
        inbox: tx.prepare_cached(INSERT_INBOX).await?,
        outbox: tx.prepare_cached(INSERT_OUTBOX).await?,
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(commit_one(tx, &statements, job).await?);
    }
    Ok(outcomes)
}

/// One message inside its savepoint. `Err` only when the transaction itself is lost.
async fn commit_one(
    tx: &Transaction<'_>,
    statements: &Statements,
    job: Job,
) -> Result<Outcome, StoreError> {
    if let Some(refused) = super::fence::check(tx, job.inbox.fence).await? {
        return Ok(Err(refused));
    }
    let Job {
        inbox,
        effect,
        target,
    } = job;
    let platform = inbox.platform.as_str();
    let params: [&Param; 4] = [&platform, &inbox.message_id, &target.to, &inbox.person_at];
    let (savepoint, inserted) = futures::join!(
        tx.batch_execute(SAVEPOINT),
        tx.execute(&statements.inbox, &params)
    );
    savepoint?;
    let inserted = match inserted {
        Ok(inserted) => inserted,
        Err(error) => return undo(tx, error.into()).await,
    };
    if inserted == 0 {
        tx.batch_execute(RELEASE).await?;
        return Ok(Ok(Commit::Duplicate));
    }

    let replies = match crate::skill::apply_effect(effect, &mut Tx::Pg(tx)).await {
        Ok(replies) => replies,
        Err(error) => return undo(tx, error).await,
    };
    let replies = match replies
        .into_iter()
        .map(|reply| {
            let json = serde_json::to_value(&reply.body)
                .map_err(|error| StoreError::Other(format!("cannot serialize a reply: {error}")))?;
            Ok((reply.body, json, target.address(&reply.to)))
        })
        .collect::<Result<Vec<_>, StoreError>>()
    {
        Ok(replies) => replies,
        Err(error) => return undo(tx, error).await,
    };
    let target_platform = target.platform.as_str();
    let params: Vec<[&Param; 8]> = replies
        .iter()
        .map(|(_, json, address)| -> [&Param; 8] {
            [
                &target_platform,
                &target.account,
                &address.to,
                &address.reply_to,
                json,
                &target.traceparent,
                &address.to_group,
                &address.thread,
            ]
        })
        .collect();
    let inserts = params
        .iter()
        .map(|params| tx.query_one(&statements.outbox, params));
    let (rows, released) = futures::join!(
        futures::future::join_all(inserts),
        tx.batch_execute(RELEASE)
    );
    let mut envelopes = Vec::with_capacity(replies.len());
    for (row, (body, _, address)) in rows.into_iter().zip(replies) {
        let outbox_id = match row.and_then(|row| row.try_get(0)) {
            Ok(id) => id,
            Err(error) => return undo(tx, error.into()).await,
        };
        envelopes.push(target.envelope(outbox_id, address, body));
    }
    if let Err(error) = released {
        return undo(tx, error.into()).await;
    }
    Ok(Ok(Commit::Done(envelopes)))
}

/// Rolls the message back to its savepoint and reports `error` as its outcome; when even that
/// fails, the transaction is lost and the whole batch fails.
async fn undo(tx: &Transaction<'_>, error: StoreError) -> Result<Outcome, StoreError> {
    tx.batch_execute(ROLLBACK_AND_RELEASE).await?;
    Ok(Err(error))
}
