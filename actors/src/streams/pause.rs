//! The pause switch: one key per stream on the bus (see the parent module).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::controlled::ControlledStream;
use crate::bus::{Bus, BusError};

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
