//! Coalescing of the store's single-statement writes.
//!
//! Why: at thousands of messages a second, `mark_published`, `claim_outbox` and
//! `record_send(Sent)` each cost Postgres one statement and one commit (a WAL flush) per
//! message, and Postgres' CPU is what limits the pipeline on a small box. Each of them is one
//! autocommit statement whose conditions apply row by row, so running the requests that are
//! waiting at the same moment as one statement over all their ids is equivalent: every row is
//! updated under exactly the condition it would have been alone, and every caller learns its
//! own row's outcome only after the statement committed. Under light load a batch holds one
//! request, so latency does not grow.
//!
//! A [`Batcher`] owns a queue and one or more worker tasks; a worker takes everything queued
//! (up to a limit), runs it, and answers each caller. Workers take turns collecting, so with
//! several of them one batch runs while the next one forms. They are spawned on first use on
//! the caller's Tokio runtime, and again if that runtime went away.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, Mutex as AsyncMutex};

use crate::store::StoreError;

/// Runs one batch: the requests in, one result per request out, in the same order.
pub(super) type RunBatch<T, R> = Arc<
    dyn Fn(Vec<T>) -> Pin<Box<dyn Future<Output = Result<Vec<R>, StoreError>> + Send>>
        + Send
        + Sync,
>;

type Job<T, R> = (T, oneshot::Sender<Result<R, StoreError>>);

/// A queue of requests answered in batches.
pub(super) struct Batcher<T, R> {
    run: RunBatch<T, R>,
    max_batch: usize,
    workers: usize,
    queue: Mutex<Option<mpsc::UnboundedSender<Job<T, R>>>>,
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    pub(super) fn new(max_batch: usize, run: RunBatch<T, R>) -> Self {
        Batcher::with_workers(max_batch, 1, run)
    }

    /// A batcher whose `workers` run batches concurrently (each on its own connection).
    pub(super) fn with_workers(max_batch: usize, workers: usize, run: RunBatch<T, R>) -> Self {
        Batcher {
            run,
            max_batch: max_batch.max(1),
            workers: workers.max(1),
            queue: Mutex::new(None),
        }
    }

    /// Queues `request` and waits for its result.
    pub(super) async fn call(&self, request: T) -> Result<R, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender()
            .send((request, reply))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// The queue, with a live worker behind it. The queue is unbounded, but never holds more
    /// requests than there are callers waiting: each caller awaits its answer, and callers are
    /// bounded by the readers' batch sizes.
    fn sender(&self) -> mpsc::UnboundedSender<Job<T, R>> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = queue.as_ref().filter(|sender| !sender.is_closed()) {
            return sender.clone();
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(AsyncMutex::new(receiver));
        for _ in 0..self.workers {
            tokio::spawn(work(receiver.clone(), self.run.clone(), self.max_batch));
        }
        *queue = Some(sender.clone());
        sender
    }
}

async fn work<T, R>(
    receiver: Arc<AsyncMutex<mpsc::UnboundedReceiver<Job<T, R>>>>,
    run: RunBatch<T, R>,
    max_batch: usize,
) {
    loop {
        let jobs = {
            // Only the worker holding the lock collects; the others are running meanwhile.
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut jobs = vec![first];
            while jobs.len() < max_batch {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            jobs
        };
        let (requests, replies): (Vec<T>, Vec<_>) = jobs.into_iter().unzip();
        match run(requests).await {
            Ok(results) if results.len() == replies.len() => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Ok(results) => {
                let message = format!(
                    "a batched statement returned {} results for {} requests",
                    results.len(),
                    replies.len()
                );
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Other(message.clone())));
                }
            }
            Err(error) => {
                // Every caller gets the error; whether the store was unreachable survives, since
                // callers treat that differently from a failed statement.
                let unavailable = error.is_unavailable();
                let message = error.to_string();
                for reply in replies {
                    let copy = if unavailable {
                        StoreError::Pool(message.clone())
                    } else {
                        StoreError::Other(message.clone())
                    };
                    let _ = reply.send(Err(copy));
                }
            }
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Other("the store's batch worker stopped".to_owned())
}
