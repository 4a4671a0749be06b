//! Alfred-Biz on Slack end to end, on real Redis and Postgres and a fake Slack Web API:
//! a signed `app_mention` → `alfred-ingest` → orchestrator → `ping` skill → outbox →
//! `chat.postMessage`; Slack's retry of the same event produces no second reply; `/alfred ping`
//! is answered in the HTTP response without storing anything; another slash command is answered
//! through its `response_url`.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::slack::{app_mention, event_id, sign, FakeSlack, SlashCommand};
use serde_json::{json, Value};

use crate::helpers::{eventually, TestApp};

const SIGNING_SECRET: &str = "test-slack-signing-secret";
const BOT_TOKEN: &str = "xoxb-test-bot-token";
const TEAM: &str = "T0TEAM001";
const BOT: &str = "U0ALFRED1";
const ANNA: &str = "U0ANNA001";
const CHANNEL: &str = "C0GENERAL";

/// A Biz Alfred with Slack pointed at `slack`, and no WhatsApp settings.
async fn biz_app(slack: &FakeSlack) -> TestApp {
    let blank = String::new;
    TestApp::spawn_with(
        &[
            ("INSTANCE", "biz".into()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.into()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.into()),
            ("SLACK_API_URL", slack.api_url()),
            // An empty variable counts as unset: this Biz instance has no WhatsApp number.
            ("META_TOKEN", blank()),
            ("PHONE_ID", blank()),
            ("VERIFY_TOKEN", blank()),
            ("APP_SECRET", blank()),
            ("GRAPH_API_URL", blank()),
            ("GRAPH_API_VERSION", blank()),
        ],
        Vec::new(),
    )
    .await
}

/// POSTs a body to `/slack/{endpoint}` signed as Slack signs it, now.
async fn post_slack(
    app: &TestApp,
    endpoint: &str,
    body: &str,
    retry_num: Option<&str>,
) -> reqwest::Response {
    let timestamp = alfred_testkit::slack::now();
    let content_type = if endpoint == "commands" {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let mut request = app
        .http
        .post(format!("{}/slack/{endpoint}", app.base))
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header(
            "x-slack-signature",
            sign(SIGNING_SECRET, timestamp, body.as_bytes()),
        )
        .body(body.to_owned());
    if let Some(retry_num) = retry_num {
        request = request
            .header("x-slack-retry-num", retry_num)
            .header("x-slack-retry-reason", "http_timeout");
    }
    request.send().await.unwrap()
}

/// `alfred_messages_processed_total{result}` from `/metrics`.
async fn processed(app: &TestApp, result: &str) -> u64 {
    app.metric(&format!(
        "alfred_messages_processed_total{{result=\"{result}\"}}"
    ))
    .await
}

#[actix_rt::test]
async fn an_app_mention_ping_gets_exactly_one_pong_even_when_slack_retries_the_event() {
    let slack = FakeSlack::start().await;
    let app = biz_app(&slack).await;
    let body = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");

    let first = post_slack(&app, "events", &body, None).await;
    assert_eq!(first.status(), 200);
    let replies = eventually("the pong", || async {
        let delivered = slack.delivered();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    let retry = post_slack(&app, "events", &body, Some("1")).await;
    assert_eq!(retry.status(), 200);
    eventually("the retry to be acknowledged as a duplicate", || async {
        (processed(&app, "duplicate").await >= 1).then_some(())
    })
    .await;
    app.quiescent().await;

    assert_eq!(replies[0].channel(), Some(CHANNEL));
    assert_eq!(replies[0].text(), Some("pong"));
    let mention: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        replies[0].body["thread_ts"], mention["event"]["ts"],
        "a mention in a channel is answered in a thread under it"
    );
    assert_eq!(replies[0].bearer.as_deref(), Some(BOT_TOKEN));
    assert_eq!(app.backends.ingest_len().await, 2);
    assert_eq!(
        slack.requests().len(),
        1,
        "Slack's retry must not produce a second reply: {:?}",
        slack.requests()
    );
}

#[actix_rt::test]
async fn alfred_ping_is_answered_pong_in_the_same_response_and_stores_nothing() {
    let slack = FakeSlack::start().await;
    let app = biz_app(&slack).await;
    let before = app.backends.ingest_len().await;
    let command = SlashCommand::alfred(TEAM, CHANNEL, "ping", &slack.response_url());

    let response = post_slack(&app, "commands", &command.form(), None).await;

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({ "response_type": "ephemeral", "text": "pong" })
    );
    assert_eq!(app.backends.ingest_len().await, before);
    assert!(slack.requests().is_empty());
}

#[actix_rt::test]
async fn another_slash_command_is_acknowledged_then_answered_through_its_response_url() {
    let slack = FakeSlack::start().await;
    let app = biz_app(&slack).await;
    let response_url = slack.response_url();
    let command = SlashCommand::alfred(TEAM, CHANNEL, "what can you do", &response_url);

    let response = post_slack(&app, "commands", &command.form(), None).await;

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["text"], "On it…");
    let replies = eventually("the answer at the response URL", || async {
        let delivered = slack.delivered();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    app.quiescent().await;
    assert_eq!(slack.requests().len(), 1);
    assert!(response_url.ends_with(&replies[0].path));
    assert_eq!(replies[0].body["response_type"], "ephemeral");
    // Biz understands only `ping` so far: the answer is Alfred's help, naming it.
    let text = replies[0].text().unwrap_or_default();
    assert!(text.contains("ping"), "{text}");
}

/// Biz may have a WhatsApp number of its own: the same WhatsApp adapter, answered by Biz's
/// skills (here `ping`), with no Home skill loaded.
#[actix_rt::test]
async fn a_biz_whatsapp_number_is_answered_by_biz_skills() {
    let app = TestApp::spawn_with(&[("INSTANCE", "biz".into())], Vec::new()).await;
    let ping = alfred_testkit::whatsapp::text_message(
        crate::helpers::PHONE_ID,
        "4917099999999",
        "Max",
        "wamid.BIZ1",
        "ping",
    );
    let add = alfred_testkit::whatsapp::text_message(
        crate::helpers::PHONE_ID,
        "4917099999999",
        "Max",
        "wamid.BIZ2",
        "add milk",
    );

    app.post_signed(&ping).await;
    app.post_signed(&add).await;

    let sends = app
        .backends
        .graph
        .wait_for_requests(2, crate::helpers::DEADLINE)
        .await;
    let pong = sends
        .iter()
        .find(|s| s.reply_to() == Some("wamid.BIZ1"))
        .unwrap();
    assert_eq!(pong.text(), Some("pong"));
    let other = sends
        .iter()
        .find(|s| s.reply_to() == Some("wamid.BIZ2"))
        .unwrap();
    assert!(
        !other.text().unwrap_or_default().contains("shopping list"),
        "Biz has no shopping list: {:?}",
        other.text()
    );
}

/// Home and Biz never share a database: once a Home Alfred has used one, a Biz Alfred pointed
/// at it refuses to start and says why.
#[actix_rt::test]
async fn a_biz_alfred_refuses_the_home_instances_database() {
    let home = TestApp::spawn().await;
    let settings = home.backends.settings(&[("INSTANCE", "biz".into())]);

    let refused = alfred::app::App::build(settings).await;

    let error = format!(
        "{:#}",
        refused.err().expect("Biz must refuse Home's database")
    );
    assert!(error.contains("home instance's database"), "{error}");
}

#[actix_rt::test]
async fn at_start_up_alfred_asks_slack_whom_the_bot_token_belongs_to() {
    let slack = FakeSlack::start().await;
    let _app = biz_app(&slack).await;

    let calls = eventually("the start-up auth.test", || async {
        let calls = slack.auth_tests();
        (!calls.is_empty()).then_some(calls)
    })
    .await;
    assert_eq!(calls, [Some(BOT_TOKEN.to_owned())]);
    assert!(slack.requests().is_empty(), "and posts nothing");
}

#[actix_rt::test]
async fn a_signed_event_from_another_workspace_is_answered_by_nothing_and_stored_nowhere() {
    let slack = FakeSlack::start().await;
    let app = biz_app(&slack).await;
    let other = app_mention("T0OTHER01", &event_id(), BOT, CHANNEL, "U0OUTSIDE", "ping");
    let ours = app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, "ping");

    let refused = post_slack(&app, "events", &other, None).await;
    // Our own workspace's ping, after it, shows the pipeline is running: had the other
    // workspace's event been stored, it would have been answered before this one.
    let answered = post_slack(&app, "events", &ours, None).await;

    assert_eq!(
        refused.status(),
        200,
        "answered 200 so that Slack does not retry"
    );
    assert_eq!(answered.status(), 200);
    eventually("the pong to our own workspace", || async {
        (!slack.delivered().is_empty()).then_some(())
    })
    .await;
    app.quiescent().await;
    assert_eq!(
        slack.requests().len(),
        1,
        "only our workspace is answered: {:?}",
        slack.requests()
    );
    assert_eq!(
        app.backends.ingest_len().await,
        1,
        "only our workspace's event reached the ingest stream"
    );
    assert!(app
        .backends
        .stream_entries("alfred-ingest:dead")
        .await
        .is_empty());
    let client = app.backends.pg().await;
    let inbox: i64 = client
        .query_one(
            "SELECT count(*) FROM inbox WHERE message_id LIKE 'T0OTHER01:%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(inbox, 0, "nothing of the other workspace in the inbox");
    assert_eq!(
        app.metric("alfred_refused_total{reason=\"other_workspace\"}")
            .await,
        1
    );
}
