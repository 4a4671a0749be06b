//! The alert rules (`docker/prometheus/alerts.yml`) and the Grafana dashboard
//! (`docker/grafana/dashboards/alfred.json`) use only metrics Alfred exports, so the rules, the
//! dashboard and the code never drift apart.
//!
//! A labelled counter appears in `/metrics` only once one of its label sets has been counted
//! (the prometheus crate leaves out a family with no series, HELP and TYPE lines included), so
//! the test first makes every metric appear: a Home Alfred (WhatsApp against the fake Graph
//! API, a fake LLM, real Redis and Postgres) gets a signed message the grammar understands, one
//! only the LLM does, a signed body that cannot be parsed, a tampered one, and an admin
//! restart; a Biz Alfred polls a work inbox whose IMAP server is not there. A name counts as
//! exported when either Alfred's `/metrics` lists it (a HELP/TYPE line or a sample; a
//! histogram's `_bucket`, `_sum` and `_count` with it).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use alfred::app::App;
use alfred_config::Settings;
use alfred_testkit::db::TestDb;
use alfred_testkit::graph::FakeGraph;
use alfred_testkit::llm::{Answer, FakeLlm};
use alfred_testkit::redis::{test_redis_url, unique_prefix};
use alfred_testkit::whatsapp;
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(20);
const APP_SECRET: &str = "metrics-app-secret";
const PHONE_ID: &str = "109876543299";
const ADMIN_KEY: &str = "metrics-admin-key-0123";
const DANA: &str = "4917011111111";

/// The files whose metric names must all be exported, relative to the repository root.
const USERS: [&str; 2] = [
    "docker/prometheus/alerts.yml",
    "docker/grafana/dashboards/alfred.json",
];

/// Every `alfred_[a-z_]+` word in `text` (not one inside a longer word, e.g. a URL path).
fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("alfred_") {
        let start = from + found;
        let mut end = start + "alfred_".len();
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_') {
            end += 1;
        }
        let inside_a_word = start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || matches!(bytes[start - 1], b'_' | b'.'));
        if !inside_a_word && end > start + "alfred_".len() {
            names.insert(text[start..end].trim_end_matches('_').to_owned());
        }
        from = end;
    }
    names
}

/// The metric names `/metrics` text lists: from HELP/TYPE lines (a histogram's with its
/// `_bucket`, `_sum` and `_count` series) and from samples.
fn exported_names(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("#"), Some("TYPE"), Some(name), kind) => {
                names.insert(name.to_owned());
                if kind == Some("histogram") {
                    for suffix in ["_bucket", "_sum", "_count"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
            }
            (Some("#"), Some("HELP"), Some(name), _) => {
                names.insert(name.to_owned());
            }
            (Some(sample), ..) if !sample.starts_with('#') => {
                let name = sample.split('{').next().unwrap_or(sample);
                names.insert(name.to_owned());
            }
            _ => {}
        }
    }
    names
}

/// An Alfred running in this process, with what it uses.
struct Running {
    base: String,
    admin: Option<String>,
    db: TestDb,
}

async fn start(vars: Vec<(&str, String)>, db: TestDb) -> Running {
    let settings =
        Settings::from_vars(vars.into_iter().map(|(key, value)| (key.to_owned(), value)))
            .expect("test settings are valid");
    let app = App::build_with(settings, Vec::new())
        .await
        .expect("Alfred starts");
    let base = format!("http://127.0.0.1:{}", app.http_port());
    let admin = app
        .admin_port()
        .map(|port| format!("http://127.0.0.1:{port}"));
    actix_rt::spawn(app.run_until_stopped());
    Running { base, admin, db }
}

/// Alfred-Home on WhatsApp (the fake Graph API) with the fake LLM over Ollama's API.
async fn start_home(graph: &FakeGraph, llm: &FakeLlm) -> Running {
    let db = TestDb::create().await;
    let vars = vec![
        ("INSTANCE", "home".to_owned()),
        ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ("ADMIN_API_KEY", ADMIN_KEY.to_owned()),
        ("REDIS_URL", test_redis_url()),
        ("REDIS_KEY_PREFIX", unique_prefix()),
        ("DATABASE_URL", db.url().to_owned()),
        ("META_TOKEN", "metrics-meta-token".to_owned()),
        ("PHONE_ID", PHONE_ID.to_owned()),
        ("VERIFY_TOKEN", "metrics-verify-token".to_owned()),
        ("APP_SECRET", APP_SECRET.to_owned()),
        ("GRAPH_API_URL", graph.url()),
        ("GRAPH_API_VERSION", "v21.0".to_owned()),
        ("OLLAMA_URL", llm.ollama_url()),
        // Longer than LLM_TIMEOUT_MS, as the configuration requires.
        ("INGEST_CLAIM_IDLE_MS", "10000".to_owned()),
        ("LOG_FORMAT", "pretty".to_owned()),
    ];
    start(vars, db).await
}

/// Alfred-Biz whose work inbox's IMAP server does not answer: every poll fails, and is counted.
async fn start_biz_with_unreachable_inbox() -> Running {
    let db = TestDb::create().await;
    let vars = vec![
        ("INSTANCE", "biz".to_owned()),
        ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ("REDIS_URL", test_redis_url()),
        ("REDIS_KEY_PREFIX", unique_prefix()),
        ("DATABASE_URL", db.url().to_owned()),
        // An empty variable counts as unset: no WhatsApp number for this Biz.
        ("GRAPH_API_URL", String::new()),
        ("GRAPH_API_VERSION", String::new()),
        ("IMAP_HOST", "127.0.0.1".to_owned()),
        // Nobody listens there: the connection is refused at once.
        ("IMAP_PORT", alfred_testkit::free_port().to_string()),
        ("IMAP_USER", "owner@example.com".to_owned()),
        ("IMAP_PASSWORD", "metrics-imap-password".to_owned()),
        ("IMAP_POLL_INTERVAL_MS", "200".to_owned()),
        ("INBOX_READERS", "U2CERLKJA".to_owned()),
        ("LOG_FORMAT", "pretty".to_owned()),
    ];
    start(vars, db).await
}

async fn post_webhook(base: &str, body: &str, signature: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/webhook"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn scrape(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until `/metrics` at `base` has a sample of `name`.
async fn wait_for_series(base: &str, name: &str) {
    alfred_testkit::eventually(&format!("{name} in {base}/metrics"), DEADLINE, || async {
        exported_names(&scrape(base).await)
            .contains(name)
            .then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn the_alert_rules_and_the_dashboard_use_only_exported_metrics() {
    // Arrange
    let root = env!("CARGO_MANIFEST_DIR");
    let mut used = BTreeSet::new();
    for file in USERS {
        let text = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        let names = metric_names(&text);
        assert!(!names.is_empty(), "{file} names no alfred_ metric");
        used.extend(names);
    }
    let graph = FakeGraph::start().await;
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::tool(
        "grocery_add",
        json!({"items": [{"name": "apples", "quantity": 2, "unit": "kg"}]}),
    ));
    let home = start_home(&graph, &llm).await;
    let biz = start_biz_with_unreachable_inbox().await;

    // Act: a message the grammar understands, one only the LLM does, a signed body that
    // cannot be parsed (dead-lettered), a tampered signature, and a restart.
    let understood =
        whatsapp::text_message(PHONE_ID, DANA, "Dana", &whatsapp::wamid(), "add bananas");
    let for_the_llm = whatsapp::text_message(
        PHONE_ID,
        DANA,
        "Dana",
        &whatsapp::wamid(),
        "could you get us some apples, two kilos",
    );
    for body in [&understood, &for_the_llm] {
        let signature = whatsapp::sign(APP_SECRET, body.as_bytes());
        assert_eq!(post_webhook(&home.base, body, &signature).await, 200);
    }
    let unparseable = "{\"object\": \"whatsapp_business_account\", \"entry\": 7}";
    let signature = whatsapp::sign(APP_SECRET, unparseable.as_bytes());
    assert_eq!(post_webhook(&home.base, unparseable, &signature).await, 200);
    let tampered = understood.replace("bananas", "bananaz");
    let signature = whatsapp::sign(APP_SECRET, understood.as_bytes());
    assert_eq!(post_webhook(&home.base, &tampered, &signature).await, 403);
    let admin = home.admin.as_deref().expect("Home's admin API is on");
    let restart = reqwest::Client::new()
        .post(format!("{admin}/admin/actors/orchestrator/restart"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert!(
        restart.status().is_success(),
        "restart: {}",
        restart.status()
    );
    graph.wait_for_requests(2, DEADLINE).await;
    for name in [
        "alfred_outbound_sends_total",
        "alfred_llm_requests_total",
        "alfred_actor_restarts_total",
        "alfred_messages_dead_lettered_total",
        "alfred_janitor_removed_total",
        "alfred_stream_pending",
    ] {
        wait_for_series(&home.base, name).await;
    }
    wait_for_series(&biz.base, "alfred_inbox_polls_total").await;

    // Assert
    let mut exported = exported_names(&scrape(&home.base).await);
    exported.extend(exported_names(&scrape(&biz.base).await));
    let missing: Vec<&String> = used.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "{} use metrics Alfred does not export: {missing:?}\n(exported: {exported:?})",
        USERS.join(" and ")
    );
    home.db.drop().await;
    biz.db.drop().await;
}

#[test]
fn metric_names_are_whole_words_and_exported_names_include_histogram_series() {
    let text = "rate(alfred_http_requests_total{x=\"y\"}[5m]) alfred_lag_seconds_bucket \
                my_alfred_thing alfred.instance";
    assert_eq!(
        metric_names(text),
        BTreeSet::from([
            "alfred_http_requests_total".to_owned(),
            "alfred_lag_seconds_bucket".to_owned()
        ])
    );
    let exposition = "# HELP alfred_d Time.\n# TYPE alfred_d histogram\n\
                      alfred_d_bucket{le=\"1\"} 0\nalfred_c_total{a=\"b\"} 1\n";
    let names = exported_names(exposition);
    for name in [
        "alfred_d",
        "alfred_d_bucket",
        "alfred_d_sum",
        "alfred_d_count",
        "alfred_c_total",
    ] {
        assert!(names.contains(name), "{name} in {names:?}");
    }
    assert!(!names.contains("alfred_x"));
}
