//! The stream reader: one consumer of a consumer group, delivering entries to a handler actor.
//!
//! Semantics (DESIGN.md §3):
//! * On every (re)start the reader ensures the group, then re-reads its **own pending entries**
//!   (`0`) before reading new ones (`>`): entries it held when it stopped are delivered first.
//! * Entries are sent to the handler **in stream order**, across batches: a batch's `send`s are
//!   issued, and first polled, in order before the next batch is read. Up to four batches of
//!   new entries are in flight at once (the reader reads and hands over the next while the
//!   handler commits the earlier ones; beyond that it waits for the oldest: backpressure), and
//!   each is settled, oldest first, once all its results are in. One reader thus keeps the
//!   store busy without giving up the stream's order, which two readers in one process would
//!   (see `in_flight`). Claimed, pending and held entries are delivered one batch at a time,
//!   after every batch in flight is settled.
//! * `Ok` → `XACK`. [`DeliveryError::Permanent`] → dead-lettered now, then acknowledged.
//!   [`DeliveryError::Retry`], or no answer from the handler (it is restarting) → left pending;
//!   every `claim_idle / 2` the reader claims entries idle longer than `claim_idle`
//!   (`XAUTOCLAIM`: its own failed entries and those of dead consumers) and delivers them again.
//!   `claim_idle` must therefore exceed the slowest handler, or a slow entry is delivered twice.
//! * [`DeliveryError::Unavailable`] (a dependency such as Postgres is down; the entry is fine)
//!   → the entry stays pending but does not count: the reader stops reading and claiming, and
//!   delivers its held entries again itself, in stream order, with capped exponential back-off,
//!   until the handler answers something else; then it carries on (WARN once when it starts
//!   waiting, INFO once when it resumes). Its own claim would count each attempt (and
//!   dead-letter every message of a long outage), so it does not claim while it waits; and it
//!   resets its held entries' idle time without counting
//!   ([`Bus::keep_pending`](crate::bus::Bus::keep_pending)) so that the group's other readers
//!   do not claim them either.
//! * [`DeliveryError::Deferred`] (the entry waits on an earlier one that failed and will be
//!   delivered again: the same conversation's previous message) → left pending, its delivery
//!   count set back ([`Bus::defer`](crate::bus::Bus::defer)) and its idle time restarted; the
//!   reader goes on with other entries and the claim delivers it again, after the earlier one,
//!   so a failed message's successors never overtake it and never run out of deliveries
//!   waiting for it.
//! * An entry is handed to the handler at most `max_deliveries` times: when that delivery fails
//!   too, or when an entry arrives already delivered more often (its consumer kept crashing on
//!   it), it is dead-lettered with its last known error and acknowledged, so one poison message
//!   never blocks the stream.
//! * Bus failures never stop the actor: the reader logs, backs off (capped exponential with
//!   jitter), and carries on; it recovers by itself when Redis is back (a group lost with
//!   Redis's data is recreated by the bus).
//! * The loop runs as a future of the actor's context: stopping the actor stops the loop; a
//!   restart starts a fresh one. Entries in flight at a stop stay pending and come back first.
//!
//! * Partitions (`INGEST_PARTITIONS`): a reader of a partition reads under its lease
//!   ([`Ownership`]). Each delivery carries the lease's fence, which the commit checks. While
//!   the lease is not surely held the reader stands down: it settles what it handed out
//!   (acknowledging only what was committed), forgets its held entries and reads, claims, holds
//!   and dead-letters nothing; a handler answering [`DeliveryError::Fenced`] marks the lease
//!   lost. Its pending entries are the new owner's to take over.
//!
//! A dead-letter entry's payload is a JSON [`DeadLetter`]. The reader knows nothing about what
//! the payloads mean.
//!
//! Layout: this file holds the actor; `config` what a reader reads and how ([`ReaderConfig`]);
//! `delivery` what it hands its handler and dead-letters ([`Delivery`], [`DeliveryError`],
//! [`DeadLetter`]); `batch` the read-deliver-acknowledge loop; `in_flight` the entries handed
//! out and not yet answered.

mod batch;
mod config;
mod delivery;
mod in_flight;
mod ownership;

use actix::{Actor, AsyncContext, Context, Recipient, SpawnHandle};

pub use config::ReaderConfig;
pub use delivery::{DeadLetter, Delivery, DeliveryError};
pub use ownership::Ownership;

/// The reader's loop without an actor around it, for an owner that starts and stops readers
/// itself (the partition owner): runs until the future is dropped.
pub async fn run(config: ReaderConfig, handler: Recipient<Delivery>) {
    batch::run(config, handler).await;
}

/// The reader actor. Its work is one loop, spawned into its context when it starts.
pub struct StreamReader {
    config: ReaderConfig,
    handler: Recipient<Delivery>,
    running: Option<SpawnHandle>,
}

impl StreamReader {
    /// A reader delivering `config.stream`'s entries to `handler`.
    pub fn new(config: ReaderConfig, handler: Recipient<Delivery>) -> StreamReader {
        StreamReader {
            config,
            handler,
            running: None,
        }
    }
}

impl Actor for StreamReader {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(previous) = self.running.take() {
            ctx.cancel_future(previous);
        }
        tracing::info!(stream = %self.config.stream, consumer = %self.config.consumer, "Stream reader started.");
        let run = batch::run(self.config.clone(), self.handler.clone());
        self.running = Some(ctx.spawn(actix::fut::wrap_future(run)));
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        tracing::info!(stream = %self.config.stream, consumer = %self.config.consumer, "Stream reader stopped.");
    }
}

impl actix::Supervised for StreamReader {
    fn restarting(&mut self, ctx: &mut Self::Context) {
        // `started` runs again and spawns a fresh loop, which begins with the pending entries.
        if let Some(previous) = self.running.take() {
            ctx.cancel_future(previous);
        }
    }
}
