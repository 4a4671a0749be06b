//! The OutboundSender: from `alfred-outbox` entries to platform sends, exactly once.
//!
//! For each entry delivered by its [`StreamReader`](crate::stream_reader::StreamReader):
//!
//! 1. claim the outbox row with a conditional update ([`Store::claim_outbox_as`]); no claim
//!    means the row was already sent, is dead, or someone else is sending it — a duplicate
//!    stream entry (a relay republish, a redelivery) therefore never causes a second send. A
//!    claim that failed may have committed with its answer lost: the row's next attempt in
//!    this process takes it over ([`ClaimAttempt`]) rather than wait out the lease;
//! 2. send it with the platform's [`ChannelClient`], one recipient's replies in commit order:
//!    a row whose recipient has an earlier row still in flight (waiting for a retry, relayed
//!    late, being sent by another replica) is not claimed but held, and republished by whoever
//!    finishes the earlier row (step 3) — so no reply overtakes an earlier one, across retries,
//!    crashes and replicas;
//! 3. record the result: `sent`; `retry` with the next attempt time (exponential back-off with
//!    jitter, or the platform's `Retry-After`) — the relay republishes the row when it is due;
//!    or `dead` with the reason, also written to `alfred-outbox:dead` for operators. A row
//!    finished (sent or dead) releases the recipient's next row if a claim held it.
//!
//! With `OUTBOUND_ENABLED=false`, or for a platform without a client, replies are logged instead
//! of sent and recorded as sent, so bring-up never spams real users.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rand::Rng;
use tracing::Instrument;

use crate::bus::Bus;
use crate::channel::{ChannelClient, SendError};
use crate::messages::{OutboundEnvelope, Platform};
use crate::metrics::Metrics;
use crate::sequencer::Sequencer;
use crate::store::StoreError;
use crate::store::{ClaimAttempt, SendResult, Store};
use crate::stream_reader::{Delivery, DeliveryError};

/// Sender policy.
#[derive(Debug, Clone)]
pub struct SenderPolicy {
    /// Attempts after which a retryable failure becomes permanent.
    pub max_attempts: u32,
    /// Back-off before the second attempt; doubles each attempt.
    pub backoff_min: Duration,
    /// Cap of the back-off.
    pub backoff_max: Duration,
    /// How long a claim protects a row from other senders.
    pub lease: Duration,
    /// `false`: log replies instead of sending them.
    pub enabled: bool,
}

impl Default for SenderPolicy {
    fn default() -> Self {
        SenderPolicy {
            max_attempts: 8,
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(300),
            lease: Duration::from_secs(60),
            enabled: true,
        }
    }
}

/// Builds the channel clients on the sender's own thread (HTTP clients are not `Send`).
pub type ClientFactory = Arc<dyn Fn() -> HashMap<Platform, Rc<dyn ChannelClient>> + Send + Sync>;

/// Everything a sender needs; cloned into each (re)started incarnation.
#[derive(Clone)]
pub struct SenderDeps {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    /// The prefixed `alfred-outbox` key, where rows held behind a finished one are republished.
    pub stream: String,
    /// The prefixed `alfred-outbox:dead` key.
    pub dead_stream: String,
    pub clients: ClientFactory,
    pub policy: SenderPolicy,
    pub metrics: Metrics,
}

/// The sender actor.
pub struct OutboundSender {
    deps: SenderDeps,
    clients: Rc<HashMap<Platform, Rc<dyn ChannelClient>>>,
    recipients: Sequencer,
    lost: Rc<RefCell<LostClaims>>,
}

impl OutboundSender {
    pub fn new(deps: SenderDeps) -> Self {
        let clients = Rc::new((deps.clients)());
        OutboundSender {
            deps,
            clients,
            recipients: Sequencer::default(),
            lost: Rc::default(),
        }
    }
}

/// Rows whose claim attempts ended in an error, with the attempts' tokens: such a claim may
/// have committed with its answer lost, and the row's next attempt takes it over (see
/// [`ClaimAttempt`]). Kept per incarnation of the sender: after a restart, a lost claim waits
/// out the lease as a dead sender's would.
#[derive(Default)]
struct LostClaims {
    tokens: HashMap<i64, Vec<i64>>,
}

impl LostClaims {
    /// Rows remembered at most; past it the memory starts again (those rows wait out the lease).
    const MAX_ROWS: usize = 4096;
    /// Tokens kept per row, the newest.
    const MAX_TOKENS: usize = 8;

    /// The attempt for `outbox_id`: a fresh token, and the tokens to take over.
    fn attempt(&mut self, outbox_id: i64) -> ClaimAttempt {
        ClaimAttempt::new(self.tokens.remove(&outbox_id).unwrap_or_default())
    }

    /// `attempt` ended in an error: it, and the claims it tried to take over, may hold the row.
    fn remember(&mut self, outbox_id: i64, attempt: ClaimAttempt) {
        if self.tokens.len() >= Self::MAX_ROWS && !self.tokens.contains_key(&outbox_id) {
            self.tokens.clear();
        }
        let mut tokens = attempt.retake;
        tokens.push(attempt.token);
        let excess = tokens.len().saturating_sub(Self::MAX_TOKENS);
        tokens.drain(..excess);
        self.tokens.insert(outbox_id, tokens);
    }
}

impl Actor for OutboundSender {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct TurnEnded {
    recipient: String,
    ticket: u64,
}

impl Handler<TurnEnded> for OutboundSender {
    type Result = ();

    fn handle(&mut self, ended: TurnEnded, _ctx: &mut Self::Context) {
        self.recipients.leave(&ended.recipient, ended.ticket);
    }
}

impl Handler<Delivery> for OutboundSender {
    type Result = ResponseFuture<Result<(), DeliveryError>>;

    fn handle(&mut self, delivery: Delivery, ctx: &mut Self::Context) -> Self::Result {
        let queued: OutboundEnvelope = match serde_json::from_str(&delivery.entry.payload) {
            Ok(envelope) => envelope,
            Err(error) => {
                let reason = format!("outbox entry is not an outbound envelope: {error}");
                return Box::pin(async move { Err(DeliveryError::Permanent(reason)) });
            }
        };
        let recipient = format!("{}:{}:{}", queued.platform, queued.account, queued.to);
        let mut turn = self.recipients.enter(&recipient);
        let deps = self.deps.clone();
        let clients = self.clients.clone();
        let lost = self.lost.clone();
        let me = ctx.address();
        let span = tracing::info_span!(
            "send",
            platform = %queued.platform,
            outbox_id = queued.outbox_id,
            entry_id = %delivery.entry.id,
        );
        crate::trace::set_parent(&span, queued.traceparent.as_deref());
        Box::pin(
            async move {
                // In-process order saves a held claim in the common case; the outcome does not
                // matter here: if this reply failed, the next one's claim finds it in flight and
                // holds it (the store keeps the order across retries and replicas).
                let _ = turn.wait().await;
                let result = send_once(&deps, &clients, &lost, queued.outbox_id).await;
                me.do_send(TurnEnded {
                    recipient: turn.key().to_owned(),
                    ticket: turn.ticket(),
                });
                drop(turn);
                result
            }
            .instrument(span),
        )
    }
}

/// Claims, sends and records one outbox row.
async fn send_once(
    deps: &SenderDeps,
    clients: &HashMap<Platform, Rc<dyn ChannelClient>>,
    lost: &RefCell<LostClaims>,
    outbox_id: i64,
) -> Result<(), DeliveryError> {
    let attempt = lost.borrow_mut().attempt(outbox_id);
    let claimed = match deps
        .store
        .claim_outbox_as(outbox_id, deps.policy.lease, &attempt)
        .await
    {
        Ok(Some(claimed)) => claimed,
        Ok(None) => {
            tracing::debug!("Outbox row already sent or being sent; skipping the duplicate entry.");
            count(deps, "unknown", "skipped");
            return Ok(());
        }
        Err(error) => {
            // The claim may have committed and only its answer been lost: the entry comes
            // back (the reader holds it while the store is unavailable), and its next attempt
            // takes this one's claim over instead of finding the row claimed by nobody.
            lost.borrow_mut().remember(outbox_id, attempt);
            return Err(store_failure(
                format!("could not claim outbox row: {error}"),
                &error,
            ));
        }
    };
    let message = &claimed.envelope;
    let platform = message.platform.as_str();
    let client = clients
        .get(&message.platform)
        .filter(|_| deps.policy.enabled);
    let Some(client) = client else {
        // Who and how much, never what: replies carry family lists and mail summaries, and
        // logs travel further than the database. The text only at DEBUG, for a bring-up.
        let text = message.body.display_text();
        tracing::info!(to = %message.to, chars = text.chars().count(), "Outbound sending is off (or no client for this platform); the reply is not sent.");
        tracing::debug!(to = %message.to, reply = %text, "The reply that was not sent.");
        count(deps, platform, "logged");
        return record(deps, outbox_id, SendResult::Sent { provider_id: None }).await;
    };
    let result = match client.send(message).await {
        Ok(receipt) => {
            count(deps, platform, "sent");
            SendResult::Sent {
                provider_id: receipt.provider_id,
            }
        }
        Err(SendError::Retryable {
            reason,
            retry_after,
        }) if claimed.attempts < deps.policy.max_attempts => {
            let delay = retry_after.unwrap_or_else(|| backoff(&deps.policy, claimed.attempts));
            tracing::warn!(%reason, attempt = claimed.attempts, ?delay, "Send failed; it will be retried.");
            count(deps, platform, "retry");
            SendResult::Retry {
                error: reason,
                next_attempt_in: delay,
            }
        }
        Err(error) => {
            let reason = match error {
                SendError::Retryable { reason, .. } => {
                    format!("gave up after {} attempts: {reason}", claimed.attempts)
                }
                SendError::Permanent { reason } => reason,
            };
            tracing::error!(%reason, "Reply could not be delivered; dead-lettered.");
            count(deps, platform, "dead");
            dead_letter(deps, message, &reason).await;
            SendResult::Dead { reason }
        }
    };
    record(deps, outbox_id, result).await
}

async fn record(
    deps: &SenderDeps,
    outbox_id: i64,
    result: SendResult,
) -> Result<(), DeliveryError> {
    // If recording fails the row stays claimed; after the lease the relay hands it out again.
    let released = deps
        .store
        .record_send(outbox_id, result)
        .await
        .map_err(|error| store_failure(format!("could not record the send: {error}"), &error))?;
    republish(deps, &released).await;
    Ok(())
}

/// Publishes the rows a finished send released (the next reply of the same recipient, held
/// while this one was in flight) and marks them published. A failure is only logged: a held
/// row whose predecessor is finished is due for the relay's next pass.
async fn republish(deps: &SenderDeps, released: &[OutboundEnvelope]) {
    if released.is_empty() {
        return;
    }
    let payloads: Result<Vec<String>, _> = released.iter().map(serde_json::to_string).collect();
    let published = match payloads {
        Ok(payloads) => deps
            .bus
            .publish_many(&deps.stream, &payloads)
            .await
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = published {
        tracing::warn!(%error, "Could not republish the next reply of the recipient; the relay will.");
        return;
    }
    let ids: Vec<i64> = released.iter().map(|envelope| envelope.outbox_id).collect();
    if let Err(error) = deps.store.mark_republished(&ids).await {
        // Harmless: the relay may publish the row once more, and the claim sends it once.
        tracing::debug!(%error, "Could not mark the republished reply as published.");
    }
}

/// `Unavailable` when the store could not be reached (the reader then waits for it without
/// counting the delivery), `Retry` when a statement failed.
fn store_failure(reason: String, error: &StoreError) -> DeliveryError {
    if error.is_unavailable() {
        DeliveryError::Unavailable(reason)
    } else {
        DeliveryError::Retry(reason)
    }
}

/// Writes a dead reply with its reason to `alfred-outbox:dead` for operators.
async fn dead_letter(deps: &SenderDeps, message: &OutboundEnvelope, reason: &str) {
    let entry = serde_json::json!({ "reason": reason, "envelope": message });
    if let Err(error) = deps
        .bus
        .publish(&deps.dead_stream, &entry.to_string())
        .await
    {
        tracing::warn!(%error, "Could not write the dead reply to the dead-letter stream; it is kept in the outbox table.");
    }
    deps.metrics
        .dead_lettered
        .with_label_values(&[deps.dead_stream.as_str(), "send_failed"])
        .inc();
}

fn count(deps: &SenderDeps, platform: &str, result: &str) {
    deps.metrics
        .outbound_sends
        .with_label_values(&[platform, result])
        .inc();
}

/// `min(max, min·2^(attempt-1))·(1+jitter)`, jitter uniform in [0, 0.5).
pub fn backoff(policy: &SenderPolicy, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let base = policy
        .backoff_min
        .saturating_mul(1u32 << exponent)
        .min(policy.backoff_max);
    let jitter: f64 = rand::rng().random_range(0.0..0.5);
    base.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_claims_token_is_offered_to_the_rows_next_attempt_once() {
        let mut lost = LostClaims::default();
        let first = lost.attempt(7);
        assert!(first.retake.is_empty());
        lost.remember(7, first.clone());

        let second = lost.attempt(7);
        assert_eq!(second.retake, [first.token]);
        assert_ne!(second.token, first.token);
        assert!(lost.attempt(7).retake.is_empty(), "taken with the attempt");
        assert!(lost.attempt(8).retake.is_empty(), "another row's");

        for _ in 0..20 {
            let attempt = lost.attempt(7);
            lost.remember(7, attempt);
        }
        assert_eq!(lost.attempt(7).retake.len(), LostClaims::MAX_TOKENS);
    }

    #[test]
    fn backoff_doubles_from_the_minimum_and_stops_at_the_cap() {
        let policy = SenderPolicy::default();
        for attempt in 1..30 {
            let delay = backoff(&policy, attempt);
            let exponent = (attempt - 1).min(20);
            let base = policy
                .backoff_min
                .saturating_mul(1 << exponent)
                .min(policy.backoff_max);
            assert!(
                delay >= base && delay < base.mul_f64(1.5),
                "attempt {attempt}: {delay:?}"
            );
        }
    }
}
