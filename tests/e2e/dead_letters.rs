//! Dead letters operators can act on (issue 11), through the admin API: a refused reply, a
//! reply reported failed and a message that failed every delivery are replayed once and only
//! once, or discarded into the audit log. Listing and secrets: `dead_letters_listing`.
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

    /// `replay`s or `discard`s one dead letter through the admin API; its 200 answer.
    pub async fn dead_act(&self, stream: &str, id: &str, action: &str) -> Value {
        let path = format!("/admin/dead-letters/{stream}/{id}/{action}");
        let (status, answer) = self.admin_post(&path, json!({})).await;
        assert_eq!(status, 200, "{path}: {answer}");
        answer
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
pub fn ids(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asks Meta (the fake) for a reply it refuses with 131026, and waits for its dead letter.
pub async fn refused_reply(app: &TestApp, wamid: &str, item: &str) -> Value {
    refused_reply_to(app, "15550004242", wamid, item).await
}

/// [`refused_reply`] to a message from `from`.
pub async fn refused_reply_to(app: &TestApp, from: &str, wamid: &str, item: &str) -> Value {
    app.backends.graph.fail_next(
        1,
        400,
        FakeGraph::error_body(131026, "Message Undeliverable."),
        None,
    );
    let body = whatsapp::text_message(PHONE_ID, from, "Kim", wamid, &format!("add {item}"));
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

    let replay = app.dead_act("outbox", id, "replay").await;
    assert_eq!(replay["outcome"], "replayed", "{replay}");
    let delivered = eventually("the replayed reply to be delivered", || async {
        let delivered = app.backends.graph.delivered();
        (!delivered.is_empty()).then_some(delivered)
    })
    .await;
    assert_eq!(delivered[0].body["context"]["message_id"], "wamid.REFUSED");

    let again = app.dead_act("outbox", id, "replay").await;
    assert_eq!(again["outcome"], "already_replayed", "{again}");
    // The same dead letter put back by hand finds its row sent: nothing is sent again.
    let raw = app
        .backends
        .stream_entries_with_ids("alfred-outbox:dead")
        .await;
    assert!(
        raw.is_empty(),
        "a replayed dead letter leaves its stream: {raw:?}"
    );
    let copy = app
        .backends
        .xadd("alfred-outbox:dead", "*", &replayed_raw(&app, id).await)
        .await;
    let copied = app.dead_act("outbox", &copy, "replay").await;
    assert_eq!(copied["outcome"], "already_sent", "{copied}");
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
    let discard = app.dead_act("outbox", id2, "discard").await;
    assert_eq!(discard["outcome"], "discarded", "{discard}");
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
        vec![
            ("discard", id2, "discarded"),
            ("replay", copy.as_str(), "already_sent"),
            ("replay", id, "replayed")
        ]
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

/// A copy of the dead letter a replay took, in the shape the status path writes: its
/// `outbox_id` (from the audit log, which keeps the dead letter) names the row.
async fn replayed_raw(app: &TestApp, id: &str) -> String {
    let client = app.backends.pg().await;
    let row = client
        .query_one(
            "SELECT (entry->>'outbox_id')::bigint FROM dead_letter_audit WHERE entry_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let outbox_id: i64 = row.get(0);
    json!({ "outbox_id": outbox_id, "provider_id": "wamid.X", "reason": "put back by hand" })
        .to_string()
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
    let replay = app.dead_act("ingest", id, "replay").await;
    assert_eq!(replay["outcome"], "replayed", "{replay}");
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends[0].body["text"]["body"], "fixed vase");
    // Partitions are on by default: the replay went to the conversation's partition, where
    // its later messages are, not to the single stream.
    let partition = alfred_actors::partitions::partition_of(
        alfred_actors::messages::Platform::WhatsApp,
        "15550005151",
        alfred_config::defaults::INGEST_PARTITIONS,
    );
    let partition_stream = alfred_actors::names::ingest_partition_stream("", partition);
    let on_partition = app
        .backends
        .stream_entries_with_ids(&partition_stream)
        .await;
    assert!(
        on_partition
            .iter()
            .any(|(entry, _)| Some(entry.as_str()) == replay["new_id"].as_str()),
        "the replay {replay} is on {partition_stream}: {on_partition:?}"
    );
    assert_eq!(app.backends.stream_len("alfred-ingest").await, 0);

    let again = app.dead_act("ingest", id, "replay").await;
    assert_eq!(again["outcome"], "already_replayed", "{again}");
    // The same dead letter put back by hand: the inbox holds the message, so its replay
    // publishes nothing; and the message itself put back on the stream is not answered again.
    let copy = app.backends.xadd("alfred-ingest:dead", "*", &raw).await;
    let copied = app.dead_act("ingest", &copy, "replay").await;
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

#[actix_rt::test]
async fn a_reply_the_platform_reported_failed_is_sent_again_once_by_its_replay() {
    let app = TestApp::spawn().await;
    let body = whatsapp::text_message(PHONE_ID, "15550002581", "Noa", "wamid.AGAIN", "add rice");
    app.post_signed(&body).await;
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.quiescent().await;
    let callback = sends[0].body["biz_opaque_callback_data"].as_str().unwrap();
    let failed = whatsapp::Notification::new(PHONE_ID)
        .status_with_callback(
            sends[0].wamid.as_deref().unwrap(),
            "failed",
            "15550002581",
            Some(callback),
        )
        .build();
    assert_eq!(app.post_signed(&failed).await.status(), 200);
    let dead = app.first_dead_letter("outbox").await;
    app.quiescent().await;
    assert!(dead["outbox_id"].is_i64(), "{dead}");

    let id = dead["id"].as_str().unwrap();
    let replay = app.dead_act("outbox", id, "replay").await;
    assert_eq!(replay["outcome"], "replayed", "{replay}");
    app.backends.graph.wait_for_requests(2, DEADLINE).await;
    app.quiescent().await;
    let again = app.dead_act("outbox", id, "replay").await;
    assert_eq!(again["outcome"], "already_replayed", "{again}");
    app.quiescent().await;
    assert_eq!(
        app.backends.graph.delivered().len(),
        2,
        "the first send and one more"
    );
    assert_eq!(
        app.backends.outbox_states().await,
        vec![("sent".to_owned(), 1)]
    );
}
