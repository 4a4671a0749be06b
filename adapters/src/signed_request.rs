//! What the inbound edges (the Slack edge and the WhatsApp webhook) do alike with a request
//! once its signature holds: store its envelopes on `alfred-ingest`, or keep a body that cannot
//! be understood on `alfred-ingest:dead` with the reason; and how a refusal or failure is
//! written back.
//!
//! Each edge keeps its own signature scheme, its own way of reading the body, its error enum
//! (texts and statuses) and its log messages; only the storing, the dead-letter entry's shape
//! and the counters are here, so the two edges cannot drift apart on them.

use std::borrow::Cow;
use std::sync::Arc;

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use alfred_actors::bus::{Bus, BusError};
use alfred_actors::messages::{InboundEnvelope, Platform};
use alfred_actors::metrics::Metrics;
use alfred_actors::names;
use alfred_actors::partitions::IngestRoute;
use prometheus::IntCounter;
use serde::Serialize;

/// The `reason` label of bodies dead-lettered because they could not be understood.
const UNPARSEABLE: &str = "unparseable";

/// Storing a signed request failed; each edge maps this to its own error (503 or 500).
#[derive(Debug)]
pub(crate) enum IngestError {
    /// An envelope or dead-letter entry could not be encoded.
    Encode(serde_json::Error),
    /// The bus did not acknowledge.
    Unavailable(BusError),
}

/// One platform's ingest and dead-letter streams with their counters.
pub(crate) struct Ingest {
    bus: Arc<dyn Bus>,
    platform: Platform,
    ingest_stream: String,
    /// Which stream each envelope goes to (its partition's with `INGEST_PARTITIONS`).
    route: IngestRoute,
    dead_stream: String,
    /// `alfred_messages_ingested_total{platform}`.
    ingested: IntCounter,
    /// `alfred_messages_dead_lettered_total{stream="alfred-ingest:dead",reason="unparseable"}`.
    dead_lettered: IntCounter,
}

impl Ingest {
    /// The streams under `key_prefix` (`REDIS_KEY_PREFIX`) for requests from `platform`, in
    /// `partitions` partitions (0: the single `alfred-ingest`).
    pub(crate) fn new(
        bus: Arc<dyn Bus>,
        key_prefix: &str,
        partitions: u32,
        platform: Platform,
        metrics: &Metrics,
    ) -> Self {
        Ingest {
            bus,
            platform,
            ingest_stream: names::key(key_prefix, names::INGEST_STREAM),
            route: IngestRoute::new(key_prefix, partitions),
            dead_stream: names::key(key_prefix, names::INGEST_DEAD_STREAM),
            ingested: metrics.ingested.with_label_values(&[platform.as_str()]),
            dead_lettered: metrics
                .dead_lettered
                .with_label_values(&[names::INGEST_DEAD_STREAM, UNPARSEABLE]),
        }
    }

    /// The full key of the ingest stream.
    pub(crate) fn ingest_stream(&self) -> &str {
        &self.ingest_stream
    }

    /// Stores `envelopes` on the ingest stream in one round trip (nothing for none).
    pub(crate) async fn store(&self, envelopes: &[InboundEnvelope]) -> Result<(), IngestError> {
        if envelopes.is_empty() {
            return Ok(());
        }
        // One round trip per stream, each keeping the batch's order (without partitions, one
        // stream). Should a later stream fail, the platform retries the whole request and the
        // inbox absorbs the envelopes stored already.
        let mut by_stream: Vec<(String, Vec<String>)> = Vec::new();
        for envelope in envelopes {
            let payload = serde_json::to_string(envelope).map_err(IngestError::Encode)?;
            let stream = self
                .route
                .stream_for(envelope.platform, &envelope.conversation);
            match by_stream.iter_mut().find(|(known, _)| *known == stream) {
                Some((_, payloads)) => payloads.push(payload),
                None => by_stream.push((stream, vec![payload])),
            }
        }
        for (stream, payloads) in &by_stream {
            self.bus
                .publish_many(stream, payloads)
                .await
                .map_err(IngestError::Unavailable)?;
            self.ingested.inc_by(payloads.len() as u64);
        }
        Ok(())
    }

    /// Keeps a signed body that cannot be understood, with the reason and the time, for an
    /// operator.
    pub(crate) async fn dead_letter(&self, body: &[u8], reason: &str) -> Result<(), IngestError> {
        let entry = DeadLetter {
            platform: self.platform.as_str(),
            reason,
            received_at: chrono::Utc::now().to_rfc3339(),
            body: String::from_utf8_lossy(body),
        };
        let payload = serde_json::to_string(&entry).map_err(IngestError::Encode)?;
        self.bus
            .publish(&self.dead_stream, &payload)
            .await
            .map_err(IngestError::Unavailable)?;
        self.dead_lettered.inc();
        Ok(())
    }
}

/// The text of `error`'s cause, for the operator's log (the caller is told only `error`
/// itself); empty when it has none.
pub(crate) fn cause(error: &dyn std::error::Error) -> String {
    error.source().map(ToString::to_string).unwrap_or_default()
}

/// `status` with `error`'s message as plain text.
pub(crate) fn plain_text_response(
    status: StatusCode,
    error: &dyn std::error::Error,
) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::plaintext())
        .body(error.to_string())
}

/// One entry of `alfred-ingest:dead` written by an inbound edge.
#[derive(Serialize)]
struct DeadLetter<'a> {
    /// `Platform::as_str`, as in tables and metrics.
    platform: &'static str,
    reason: &'a str,
    /// RFC 3339, UTC.
    received_at: String,
    /// The raw body (invalid UTF-8, if any, replaced).
    body: Cow<'a, str>,
}
