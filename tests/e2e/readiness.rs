//! `/readyz` answers from a report refreshed in the background: a flood of probes takes no
//! Redis or Postgres connection from the messages; ephemeral mode with a platform configured
//! (answers, keeps nothing) is not ready, ephemeral mode alone is.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alfred_testkit::whatsapp::{text_message, wamid};

use crate::helpers::*;

const PROBES: usize = 64;
const MESSAGES: usize = 20;

#[actix_rt::test]
async fn readyz_hammered_by_64_connections_takes_nothing_from_the_messages() {
    let app = TestApp::spawn().await;
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("{}/readyz", app.base);
    let probes: Vec<_> = (0..PROBES)
        .map(|_| {
            // One client each: its own keep-alive connection.
            let (http, url, stop) = (reqwest::Client::new(), url.clone(), stop.clone());
            actix_rt::spawn(async move {
                let mut statuses = Vec::new();
                while statuses.is_empty() || !stop.load(Ordering::Relaxed) {
                    let status = http.get(&url).send().await.map(|r| r.status().as_u16());
                    statuses.push(status.unwrap_or(0));
                }
                statuses
            })
        })
        .collect();

    // A different sender each (no per-sender limit in play), all while the probes run.
    let mut sent = HashSet::new();
    for i in 0..MESSAGES {
        let id = wamid();
        let from = format!("49170{i:07}");
        let body = text_message(PHONE_ID, &from, "Someone", &id, &format!("add item{i}"));
        assert_eq!(app.post_signed(&body).await.status(), 200);
        sent.insert(id);
    }
    let replies = app
        .backends
        .graph
        .wait_for_requests(MESSAGES, DEADLINE)
        .await;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for probe in probes {
        statuses.extend(probe.await.unwrap());
    }

    let answered: HashSet<String> = replies
        .iter()
        .filter_map(|r| r.reply_to().map(str::to_owned))
        .collect();
    assert_eq!(answered, sent, "every message answered, once");
    assert!(statuses.len() >= PROBES, "{} probes", statuses.len());
    let not_ready: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(
        not_ready.is_empty(),
        "{} of {} probes were not 200: {:?}",
        not_ready.len(),
        statuses.len(),
        &not_ready[..not_ready.len().min(10)]
    );
    app.quiescent().await;
}

#[actix_rt::test]
async fn ephemeral_mode_with_whatsapp_configured_is_alive_but_not_ready() {
    let graph = alfred_testkit::graph::FakeGraph::start().await;
    let app = EphemeralApp::spawn(&whatsapp_vars(&graph)).await;

    let ready = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    let alive = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();

    assert_eq!(ready.status(), 503);
    assert_eq!(alive.status(), 200);
    let report: serde_json::Value = ready.json().await.unwrap();
    let durability = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "durability")
        .cloned()
        .unwrap_or_else(|| panic!("no durability check: {report}"));
    assert_eq!(durability["ok"], false);
    let error = durability["error"].as_str().unwrap();
    assert!(
        error.contains("WhatsApp") && error.contains("DATABASE_URL"),
        "{error}"
    );
}

#[actix_rt::test]
async fn ephemeral_mode_without_a_platform_is_ready() {
    let app = EphemeralApp::spawn(&[]).await;

    let ready = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();

    assert_eq!(ready.status(), 200);
    let report: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(report["ready"], true, "{report}");
}
