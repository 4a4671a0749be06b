//! Listing dead letters (issue 11): newest first, paged, filtered by reason and time, shown
//! without their secrets; bad requests, and a bulk discard by filter.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};

use crate::dead_letters::ids;
use crate::helpers::*;

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
