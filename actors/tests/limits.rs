//! Per-sender limits on both buses (`redis_bus::…` on the test Redis, `memory_bus::…` in
//! process), and what only Redis can show: two replicas sharing one sender's bucket.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Admission, Bus};
use alfred_actors::limits::{Limiter, SenderLimits};
use alfred_actors::messages::Platform;
use alfred_testkit::for_both_buses;
use alfred_testkit::redis::{test_redis_url, unique_prefix};

fn limits(per_minute: u32, burst: u32) -> SenderLimits {
    SenderLimits {
        rate_per_minute: Some(per_minute),
        burst,
        ..SenderLimits::default()
    }
}

/// `n` admissions of `sender` in a row.
async fn admit_n(limiter: &Limiter, sender: &str, n: usize) -> Vec<Admission> {
    let mut answers = Vec::with_capacity(n);
    for _ in 0..n {
        answers.push(limiter.admit(Platform::WhatsApp, sender).await.unwrap());
    }
    answers
}

fn admitted(answers: &[Admission]) -> usize {
    answers
        .iter()
        .filter(|a| **a == Admission::Admitted)
        .count()
}

fn notices(answers: &[Admission]) -> usize {
    answers
        .iter()
        .filter(|a| **a == Admission::Refused { notify: true })
        .count()
}

async fn a_flood_gets_the_burst_and_one_notice_and_other_senders_are_unaffected(bus: Arc<dyn Bus>) {
    // One token a minute: none comes back while the test runs.
    let limiter = Limiter::new(bus, &unique_prefix(), limits(1, 5));

    let flood = admit_n(&limiter, "4917011111111", 40).await;
    let other = admit_n(&limiter, "4917022222222", 3).await;

    assert_eq!(admitted(&flood), 5, "{flood:?}");
    assert_eq!(flood[5], Admission::Refused { notify: true });
    assert_eq!(notices(&flood), 1, "{flood:?}");
    assert_eq!(admitted(&other), 3, "another member is not limited");
    // The same sender on another platform is another bucket.
    let slack = limiter
        .admit(Platform::Slack, "4917011111111")
        .await
        .unwrap();
    assert_eq!(slack, Admission::Admitted);
}

async fn an_empty_bucket_refills_at_the_rate(bus: Arc<dyn Bus>) {
    // 6000 a minute: a token every 10 ms.
    let limiter = Limiter::new(bus, &unique_prefix(), limits(6_000, 1));
    assert_eq!(admit_n(&limiter, "dana", 1).await, [Admission::Admitted]);

    alfred_testkit::eventually("a token to come back", Duration::from_secs(5), || async {
        let answer = limiter.admit(Platform::WhatsApp, "dana").await.unwrap();
        (answer == Admission::Admitted).then_some(())
    })
    .await;
}

async fn with_the_rate_off_nothing_is_limited(bus: Arc<dyn Bus>) {
    let off = SenderLimits {
        rate_per_minute: None,
        ..SenderLimits::default()
    };
    let limiter = Limiter::new(bus, &unique_prefix(), off);

    assert_eq!(admitted(&admit_n(&limiter, "dana", 50).await), 50);
}

async fn the_llm_budget_counts_per_sender_and_day(bus: Arc<dyn Bus>) {
    let budget = SenderLimits {
        llm_daily_budget: Some(3),
        ..SenderLimits::default()
    };
    let limiter = Limiter::new(bus, &unique_prefix(), budget);
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();

    let mut spent = Vec::new();
    for _ in 0..5 {
        spent.push(
            limiter
                .spend_llm_request(Platform::WhatsApp, "dana", day)
                .await
                .unwrap(),
        );
    }

    assert_eq!(spent, [true, true, true, false, false]);
    let tomorrow = day.succ_opt().unwrap();
    assert!(limiter
        .spend_llm_request(Platform::WhatsApp, "dana", tomorrow)
        .await
        .unwrap());
}

for_both_buses!(
    a_flood_gets_the_burst_and_one_notice_and_other_senders_are_unaffected,
    an_empty_bucket_refills_at_the_rate,
    with_the_rate_off_nothing_is_limited,
    the_llm_budget_counts_per_sender_and_day,
);

#[tokio::test]
async fn two_replicas_share_one_senders_bucket_and_its_notice() {
    let prefix = unique_prefix();
    let url = test_redis_url();
    let replica = |url: &str| {
        let bus: Arc<dyn Bus> = Arc::new(RedisBus::connect(url).unwrap());
        Limiter::new(bus, &prefix, limits(1, 6))
    };
    let (first, second) = (replica(&url), replica(&url));

    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.extend(admit_n(&first, "dana", 1).await);
        answers.extend(admit_n(&second, "dana", 1).await);
    }

    assert_eq!(admitted(&answers), 6, "one burst for both: {answers:?}");
    assert_eq!(notices(&answers), 1, "one notice for both: {answers:?}");
}

#[tokio::test]
async fn concurrent_requests_of_two_replicas_never_take_more_than_the_burst() {
    let prefix = unique_prefix();
    let url = test_redis_url();
    let buses: Vec<Arc<dyn Bus>> = (0..2)
        .map(|_| Arc::new(RedisBus::connect(&url).unwrap()) as Arc<dyn Bus>)
        .collect();
    let limiters: Vec<Limiter> = buses
        .into_iter()
        .map(|bus| Limiter::new(bus, &prefix, limits(1, 10)))
        .collect();

    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let limiter = limiters[i % 2].clone();
            tokio::spawn(async move { limiter.admit(Platform::WhatsApp, "dana").await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }

    assert_eq!(admitted(&answers), 10, "{answers:?}");
    assert_eq!(notices(&answers), 1, "{answers:?}");
}

#[tokio::test]
async fn a_bucket_key_lives_under_the_prefix_and_expires() {
    let prefix = unique_prefix();
    let bus: Arc<dyn Bus> = Arc::new(RedisBus::connect(&test_redis_url()).unwrap());
    let limiter = Limiter::new(bus, &prefix, limits(30, 15));
    limiter.admit(Platform::WhatsApp, "dana").await.unwrap();

    let client = deadpool_redis::redis::Client::open(test_redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}alfred-sender-bucket:whatsapp:dana");
    let ttl: i64 = deadpool_redis::redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    // Full again after 30 s (15 tokens at 30 a minute), plus the minute of the notice period.
    assert!(ttl > 0 && ttl <= 90_000, "PTTL {key} = {ttl}");
}
