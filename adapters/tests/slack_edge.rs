//! The Slack edge over HTTP: the v0 signature and its replay window (with Slack's documented
//! example on a fixed clock), the Events API (URL verification, mentions, direct messages,
//! what is ignored, retries, dead letters, bus outages) and slash commands. The bus is an
//! in-process recording bus with an "unavailable" switch, so each test sees exactly what the
//! edge stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test as actix_test;
use actix_web::{web, App};
use alfred_actors::bus::{Bus, BusError, ReadFrom, StreamEntry};
use alfred_actors::clock::{Clock, ManualClock, SystemClock};
use alfred_actors::messages::{InboundEnvelope, InboundKind, Platform, Sender};
use alfred_actors::metrics::Metrics;
use alfred_adapters::slack::signature::{SignatureError, SlackVerifier, MAX_SKEW};
use alfred_adapters::slack::{configure, ResponseUrls, SlackEdge, SlackEdgeSettings};
use alfred_testkit::slack::{
    app_mention, direct_message, event_callback, event_id, sign, url_verification, SlashCommand,
};
use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

const SECRET: &str = "test-slack-signing-secret";
const TEAM: &str = "T0TEAM001";
const BOT: &str = "U0ALFRED1";
const ANNA: &str = "U0ANNA001";
const CHANNEL: &str = "C0GENERAL";
const DM: &str = "D0ANNADM1";
const API_URL: &str = "https://slack.com/api";
const PREFIX: &str = "test:";
const INGEST: &str = "test:alfred-ingest";
const DEAD: &str = "test:alfred-ingest:dead";

/// Slack's documented signing example ("Verifying requests from Slack").
const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const DOC_TIMESTAMP: i64 = 1_531_420_618;
const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const DOC_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

/// Records every publish per stream; fails every call while `down` is set.
#[derive(Default)]
struct RecordingBus {
    streams: Mutex<HashMap<String, Vec<String>>>,
    down: AtomicBool,
}

impl RecordingBus {
    fn entries(&self, stream: &str) -> Vec<String> {
        let streams = self.streams.lock().unwrap();
        streams.get(stream).cloned().unwrap_or_default()
    }

    fn envelopes(&self) -> Vec<InboundEnvelope> {
        let entries = self.entries(INGEST);
        entries
            .iter()
            .map(|entry| serde_json::from_str(entry).unwrap())
            .collect()
    }
}

#[async_trait]
impl Bus for RecordingBus {
    async fn publish(&self, stream: &str, payload: &str) -> Result<String, BusError> {
        let mut ids = self.publish_many(stream, &[payload.to_owned()]).await?;
        Ok(ids.remove(0))
    }

    async fn publish_many(
        &self,
        stream: &str,
        payloads: &[String],
    ) -> Result<Vec<String>, BusError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(BusError::Unavailable("connection refused".into()));
        }
        let mut streams = self.streams.lock().unwrap();
        let entries = streams.entry(stream.to_owned()).or_default();
        let ids = payloads.iter().map(|payload| {
            entries.push(payload.clone());
            format!("{}-0", entries.len())
        });
        Ok(ids.collect())
    }

    async fn ensure_group(&self, _: &str, _: &str) -> Result<(), BusError> {
        Ok(())
    }

    async fn read(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: ReadFrom,
        _: usize,
        _: Duration,
    ) -> Result<Vec<StreamEntry>, BusError> {
        Ok(Vec::new())
    }

    async fn ack(&self, _: &str, _: &str, _: &[String]) -> Result<(), BusError> {
        Ok(())
    }

    async fn claim_idle(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: Duration,
        _: usize,
    ) -> Result<Vec<StreamEntry>, BusError> {
        Ok(Vec::new())
    }

    async fn len(&self, stream: &str) -> Result<u64, BusError> {
        Ok(self.entries(stream).len() as u64)
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}

struct Harness {
    bus: Arc<RecordingBus>,
    response_urls: ResponseUrls,
    edge: web::Data<SlackEdge>,
    secret: &'static str,
}

fn harness_with(secret: &'static str, clock: Arc<dyn Clock>) -> Harness {
    let bus = Arc::new(RecordingBus::default());
    let response_urls = ResponseUrls::new();
    let settings = SlackEdgeSettings {
        key_prefix: PREFIX.into(),
        signing_secret: secret.into(),
        api_url: API_URL.into(),
        body_limit: 64 * 1024,
    };
    let metrics = Metrics::new().unwrap();
    let edge = SlackEdge::new(
        settings,
        bus.clone(),
        &metrics,
        clock,
        response_urls.clone(),
    );
    Harness {
        bus,
        response_urls,
        edge: web::Data::new(edge.unwrap()),
        secret,
    }
}

/// An edge on the real clock.
fn harness() -> Harness {
    harness_with(SECRET, Arc::new(SystemClock))
}

/// A request as Slack sends it.
struct Post<'a> {
    path: &'a str,
    body: &'a str,
    timestamp: Option<String>,
    signature: Option<String>,
    retry_num: Option<&'a str>,
}

impl<'a> Post<'a> {
    /// Signed with the harness's secret at the current time.
    fn signed(harness: &Harness, path: &'a str, body: &'a str) -> Self {
        let now = Utc::now().timestamp();
        Post {
            path,
            body,
            timestamp: Some(now.to_string()),
            signature: Some(sign(harness.secret, now, body.as_bytes())),
            retry_num: None,
        }
    }
}

async fn send(harness: &Harness, post: Post<'_>) -> (StatusCode, String) {
    let edge = harness.edge.clone();
    let app = actix_test::init_service(App::new().configure(|cfg| configure(cfg, edge))).await;
    let content_type = if post.path.ends_with("commands") {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let mut request = actix_test::TestRequest::post()
        .uri(post.path)
        .insert_header(("content-type", content_type));
    if let Some(timestamp) = post.timestamp {
        request = request.insert_header(("x-slack-request-timestamp", timestamp));
    }
    if let Some(signature) = post.signature {
        request = request.insert_header(("x-slack-signature", signature));
    }
    if let Some(retry_num) = post.retry_num {
        request = request
            .insert_header(("x-slack-retry-num", retry_num))
            .insert_header(("x-slack-retry-reason", "http_timeout"));
    }
    let response =
        actix_test::call_service(&app, request.set_payload(post.body.to_owned()).to_request())
            .await;
    let status = response.status();
    let body = actix_test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn post_event(harness: &Harness, body: &str) -> (StatusCode, String) {
    send(harness, Post::signed(harness, "/slack/events", body)).await
}

async fn post_command(harness: &Harness, body: &str) -> (StatusCode, Value) {
    let (status, answer) = send(harness, Post::signed(harness, "/slack/commands", body)).await;
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

fn mention(text: &str) -> String {
    app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, text)
}

// --- the signature -------------------------------------------------------------------------

#[test]
fn slacks_documented_example_verifies_at_its_own_time_and_is_stale_five_minutes_later() {
    let verifier = SlackVerifier::new(&DOC_SECRET.into()).unwrap();
    let check = |now| {
        verifier.verify(
            Some(DOC_TIMESTAMP.to_string().as_bytes()),
            Some(DOC_SIGNATURE.as_bytes()),
            DOC_BODY.as_bytes(),
            now,
        )
    };

    assert_eq!(check(DOC_TIMESTAMP), Ok(()));
    assert_eq!(check(DOC_TIMESTAMP + MAX_SKEW), Ok(()));
    assert_eq!(check(DOC_TIMESTAMP - MAX_SKEW), Ok(()));
    assert_eq!(
        check(DOC_TIMESTAMP + MAX_SKEW + 1),
        Err(SignatureError::Stale { skew: MAX_SKEW + 1 })
    );
    assert_eq!(
        check(DOC_TIMESTAMP - MAX_SKEW - 1),
        Err(SignatureError::Stale {
            skew: -MAX_SKEW - 1
        })
    );
}

#[test]
fn a_signature_over_another_body_timestamp_or_secret_does_not_verify() {
    let verifier = SlackVerifier::new(&DOC_SECRET.into()).unwrap();
    let timestamp = DOC_TIMESTAMP.to_string();
    let tampered_body = DOC_BODY.replace("text=&", "text=ping&");
    let other_secret = SlackVerifier::new(&"another-secret".into()).unwrap();
    let signature = Some(DOC_SIGNATURE.as_bytes());
    let at = DOC_TIMESTAMP;

    let body = verifier.verify(
        Some(timestamp.as_bytes()),
        signature,
        tampered_body.as_bytes(),
        at,
    );
    let shifted = (DOC_TIMESTAMP + 1).to_string();
    let time = verifier.verify(Some(shifted.as_bytes()), signature, DOC_BODY.as_bytes(), at);
    let secret = other_secret.verify(
        Some(timestamp.as_bytes()),
        signature,
        DOC_BODY.as_bytes(),
        at,
    );

    assert_eq!(body, Err(SignatureError::Mismatch));
    assert_eq!(time, Err(SignatureError::Mismatch));
    assert_eq!(secret, Err(SignatureError::Mismatch));
}

#[test]
fn missing_or_malformed_headers_are_refused_and_an_empty_secret_cannot_key_a_verifier() {
    let verifier = SlackVerifier::new(&DOC_SECRET.into()).unwrap();
    let timestamp = DOC_TIMESTAMP.to_string();
    let body = DOC_BODY.as_bytes();
    let at = DOC_TIMESTAMP;
    let sha256 = DOC_SIGNATURE.replace("v0=", "sha256=");

    assert_eq!(
        verifier.verify(None, Some(DOC_SIGNATURE.as_bytes()), body, at),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verifier.verify(Some(timestamp.as_bytes()), None, body, at),
        Err(SignatureError::Missing)
    );
    assert_eq!(
        verifier.verify(Some(b"yesterday"), Some(DOC_SIGNATURE.as_bytes()), body, at),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verifier.verify(
            Some(timestamp.as_bytes()),
            Some(sha256.as_bytes()),
            body,
            at
        ),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        verifier.verify(Some(timestamp.as_bytes()), Some(b"v0=abc"), body, at),
        Err(SignatureError::Malformed)
    );
    assert!(SlackVerifier::new(&"".into()).is_err());
    assert!(!format!("{verifier:?}").contains(DOC_SECRET));
}

#[actix_web::test]
async fn slacks_documented_slash_command_verifies_over_http_with_a_fixed_clock() {
    let clock = ManualClock::new(Utc.timestamp_opt(DOC_TIMESTAMP, 0).unwrap());
    let harness = harness_with(DOC_SECRET, Arc::new(clock));
    let post = Post {
        path: "/slack/commands",
        body: DOC_BODY,
        timestamp: Some(DOC_TIMESTAMP.to_string()),
        signature: Some(DOC_SIGNATURE.to_owned()),
        retry_num: None,
    };

    let (status, body) = send(&harness, post).await;

    // The example's text is empty: the answer is the list of commands, named as registered.
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("/webhook-collect ping"),
        "{answer}"
    );
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn slacks_documented_slash_command_with_the_real_clock_is_refused_as_a_replay() {
    let harness = harness_with(DOC_SECRET, Arc::new(SystemClock));
    let post = Post {
        path: "/slack/commands",
        body: DOC_BODY,
        timestamp: Some(DOC_TIMESTAMP.to_string()),
        signature: Some(DOC_SIGNATURE.to_owned()),
        retry_num: None,
    };

    let (status, body) = send(&harness, post).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("replay"), "{body}");
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}

#[actix_web::test]
async fn a_tampered_or_missing_signature_is_refused_and_nothing_is_stored() {
    let harness = harness();
    let body = mention("ping");
    let signed = Post::signed(&harness, "/slack/events", &body);
    let mut flipped = signed.signature.clone().unwrap();
    let last = if flipped.ends_with('0') { "1" } else { "0" };
    flipped.replace_range(flipped.len() - 1.., last);
    let tampered_body = body.replace("ping", "pong");

    let wrong_signature = Post {
        signature: Some(flipped),
        ..Post::signed(&harness, "/slack/events", &body)
    };
    let wrong_body = Post {
        signature: signed.signature.clone(),
        ..Post::signed(&harness, "/slack/events", &tampered_body)
    };
    let no_signature = Post {
        signature: None,
        ..Post::signed(&harness, "/slack/events", &body)
    };
    let no_timestamp = Post {
        timestamp: None,
        ..Post::signed(&harness, "/slack/events", &body)
    };

    for post in [wrong_signature, wrong_body, no_signature, no_timestamp] {
        let (status, _) = send(&harness, post).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}

// --- events --------------------------------------------------------------------------------

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
    let envelopes = harness.bus.envelopes();
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

    let bodies: Vec<InboundKind> = harness
        .bus
        .envelopes()
        .into_iter()
        .map(|e| e.kind)
        .collect();
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
    let envelopes = harness.bus.envelopes();
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
        .bus
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

// --- slash commands ------------------------------------------------------------------------

#[actix_web::test]
async fn alfred_ping_is_answered_pong_in_the_response_without_touching_the_bus() {
    let harness = harness();
    let command = SlashCommand::alfred(
        TEAM,
        CHANNEL,
        "ping",
        "https://hooks.slack.com/commands/T/1/x",
    );

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({ "response_type": "ephemeral", "text": "pong" })
    );
    assert!(harness.bus.streams.lock().unwrap().is_empty());
}

#[actix_web::test]
async fn alfred_help_lists_the_commands() {
    let harness = harness();
    let command = SlashCommand::alfred(
        TEAM,
        CHANNEL,
        "help",
        "https://hooks.slack.com/commands/T/1/x",
    );

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["response_type"], "ephemeral");
    let text = answer["text"].as_str().unwrap();
    for line in ["/alfred ping", "/alfred help", "/alfred inbox"] {
        assert!(text.contains(line), "{text}");
    }
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn another_subcommand_is_acknowledged_at_once_and_stored_with_its_response_url() {
    let harness = harness();
    let url = "https://hooks.slack.com/commands/T0TEAM001/397700885554/96rGlfmibIGlgcZRskXaIFfN";
    let command = SlashCommand::alfred(TEAM, CHANNEL, "summarise my inbox", url);

    let (status, answer) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        json!({ "response_type": "ephemeral", "text": "On it…" })
    );
    let envelopes = harness.bus.envelopes();
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    let message_id = format!("{TEAM}:{}", command.trigger_id);
    assert_eq!(envelope.message_id, message_id);
    assert_eq!(envelope.conversation, CHANNEL);
    assert_eq!(envelope.sender.id, command.user_id);
    assert_eq!(
        envelope.kind,
        InboundKind::Text {
            body: "summarise my inbox".into()
        }
    );
    assert_eq!(harness.response_urls.get(&message_id).as_deref(), Some(url));
}

#[actix_web::test]
async fn a_response_url_off_slacks_hosts_is_not_kept() {
    let harness = harness();
    let command = SlashCommand::alfred(TEAM, CHANNEL, "inbox", "https://evil.example/collect");

    let (status, _) = post_command(&harness, &command.form()).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(harness.bus.envelopes().len(), 1);
    let message_id = format!("{TEAM}:{}", command.trigger_id);
    assert_eq!(harness.response_urls.get(&message_id), None);
}
