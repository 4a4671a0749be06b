//! Per-sender limits and the LLM asked at most once per message, end to end on Redis and
//! Postgres with the fake Graph API and the fake LLM: a flood from one sender gets the burst
//! and one notice while another member is answered; the LLM stays within the daily budget; a
//! duplicate webhook or a redelivery after a failed commit does not ask it again; a text over
//! the cap gets a short reply.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::limits::{too_long_reply, SLOW_DOWN_REPLY};
use alfred_testkit::graph::RecordedRequest;
use alfred_testkit::llm::{Answer, FakeLlm};
use alfred_testkit::whatsapp::{self, Notification};
use serde_json::json;

use crate::helpers::*;

const DANA: &str = "4917011111111";
const SAM: &str = "4917022222222";

fn apples_two_kilos() -> Answer {
    Answer::tool(
        "grocery_add",
        json!({"items": [{"name": "apples", "quantity": 2, "unit": "kg"}]}),
    )
}

/// An Alfred whose LLM is the fake (Ollama's API), with `extra` settings.
async fn spawn_with_llm(llm: &FakeLlm, extra: &[(&str, String)]) -> TestApp {
    let mut vars = vec![
        ("OLLAMA_URL", llm.ollama_url()),
        ("LLM_TIMEOUT_MS", "2000".to_owned()),
        ("INGEST_CLAIM_IDLE_MS", "3000".to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    TestApp::spawn_with(&vars, Vec::new()).await
}

/// Alfred's replies sent to `to`.
fn replies_to(app: &TestApp, to: &str) -> Vec<RecordedRequest> {
    app.backends
        .graph
        .requests()
        .into_iter()
        .filter(|send| send.to() == Some(to))
        .collect()
}

/// Alfred's one reply to the message `wamid`, waited for.
async fn reply_to(app: &TestApp, wamid: &str) -> RecordedRequest {
    eventually("Alfred's reply", || async {
        app.backends
            .graph
            .requests()
            .into_iter()
            .find(|send| send.reply_to() == Some(wamid))
    })
    .await
}

/// Inbox rows of the messages whose id starts with `prefix`.
async fn handled(app: &TestApp, prefix: &str) -> i64 {
    let client = app.backends.pg().await;
    let row = client
        .query_one(
            "SELECT count(*) FROM inbox WHERE message_id LIKE $1 || '%'",
            &[&prefix],
        )
        .await
        .unwrap();
    row.get(0)
}

async fn refused(app: &TestApp, reason: &str) -> u64 {
    app.metric(&format!("alfred_refused_total{{reason=\"{reason}\"}}"))
        .await
}

#[actix_rt::test]
async fn a_flood_from_one_sender_gets_the_burst_and_one_notice_while_another_member_is_answered() {
    let llm = FakeLlm::start().await;
    llm.answer_always(apples_two_kilos());
    // One token a minute after the burst: none comes back within the test, so the counts
    // below are exact.
    let app = spawn_with_llm(
        &llm,
        &[
            ("SENDER_RATE_PER_MINUTE", "1".to_owned()),
            ("SENDER_BURST", "15".to_owned()),
            ("LLM_DAILY_BUDGET", "5".to_owned()),
        ],
    )
    .await;

    // 120 plain-language messages from Dana in 12 webhooks; Sam writes in the middle.
    for batch in 0..12 {
        let mut notification = Notification::new(PHONE_ID);
        for n in 0..10 {
            let wamid = format!("wamid.flood.{}", batch * 10 + n);
            notification =
                notification.text(DANA, "Dana", &wamid, "could we get apples, two kilos");
        }
        let response = app.post_signed(&notification.build()).await;
        assert_eq!(response.status(), 200);
        if batch == 6 {
            app.post_signed(&whatsapp::text_message(
                PHONE_ID,
                SAM,
                "Sam",
                "wamid.sam",
                "list",
            ))
            .await;
        }
    }

    let sams = reply_to(&app, "wamid.sam").await;
    assert!(sams.text().is_some(), "Sam is answered: {sams:?}");
    eventually("all of Dana's messages to be recorded", || async {
        (handled(&app, "wamid.flood.").await == 120).then_some(())
    })
    .await;
    app.quiescent().await;
    let to_dana = replies_to(&app, DANA);
    let notices = to_dana
        .iter()
        .filter(|send| send.text() == Some(SLOW_DOWN_REPLY))
        .count();
    assert_eq!(notices, 1, "one notice: {to_dana:?}");
    assert_eq!(
        to_dana.len(),
        15 + 1,
        "the burst and the notice: {to_dana:?}"
    );
    assert_eq!(refused(&app, "rate_limited").await, 120 - 15);
    assert_eq!(llm.requests().len(), 5, "the LLM within the daily budget");
    assert_eq!(refused(&app, "llm_budget").await, 15 - 5);
}

#[actix_rt::test]
async fn a_duplicate_webhook_of_a_plain_language_message_asks_the_llm_once() {
    let llm = FakeLlm::start().await;
    llm.answer_always(apples_two_kilos());
    let app = spawn_with_llm(&llm, &[]).await;
    let body = whatsapp::text_message(PHONE_ID, DANA, "Dana", "wamid.dup", "apples, two kilos?");

    app.post_signed(&body).await;
    app.post_signed(&body).await;

    reply_to(&app, "wamid.dup").await;
    eventually("both webhooks to be handled", || async {
        let duplicates = app
            .metric("alfred_messages_processed_total{result=\"duplicate\"}")
            .await;
        (duplicates == 1).then_some(())
    })
    .await;
    app.quiescent().await;
    assert_eq!(llm.requests().len(), 1, "{:?}", llm.requests());
    assert_eq!(replies_to(&app, DANA).len(), 1);
    assert_eq!(refused(&app, "rate_limited").await, 0);
}

#[actix_rt::test]
async fn a_redelivery_after_a_failed_commit_does_not_ask_the_llm_again() {
    let llm = FakeLlm::start().await;
    llm.answer_always(apples_two_kilos());
    let app = spawn_with_llm(&llm, &[]).await;
    // The first insert into the shopping list fails, as a deadlock victim would; a sequence
    // counts attempts outside the transaction that rolls back.
    let client = app.backends.pg().await;
    client
        .batch_execute(
            "CREATE SEQUENCE grocery_attempts; \
             CREATE FUNCTION fail_first() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF nextval('grocery_attempts') = 1 THEN \
               RAISE EXCEPTION 'deadlock detected (test)'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER fail_first BEFORE INSERT ON grocery_items \
               FOR EACH ROW EXECUTE FUNCTION fail_first();",
        )
        .await
        .unwrap();

    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        DANA,
        "Dana",
        "wamid.retry",
        "could you get us some apples, two kilos",
    ))
    .await;

    let reply = reply_to(&app, "wamid.retry").await;
    assert!(reply.text().unwrap().contains("2 kg apples"), "{reply:?}");
    assert_eq!(app.backends.grocery_items().await, vec!["apples"]);
    let attempts: i64 = client
        .query_one("SELECT last_value FROM grocery_attempts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 2, "the first commit failed");
    assert_eq!(llm.requests().len(), 1, "asked once: {:?}", llm.requests());
}

#[actix_rt::test]
async fn a_text_over_the_cap_gets_a_short_reply_and_is_not_handled() {
    let app = TestApp::spawn().await;
    let long = format!("add {}", "apples and ".repeat(400));
    assert!(long.chars().count() > 4096);

    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        DANA,
        "Dana",
        "wamid.long",
        &long,
    ))
    .await;

    let reply = reply_to(&app, "wamid.long").await;
    assert_eq!(reply.text(), Some(too_long_reply(4096).as_str()));
    assert!(app.backends.grocery_items().await.is_empty());
    assert_eq!(refused(&app, "too_long").await, 1);
}
