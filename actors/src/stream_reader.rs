//! The stream reader: one consumer of a consumer group, delivering entries to a handler actor.
//!
//! (Work in progress: message types first so the orchestrator can build against them.)

use crate::bus::StreamEntry;

/// One stream entry handed to the handler. The handler answers once the entry's effect is
/// durable; only then is the entry acknowledged.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "Result<(), DeliveryError>")]
pub struct Delivery {
    /// The stream the entry was read from.
    pub stream: String,
    /// The entry, with how many times it has been delivered (this delivery included).
    pub entry: StreamEntry,
}

/// Why a handler could not handle an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later: the entry stays pending and is delivered again after the claim-idle
    /// time (and dead-lettered after too many deliveries).
    #[error("retry later: {0}")]
    Retry(String),
    /// Will never succeed: the entry is dead-lettered now.
    #[error("permanent failure: {0}")]
    Permanent(String),
}
