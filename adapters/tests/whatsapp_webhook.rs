//! The WhatsApp webhook over HTTP: handshake, signature, body limit, storing, dead letters and
//! bus outages. The bus here is an in-process recording bus with an "unavailable" switch, so
//! each test sees exactly what the webhook published.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use alfred_actors::messages::{InboundEnvelope, InboundKind};
use alfred_actors::metrics::Metrics;
use alfred_adapters::whatsapp::{configure, WebhookSettings, WhatsAppWebhook, DEFAULT_BODY_LIMIT};
use alfred_testkit::buses::RecordingBus;
use alfred_testkit::whatsapp::{sign, text_message, Notification};

const PHONE_ID: &str = "106540352242922";
const APP_SECRET: &str = "test-app-secret";
const VERIFY_TOKEN: &str = "test-verify-token";
const PREFIX: &str = "test:";
const INGEST: &str = "test:alfred-ingest";
const DEAD: &str = "test:alfred-ingest:dead";

struct Harness {
    bus: Arc<RecordingBus>,
    metrics: Metrics,
    webhook: web::Data<WhatsAppWebhook>,
}

impl Harness {
    /// What the webhook stored on the ingest stream.
    fn envelopes(&self) -> Vec<InboundEnvelope> {
        self.bus.parsed(INGEST)
    }

    /// The webhook's count of messages stored.
    fn ingested(&self) -> u64 {
        self.metrics.ingested.with_label_values(&["whatsapp"]).get()
    }

    /// The webhook's count of unparseable bodies dead-lettered.
    fn dead_lettered(&self) -> u64 {
        let labels = ["alfred-ingest:dead", "unparseable"];
        self.metrics.dead_lettered.with_label_values(&labels).get()
    }
}

fn harness(body_limit: usize) -> Harness {
    let bus = Arc::new(RecordingBus::default());
    let metrics = Metrics::new().unwrap();
    let settings = WebhookSettings {
        key_prefix: PREFIX.into(),
        ingest_partitions: 0,
        app_secret: APP_SECRET.into(),
        verify_token: VERIFY_TOKEN.into(),
        phone_number_id: PHONE_ID.into(),
        body_limit,
    };
    let webhook = WhatsAppWebhook::new(settings, bus.clone(), &metrics).unwrap();
    Harness {
        bus,
        metrics,
        webhook: web::Data::new(webhook),
    }
}

/// POSTs `body` to the webhook with the given signature header (if any); returns the status.
async fn post(harness: &Harness, body: &str, signature: Option<&str>) -> StatusCode {
    let app =
        test::init_service(App::new().configure(|cfg| configure(cfg, harness.webhook.clone())))
            .await;
    let mut request = test::TestRequest::post()
        .uri("/webhook")
        .insert_header(("content-type", "application/json"));
    if let Some(signature) = signature {
        request = request.insert_header(("x-hub-signature-256", signature));
    }
    test::call_service(&app, request.set_payload(body.to_owned()).to_request())
        .await
        .status()
}

async fn post_signed(harness: &Harness, body: &str) -> StatusCode {
    post(harness, body, Some(&sign(APP_SECRET, body.as_bytes()))).await
}

async fn handshake(harness: &Harness, query: &str) -> (StatusCode, String) {
    let app =
        test::init_service(App::new().configure(|cfg| configure(cfg, harness.webhook.clone())))
            .await;
    let request = test::TestRequest::get()
        .uri(&format!("/webhook?{query}"))
        .to_request();
    let response = test::call_service(&app, request).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn verify_handshake_with_the_right_token_answers_the_challenge() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let query =
        format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444");
    let (status, body) = handshake(&harness, &query).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "1158201444");
}

#[actix_web::test]
async fn verify_handshake_with_a_wrong_token_or_mode_is_forbidden() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        &format!("hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1"),
        "hub.mode=subscribe&hub.challenge=1",
        "",
    ] {
        let (status, body) = handshake(&harness, query).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "query {query:?}");
        assert_ne!(body, "1");
    }
}

#[actix_web::test]
async fn a_signed_text_message_is_stored_on_the_ingest_stream() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = text_message(PHONE_ID, "4915112345678", "Anna", "wamid.A1", "add bananas");

    let status = post_signed(&harness, &body).await;

    assert_eq!(status, StatusCode::OK);
    let envelopes = harness.envelopes();
    assert_eq!(envelopes.len(), 1);
    let envelope = &envelopes[0];
    assert_eq!(envelope.message_id, "wamid.A1");
    assert_eq!(envelope.account, PHONE_ID);
    assert_eq!(envelope.conversation, "4915112345678");
    assert_eq!(envelope.sender.name.as_deref(), Some("Anna"));
    assert_eq!(
        envelope.kind,
        InboundKind::Text {
            body: "add bananas".into()
        }
    );
    assert_eq!(harness.ingested(), 1);
}

#[actix_web::test]
async fn a_tampered_body_is_forbidden_and_nothing_is_stored() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = text_message(PHONE_ID, "4915112345678", "Anna", "wamid.A1", "add bananas");
    let signature = sign(APP_SECRET, body.as_bytes());
    let tampered = body.replace("bananas", "caviar!");

    assert_eq!(
        post(&harness, &tampered, Some(&signature)).await,
        StatusCode::FORBIDDEN
    );
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn a_missing_malformed_or_foreign_signature_is_forbidden_and_nothing_is_stored() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = text_message(PHONE_ID, "4915112345678", "Anna", "wamid.A1", "add bananas");
    let valid_hex = sign(APP_SECRET, body.as_bytes())
        .trim_start_matches("sha256=")
        .to_owned();
    let cases = [
        None,
        Some(String::new()),
        Some(valid_hex.clone()),
        Some(format!("sha1={valid_hex}")),
        Some(format!("sha256={}", &valid_hex[..63])),
        Some(format!("sha256={}zz", &valid_hex[..62])),
        Some(sign("another-app-secret", body.as_bytes())),
    ];
    for signature in cases {
        let status = post(&harness, &body, signature.as_deref()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "signature {signature:?}");
    }
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}

#[actix_web::test]
async fn a_body_over_the_limit_is_rejected_with_413_and_nothing_is_stored() {
    let harness = harness(1024);
    let long_text = "x".repeat(2048);
    let body = text_message(PHONE_ID, "4915112345678", "Anna", "wamid.A1", &long_text);

    assert_eq!(
        post_signed(&harness, &body).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        post(&harness, &body, None).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(harness.bus.entries(INGEST).is_empty());
}

#[actix_web::test]
async fn a_signed_body_that_is_not_a_whatsapp_notification_is_dead_lettered_and_acknowledged() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    for body in [
        r#"{"object":"page","entry":[]}"#,
        "not json at all",
        r#"{"entry":[]}"#,
    ] {
        assert_eq!(
            post_signed(&harness, body).await,
            StatusCode::OK,
            "body {body:?}"
        );
    }

    assert!(harness.bus.entries(INGEST).is_empty());
    let dead = harness.bus.entries(DEAD);
    assert_eq!(dead.len(), 3);
    let first: serde_json::Value = serde_json::from_str(&dead[0]).unwrap();
    assert_eq!(first["body"], r#"{"object":"page","entry":[]}"#);
    assert_eq!(first["platform"], "whatsapp");
    assert!(
        first["reason"].as_str().unwrap().contains("page"),
        "{first}"
    );
    assert!(first["received_at"].as_str().is_some());
    assert_eq!(harness.dead_lettered(), 3);
}

#[actix_web::test]
async fn a_batch_of_three_messages_from_two_people_becomes_three_envelopes_in_order() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = Notification::new(PHONE_ID)
        .text("491701111111", "Anna", "wamid.A1", "add milk")
        .text("491702222222", "Ben", "wamid.B1", "add eggs")
        .text("491701111111", "Anna", "wamid.A2", "list")
        .build();

    assert_eq!(post_signed(&harness, &body).await, StatusCode::OK);

    let envelopes = harness.envelopes();
    let summary: Vec<(&str, &str, Option<&str>)> = envelopes
        .iter()
        .map(|e| {
            (
                e.message_id.as_str(),
                e.conversation.as_str(),
                e.sender.name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("wamid.A1", "491701111111", Some("Anna")),
            ("wamid.B1", "491702222222", Some("Ben")),
            ("wamid.A2", "491701111111", Some("Anna")),
        ]
    );
}

#[actix_web::test]
async fn a_message_to_another_phone_number_is_acknowledged_but_not_stored() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = text_message(
        "999999999999999",
        "4915112345678",
        "Anna",
        "wamid.X1",
        "add bananas",
    );

    assert_eq!(post_signed(&harness, &body).await, StatusCode::OK);
    assert!(harness.bus.entries(INGEST).is_empty());
    assert!(harness.bus.entries(DEAD).is_empty());
}

#[actix_web::test]
async fn only_the_changes_for_our_number_are_stored_from_a_mixed_notification() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = Notification::new(PHONE_ID)
        .text("491701111111", "Anna", "wamid.A1", "add milk")
        .change_for("999999999999999")
        .text("491702222222", "Ben", "wamid.B1", "add eggs")
        .build();

    assert_eq!(post_signed(&harness, &body).await, StatusCode::OK);
    let ids: Vec<String> = harness
        .envelopes()
        .into_iter()
        .map(|e| e.message_id)
        .collect();
    assert_eq!(ids, ["wamid.A1"]);
}

#[actix_web::test]
async fn the_webhook_answers_503_when_the_bus_is_down_and_accepts_again_once_it_is_back() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = text_message(PHONE_ID, "4915112345678", "Anna", "wamid.A1", "add bananas");
    harness.bus.down.store(true, Ordering::SeqCst);

    assert_eq!(
        post_signed(&harness, &body).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(harness.ingested(), 0);

    harness.bus.down.store(false, Ordering::SeqCst);
    assert_eq!(post_signed(&harness, &body).await, StatusCode::OK);
    assert_eq!(harness.bus.entries(INGEST).len(), 1);
}

#[actix_web::test]
async fn an_unparseable_body_is_answered_503_when_even_the_dead_letter_cannot_be_stored() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    harness.bus.dead_down.store(true, Ordering::SeqCst);

    assert_eq!(
        post_signed(&harness, "not json").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(harness.dead_lettered(), 0);
}

#[actix_web::test]
async fn a_signed_notification_with_only_statuses_is_stored_for_delivery_tracking() {
    let harness = harness(DEFAULT_BODY_LIMIT);
    let body = Notification::new(PHONE_ID)
        .status("wamid.OUT1", "delivered", "4915112345678")
        .build();

    assert_eq!(post_signed(&harness, &body).await, StatusCode::OK);
    let envelopes = harness.envelopes();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0].message_id, "wamid.OUT1:delivered");
}

#[actix_web::test]
async fn an_empty_app_secret_is_refused() {
    let settings = WebhookSettings {
        key_prefix: PREFIX.into(),
        ingest_partitions: 0,
        app_secret: "".into(),
        verify_token: VERIFY_TOKEN.into(),
        phone_number_id: PHONE_ID.into(),
        body_limit: DEFAULT_BODY_LIMIT,
    };
    let metrics = Metrics::new().unwrap();
    assert!(WhatsAppWebhook::new(settings, Arc::new(RecordingBus::default()), &metrics).is_err());
}
