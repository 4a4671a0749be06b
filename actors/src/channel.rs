//! The outbound side of a chat platform, as the [`OutboundSender`](crate::outbound) sees it.
//! Implemented in the `adapters` crate (Graph API, Slack Web API) and by the console.

use std::time::Duration;

use async_trait::async_trait;

use crate::messages::OutboundEnvelope;

/// A successful send.
#[derive(Debug, Clone)]
pub struct SendReceipt {
    /// The platform's id of the sent message, when it returns one.
    pub provider_id: Option<String>,
}

/// A failed send, classified.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// Worth trying again (429, 5xx, time-outs, connection errors).
    #[error("retryable send failure: {reason}")]
    Retryable {
        reason: String,
        /// The platform's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// Will never succeed (bad recipient, re-engagement window closed, auth).
    #[error("permanent send failure: {reason}")]
    Permanent { reason: String },
}

/// Sends replies to one platform.
///
/// Not `Send`: HTTP clients such as `awc` live on the actix arbiter thread of the sender actor
/// that owns them, so a client is built by a factory on that thread.
#[async_trait(?Send)]
pub trait ChannelClient: 'static {
    async fn send(&self, message: &OutboundEnvelope) -> Result<SendReceipt, SendError>;
}
