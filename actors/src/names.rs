//! Every stream key, limit key and consumer group in one place (metric names are in
//! [`metrics`](crate::metrics), table names in `migrations/` and the stores' SQL).
//!
//! Stream keys are prefixed with the configured `REDIS_KEY_PREFIX` (empty by default) and the
//! instance ([`instance_prefix`]: `home:alfred-ingest`, `biz:alfred-ingest`), so that tests and
//! each instance own their keys on a shared Redis; consumer groups carry the instance too
//! ([`group`]: `home:alfred-orchestrators`). A Home and a Biz Alfred on one Redis never share a
//! stream or a group.

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
/// A sender's token bucket (hash), `{SENDER_BUCKET}:{platform}:{sender}`; see
/// [`limits`](crate::limits).
pub const SENDER_BUCKET: &str = "alfred-sender-bucket";
/// A sender's LLM requests of one day (counter), `{LLM_BUDGET}:{platform}:{sender}:{date}`.
pub const LLM_BUDGET: &str = "alfred-llm-budget";
/// A stream's pause flag (a plain key, no expiry), `{STREAM_PAUSED}:{stream}` e.g.
/// `home:alfred-paused:alfred-ingest`; see [`streams`](crate::streams).
pub const STREAM_PAUSED: &str = "alfred-paused";
/// Live replicas of an instance (a sorted set: member = replica id, score = last heartbeat in
/// Redis's milliseconds), with `INGEST_PARTITIONS`; see [`partitions`](crate::partitions).
pub const INGEST_REPLICAS: &str = "alfred-ingest-replicas";
/// The lease of one ingest partition (a plain key `"{owner} {token}"` with a TTL),
/// `alfred-ingest-lease:{p3}`.
pub const INGEST_LEASE: &str = "alfred-ingest-lease";
/// The fencing counter of one ingest partition (`INCR`ed on every acquisition of its lease),
/// `alfred-ingest-fence:{p3}`.
pub const INGEST_FENCE: &str = "alfred-ingest-fence";
/// The single field of a stream entry that holds the serialized envelope.
pub const PAYLOAD_FIELD: &str = "payload";

/// A stream key with the configured prefix.
pub fn key(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}")
}

/// The pause flag of the stream `name` (e.g. [`INGEST_STREAM`]) of one instance.
pub fn paused_key(prefix: &str, name: &str) -> String {
    format!("{prefix}{STREAM_PAUSED}:{name}")
}

/// The Redis Cluster hash tag of ingest partition `partition`: `{p3}`. Every key of one
/// partition (its stream, lease and fencing counter) ends with it, so that they hash to one slot
/// and one script may touch them all.
pub fn partition_tag(partition: u32) -> String {
    format!("{{p{partition}}}")
}

/// The stream of ingest partition `partition` of one instance: `home:alfred-ingest:{p3}`.
pub fn ingest_partition_stream(prefix: &str, partition: u32) -> String {
    format!("{prefix}{INGEST_STREAM}:{}", partition_tag(partition))
}

/// The lease key of ingest partition `partition`: `home:alfred-ingest-lease:{p3}`.
pub fn ingest_lease_key(prefix: &str, partition: u32) -> String {
    format!("{prefix}{INGEST_LEASE}:{}", partition_tag(partition))
}

/// The fencing counter of ingest partition `partition`: `home:alfred-ingest-fence:{p3}`.
pub fn ingest_fence_key(prefix: &str, partition: u32) -> String {
    format!("{prefix}{INGEST_FENCE}:{}", partition_tag(partition))
}

/// The key prefix of one instance: `REDIS_KEY_PREFIX`, then the instance and a colon. Every key
/// of the runtime and the adapters is built with [`key`] from this prefix, never from
/// `REDIS_KEY_PREFIX` alone.
pub fn instance_prefix(redis_key_prefix: &str, instance: &str) -> String {
    format!("{redis_key_prefix}{instance}:")
}

/// A consumer group of one instance, e.g. `home:alfred-orchestrators`.
pub fn group(instance: &str, name: &str) -> String {
    format!("{instance}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_home_and_a_biz_instance_on_one_prefix_share_no_stream_or_group() {
        for name in [
            INGEST_STREAM,
            INGEST_DEAD_STREAM,
            OUTBOX_STREAM,
            OUTBOX_DEAD_STREAM,
        ] {
            let home = key(&instance_prefix("t1:", "home"), name);
            let biz = key(&instance_prefix("t1:", "biz"), name);
            assert_ne!(home, biz);
            assert!(home.starts_with("t1:home:alfred-"), "{home}");
        }
        assert_eq!(group("biz", INGEST_GROUP), "biz:alfred-orchestrators");
        assert_ne!(group("home", OUTBOX_GROUP), group("biz", OUTBOX_GROUP));
    }

    #[test]
    fn a_partitions_keys_share_one_hash_tag() {
        let prefix = instance_prefix("t1:", "home");
        assert_eq!(
            ingest_partition_stream(&prefix, 3),
            "t1:home:alfred-ingest:{p3}"
        );
        assert_eq!(
            ingest_lease_key(&prefix, 3),
            "t1:home:alfred-ingest-lease:{p3}"
        );
        assert_eq!(
            ingest_fence_key(&prefix, 3),
            "t1:home:alfred-ingest-fence:{p3}"
        );
    }
}
