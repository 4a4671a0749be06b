//! [`Janitor`]: keeps the streams and tables from growing forever.
//!
//! Every `JANITOR_INTERVAL_MS` (and once at start-up) one pass:
//!
//! 1. trims from `alfred-ingest` and `alfred-outbox` the entries every consumer group has
//!    acknowledged ([`Bus::trim_handled`]); an entry still pending, or not yet delivered to a
//!    group, is never removed, and the `:dead` streams are never touched;
//! 2. purges from the store what finished more than `RETENTION_DAYS` ago by the runtime's clock
//!    ([`Store::purge`]): inbox keys, the LLM answers kept with messages, sent replies and
//!    strangers' refusal counters; dead replies stay for operators.
//!
//! Streams are trimmed first: an entry is gone from its stream long before its inbox key is
//! forgotten, so a consumer group recreated from the start of a stream (after Redis lost it)
//! can never meet an entry whose key was already purged. `RETENTION_DAYS` is at least 7, Meta's
//! longest webhook retry, so a platform retry always finds its key.
//!
//! The janitor keeps no state that matters; failures are logged once per streak, counted in
//! nothing but the log, and the next pass tries again.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::Instrument;

use crate::bus::{Bus, BusError};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::store::StoreError;
use crate::store::{Purged, Store};

/// What the janitor needs.
#[derive(Clone)]
pub struct JanitorConfig {
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// The streams to trim (prefix and instance included): ingest and outbox, never `:dead`.
    pub streams: Vec<String>,
    /// `RETENTION_DAYS`.
    pub retention: Duration,
    /// `JANITOR_INTERVAL_MS`.
    pub interval: Duration,
    /// The consumer groups whose stale consumers are removed, as `(stream, group)`.
    pub groups: Vec<(String, String)>,
    /// `STALE_CONSUMER_IDLE_MS`: how long a consumer with nothing pending may stay idle
    /// before it is removed.
    pub stale_consumer_idle: Duration,
}

/// Why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum JanitorError {
    #[error("trimming a stream failed: {0}")]
    Bus(#[from] BusError),
    #[error("purging old rows failed: {0}")]
    Store(#[from] StoreError),
}

/// What one pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Stream entries trimmed, all streams together.
    pub stream_entries: u64,
    /// Stale consumers removed, all groups together.
    pub stale_consumers: u64,
    /// Inbox keys and sent outbox rows purged.
    pub purged: Purged,
}

/// One pass. See the module documentation for the order.
pub async fn sweep_once(config: &JanitorConfig) -> Result<Swept, JanitorError> {
    let mut swept = Swept::default();
    for stream in &config.streams {
        swept.stream_entries += config.bus.trim_handled(stream).await?;
    }
    for (stream, group) in &config.groups {
        let removed = config
            .bus
            .remove_idle_consumers(stream, group, config.stale_consumer_idle)
            .await?;
        if !removed.is_empty() {
            tracing::info!(%stream, %group, consumers = ?removed, "Removed consumers with nothing pending, idle for longer than STALE_CONSUMER_IDLE_MS (former replicas).");
        }
        swept.stale_consumers += removed.len() as u64;
    }
    let retention = chrono::Duration::from_std(config.retention).unwrap_or(chrono::Duration::MAX);
    let before = config
        .clock
        .now()
        .checked_sub_signed(retention)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    swept.purged = config.store.purge(before).await?;
    Ok(swept)
}

/// Runs one pass now and answers with what it removed (for tests and operators).
#[derive(Debug, Clone, Copy)]
pub struct SweepNow;

impl Message for SweepNow {
    type Result = Result<Swept, String>;
}

/// The janitor actor. See the module documentation.
pub struct Janitor {
    config: JanitorConfig,
    failing: bool,
}

impl Janitor {
    pub fn new(config: JanitorConfig) -> Self {
        Janitor {
            config,
            failing: false,
        }
    }

    fn sweep(&self) -> impl ActorFuture<Self, Output = Result<Swept, String>> + 'static {
        let config = self.config.clone();
        let span = tracing::info_span!("janitor.sweep");
        let sweep =
            async move { sweep_once(&config).await.map_err(|e| e.to_string()) }.instrument(span);
        sweep.into_actor(self).map(|result, act, _ctx| {
            match &result {
                Ok(swept) => {
                    let removed = &act.config.metrics.janitor_removed;
                    removed
                        .with_label_values(&["stream_entries"])
                        .inc_by(swept.stream_entries);
                    removed
                        .with_label_values(&["stale_consumers"])
                        .inc_by(swept.stale_consumers);
                    removed
                        .with_label_values(&["inbox"])
                        .inc_by(swept.purged.inbox);
                    removed
                        .with_label_values(&["outbox"])
                        .inc_by(swept.purged.outbox);
                    removed
                        .with_label_values(&["llm_answers"])
                        .inc_by(swept.purged.llm_answers);
                    removed
                        .with_label_values(&["transcripts"])
                        .inc_by(swept.purged.transcripts);
                    removed
                        .with_label_values(&["refusals"])
                        .inc_by(swept.purged.refusals);
                    let purged = &swept.purged;
                    if purged.inbox
                        + purged.outbox
                        + purged.llm_answers
                        + purged.transcripts
                        + purged.refusals
                        > 0
                    {
                        tracing::info!(
                            stream_entries = swept.stream_entries,
                            inbox = swept.purged.inbox,
                            outbox = swept.purged.outbox,
                            llm_answers = swept.purged.llm_answers,
                            transcripts = swept.purged.transcripts,
                            refusals = swept.purged.refusals,
                            "Purged what finished before the retention period."
                        );
                    }
                    if act.failing {
                        tracing::info!("The janitor works again.");
                    }
                    act.failing = false;
                }
                Err(error) if !act.failing => {
                    tracing::warn!(%error, "A janitor pass failed; retrying every JANITOR_INTERVAL_MS.");
                    act.failing = true;
                }
                Err(error) => tracing::debug!(%error, "A janitor pass failed again."),
            }
            result
        })
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        ctx.wait(self.sweep().map(|_, _, _| ()));
    }
}

impl Actor for Janitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.config.interval, |act, ctx| act.tick(ctx));
    }
}

impl Handler<SweepNow> for Janitor {
    type Result = AtomicResponse<Self, Result<Swept, String>>;

    fn handle(&mut self, _msg: SweepNow, _ctx: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(Box::pin(self.sweep()))
    }
}
