//! Pausing and resuming consumption for the whole deployment, and the streams' health, through
//! the admin API on real Redis and Postgres (and the in-process bus in ephemeral mode).
//!
//! No test waits a fixed time to show that nothing happened: each first makes the readers'
//! pause observable (`GET /admin/streams` says how many of a replica's readers hold off), then
//! waits for the readers' own sample of the stream (`alfred_stream_lag`) to show the backlog
//! they left alone, which proves they ran after the webhooks were stored and took nothing.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::graph::FakeGraph;
use alfred_testkit::whatsapp;
use serde_json::Value;

use crate::helpers::*;

const DANA: &str = "15550001111";

/// `POST` to the admin API with the key: the status and the JSON answer.
async fn admin_post(admin: &str, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{admin}{path}"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One stream (`ingest`, `outbox`) of `GET /admin/streams` on the admin API at `admin`.
async fn stream_view(admin: &str, name: &str) -> Value {
    let listed: Value = reqwest::Client::new()
        .get(format!("{admin}/admin/streams"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stream| stream["stream"] == name)
        .cloned()
        .unwrap()
}

/// Waits until the stream is paused and every reader of it on the replica at `admin` holds off.
async fn wait_until_held_off(admin: &str, name: &str) {
    eventually("the replica's readers to hold off", || async {
        let view = stream_view(admin, name).await;
        (view["paused"] == true
            && view["readers_here"].as_u64()? > 0
            && view["readers_paused_here"] == view["readers_here"])
            .then_some(())
    })
    .await;
}

/// Waits until the reader of `stream` in the Alfred at `app` has sampled a lag of `lag`.
async fn wait_for_sampled_lag(app: &TestApp, stream: &str, lag: u64) {
    let series = format!(
        "alfred_stream_lag{{stream=\"{}\"}}",
        app.backends.stream_key(stream)
    );
    eventually(
        "the readers to sample the backlog they leave alone",
        || async { (app.metric(&series).await == lag).then_some(()) },
    )
    .await;
}

/// A second replica on the first one's Postgres, Redis and key prefix, with its own fake Graph
/// API (so each one's sends can be told apart) and its own `HOSTNAME`.
async fn second_replica(first: &TestApp, extra: &[(&str, String)]) -> TestApp {
    let backends = Backends {
        db: first.backends.db.clone(),
        prefix: first.backends.prefix.clone(),
        redis_url: first.backends.redis_url.clone(),
        graph: FakeGraph::start().await,
        instance: first.backends.instance,
    };
    TestApp::spawn_on(backends, extra, Vec::new()).await
}

/// A replica on the single `alfred-ingest` stream (`INGEST_PARTITIONS=0`, the rollback mode):
/// these tests look at that stream's own entries, consumers and janitor. The partitions'
/// view is `partitions_admin.rs`.
fn replica(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOSTNAME", name.to_owned()),
        ("INGEST_PARTITIONS", "0".to_owned()),
        // Longer than handling the backlog takes, so the replica that reads it keeps it.
        ("INGEST_CLAIM_IDLE_MS", "4000".to_owned()),
    ]
}

#[actix_rt::test]
async fn pausing_ingest_on_one_replica_holds_both_and_resuming_answers_each_message_once_in_order()
{
    let first = TestApp::spawn_on(Backends::new().await, &replica("replica-a"), Vec::new()).await;
    let second = second_replica(&first, &replica("replica-b")).await;

    let (status, paused) = admin_post(&first.admin, "/admin/streams/ingest/pause").await;
    assert_eq!(status, 200);
    assert_eq!(paused["paused"], true);
    wait_until_held_off(&first.admin, "ingest").await;
    wait_until_held_off(&second.admin, "ingest").await;
    // Milk added and removed: only eggs are left when the three are handled in order.
    let messages = [
        ("wamid.PAUSE1", "add milk"),
        ("wamid.PAUSE2", "add eggs"),
        ("wamid.PAUSE3", "remove milk"),
    ];
    for (n, (id, text)) in messages.iter().enumerate() {
        let replica = if n % 2 == 0 { &first } else { &second };
        let body = whatsapp::text_message(PHONE_ID, DANA, "Dana", id, text);
        assert_eq!(replica.post_signed(&body).await.status(), 200, "accepted");
    }
    wait_for_sampled_lag(&first, "alfred-ingest", 3).await;
    wait_for_sampled_lag(&second, "alfred-ingest", 3).await;

    let sent_while_paused =
        first.backends.graph.requests().len() + second.backends.graph.requests().len();
    let backlog = first
        .backends
        .group_backlog("alfred-ingest", "alfred-orchestrators")
        .await;
    let (status, resumed) = admin_post(&second.admin, "/admin/streams/ingest/resume").await;
    eventually("every message to be answered", || async {
        let sent = first.backends.graph.requests().len() + second.backends.graph.requests().len();
        (sent >= messages.len()).then_some(())
    })
    .await;
    first.quiescent().await;

    assert_eq!(
        sent_while_paused, 0,
        "nothing is answered while ingest is paused"
    );
    assert_eq!(backlog, (0, 3), "all three wait in the stream, undelivered");
    assert_eq!((status, &resumed["paused"]), (200, &Value::Bool(false)));
    let mut answered: Vec<String> = first
        .backends
        .graph
        .requests()
        .iter()
        .chain(second.backends.graph.requests().iter())
        .map(|request| request.reply_to().unwrap().to_owned())
        .collect();
    answered.sort();
    assert_eq!(
        answered,
        vec!["wamid.PAUSE1", "wamid.PAUSE2", "wamid.PAUSE3"],
        "each answered once"
    );
    assert_eq!(
        first.backends.grocery_items().await,
        vec!["eggs"],
        "in order"
    );
}

#[actix_rt::test]
async fn pausing_the_outbox_commits_replies_but_sends_none_until_it_is_resumed() {
    let app = TestApp::spawn_with(&[("OUTBOX_CLAIM_IDLE_MS", "1000".to_owned())], Vec::new()).await;
    let (status, _) = admin_post(&app.admin, "/admin/streams/outbox/pause").await;
    assert_eq!(status, 200);
    wait_until_held_off(&app.admin, "outbox").await;

    let body = whatsapp::text_message(PHONE_ID, DANA, "Dana", "wamid.HELD1", "add bananas");
    assert_eq!(app.post_signed(&body).await.status(), 200);
    eventually("the message to be handled", || async {
        app.backends.inbox_has("wamid.HELD1").await.then_some(())
    })
    .await;
    wait_for_sampled_lag(&app, "alfred-outbox", 1).await;
    let sent_while_paused = app.backends.graph.requests().len();
    let rows_while_paused = app.backends.outbox_states().await;

    admin_post(&app.admin, "/admin/streams/outbox/resume").await;
    let sent = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.quiescent().await;

    assert_eq!(
        sent_while_paused, 0,
        "nothing is sent while the outbox is paused"
    );
    assert!(
        rows_while_paused.iter().all(|(state, _)| state != "sent"),
        "{rows_while_paused:?}"
    );
    assert_eq!(
        rows_while_paused.iter().map(|(_, n)| n).sum::<i64>(),
        1,
        "committed"
    );
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reply_to(), Some("wamid.HELD1"));
    assert_eq!(app.backends.graph.requests().len(), 1, "sent once");
}

/// Adds a raw entry to one of the test's streams.
async fn xadd(backends: &Backends, stream: &str, payload: &str) {
    let client = deadpool_redis::redis::Client::open(backends.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: String = deadpool_redis::redis::cmd("XADD")
        .arg(backends.stream_key(stream))
        .arg("*")
        .arg("payload")
        .arg(payload)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// `consumer` of the ingest group reads `count` new entries (`XREADGROUP`), leaving them
/// pending, as a replica that died would.
async fn take_pending(backends: &Backends, consumer: &str, count: usize) {
    let client = deadpool_redis::redis::Client::open(backends.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: Value = deadpool_redis::redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(backends.group_name("alfred-orchestrators"))
        .arg(consumer)
        .arg("COUNT")
        .arg(count)
        .arg("STREAMS")
        .arg(backends.stream_key("alfred-ingest"))
        .arg(">")
        .query_async(&mut conn)
        .await
        .map(|_: deadpool_redis::redis::Value| Value::Null)
        .unwrap();
}

fn consumer<'a>(view: &'a Value, name: &str) -> Option<&'a Value> {
    view["consumers"]
        .as_array()?
        .iter()
        .find(|consumer| consumer["name"] == name)
}

#[actix_rt::test]
async fn the_streams_endpoint_shows_length_lag_pending_consumers_dead_letters_and_the_pause() {
    let app = TestApp::spawn_with(&replica("replica-s"), Vec::new()).await;
    let body = whatsapp::text_message(PHONE_ID, DANA, "Dana", "wamid.S1", "add tea");
    app.post_signed(&body).await;
    app.backends.graph.wait_for_requests(1, DEADLINE).await;
    // The fake Graph API's status callback of the reply is an ingest entry too.
    eventually("the reply's status callback to be handled", || async {
        let statuses = app
            .metric("alfred_messages_processed_total{result=\"status\"}")
            .await;
        (statuses >= 1).then_some(())
    })
    .await;
    app.quiescent().await;
    admin_post(&app.admin, "/admin/streams/ingest/pause").await;
    wait_until_held_off(&app.admin, "ingest").await;
    let length_before = stream_view(&app.admin, "ingest").await["length"]
        .as_u64()
        .unwrap();
    for (id, text) in [("wamid.S2", "add milk"), ("wamid.S3", "add eggs")] {
        let body = whatsapp::text_message(PHONE_ID, DANA, "Dana", id, text);
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    take_pending(&app.backends, "crashed-host-ingest-0", 1).await;
    xadd(&app.backends, "alfred-ingest:dead", "{}").await;

    let ingest = stream_view(&app.admin, "ingest").await;
    let outbox = stream_view(&app.admin, "outbox").await;
    let unknown_stream = admin_post(&app.admin, "/admin/streams/sideways/pause").await;
    let unknown_action = admin_post(&app.admin, "/admin/streams/ingest/explode").await;
    let without_key = reqwest::Client::new()
        .get(format!("{}/admin/streams", app.admin))
        .send()
        .await
        .unwrap()
        .status();

    assert_eq!(ingest["key"], app.backends.stream_key("alfred-ingest"));
    assert_eq!(
        ingest["group"],
        app.backends.group_name("alfred-orchestrators")
    );
    assert_eq!(ingest["length"], length_before + 2, "two more waiting");
    assert_eq!(ingest["lag"], 1, "one never delivered");
    assert_eq!(ingest["pending"], 1, "one taken by the crashed consumer");
    assert!(ingest["oldest_pending_age_secs"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        consumer(&ingest, "crashed-host-ingest-0").unwrap()["pending"],
        1
    );
    let ours = consumer(&ingest, "replica-s-ingest-0").expect("this replica's reader");
    assert_eq!(ours["pending"], 0);
    assert!(ours["idle_ms"].is_u64());
    assert_eq!(ingest["dead_letters"], 1);
    assert_eq!(
        ingest["dead_letter_key"],
        app.backends.stream_key("alfred-ingest:dead")
    );
    assert_eq!(ingest["paused"], true);
    assert!(ingest["paused_by"]
        .as_str()
        .unwrap()
        .ends_with("via replica-s"));
    assert!(ingest["paused_since"].is_string());
    assert_eq!(
        (
            ingest["readers_here"].as_u64(),
            ingest["readers_paused_here"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(outbox["paused"], false);
    assert_eq!(outbox["readers_paused_here"], 0);
    assert_eq!(outbox["dead_letters"], 0);
    assert_eq!(outbox["pending"], 0);
    assert_eq!(unknown_stream.0, 404);
    assert_eq!(unknown_action.0, 404);
    assert_eq!(without_key, 401);
}

#[actix_rt::test]
async fn a_pause_survives_a_restart_of_alfred() {
    let app = TestApp::spawn().await;
    admin_post(&app.admin, "/admin/streams/outbox/pause").await;
    wait_until_held_off(&app.admin, "outbox").await;

    // The same deployment started again (another process on the same Redis).
    let restarted = second_replica(&app, &[]).await;

    wait_until_held_off(&restarted.admin, "outbox").await;
    assert_eq!(
        stream_view(&restarted.admin, "ingest").await["paused"],
        false
    );
}

#[actix_rt::test]
async fn the_janitor_removes_a_former_replicas_idle_consumer_but_never_one_with_pending_entries() {
    let mut settings = replica("replica-j");
    settings.extend([
        ("STALE_CONSUMER_IDLE_MS", "1".to_owned()),
        ("JANITOR_INTERVAL_MS", "100".to_owned()),
    ]);
    let app = TestApp::spawn_with(&settings, Vec::new()).await;
    // Paused, so no reader claims the crashed consumer's entry away from it.
    admin_post(&app.admin, "/admin/streams/ingest/pause").await;
    wait_until_held_off(&app.admin, "ingest").await;
    for (id, text) in [("wamid.J1", "add milk"), ("wamid.J2", "add eggs")] {
        let body = whatsapp::text_message(PHONE_ID, DANA, "Dana", id, text);
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    take_pending(&app.backends, "crashed-host-ingest-0", 1).await;
    take_pending(&app.backends, "former-host-ingest-0", 1).await;
    // The former replica finished its entry: nothing pending.
    let former = app
        .backends
        .pending_entries("alfred-ingest", "alfred-orchestrators")
        .await;
    assert_eq!(former.len(), 2);
    ack_last(&app.backends).await;

    let view = eventually("the former replica's consumer to be removed", || async {
        let view = stream_view(&app.admin, "ingest").await;
        consumer(&view, "former-host-ingest-0")
            .is_none()
            .then_some(view)
    })
    .await;

    let crashed = consumer(&view, "crashed-host-ingest-0").expect("kept: it has an entry pending");
    assert_eq!(crashed["pending"], 1);
    assert!(
        app.metric("alfred_janitor_removed_total{what=\"stale_consumers\"}")
            .await
            >= 1
    );
}

/// Acknowledges the newest pending entry of the ingest group.
async fn ack_last(backends: &Backends) {
    let client = deadpool_redis::redis::Client::open(backends.redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stream = backends.stream_key("alfred-ingest");
    let group = backends.group_name("alfred-orchestrators");
    let pending: Vec<(String, String, u64, u64)> = deadpool_redis::redis::cmd("XPENDING")
        .arg(&stream)
        .arg(&group)
        .arg("-")
        .arg("+")
        .arg(10)
        .query_async(&mut conn)
        .await
        .unwrap();
    let (last, ..) = pending.last().unwrap();
    let _: u64 = deadpool_redis::redis::cmd("XACK")
        .arg(&stream)
        .arg(&group)
        .arg(last)
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[actix_rt::test]
async fn the_memory_bus_pauses_resumes_and_shows_its_streams_too() {
    let app = EphemeralApp::spawn(&[]).await;

    let (status, paused) = admin_post(&app.admin, "/admin/streams/ingest/pause").await;
    wait_until_held_off(&app.admin, "ingest").await;
    let ingest = stream_view(&app.admin, "ingest").await;
    let (_, resumed) = admin_post(&app.admin, "/admin/streams/ingest/resume").await;
    let after = eventually("the reader to carry on", || async {
        let view = stream_view(&app.admin, "ingest").await;
        (view["readers_paused_here"] == 0).then_some(view)
    })
    .await;

    assert_eq!((status, &paused["paused"]), (200, &Value::Bool(true)));
    assert_eq!(ingest["lag"], 0);
    assert_eq!(ingest["pending"], 0);
    assert_eq!(ingest["dead_letters"], 0);
    assert!(ingest["key"]
        .as_str()
        .unwrap()
        .ends_with("home:alfred-ingest"));
    assert_eq!(resumed["paused"], false);
    assert_eq!(after["paused"], false);
    assert_eq!(stream_view(&app.admin, "outbox").await["paused"], false);
}
