//! The parts of the bus contract that operators' tools build on, on both implementations:
//! values kept until deleted (a stream's pause flag), a group's consumers with their pending
//! counts and idle times, and the removal of stale consumers, which never takes one with
//! pending entries.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::{Bus, ReadFrom};
use alfred_testkit::buses::{grouped_stream, unique_stream};
use alfred_testkit::for_both_buses;

const GROUP: &str = "group";

/// `(name, pending)` of each consumer, by name.
async fn consumers(bus: &dyn Bus, stream: &str) -> Vec<(String, u64)> {
    let mut consumers: Vec<(String, u64)> = bus
        .consumers(stream, GROUP)
        .await
        .unwrap()
        .into_iter()
        .map(|consumer| (consumer.name, consumer.pending))
        .collect();
    consumers.sort();
    consumers
}

async fn a_value_put_is_kept_until_it_is_deleted(bus: Arc<dyn Bus>) {
    let key = format!("{}flag", unique_stream());
    let before = bus.get_value(&key).await.unwrap();

    bus.put_value(&key, "on").await.unwrap();
    let kept = bus.get_value(&key).await.unwrap();
    bus.delete_value(&key).await.unwrap();
    let after = bus.get_value(&key).await.unwrap();
    bus.delete_value(&key).await.unwrap(); // deleting what is gone is fine

    assert_eq!(before, None);
    assert_eq!(kept.as_deref(), Some("on"));
    assert_eq!(after, None);
}

async fn consumers_are_listed_with_their_pending_counts_and_idle_times(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    let none_yet = consumers(&*bus, &stream).await;
    bus.publish_many(&stream, &["a".into(), "b".into(), "c".into()])
        .await
        .unwrap();

    let read = bus
        .read(&stream, GROUP, "busy", ReadFrom::New, 2, Duration::ZERO)
        .await
        .unwrap();
    bus.ack(&stream, GROUP, &[read[0].id.clone()])
        .await
        .unwrap();
    bus.read(&stream, GROUP, "done", ReadFrom::New, 1, Duration::ZERO)
        .await
        .unwrap();
    let done = bus
        .read(
            &stream,
            GROUP,
            "done",
            ReadFrom::Pending,
            10,
            Duration::ZERO,
        )
        .await
        .unwrap();
    bus.ack(&stream, GROUP, &[done[0].id.clone()])
        .await
        .unwrap();
    let listed = bus.consumers(&stream, GROUP).await.unwrap();

    assert!(none_yet.is_empty());
    assert_eq!(
        consumers(&*bus, &stream).await,
        vec![("busy".to_owned(), 1), ("done".to_owned(), 0)]
    );
    assert!(listed
        .iter()
        .all(|consumer| consumer.idle < Duration::from_secs(60)));
    assert!(bus
        .consumers(&unique_stream(), GROUP)
        .await
        .unwrap()
        .is_empty());
    assert!(bus
        .consumers(&stream, "no-such-group")
        .await
        .unwrap()
        .is_empty());
}

async fn only_consumers_with_nothing_pending_idle_long_enough_are_removed(bus: Arc<dyn Bus>) {
    let stream = grouped_stream(&*bus, GROUP).await;
    bus.publish_many(&stream, &["kept for the busy one".into(), "handled".into()])
        .await
        .unwrap();
    bus.read(&stream, GROUP, "busy", ReadFrom::New, 1, Duration::ZERO)
        .await
        .unwrap();
    // A former replica's consumer: it handled its entry and was never seen again.
    let handled = bus
        .read(&stream, GROUP, "former", ReadFrom::New, 1, Duration::ZERO)
        .await
        .unwrap();
    bus.ack(&stream, GROUP, &[handled[0].id.clone()])
        .await
        .unwrap();

    // Nobody has been idle for an hour: nothing goes.
    let too_soon = bus
        .remove_idle_consumers(&stream, GROUP, Duration::from_secs(3600))
        .await
        .unwrap();
    let removed = bus
        .remove_idle_consumers(&stream, GROUP, Duration::ZERO)
        .await
        .unwrap();

    assert!(too_soon.is_empty(), "{too_soon:?}");
    assert_eq!(removed, vec!["former".to_owned()]);
    assert_eq!(
        consumers(&*bus, &stream).await,
        vec![("busy".to_owned(), 1)],
        "a consumer with a pending entry is never removed"
    );
    let missing = bus
        .remove_idle_consumers(&unique_stream(), GROUP, Duration::ZERO)
        .await
        .unwrap();
    assert!(missing.is_empty());
}

for_both_buses!(
    a_value_put_is_kept_until_it_is_deleted,
    consumers_are_listed_with_their_pending_counts_and_idle_times,
    only_consumers_with_nothing_pending_idle_long_enough_are_removed,
);
