//! The streams operators control — ingest and outbox — by name: their keys, their pause flag
//! and their health (`GET /admin/streams`, `POST /admin/streams/{stream}/{pause|resume}`).
//!
//! **Pause.** A stream is paused for the whole deployment by one key on the bus
//! ([`names::paused_key`], no expiry, so it survives a restart of Alfred; on the memory bus it
//! lasts as long as the process). Every stream reader of the stream checks the key at least
//! every [`PAUSE_CHECK`] (and never blocks in a read for longer), so every replica honours a
//! pause within about a second: a paused reader finishes the entries it has handed out, then
//! neither reads new entries nor claims idle ones (nor re-reads its own pending ones) until
//! the key is gone. What arrives meanwhile waits in the stream, in order: webhooks are still
//! answered 200 and stored; a paused ingest answers nothing, a paused outbox sends nothing
//! (replies are committed and wait). Resuming deletes the key; the readers work the backlog
//! off in stream order. See `docs/adr/2026-12-02-pause-and-stream-health.md`.
//!
//! Layout: this file names the streams and holds the pause switch; `health` what
//! `GET /admin/streams` shows of one stream.

mod health;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use health::{stream_health, ConsumerView, StreamHealth};

use crate::bus::{Bus, BusError};
use crate::names;

/// The longest a stream reader goes without looking at its stream's pause flag.
pub const PAUSE_CHECK: Duration = Duration::from_millis(500);

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

/// What the pause flag holds: when and by whom the stream was paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// When (RFC 3339, UTC).
    pub since: String,
    /// Who asked (the admin client's address and the replica that took the request).
    pub by: String,
}

/// The stream's pause, if it is paused. A flag that is not a [`Paused`] (written by hand,
/// say) still pauses: readers only look at whether the key exists.
pub async fn paused(bus: &dyn Bus, stream: &ControlledStream) -> Result<Option<Paused>, BusError> {
    Ok(bus.get_value(&stream.pause_key).await?.map(|value| {
        serde_json::from_str(&value).unwrap_or(Paused {
            since: String::new(),
            by: value,
        })
    }))
}

/// Pauses the stream for every replica; a stream already paused keeps its first pause (when
/// and by whom). Returns the pause in force.
pub async fn pause(
    bus: &Arc<dyn Bus>,
    stream: &ControlledStream,
    by: String,
) -> Result<Paused, BusError> {
    if let Some(already) = paused(&**bus, stream).await? {
        return Ok(already);
    }
    let pause = Paused {
        since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        by,
    };
    let value =
        serde_json::to_string(&pause).map_err(|error| BusError::Other(error.to_string()))?;
    bus.put_value(&stream.pause_key, &value).await?;
    Ok(pause)
}

/// Resumes the stream for every replica (nothing to do when it is not paused).
pub async fn resume(bus: &Arc<dyn Bus>, stream: &ControlledStream) -> Result<(), BusError> {
    bus.delete_value(&stream.pause_key).await
}
