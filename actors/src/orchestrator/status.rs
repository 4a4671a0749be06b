//! Platform status callbacks about our replies (`sent`, `delivered`, `read`, `failed`).
//!
//! Kept apart from routing because a status is not a request: it needs no skill, no inbox
//! mark and no reply, only a note in the outbox table (and a dead-letter entry when the
//! platform gave up on a reply).

use super::OrchestratorDeps;
use crate::store::StoreError;
use crate::stream_reader::DeliveryError;

/// A status callback about one of our replies. `sent`, `delivered` and `read` prove the
/// platform accepted it: a row whose send outcome was lost in a crash is then recorded as sent
/// instead of being sent again. Idempotent, so it needs no inbox mark.
pub(super) async fn track_delivery(
    deps: &OrchestratorDeps,
    message_id: &str,
    status: &str,
    callback_data: Option<&str>,
    errors: &[String],
) -> Result<(), DeliveryError> {
    let outbox_id = callback_data.and_then(crate::messages::outbox_id_of);
    match (status, outbox_id) {
        ("sent" | "delivered" | "read", Some(outbox_id)) => {
            match deps.store.confirm_sent(outbox_id, message_id).await {
                Ok(true) => {
                    tracing::info!(outbox_id, %status, "A status confirmed a send whose outcome was unknown.")
                }
                Ok(false) => tracing::debug!(outbox_id, %status, "Delivery status received."),
                Err(error) => {
                    return Err(store_failure(
                        format!("could not record the status: {error}"),
                        &error,
                    ))
                }
            }
        }
        ("failed", outbox_id) => {
            let reason = format!("the platform could not deliver it: {}", errors.join("; "));
            tracing::warn!(?outbox_id, %message_id, %reason, "The platform reports a reply could not be delivered.");
            if let Some(outbox_id) = outbox_id {
                match deps.store.record_delivery_failure(outbox_id, &reason).await {
                    Ok(true) => dead_letter_failed(deps, outbox_id, message_id, &reason).await,
                    Ok(false) => {}
                    Err(error) => {
                        return Err(store_failure(
                            format!("could not record the status: {error}"),
                            &error,
                        ))
                    }
                }
            }
        }
        _ => tracing::debug!(?outbox_id, %message_id, %status, "Delivery status received."),
    }
    deps.metrics.processed.with_label_values(&["status"]).inc();
    Ok(())
}

/// `Unavailable` when the store could not be reached (the reader then waits for it without
/// counting the delivery), `Retry` when a statement failed.
pub(super) fn store_failure(reason: String, error: &StoreError) -> DeliveryError {
    if error.is_unavailable() {
        DeliveryError::Unavailable(reason)
    } else {
        DeliveryError::Retry(reason)
    }
}

/// Writes a reply the platform failed to deliver to `alfred-outbox:dead`, for operators.
async fn dead_letter_failed(
    deps: &OrchestratorDeps,
    outbox_id: i64,
    message_id: &str,
    reason: &str,
) {
    let dead_stream = &deps.outbox_dead_stream;
    let entry =
        serde_json::json!({ "outbox_id": outbox_id, "provider_id": message_id, "reason": reason });
    if let Err(error) = deps.bus.publish(dead_stream, &entry.to_string()).await {
        tracing::warn!(%error, "Could not write the undelivered reply to the dead-letter stream; it is marked dead in the outbox table.");
    }
    deps.metrics
        .dead_lettered
        .with_label_values(&[dead_stream.as_str(), "delivery_failed"])
        .inc();
}
