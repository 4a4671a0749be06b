//! Token buckets and expiring counters: the per-sender limits every process on a bus shares.
//!
//! A bucket holds at most `burst` tokens and gains `per_minute` tokens a minute, continuously;
//! each message takes one. A sender who sends no faster than the rate is never refused, and may
//! send `burst` messages at once after a quiet spell. A message that finds the bucket empty is
//! refused; the first refusal of each notice period says so ([`Admission::Refused`]'s
//! `notify`), the others stay silent, so a flood gets one "slow down" and nothing more.
//!
//! The state is two numbers and a time (tokens, when they were counted, when the last notice
//! went out); nothing is stored for a sender whose bucket is full again. The Redis bus runs
//! [`take`]'s rule as one Lua script (`redis/bucket.rs`) on Redis's own clock, so replicas
//! with skewed clocks share one bucket; the in-process bus runs [`take`] itself.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

/// The shape of a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    /// Tokens gained per minute (`SENDER_RATE_PER_MINUTE`), more than 0.
    pub per_minute: f64,
    /// The most tokens held (`SENDER_BURST`), at least 1.
    pub burst: u32,
    /// At most one refusal per this period has `notify` set.
    pub notice_every: Duration,
}

impl TokenBucket {
    /// Tokens gained per millisecond.
    pub(crate) fn per_ms(&self) -> f64 {
        self.per_minute.max(f64::MIN_POSITIVE) / 60_000.0
    }

    /// How long a bucket's state matters: until it is full again and its notice period over.
    /// After that, a missing state (a full bucket, no recent notice) means the same.
    pub fn memory(&self) -> Duration {
        let refill_ms = (f64::from(self.burst) / self.per_ms()).ceil().min(1e15) as u64;
        Duration::from_millis(refill_ms) + self.notice_every
    }
}

/// The answer of a bucket to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A token was taken: handle the message.
    Admitted,
    /// No token: do not handle it. `notify` is set for the first refusal of a notice period.
    Refused { notify: bool },
}

/// One bucket's state, times in milliseconds of some clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketState {
    pub tokens: f64,
    pub at_ms: u64,
    pub noticed_ms: Option<u64>,
}

/// Takes a token from `state` (a full bucket when `None`) at `now_ms`: the rule of every bus.
/// A clock that went backwards counts as no time passing.
pub fn take(
    state: Option<BucketState>,
    now_ms: u64,
    bucket: &TokenBucket,
) -> (BucketState, Admission) {
    let burst = f64::from(bucket.burst.max(1));
    let (tokens, at_ms, noticed_ms) = match state {
        Some(state) => (state.tokens, state.at_ms, state.noticed_ms),
        None => (burst, now_ms, None),
    };
    let elapsed = now_ms.saturating_sub(at_ms) as f64;
    let tokens = (tokens + elapsed * bucket.per_ms()).min(burst);
    let notice_ms = u64::try_from(bucket.notice_every.as_millis()).unwrap_or(u64::MAX);
    if tokens >= 1.0 {
        let state = BucketState {
            tokens: tokens - 1.0,
            at_ms: now_ms,
            noticed_ms,
        };
        return (state, Admission::Admitted);
    }
    let notify = noticed_ms.is_none_or(|at| now_ms.saturating_sub(at) >= notice_ms);
    let state = BucketState {
        tokens,
        at_ms: now_ms,
        noticed_ms: if notify { Some(now_ms) } else { noticed_ms },
    };
    (state, Admission::Refused { notify })
}

/// The buckets and counters of the in-process bus, on Tokio's clock (so paused time works).
#[derive(Default)]
pub(super) struct LocalLimits {
    /// When the process first asked: milliseconds are counted from here.
    epoch: OnceLock<Instant>,
    /// Buckets by key, with when they may be forgotten.
    buckets: Mutex<HashMap<String, (BucketState, Instant)>>,
    /// Counters by key, with when they expire.
    counters: Mutex<HashMap<String, (u64, Instant)>>,
}

/// Forget expired entries once a map holds this many, so a long-running console stays small.
const SWEEP_ABOVE: usize = 1_024;

/// The map behind `lock`, also after a panic elsewhere while it was held: every entry is
/// written whole, so none can be half-updated.
fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LocalLimits {
    pub(super) fn take_token(&self, key: &str, bucket: &TokenBucket) -> Admission {
        let now = Instant::now();
        let epoch = *self.epoch.get_or_init(|| now);
        let now_ms = u64::try_from(now.duration_since(epoch).as_millis()).unwrap_or(u64::MAX);
        let mut buckets = lock(&self.buckets);
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, (_, forget_at)| *forget_at > now);
        }
        let state = buckets
            .get(key)
            .filter(|(_, forget_at)| *forget_at > now)
            .map(|(state, _)| *state);
        let (state, admission) = take(state, now_ms, bucket);
        buckets.insert(key.to_owned(), (state, now + bucket.memory()));
        admission
    }

    pub(super) fn count_up(&self, key: &str, ttl: Duration) -> u64 {
        let now = Instant::now();
        let mut counters = lock(&self.counters);
        if counters.len() > SWEEP_ABOVE {
            counters.retain(|_, (_, expires)| *expires > now);
        }
        let counter = counters
            .entry(key.to_owned())
            .and_modify(|(count, expires)| {
                if *expires <= now {
                    (*count, *expires) = (0, now + ttl);
                }
            })
            .or_insert((0, now + ttl));
        counter.0 += 1;
        counter.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: TokenBucket = TokenBucket {
        per_minute: 30.0,
        burst: 3,
        notice_every: Duration::from_secs(60),
    };

    #[test]
    fn a_full_bucket_admits_the_burst_then_refuses_with_one_notice_per_period() {
        let mut state = None;
        let mut answers = Vec::new();
        for _ in 0..6 {
            let (next, admission) = take(state, 1_000, &BUCKET);
            state = Some(next);
            answers.push(admission);
        }
        use Admission::*;
        assert_eq!(
            answers,
            [
                Admitted,
                Admitted,
                Admitted,
                Refused { notify: true },
                Refused { notify: false },
                Refused { notify: false }
            ]
        );
        // Two seconds later one token is back (30 a minute); the notice period still runs.
        let (state, admission) = take(state, 3_000, &BUCKET);
        assert_eq!(admission, Admitted);
        let (state, admission) = take(Some(state), 3_000, &BUCKET);
        assert_eq!(admission, Refused { notify: false });
        // A minute after the notice, the next refusal notifies again.
        let (state, _) = take(Some(state), 61_000, &BUCKET);
        let (state, _) = take(Some(state), 61_000, &BUCKET);
        let (state, _) = take(Some(state), 61_000, &BUCKET);
        let (_, admission) = take(Some(state), 61_000, &BUCKET);
        assert_eq!(admission, Refused { notify: true });
    }

    #[test]
    fn a_clock_going_backwards_adds_no_tokens() {
        let (state, _) = take(None, 10_000, &BUCKET);
        let (state, _) = take(Some(state), 10_000, &BUCKET);
        let (state, _) = take(Some(state), 10_000, &BUCKET);
        let (_, admission) = take(Some(state), 5_000, &BUCKET);
        assert!(matches!(admission, Admission::Refused { .. }));
    }

    #[test]
    fn the_state_is_kept_until_the_bucket_is_full_and_the_notice_period_over() {
        // 3 tokens at 30 a minute refill in 6 s.
        assert_eq!(BUCKET.memory(), Duration::from_secs(66));
    }
}
