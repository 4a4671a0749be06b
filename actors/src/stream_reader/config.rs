//! What a reader reads, as which consumer, and how it is tuned.

use std::sync::Arc;
use std::time::Duration;

use super::ownership::Ownership;
use crate::bus::Bus;
use crate::metrics::Metrics;

/// What a reader reads, how, and where it gives up entries.
#[derive(Clone)]
pub struct ReaderConfig {
    pub bus: Arc<dyn Bus>,
    /// The (prefixed) stream key.
    pub stream: String,
    pub group: String,
    /// This reader's consumer name: stable across restarts (so it finds its pending entries)
    /// and unique among the group's live readers.
    pub consumer: String,
    /// The (prefixed) dead-letter stream key.
    pub dead_stream: String,
    /// Entries per read (about 100 keeps the loop cheap at high throughput).
    pub batch: usize,
    /// How long a read waits for new entries.
    pub block: Duration,
    /// How long an entry may stay unacknowledged before it is claimed and delivered again.
    pub claim_idle: Duration,
    /// Deliveries after which a failing entry is dead-lettered.
    pub max_deliveries: u32,
    /// For `alfred_messages_dead_lettered_total` and the `alfred_stream_*` gauges.
    pub metrics: Metrics,
    /// The stream's pause flag ([`streams`](crate::streams)): while the key exists the reader
    /// reads and claims nothing. `None`: the stream cannot be paused.
    pub pause_key: Option<String>,
    /// The partition lease this reader reads under (`INGEST_PARTITIONS`): its deliveries carry
    /// the lease's fence, and while the lease is not surely held the reader reads, claims and
    /// hands back nothing. `None`: a stream without partitions.
    pub lease: Option<Ownership>,
}

impl std::fmt::Debug for ReaderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderConfig")
            .field("stream", &self.stream)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .field("dead_stream", &self.dead_stream)
            .field("batch", &self.batch)
            .field("block", &self.block)
            .field("claim_idle", &self.claim_idle)
            .field("max_deliveries", &self.max_deliveries)
            .field("pause_key", &self.pause_key)
            .field("fence", &self.lease.as_ref().map(Ownership::fence))
            .finish_non_exhaustive()
    }
}
