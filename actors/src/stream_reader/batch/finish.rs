//! The end of a batch: dead-letter what is given up, then acknowledge it with the handled.

use super::Reader;
use crate::bus::{BusError, StreamEntry};
use crate::stream_reader::DeadLetter;

impl Reader {
    /// Dead-letters, then acknowledges the handled and the dead-lettered entries in one `XACK`.
    pub(super) async fn finish(
        &self,
        mut acks: Vec<String>,
        dead: Vec<(StreamEntry, String, &'static str)>,
    ) -> Result<(), BusError> {
        let config = &self.config;
        if !dead.is_empty() {
            let now = chrono::Utc::now().to_rfc3339();
            let letters: Vec<String> = dead
                .iter()
                .map(|(entry, error, _)| {
                    let letter = DeadLetter {
                        stream: config.stream.clone(),
                        id: entry.id.clone(),
                        payload: entry.payload.clone(),
                        error: error.clone(),
                        deliveries: entry.deliveries,
                        dead_lettered_at: now.clone(),
                    };
                    serde_json::to_string(&letter).unwrap_or_else(|_| entry.payload.clone())
                })
                .collect();
            if let Err(error) = config.bus.publish_many(&config.dead_stream, &letters).await {
                // Not dead-lettered, so not acknowledged: they stay pending and come back.
                config.bus.ack(&config.stream, &config.group, &acks).await?;
                return Err(error);
            }
            for (entry, error, reason) in &dead {
                tracing::warn!(
                    stream = %config.stream,
                    entry_id = %entry.id,
                    deliveries = entry.deliveries,
                    %error,
                    reason,
                    "Moved an entry to the dead-letter stream."
                );
                config
                    .metrics
                    .dead_lettered
                    .with_label_values(&[config.stream.as_str(), reason])
                    .inc();
            }
            acks.extend(dead.into_iter().map(|(entry, _, _)| entry.id));
        }
        config.bus.ack(&config.stream, &config.group, &acks).await
    }
}
