//! Every stream key, consumer group, table and metric name in one place.
//!
//! Stream keys are prefixed with the configured `REDIS_KEY_PREFIX` (empty by default) so that
//! tests, and later each instance, own their keys on a shared Redis.

/// Inbound envelopes written by the webhook, read by the stream readers.
pub const INGEST_STREAM: &str = "alfred-ingest";
/// Inbound entries that could not be handled after too many deliveries, or could not be parsed.
pub const INGEST_DEAD_STREAM: &str = "alfred-ingest:dead";
/// Committed replies, read by the outbound sender.
pub const OUTBOX_STREAM: &str = "alfred-outbox";
/// Replies that failed permanently, with the reason.
pub const OUTBOX_DEAD_STREAM: &str = "alfred-outbox:dead";
/// Consumer group of the ingest readers.
pub const INGEST_GROUP: &str = "alfred-orchestrators";
/// Consumer group of the outbound senders.
pub const OUTBOX_GROUP: &str = "alfred-senders";
/// The single field of a stream entry that holds the serialized envelope.
pub const PAYLOAD_FIELD: &str = "payload";

/// Inbox table: one row per platform message already handled.
pub const INBOX_TABLE: &str = "inbox";
/// Outbox table: one row per reply, with its delivery state.
pub const OUTBOX_TABLE: &str = "outbox";

/// A stream key with the configured prefix.
pub fn key(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}")
}
