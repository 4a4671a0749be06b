//! Partitioned ingest as the default with Redis and Postgres: what an old single-stream run
//! left in `alfred-ingest` is answered once, before the partitions are read, after restarting
//! with partitions; `GET /admin/streams` and the admin page show each partition's owner,
//! fencing token and backlog.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use alfred_actors::messages::Platform;
use alfred_actors::names;
use alfred_actors::partitions::partition_of;
use alfred_actors::streams::ControlledStream;
use alfred_testkit::{free_port, whatsapp};
use serde_json::Value;

use crate::helpers::committed_order;
use crate::helpers::*;

const ADA: &str = "15550007001";
const BO: &str = "15550007002";

/// The pause flag of ingest, set straight in Redis: readers only look at whether it exists.
async fn set_ingest_pause(backends: &Backends) {
    let prefix = names::instance_prefix(&backends.prefix, backends.instance);
    let pause_key = ControlledStream::ingest(&prefix, backends.instance).pause_key;
    let mut conn = backends.redis().await;
    let _: () = deadpool_redis::redis::cmd("SET")
        .arg(pause_key)
        .arg("test")
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// A signed WhatsApp text from `from` posted to the Alfred at `base`; whether it was accepted.
async fn post_to(base: &str, from: &str, wamid: &str, text: &str) -> bool {
    let body = whatsapp::text_message(PHONE_ID, from, "Kid", wamid, text);
    post_signed_to(&reqwest::Client::new(), base, &body).await
}

/// The JSON of `GET /admin/streams`.
async fn streams_json(app: &TestApp) -> Value {
    let response = app.admin_get("/admin/streams").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[actix_rt::test]
async fn messages_left_in_the_single_stream_by_an_old_run_are_answered_once_and_first_after_restarting_with_partitions(
) {
    let backends = Backends::new().await;
    // The old run stores the messages but does not get to them (ingest paused).
    set_ingest_pause(&backends).await;
    let mut old = AlfredProcess::start_with(
        &backends,
        free_port(),
        &[
            ("HOSTNAME", "old-run".to_owned()),
            ("INGEST_PARTITIONS", "0".to_owned()),
        ],
    )
    .await;
    let mut accepted = Vec::new();
    for (i, from) in [ADA, BO, ADA, BO, ADA, BO].iter().enumerate() {
        let wamid = format!("wamid.OLD{i}");
        assert!(post_to(&old.base, from, &wamid, &format!("add old{i}")).await);
        accepted.push((from.to_string(), wamid));
    }
    let left_in_single = backends.stream_len("alfred-ingest").await;
    old.kill();

    // Restarted with the defaults: partitions on. New messages go to the partitions.
    let app = TestApp::spawn_on(backends, &[("HOSTNAME", "new-run".to_owned())], Vec::new()).await;
    for (i, from) in [ADA, BO, ADA, BO].iter().enumerate() {
        let wamid = format!("wamid.NEW{i}");
        assert_eq!(
            app.post_signed(&whatsapp::text_message(
                PHONE_ID,
                from,
                "Kid",
                &wamid,
                &format!("add new{i}")
            ))
            .await
            .status(),
            200
        );
        accepted.push((from.to_string(), wamid));
    }
    let on_partitions =
        app.backends.ingest_len().await - app.backends.stream_len("alfred-ingest").await;
    let response = app
        .http
        .post(format!("{}/admin/streams/ingest/resume", app.admin))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.backends
        .graph
        .wait_for_requests(accepted.len(), DEADLINE)
        .await;
    app.quiescent().await;

    assert_eq!(left_in_single, 6, "the old run wrote the single stream");
    assert_eq!(on_partitions, 4, "the new run writes the partitions");
    let mut answered: Vec<String> = app
        .backends
        .graph
        .requests()
        .iter()
        .map(|send| send.reply_to().unwrap().to_owned())
        .collect();
    answered.sort();
    let mut expected: Vec<String> = accepted.iter().map(|(_, wamid)| wamid.clone()).collect();
    expected.sort();
    assert_eq!(answered, expected, "each message answered exactly once");
    let mut in_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (from, wamid) in &accepted {
        in_order
            .entry(from.clone())
            .or_default()
            .push(wamid.clone());
    }
    assert_eq!(
        committed_order(&app.backends).await,
        in_order,
        "each conversation's old messages answered before its new ones, in order"
    );
}

#[actix_rt::test]
async fn the_streams_endpoint_and_page_show_each_partitions_owner_token_and_backlog() {
    let app = TestApp::spawn_with(&[("HOSTNAME", "replica-p".to_owned())], Vec::new()).await;
    eventually("every partition to be owned here", || async {
        let listed = streams_json(&app).await;
        let partitions = listed["partitions"].as_array()?;
        (partitions.len() == 8 && partitions.iter().all(|p| p["owned_here"] == true)).then_some(())
    })
    .await;
    // Paused, Ada's two messages wait in her partition: its lag shows them.
    set_ingest_pause(&app.backends).await;
    let held_off = eventually("every ingest reader here to hold off", || async {
        let listed = streams_json(&app).await;
        let ingest = listed["streams"]
            .as_array()?
            .iter()
            .find(|s| s["stream"] == "ingest")?
            .clone();
        (ingest["readers_paused_here"] == ingest["readers_here"]).then_some(ingest)
    })
    .await;
    for id in ["wamid.PV1", "wamid.PV2"] {
        let body = whatsapp::text_message(PHONE_ID, ADA, "Ada", id, "add milk");
        assert_eq!(app.post_signed(&body).await.status(), 200);
    }
    let ada = partition_of(Platform::WhatsApp, ADA, 8);

    let listed = streams_json(&app).await;
    let http = crate::admin_page::client();
    let cookie = crate::admin_page::session(&app, &http, ADMIN_KEY).await;
    let page = crate::admin_page::get_page(&app, &http, &cookie, "/admin/page/streams").await;
    let page_status = page.status();
    let page = page.text().await.unwrap();

    assert_eq!(
        held_off["readers_here"], 9,
        "the single stream's reader and one per partition: {held_off}"
    );
    let replica = listed["partition_replica"].as_str().unwrap();
    assert!(replica.starts_with("replica-p-"), "{replica}");
    let partitions = listed["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 8, "eight partitions by default");
    for (k, partition) in partitions.iter().enumerate() {
        assert_eq!(partition["partition"], k);
        assert_eq!(
            partition["key"],
            app.backends
                .stream_key(&names::ingest_partition_stream("", k as u32))
        );
        assert_eq!(partition["owner"], replica);
        let token = partition["token"].as_u64().unwrap();
        assert!(token >= 1);
        assert_eq!(partition["latest_token"], token);
    }
    let mine = &partitions[ada as usize];
    assert_eq!(mine["length"], 2, "Ada's two messages: {mine}");
    assert_eq!(mine["lag"], 2, "both waiting for the pause: {mine}");
    assert_eq!(mine["pending"], 0);
    let consumer = format!("{replica}-p{ada}");
    assert!(
        mine["consumers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == consumer.as_str()),
        "{mine}"
    );
    assert_eq!(
        app.backends.stream_len("alfred-ingest").await,
        0,
        "nothing on the single stream"
    );
    assert_eq!(page_status, 200);
    assert!(page.contains("Ingest partitions"), "{page}");
    assert!(page.contains(replica), "{page}");
}
