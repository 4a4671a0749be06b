//! Crashes and outages: `kill -9` of the real process, and Redis going away.

use alfred_testkit::pgbouncer::PrivatePgBouncer;
use alfred_testkit::redis::PrivateRedis;
use alfred_testkit::whatsapp;

use crate::helpers::*;

#[actix_rt::test]
async fn after_kill_9_and_a_restart_every_accepted_message_gets_exactly_one_reply() {
    let backends = Backends::new().await;
    every_accepted_message_answered_once_across_kill_9(&backends, &[]).await;
}

#[actix_rt::test]
async fn through_a_transaction_mode_pgbouncer_kill_9_loses_nothing_and_answers_nothing_twice() {
    let backends = Backends::new().await;
    let bouncer = PrivatePgBouncer::start(&alfred_testkit::db::test_database_url());
    let user = test_database_user();
    let through_pooler = [
        ("DATABASE_URL", bouncer.url(&user, backends.db.name())),
        ("DATABASE_STATEMENT_CACHE", "off".to_owned()),
    ];
    every_accepted_message_answered_once_across_kill_9(&backends, &through_pooler).await;
}

/// The user of the shared test server's URL.
// A test helper: a failed unwrap fails only the test that called it (as in helpers.rs).
#[allow(clippy::unwrap_used)]
fn test_database_user() -> String {
    let config: tokio_postgres::Config = alfred_testkit::db::test_database_url().parse().unwrap();
    config.get_user().unwrap_or("postgres").to_owned()
}

/// Sends 40 messages to an Alfred process on `backends` (with `extra` settings), killing it
/// with `kill -9` after the 21st and at the end, restarting it each time; every accepted
/// message must then be answered exactly once.
#[allow(clippy::unwrap_used)]
async fn every_accepted_message_answered_once_across_kill_9(
    backends: &Backends,
    extra: &[(&str, String)],
) {
    let port = free_port();
    let mut alfred = AlfredProcess::start_with(backends, port, extra).await;
    let http = reqwest::Client::new();
    let mut accepted = Vec::new();
    for i in 0..40 {
        let from = format!("1555100{:04}", i % 8);
        let wamid = format!("wamid.KILL{i}");
        let body = whatsapp::text_message(PHONE_ID, &from, "Kid", &wamid, &format!("add item{i}"));
        let response = http
            .post(format!("{}/webhook", alfred.base))
            .header(
                "x-hub-signature-256",
                whatsapp::sign(APP_SECRET, body.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        if response.map(|r| r.status() == 200).unwrap_or(false) {
            accepted.push(wamid);
        }
        if i == 20 {
            alfred.kill();
            alfred = AlfredProcess::start_with(backends, port, extra).await;
        }
    }
    alfred.kill();
    let _alfred = AlfredProcess::start_with(backends, port, extra).await;

    backends
        .graph
        .wait_for_requests(accepted.len(), DEADLINE)
        .await;
    backends.quiescent().await;
    let mut replied: Vec<String> = backends
        .graph
        .requests()
        .iter()
        .map(|send| {
            send.body["context"]["message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    replied.sort();
    accepted.sort();
    assert_eq!(
        replied, accepted,
        "each accepted message answered exactly once"
    );
}

#[actix_rt::test]
async fn while_redis_is_down_the_webhook_answers_503_and_recovers_without_a_restart() {
    let mut redis = PrivateRedis::start();
    let mut backends = Backends::new().await;
    backends.redis_url = redis.url();
    let app = TestApp::spawn_on(backends, &[], Vec::new()).await;
    let body = whatsapp::text_message(PHONE_ID, "15550002468", "Rae", "wamid.OUTAGE", "add soap");

    redis.stop();
    let during = app.post_signed(&body).await;
    redis.start_again();
    let after = eventually("the webhook to accept again", || async {
        let response = app.post_signed(&body).await;
        (response.status() == 200).then_some(response)
    })
    .await;

    assert_eq!(during.status(), 503);
    assert_eq!(after.status(), 200);
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends[0].body["context"]["message_id"], "wamid.OUTAGE");
}
