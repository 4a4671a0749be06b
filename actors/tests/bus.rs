//! The bus contract, written once and run against both implementations (`redis_bus::…` on the
//! test Redis, `memory_bus::…` in process, and the Redis bus on a private Redis Cluster,
//! `cluster_bus::…`), plus what only Redis can show: a lost consumer
//! group and an outage.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Bus, BusError, GroupHealth, ReadFrom, StreamEntry};
use alfred_testkit::buses::{
    claim_idle_eventually, grouped_stream, ids, payloads, pending, redis_bus,
    unique_stream as stream,
};
use alfred_testkit::for_both_buses;
use alfred_testkit::redis::{test_redis_url, PrivateRedis};

const GROUP: &str = "group";
const LONG: Duration = Duration::from_secs(5);

/// What consumer "c1" of [`GROUP`] reads of the new entries (up to 10), blocking up to `block`.
async fn read_new(
    bus: &dyn Bus,
    stream: &str,
    block: Duration,
) -> Result<Vec<StreamEntry>, BusError> {
    bus.read(stream, GROUP, "c1", ReadFrom::New, 10, block)
        .await
}

async fn published_entries_are_read_in_order_and_acknowledged(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let sent: Vec<String> = (0..3).map(|n| format!("message {n}")).collect();

    let sent_ids = bus.publish_many(&stream, &sent).await.unwrap();
    let read = read_new(&*bus, &stream, LONG).await.unwrap();
    bus.ack(&stream, GROUP, &sent_ids).await.unwrap();

    assert_eq!(payloads(&read), vec!["message 0", "message 1", "message 2"]);
    assert_eq!(ids(&read), sent_ids);
    assert!(read.iter().all(|entry| entry.deliveries == 1));
    assert!(pending(&*bus, &stream, GROUP, "c1").await.is_empty());
    assert_eq!(bus.len(&stream).await.unwrap(), 3);
}

async fn a_restarted_consumer_rereads_its_own_pending_entries(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    bus.publish(&stream, "first").await.unwrap();
    bus.publish(&stream, "second").await.unwrap();
    let delivered = read_new(&*bus, &stream, LONG).await.unwrap();

    // The consumer "restarts": it reads its pending list before anything new.
    let again = pending(&*bus, &stream, GROUP, "c1").await;
    bus.ack(&stream, GROUP, &[again[0].id.clone()])
        .await
        .unwrap();
    let left = pending(&*bus, &stream, GROUP, "c1").await;

    assert_eq!(payloads(&delivered), vec!["first", "second"]);
    assert_eq!(payloads(&again), vec!["first", "second"]);
    assert!(again.iter().all(|entry| entry.deliveries == 2), "{again:?}");
    assert_eq!(payloads(&left), vec!["second"]);
    assert_eq!(left[0].deliveries, 3);
    assert!(pending(&*bus, &stream, GROUP, "c2").await.is_empty());
}

async fn idle_entries_of_a_dead_consumer_are_claimed_with_their_delivery_counts(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    bus.publish(&stream, "orphan").await.unwrap();
    bus.read(&stream, GROUP, "dead", ReadFrom::New, 10, LONG)
        .await
        .unwrap();
    let not_idle_enough = bus
        .claim_idle(&stream, GROUP, "alive", Duration::from_secs(3600), 10)
        .await
        .unwrap();

    let claimed = claim_idle_eventually(&*bus, &stream, GROUP, "alive", LONG).await;

    assert!(not_idle_enough.is_empty());
    assert_eq!(payloads(&claimed), vec!["orphan"]);
    assert_eq!(claimed[0].deliveries, 2);
    assert!(pending(&*bus, &stream, GROUP, "dead").await.is_empty());
    let owned = pending(&*bus, &stream, GROUP, "alive").await;
    assert_eq!(owned[0].deliveries, 3);
}

async fn kept_entries_move_to_the_keeper_look_fresh_and_are_not_counted(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let id = bus.publish(&stream, "kept").await.unwrap();
    read_new(&*bus, &stream, LONG).await.unwrap();
    let idle = Duration::from_millis(500);
    tokio::time::sleep(idle).await;

    bus.keep_pending(&stream, GROUP, "c2", std::slice::from_ref(&id))
        .await
        .unwrap();
    let claimed = bus
        .claim_idle(&stream, GROUP, "c3", idle, 10)
        .await
        .unwrap();

    assert!(claimed.is_empty(), "a kept entry is not idle: {claimed:?}");
    assert!(pending(&*bus, &stream, GROUP, "c1").await.is_empty());
    let kept = pending(&*bus, &stream, GROUP, "c2").await;
    // The first read, then this pending read: keeping counted nothing.
    assert_eq!(kept[0].deliveries, 2);
}

async fn a_blocking_read_is_woken_by_a_publish(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let reader = {
        let (bus, stream) = (bus.clone(), stream.clone());
        tokio::spawn(async move { read_new(&*bus, &stream, Duration::from_secs(30)).await })
    };

    bus.publish(&stream, "wake up").await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(20), reader)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    assert_eq!(payloads(&read), vec!["wake up"]);
}

async fn concurrent_batches_each_stay_contiguous_and_in_order(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let publishers: Vec<_> = (0..40)
        .map(|task| {
            let (bus, stream) = (bus.clone(), stream.clone());
            tokio::spawn(async move {
                let batch: Vec<String> = (0..5).map(|n| format!("{task}:{n}")).collect();
                bus.publish_many(&stream, &batch).await.unwrap()
            })
        })
        .collect();
    let mut published = Vec::new();
    for publisher in publishers {
        published.push(publisher.await.unwrap());
    }

    let read = bus
        .read(&stream, GROUP, "c1", ReadFrom::New, 1000, LONG)
        .await
        .unwrap();

    assert_eq!(read.len(), 200);
    for chunk in read.chunks(5) {
        let task = chunk[0].payload.split(':').next().unwrap();
        let expected: Vec<String> = (0..5).map(|n| format!("{task}:{n}")).collect();
        assert_eq!(
            payloads(chunk),
            expected.iter().map(String::as_str).collect::<Vec<_>>()
        );
        let returned = &published[task.parse::<usize>().unwrap()];
        assert_eq!(&ids(chunk), returned);
    }
}

/// Publishes to many streams at once (which the writer may coalesce into one batch): each
/// stream gets its own entries, in order, with the ids its publisher was given. On a Redis
/// Cluster the streams' hash tags put them in different slots, so one transaction for the
/// whole batch would fail with CROSSSLOT.
async fn concurrent_publishes_to_many_streams_each_land_in_their_own_stream(bus: Arc<dyn Bus>) {
    let base = stream();
    let streams: Vec<String> = (0..8).map(|n| format!("{base}:{{s{n}}}")).collect();
    for stream in &streams {
        bus.ensure_group(stream, GROUP).await.unwrap();
    }
    let publishers: Vec<_> = (0..40)
        .map(|task| {
            let (bus, stream) = (bus.clone(), streams[task % streams.len()].clone());
            tokio::spawn(async move {
                let batch: Vec<String> = (0..3).map(|n| format!("{task}:{n}")).collect();
                (task, bus.publish_many(&stream, &batch).await.unwrap())
            })
        })
        .collect();
    let mut published = std::collections::BTreeMap::new();
    for publisher in publishers {
        let (task, ids) = publisher.await.unwrap();
        published.insert(task, ids);
    }

    for (n, stream) in streams.iter().enumerate() {
        let read = bus
            .read(stream, GROUP, "c1", ReadFrom::New, 1000, LONG)
            .await
            .unwrap();
        let tasks: Vec<usize> = (0..40).filter(|task| task % streams.len() == n).collect();
        assert_eq!(read.len(), tasks.len() * 3, "{stream}");
        for chunk in read.chunks(3) {
            let task: usize = chunk[0].payload.split(':').next().unwrap().parse().unwrap();
            assert_eq!(task % streams.len(), n, "an entry landed in another stream");
            let expected: Vec<String> = (0..3).map(|i| format!("{task}:{i}")).collect();
            assert_eq!(
                payloads(chunk),
                expected.iter().map(String::as_str).collect::<Vec<_>>()
            );
            assert_eq!(&ids(chunk), &published[&task]);
        }
    }
}

async fn group_health_counts_pending_and_undelivered_entries_and_ages_the_oldest(
    bus: Arc<dyn Bus>,
) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let empty = bus.group_health(&stream, GROUP).await.unwrap();
    bus.publish_many(&stream, &["a".into(), "b".into(), "c".into()])
        .await
        .unwrap();

    let read = bus
        .read(&stream, GROUP, "c1", ReadFrom::New, 2, LONG)
        .await
        .unwrap();
    let behind = bus.group_health(&stream, GROUP).await.unwrap().unwrap();
    bus.ack(&stream, GROUP, &ids(&read)[..1]).await.unwrap();
    let after_ack = bus.group_health(&stream, GROUP).await.unwrap().unwrap();

    assert_eq!(
        empty,
        Some(GroupHealth {
            pending: 0,
            lag: Some(0),
            oldest_pending_age: None
        })
    );
    assert_eq!((behind.pending, behind.lag), (2, Some(1)));
    let age = behind.oldest_pending_age.expect("an entry is pending");
    assert!(age < Duration::from_secs(60), "{age:?}");
    assert_eq!((after_ack.pending, after_ack.lag), (1, Some(1)));
    assert_eq!(
        bus.group_health(&stream, "no-such-group").await.unwrap(),
        None
    );
    let never_created = alfred_testkit::buses::unique_stream();
    assert_eq!(bus.group_health(&never_created, GROUP).await.unwrap(), None);
}

for_both_buses!(
    group_health_counts_pending_and_undelivered_entries_and_ages_the_oldest,
    published_entries_are_read_in_order_and_acknowledged,
    a_restarted_consumer_rereads_its_own_pending_entries,
    idle_entries_of_a_dead_consumer_are_claimed_with_their_delivery_counts,
    kept_entries_move_to_the_keeper_look_fresh_and_are_not_counted,
    a_blocking_read_is_woken_by_a_publish,
    concurrent_batches_each_stay_contiguous_and_in_order,
    concurrent_publishes_to_many_streams_each_land_in_their_own_stream,
);

#[tokio::test]
async fn a_reader_recreates_its_group_after_the_stream_was_deleted_and_loses_nothing() {
    let bus = redis_bus();
    let stream = grouped_stream(&*bus, GROUP).await;
    let client = deadpool_redis::redis::Client::open(test_redis_url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = deadpool_redis::redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut raw)
        .await
        .unwrap();

    // As after a Redis restart without persistence: the webhook writes before any reader runs.
    bus.publish(&stream, "written before the group exists")
        .await
        .unwrap();
    let read = read_new(&*bus, &stream, LONG).await.unwrap();

    assert_eq!(payloads(&read), vec!["written before the group exists"]);
}

#[tokio::test]
async fn publishing_fails_fast_while_redis_is_down_and_works_again_once_it_is_back() {
    let mut redis = PrivateRedis::start();
    let bus = RedisBus::connect(&redis.url()).unwrap();
    let stream = stream();
    bus.publish(&stream, "before").await.unwrap();

    redis.stop();
    let during =
        tokio::time::timeout(Duration::from_secs(10), bus.publish(&stream, "during")).await;
    let read_during = tokio::time::timeout(
        Duration::from_secs(10),
        read_new(&bus, &stream, Duration::from_millis(100)),
    )
    .await;
    redis.start_again();
    // Fails the test unless a publish succeeds again within LONG.
    alfred_testkit::eventually("Redis to take publishes again", LONG, || async {
        bus.publish(&stream, "after").await.ok()
    })
    .await;
    let read_after = read_new(&bus, &stream, LONG).await.unwrap();

    assert!(
        matches!(during, Ok(Err(BusError::Unavailable(_)))),
        "{during:?}"
    );
    assert!(
        matches!(read_during, Ok(Err(BusError::Unavailable(_)))),
        "{read_during:?}"
    );
    assert_eq!(payloads(&read_after), vec!["after"]);
}

#[tokio::test]
async fn a_bus_can_be_built_while_redis_is_down_and_reports_it_on_ping() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    redis.stop();

    let bus = RedisBus::connect(&url).unwrap();
    let ping = bus.ping().await;

    assert!(matches!(ping, Err(BusError::Unavailable(_))), "{ping:?}");
}

#[tokio::test]
async fn a_streams_entries_are_read_newest_first_from_a_cursor_and_deleted_by_id() {
    let bus = redis_bus();
    let stream = stream();
    let sent: Vec<String> = (0..5).map(|n| format!("dead {n}")).collect();
    let ids = bus.publish_many(&stream, &sent).await.unwrap();

    let page = bus
        .entries_newest_first(&stream, "-", "+", 2)
        .await
        .unwrap();
    assert_eq!(
        page,
        vec![
            (ids[4].clone(), "dead 4".to_owned()),
            (ids[3].clone(), "dead 3".to_owned())
        ]
    );
    let next = bus
        .entries_newest_first(&stream, "-", &format!("({}", ids[3]), 10)
        .await
        .unwrap();
    let next_ids: Vec<&str> = next.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(next_ids, vec![&ids[2], &ids[1], &ids[0]]);
    let one = bus
        .entries_newest_first(&stream, &ids[1], &ids[1], 1)
        .await
        .unwrap();
    assert_eq!(one, vec![(ids[1].clone(), "dead 1".to_owned())]);

    let removed = bus
        .delete_entries(&stream, &[ids[1].clone(), "1-1".to_owned()])
        .await
        .unwrap();
    assert_eq!(removed, 1, "only the entry that was there");
    assert!(bus
        .entries_newest_first(&stream, &ids[1], &ids[1], 1)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(bus.len(&stream).await.unwrap(), 4);
}

#[tokio::test]
async fn a_single_node_url_of_a_cluster_node_tells_the_operator_to_list_the_nodes() {
    let cluster = alfred_testkit::redis_cluster::RedisCluster::start();
    let one_node = format!("redis://127.0.0.1:{}", cluster.ports()[0]);
    let bus = RedisBus::connect(&one_node).unwrap();
    let base = stream();
    let mut errors = Vec::new();
    // Ten hash tags over three masters: some of them live on another node.
    for n in 0..10 {
        if let Err(error) = bus.len(&format!("{base}:{{s{n}}}")).await {
            errors.push(error.to_string());
        }
    }
    assert!(!errors.is_empty(), "some keys belong to other nodes");
    for error in errors {
        assert!(
            error.contains("list the cluster's nodes, comma-separated"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn with_a_cluster_master_down_its_slots_are_unavailable_and_the_others_keep_working() {
    let mut cluster = alfred_testkit::redis_cluster::RedisCluster::start();
    let bus = RedisBus::connect(&cluster.url()).unwrap();
    let base = stream();
    let streams: Vec<String> = (0..10).map(|n| format!("{base}:{{s{n}}}")).collect();
    for stream in &streams {
        bus.publish(stream, "before").await.unwrap();
    }
    cluster.kill_node(0);

    let (mut worked, mut unavailable) = (0, 0);
    for stream in &streams {
        // Bounded by the bus's own timeouts; the guard only keeps a hang from stalling the suite.
        let published = tokio::time::timeout(Duration::from_secs(60), bus.publish(stream, "after"))
            .await
            .expect("a publish to a cluster with a master down returns");
        match published {
            Ok(_) => worked += 1,
            Err(BusError::Unavailable(_)) => unavailable += 1,
            Err(other) => panic!("{stream}: not reported as unavailable: {other}"),
        }
    }
    assert!(
        unavailable > 0,
        "some of ten hash tags live on the killed master"
    );
    assert!(worked > 0, "the other masters keep taking writes");
    // Readiness follows the cluster's own verdict, given once the other nodes have missed the
    // master for their node timeout.
    alfred_testkit::eventually(
        "readiness to report the cluster failed",
        LONG * 6,
        || async { matches!(bus.ping().await, Err(BusError::Unavailable(_))).then_some(()) },
    )
    .await;
}
