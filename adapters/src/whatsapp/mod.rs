//! WhatsApp Cloud API: the inbound webhook and the outbound Graph API client.
//!
//! * [`webhook`] — `GET`/`POST /webhook`: verify handshake, body limit, signature, parsing,
//!   storing envelopes on `alfred-ingest` (or a signed but unparseable body on its dead letter);
//! * [`signature`] — `X-Hub-Signature-256` checks in constant time;
//! * [`payload`] — Meta's notification format parsed into typed `InboundEnvelope`s;
//! * [`graph`] — [`GraphClient`], the `ChannelClient` that sends replies.
//!
//! This module knows Meta's wire formats and nothing about skills, the orchestrator or storage
//! beyond the `Bus` trait.

pub mod graph;
pub mod payload;
pub mod signature;
mod timestamp;
pub mod webhook;

pub use graph::{GraphClient, GraphSettings, GraphSetupError};
pub use payload::{parse_notification, ParseError};
pub use webhook::{
    configure, WebhookError, WebhookSettings, WhatsAppWebhook, DEFAULT_BODY_LIMIT, WEBHOOK_PATH,
};
