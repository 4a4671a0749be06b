//! The janitor on the real Redis and Postgres: a pass trims what every group acknowledged,
//! keeps what is pending, purges what finished before the retention period by the runtime's
//! clock, removes consumers with nothing pending (never one with pending entries), and counts
//! it all in `alfred_janitor_removed_total`.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use actix::Actor;
use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Bus, ReadFrom};
use alfred_actors::clock::ManualClock;
use alfred_actors::janitor::{sweep_once, Janitor, JanitorConfig, SweepNow};
use alfred_actors::messages::Platform;
use alfred_actors::metrics::Metrics;
use alfred_actors::skill::ReplyOnly;
use alfred_actors::store::migrate;
use alfred_actors::store::{Commit, InboxKey, PgStore, ReplyTarget, SendResult, Store};
use alfred_testkit::db::TestDb;
use alfred_testkit::redis::{test_redis_url, unique_prefix};

const DAY: Duration = Duration::from_secs(86_400);

fn key(id: &str) -> InboxKey {
    InboxKey {
        platform: Platform::Slack,
        message_id: id.to_owned(),
        person_at: None,
        fence: None,
    }
}

fn target() -> ReplyTarget {
    ReplyTarget {
        platform: Platform::Slack,
        account: "T0TEAM001".into(),
        to: "D0OWNER01".into(),
        to_group: false,
        thread: None,
        reply_to: None,
        traceparent: None,
    }
}

async fn answered(store: &PgStore, id: &str) -> i64 {
    let effect = Box::new(ReplyOnly(vec!["ok".into()]));
    match store.commit(key(id), effect, target()).await.unwrap() {
        Commit::Done(replies) => replies[0].outbox_id,
        Commit::Duplicate => panic!("{id} was a duplicate"),
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[actix_rt::test]
async fn a_pass_trims_acknowledged_entries_and_purges_what_finished_before_the_retention() {
    let db = TestDb::create().await;
    let store = Arc::new(PgStore::connect(db.url()).unwrap());
    migrate::migrate(store.pool()).await.unwrap();
    let bus = Arc::new(RedisBus::connect(&test_redis_url()).unwrap());
    let stream = format!("{}biz:alfred-ingest", unique_prefix());
    let dead_stream = format!("{stream}:dead");

    // Three entries read by the group, two acknowledged, one still pending; before them, one
    // handled by a former replica's consumer that was never seen again.
    bus.ensure_group(&stream, "g").await.unwrap();
    bus.publish(&stream, "handled by a former replica")
        .await
        .unwrap();
    let handled = bus
        .read(&stream, "g", "former", ReadFrom::New, 1, Duration::ZERO)
        .await
        .unwrap();
    bus.ack(&stream, "g", &[handled[0].id.clone()])
        .await
        .unwrap();
    for n in 0..3 {
        bus.publish(&stream, &format!("entry {n}")).await.unwrap();
    }
    bus.publish(&dead_stream, "kept for an operator")
        .await
        .unwrap();
    let read = bus
        .read(&stream, "g", "c", ReadFrom::New, 10, Duration::ZERO)
        .await
        .unwrap();
    let acked: Vec<String> = read[..2].iter().map(|entry| entry.id.clone()).collect();
    bus.ack(&stream, "g", &acked).await.unwrap();

    // Two replies: one sent, one dead.
    let sent = answered(&store, "T0TEAM001:Ev1").await;
    let dead = answered(&store, "T0TEAM001:Ev2").await;
    for (id, result) in [
        (sent, SendResult::Sent { provider_id: None }),
        (
            dead,
            SendResult::Dead {
                reason: "channel_not_found".into(),
            },
        ),
    ] {
        store.claim_outbox(id, DAY).await.unwrap().unwrap();
        store.record_send(id, result).await.unwrap();
    }

    let clock = ManualClock::new(chrono::Utc::now());
    let metrics = Metrics::new().unwrap();
    let config = JanitorConfig {
        bus: bus.clone(),
        store: store.clone(),
        clock: Arc::new(clock.clone()),
        metrics: metrics.clone(),
        streams: vec![stream.clone()],
        retention: 30 * DAY,
        interval: DAY,
        groups: vec![(stream.clone(), "g".to_owned())],
        // Any idle time: only whether something is pending decides here.
        stale_consumer_idle: Duration::ZERO,
    };

    let first = sweep_once(&config).await.unwrap();
    assert_eq!(first.stream_entries, 3, "the acknowledged entries");
    assert_eq!(
        (first.purged.inbox, first.purged.outbox),
        (0, 0),
        "nothing finished 30 days ago"
    );
    assert_eq!(
        bus.len(&stream).await.unwrap(),
        1,
        "the pending entry stays"
    );
    assert_eq!(bus.len(&dead_stream).await.unwrap(), 1);
    assert_eq!(first.stale_consumers, 1, "the former replica's consumer");
    let consumers: Vec<String> = bus
        .consumers(&stream, "g")
        .await
        .unwrap()
        .into_iter()
        .map(|consumer| consumer.name)
        .collect();
    assert_eq!(
        consumers,
        vec!["c"],
        "the consumer with a pending entry stays"
    );
    let pending = bus
        .read(&stream, "g", "c", ReadFrom::Pending, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "and can still be handled");
    assert_eq!(pending[0].payload, "entry 2");

    // A month later the supervised actor's first pass (at start-up) purges.
    assert!(clock.advance(chrono::Duration::days(31)));
    let janitor = Janitor::new(config).start();
    let later = janitor.send(SweepNow).await.unwrap().unwrap();
    let inbox_counted = "alfred_janitor_removed_total{what=\"inbox\"} 2";
    alfred_testkit::eventually(
        "the start-up pass to count the purged inbox rows",
        Duration::from_secs(10),
        || std::future::ready(metrics.render().contains(inbox_counted).then_some(())),
    )
    .await;
    assert_eq!(
        later.purged,
        Default::default(),
        "the start-up pass had purged it already"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM inbox").await, 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM outbox WHERE state = 'sent'").await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM outbox WHERE state = 'dead'").await,
        1,
        "dead replies stay for operators"
    );
    assert!(metrics
        .render()
        .contains("alfred_janitor_removed_total{what=\"outbox\"} 1"));
    db.drop().await;
}
