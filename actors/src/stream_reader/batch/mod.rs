//! The reader's loop: read (pending first, then new), claim idle entries, deliver batches in
//! order (several in flight, see `in_flight`), acknowledge, dead-letter. See the parent module
//! for the semantics.

use std::collections::HashMap;
use std::time::Duration;

use actix::{MailboxError, Recipient};
use tokio::time::Instant;
use tracing::Instrument;

use super::in_flight::{Answered, Dispatched, InFlight, Request};
use super::ownership::Ownership;
use super::{Delivery, DeliveryError, ReaderConfig};
use crate::bus::{BusError, ReadFrom, StreamEntry};
use crate::streams::PAUSE_CHECK;

mod finish;

/// Batches of new entries a reader keeps in flight: it reads and hands over the next while the
/// handler works on the earlier ones (bounding the entries in flight at this many batches).
/// Four matched four readers' throughput in BENCHMARKS.md, with the stream's order kept.
const IN_FLIGHT_BATCHES: usize = 4;

/// Last errors kept for entries left pending; beyond this many the memory is cleared (the
/// dead letter then says how often the entry was delivered instead of its last error).
const MAX_REMEMBERED_ERRORS: usize = 10_000;

/// How often a reader without its partition's lease looks again (the owner stops it soon).
const LEASE_CHECK: Duration = Duration::from_millis(50);

/// Runs until the future is dropped (the actor stops).
pub(super) async fn run(config: ReaderConfig, handler: Recipient<Delivery>) {
    let claim_every = (config.claim_idle / 2).max(Duration::from_millis(10));
    let mut reader = Reader {
        next_claim: Instant::now() + claim_every,
        next_health: Instant::now(),
        claim_every,
        config,
        handler,
        last_errors: HashMap::new(),
        group_ready: false,
        pending_first: true,
        held: Vec::new(),
        in_flight: InFlight::default(),
        held_attempts: 0,
        waiting_since: None,
        paused: false,
        next_pause_check: Instant::now(),
    };
    if reader.config.pause_key.is_some() {
        // The series exists (at 0) from the start, so dashboards and alerts see it.
        reader.paused_gauge().set(0);
    }
    let mut failures: u32 = 0;
    loop {
        match reader.step().await {
            Ok(()) => failures = 0,
            Err(error) => {
                let delay = backoff(failures);
                failures = failures.saturating_add(1);
                tracing::warn!(
                    %error,
                    stream = %reader.config.stream,
                    consumer = %reader.config.consumer,
                    retry_in_ms = delay.as_millis() as u64,
                    "The stream reader could not make progress; retrying after a back-off."
                );
                reader.group_ready = false;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// `min(10 s, 100 ms · 2^n) · (1 + jitter)`, jitter up to 20 %.
fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(100).saturating_mul(1u32 << failures.min(10));
    base.min(Duration::from_secs(10))
        .mul_f64(1.0 + rand::random::<f64>() * 0.2)
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("the handler did not answer any delivery of the batch: {0}")]
    HandlerDown(MailboxError),
}

struct Reader {
    config: ReaderConfig,
    handler: Recipient<Delivery>,
    /// The last error of each entry left pending, for its dead letter.
    last_errors: HashMap<String, String>,
    group_ready: bool,
    /// Still draining this consumer's own pending entries (after a (re)start).
    pending_first: bool,
    next_claim: Instant,
    /// When to sample the group's health into the `alfred_stream_*` gauges next.
    next_health: Instant,
    claim_every: Duration,
    /// Entries whose handler answered [`DeliveryError::Unavailable`], in stream order. The
    /// reader delivers them again itself, with back-off, until the handler answers something
    /// else; a claim would count each attempt and dead-letter them during a long outage. While
    /// any are held it reads nothing new and claims nothing — not even its own held entries,
    /// which sit idle in its pending list for as long as the outage lasts.
    held: Vec<StreamEntry>,
    /// Batches of new entries handed over whose results are not all in yet.
    in_flight: InFlight,
    /// Redeliveries of the held entries so far in this outage (for the back-off).
    held_attempts: u32,
    /// When the reader started holding entries (for the recovery log line).
    waiting_since: Option<Instant>,
    /// Whether the stream was paused at the last look at its flag.
    paused: bool,
    /// When to look at the pause flag next.
    next_pause_check: Instant,
}

impl Drop for Reader {
    /// A reader stopped while paused no longer holds off: `alfred_stream_paused` counts
    /// readers, and a restarted one counts itself again once it sees the flag.
    fn drop(&mut self) {
        if self.paused {
            self.paused_gauge().dec();
        }
    }
}

/// How a batch ended.
struct Outcome {
    /// Entries left pending (to be retried after the claim-idle time).
    left_pending: usize,
}

impl Reader {
    /// Samples how far the group is behind into the `alfred_stream_*` gauges, at start and then
    /// every half claim-idle time. A failed sample is not the step's failure: the gauges keep their last
    /// values and the next tick tries again.
    async fn sample_health(&self) {
        let config = &self.config;
        let stream = config.stream.as_str();
        match config.bus.group_health(stream, &config.group).await {
            Ok(Some(health)) => {
                let metrics = &config.metrics;
                metrics
                    .stream_pending
                    .with_label_values(&[stream])
                    .set(i64::try_from(health.pending).unwrap_or(i64::MAX));
                match health.lag {
                    Some(lag) => metrics
                        .stream_lag
                        .with_label_values(&[stream])
                        .set(i64::try_from(lag).unwrap_or(i64::MAX)),
                    None => {
                        let _ = metrics.stream_lag.remove_label_values(&[stream]);
                    }
                }
                metrics
                    .stream_oldest_pending_age
                    .with_label_values(&[stream])
                    .set(
                        health
                            .oldest_pending_age
                            .map_or(0.0, |age| age.as_secs_f64()),
                    );
            }
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(%error, stream, "Could not sample the consumer group's health.");
            }
        }
        let metrics = &config.metrics;
        let consumers = config.bus.consumers(stream, &config.group).await;
        let dead_letters = config.bus.len(&config.dead_stream).await;
        match (consumers, dead_letters) {
            (Ok(consumers), Ok(dead_letters)) => {
                let count = i64::try_from(consumers.len()).unwrap_or(i64::MAX);
                metrics
                    .stream_consumers
                    .with_label_values(&[stream])
                    .set(count);
                metrics
                    .stream_dead_letters
                    .with_label_values(&[stream])
                    .set(i64::try_from(dead_letters).unwrap_or(i64::MAX));
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::debug!(%error, stream, "Could not sample the stream's consumers and dead letters.");
            }
        }
    }

    async fn step(&mut self) -> Result<(), StepError> {
        // First, whatever path this step takes (an outage holds entries, when lag matters most),
        // once the group exists.
        if self.group_ready && Instant::now() >= self.next_health {
            self.sample_health().await;
            self.next_health = Instant::now() + self.claim_every;
        }
        // Settle what is answered already, oldest first, without waiting.
        while let Some(batch) = self.in_flight.try_next_answered() {
            self.settle(batch).await?;
        }
        if !self.holds_lease() {
            return self.stand_down().await;
        }
        if self.check_pause().await? {
            return self.hold_off().await;
        }
        if !self.held.is_empty() {
            // The later batches' entries answered `Unavailable` join the held ones, in order.
            self.drain().await?;
            return self.redeliver_held().await;
        }
        if self.in_flight.entries() >= self.config.batch.max(1) * IN_FLIGHT_BATCHES {
            // Backpressure: the handler is behind; wait for the oldest batch.
            if let Some(batch) = self.in_flight.next_answered().await {
                self.settle(batch).await?;
            }
            return Ok(());
        }
        let config = &self.config;
        if !self.group_ready {
            config
                .bus
                .ensure_group(&config.stream, &config.group)
                .await?;
            self.group_ready = true;
        }
        if Instant::now() >= self.next_claim {
            // Claimed and pending entries are delivered one batch at a time, after those in
            // flight, as before: they are rare, and ordered after everything handed over.
            if !self.in_flight.is_empty() {
                return self.drain().await;
            }
            let claimed = config
                .bus
                .claim_idle(
                    &config.stream,
                    &config.group,
                    &config.consumer,
                    config.claim_idle,
                    config.batch,
                )
                .await?;
            // A full batch may mean more are waiting: claim again right away.
            let full = claimed.len() >= config.batch.max(1);
            self.next_claim = if full {
                Instant::now()
            } else {
                Instant::now() + self.claim_every
            };
            if !claimed.is_empty() {
                self.deliver(claimed, "claimed").await?;
            }
            return Ok(());
        }
        if self.pending_first {
            if !self.in_flight.is_empty() {
                return self.drain().await;
            }
            let pending = config
                .bus
                .read(
                    &config.stream,
                    &config.group,
                    &config.consumer,
                    ReadFrom::Pending,
                    config.batch,
                    Duration::ZERO,
                )
                .await?;
            if pending.is_empty() {
                self.pending_first = false;
                return Ok(());
            }
            // Entries that failed again stay pending; re-reading them now would spin, so go on
            // to new entries and leave them to the claim.
            let outcome = self.deliver(pending, "pending").await?;
            if outcome.left_pending > 0 {
                self.pending_first = false;
            }
            return Ok(());
        }
        // Never block past the next claim, nor while results are due: with batches in flight
        // only take what is there already, else wait for the oldest batch below.
        // Nor past the next look at the pause flag, so a pause is honoured within
        // `PAUSE_CHECK` and no entry stored after it is read.
        let now = Instant::now();
        let mut until_next = self.next_claim.saturating_duration_since(now);
        if config.pause_key.is_some() {
            until_next = until_next.min(self.next_pause_check.saturating_duration_since(now));
        }
        let block = if self.in_flight.is_empty() {
            config.block.min(until_next).max(Duration::from_millis(1))
        } else {
            Duration::ZERO
        };
        let entries = config
            .bus
            .read(
                &config.stream,
                &config.group,
                &config.consumer,
                ReadFrom::New,
                config.batch,
                block,
            )
            .await?;
        if !entries.is_empty() {
            let batch = self.dispatch(entries, "new");
            self.in_flight.push(batch);
        } else if let Some(batch) = self.in_flight.next_answered().await {
            self.settle(batch).await?;
        }
        Ok(())
    }

    /// Whether the reader may read: no lease (a stream without partitions), or its lease is
    /// surely held.
    fn holds_lease(&self) -> bool {
        self.config.lease.as_ref().is_none_or(Ownership::is_held)
    }

    /// One round without the lease: settles what is in flight (acknowledging only what was
    /// committed), forgets held entries, and starts again from its own pending entries should
    /// the lease come back (a late renewal). Reads and claims nothing.
    async fn stand_down(&mut self) -> Result<(), StepError> {
        self.drain().await?;
        if !self.held.is_empty() || self.waiting_since.is_some() {
            tracing::info!(stream = %self.config.stream, consumer = %self.config.consumer, held = self.held.len(), "The partition's lease is not held; the reader leaves its entries to the partition's owner.");
        }
        self.held.clear();
        self.waiting_since = None;
        self.held_attempts = 0;
        self.pending_first = true;
        tokio::time::sleep(LEASE_CHECK).await;
        Ok(())
    }

    /// `alfred_stream_paused{stream}` of this reader's stream.
    fn paused_gauge(&self) -> prometheus::IntGauge {
        self.config
            .metrics
            .stream_paused
            .with_label_values(&[self.config.stream.as_str()])
    }

    /// Whether the stream is paused, looking at its flag at most every `PAUSE_CHECK`; logs
    /// and counts the reader in `alfred_stream_paused` when that changes.
    async fn check_pause(&mut self) -> Result<bool, StepError> {
        let Some(key) = &self.config.pause_key else {
            return Ok(false);
        };
        if Instant::now() < self.next_pause_check {
            return Ok(self.paused);
        }
        let paused = self.config.bus.get_value(key).await?.is_some();
        self.next_pause_check = Instant::now() + PAUSE_CHECK;
        if paused != self.paused {
            self.paused = paused;
            let (stream, consumer) = (&self.config.stream, &self.config.consumer);
            if paused {
                self.paused_gauge().inc();
                tracing::info!(%stream, %consumer, in_flight = self.in_flight.entries(), "The stream is paused: the reader finishes the entries it handed out, then reads and claims nothing until it is resumed.");
            } else {
                self.paused_gauge().dec();
                tracing::info!(%stream, %consumer, "The stream is resumed: the reader works the backlog off in order.");
            }
        }
        Ok(paused)
    }

    /// One round of a pause: lets every batch in flight finish, keeps entries held for an
    /// unavailable dependency pending (so no other reader claims them), and waits for the
    /// next look at the flag.
    async fn hold_off(&mut self) -> Result<(), StepError> {
        self.drain().await?;
        let config = &self.config;
        if !self.group_ready {
            // So that the health sample (lag growing while paused) works from the start.
            config
                .bus
                .ensure_group(&config.stream, &config.group)
                .await?;
            self.group_ready = true;
        }
        if !self.held.is_empty() {
            let ids: Vec<String> = self.held.iter().map(|entry| entry.id.clone()).collect();
            self.keep_held(&ids).await?;
        }
        tokio::time::sleep_until(self.next_pause_check).await;
        Ok(())
    }

    /// Keeps the held entries `ids` pending for this reader without counting a delivery
    /// ([`Bus::keep_pending`](crate::bus::Bus::keep_pending)). A partition reader does so only
    /// while its lease in Redis still holds its token, checked in the same step: paused past
    /// its lease (between its own check and this call), it would otherwise take back entries
    /// the new owner had taken over, which that owner would claim again only after the
    /// claim-idle time, behind later entries. A lease found gone is lost for good.
    async fn keep_held(&self, ids: &[String]) -> Result<(), StepError> {
        let config = &self.config;
        let lease = config
            .lease
            .as_ref()
            .and_then(|hold| hold.lease().map(|lease| (hold, lease)));
        match lease {
            None => {
                config
                    .bus
                    .keep_pending(&config.stream, &config.group, &config.consumer, ids)
                    .await?;
            }
            Some((hold, (key, holder))) => {
                let kept = config
                    .bus
                    .keep_pending_while_held(
                        &config.stream,
                        &config.group,
                        &config.consumer,
                        ids,
                        key,
                        holder,
                    )
                    .await?;
                if !kept {
                    tracing::warn!(stream = %config.stream, consumer = %config.consumer, "The partition's lease moved; its held entries are left to the new owner.");
                    hold.lose();
                }
            }
        }
        Ok(())
    }

    /// Settles every batch in flight, oldest first.
    async fn drain(&mut self) -> Result<(), StepError> {
        while let Some(batch) = self.in_flight.next_answered().await {
            self.settle(batch).await?;
        }
        Ok(())
    }

    /// Waits a back-off, then delivers the held entries again, in stream order. Those still
    /// answered `Unavailable` stay held; the rest are settled as in any batch.
    ///
    /// Every round first resets the held entries' idle time without counting a delivery
    /// ([`Bus::keep_pending`](crate::bus::Bus::keep_pending)), and the back-off is capped at
    /// half the claim-idle time, so the other readers of the group never find them idle long
    /// enough to claim them (and count a delivery) while this one waits.
    async fn redeliver_held(&mut self) -> Result<(), StepError> {
        let ids: Vec<String> = self.held.iter().map(|entry| entry.id.clone()).collect();
        self.keep_held(&ids).await?;
        let delay = backoff(self.held_attempts).min(self.claim_every);
        tokio::time::sleep(delay).await;
        self.held_attempts = self.held_attempts.saturating_add(1);
        let held = std::mem::take(&mut self.held);
        let result = self.deliver(held, "held").await;
        if self.held.is_empty() {
            if let Some(since) = self.waiting_since.take() {
                tracing::info!(
                    stream = %self.config.stream,
                    consumer = %self.config.consumer,
                    waited_ms = since.elapsed().as_millis() as u64,
                    "The handler's dependency is available again; the stream reader resumes."
                );
            }
            self.held_attempts = 0;
        }
        result.map(|_| ())
    }

    /// Delivers a batch in order and waits for its results (nothing else may be in flight),
    /// then acknowledges and dead-letters what is done with.
    async fn deliver(
        &mut self,
        entries: Vec<StreamEntry>,
        source: &'static str,
    ) -> Result<Outcome, StepError> {
        let batch = self.dispatch(entries, source).wait().await;
        self.settle(batch).await
    }

    /// Hands a batch's due entries to the handler, in stream order; their results come later.
    fn dispatch(&self, entries: Vec<StreamEntry>, source: &'static str) -> Dispatched {
        let span = tracing::info_span!(
            "stream_batch",
            stream = %self.config.stream,
            consumer = %self.config.consumer,
            source,
            entries = entries.len(),
        );
        let max = u64::from(self.config.max_deliveries.max(1));
        let (overdue, due): (Vec<StreamEntry>, Vec<StreamEntry>) = entries
            .into_iter()
            .partition(|entry| entry.deliveries > max);
        // Every send in stream order (actix enqueues at `send`, or at the first poll when the
        // mailbox is full, which `InFlight::push` and `Dispatched::wait` also do in order).
        let requests: Vec<Request> = due
            .iter()
            .map(|entry| {
                let span = tracing::debug_span!(parent: &span, "stream_delivery", entry_id = %entry.id, deliveries = entry.deliveries);
                let delivery = Delivery {
                    stream: self.config.stream.clone(),
                    entry: entry.clone(),
                    last: entry.deliveries >= max,
                    fence: self.config.lease.as_ref().map(Ownership::fence),
                };
                Box::pin(self.handler.send(delivery).instrument(span)) as Request
            })
            .collect();
        Dispatched::new(span, overdue, due, requests)
    }

    /// Acknowledges, dead-letters, holds or leaves pending each entry of an answered batch.
    async fn settle(&mut self, batch: Answered) -> Result<Outcome, StepError> {
        let span = batch.span.clone();
        self.settle_batch(batch).instrument(span).await
    }

    async fn settle_batch(&mut self, batch: Answered) -> Result<Outcome, StepError> {
        let Answered {
            overdue,
            due,
            results,
            ..
        } = batch;
        let max = u64::from(self.config.max_deliveries.max(1));
        let delivered = due.len();

        let mut acks = Vec::with_capacity(due.len());
        let mut dead: Vec<(StreamEntry, String, &'static str)> = Vec::new();
        let mut left_pending = 0;
        let mut mailbox_failures = 0;
        let mut last_mailbox_error = None;
        let mut held = Vec::new();
        let mut last_unavailable = None;
        let mut deferred = Vec::new();
        for entry in overdue {
            let error = self
                .last_errors
                .remove(&entry.id)
                .unwrap_or_else(|| format!("delivered {} times without success", entry.deliveries));
            dead.push((entry, error, "max_deliveries"));
        }
        for (entry, result) in due.into_iter().zip(results) {
            let error = match result {
                Ok(Ok(())) => {
                    self.last_errors.remove(&entry.id);
                    acks.push(entry.id);
                    continue;
                }
                Ok(Err(DeliveryError::Permanent(error))) => {
                    self.last_errors.remove(&entry.id);
                    dead.push((entry, error, "permanent"));
                    continue;
                }
                Ok(Err(DeliveryError::Unavailable(error))) => {
                    // Not counted and not remembered as the entry's error: the entry is fine.
                    last_unavailable = Some(error);
                    held.push(entry);
                    continue;
                }
                Ok(Err(DeliveryError::Deferred(_))) => {
                    // Not counted either: it waits on an earlier entry, which is at fault.
                    deferred.push((entry.id, entry.deliveries));
                    left_pending += 1;
                    continue;
                }
                Ok(Err(DeliveryError::Fenced(error))) => {
                    // The partition moved on: leave the entry exactly as it is, for its owner.
                    if let Some(lease) = &self.config.lease {
                        lease.lose();
                    }
                    tracing::debug!(entry_id = %entry.id, %error, "Delivery fenced; the entry is left to the partition's owner.");
                    left_pending += 1;
                    continue;
                }
                Ok(Err(DeliveryError::Retry(error))) => error,
                Err(mailbox) => {
                    mailbox_failures += 1;
                    let error = format!("the handler did not answer: {mailbox}");
                    last_mailbox_error = Some(mailbox);
                    error
                }
            };
            if entry.deliveries >= max {
                self.last_errors.remove(&entry.id);
                dead.push((entry, error, "max_deliveries"));
            } else {
                tracing::debug!(entry_id = %entry.id, deliveries = entry.deliveries, %error, "Delivery failed; the entry stays pending.");
                if self.last_errors.len() >= MAX_REMEMBERED_ERRORS {
                    self.last_errors.clear();
                }
                self.last_errors.insert(entry.id, error);
                left_pending += 1;
            }
        }

        if !self.holds_lease() {
            // Only what was committed is acknowledged; everything else is the owner's now.
            self.finish(acks, Vec::new()).await?;
            return Ok(Outcome { left_pending });
        }
        if let Some(error) = last_unavailable {
            self.hold(held, error);
        }
        self.finish(acks, dead).await?;
        if !deferred.is_empty() {
            // Should this fail, the deferred entries merely keep this delivery in their count.
            let config = &self.config;
            config
                .bus
                .defer(&config.stream, &config.group, &config.consumer, &deferred)
                .await?;
        }
        match last_mailbox_error {
            // Nothing got through: give the handler time to come back before the next batch.
            Some(mailbox) if mailbox_failures == delivered => Err(StepError::HandlerDown(mailbox)),
            _ => Ok(Outcome { left_pending }),
        }
    }

    /// Keeps entries answered `Unavailable` for [`Reader::redeliver_held`]; warns once per
    /// outage.
    fn hold(&mut self, entries: Vec<StreamEntry>, error: String) {
        if self.waiting_since.is_none() {
            self.waiting_since = Some(Instant::now());
            tracing::warn!(
                stream = %self.config.stream,
                consumer = %self.config.consumer,
                held = entries.len(),
                %error,
                "The handler's dependency is unavailable; the stream reader stops reading and \
                 delivers the held entries again until it is back, without counting deliveries."
            );
        }
        self.held.extend(entries);
    }
}
