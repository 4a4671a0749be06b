//! The per-sender limits in front of routing (see [`crate::limits`]).
//!
//! Only what a person addressed to Alfred passes the gate: scheduled jobs, status callbacks,
//! reactions and group messages without an invoke prefix go straight on, never limited. For
//! the rest, in this order:
//!
//! 1. with the rate limit on, the inbox is asked first ([`Store::prior`]): a message already
//!    handled (a duplicate webhook, a redelivery after the commit) is acknowledged and takes
//!    no token;
//! 2. the sender's token bucket: over the rate, the message is refused — the first refusal of
//!    a minute answers [`SLOW_DOWN_REPLY`], the others nothing — and recorded in the inbox as
//!    handled, so it is never delivered again;
//! 3. the text cap: a longer text gets a short reply and is not routed.
//!
//! Every refusal is counted in `alfred_refused_total{reason}` and is never a dead letter.

use super::status::store_failure;
use super::OrchestratorDeps;
use crate::bus::{Admission, BusError};
use crate::households::addressed_text;
use crate::limits::{too_long_reply, SLOW_DOWN_REPLY};
use crate::messages::{InboundEnvelope, InboundKind};
use crate::skill::{Effect, ReplyOnly};
use crate::store::{Prior, Store};
use crate::stream_reader::DeliveryError;

/// What the gate decided.
pub(super) enum Gate {
    /// Route the message.
    Pass,
    /// The inbox already holds it: acknowledge, nothing else.
    Handled,
    /// Refused: commit this (a short reply, or nothing) as the message's effect.
    Refuse(Box<dyn Effect>),
}

/// Applies the sender's limits to `envelope`; see the module doc.
pub(super) async fn gate(
    deps: &OrchestratorDeps,
    envelope: &InboundEnvelope,
) -> Result<Gate, DeliveryError> {
    let Some(text) = request_text(envelope, &deps.invoke_prefixes) else {
        return Ok(Gate::Pass);
    };
    if deps.limiter.bucket().is_some() {
        if already_handled(deps.store.as_ref(), envelope).await? {
            return Ok(Gate::Handled);
        }
        let admission = deps
            .limiter
            .admit(envelope.platform, &envelope.sender.id)
            .await;
        if let Some(refusal) = over_the_rate(deps, admission)? {
            return Ok(Gate::Refuse(refusal));
        }
    }
    if let Some(max) = deps.limiter.too_long(text) {
        tracing::info!(max, "A text over MAX_TEXT_CHARS was not read.");
        refused(deps, "too_long");
        return Ok(Gate::Refuse(Box::new(ReplyOnly(vec![too_long_reply(max)]))));
    }
    Ok(Gate::Pass)
}

/// Whether the inbox holds the message. A store that cannot be reached fails the message
/// (Unavailable: the reader waits), before any token is taken or the LLM asked.
async fn already_handled(
    store: &dyn Store,
    envelope: &InboundEnvelope,
) -> Result<bool, DeliveryError> {
    match store.prior(envelope.platform, &envelope.message_id).await {
        Ok(prior) => Ok(prior == Prior::Handled),
        Err(error) => Err(store_failure(
            format!("the inbox look-up failed: {error}"),
            &error,
        )),
    }
}

/// The refusal of a message over its sender's rate, `None` when it was admitted.
///
/// Redis out of reach fails the message (Unavailable: the reader waits for it, as it does for
/// the stream itself). Any other failure of the limiter admits the message: a fault in a
/// safeguard must not silence the family's assistant.
fn over_the_rate(
    deps: &OrchestratorDeps,
    admission: Result<Admission, BusError>,
) -> Result<Option<Box<dyn Effect>>, DeliveryError> {
    match admission {
        Ok(Admission::Admitted) => Ok(None),
        Ok(Admission::Refused { notify }) => {
            refused(deps, "rate_limited");
            let replies = if notify {
                tracing::info!("A sender is over their rate; told once, then not answered.");
                vec![SLOW_DOWN_REPLY.to_owned()]
            } else {
                tracing::debug!("A sender is still over their rate; not answered.");
                Vec::new()
            };
            Ok(Some(Box::new(ReplyOnly(replies))))
        }
        Err(BusError::Unavailable(reason)) => Err(DeliveryError::Unavailable(format!(
            "the sender's rate could not be checked: {reason}"
        ))),
        Err(error) => {
            tracing::warn!(%error, "The sender's rate could not be checked; the message is handled.");
            Ok(None)
        }
    }
}

fn refused(deps: &OrchestratorDeps, reason: &str) {
    deps.metrics.refused.with_label_values(&[reason]).inc();
}

/// What a person asked of Alfred: the text (after the invoke prefix in a group; empty for
/// media, which gets an answer too), or `None` for what is not a request to Alfred — the
/// messages `decide` answers with nothing.
fn request_text<'a>(envelope: &'a InboundEnvelope, prefixes: &[String]) -> Option<&'a str> {
    match &envelope.kind {
        InboundKind::Text { body } if envelope.is_group => addressed_text(body, prefixes),
        _ if envelope.is_group => None,
        InboundKind::Text { body } => Some(body.trim()),
        InboundKind::InteractiveReply { title, .. } => Some(title.trim()),
        InboundKind::Media { .. }
        | InboundKind::Location { .. }
        | InboundKind::Unsupported { .. } => Some(""),
        InboundKind::Status { .. } | InboundKind::Job { .. } | InboundKind::Reaction { .. } => None,
    }
}
