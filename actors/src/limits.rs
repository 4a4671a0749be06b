//! Per-sender limits: how much one person may ask of Alfred, shared by every replica.
//!
//! Three limits, each configured in [`SenderLimits`] and each off when set to `0`/`off`:
//!
//! * a **token bucket** per (platform, sender) on the bus (`SENDER_RATE_PER_MINUTE`,
//!   `SENDER_BURST`; see [`crate::bus::bucket`]): a message that finds it empty is not
//!   handled; the first of each minute is answered with [`SLOW_DOWN_REPLY`];
//! * a **daily LLM budget** per (platform, sender) (`LLM_DAILY_BUDGET`), a counter on the bus
//!   per UTC day of the runtime's clock: beyond it plain language gets the help reply without
//!   asking the LLM;
//! * a **text cap** (`MAX_TEXT_CHARS`, in characters): a longer text gets [`too_long_reply`]
//!   and is not routed.
//!
//! Where they apply (in the orchestrator): after the inbox's de-duplication, so a redelivery or
//! a duplicate webhook never takes a token, and only to what a person addressed to Alfred —
//! scheduled jobs, status callbacks, reactions and group chatter not meant for Alfred are
//! never limited. The keys live under the instance's Redis key prefix
//! ([`names::SENDER_BUCKET`], [`names::LLM_BUDGET`]) and expire by themselves.

use std::sync::Arc;
use std::time::Duration;

pub use alfred_config::SenderLimits;

use crate::bus::{Admission, Bus, BusError, TokenBucket};
use crate::messages::Platform;
use crate::names;

/// A limited sender hears [`SLOW_DOWN_REPLY`] at most once per this period.
pub const NOTICE_EVERY: Duration = Duration::from_secs(60);

/// The answer to the first message over a sender's rate in a notice period.
pub const SLOW_DOWN_REPLY: &str = "You're sending me messages faster than I can keep up with, so I'm skipping some. Please wait a minute, then send again whatever I didn't answer.";

/// The answer to a text longer than `MAX_TEXT_CHARS`.
pub fn too_long_reply(max_chars: u32) -> String {
    format!("That message is too long for me: I read at most {max_chars} characters. Please send something shorter.")
}

/// How long a day's LLM budget counter is kept: past the end of its day in any time zone.
const BUDGET_KEPT: Duration = Duration::from_secs(2 * 86_400);

/// The limits of one instance on its bus. Cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    bus: Arc<dyn Bus>,
    /// The instance's key prefix (`REDIS_KEY_PREFIX` and the instance).
    prefix: String,
    limits: SenderLimits,
}

impl Limiter {
    /// The limits `limits` on `bus`, with keys under `instance_prefix`
    /// ([`names::instance_prefix`]).
    pub fn new(bus: Arc<dyn Bus>, instance_prefix: &str, limits: SenderLimits) -> Self {
        Limiter {
            bus,
            prefix: instance_prefix.to_owned(),
            limits,
        }
    }

    /// The sender token bucket, `None` when `SENDER_RATE_PER_MINUTE` is off.
    pub fn bucket(&self) -> Option<TokenBucket> {
        let per_minute = self.limits.rate_per_minute?;
        Some(TokenBucket {
            per_minute: f64::from(per_minute),
            burst: self.limits.burst,
            notice_every: NOTICE_EVERY,
        })
    }

    /// Takes a token of the sender's bucket; always admitted when the rate limit is off.
    pub async fn admit(&self, platform: Platform, sender: &str) -> Result<Admission, BusError> {
        let Some(bucket) = self.bucket() else {
            return Ok(Admission::Admitted);
        };
        let key = self.key(names::SENDER_BUCKET, platform, sender);
        self.bus.take_token(&key, &bucket).await
    }

    /// Counts one LLM request of the sender on `day`; `false` when it would exceed the day's
    /// budget (the LLM must not be asked). Always `true` when the budget is off.
    pub async fn spend_llm_request(
        &self,
        platform: Platform,
        sender: &str,
        day: chrono::NaiveDate,
    ) -> Result<bool, BusError> {
        let Some(budget) = self.limits.llm_daily_budget else {
            return Ok(true);
        };
        let key = format!("{}:{day}", self.key(names::LLM_BUDGET, platform, sender));
        let spent = self.bus.count_up(&key, BUDGET_KEPT).await?;
        Ok(spent <= u64::from(budget))
    }

    /// `MAX_TEXT_CHARS` when `text` is longer, `None` when it may be read.
    pub fn too_long(&self, text: &str) -> Option<u32> {
        let max = self.limits.max_text_chars?;
        // Counting stops at the cap: a megabyte of text costs no more than the cap to judge.
        let within = usize::try_from(max).unwrap_or(usize::MAX);
        (text.chars().nth(within).is_some()).then_some(max)
    }

    fn key(&self, name: &str, platform: Platform, sender: &str) -> String {
        names::key(
            &self.prefix,
            &format!("{name}:{}:{sender}", platform.as_str()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::memory::MemoryBus;

    fn limiter(limits: SenderLimits) -> Limiter {
        Limiter::new(Arc::new(MemoryBus::new()), "t:home:", limits)
    }

    #[test]
    fn the_cap_counts_characters_not_bytes() {
        let limiter = limiter(SenderLimits {
            max_text_chars: Some(3),
            ..SenderLimits::default()
        });
        assert_eq!(limiter.too_long("äöü"), None);
        assert_eq!(limiter.too_long("äöüß"), Some(3));
        let off = super::tests::limiter(SenderLimits {
            max_text_chars: None,
            ..SenderLimits::default()
        });
        assert_eq!(off.too_long(&"x".repeat(100_000)), None);
    }

    #[tokio::test]
    async fn the_llm_budget_is_per_sender_and_day_and_off_means_none() {
        let limiter = limiter(SenderLimits {
            llm_daily_budget: Some(2),
            ..SenderLimits::default()
        });
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let next = day.succ_opt().unwrap();
        let spend = |sender: &'static str, day| {
            let limiter = limiter.clone();
            async move {
                limiter
                    .spend_llm_request(Platform::WhatsApp, sender, day)
                    .await
                    .unwrap()
            }
        };
        assert!(spend("dana", day).await);
        assert!(spend("dana", day).await);
        assert!(!spend("dana", day).await);
        assert!(
            spend("sam", day).await,
            "another sender has a budget of their own"
        );
        assert!(spend("dana", next).await, "a new day, a new budget");

        let unlimited = super::tests::limiter(SenderLimits {
            llm_daily_budget: None,
            ..SenderLimits::default()
        });
        for _ in 0..5 {
            assert!(unlimited
                .spend_llm_request(Platform::WhatsApp, "dana", day)
                .await
                .unwrap());
        }
    }
}
