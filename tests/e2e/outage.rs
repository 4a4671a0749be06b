//! A Postgres outage: messages accepted while the store is down wait for it, however long it
//! lasts, and are answered exactly once, in each sender's order, once it is back — none is
//! dead-lettered.

use std::time::{Duration, Instant};

use alfred_testkit::postgres::PrivatePostgres;
use alfred_testkit::whatsapp;

use crate::helpers::*;

/// `INGEST_MAX_DELIVERIES × INGEST_CLAIM_IDLE_MS` of the test settings (3 × 400 ms): an entry
/// failing that long would be dead-lettered if every attempt counted as a delivery.
const DEAD_LETTERED_AFTER: Duration = Duration::from_millis(3 * 400);

#[actix_rt::test]
async fn messages_received_during_a_postgres_outage_are_answered_once_in_order_when_it_is_back() {
    let mut postgres = PrivatePostgres::start();
    let backends = Backends::on_postgres(&postgres.url()).await;
    let app = TestApp::spawn_on(backends, &[], Vec::new()).await;
    let messages = [
        ("15550008801", "Ada", "wamid.OUT1", "add apples"),
        ("15550008802", "Bo", "wamid.OUT2", "add bread"),
        ("15550008801", "Ada", "wamid.OUT3", "add cheese"),
        ("15550008802", "Bo", "wamid.OUT4", "add dates"),
        ("15550008801", "Ada", "wamid.OUT5", "add eggs"),
    ];

    // A running Alfred: its partitions acquired (which needs Postgres, for their fences).
    app.owns_every_partition().await;
    postgres.stop();
    for (from, name, wamid, text) in messages {
        let body = whatsapp::text_message(PHONE_ID, from, name, wamid, text);
        let response = app.post_signed(&body).await;
        assert_eq!(
            response.status(),
            200,
            "Redis is up, so {wamid} is accepted"
        );
    }
    // Wait twice the time after which the entries would have been dead-lettered, checking all
    // along that they are held without a single counted redelivery.
    let outage = Instant::now();
    eventually("the outage to outlast the dead-letter time", || async {
        let pending = app.backends.ingest_pending_entries().await;
        assert!(
            pending.iter().all(|(_, deliveries)| *deliveries == 1),
            "an attempt during the outage counted as a delivery: {pending:?}"
        );
        assert_eq!(app.backends.stream_len("alfred-ingest:dead").await, 0);
        let outlasted = !pending.is_empty() && outage.elapsed() >= 2 * DEAD_LETTERED_AFTER;
        outlasted.then_some(())
    })
    .await;
    assert_eq!(app.backends.stream_len("alfred-ingest:dead").await, 0);
    assert!(app.backends.graph.requests().is_empty());

    postgres.start_again();
    let sends = app.backends.graph.wait_for_requests(5, DEADLINE).await;
    app.quiescent().await;

    assert_eq!(
        app.backends.graph.requests().len(),
        5,
        "one reply per message"
    );
    let replies_to = |to: &str| -> Vec<String> {
        sends
            .iter()
            .filter(|send| send.body["to"] == to)
            .map(|send| {
                send.body["context"]["message_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        replies_to("15550008801"),
        vec!["wamid.OUT1", "wamid.OUT3", "wamid.OUT5"],
        "Ada's replies in the order she wrote"
    );
    assert_eq!(
        replies_to("15550008802"),
        vec!["wamid.OUT2", "wamid.OUT4"],
        "Bo's replies in the order he wrote"
    );
    assert_eq!(app.backends.stream_len("alfred-ingest:dead").await, 0);
    assert_eq!(app.backends.stream_len("alfred-outbox:dead").await, 0);
    assert_eq!(
        app.backends.grocery_items().await,
        vec!["apples", "bread", "cheese", "dates", "eggs"]
    );
}
