//! The streams operators control, by name, with one instance's keys.

use crate::names;

/// One stream operators control, with the keys of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlledStream {
    /// The name in the admin API: `ingest` or `outbox`.
    pub name: &'static str,
    /// The stream key (prefix and instance included).
    pub stream: String,
    /// The consumer group reading it.
    pub group: String,
    /// Its dead-letter stream's key.
    pub dead_stream: String,
    /// Its pause flag's key.
    pub pause_key: String,
}

impl ControlledStream {
    /// `alfred-ingest`, read by the orchestrators' group, of the instance whose key prefix is
    /// `prefix` ([`names::instance_prefix`]).
    pub fn ingest(prefix: &str, instance: &str) -> ControlledStream {
        ControlledStream::of(
            "ingest",
            prefix,
            instance,
            [
                names::INGEST_STREAM,
                names::INGEST_DEAD_STREAM,
                names::INGEST_GROUP,
            ],
        )
    }

    /// `alfred-outbox`, read by the senders' group.
    pub fn outbox(prefix: &str, instance: &str) -> ControlledStream {
        ControlledStream::of(
            "outbox",
            prefix,
            instance,
            [
                names::OUTBOX_STREAM,
                names::OUTBOX_DEAD_STREAM,
                names::OUTBOX_GROUP,
            ],
        )
    }

    /// Both, in the order the admin API lists them.
    pub fn all(prefix: &str, instance: &str) -> Vec<ControlledStream> {
        vec![
            ControlledStream::ingest(prefix, instance),
            ControlledStream::outbox(prefix, instance),
        ]
    }

    fn of(
        name: &'static str,
        prefix: &str,
        instance: &str,
        [stream, dead, group]: [&str; 3],
    ) -> ControlledStream {
        ControlledStream {
            name,
            stream: names::key(prefix, stream),
            group: names::group(instance, group),
            dead_stream: names::key(prefix, dead),
            pause_key: names::paused_key(prefix, stream),
        }
    }
}
