//! The delay before a child is restarted.

use std::time::Duration;

/// Exponential back-off with jitter: the `n`-th consecutive restart of a child (`n` from 0)
/// waits `min(max, min·2^n)·(1+j)` with `j` drawn from `[0, jitter)`. A child that ran for at
/// least `reset_after` before exiting starts again from `n = 0`.
///
/// Jitter spreads the restarts of siblings that failed together (a shared dependency went
/// down) so they do not hit it again in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    /// Upper bound (exclusive) of the random extra fraction; `0.0` disables jitter.
    pub jitter: f64,
    /// How long a child must run before its back-off resets.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(10),
            jitter: 0.2,
            reset_after: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before restart number `attempt` (0-based), with a fresh random jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }

    /// The delay before restart number `attempt` for a given uniform sample `unit` in `[0, 1)`:
    /// the jitter is `unit · jitter`. Deterministic, for tests and reasoning.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        // 2^attempt saturates instead of overflowing; anything past 2^32 is capped anyway.
        let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
        let base = self.min.saturating_mul(factor).min(self.max);
        let jitter = unit.clamp(0.0, 1.0) * self.jitter.max(0.0);
        // `try_from` rather than `mul_f64`: a NaN or absurd jitter must not panic the supervisor.
        Duration::try_from_secs_f64(base.as_secs_f64() * (1.0 + jitter)).unwrap_or(base)
    }
}
