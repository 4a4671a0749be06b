//! What a reader hands its handler, what the handler answers, and what a dead-letter entry holds.

use crate::bus::StreamEntry;
use crate::store::Fence;

/// One stream entry handed to the handler. The handler answers once the entry's effect is
/// durable; only then is the entry acknowledged.
#[derive(Debug, Clone, actix::Message)]
#[rtype(result = "Result<(), DeliveryError>")]
pub struct Delivery {
    /// The stream the entry was read from.
    pub stream: String,
    /// The entry, with how many times it has been delivered (this delivery included).
    pub entry: StreamEntry,
    /// True when this is the entry's last delivery: if it fails (with anything but
    /// [`DeliveryError::Unavailable`] or [`DeliveryError::Deferred`]) the entry is
    /// dead-lettered instead of delivered again.
    pub last: bool,
    /// The ingest partition and the fencing token of the lease it was read under
    /// (`INGEST_PARTITIONS`): the handler commits with it, so that a reader whose lease moved
    /// on commits nothing. `None` for a stream without partitions.
    pub fence: Option<Fence>,
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
    /// A dependency (the store) is down; the entry itself is fine. The delivery does not count:
    /// the reader stops taking new entries, keeps this one pending and delivers it again
    /// itself, with back-off, until the handler answers something else.
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    /// The entry must wait for an earlier one that failed and will be delivered again (the
    /// same conversation's previous message): it is not at fault, so the delivery does not
    /// count. The reader hands it back pending with its delivery count restored
    /// ([`Bus::defer`](crate::bus::Bus::defer)) and goes on with other entries; the claim
    /// delivers it again, after the earlier one, once it has been idle for the claim-idle time.
    #[error("deferred: {0}")]
    Deferred(String),
    /// The commit was refused because the reader's partition lease has moved on to another
    /// replica (its fencing token is older than the partition's latest): the reader has lost
    /// the partition. The entry is left exactly as it is — pending, not counted, not held or
    /// handed back — for the new owner, which takes every pending entry over; the reader stops
    /// reading.
    #[error("fenced: {0}")]
    Fenced(String),
}

/// The payload of a dead-letter entry (serialized as JSON in the entry's `payload` field).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// The stream the entry came from.
    pub stream: String,
    /// The entry's id in that stream.
    pub id: String,
    /// The entry's payload, unchanged.
    pub payload: String,
    /// The handler's last error, or why the entry was given up.
    pub error: String,
    /// How many times the entry was delivered.
    pub deliveries: u64,
    /// When it was dead-lettered (RFC 3339, UTC).
    pub dead_lettered_at: String,
}
