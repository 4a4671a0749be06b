//! Group commit of message transactions: the `commit`s of [`PgStore`](super::PgStore) waiting
//! at the same moment run in one Postgres transaction, set-based: one statement inserts all
//! their inbox rows, their effects run, one statement inserts all their outbox rows, one
//! `COMMIT`. When any message fails, the batch runs again with one `SAVEPOINT` per message
//! (docs/adr/2026-12-02-set-based-group-commits.md).
//!
//! Why: Postgres' CPU limits the pipeline on a small box, and a transaction per message costs
//! a `BEGIN`, a `COMMIT` (a WAL flush) and their round trips each. Under load the orchestrator
//! commits hundreds of messages of different conversations concurrently; taking those that are
//! waiting into one transaction shares the commit among them. Under light load a batch holds
//! one message, so latency does not grow. Statements per row and a savepoint per message (two
//! round trips and a subtransaction each) were what was left of a message's cost in the
//! batch; on the happy path they are gone.
//!
//! Two modes, the same semantics for each message (DESIGN.md §3):
//! * **Set-based** (first, optimistic): `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING
//!   RETURNING` tells which messages are new; a key that appears twice in the batch is sent
//!   once, and its later copies are duplicates (the first commits with the batch, or the batch
//!   is run again). The new messages' effects run in batch order (those of a kind that
//!   batches, `Effect::batch`, all together when the first of them comes up); their replies go
//!   in with one `INSERT`, whose ids come back with the reply's position (`WITH ORDINALITY`,
//!   ids drawn in the statement), so each message gets its own envelopes.
//!   If every message applied, the batch commits. If one failed — an effect's error, a panic
//!   (caught by `apply_effect`), a failed statement, a deadlock — the whole transaction rolls
//!   back: nothing of it stays, and a batch of one message reports that message's error.
//! * **With savepoints** (a batch of several where one failed): each message's inbox row,
//!   effect and outbox rows run inside its own savepoint; a duplicate key (`ON CONFLICT DO
//!   NOTHING` inserted nothing), a failed effect or a failed outbox insert rolls back to that
//!   savepoint only, so one message never takes the others down (and a message that failed
//!   leaves nothing behind, as a rollback would). The same key twice: the second finds the
//!   first's row (its own transaction) and is a duplicate, unless the first rolled back to its
//!   savepoint. Effects are applied by reference (`Effect::apply(&self)`), so they can be run a
//!   second time; what they do outside the transaction waits for `Effect::committed`, called
//!   once a message's rows committed.
//!
//! In both modes every caller is answered only after the batch's `COMMIT` returned: `Done` means
//! its rows are durable. When the `BEGIN`, a savepoint command or the `COMMIT` fails, every
//! message of the batch gets the error and nothing of the batch is committed (with the
//! connection lost during `COMMIT` the outcome is unknown, exactly as for a single transaction:
//! a redelivery then finds the inbox row, and the relay publishes the committed replies). A
//! failed `COMMIT` is never retried with savepoints.
//!
//! Round trips of the set-based mode: `BEGIN`, the inbox insert, each effect's own, the outbox
//! insert (none without replies), `COMMIT` — whatever the batch's size. With the statement
//! cache off (a transaction pooler) the two inserts go unnamed, parse-bind-execute in one round
//! trip each (`query_typed`), so nothing is left to close before the transaction ends.
//!
//! Batches are bounded below 64 messages: a transaction with more subtransactions than
//! Postgres caches per backend (64) makes every other session's snapshots slower (this now
//! matters only in the savepoint mode).
//! Two workers run batches at once (each on its own pooled connection): one batch at a time
//! would leave Postgres idle while it waits on Alfred, and a batch waiting on a lock (messages
//! of one household in two batches) does not stall the pipeline. Not more: a worker takes
//! whatever is queued when it is free, so the more workers, the smaller each batch and the
//! more Postgres spends per message on each batch's fixed statements. With batched skill
//! effects (`Effect::batch`) a batch's round trips no longer grow with its size, and two
//! workers did ~1.5× the end-to-end throughput of eight for ~half of Postgres's CPU per
//! message (BENCHMARKS.md, tenth round). Inbox rows are inserted in key order, so two batches
//! never deadlock on them (redeliveries of the same messages).
//! Two batches that lock households in opposite orders deadlock (the shopping list's batches
//! take theirs in sorted order; effects one at a time take theirs in batch order); Postgres
//! aborts one statement after `deadlock_timeout`. In the set-based mode that rolls the
//! victim's whole batch back, which releases its locks and lets the other batch finish; the
//! victim runs again with savepoints, where its messages wait for the locks instead.

mod job;
pub(super) mod set_based;

pub(super) use job::{Job, Outcome};

use std::sync::Arc;

use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

use super::batch::Batcher;
use super::get;
use crate::store::{Commit, StoreError, Tx};

/// Most messages in one transaction (see the module doc for the bound).
const MAX_BATCH: usize = 32;
/// Batches in flight at once (at most half the pool: the other statements need connections
/// too). Measured in BENCHMARKS.md: 8 → 2 gains ~30–75 % end to end on two cores now that the
/// shopping list's effects are batched (with effects one at a time, 4 → 8 had gained ~30 %).
const WORKERS: usize = 2;

const INSERT_INBOX: &str = "INSERT INTO inbox (platform, message_id, conversation, person_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

const INSERT_OUTBOX: &str = "INSERT INTO outbox \
     (platform, account, recipient, reply_to, body, traceparent, to_group, thread) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

const SAVEPOINT: &str = "SAVEPOINT message";
const RELEASE: &str = "RELEASE SAVEPOINT message";
const ROLLBACK_AND_RELEASE: &str = "ROLLBACK TO SAVEPOINT message; RELEASE SAVEPOINT message";

type Param = dyn ToSql + Sync;

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

/// Runs `jobs` in one transaction: set-based, or with a savepoint per message when one of
/// several failed. `Err` fails the whole batch (nothing committed); otherwise one outcome per
/// job, in order, after the `COMMIT`.
async fn commit_batch(pool: &Pool, jobs: Vec<Job>) -> Result<Vec<Outcome>, StoreError> {
    let mut client = get(pool).await?;
    let outcomes = match set_based::commit(&mut client, &jobs).await? {
        Some(outcomes) => outcomes,
        None => commit_with_savepoints(&mut client, &jobs).await?,
    };
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        if let Ok(Commit::Done(_)) = outcome {
            job.effect.committed();
        }
    }
    Ok(outcomes)
}

struct Statements {
    inbox: Statement,
    outbox: Statement,
}

/// The savepoint mode: each message in its own savepoint.
async fn commit_with_savepoints(
    client: &mut deadpool_postgres::Client,
    jobs: &[Job],
) -> Result<Vec<Outcome>, StoreError> {
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

async fn run_batch(tx: &Transaction<'_>, jobs: &[Job]) -> Result<Vec<Outcome>, StoreError> {
    // Pipelined: sent together, one wait.
    let (limit, inbox, outbox) = futures::join!(
        tx.batch_execute(super::fence::COMMIT_IDLE_LIMIT),
        tx.prepare_cached(INSERT_INBOX),
        tx.prepare_cached(INSERT_OUTBOX)
    );
    limit?;
    let statements = Statements {
        inbox: inbox?,
        outbox: outbox?,
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
    job: &Job,
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

    let replies = match crate::skill::apply_effect(effect.as_ref(), &mut Tx::Pg(tx)).await {
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
