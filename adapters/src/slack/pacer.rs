//! Per-channel pacing for Slack posts, as plain bookkeeping over instants.
//!
//! Slack allows about one message per second per channel. [`ChannelPacer`] holds each
//! channel's next free slot and hands it out; the caller waits for the slot. It takes the
//! current instant as an argument and never sleeps, so it is tested with explicit instants
//! instead of a clock. It knows nothing about HTTP or Slack's wire format.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Channels remembered before slots already in the past are dropped.
const PACED_CHANNELS: usize = 1024;

/// Each channel's next free send slot, a pace apart.
#[derive(Debug)]
pub struct ChannelPacer {
    pace: Duration,
    next_slot: HashMap<String, Instant>,
}

impl ChannelPacer {
    /// A pacer spacing sends to one channel at least `pace` apart; a zero pace never delays.
    pub fn new(pace: Duration) -> Self {
        ChannelPacer {
            pace,
            next_slot: HashMap::new(),
        }
    }

    /// Takes `channel`'s next slot as of `now` and returns when the send may go: `now` if the
    /// channel is free, else the reserved slot. The slot is taken at once, so sends asked for
    /// together queue up a pace apart.
    pub fn take_slot(&mut self, channel: &str, now: Instant) -> Instant {
        if self.pace.is_zero() {
            return now;
        }
        if self.next_slot.len() >= PACED_CHANNELS {
            // Bounds memory: a slot in the past no longer holds anything back.
            self.next_slot.retain(|_, slot| *slot > now);
        }
        let slot = self
            .next_slot
            .get(channel)
            .copied()
            .filter(|slot| *slot > now)
            .unwrap_or(now);
        self.next_slot.insert(channel.to_owned(), slot + self.pace);
        slot
    }
}
