//! Dead letters operators can act on (issue 11), through the admin API: a refused reply and a
//! message that failed every delivery are replayed once and only once, discarded into the audit
//! log, listed newest first with paging and filters, and shown without their secrets.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alfred_actors::access::Access;
use alfred_actors::skill::{
    GrammarRoute, ReplyOnly, Skill, SkillEntry, SkillError, SkillOutcome, SkillRequest,
};
use alfred_testkit::graph::FakeGraph;
use alfred_testkit::whatsapp;
use futures::future::BoxFuture;
use serde_json::{json, Value};

use crate::helpers::*;

impl TestApp {
    /// POSTs `body` (JSON) to an admin path with the key; the status and the JSON answer.
    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.admin))
            .bearer_auth(ADMIN_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs an admin path; the status and the JSON answer.
    pub async fn admin_json(&self, path: &str) -> (u16, Value) {
        let response = self.admin_get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits for the first dead letter of `stream` (`ingest`, `outbox`) in the listing.
    pub async fn first_dead_letter(&self, stream: &str) -> Value {
        eventually("a dead letter to be listed", || async {
            let (_, page) = self
                .admin_json(&format!("/admin/dead-letters?stream={stream}"))
                .await;
            page["entries"].as_array().and_then(|e| e.first().cloned())
        })
        .await
    }
}

/// The ids of a listing's entries.
fn ids(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asks Meta (the fake) for a reply it refuses with 131026, and waits for its dead letter.
async fn refused_reply(app: &TestApp, wamid: &str, item: &str) -> Value {
    app.backends.graph.fail_next(
        1,
        400,
        FakeGraph::error_body(131026, "Message Undeliverable."),
        None,
    );
    let body = whatsapp::text_message(
        PHONE_ID,
        "15550004242",
        "Kim",
        wamid,
        &format!("add {item}"),
    );
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let dead = app.first_dead_letter("outbox").await;
    app.quiescent().await;
    dead
}

#[actix_rt::test]
async fn a_refused_reply_is_replayed_once_a_second_replay_sends_nothing_and_a_discard_is_audited() {
    let app = TestApp::spawn().await;
    let dead = refused_reply(&app, "wamid.REFUSED", "jam").await;
    assert!(
        dead["reason"].as_str().unwrap().contains("131026"),
        "the reason is Meta's: {dead}"
    );
    assert_eq!(dead["conversation"], "whatsapp:15550004242");
    let id = dead["id"].as_str().unwrap();

    let (status, replay) = app
        .admin_post(
            &format!("/admin/dead-letters/outbox/{id}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, replay["outcome"].as_str()),
        (200, Some("replayed")),
        "{replay}"
    );
    let delivered = eventually("the replayed reply to be delivered", || async {
        let delivered = app.backends.graph.delivered();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    assert_eq!(delivered[0].body["context"]["message_id"], "wamid.REFUSED");

    let (status, again) = app
        .admin_post(
            &format!("/admin/dead-letters/outbox/{id}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("already_replayed")),
        "{again}"
    );
    app.quiescent().await;
    assert_eq!(
        app.backends.graph.delivered().len(),
        1,
        "sent once, not twice"
    );
    assert_eq!(
        app.backends.graph.requests().len(),
        2,
        "the refusal and the one send"
    );
    assert_eq!(
        app.backends.outbox_states().await,
        vec![("sent".to_owned(), 1)]
    );

    // A second refusal, discarded: gone from the list, kept in the audit log.
    let dead = refused_reply(&app, "wamid.REFUSED2", "figs").await;
    let id2 = dead["id"].as_str().unwrap();
    let (status, discard) = app
        .admin_post(
            &format!("/admin/dead-letters/outbox/{id2}/discard"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, discard["outcome"].as_str()),
        (200, Some("discarded")),
        "{discard}"
    );
    let (_, page) = app.admin_json("/admin/dead-letters?stream=outbox").await;
    assert!(ids(&page).is_empty(), "{page}");
    let (status, _) = app
        .admin_json(&format!("/admin/dead-letters/outbox/{id2}"))
        .await;
    assert_eq!(status, 404);
    let (_, audit) = app.admin_json("/admin/dead-letters/audit").await;
    let actions: Vec<(&str, &str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["entry_id"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![("discard", id2, "discarded"), ("replay", id, "replayed")]
    );
    assert!(
        audit[0]["entry"]["entry"].to_string().contains("131026"),
        "the audit keeps the dead letter: {audit}"
    );
    assert_eq!(
        app.backends.graph.delivered().len(),
        1,
        "a discard sends nothing"
    );
}

/// Answers "fragile X" with "fixed X" once `broken` is false; until then fails (retryably).
struct Fragile {
    broken: Arc<AtomicBool>,
}

impl Skill for Fragile {
    fn handle(
        &mut self,
        request: SkillRequest,
    ) -> BoxFuture<'static, Result<SkillOutcome, SkillError>> {
        let broken = self.broken.load(Ordering::SeqCst);
        let what = request.text.trim_start_matches("fragile ").to_owned();
        Box::pin(async move {
            if broken {
                return Err(SkillError {
                    reason: "the fragile skill is broken".to_owned(),
                    permanent: false,
                });
            }
            Ok(SkillOutcome {
                effect: Box::new(ReplyOnly(vec![format!("fixed {what}")])),
            })
        })
    }
}

fn fragile(broken: Arc<AtomicBool>) -> SkillEntry {
    let route = GrammarRoute::new("fragile", &["fragile X"], |text| {
        text.starts_with("fragile ")
    });
    SkillEntry::new(Arc::new(route), Access::Members, move || {
        Box::new(Fragile {
            broken: broken.clone(),
        })
    })
}

#[actix_rt::test]
async fn a_message_that_failed_every_delivery_is_answered_exactly_once_after_its_replay() {
    let broken = Arc::new(AtomicBool::new(true));
    let app = TestApp::spawn_with(&[], vec![fragile(broken.clone())]).await;
    let body = whatsapp::text_message(
        PHONE_ID,
        "15550005151",
        "Ada",
        "wamid.FRAGILE",
        "fragile vase",
    );
    assert_eq!(app.post_signed(&body).await.status(), 200);

    let dead = app.first_dead_letter("ingest").await;
    app.quiescent().await;
    assert!(
        dead["reason"].as_str().unwrap().contains("broken"),
        "{dead}"
    );
    assert_eq!(dead["deliveries"], 3, "{dead}");
    assert_eq!(dead["conversation"], "whatsapp:15550005151");
    assert!(
        app.backends.graph.requests().is_empty(),
        "nothing answered yet"
    );

    // As an operator might keep it, before the replay: the raw dead letter.
    let raw = app
        .backends
        .stream_entries_with_ids("alfred-ingest:dead")
        .await;
    let (_, raw) = raw.first().cloned().unwrap();

    broken.store(false, Ordering::SeqCst);
    let id = dead["id"].as_str().unwrap();
    let (status, replay) = app
        .admin_post(
            &format!("/admin/dead-letters/ingest/{id}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, replay["outcome"].as_str()),
        (200, Some("replayed")),
        "{replay}"
    );
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends[0].body["text"]["body"], "fixed vase");

    let (status, again) = app
        .admin_post(
            &format!("/admin/dead-letters/ingest/{id}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("already_replayed")),
        "{again}"
    );
    // The same dead letter put back by hand: the inbox holds the message, so its replay
    // publishes nothing; and the message itself put back on the stream is not answered again.
    let copy = app.backends.xadd("alfred-ingest:dead", "*", &raw).await;
    let (_, copied) = app
        .admin_post(
            &format!("/admin/dead-letters/ingest/{copy}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(copied["outcome"], "already_answered", "{copied}");
    let letter: Value = serde_json::from_str(&raw).unwrap();
    app.backends
        .xadd("alfred-ingest", "*", letter["payload"].as_str().unwrap())
        .await;
    app.quiescent().await;
    assert_eq!(
        app.backends.graph.requests().len(),
        1,
        "answered exactly once"
    );
}

/// Three dead letters a minute apart from 2025-11-24T16:00:00Z: a Slack message a skill
/// failed on, a slash command the webhook could not parse (with its verification token and
/// response URL), and a Slack event with a bot token and a bearer credential in its error.
pub async fn seed_slack_dead_letters(backends: &Backends) -> [&'static str; 3] {
    let envelope = json!({
        "platform": "slack", "message_id": "T1:Ev1", "account": "T1", "conversation": "C1",
        "sender": {"id": "U1"}, "timestamp": 0, "kind": {"type": "text", "body": "hi"}
    });
    let failed = json!({
        "stream": "x", "id": "1-0", "payload": envelope.to_string(),
        "error": "skill failed: boom", "deliveries": 3, "dead_lettered_at": "2025-11-24T16:00:00Z"
    });
    let unparseable = json!({
        "platform": "slack", "reason": "unparseable slash command", "received_at": "2025-11-24T16:01:00Z",
        "body": "token=SECRET-VERIF&team_id=T1&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F1%2Fabc&text=hi"
    });
    let event =
        json!({"token": "xoxb-secret-1", "event": {"type": "app_mention", "text": "hello"}});
    let with_token = json!({
        "stream": "x", "id": "2-0", "payload": event.to_string(),
        "error": "refused: Authorization: Bearer sk-123", "deliveries": 1,
        "dead_lettered_at": "2025-11-24T16:02:00Z"
    });
    let ids = ["1764000000000-0", "1764000060000-0", "1764000120000-0"];
    for (id, letter) in ids.iter().zip([failed, unparseable, with_token]) {
        backends
            .xadd("alfred-ingest:dead", id, &letter.to_string())
            .await;
    }
    ids
}

pub const SECRETS: [&str; 5] = [
    "SECRET-VERIF",
    "xoxb-secret-1",
    "hooks.slack.com",
    "sk-123",
    "hooks.slack.com%2F",
];

#[actix_rt::test]
async fn dead_letters_are_listed_newest_first_paged_filtered_and_shown_without_secrets() {
    let app = TestApp::spawn().await;
    let [first, second, third] = seed_slack_dead_letters(&app.backends).await;

    let (status, page) = app
        .admin_json("/admin/dead-letters?stream=ingest&limit=2")
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), vec![third, second]);
    assert_eq!(page["next"], second);
    let (_, rest) = app
        .admin_json(&format!(
            "/admin/dead-letters?stream=ingest&limit=2&before={second}"
        ))
        .await;
    assert_eq!(ids(&rest), vec![first]);
    assert_eq!(rest["next"], Value::Null);
    assert_eq!(rest["entries"][0]["conversation"], "slack:C1");
    assert_eq!(rest["entries"][0]["deliveries"], 3);

    let (_, by_reason) = app
        .admin_json("/admin/dead-letters?stream=ingest&reason=SKILL%20FAILED")
        .await;
    assert_eq!(ids(&by_reason), vec![first]);
    let (_, since) = app
        .admin_json("/admin/dead-letters?stream=ingest&since=2025-11-24T16:01:00Z")
        .await;
    assert_eq!(ids(&since), vec![third, second]);
    let (_, window) = app
        .admin_json("/admin/dead-letters?stream=ingest&since=2025-11-24T16:00:30Z&until=2025-11-24T16:01:30Z")
        .await;
    assert_eq!(ids(&window), vec![second]);

    let (_, all) = app.admin_json("/admin/dead-letters?stream=ingest").await;
    let mut shown = all.to_string();
    for id in [first, second, third] {
        let (status, entry) = app
            .admin_json(&format!("/admin/dead-letters/ingest/{id}"))
            .await;
        assert_eq!(status, 200, "{entry}");
        shown.push_str(&entry.to_string());
    }
    for secret in SECRETS {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    assert!(shown.contains("app_mention"), "the rest is shown: {shown}");
    let (_, whole) = app
        .admin_json(&format!("/admin/dead-letters/ingest/{second}"))
        .await;
    assert_eq!(
        whole["entry"]["body"],
        "token=[redacted]&team_id=T1&response_url=[redacted]&text=hi"
    );
    assert_eq!(whole["replayable"], false);
    let (status, refused) = app
        .admin_post(
            &format!("/admin/dead-letters/ingest/{second}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(
        status, 409,
        "a body the webhook could not parse is not replayed: {refused}"
    );
}

#[actix_rt::test]
async fn bad_requests_get_400_missing_dead_letters_404_and_no_key_401() {
    let app = TestApp::spawn().await;
    let [first, ..] = seed_slack_dead_letters(&app.backends).await;
    for path in [
        "/admin/dead-letters",
        "/admin/dead-letters?stream=nope",
        "/admin/dead-letters?stream=ingest&since=yesterday",
        "/admin/dead-letters?stream=ingest&limit=0",
        "/admin/dead-letters?stream=ingest&before=%2B",
        "/admin/dead-letters?stream=ingest&colour=red",
        "/admin/dead-letters/nope/1-0",
        "/admin/dead-letters/ingest/abc",
    ] {
        let (status, body) = app.admin_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let (status, body) = app.admin_json("/admin/dead-letters/ingest/1-0").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = app
        .admin_post("/admin/dead-letters/outbox/1-0/replay", json!({}))
        .await;
    assert_eq!(status, 404);
    for body in [
        json!({}),
        json!({"ids": []}),
        json!({"ids": ["x"]}),
        json!({"reason": "a", "ids": [first]}),
        json!({"colour": 1}),
    ] {
        let (status, answer) = app
            .admin_post("/admin/dead-letters/ingest/discard", body.clone())
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let unauthorized = app
        .http
        .post(format!(
            "{}/admin/dead-letters/ingest/{first}/discard",
            app.admin
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let (_, page) = app.admin_json("/admin/dead-letters?stream=ingest").await;
    assert_eq!(ids(&page).len(), 3, "nothing was discarded");
}

#[actix_rt::test]
async fn a_bulk_discard_by_filter_takes_what_matches_and_says_how_many() {
    let app = TestApp::spawn().await;
    let [first, second, third] = seed_slack_dead_letters(&app.backends).await;

    let (status, bulk) = app
        .admin_post(
            "/admin/dead-letters/ingest/discard",
            json!({"since": "2025-11-24T16:01:00Z"}),
        )
        .await;
    assert_eq!(status, 200, "{bulk}");
    assert_eq!(bulk["matched"], 2);
    assert_eq!(bulk["outcomes"]["discarded"], 2);
    let (_, page) = app.admin_json("/admin/dead-letters?stream=ingest").await;
    assert_eq!(ids(&page), vec![first]);

    let (_, by_ids) = app
        .admin_post(
            "/admin/dead-letters/ingest/discard",
            json!({"ids": [first, second]}),
        )
        .await;
    assert_eq!(
        by_ids["outcomes"],
        json!({"discarded": 1, "already_discarded": 1}),
        "{by_ids}"
    );
    let (_, audit) = app.admin_json("/admin/dead-letters/audit").await;
    assert_eq!(audit.as_array().unwrap().len(), 3);
    assert!(
        !audit.to_string().contains("xoxb-secret-1"),
        "the audit has no secrets: {audit}"
    );
    let _ = third;
}
