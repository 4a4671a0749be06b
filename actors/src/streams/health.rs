//! What `GET /admin/streams` shows of one stream, read from the bus at the time of asking
//! (the `alfred_stream_*` gauges are the readers' periodic samples of the same numbers).

use serde::Serialize;

use super::controlled::ControlledStream;
use super::pause::paused;
use crate::bus::{Bus, BusError};

/// One stream's depth, lag and consumers, its dead letters and whether it is paused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamHealth {
    /// `ingest` or `outbox`.
    pub stream: &'static str,
    /// The stream key.
    pub key: String,
    /// The consumer group.
    pub group: String,
    /// Entries in the stream (`XLEN`): handled ones too until the janitor trims them.
    pub length: u64,
    /// Entries not yet delivered to the group; `None` when Redis cannot tell.
    pub lag: Option<u64>,
    /// Entries delivered and not yet acknowledged.
    pub pending: u64,
    /// Age of the oldest pending entry, in seconds; `None` with nothing pending.
    pub oldest_pending_age_secs: Option<f64>,
    /// The group's consumers, by name.
    pub consumers: Vec<ConsumerView>,
    /// The dead-letter stream's key.
    pub dead_letter_key: String,
    /// Entries in the dead-letter stream.
    pub dead_letters: u64,
    /// Whether the stream is paused for the deployment.
    pub paused: bool,
    /// When it was paused (RFC 3339), when it is.
    pub paused_since: Option<String>,
    /// Who paused it, when it is.
    pub paused_by: Option<String>,
}

/// One consumer of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerView {
    pub name: String,
    /// Entries delivered to it and not yet acknowledged.
    pub pending: u64,
    /// Milliseconds since its last read or claim.
    pub idle_ms: u64,
}

/// Reads one stream's health from the bus. A stream or group that does not exist yet shows
/// as empty.
pub async fn stream_health(
    bus: &dyn Bus,
    stream: &ControlledStream,
) -> Result<StreamHealth, BusError> {
    let group = bus
        .group_health(&stream.stream, &stream.group)
        .await?
        .unwrap_or_default();
    let consumers = bus
        .consumers(&stream.stream, &stream.group)
        .await?
        .into_iter()
        .map(|consumer| ConsumerView {
            name: consumer.name,
            pending: consumer.pending,
            idle_ms: u64::try_from(consumer.idle.as_millis()).unwrap_or(u64::MAX),
        })
        .collect();
    let pause = paused(bus, stream).await?;
    Ok(StreamHealth {
        stream: stream.name,
        key: stream.stream.clone(),
        group: stream.group.clone(),
        length: bus.len(&stream.stream).await?,
        lag: group.lag,
        pending: group.pending,
        oldest_pending_age_secs: group.oldest_pending_age.map(|age| age.as_secs_f64()),
        consumers,
        dead_letter_key: stream.dead_stream.clone(),
        dead_letters: bus.len(&stream.dead_stream).await?,
        paused: pause.is_some(),
        paused_since: pause.as_ref().map(|pause| pause.since.clone()),
        paused_by: pause.map(|pause| pause.by),
    })
}
