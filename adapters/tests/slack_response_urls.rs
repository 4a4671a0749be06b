//! A slash command's response URL is found by the reply's sender in another process (after a
//! restart, or on another replica) through the shared bus, with its visibility; without the
//! shared bus only this process knows it.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use alfred_actors::bus::Bus;
use alfred_adapters::slack::{ResponseUrls, Visibility};
use alfred_testkit::buses::{memory_bus, redis_bus};
use alfred_testkit::redis::unique_prefix;

const URL: &str = "https://hooks.slack.com/commands/T0TEAM001/1/abc";

async fn found_by_another_process(bus: Arc<dyn Bus>) {
    let prefix = unique_prefix();
    let edge = ResponseUrls::new();
    edge.share_via(bus.clone(), &prefix);
    edge.remember_shared("T0TEAM001:1", URL, Visibility::InChannel)
        .await;

    // A fresh registry: the process restarted, or another replica sends the reply.
    let sender = ResponseUrls::new();
    assert!(
        sender.lookup("T0TEAM001:1").await.is_none(),
        "not shared yet"
    );
    sender.share_via(bus.clone(), &prefix);
    let found = sender.lookup("T0TEAM001:1").await.unwrap();
    assert_eq!(found.url, URL);
    assert_eq!(found.visibility, Visibility::InChannel);
    assert!(sender.lookup("T0TEAM001:2").await.is_none());

    // Another instance's prefix sees nothing.
    let other = ResponseUrls::new();
    other.share_via(bus, &unique_prefix());
    assert!(other.lookup("T0TEAM001:1").await.is_none());
}

#[actix_web::test]
async fn a_response_url_is_found_by_another_process_through_redis() {
    found_by_another_process(redis_bus()).await;
}

#[actix_web::test]
async fn a_response_url_is_found_through_the_in_memory_bus_too() {
    found_by_another_process(memory_bus()).await;
}

#[actix_web::test]
async fn expiring_values_expire_on_both_buses() {
    for bus in [redis_bus(), memory_bus()] {
        let key = format!("{}value", unique_prefix());
        bus.put_expiring(&key, "v", Duration::from_millis(1))
            .await
            .unwrap();
        let expired = || async { bus.get_value(&key).await.unwrap().is_none().then_some(()) };
        alfred_testkit::eventually("the value to expire", Duration::from_secs(10), expired).await;
        let kept = format!("{}kept", unique_prefix());
        bus.put_expiring(&kept, "v", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(bus.get_value(&kept).await.unwrap().as_deref(), Some("v"));
    }
}
