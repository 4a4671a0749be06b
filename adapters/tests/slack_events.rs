//! The Events API over HTTP: URL verification, mentions and direct messages as envelopes, what
//! is ignored, retries, dead letters and bus outages.

mod slack_support;

use std::sync::atomic::Ordering;

use actix_web::http::StatusCode;
use alfred_actors::messages::{InboundKind, Platform, Sender};
use alfred_testkit::slack::{
    app_mention, direct_message, event_callback, event_id, url_verification,
};
use serde_json::{json, Value};

use slack_support::*;

#[actix_web::test]
async fn url_verification_is_answered_with_the_challenge() {
    let harness = harness();
    let challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";

    let (status, body) = post_event(&harness, &url_verification(challenge)).await;

    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer, json!({ "challenge": challenge }));
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn an_app_mention_is_stored_as_a_text_envelope_without_the_mention() {
    let harness = harness();
    let id = event_id();
    let body = app_mention(TEAM, &id, BOT, CHANNEL, ANNA, "ping");

    let (status, _) = post_event(&harness, &body).await;

    assert_eq!(status, StatusCode::OK);
    let envelopes = harness.envelopes();
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    assert_eq!(envelope.platform, Platform::Slack);
    assert_eq!(envelope.message_id, format!("{TEAM}:{id}"));
    assert_eq!(envelope.account, TEAM);
    assert_eq!(envelope.conversation, CHANNEL);
    assert_eq!(
        envelope.sender,
        Sender {
            id: ANNA.into(),
            name: None
        }
    );
    assert!(!envelope.is_group);
    assert_eq!(
        envelope.kind,
        InboundKind::Text {
            body: "ping".into()
        }
    );
}

#[actix_web::test]
async fn a_mention_with_punctuation_or_a_label_is_stripped_to_the_request() {
    let harness = harness();
    let texts = [
        format!("<@{BOT}>: add milk"),
        format!("<@{BOT}|alfred>, add milk"),
        format!("add milk <@{BOT}>"),
    ];
    for text in &texts {
        let event = json!({
            "type": "app_mention", "user": ANNA, "text": text, "ts": "1.2",
            "channel": CHANNEL, "event_ts": "1.2"
        });
        let (status, _) =
            post_event(&harness, &event_callback(TEAM, &event_id(), BOT, event)).await;
        assert_eq!(status, StatusCode::OK);
    }

    let bodies: Vec<InboundKind> = harness.envelopes().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        bodies,
        vec![
            InboundKind::Text {
                body: "add milk".into()
            };
            3
        ]
    );
}

#[actix_web::test]
async fn a_direct_message_is_stored_with_its_dm_channel_as_the_conversation() {
    let harness = harness();
    let id = event_id();

    let (status, _) = post_event(&harness, &direct_message(TEAM, &id, BOT, DM, ANNA, "ping")).await;

    assert_eq!(status, StatusCode::OK);
    let envelopes = harness.envelopes();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0].message_id, format!("{TEAM}:{id}"));
    assert_eq!(envelopes[0].conversation, DM);
    assert_eq!(
        envelopes[0].kind,
        InboundKind::Text {
            body: "ping".into()
        }
    );
}

#[actix_web::test]
async fn bot_messages_edits_joins_channel_chatter_and_other_events_are_acknowledged_and_ignored() {
    let harness = harness();
    let message = |extra: Value| {
        let mut event = json!({
            "type": "message", "channel_type": "im", "user": ANNA, "text": "ping",
            "ts": "1.2", "channel": DM, "event_ts": "1.2"
        });
        for (key, value) in extra.as_object().unwrap() {
            event[key] = value.clone();
        }
        event
    };
    let ignored = [
        message(json!({ "bot_id": "B0OTHER01" })),
        message(json!({ "subtype": "bot_message", "user": null })),
        message(json!({ "user": BOT })),
        message(json!({ "subtype": "message_changed" })),
        message(json!({ "subtype": "message_deleted" })),
        message(json!({ "subtype": "channel_join" })),
        message(json!({ "channel_type": "channel", "channel": CHANNEL })),
        // The same DM also arrives as message.im; answering the mention too would reply twice.
        json!({ "type": "app_mention", "user": ANNA, "text": format!("<@{BOT}> ping"), "channel": DM, "ts": "1.2" }),
        json!({ "type": "reaction_added", "user": ANNA, "reaction": "thumbsup", "item": {} }),
        json!({ "type": "user_change", "user": { "id": ANNA } }),
    ];

    for event in ignored {
        let (status, _) =
            post_event(&harness, &event_callback(TEAM, &event_id(), BOT, event)).await;
        assert_eq!(status, StatusCode::OK);
    }

    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}

#[actix_web::test]
async fn a_retried_event_is_stored_again_under_the_same_message_id() {
    let harness = harness();
    let body = mention("ping");

    let first = send(&harness, Post::signed(&harness, "/slack/events", &body)).await;
    let retry = Post {
        retry_num: Some("1"),
        ..Post::signed(&harness, "/slack/events", &body)
    };
    let second = send(&harness, retry).await;

    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(second.0, StatusCode::OK);
    // The orchestrator's inbox turns the second into "already done".
    let ids: Vec<String> = harness
        .envelopes()
        .into_iter()
        .map(|e| e.message_id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1]);
}

#[actix_web::test]
async fn while_the_bus_is_down_events_are_answered_503_so_slack_retries() {
    let harness = harness();
    harness.bus.down.store(true, Ordering::SeqCst);

    let (status, _) = post_event(&harness, &mention("ping")).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[actix_web::test]
async fn a_signed_body_that_cannot_be_understood_is_dead_lettered_and_answered_200() {
    let harness = harness();
    let bodies = [
        "this is not json".to_owned(),
        json!({ "type": "event_callback", "event": { "type": "app_mention" } }).to_string(),
    ];

    for body in &bodies {
        let (status, _) = post_event(&harness, body).await;
        assert_eq!(status, StatusCode::OK);
    }

    assert!(harness.bus.entries(INGEST).is_empty());
    let dead = harness.bus.entries(DEAD);
    assert_eq!(dead.len(), 2);
    let entry: Value = serde_json::from_str(&dead[1]).unwrap();
    assert_eq!(entry["platform"], "slack");
    assert!(
        entry["reason"].as_str().unwrap().contains("team_id"),
        "{entry}"
    );
}

#[actix_web::test]
async fn without_authorizations_a_leading_mention_is_taken_to_be_the_bots() {
    let harness = harness();
    let body = json!({
        "type": "event_callback", "team_id": TEAM, "event_id": event_id(), "event_time": 1,
        "event": {
            "type": "app_mention", "user": ANNA, "channel": CHANNEL, "ts": "1.2",
            "text": format!("<@{BOT}> ask <@U0BEN0001> about ping")
        }
    });

    let (status, _) = post_event(&harness, &body.to_string()).await;

    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<InboundKind> = harness.envelopes().into_iter().map(|e| e.kind).collect();
    let text = "ask <@U0BEN0001> about ping".to_owned();
    assert_eq!(kinds, vec![InboundKind::Text { body: text }]);
}

#[actix_web::test]
async fn a_mention_is_answered_in_a_thread_under_it_or_in_the_thread_it_was_written_in() {
    let harness = harness();
    let mention = |extra: Value| {
        let mut event = json!({
            "type": "app_mention", "user": ANNA, "text": format!("<@{BOT}> ping"),
            "channel": CHANNEL, "ts": "1700000100.000200"
        });
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event_callback(TEAM, &event_id(), BOT, event)
    };
    let dm = |extra: Value| {
        let mut event = json!({
            "type": "message", "channel_type": "im", "user": ANNA, "text": "ping",
            "channel": DM, "ts": "1700000300.000400"
        });
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event_callback(TEAM, &event_id(), BOT, event)
    };

    for body in [
        mention(json!({})),
        mention(json!({ "thread_ts": "1700000000.000100" })),
        dm(json!({})),
        dm(json!({ "thread_ts": "1700000250.000300" })),
    ] {
        assert_eq!(post_event(&harness, &body).await.0, StatusCode::OK);
    }

    let threads: Vec<Option<String>> = harness
        .envelopes()
        .into_iter()
        .map(|envelope| envelope.thread)
        .collect();
    assert_eq!(
        threads,
        [
            Some("1700000100.000200".to_owned()),
            Some("1700000000.000100".to_owned()),
            None,
            Some("1700000250.000300".to_owned()),
        ]
    );
}
