//! `Bus::trim_handled` on both buses (`redis_bus::…` on the test Redis, `memory_bus::…` in
//! process): only what every group has been given and has acknowledged goes, consumers carry on
//! normally afterwards, and, on Redis, ids compare as numbers, failures map to the right
//! `BusError`, and trimming alongside busy readers loses nothing.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Bus, BusError, ReadFrom, StreamEntry};
use alfred_actors::names::PAYLOAD_FIELD;
use alfred_testkit::buses::{
    claim_idle_eventually, grouped_stream, ids, memory_bus, payloads, pending, redis_bus,
    unique_stream as stream,
};
use alfred_testkit::for_both_buses;
use alfred_testkit::redis::{test_redis_url, PrivateRedis};
use deadpool_redis::redis::{self, aio::MultiplexedConnection};
use tokio::time::Instant;

const GROUP: &str = "group";
const LONG: Duration = Duration::from_secs(5);

fn numbered(count: usize) -> Vec<String> {
    (0..count).map(|n| format!("m{n}")).collect()
}

async fn read_new(bus: &Arc<dyn Bus>, stream: &str, group: &str, count: usize) -> Vec<StreamEntry> {
    bus.read(stream, group, "c1", ReadFrom::New, count, LONG)
        .await
        .unwrap()
}

async fn acknowledged_entries_go_and_pending_ones_stay_with_everything_after_them(
    bus: Arc<dyn Bus>,
) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let sent = bus.publish_many(&stream, &numbered(5)).await.unwrap();
    read_new(&bus, &stream, GROUP, 10).await;
    bus.ack(
        &stream,
        GROUP,
        &[sent[0].clone(), sent[1].clone(), sent[3].clone()],
    )
    .await
    .unwrap();

    let removed = bus.trim_handled(&stream).await.unwrap();
    let len = bus.len(&stream).await.unwrap();
    let still_pending = pending(&*bus, &stream, GROUP, "c1").await;

    // m2 is pending: it stays, and so does m3 (acknowledged, but after it) and m4.
    assert_eq!(removed, 2);
    assert_eq!(len, 3);
    assert_eq!(payloads(&still_pending), vec!["m2", "m4"]);

    bus.ack(&stream, GROUP, &[sent[2].clone(), sent[4].clone()])
        .await
        .unwrap();
    let removed = bus.trim_handled(&stream).await.unwrap();
    let again = bus.trim_handled(&stream).await.unwrap();

    // Everything is acknowledged; the last delivered entry stays.
    assert_eq!(removed, 2);
    assert_eq!(again, 0);
    assert_eq!(bus.len(&stream).await.unwrap(), 1);
}

async fn entries_not_yet_delivered_stay(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    bus.publish_many(&stream, &numbered(4)).await.unwrap();
    let first = read_new(&bus, &stream, GROUP, 2).await;
    bus.ack(&stream, GROUP, &ids(&first)).await.unwrap();

    let removed = bus.trim_handled(&stream).await.unwrap();
    let len = bus.len(&stream).await.unwrap();
    let rest = read_new(&bus, &stream, GROUP, 10).await;

    assert_eq!(payloads(&first), vec!["m0", "m1"]);
    // m0 goes; m1, the last delivered, may stay; m2 and m3 were never delivered.
    assert_eq!(removed, 1);
    assert_eq!(len, 3);
    assert_eq!(payloads(&rest), vec!["m2", "m3"]);
}

async fn with_two_groups_only_what_the_slower_one_handled_goes(bus: Arc<dyn Bus>) {
    let stream = stream();
    bus.ensure_group(&stream, "fast").await.unwrap();
    bus.ensure_group(&stream, "slow").await.unwrap();
    bus.publish_many(&stream, &numbered(6)).await.unwrap();
    let fast = read_new(&bus, &stream, "fast", 10).await;
    bus.ack(&stream, "fast", &ids(&fast)).await.unwrap();
    let slow = read_new(&bus, &stream, "slow", 3).await;
    bus.ack(&stream, "slow", &ids(&slow[..2])).await.unwrap();

    // "slow" still has m2 pending, and m3..m5 were given to "fast" only.
    let while_pending = bus.trim_handled(&stream).await.unwrap();
    bus.ack(&stream, "slow", &ids(&slow[2..])).await.unwrap();
    // m2 is now the last entry delivered to "slow": it may stay.
    let after_ack = bus.trim_handled(&stream).await.unwrap();
    let slow_rest = read_new(&bus, &stream, "slow", 10).await;
    let before_rest_acked = bus.trim_handled(&stream).await.unwrap();
    bus.ack(&stream, "slow", &ids(&slow_rest)).await.unwrap();
    let all_acked = bus.trim_handled(&stream).await.unwrap();

    assert_eq!(payloads(&fast).len(), 6);
    assert_eq!(while_pending, 2);
    assert_eq!(after_ack, 0);
    assert_eq!(payloads(&slow_rest), vec!["m3", "m4", "m5"]);
    // m2 was only kept as the last delivered entry; now m3 is the oldest pending one.
    assert_eq!(before_rest_acked, 1);
    assert_eq!(all_acked, 2);
    assert_eq!(bus.len(&stream).await.unwrap(), 1);
}

async fn a_stream_without_groups_and_a_missing_stream_are_left_alone(bus: Arc<dyn Bus>) {
    let without_groups = stream();
    let missing = stream();
    bus.publish_many(&without_groups, &numbered(3))
        .await
        .unwrap();

    let removed_without_groups = bus.trim_handled(&without_groups).await.unwrap();
    let removed_missing = bus.trim_handled(&missing).await.unwrap();

    assert_eq!(removed_without_groups, 0);
    assert_eq!(bus.len(&without_groups).await.unwrap(), 3);
    assert_eq!(removed_missing, 0);
    assert_eq!(bus.len(&missing).await.unwrap(), 0);
}

async fn after_trimming_consumers_read_claim_and_acknowledge_as_before(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let sent = bus.publish_many(&stream, &numbered(3)).await.unwrap();
    bus.read(&stream, GROUP, "dead", ReadFrom::New, 10, LONG)
        .await
        .unwrap();
    bus.ack(&stream, GROUP, &sent[..1]).await.unwrap();
    let first_trim = bus.trim_handled(&stream).await.unwrap();

    let claimed = claim_idle_eventually(&*bus, &stream, GROUP, "alive", LONG).await;
    bus.ack(&stream, GROUP, &ids(&claimed)).await.unwrap();
    let second_trim = bus.trim_handled(&stream).await.unwrap();
    bus.publish(&stream, "m3").await.unwrap();
    let fresh = bus
        .read(&stream, GROUP, "alive", ReadFrom::New, 10, LONG)
        .await
        .unwrap();
    bus.ack(&stream, GROUP, &ids(&fresh)).await.unwrap();
    let third_trim = bus.trim_handled(&stream).await.unwrap();

    assert_eq!(first_trim, 1);
    assert_eq!(payloads(&claimed), vec!["m1", "m2"]);
    assert!(
        claimed.iter().all(|entry| entry.deliveries == 2),
        "{claimed:?}"
    );
    assert_eq!(second_trim, 1);
    assert_eq!(payloads(&fresh), vec!["m3"]);
    assert_eq!(third_trim, 1);
    assert_eq!(bus.len(&stream).await.unwrap(), 1);
    for consumer in ["dead", "alive"] {
        assert!(pending(&*bus, &stream, GROUP, consumer).await.is_empty());
    }
}

for_both_buses!(
    acknowledged_entries_go_and_pending_ones_stay_with_everything_after_them,
    entries_not_yet_delivered_stay,
    with_two_groups_only_what_the_slower_one_handled_goes,
    a_stream_without_groups_and_a_missing_stream_are_left_alone,
    after_trimming_consumers_read_claim_and_acknowledge_as_before,
);

async fn raw_connection() -> MultiplexedConnection {
    redis::Client::open(test_redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Entries with explicit ids (the bus only publishes with `*`), read by two groups so that
/// their oldest pending entries are `ids[2]` ("ahead") and `ids[1]` ("behind"): only `ids[0]`
/// may go. Compared as text, `ids[2]` would look older than `ids[1]` and `ids[1]` would go too.
async fn trim_with_explicit_ids(ids: [&str; 4]) {
    let bus = redis_bus();
    let stream = stream();
    bus.ensure_group(&stream, "ahead").await.unwrap();
    bus.ensure_group(&stream, "behind").await.unwrap();
    let mut raw = raw_connection().await;
    for id in ids {
        let _: String = redis::cmd("XADD")
            .arg(&stream)
            .arg(id)
            .arg(PAYLOAD_FIELD)
            .arg(id)
            .query_async(&mut raw)
            .await
            .unwrap();
    }
    read_new(&bus, &stream, "ahead", 10).await;
    bus.ack(&stream, "ahead", &[ids[0].to_owned(), ids[1].to_owned()])
        .await
        .unwrap();
    read_new(&bus, &stream, "behind", 2).await;
    bus.ack(&stream, "behind", &[ids[0].to_owned()])
        .await
        .unwrap();

    let removed = bus.trim_handled(&stream).await.unwrap();
    let left: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut raw)
        .await
        .unwrap();

    assert_eq!(removed, 1);
    assert_eq!(
        left.into_iter().map(|(id, _)| id).collect::<Vec<_>>(),
        ids[1..].to_vec()
    );
}

#[tokio::test]
async fn ids_across_a_millisecond_boundary_compare_as_numbers() {
    trim_with_explicit_ids(["8-0", "9-0", "10-0", "11-0"]).await;
}

#[tokio::test]
async fn sequence_numbers_compare_as_numbers() {
    trim_with_explicit_ids(["7-8", "7-9", "7-10", "7-11"]).await;
}

#[tokio::test]
async fn ids_beyond_what_a_double_holds_compare_exactly() {
    // As doubles (Lua numbers), 2^53 and 2^53 + 1 are the same number.
    trim_with_explicit_ids([
        "9007199254740991-0",
        "9007199254740992-0",
        "9007199254740993-0",
        "9007199254740994-0",
    ])
    .await;
}

#[tokio::test]
async fn trimming_a_key_that_is_not_a_stream_is_an_error_not_unavailable() {
    let bus = redis_bus();
    let key = stream();
    let mut raw = raw_connection().await;
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("text")
        .query_async(&mut raw)
        .await
        .unwrap();

    let result = bus.trim_handled(&key).await;

    assert!(matches!(result, Err(BusError::Other(_))), "{result:?}");
}

#[tokio::test]
async fn trimming_while_redis_is_down_is_unavailable() {
    let mut redis = PrivateRedis::start();
    let bus = RedisBus::connect(&redis.url()).unwrap();
    redis.stop();

    let result = tokio::time::timeout(Duration::from_secs(10), bus.trim_handled("stream")).await;

    assert!(
        matches!(result, Ok(Err(BusError::Unavailable(_)))),
        "{result:?}"
    );
}

const TOTAL: usize = 2000;

/// Reads every entry for `group`, acknowledging each batch only after reading the next one,
/// so that entries are pending while the trimmer runs. Returns the ids in the order read.
async fn read_everything(bus: Arc<dyn Bus>, stream: String, group: &'static str) -> Vec<String> {
    let mut read = Vec::with_capacity(TOTAL);
    let mut unacked: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while read.len() < TOTAL && Instant::now() < deadline {
        let batch = bus
            .read(
                &stream,
                group,
                "c1",
                ReadFrom::New,
                7,
                Duration::from_millis(100),
            )
            .await
            .unwrap();
        bus.ack(&stream, group, &unacked).await.unwrap();
        unacked = ids(&batch);
        read.extend(unacked.iter().cloned());
    }
    bus.ack(&stream, group, &unacked).await.unwrap();
    read
}

/// A publisher, a reader per group (each with entries pending most of the time) and a trimmer
/// run at once; every entry must reach both groups exactly once, in order.
async fn trim_alongside_publishers_and_readers(bus: Arc<dyn Bus>) {
    let stream = stream();
    bus.ensure_group(&stream, "a").await.unwrap();
    bus.ensure_group(&stream, "b").await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let trims = Arc::new(AtomicU64::new(0));

    let trimmer = {
        let (bus, stream, done, trims) = (bus.clone(), stream.clone(), done.clone(), trims.clone());
        tokio::spawn(async move {
            let mut removed = 0;
            while !done.load(Ordering::SeqCst) {
                removed += bus.trim_handled(&stream).await.unwrap();
                trims.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            removed
        })
    };
    let reader_a = tokio::spawn(read_everything(bus.clone(), stream.clone(), "a"));
    let reader_b = tokio::spawn(read_everything(bus.clone(), stream.clone(), "b"));
    let publisher = {
        let (bus, stream, trims) = (bus.clone(), stream.clone(), trims.clone());
        tokio::spawn(async move {
            let mut published = Vec::with_capacity(TOTAL);
            let mut size = 1;
            let deadline = Instant::now() + Duration::from_secs(60);
            while published.len() < TOTAL {
                let batch = numbered(size.min(TOTAL - published.len()));
                published.extend(bus.publish_many(&stream, &batch).await.unwrap());
                size = size % 9 + 1;
                // Let a trim complete between batches, however fast the bus is, so that
                // trims interleave with publishing and reading.
                let before = trims.load(Ordering::SeqCst);
                while trims.load(Ordering::SeqCst) == before {
                    assert!(Instant::now() < deadline, "the trimmer stopped");
                    tokio::task::yield_now().await;
                }
            }
            published
        })
    };

    let published = publisher.await.unwrap();
    let read_a = reader_a.await.unwrap();
    let read_b = reader_b.await.unwrap();
    done.store(true, Ordering::SeqCst);
    let removed_meanwhile = trimmer.await.unwrap();
    let removed_at_the_end = bus.trim_handled(&stream).await.unwrap();
    let len = bus.len(&stream).await.unwrap();

    assert_eq!(published.len(), TOTAL);
    assert_eq!(read_a, published, "group a did not read every entry once");
    assert_eq!(read_b, published, "group b did not read every entry once");
    for group in ["a", "b"] {
        assert!(pending(&*bus, &stream, group, "c1").await.is_empty());
    }
    assert_eq!(removed_meanwhile + removed_at_the_end + len, TOTAL as u64);
    assert_eq!(len, 1, "only the last delivered entry stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trimming_alongside_publishers_and_readers_loses_nothing_on_redis() {
    trim_alongside_publishers_and_readers(redis_bus()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trimming_alongside_publishers_and_readers_loses_nothing_in_memory() {
    trim_alongside_publishers_and_readers(memory_bus()).await;
}
