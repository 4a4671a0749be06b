//! The batching writer: coalesces concurrent publishes into one `MULTI … EXEC` pipeline.
//!
//! Why: the webhook publishes at tens of thousands of requests per second. One round trip (and
//! one pool checkout, which costs a `PING`) per request would cap throughput at the latency of
//! Redis; instead, a few worker tasks each own a connection and take every job waiting in the
//! queue at once. Under light load a batch is a single job, so latency is one round trip; under
//! heavy load batches grow by themselves while the previous one is in flight.
//!
//! Guarantees: a caller's entries are appended in order, contiguously, in the same transaction;
//! the caller learns its own ids only after `EXEC` returned, i.e. once Redis stored them. A batch
//! is all-or-nothing as far as connection failures go (an interrupted `MULTI` is discarded by
//! Redis); a command error inside the transaction (e.g. `WRONGTYPE`) fails only the job it
//! belongs to.
//!
//! On a Redis Cluster a transaction must stay within one slot, and the streams of one batch may
//! live on different masters: the batch is then written as one transaction per stream, one
//! after another (a job names one stream, so each job still lands in one transaction).

use std::sync::Arc;

use deadpool_redis::redis::{self, Value};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::connection::{RedisConnection, RedisPool};
use super::{from_pool_error, from_redis_error, reply};
use crate::bus::BusError;
use crate::names::PAYLOAD_FIELD;

/// One caller's publish: its entries and where to send their ids.
struct Job {
    stream: String,
    payloads: Vec<String>,
    reply: oneshot::Sender<Result<Vec<String>, BusError>>,
}

/// Handle to the writer's queue; the workers stop when every handle is dropped.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Spawns `workers` worker tasks on the current Tokio runtime.
    pub(super) fn spawn(
        pool: RedisPool,
        workers: usize,
        max_batch_entries: usize,
        queue_capacity: usize,
    ) -> Writer {
        let (queue, receiver) = mpsc::channel(queue_capacity.max(1));
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            tokio::spawn(run(
                receiver.clone(),
                pool.clone(),
                max_batch_entries.max(1),
            ));
        }
        Writer { queue }
    }

    /// Appends `payloads` to `stream`; returns their ids once Redis stored them.
    pub(super) async fn publish(
        &self,
        stream: &str,
        payloads: Vec<String>,
    ) -> Result<Vec<String>, BusError> {
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            stream: stream.to_owned(),
            payloads,
            reply,
        };
        self.queue
            .send(job)
            .await
            .map_err(|_| BusError::Unavailable("the Redis writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| BusError::Unavailable("the Redis writer has stopped".to_owned()))?
    }
}

/// A worker: takes everything queued (up to the batch limit), writes it, answers, repeats.
async fn run(queue: Arc<Mutex<mpsc::Receiver<Job>>>, pool: RedisPool, max_batch_entries: usize) {
    let mut connection: Option<RedisConnection> = None;
    loop {
        let batch = {
            // Only the worker holding the lock collects; the others are writing meanwhile.
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else {
                return;
            };
            let mut entries = first.payloads.len();
            let mut batch = vec![first];
            while entries < max_batch_entries {
                match queue.try_recv() {
                    Ok(job) => {
                        entries += job.payloads.len();
                        batch.push(job);
                    }
                    Err(_) => break,
                }
            }
            batch
        };
        if pool.is_cluster() {
            for batch in per_stream(batch) {
                write(&pool, &mut connection, batch).await;
            }
        } else {
            write(&pool, &mut connection, batch).await;
        }
    }
}

/// The batch split into one batch per stream, streams in order of first appearance and jobs in
/// their order: what a Redis Cluster can take as single-slot transactions.
fn per_stream(batch: Vec<Job>) -> Vec<Vec<Job>> {
    let mut split: Vec<Vec<Job>> = Vec::new();
    for job in batch {
        match split
            .iter_mut()
            .find(|jobs| jobs.first().is_some_and(|first| first.stream == job.stream))
        {
            Some(jobs) => jobs.push(job),
            None => split.push(vec![job]),
        }
    }
    split
}

async fn write(pool: &RedisPool, connection: &mut Option<RedisConnection>, batch: Vec<Job>) {
    let mut pipe = redis::pipe();
    pipe.atomic().ignore_errors();
    for job in &batch {
        for payload in &job.payloads {
            pipe.cmd("XADD")
                .arg(&job.stream)
                .arg("*")
                .arg(PAYLOAD_FIELD)
                .arg(payload);
        }
    }
    // A connection kept from an earlier batch may have died meanwhile (Redis restarted): the
    // first batch after a restart should not fail for that, so it gets one more try on a fresh
    // connection. Only for a dropped connection, not a timeout: then the transaction may have
    // been applied, and a retry would store the entries twice.
    let mut reused = connection.is_some();
    loop {
        let conn = match connection {
            Some(conn) => conn,
            None => match pool.get().await {
                Ok(conn) => connection.insert(conn),
                Err(error) => return fail_all(batch, &from_pool_error(error)),
            },
        };
        let error = match pipe.query_async::<Vec<Value>>(conn).await {
            Ok(results) => return answer(batch, results),
            Err(error) => error,
        };
        let retry = reused && (error.is_connection_dropped() || error.is_connection_refusal());
        let error = from_redis_error(error);
        if matches!(error, BusError::Unavailable(_)) {
            // Take the broken connection out of the pool for good; the next checkout creates
            // a healthy one, which is how a Redis restart heals.
            if let Some(conn) = connection.take() {
                conn.discard();
            }
        }
        if !retry {
            return fail_all(batch, &error);
        }
        reused = false;
    }
}

/// Hands each job its own slice of the transaction's results.
fn answer(batch: Vec<Job>, results: Vec<Value>) {
    let expected: usize = batch.iter().map(|job| job.payloads.len()).sum();
    if results.len() != expected {
        let error = BusError::Other(format!(
            "EXEC returned {} results for {expected} XADDs",
            results.len()
        ));
        return fail_all(batch, &error);
    }
    let mut results = results.into_iter();
    for job in batch {
        // Take this job's slice first: collecting into a `Result` stops at the first error,
        // which must not shift the slices of the jobs after it.
        let own: Vec<Value> = results.by_ref().take(job.payloads.len()).collect();
        let outcome: Result<Vec<String>, BusError> = own
            .into_iter()
            .map(|value| match value {
                Value::ServerError(error) => Err(BusError::Other(format!("XADD failed: {error}"))),
                value => reply::string(&value)
                    .ok_or_else(|| BusError::Other("XADD returned no id".to_owned())),
            })
            .collect();
        // The caller may have gone away (request cancelled); its entries are stored regardless.
        let _ = job.reply.send(outcome);
    }
}

fn fail_all(batch: Vec<Job>, error: &BusError) {
    for job in batch {
        let copy = match error {
            BusError::Unavailable(message) => BusError::Unavailable(message.clone()),
            BusError::Other(message) => BusError::Other(message.clone()),
        };
        let _ = job.reply.send(Err(copy));
    }
}
