//! [`OutboxRelay`]: republishes committed outbox rows that never reached `alfred-outbox`.
//!
//! The orchestrator publishes a message's replies right after its transaction commits. If the
//! process dies (or the bus is down) between COMMIT and XADD, the rows sit in the outbox,
//! committed but unpublished; without the relay those replies would be lost. Every `interval`
//! the relay asks the store for rows that are due ([`Store::due_for_relay`]: unpublished for
//! longer than `grace`, retries whose time has come, claims abandoned for longer than `lease`),
//! publishes them in one `publish_many` and marks them published (held rows whose release was
//! missed as republished, which clears their holds; see [`Store::mark_published`] for why
//! every other mark keeps a hold).
//!
//! Publishing a row twice is harmless: the sender claims a row before sending it, so a second
//! stream entry for the same row is acknowledged without a second send. That is why a failure
//! between publishing and marking simply repeats the pass next tick.
//!
//! The relay keeps no state that matters across restarts, so it is a plain actor that any
//! supervisor may restart; errors never stop it, they are logged and the pass is retried on
//! the next tick.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::Instrument;

use crate::bus::{Bus, BusError};
use crate::metrics::Metrics;
use crate::names;
use crate::store::Store;
use crate::store::StoreError;

/// Settings of the relay.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Time between passes.
    pub interval: Duration,
    /// How long a committed row may stay unpublished before the relay publishes it; long
    /// enough that the orchestrator's own publish normally wins.
    pub grace: Duration,
    /// How long a claim (or a publish) may go without progress before the row is considered
    /// abandoned; use the same value as the sender's claim lease.
    pub lease: Duration,
    /// Rows per pass; a full batch starts the next pass at once.
    pub batch: usize,
    /// The outbox stream key, prefix included (`names::key(prefix, names::OUTBOX_STREAM)`).
    pub stream: String,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            interval: Duration::from_secs(1),
            grace: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            batch: 500,
            stream: names::OUTBOX_STREAM.to_owned(),
        }
    }
}

/// Why a relay pass failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("reading or marking the outbox failed: {0}")]
    Store(#[from] StoreError),
    #[error("publishing to the outbox stream failed: {0}")]
    Bus(#[from] BusError),
    #[error("an outbox row could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// One relay pass: publishes the due rows and marks them published; returns how many.
pub async fn relay_once(
    store: &dyn Store,
    bus: &dyn Bus,
    config: &RelayConfig,
) -> Result<usize, RelayError> {
    let due = store
        .due_for_relay(config.grace, config.lease, config.batch)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let payloads = due
        .iter()
        .map(|row| serde_json::to_string(&row.envelope))
        .collect::<Result<Vec<_>, _>>()?;
    bus.publish_many(&config.stream, &payloads).await?;
    let (mut released, mut others) = (Vec::new(), Vec::new());
    for row in &due {
        let ids = if row.held { &mut released } else { &mut others };
        ids.push(row.envelope.outbox_id);
    }
    store.mark_republished(&released).await?;
    store.mark_published(&others).await?;
    Ok(due.len())
}

/// Runs one pass now and returns how many rows it published (for tests and operators).
#[derive(Debug, Clone, Copy)]
pub struct RelayNow;

impl Message for RelayNow {
    type Result = Result<usize, RelayError>;
}

/// The relay actor. See the module documentation.
pub struct OutboxRelay {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    metrics: Metrics,
    config: RelayConfig,
    /// Whether the last pass failed, so an outage is logged once, not every second.
    failing: bool,
}

impl OutboxRelay {
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        metrics: Metrics,
        config: RelayConfig,
    ) -> Self {
        OutboxRelay {
            store,
            bus,
            metrics,
            config,
            failing: false,
        }
    }

    /// A pass as an actor future; records the outcome in metrics and logs.
    fn pass(&self) -> impl ActorFuture<Self, Output = Result<usize, RelayError>> + 'static {
        let store = Arc::clone(&self.store);
        let bus = Arc::clone(&self.bus);
        let config = self.config.clone();
        let span = tracing::info_span!("outbox_relay.pass", stream = %config.stream, relayed = tracing::field::Empty);
        let pass = async move { relay_once(store.as_ref(), bus.as_ref(), &config).await }
            .instrument(span.clone());
        pass.into_actor(self).map(move |result, act, _ctx| {
            match &result {
                Ok(count) => {
                    span.record("relayed", count);
                    act.metrics.relayed.inc_by(*count as u64);
                    if *count > 0 {
                        tracing::info!(
                            count,
                            "Relayed outbox rows that had not reached the outbox stream."
                        );
                    }
                    if act.failing {
                        tracing::info!("The outbox relay works again.");
                    }
                    act.failing = false;
                }
                Err(error) if !act.failing => {
                    tracing::warn!(%error, "An outbox relay pass failed; retrying every interval.");
                    act.failing = true;
                }
                Err(error) => tracing::debug!(%error, "An outbox relay pass failed again."),
            }
            result
        })
    }

    /// A scheduled pass. `ctx.wait` keeps passes from overlapping; a full batch means a
    /// backlog, so the next pass starts at once.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        let batch = self.config.batch;
        ctx.wait(self.pass().map(move |result, act, ctx| {
            if matches!(result, Ok(count) if count >= batch) {
                act.tick(ctx);
            }
        }));
    }
}

impl Actor for OutboxRelay {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A pass at start-up catches up with whatever a crash left behind.
        self.tick(ctx);
        ctx.run_interval(self.config.interval, |act, ctx| act.tick(ctx));
    }
}

impl actix::Supervised for OutboxRelay {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.failing = false;
    }
}

impl Handler<RelayNow> for OutboxRelay {
    type Result = AtomicResponse<Self, Result<usize, RelayError>>;

    fn handle(&mut self, _msg: RelayNow, _ctx: &mut Self::Context) -> Self::Result {
        AtomicResponse::new(Box::pin(self.pass()))
    }
}
