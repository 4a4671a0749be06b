//! A partition lease as its reader sees it (`INGEST_PARTITIONS`, see
//! [`partitions`](crate::partitions)): the fence its deliveries commit with, and until when the
//! lease is surely still held.
//!
//! The owner of the lease extends the deadline after each renewal, to the time the renewal was
//! *sent* plus a share of the TTL, measured on this process's monotonic clock: a process that
//! was paused (SIGSTOP, a long GC) finds on waking that its deadline has passed and reads,
//! claims and hands back nothing more, before it could learn from Redis that the lease moved.
//! What it still had in flight is refused by the fence in Postgres.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crate::store::Fence;

/// Shared between the partition's owner (which renews) and its reader (which checks).
#[derive(Debug, Clone)]
pub struct Ownership {
    fence: Fence,
    /// The lease key in Redis and the value it holds while this lease is held
    /// (`"{replica} {token}"`), for the steps that must check it atomically.
    lease: Option<(String, String)>,
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    valid_until: Instant,
    lost: bool,
}

impl Ownership {
    /// A lease acquired with `fence`, held surely until `valid_until`.
    pub fn new(fence: Fence, valid_until: Instant) -> Ownership {
        Ownership {
            fence,
            lease: None,
            state: Arc::new(Mutex::new(State {
                valid_until,
                lost: false,
            })),
        }
    }

    /// The same ownership, whose lease is the key `lease` holding `holder` in Redis.
    pub fn with_lease(mut self, lease: String, holder: String) -> Ownership {
        self.lease = Some((lease, holder));
        self
    }

    /// The lease key and the value it holds while held, when known.
    pub fn lease(&self) -> Option<(&str, &str)> {
        self.lease
            .as_ref()
            .map(|(key, holder)| (key.as_str(), holder.as_str()))
    }

    /// The partition and the token deliveries commit with.
    pub fn fence(&self) -> Fence {
        self.fence
    }

    /// A renewal succeeded: held surely until `valid_until` (never shortened).
    pub fn extend(&self, valid_until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.valid_until = state.valid_until.max(valid_until);
    }

    /// The lease is gone (not renewed, released, or a commit was fenced): for good.
    pub fn lose(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lost = true;
    }

    /// Whether the reader may still read, claim and hand entries back.
    pub fn is_held(&self) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        !state.lost && Instant::now() < state.valid_until
    }
}
