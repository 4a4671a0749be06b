//! Time as the runtime sees it.
//!
//! Everything that depends on the time of day — skills' effects, the scheduler — asks a
//! [`Clock`] instead of the system, so tests (and `alfred chat`) can run a week of chores and
//! briefings in seconds on a [`ManualClock`].

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// The source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock to `now` (also backwards: tests may need it).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the clock forward by `by`; `false`, leaving it where it was, when that would go
    /// past the dates the clock can hold (year ±262,143).
    #[must_use = "a step past the representable dates leaves the clock where it was"]
    pub fn advance(&self, by: Duration) -> bool {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        match now.checked_add_signed(by) {
            Some(moved) => {
                *now = moved;
                true
            }
            None => false,
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clones_move_with_it() {
        let start = DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z")
            .unwrap()
            .to_utc();
        let clock = ManualClock::new(start);
        let shared = clock.clone();

        assert!(clock.advance(Duration::hours(2)));

        assert_eq!(shared.now(), start + Duration::hours(2));
        shared.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn a_step_past_the_representable_dates_is_refused_and_moves_nothing() {
        let start = DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z")
            .unwrap()
            .to_utc();
        let clock = ManualClock::new(start);

        let moved = clock.advance(Duration::MAX);

        assert!(!moved);
        assert_eq!(clock.now(), start);
    }
}
