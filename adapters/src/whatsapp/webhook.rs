//! The WhatsApp webhook: `GET /webhook` (Meta's verify handshake) and `POST /webhook`
//! (notifications).
//!
//! `POST` answers 200 only once every envelope of the batch is stored on `alfred-ingest`
//! (DESIGN.md §3), so a 200 is a promise that nothing is lost; when the bus is unavailable it
//! answers 503 and Meta delivers again (for up to 7 days). Checks run cheapest first: the
//! declared `Content-Length` (413), the signature header's form (403), then the body is read up
//! to the limit, its HMAC checked (403) and only then parsed. A signed body that cannot be parsed
//! is kept in `alfred-ingest:dead` with the reason and answered 200, because a redelivery would
//! fail the same way.
//!
//! This is the product's hottest path: the body is read without copying when it arrives in one
//! chunk, the signature is decoded into a fixed array, and parsing borrows from the body.

use std::sync::Arc;

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use alfred_actors::bus::{Bus, BusError};
use alfred_actors::messages::Platform;
use alfred_actors::metrics::Metrics;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::payload::{parse_notification, ParseError};
use super::signature::{SignatureKeyError, SignatureVerifier, SIGNATURE_HEADER};
use crate::signed_request::{self, Ingest, IngestError};

/// The route Meta is configured to call.
pub const WEBHOOK_PATH: &str = "/webhook";
/// Default largest accepted body (1 MiB); Meta's notifications are a few KiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// What the webhook needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Prefix of the stream keys (`REDIS_KEY_PREFIX`).
    pub key_prefix: String,
    /// `INGEST_PARTITIONS`: 0 stores on the single `alfred-ingest`, `N` on the partition of
    /// each message's conversation.
    pub ingest_partitions: u32,
    /// `APP_SECRET`: the key of `X-Hub-Signature-256`.
    pub app_secret: SecretString,
    /// `VERIFY_TOKEN`: the token Meta echoes in the verify handshake.
    pub verify_token: SecretString,
    /// `PHONE_ID`: our phone number id; changes for other numbers are skipped.
    pub phone_number_id: String,
    /// Largest accepted body in bytes ([`DEFAULT_BODY_LIMIT`] unless configured).
    pub body_limit: usize,
}

/// The webhook's state, shared by every worker as `web::Data`.
pub struct WhatsAppWebhook {
    /// `alfred-ingest` and its dead-letter stream, for WhatsApp.
    ingest: Ingest,
    verifier: SignatureVerifier,
    verify_token: SecretString,
    phone_number_id: String,
    body_limit: usize,
}

/// Everything the webhook answers other than 200, mapped to HTTP in one place.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A missing, malformed or wrong signature, or a failed verify handshake.
    #[error("forbidden")]
    Forbidden,
    #[error("request body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body could not be read")]
    Body(#[source] actix_web::error::PayloadError),
    /// The bus did not acknowledge; Meta retries on 503.
    #[error("message bus unavailable, retry later")]
    Unavailable(#[source] BusError),
    #[error("an envelope could not be encoded")]
    Encode(#[source] serde_json::Error),
}

impl From<IngestError> for WebhookError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Encode(error) => WebhookError::Encode(error),
            IngestError::Unavailable(error) => WebhookError::Unavailable(error),
        }
    }
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebhookError::Forbidden => StatusCode::FORBIDDEN,
            WebhookError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookError::Body(_) => StatusCode::BAD_REQUEST,
            WebhookError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebhookError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The caller gets the short message; the operator gets the cause.
            let cause = signed_request::cause(self);
            tracing::warn!(error = %self, cause = %cause, "The WhatsApp webhook could not store a request.");
        }
        signed_request::plain_text_response(status, self)
    }
}

impl WhatsAppWebhook {
    /// Builds the webhook; fails when the app secret cannot key the signature check.
    pub fn new(
        settings: WebhookSettings,
        bus: Arc<dyn Bus>,
        metrics: &Metrics,
    ) -> Result<Self, SignatureKeyError> {
        let verifier = SignatureVerifier::new(&settings.app_secret)?;
        Ok(WhatsAppWebhook {
            ingest: Ingest::new(
                bus,
                &settings.key_prefix,
                settings.ingest_partitions,
                Platform::WhatsApp,
                metrics,
            ),
            verifier,
            verify_token: settings.verify_token,
            phone_number_id: settings.phone_number_id,
            body_limit: settings.body_limit,
        })
    }

    /// Meta's verify handshake: echoes `hub.challenge` when `hub.mode` is `subscribe` and
    /// `hub.verify_token` matches ours.
    pub fn verify_handshake(&self, query: &str) -> Result<HttpResponse, WebhookError> {
        let Ok(web::Query(handshake)) = web::Query::<Handshake>::from_query(query) else {
            return Err(WebhookError::Forbidden);
        };
        let (Some("subscribe"), Some(token), Some(challenge)) = (
            handshake.mode.as_deref(),
            handshake.verify_token,
            handshake.challenge,
        ) else {
            return Err(WebhookError::Forbidden);
        };
        // Comparing digests keeps the comparison constant-time in the token's length too.
        let expected = Sha256::digest(self.verify_token.expose_secret().as_bytes());
        let given = Sha256::digest(token.as_bytes());
        if !bool::from(expected.ct_eq(&given)) {
            tracing::warn!("Refused a webhook verify handshake with a wrong token.");
            return Err(WebhookError::Forbidden);
        }
        tracing::info!("Answered Meta's webhook verify handshake.");
        Ok(HttpResponse::Ok()
            .content_type(ContentType::plaintext())
            .body(challenge))
    }

    /// Handles one notification: limit, signature, parse, store.
    pub async fn receive(
        &self,
        request: &HttpRequest,
        payload: web::Payload,
    ) -> Result<HttpResponse, WebhookError> {
        let declared = declared_length(request);
        if declared.is_some_and(|length| length > self.body_limit as u64) {
            return Err(WebhookError::TooLarge {
                limit: self.body_limit,
            });
        }
        let tag = request
            .headers()
            .get(SIGNATURE_HEADER)
            .and_then(|value| SignatureVerifier::parse_header(value.as_bytes()))
            .ok_or(WebhookError::Forbidden)?;
        let body = read_body(payload, self.body_limit, declared).await?;
        if !self.verifier.verify(&tag, &body) {
            return Err(WebhookError::Forbidden);
        }
        let traceparent = alfred_actors::trace::current_traceparent();
        match parse_notification(&body, &self.phone_number_id, traceparent.as_deref()) {
            Ok(envelopes) => {
                tracing::Span::current().record("envelopes", envelopes.len());
                self.ingest.store(&envelopes).await?;
                Ok(HttpResponse::Ok().finish())
            }
            Err(reason) => {
                self.dead_letter(&body, &reason).await?;
                Ok(HttpResponse::Ok().finish())
            }
        }
    }

    /// Keeps a signed body that cannot be parsed, with the reason and the time, for an operator.
    async fn dead_letter(&self, body: &[u8], reason: &ParseError) -> Result<(), WebhookError> {
        tracing::warn!(error = %reason, bytes = body.len(), "Dead-lettered a signed WhatsApp webhook body that cannot be parsed.");
        Ok(self.ingest.dead_letter(body, &reason.to_string()).await?)
    }
}

impl std::fmt::Debug for WhatsAppWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsAppWebhook")
            .field("ingest_stream", &self.ingest.ingest_stream())
            .field("phone_number_id", &self.phone_number_id)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// Mounts `GET` and `POST` [`WEBHOOK_PATH`]:
/// `App::new().configure(|cfg| whatsapp::configure(cfg, webhook.clone()))`.
pub fn configure(cfg: &mut web::ServiceConfig, webhook: web::Data<WhatsAppWebhook>) {
    cfg.service(
        web::resource(WEBHOOK_PATH)
            .app_data(webhook)
            .route(web::get().to(verify))
            .route(web::post().to(receive)),
    );
}

#[tracing::instrument(name = "whatsapp_verify", skip_all)]
async fn verify(
    request: HttpRequest,
    webhook: web::Data<WhatsAppWebhook>,
) -> Result<HttpResponse, WebhookError> {
    webhook.verify_handshake(request.query_string())
}

#[tracing::instrument(name = "whatsapp_webhook", skip_all, fields(envelopes = tracing::field::Empty))]
async fn receive(
    request: HttpRequest,
    payload: web::Payload,
    webhook: web::Data<WhatsAppWebhook>,
) -> Result<HttpResponse, WebhookError> {
    webhook.receive(&request, payload).await
}

#[derive(Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

fn declared_length(request: &HttpRequest) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the body up to `limit` bytes. A body that arrives in one chunk (the usual case) is
/// returned as is, without a copy.
async fn read_body(
    mut payload: web::Payload,
    limit: usize,
    declared: Option<u64>,
) -> Result<Bytes, WebhookError> {
    let Some(first) = payload.next().await else {
        return Ok(Bytes::new());
    };
    let first = first.map_err(WebhookError::Body)?;
    if first.len() > limit {
        return Err(WebhookError::TooLarge { limit });
    }
    let Some(second) = payload.next().await else {
        return Ok(first);
    };
    let capacity = declared
        .map_or(first.len() * 2, |length| length as usize)
        .min(limit);
    let mut body = BytesMut::with_capacity(capacity);
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        let chunk = chunk.map_err(WebhookError::Body)?;
        if body.len() + chunk.len() > limit {
            return Err(WebhookError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
        next = payload.next().await;
    }
    Ok(body.freeze())
}
