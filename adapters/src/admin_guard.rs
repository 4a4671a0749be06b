//! The admin API's slow-down for wrong keys: per client address, at most [`FAILURES_ALLOWED`]
//! refused requests within [`WINDOW`]; after that the address is answered 429 with
//! `Retry-After` until its window has passed, whatever key it sends.
//!
//! Why this shape:
//! * **Per address, never global**: one attacker's failures never lock out an operator on
//!   another address (a global counter would hand anyone a denial of service).
//! * **The right key is refused too while blocked**: were it let through, the answer (429 for a
//!   wrong key, 200 for the right one) would still tell each guess apart and nothing would be
//!   slowed.
//! * **A fixed window per address** (the first failure opens it): simple to reason about and to
//!   document; a success closes it, since whoever sent it holds the key.
//! * **Bounded memory**: at most [`CAPACITY`] addresses are tracked; when full, windows that have
//!   passed are dropped first, then the oldest one (an attacker rotating through addresses only
//!   ever forgets its own oldest failures).
//! * IPv6 addresses count by their /64 network, which one host can fill with addresses.
//!
//! The peer address is the TCP peer: the admin API is meant to be reached directly on a private
//! network (never through a public proxy, whose address every client would then share), and a
//! forwarded-for header would be the attacker's to choose.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refused requests an address may make within [`WINDOW`] before it is answered 429.
pub const FAILURES_ALLOWED: u32 = 10;
/// How long an address's failures count, from its first one.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked at once.
pub const CAPACITY: usize = 4096;

/// Failed admin attempts by client address.
#[derive(Debug)]
pub struct FailedAttempts {
    windows: Mutex<HashMap<IpAddr, Window>>,
    allowed: u32,
    window: Duration,
    capacity: usize,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    failures: u32,
}

impl Default for FailedAttempts {
    fn default() -> Self {
        FailedAttempts::new(FAILURES_ALLOWED, WINDOW, CAPACITY)
    }
}

/// What one failure did to its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Still within what is allowed.
    Counted,
    /// This failure used up the allowance: the address is blocked from now on (logged once).
    Blocked,
}

impl FailedAttempts {
    pub fn new(allowed: u32, window: Duration, capacity: usize) -> Self {
        FailedAttempts {
            windows: Mutex::new(HashMap::new()),
            allowed: allowed.max(1),
            window,
            capacity: capacity.max(1),
        }
    }

    /// How long `peer` must still wait, when it has used up its failures.
    pub fn blocked_for(&self, peer: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.lock();
        let window = windows.get(&client(peer))?;
        let remaining = self.window.checked_sub(now.duration_since(window.opened))?;
        (window.failures >= self.allowed && !remaining.is_zero()).then_some(remaining)
    }

    /// Counts one refused request from `peer`.
    pub fn failed(&self, peer: IpAddr, now: Instant) -> Failure {
        let mut windows = self.lock();
        let key = client(peer);
        if !windows.contains_key(&key) && windows.len() >= self.capacity {
            self.make_room(&mut windows, now);
        }
        let window = windows.entry(key).or_insert(Window {
            opened: now,
            failures: 0,
        });
        if now.duration_since(window.opened) >= self.window {
            *window = Window {
                opened: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
        if window.failures == self.allowed {
            Failure::Blocked
        } else {
            Failure::Counted
        }
    }

    /// Forgets `peer`'s failures: it has just shown the key.
    pub fn succeeded(&self, peer: IpAddr) {
        self.lock().remove(&client(peer));
    }

    /// How many addresses are tracked.
    pub fn tracked(&self) -> usize {
        self.lock().len()
    }

    fn make_room(&self, windows: &mut HashMap<IpAddr, Window>, now: Instant) {
        windows.retain(|_, window| now.duration_since(window.opened) < self.window);
        if windows.len() >= self.capacity {
            let oldest = windows
                .iter()
                .min_by_key(|(_, window)| window.opened)
                .map(|(address, _)| *address);
            if let Some(oldest) = oldest {
                windows.remove(&oldest);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        // A panic while holding the lock leaves only counters behind: still usable.
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The address failures are counted by: IPv4 as is, IPv6 by its /64 network.
fn client(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_is_blocked_after_its_allowance_and_only_until_its_window_passes() {
        let attempts = FailedAttempts::new(3, Duration::from_secs(60), 16);
        let start = Instant::now();
        let attacker = ip("10.0.0.9");

        assert_eq!(attempts.failed(attacker, start), Failure::Counted);
        assert_eq!(attempts.failed(attacker, start), Failure::Counted);
        assert!(attempts.blocked_for(attacker, start).is_none());
        assert_eq!(attempts.failed(attacker, start), Failure::Blocked);

        let later = start + Duration::from_secs(20);
        assert_eq!(
            attempts.blocked_for(attacker, later),
            Some(Duration::from_secs(40))
        );
        assert!(attempts.blocked_for(ip("10.0.0.10"), later).is_none());
        assert!(attempts
            .blocked_for(attacker, start + Duration::from_secs(60))
            .is_none());
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let attempts = FailedAttempts::new(2, Duration::from_secs(60), 16);
        let now = Instant::now();
        attempts.failed(ip("10.0.0.9"), now);
        attempts.succeeded(ip("10.0.0.9"));
        assert_eq!(attempts.failed(ip("10.0.0.9"), now), Failure::Counted);
    }

    #[test]
    fn ipv6_addresses_of_one_network_share_their_failures() {
        let attempts = FailedAttempts::new(2, Duration::from_secs(60), 16);
        let now = Instant::now();
        attempts.failed(ip("2001:db8::1"), now);
        attempts.failed(ip("2001:db8::ffff:2"), now);
        assert!(attempts.blocked_for(ip("2001:db8::3"), now).is_some());
        assert!(attempts.blocked_for(ip("2001:db8:0:1::3"), now).is_none());
    }

    #[test]
    fn memory_stays_bounded_when_addresses_rotate() {
        let attempts = FailedAttempts::new(2, Duration::from_secs(60), 8);
        let now = Instant::now();
        for i in 0..1000u32 {
            attempts.failed(IpAddr::from(i.to_be_bytes()), now);
        }
        assert_eq!(attempts.tracked(), 8);
    }
}
