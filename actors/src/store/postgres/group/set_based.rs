//! The set-based mode of the group commit (see the parent module's doc): one inbox insert and
//! one outbox insert for the whole batch, no savepoint.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{Client, Transaction};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use super::job::{Job, Outcome};
use crate::skill::Reply;
use crate::store::postgres::statements::{before_commit, statement_cache};
use crate::store::{Commit, StoreError, Tx};

/// The batch's inbox rows, in key order (two batches holding the same keys lock them in the
/// same order); returns the keys that were new.
pub(crate) const INSERT_INBOX: &str =
    "INSERT INTO inbox (platform, message_id, conversation, person_at) \
     SELECT platform, message_id, conversation, person_at \
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) \
     AS m (platform, message_id, conversation, person_at) \
     ORDER BY platform, message_id \
     ON CONFLICT DO NOTHING \
     RETURNING platform, message_id";

const INBOX_TYPES: [Type; 4] = [
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TIMESTAMPTZ_ARRAY,
];

/// The batch's replies; returns each one's position in the arrays (`n`, from 1) with its id.
/// The ids are drawn in the statement, next to the position, so the pairing does not depend
/// on the order in which `INSERT … RETURNING` hands rows back. `r` is materialized once (it
/// is read twice and calls `nextval`).
pub(crate) const INSERT_OUTBOX: &str = "WITH r AS ( \
       SELECT nextval('outbox_id_seq') AS id, r.* \
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], \
                   $7::bool[], $8::text[]) WITH ORDINALITY \
       AS r (platform, account, recipient, reply_to, body, traceparent, to_group, thread, n) \
     ), inserted AS ( \
       INSERT INTO outbox \
         (id, platform, account, recipient, reply_to, body, traceparent, to_group, thread) \
       SELECT id, platform, account, recipient, reply_to, body, traceparent, to_group, thread \
       FROM r ORDER BY n \
       RETURNING id \
     ) \
     SELECT r.n, r.id FROM r JOIN inserted USING (id) ORDER BY r.n";

const OUTBOX_TYPES: [Type; 8] = [
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::JSONB_ARRAY,
    Type::TEXT_ARRAY,
    Type::BOOL_ARRAY,
    Type::TEXT_ARRAY,
];

type Param<'a> = dyn ToSql + Sync + 'a;

/// Commits `jobs` set-based. `Some` with one outcome per job once the batch committed, or —
/// a batch of one whose message failed — rolled back with that message's error. `None` when a
/// message of several failed: nothing was committed, and the batch is to run again with a
/// savepoint per message. `Err` when the transaction itself failed (`BEGIN`, `COMMIT`, the
/// rollback): every message gets the error.
pub(super) async fn commit(
    client: &mut Client,
    jobs: &[Job],
) -> Result<Option<Vec<Outcome>>, StoreError> {
    let tx = client.transaction().await?;
    let attempt = run(&tx, jobs).await;
    // Effects may prepare statements: with the cache off they are closed before the
    // transaction ends (see `statements`).
    before_commit(&tx);
    match attempt {
        Ok(outcomes) => {
            tx.commit().await?;
            Ok(Some(outcomes))
        }
        Err(error) => {
            tx.rollback().await?;
            if jobs.len() == 1 {
                return Ok(Some(vec![Err(error)]));
            }
            tracing::debug!(
                %error,
                messages = jobs.len(),
                "A message of a group commit failed; the batch runs again with savepoints."
            );
            Ok(None)
        }
    }
}

/// The batch inside its transaction; `Err` as soon as anything fails (the caller rolls back).
async fn run(tx: &Transaction<'_>, jobs: &[Job]) -> Result<Vec<Outcome>, StoreError> {
    // Partitions (`INGEST_PARTITIONS`): a stale owner's message fails the attempt, so a batch
    // of several runs again with savepoints, where it alone is refused (see `fence`).
    let fences = jobs.iter().map(|job| job.inbox.fence);
    // Pipelined with the fence check: sent together, one wait.
    let (limit, fenced) = futures::join!(
        tx.batch_execute(crate::store::postgres::fence::COMMIT_IDLE_LIMIT),
        crate::store::postgres::fence::check_batch(tx, fences)
    );
    limit?;
    if let Some(refused) = fenced? {
        return Err(refused);
    }
    let new = insert_inbox(tx, jobs).await?;

    let applied = apply_effects(tx, jobs, &new).await?;

    let ids = insert_outbox(tx, jobs, &applied).await?;
    let mut ids = ids.into_iter();
    let mut outcomes = Vec::with_capacity(jobs.len());
    for (job, replies) in jobs.iter().zip(applied) {
        let Some(replies) = replies else {
            outcomes.push(Ok(Commit::Duplicate));
            continue;
        };
        let mut envelopes = Vec::with_capacity(replies.len());
        for reply in replies {
            let id = ids.next().ok_or_else(|| miscount("fewer"))?;
            let address = job.target.address(&reply.to);
            envelopes.push(job.target.envelope(id, address, reply.body));
        }
        outcomes.push(Ok(Commit::Done(envelopes)));
    }
    if ids.next().is_some() {
        return Err(miscount("more"));
    }
    Ok(outcomes)
}

/// Applies the new messages' effects; for each job its replies, `None` for a duplicate.
///
/// Effects that can be batched ([`Effect::batch`](crate::skill::Effect::batch)) are applied
/// together with the batch's other effects of their kind, in batch order, when the first of
/// them comes up; the others one by one, in batch order. The batch's messages are of
/// different conversations (a conversation's next message waits for its previous one's
/// commit), so they are concurrent: any order that keeps each kind's own order is one they
/// could have been committed in.
async fn apply_effects(
    tx: &Transaction<'_>,
    jobs: &[Job],
    new: &[bool],
) -> Result<Vec<Option<Vec<Reply>>>, StoreError> {
    let mut applied: Vec<Option<Vec<Reply>>> = jobs.iter().map(|_| None).collect();
    for i in 0..jobs.len() {
        // Applied already: a member of an earlier effect's batch.
        if !new[i] || applied[i].is_some() {
            continue;
        }
        let kind = jobs[i].effect.batch().map(|batched| batched.applier);
        let members: Vec<usize> = match kind {
            Some(applier) => (i..jobs.len())
                .filter(|&j| {
                    new[j]
                        && jobs[j]
                            .effect
                            .batch()
                            .is_some_and(|other| other.applier.kind() == applier.kind())
                })
                .collect(),
            None => vec![i],
        };
        let replies = match kind {
            Some(applier) if members.len() > 1 => {
                let batched: Vec<_> = members
                    .iter()
                    .filter_map(|&j| jobs[j].effect.batch())
                    .collect();
                let effects: Vec<_> = batched.iter().map(|batched| batched.effect).collect();
                crate::skill::apply_batch(applier, &effects, &mut Tx::Pg(tx)).await?
            }
            _ => vec![crate::skill::apply_effect(jobs[i].effect.as_ref(), &mut Tx::Pg(tx)).await?],
        };
        for (&j, replies) in members.iter().zip(replies) {
            applied[j] = Some(replies);
        }
    }
    Ok(applied)
}

/// Inserts the batch's inbox rows; for each job, whether its message is new. A key the batch
/// holds twice is sent once: its later jobs are duplicates of the first (which either commits
/// with the batch or fails it).
async fn insert_inbox(tx: &Transaction<'_>, jobs: &[Job]) -> Result<Vec<bool>, StoreError> {
    let mut first: HashMap<(&str, &str), usize> = HashMap::with_capacity(jobs.len());
    for (i, job) in jobs.iter().enumerate() {
        first.entry(key(job)).or_insert(i);
    }
    let mut unique: Vec<&Job> = first.values().map(|&i| &jobs[i]).collect();
    unique.sort_by_key(|job| key(job));
    let platforms: Vec<&str> = unique
        .iter()
        .map(|job| job.inbox.platform.as_str())
        .collect();
    let message_ids: Vec<&str> = unique
        .iter()
        .map(|job| job.inbox.message_id.as_str())
        .collect();
    let conversations: Vec<&str> = unique.iter().map(|job| job.target.to.as_str()).collect();
    let person_at: Vec<Option<chrono::DateTime<chrono::Utc>>> =
        unique.iter().map(|job| job.inbox.person_at).collect();
    let params: [&Param<'_>; 4] = [&platforms, &message_ids, &conversations, &person_at];
    let rows = query(tx, INSERT_INBOX, &INBOX_TYPES, &params).await?;
    let mut inserted = HashSet::with_capacity(rows.len());
    for row in &rows {
        let platform: String = row.try_get(0)?;
        let message_id: String = row.try_get(1)?;
        inserted.insert((platform, message_id));
    }
    Ok(jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let (platform, message_id) = key(job);
            first.get(&(platform, message_id)) == Some(&i)
                && inserted.contains(&(platform.to_owned(), message_id.to_owned()))
        })
        .collect())
}

/// Inserts every reply of the batch; their ids in order (by message, then by reply).
async fn insert_outbox(
    tx: &Transaction<'_>,
    jobs: &[Job],
    applied: &[Option<Vec<Reply>>],
) -> Result<Vec<i64>, StoreError> {
    let mut platforms = Vec::new();
    let mut accounts = Vec::new();
    let mut recipients = Vec::new();
    let mut reply_tos = Vec::new();
    let mut bodies = Vec::new();
    let mut traceparents = Vec::new();
    let mut to_groups = Vec::new();
    let mut threads = Vec::new();
    for (job, replies) in jobs.iter().zip(applied) {
        let target = &job.target;
        for reply in replies.iter().flatten() {
            let body = serde_json::to_value(&reply.body)
                .map_err(|error| StoreError::Other(format!("cannot serialize a reply: {error}")))?;
            let address = target.address(&reply.to);
            platforms.push(target.platform.as_str());
            accounts.push(target.account.as_str());
            recipients.push(address.to);
            reply_tos.push(address.reply_to);
            bodies.push(body);
            traceparents.push(target.traceparent.as_deref());
            to_groups.push(address.to_group);
            threads.push(address.thread);
        }
    }
    if bodies.is_empty() {
        return Ok(Vec::new());
    }
    let params: [&Param<'_>; 8] = [
        &platforms,
        &accounts,
        &recipients,
        &reply_tos,
        &bodies,
        &traceparents,
        &to_groups,
        &threads,
    ];
    let rows = query(tx, INSERT_OUTBOX, &OUTBOX_TYPES, &params).await?;
    if rows.len() != bodies.len() {
        return Err(miscount(if rows.len() < bodies.len() {
            "fewer"
        } else {
            "more"
        }));
    }
    let mut ids = Vec::with_capacity(rows.len());
    for (expected, row) in (1_i64..).zip(&rows) {
        let n: i64 = row.try_get(0)?;
        if n != expected {
            return Err(StoreError::Other(format!(
                "the outbox insert returned reply {n} where {expected} was expected"
            )));
        }
        ids.push(row.try_get(1)?);
    }
    Ok(ids)
}

/// Runs one of the batch statements: prepared once per connection, or unnamed in one round
/// trip when the statement cache is off (nothing to close before the transaction ends).
async fn query(
    tx: &Transaction<'_>,
    sql: &str,
    types: &[Type],
    params: &[&Param<'_>],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    if statement_cache() {
        let statement = tx.prepare_typed_cached(sql, types).await?;
        tx.query(&statement, params).await
    } else {
        let typed: Vec<(&Param<'_>, Type)> = params
            .iter()
            .zip(types)
            .map(|(param, ty)| (*param, ty.clone()))
            .collect();
        tx.query_typed(sql, &typed).await
    }
}

/// A job's inbox key.
fn key(job: &Job) -> (&'static str, &str) {
    (job.inbox.platform.as_str(), job.inbox.message_id.as_str())
}

fn miscount(which: &str) -> StoreError {
    StoreError::Other(format!(
        "the outbox insert returned {which} ids than the batch has replies"
    ))
}
